"""The public API promised by the issues and the book (kornia-style API-surface test)."""
from __future__ import annotations

import inspect

import pytest

import fusionlib as fl

SURFACE = {
    "data": ["list_datasets", "load", "info", "find_root", "download"],
    "metrics": ["evaluate", "METRICS"],
    "classical": ["fuse", "METHODS"],
    "optim": ["minimize", "OPTIMIZERS", "Problem"],
    "pansharpening": ["METHODS", "PROTOCOLS"],
    "nets": ["build", "MODELS"],
    "book": ["main", "chapters"],
    "io": ["read_image", "write_image"],
    "viz": ["show_images"],
    "parallel": ["executor_from", "dask_executor", "LocalExecutor", "TaskError", "scheduler_environment"],
}


@pytest.mark.parametrize("module,names", SURFACE.items(), ids=list(SURFACE))
def test_surface(module, names):
    mod = getattr(fl, module)
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing, f"fusionlib.{module} lacks {missing}"


def test_registries_are_keyed_by_literature_names():
    for key in ("psnr", "ssim", "entropy", "qabf", "niqe", "ergas", "sam", "qnr", "fmi", "mef_ssim", "q_p"):
        assert key in fl.metrics.METRICS
    for key in ("iaoa", "aoa", "pso"):
        assert key in fl.optim.OPTIMIZERS
    assert "lp" in fl.classical.METHODS and "aenetv2" in fl.nets.MODELS


def test_unknown_keys_list_valid_ones():
    with pytest.raises(KeyError, match="valid keys"):
        fl.metrics.METRICS["no-such-metric"]


def test_evaluate_signature():
    sig = inspect.signature(fl.metrics.evaluate)
    assert list(sig.parameters)[:2] == ["fused", "sources"]
    for name in ("reference", "names", "preset"):
        assert name in sig.parameters


def test_minimize_signature():
    sig = inspect.signature(fl.optim.minimize)
    for name in ("name", "fitness", "lower", "upper", "pop_size", "iterations", "max_evals", "seed", "mode"):
        assert name in sig.parameters
    assert sig.parameters["seed"].default == 0 and sig.parameters["mode"].default == "corrected"


def test_cli_help(capsys):
    from fusionlib.__main__ import main
    assert main(["--help"]) == 0
    assert "fuse" in capsys.readouterr().out
    assert main(["nope"]) == 2
