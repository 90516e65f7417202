"""fusionlib.io and fusionlib.utils."""
from __future__ import annotations

import json

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
