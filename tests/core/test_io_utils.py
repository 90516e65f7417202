"""fusionlib.io and fusionlib.utils."""
from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from fusionlib import io, utils


class TestReadWrite:
    def test_roundtrip_8bit(self, tmp_path, rng):
        img = rng.random((3, 10, 12)).astype(np.float32)
        p = io.write_image(tmp_path / "a.png", img)
        back = io.read_image(p)
        assert back.shape == (3, 10, 12) and back.dtype == np.float32
        np.testing.assert_allclose(back, np.round(img * 255) / 255, atol=1e-6)

    def test_16bit(self, tmp_path, rng):
        img = rng.random((10, 12)).astype(np.float32)
        p = io.write_image(tmp_path / "a.png", img, bits=16)
        np.testing.assert_allclose(io.read_image(p)[0], img, atol=1e-5)
        with pytest.raises(io.ImageReadError, match="16-bit"):
            io.read_image(p, allowed_bits=(8,))

    def test_gray3(self, tmp_path, rng):
        g = rng.random((1, 6, 6)).astype(np.float32)
        p = io.write_image(tmp_path / "g.png", np.repeat(g, 3, 0))
        assert io.read_image(p, mode="L").shape == (1, 6, 6)
        p2 = io.write_image(tmp_path / "c.png", rng.random((3, 6, 6)))
        with pytest.raises(io.ImageReadError, match="channels differ"):
            io.read_image(p2, mode="L")

    def test_exception(self, tmp_path):
        with pytest.raises(io.ImageReadError, match="not found"):
            io.read_image(tmp_path / "missing.png")
        bad = tmp_path / "bad.png"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage")
        with pytest.raises(io.ImageReadError, match="bad.png"):
            io.read_image(bad)
        with pytest.raises(ValueError, match="NaN"):
            io.write_image(tmp_path / "n.png", np.full((4, 4), np.nan))
        assert not (tmp_path / "n.png").exists()


class TestUtils:
    def test_atomic_no_partial(self, tmp_path):
        target = tmp_path / "r.json"
        with pytest.raises(RuntimeError):
            with utils.atomic_path(target) as tmp:
                tmp.write_text("half")
                raise RuntimeError("interrupted")
        assert not target.exists() and not list(tmp_path.iterdir())

    @pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
    def test_atomic_mode_follows_umask(self, tmp_path, umask):
        old = os.umask(umask)
        try:
            utils.write_json_atomic(tmp_path / "x.json", {"a": 1})
            io.write_image(tmp_path / "x.png", np.zeros((4, 4), np.float32))
        finally:
            os.umask(old)
        for name in ("x.json", "x.png"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask

    def test_atomic_keeps_mode_of_replaced_file(self, tmp_path):
        target = tmp_path / "x.json"
        target.write_text("{}")
        target.chmod(0o640)
        utils.write_json_atomic(target, {"a": 1})
        assert stat.S_IMODE(target.stat().st_mode) == 0o640

    def test_write_json(self, tmp_path):
        utils.write_json_atomic(tmp_path / "x.json", {"a": np.float32(1.5), "b": np.arange(2)})
        assert json.loads((tmp_path / "x.json").read_text()) == {"a": 1.5, "b": [0, 1]}

    def test_resolve_device(self):
        assert utils.resolve_device("cpu").type == "cpu"
        assert utils.resolve_device("auto").type in ("cpu", "cuda")

    def test_registry_unknown_key(self):
        from fusionlib.registry import Registry
        r = Registry("thing")
        r.add("a", 1)
        with pytest.raises(KeyError, match="valid keys"):
            r["b"]
        with pytest.raises(KeyError, match="already"):
            r.add("a", 2)
