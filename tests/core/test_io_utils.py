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


class TestReadConversions:
    """CMYK, EXIF orientation, gray + alpha, non-images (issue #21)."""

    @pytest.mark.parametrize("orientation", range(1, 9))
    def test_exif_orientation_matches_pil(self, tmp_path, rng, orientation):
        from PIL import Image, ImageOps
        arr = (rng.random((6, 10, 3)) * 255).astype(np.uint8)
        im = Image.fromarray(arr)
        exif = im.getexif()
        exif[0x0112] = orientation
        path = tmp_path / "o.png"
        im.save(path, exif=exif)
        with Image.open(path) as stored:
            want = np.asarray(ImageOps.exif_transpose(stored)).astype(np.float32) / 255
        if orientation == 1:
            got = io.read_image(path)
        else:
            with pytest.warns(io.ImageNote, match="orientation"):
                got = io.read_image(path)
        np.testing.assert_array_equal(np.moveaxis(got, 0, -1), want)

    @pytest.mark.parametrize("k", [0, 60, "ramp"])
    def test_cmyk_converted(self, tmp_path, k):
        from PIL import Image
        if k == "ramp":  # varying K: was refused as a "non-constant alpha channel"
            arr = np.zeros((6, 8, 4), np.uint8)
            arr[..., 1:3] = 170
            arr[..., 3] = np.arange(8, dtype=np.uint8)[None] * 8
            im = Image.fromarray(arr, "CMYK")
        else:
            im = Image.new("CMYK", (8, 6), (0, 170, 170, k))  # red ink, constant K
        path = tmp_path / "c.jpg"
        im.save(path, quality=100)
        with pytest.warns(io.ImageNote, match="CMYK"):
            got = io.read_image(path)
        with Image.open(path) as ref:
            want = np.asarray(ref.convert("RGB")).astype(np.float32) / 255
        np.testing.assert_array_equal(np.moveaxis(got, 0, -1), want)
        assert got[0].mean() > got[1].mean()  # red stays red (was inverted to cyan)

    def test_gray_alpha(self, tmp_path):
        from PIL import Image
        Image.new("LA", (5, 4), (100, 255)).save(tmp_path / "la.png")
        got = io.read_image(tmp_path / "la.png")
        assert got.shape == (1, 4, 5) and np.allclose(got, 100 / 255)
        a = np.zeros((4, 5, 2), np.uint8)
        a[..., 1] = np.arange(5)
        Image.fromarray(a, "LA").save(tmp_path / "la2.png")
        with pytest.raises(io.ImageReadError, match="la2.png has a non-constant alpha"):
            io.read_image(tmp_path / "la2.png")

    def test_not_an_image(self, tmp_path):
        p = tmp_path / "t.png"
        p.write_text("hello")
        with pytest.raises(io.ImageReadError, match="t.png.*format not recognised") as e:
            io.read_image(p)
        assert "pip" not in str(e.value)

    @pytest.mark.parametrize("name, bits, text", [("x.xyz", 8, "'.xyz'"), ("x", 8, "'\\(none\\)'"),
                                                   ("x.jpg", 16, "cannot be stored in .jpg"),
                                                   ("x.bmp", 16, "cannot be stored in .bmp"),
                                                   ("x.png", 12, "`bits` must be 8 or 16")])
    def test_write_refuses(self, tmp_path, name, bits, text):
        with pytest.raises(ValueError, match=text):
            io.write_image(tmp_path / name, np.zeros((4, 4), np.float32), bits=bits)
        assert not (tmp_path / name).exists()
        with pytest.raises(ValueError, match="is a folder"):
            io.write_image(tmp_path, np.zeros((4, 4), np.float32))

    @pytest.mark.parametrize("name, bits", [("x.tif", 16), ("x.TIFF", 8), ("x.jpeg", 8), ("x.bmp", 8)])
    def test_write_formats(self, tmp_path, name, bits):
        img = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
        p = io.write_image(tmp_path / name, img, bits=bits)
        assert np.abs(io.read_image(p)[0] - img).max() <= (0.05 if "jp" in name else 1e-4)


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

    @pytest.mark.parametrize("bad, exc", [("foo", ValueError), ("cuda:99", ValueError), (3, TypeError)])
    def test_resolve_device_refuses(self, bad, exc):
        with pytest.raises(exc, match="`device`"):
            utils.resolve_device(bad)

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

    def test_registry_register_refuses_metadata(self):
        """``register`` stores the object itself and takes no metadata (it used to drop it silently)."""
        from fusionlib.registry import Registry
        r = Registry("thing")
        with pytest.raises(TypeError):
            r.register("a", doc="dropped")
        assert "a" not in r
        f = r.register("b")(len)
        assert f is len and r["b"] is len


class TestStableRound:
    def test_rounds_like_round(self):
        from fusionlib.utils import stable_round
        assert stable_round(0.123449, 3) == 0.123
        np.testing.assert_array_equal(stable_round(np.array([1.26, -2.71828]), 1), [1.3, -2.7])

    def test_refuses_a_value_beside_a_rounding_boundary(self):
        """A float32 value 1e-7 from x.xxx5 would print either way on another CPU: refused."""
        from fusionlib.utils import stable_round
        v = float(np.float32(0.1235) + np.float32(1e-7))
        with pytest.raises(ValueError, match="rounding boundary 0.1235 at 3 decimals"):
            stable_round(v, 3)
        assert stable_round(v, 2) == 0.12  # fewer digits are determined

    def test_pandas_and_non_finite(self):
        import pandas as pd

        from fusionlib.utils import stable_round
        df = pd.DataFrame({"a": [1.23456, np.nan], "b": ["x", "y"]}, index=["p", "q"])
        out = stable_round(df, 2)
        assert list(out["b"]) == ["x", "y"] and out.loc["p", "a"] == 1.23 and np.isnan(out.loc["q", "a"])
        s = stable_round(pd.Series([0.5, np.inf], index=["u", "v"], name="n"), 1)
        assert list(s.index) == ["u", "v"] and s.name == "n" and s["v"] == np.inf
        assert df.pipe(stable_round, 1).loc["p", "a"] == 1.2
        two = pd.DataFrame({"a": [1.23456], "c": [9.87654]})
        per = stable_round(two, {"a": 1})
        assert per.loc[0, "a"] == 1.2 and per.loc[0, "c"] == 9.87654
        with pytest.raises(ValueError, match="stable_round"):
            stable_round(pd.Series([2.00049999999]), 3)
