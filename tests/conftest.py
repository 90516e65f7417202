"""Shared fixtures: devices, seeded generators, the real-data root."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def _real_data_root() -> Path | None:
    env = os.environ.get("FUSIONLIB_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir() and any(c.iterdir()):
            return c
    return None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data sets; skips with a reason when they are absent."""
    root = _real_data_root()
    if root is None:
        pytest.skip("real data absent: set FUSIONLIB_DATA or place shared/data beside the repository")
    return root


@pytest.fixture(params=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
def device(request) -> torch.device:
    return torch.device(request.param)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(autouse=True, scope="session")
def _threads():
    """One torch thread per xdist worker (2 workers on 2 cores), else up to 2: no oversubscription."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    torch.set_num_threads(max(1, min(2, (os.cpu_count() or 1) // workers)))
    yield


@pytest.fixture(params=["jit", "numpy"])
def cpu_path(request, monkeypatch) -> str:
    """Both CPU paths of the kernels with a compiled loop (:mod:`fusionlib._jit`): the numba loop
    (numba is a dependency, so it must be in use) and its NumPy/BLAS twin (``FUSIONLIB_JIT=0``)."""
    from fusionlib import _jit
    monkeypatch.setenv("FUSIONLIB_JIT", "1" if request.param == "jit" else "0")
    assert _jit.enabled() is (request.param == "jit")
    return request.param
