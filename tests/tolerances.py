"""Tolerances for comparing two computations, chosen from the numerics (DEVELOPING.md, "Tolerances").

Two computations that run the same operations in the same order on the same inputs give the same bits:
compare those with ``==`` (or ``assert_array_equal``). Everything else differs by rounding, whose size is
set by the dtype's unit roundoff u, the number of terms n a result sums, and the result's condition number.
Another kernel (oneDNN, MKL, OpenBLAS, numba, a NumPy pairwise sum), another vector width (AVX-512, AVX2,
SSE, scalar), another thread count or another source order changes the order of those sums, so such
comparisons use the named tolerances below, never 1e-12 by habit. The bounds are worst-case
(n u kappa), not the typical sqrt(n) u, so that a machine we have not seen still passes; a real bug
moves a value by far more than they allow.

``F32``
    float32 kernels (u = 2**-24 = 6.0e-8) compared across different reduction orders: a metric with its
    sources swapped, a batch against the loop of single images, the NumPy/numba fast path against the
    torch kernel, float32 against a float64 reference. Images here have n <= 2**20 pixels, summed in
    blocks (pairwise/SIMD), so n u kappa ~ 1e-5 for the well-conditioned means these metrics are.
``F64``
    float64 (u = 1.1e-16) across different reduction orders or BLAS/LAPACK kernels: n <= 1e7 terms and
    condition numbers <= 1e3 give n u kappa ~ 1e-6 in the very worst case, sqrt(n) u kappa ~ 3e-10
    typically; 1e-9 relative leaves headroom for the latter while still catching any formula change.
``F64_LOCAL``
    float64 results of short sums (a filter tap set, a few wavelet taps: n <= 100 terms of values on
    [0, 1]) in any order: n u max|x| ~ 1e-14; an absolute 1e-12 keeps two orders of headroom.
"""
from __future__ import annotations

#: float32 kernels, different reduction orders (pytest.approx keywords)
F32 = {"rel": 1e-5, "abs": 1e-6}
#: the same for numpy.testing.assert_allclose / torch.testing.assert_close
F32_NP = {"rtol": 1e-5, "atol": 1e-6}
#: float64, different reduction orders or BLAS/LAPACK kernels
F64 = {"rel": 1e-9, "abs": 1e-12}
F64_NP = {"rtol": 1e-9, "atol": 1e-12}
#: float64 short sums (<= ~100 terms on [0, 1]) in any order
F64_LOCAL_NP = {"rtol": 0, "atol": 1e-12}
