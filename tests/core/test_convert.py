"""fusionlib._convert: NumPy <-> torch, ranks, dtype rule."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from fusionlib._checks import ShapeError
from fusionlib._convert import as_tensor, restore, restore_scores, stack_sources


class TestAsTensor:
    @pytest.mark.parametrize("shape", [(0, 6), (3, 0, 6), (0, 3, 5, 6), (2, 3, 5, 0)])
    def test_empty_refused(self, shape):
        for x in (np.zeros(shape, np.float32), torch.zeros(shape)):
            with pytest.raises(ValueError, match=r"f: `img` is empty \(shape " + re.escape(str(shape))):
                as_tensor(x, where="f", name="img")

    @pytest.mark.parametrize("shape", [(5, 6), (3, 5, 6), (2, 3, 5, 6)])
    def test_shape_roundtrip(self, shape, rng):
        x = rng.random(shape).astype(np.float32)
        t, o = as_tensor(x)
        assert t.ndim == 4 and t.shape[-2:] == (5, 6)
        back = restore(t, o)
        assert isinstance(back, np.ndarray) and back.shape == shape
        np.testing.assert_array_equal(back, x)

    def test_torch_stays_torch(self):
        x = torch.rand(3, 4, 4, dtype=torch.float64)
        t, o = as_tensor(x)
        assert t.dtype == torch.float64
        assert isinstance(restore(t, o), torch.Tensor) and restore(t, o).shape == (3, 4, 4)

    def test_uint8_rule(self):
        x = np.array([[0, 255], [51, 102]], dtype=np.uint8)
        t, _ = as_tensor(x)
        np.testing.assert_allclose(t[0, 0].numpy(), [[0, 1], [0.2, 0.4]], atol=1e-7)

    def test_uint16_rule(self):
        t, _ = as_tensor(np.array([[0, 65535]], dtype=np.uint16))
        assert float(t.max()) == 1.0

    def test_exception(self):
        with pytest.raises(TypeError, match="int32"):
            as_tensor(np.zeros((4, 4), dtype=np.int32))
        with pytest.raises(ShapeError, match="got shape"):
            as_tensor(np.zeros((1, 1, 1, 4, 4)))
        with pytest.raises(TypeError, match="list"):
            as_tensor([[0.0]])

    def test_scores(self):
        t, o = as_tensor(np.zeros((4, 4)))
        assert restore_scores(torch.tensor([0.5]), o) == 0.5
        t, o = as_tensor(np.zeros((2, 1, 4, 4)))
        assert isinstance(restore_scores(torch.tensor([0.5, 1.0]), o), np.ndarray)


class TestStackSources:
    def test_mixed_gray_rgb(self, rng):
        a = rng.random((1, 8, 8)).astype(np.float32)
        b = rng.random((3, 8, 8)).astype(np.float32)
        s, _ = stack_sources([a, b])
        assert s.shape == (1, 2, 3, 8, 8)
        np.testing.assert_array_equal(s[0, 0, 2].numpy(), a[0])

    def test_exception(self, rng):
        with pytest.raises(ShapeError, match="nothing is resized"):
            stack_sources([np.zeros((8, 8)), np.zeros((8, 9))])
        with pytest.raises(ValueError, match="at least 2"):
            stack_sources([np.zeros((8, 8))])
        with pytest.raises(ShapeError, match="channel"):
            stack_sources([np.zeros((2, 8, 8)), np.zeros((3, 8, 8))])

    def test_five_d(self):
        s, _ = stack_sources(torch.zeros(2, 3, 1, 4, 4))
        assert s.shape == (2, 3, 1, 4, 4)
