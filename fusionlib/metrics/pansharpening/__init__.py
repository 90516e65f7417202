"""Pansharpening quality indices: reduced resolution (with a reference) and full resolution (QNR).

Every index is a batched torch kernel on ``(B, C, H, W)`` tensors plus a public wrapper that
accepts NumPy or torch, validates, and returns one score per image (a float for one image). The
kernels run in float64, except ERGAS, SAM, RMSE and RASE, which keep float32 data in float32 for the
elementwise work and accumulate in float64 (per-plane sums in the data's dtype, then float64; SAM's
cosine and ``arccos`` in float64), chunked through reused buffers on CPU: values agree with float64 to ~1e-7.
On CPU, ERGAS, RMSE and RASE validate and sum in one sweep (each image is read from memory once; see
``_sweep``): a compiled loop (numba, sums in float64) or, without it, NumPy/BLAS over cache-sized pieces.

Presets (``preset=``):

* ``"default"``: the textbook definitions, computed on the full image in any scale. Data are
  checked against ``[0, data_range]`` with ``data_range = 1``.
* ``"vivone"``: the conventions of Vivone's pansharpening toolbox (Vivone et al., TGRS 2015;
  JSTARS 2021): Q_avg on sliding 32x32 windows, Q2n with the ``uint16`` cast (so data must be in
  digital numbers, DN), SCC as the cosine of Sobel-magnitude maps; ``data_range = 2**11``.
* ``"iaoa"``: the metric code of the IAOA release (starboot/IAOA-For-Image-Fusion,
  ``Objective_Evaluation``): full image, no clipping, one global UIQI over the flattened cube, and a
  CC that averages bands 1-3 only; ``data_range = 255`` (8-bit DN).

The fused image may overshoot the data range (unclipped fusion outputs do), but values beyond
``[-data_range, 2 data_range]`` are refused as a scale mismatch; the reference (or MS/PAN) must lie in
``[0, data_range]``. NaN/Inf are refused everywhere.

Where things live (this package re-exports every name, so ``fusionlib.metrics.pansharpening.<name>``
keeps working):

* :mod:`~fusionlib.metrics.pansharpening.validation`: presets, data ranges, input checks and the
  one-sweep per-plane sums (compiled or NumPy/BLAS);
* :mod:`~fusionlib.metrics.pansharpening.reduced`: the reduced-resolution indices and their kernels,
  and :func:`iaoa_scores`;
* :mod:`~fusionlib.metrics.pansharpening.hypercomplex`: the Q2n kernel;
* :mod:`~fusionlib.metrics.pansharpening.full`: the full-resolution indices (D_lambda, D_s, QNR, HQNR).

The modules are imported in this order, so the metrics register in the order of the former single
module.
"""
from __future__ import annotations

from .validation import (PRESETS_PS, DATA_RANGE, SENSOR_GAINS, _REFS_VIVONE, _REFS_IAOA, _range_for, _as_pair,
                         _check_pair, _prep_pair, SWEEP, _pieces, _sweep, _prep_sums, _band_sq_err, _band_sum)  # noqa: F401
from .hypercomplex import (_EPS, _conj, _onion, _pad_to_blocks, q2n_kernel)  # noqa: F401
from .reduced import (_rmse_from_sums, _exact_zero, _ergas_from_sums, _rase_from_sums, rmse_kernel,
                      ergas_kernel, rase_kernel, sam_kernel, _degenerate, cc_kernel, _q_from_moments,
                      _q_sliding, _blocks, _q_blocks, uiqi_kernel, scc_kernel, ergas, sam, rmse, rase, cc, uiqi,
                      q2n, scc, IAOA_METRICS, iaoa_scores)  # noqa: F401
from .full import (_prep_fr, _d_lambda, _pan_lr, _d_s, d_lambda, d_s, qnr, hqnr)  # noqa: F401

__all__ = ["ergas", "sam", "rmse", "rase", "cc", "uiqi", "q2n", "scc", "d_lambda", "d_s", "qnr",
           "hqnr", "PRESETS_PS", "DATA_RANGE", "SENSOR_GAINS", "ergas_kernel", "sam_kernel",
           "rmse_kernel", "rase_kernel", "cc_kernel", "uiqi_kernel", "q2n_kernel", "scc_kernel",
           "iaoa_scores", "IAOA_METRICS"]
