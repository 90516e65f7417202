"""E2 ("Combined", reconstructed): shapes, orientation, normalisation, batch = loop, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

import fusionlib.metrics as M

SMALL = ("entropy", "average_gradient", "ssim", "psnr", "mutual_information")


def _pair(seed=0, size=48):
    rng = np.random.default_rng(seed)
    a = ndi.gaussian_filter(rng.random((size, size)), 1.5)
    b = ndi.gaussian_filter(rng.random((size, size)), 3.0)
    a = (a - a.min()) / (a.max() - a.min())
    b = (b - b.min()) / (b.max() - b.min())
    return a, b


def _cands(a, b):
    return np.stack([(a + b) / 2, np.maximum(a, b), a, ndi.gaussian_filter((a + b) / 2, 2.0)])[:, None]


class TestE2:
    def test_shape_and_argmax(self):
        a, b = _pair()
        r = M.e2(_cands(a, b), [a, b], metrics=SMALL)
        assert r.scores.shape == (4,) and isinstance(r.best, int)
        assert r.best == int(np.argmax(r.scores))
        assert r.normalized.shape == (4, len(SMALL)) and r.names == SMALL
        assert np.all((r.normalized >= 0) & (r.normalized <= 1))

    def test_minmax_matches_manual(self):
        """E2 = mean of per-pair min-max normalised components (raw values from the public metrics)."""
        a, b = _pair(1)
        c = _cands(a, b)
        r = M.e2(c, [a, b], metrics=("average_gradient", "ssim"))
        ag = np.array([M.average_gradient(x) for x in c])
        ss = np.array([M.ssim(x, [a[None], b[None]]) for x in c])
        np.testing.assert_allclose(r.raw["average_gradient"], ag, rtol=1e-6)
        norm = lambda v: (v - v.min()) / (v.max() - v.min() + 1e-12)  # noqa: E731
        np.testing.assert_allclose(r.scores, (norm(ag) + norm(ss)) / 2, rtol=1e-5)

    def test_lower_is_better_flipped(self):
        """A blurred copy is the best candidate by NIQE alone only if 1/NIQE is oriented correctly."""
        a, b = _pair(2, 200)
        c = np.stack([(a + b) / 2, ndi.gaussian_filter((a + b) / 2, 3.0)])[:, None]
        r = M.e2(c, [a, b], metrics=("niqe",))
        assert r.best == int(np.argmin(r.raw["niqe"]))

    def test_batch_equals_loop(self):
        pairs = [_pair(3), _pair(4)]
        cands = np.stack([_cands(a, b) for a, b in pairs])
        srcs = np.stack([np.stack([a[None], b[None]]) for a, b in pairs])
        rb = M.e2(cands, srcs, metrics=SMALL)
        assert rb.scores.shape == (2, 4) and rb.best.shape == (2,)
        for i, (a, b) in enumerate(pairs):
            ri = M.e2(cands[i], [a, b], metrics=SMALL)
            np.testing.assert_allclose(rb.scores[i], ri.scores, rtol=1e-6)
            assert rb.best[i] == ri.best

    def test_torch_in_torch_out(self):
        a, b = _pair(5)
        r = M.e2(torch.from_numpy(_cands(a, b)), [torch.from_numpy(a), torch.from_numpy(b)], metrics=SMALL)
        assert isinstance(r.scores, torch.Tensor)

    @pytest.mark.parametrize("agg", ["minmax", "borda", "zscore", "sum"])
    def test_aggregations_run(self, agg):
        a, b = _pair(6)
        r = M.e2(_cands(a, b), [a, b], metrics=SMALL, aggregation=agg)
        assert np.all(np.isfinite(r.scores))

    def test_weights_select_component(self):
        a, b = _pair(7)
        r = M.e2(_cands(a, b), [a, b], metrics=("average_gradient", "ssim"), weights=[1.0, 0.0])
        assert r.best == int(np.argmax(r.raw["average_gradient"]))

    def test_exceptions(self):
        a, b = _pair(8)
        c = _cands(a, b)
        with pytest.raises(ValueError, match="aggregation"):
            M.e2(c, [a, b], aggregation="max")
        with pytest.raises(ValueError, match="metrics"):
            M.e2(c, [a, b], metrics=("entropy", "nope"))
        with pytest.raises(ValueError, match="weights"):
            M.e2(c, [a, b], metrics=SMALL, weights=[1.0])
        with pytest.raises(ValueError, match="192x192"):
            M.e2(c, [a, b])  # NIQE in the default list
        with pytest.raises(ValueError, match="at least 2 candidates"):
            M.e2(c[:1], [a, b], metrics=SMALL)
        with pytest.raises(ValueError, match="0-255"):
            M.e2(c * 255, [a, b], metrics=SMALL)
