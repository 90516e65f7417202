"""fusionlib._checks: the one-pass finite/range test and the checks built on it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fusionlib._checks import all_in_nonneg_range, check_finite, check_finite_range, check_range


def _brute(x: torch.Tensor, high: float) -> bool:
    """The definition: finite, >= +0 (no -0.0, no negative) and <= high, element by element."""
    a = x.detach().double().numpy()
    neg_zero = (a == 0) & np.signbit(a)
    return bool(np.all(np.isfinite(a) & (a >= 0) & (a <= high) & ~neg_zero))


class TestAllInNonnegRange:
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    @pytest.mark.parametrize("bad", [None, -1e-30, -0.0, 1.0 + 1e-5, float("nan"), -float("nan"),
                                     float("inf"), -float("inf"), 1e-45])
    def test_against_definition(self, dtype, bad):
        x = torch.rand(3, 2, 5, 7, generator=torch.Generator().manual_seed(0), dtype=dtype)
        if bad is not None:
            x[1, 1, 2, 3] = bad
        assert all_in_nonneg_range(x, 1.0) is _brute(x, 1.0)

    def test_bound_is_not_rounded_up(self):
        """float32(1 + 1e-6) may round above 1 + 1e-6: the test uses the float at or below it."""
        hi = 1.0 + 1e-6
        below = np.nextafter(np.float32(hi), np.float32(0)) if float(np.float32(hi)) > hi else np.float32(hi)
        above = np.nextafter(below, np.float32(2))
        assert all_in_nonneg_range(torch.tensor([float(below)]), hi)
        assert not all_in_nonneg_range(torch.tensor([float(above)]), hi)

    def test_layouts(self):
        x = torch.rand(4, 6, 8)
        assert all_in_nonneg_range(x.transpose(0, 1), 1.0)  # unit last stride, not contiguous
        assert all_in_nonneg_range(x[:, :, ::2], 1.0) is None  # not applicable: caller checks exactly
        assert all_in_nonneg_range(x.to(torch.float16), 1.0) is None
        assert all_in_nonneg_range(x.expand(3, 4, 6, 8), 1.0)


class TestCheckFiniteRange:
    def test_messages(self):
        x = torch.rand(2, 1, 4, 4, generator=torch.Generator().manual_seed(1))
        x[0, 0, 0, 0] = 0.0
        check_finite_range("f", "img", x, 0.0, 1.0)
        check_finite_range("f", "img", torch.tensor([-0.0, 0.5]), 0.0, 1.0)  # -0.0 is in range
        y = x.clone()
        y[0, 0, 0, 0] = float("nan")
        y[1, 0, 0, 0] = float("inf")
        with pytest.raises(ValueError, match=r"f: `img` contains 1 NaN and 1 Inf values"):
            check_finite_range("f", "img", y, 0.0, 1.0)
        with pytest.raises(ValueError, match=r"must lie in \[0, 1\]; got \[.*\] \(looks like 0-255"):
            check_finite_range("f", "img", x * 255, 0.0, 1.0)
        with pytest.raises(ValueError, match=r"must lie in \[0, 1\]; got \[-0.5, "):
            check_finite_range("f", "img", x - 0.5, 0.0, 1.0)
        check_finite_range("f", "img", x - 0.5, -0.5, 0.5)  # low != 0: exact path

    def test_same_as_separate_checks(self):
        check_finite("f", "img", torch.rand(3, 3))
        with pytest.raises(ValueError, match="1 NaN and 0 Inf"):
            check_finite("f", "img", torch.tensor([0.0, float("nan")]))
        check_range("f", "img", torch.tensor([0.0, 1.0 + 5e-7]), 0.0, 1.0)  # within the tolerance
        with pytest.raises(ValueError, match="must lie in"):
            check_range("f", "img", torch.tensor([0.0, 1.0 + 5e-6]), 0.0, 1.0)
