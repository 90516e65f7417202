"""python -m fusionlib fuse."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import fusionlib.classical as C
from fusionlib.cli import fuse_main
from fusionlib.io import read_image, write_image


@pytest.fixture
def pair(tmp_path, rng):
    a = rng.random((40, 36)).astype(np.float32)
    b = rng.random((3, 40, 36)).astype(np.float32)
    pa, pb = tmp_path / "a.png", tmp_path / "b.jpg"
    write_image(pa, a)
    write_image(pb, b)
    return pa, pb


class TestFuseMain:
    def test_smoke(self, pair, tmp_path, capsys):
        out = tmp_path / "f.png"
        assert fuse_main([str(pair[0]), str(pair[1]), "-o", str(out), "--method", "lp",
                          "--param", "n_levels=3"]) == 0
        got = read_image(out)
        ref = C.fuse("lp", [read_image(pair[0], mode="gray3"), read_image(pair[1])], n_levels=3)
        assert got.shape == (3, 40, 36)
        assert np.abs(got - ref).max() <= 0.5 / 255 + 1e-6

    def test_16bit(self, tmp_path, rng):
        a = (rng.random((32, 32)) * 65535).astype(np.uint16)
        import imageio.v3 as iio
        iio.imwrite(tmp_path / "a.png", a)
        iio.imwrite(tmp_path / "b.png", a)
        assert fuse_main([str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o",
                          str(tmp_path / "f.png")]) == 0
        out = iio.imread(tmp_path / "f.png")
        assert out.dtype == np.uint16 and np.array_equal(out, a)

    def test_list(self, capsys):
        assert fuse_main(["--list"]) == 0
        text = capsys.readouterr().out
        for name in C.METHODS:
            assert name in text

    def test_exception(self, pair, tmp_path, capsys):
        out = str(tmp_path / "f.png")
        bad = tmp_path / "bad.png"
        bad.write_bytes(b"not an image")
        assert fuse_main([str(pair[0]), str(bad), "-o", out]) == 1
        assert "bad.png" in capsys.readouterr().err
        small = tmp_path / "small.png"
        write_image(small, np.zeros((20, 20), np.float32))
        assert fuse_main([str(pair[0]), str(small), "-o", out]) == 1
        assert "same size" in capsys.readouterr().err
        assert fuse_main([str(pair[0]), "-o", out]) == 2
        assert "at least 2" in capsys.readouterr().err
        assert fuse_main([str(pair[0]), str(pair[1]), "-o", out, "--method", "nope"]) == 2
        assert "unknown method" in capsys.readouterr().err
        assert fuse_main([str(pair[0]), str(pair[1]), "-o", out, "--param", "bogus=1"]) == 1
        assert "unknown parameter" in capsys.readouterr().err
        assert fuse_main([str(pair[0]), str(pair[1]), "-o", out, "--param", "novalue"]) == 2
        assert fuse_main([str(pair[0]), str(tmp_path / "missing.png"), "-o", out]) == 1
        assert "not found" in capsys.readouterr().err

    @pytest.mark.slow
    def test_module_dispatch(self, pair, tmp_path):
        out = tmp_path / "m.png"
        r = subprocess.run([sys.executable, "-m", "fusionlib", "fuse", str(pair[0]), str(pair[1]),
                            "-o", str(out), "--method", "max"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert out.exists()
