"""CLAHE with OpenCV's conventions (``cv2.createCLAHE(clipLimit, tileGridSize).apply``) in torch.

IFCNN's multi-exposure pipeline (uzeful/IFCNN @ 8fe59c2, ``Code/IFCNN_Main.py``; notes ``peers.md``)
enhances the fused Y channel with OpenCV's CLAHE (clip 2.0, 8 x 8 tiles). This is our own
implementation of the algorithm of Zuiderveld (1994) with the conventions of OpenCV's
``CLAHE_Impl`` (facts, not code, taken from its documented behaviour):

* the image is cut into ``tiles_y x tiles_x`` tiles; when a side is not a multiple of its tile
  count, the image is extended at the bottom by ``tiles_y - H % tiles_y`` rows and on the right
  by ``tiles_x - W % tiles_x`` columns (both, as soon as either side does not divide; mirror
  padding without repeating the edge, OpenCV's ``BORDER_REFLECT_101``);
* per tile, a 256-bin histogram is clipped at ``max(int(clip_limit * area / 256), 1)``; the
  clipped count is spread evenly (``excess // 256`` to every bin) and the remainder one by one
  on bins ``0, s, 2s, ...`` with ``s = max(256 // remainder, 1)``;
* the tile's look-up table is ``round(cumsum(hist) * (255 / area))`` (float32, round half to even);
* every pixel is the bilinear blend (float32) of the LUTs of the four nearest tile centres,
  with ``t = x / tile_w - 0.5`` clamped at the outer tiles, rounded half to even.

Differences from scikit-image's ``exposure.equalize_adapthist`` (which is *not* used): skimage
takes a kernel size (default 1/8 of each side), a normalised clip limit in [0, 1], pads
symmetrically on all sides, and works on float images, so it does not reproduce OpenCV's
integer output. OpenCV's SIMD interpolation may use fused multiply-adds; the rare half-way
values can then round the other way (at most 1 grey level; see ``tests/nets/test_clahe.py``).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .._checks import check_int, check_positive
from .._convert import as_tensor, restore

__all__ = ["clahe"]


def _tile_luts(ext: torch.Tensor, tiles_x: int, tiles_y: int, clip_limit: float) -> torch.Tensor:
    """(Hext, Wext) int64 -> (tiles_y, tiles_x, 256) float32 LUTs (values 0..255)."""
    hh, ww = ext.shape
    th, tw = hh // tiles_y, ww // tiles_x
    area = th * tw
    t = ext.reshape(tiles_y, th, tiles_x, tw).permute(0, 2, 1, 3).reshape(tiles_y * tiles_x, area)
    hist = torch.zeros(t.shape[0], 256, dtype=torch.int64, device=ext.device)
    hist.scatter_add_(1, t, torch.ones_like(t))
    if clip_limit > 0:
        clip = max(int(clip_limit * area / 256), 1)
        excess = (hist - clip).clamp_min(0).sum(1, keepdim=True)
        hist = hist.clamp_max(clip)
        batch = excess // 256
        resid = excess - batch * 256
        hist = hist + batch
        step = torch.where(resid > 0, (256 // resid.clamp_min(1)).clamp_min(1), torch.ones_like(resid))
        idx = torch.arange(256, device=ext.device).view(1, -1)
        hist = hist + ((idx % step == 0) & (idx // step < resid)).long()
    scale = torch.tensor(255.0, dtype=torch.float32) / area
    lut = torch.round(hist.cumsum(1).float() * scale).clamp_(0, 255)
    return lut.view(tiles_y, tiles_x, 256)


def _axis_weights(n: int, tile: int, n_tiles: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    inv = torch.tensor(1.0, dtype=torch.float32) / tile
    f = torch.arange(n, device=device, dtype=torch.float32) * inv - 0.5
    i1 = torch.floor(f)
    a = f - i1
    i1 = i1.long()
    return i1.clamp_min(0), (i1 + 1).clamp_max(n_tiles - 1), a


def clahe(image: Any, clip_limit: float = 2.0, tile_grid: tuple[int, int] = (8, 8)) -> Any:
    """Contrast-limited adaptive histogram equalisation of 8-bit images, as OpenCV computes it.

    Parameters
    ----------
    image : array or tensor, (H, W), (C, H, W) or (B, C, H, W)
        8-bit images: uint8, or floats in [0, 1] that are multiples of 1/255 (to 1e-3 of a grey
        level); every channel is equalised on its own.
    clip_limit : float
        OpenCV's ``clipLimit`` (2.0 in IFCNN); 0 disables clipping (plain tiled equalisation).
    tile_grid : (int, int)
        OpenCV's ``tileGridSize`` = (tiles along x, tiles along y).

    Returns
    -------
    Same shape and container as ``image``: float32 in [0, 1], multiples of 1/255 (OpenCV's uint8
    result divided by 255).

    References
    ----------
    K. Zuiderveld, "Contrast limited adaptive histogram equalization", Graphics Gems IV, 1994.
    OpenCV ``cv::createCLAHE`` (imgproc, ``clahe.cpp``), the conventions listed in the module docstring.
    """
    where = "clahe"
    check_positive(where, "clip_limit", clip_limit, strict=False)
    if not (isinstance(tile_grid, (tuple, list)) and len(tile_grid) == 2):
        raise ValueError(f"{where}: `tile_grid` expected (tiles_x, tiles_y); got {tile_grid!r}")
    tiles_x = check_int(where, "tile_grid[0]", tile_grid[0], minimum=1)
    tiles_y = check_int(where, "tile_grid[1]", tile_grid[1], minimum=1)
    x, origin = as_tensor(image, where=where, name="image", dtype=torch.float32)
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{where}: `image` contains NaN or Inf values")
    x = x * 255.0
    xr = torch.round(x)
    if float(x.min()) < -1e-3 or float(x.max()) > 255.001 or float((x - xr).abs().max()) > 1e-3:
        raise ValueError(f"{where}: `image` expected 8-bit grey levels (uint8, or floats in [0, 1] that "
                         f"are multiples of 1/255); got values in [{float(x.min()) / 255:g}, "
                         f"{float(x.max()) / 255:g}], off the 1/255 grid by up to {float((x - xr).abs().max()):.3g} levels")
    x = xr
    b, c, hh, ww = x.shape
    if hh < tiles_y or ww < tiles_x:
        raise ValueError(f"{where}: image {hh}x{ww} is smaller than the tile grid {tiles_y}x{tiles_x}")
    xi = x.long()
    if hh % tiles_y or ww % tiles_x:
        pad = (0, tiles_x - ww % tiles_x, 0, tiles_y - hh % tiles_y)
        if pad[1] >= ww or pad[3] >= hh:
            raise ValueError(f"{where}: image {hh}x{ww} is too small for the mirror padding of the tile grid")
        ext = F.pad(x.reshape(b * c, 1, hh, ww), pad, mode="reflect").reshape(b, c, hh + pad[3], ww + pad[1]).long()
    else:
        ext = xi
    th, tw = ext.shape[-2] // tiles_y, ext.shape[-1] // tiles_x
    y1, y2, ya = _axis_weights(hh, th, tiles_y, x.device)
    x1, x2, xa = _axis_weights(ww, tw, tiles_x, x.device)
    ya, xa = ya.view(-1, 1), xa.view(1, -1)
    ya1, xa1 = 1.0 - ya, 1.0 - xa
    out = torch.empty_like(x)
    for i in range(b):
        for ch in range(c):
            lut = _tile_luts(ext[i, ch], tiles_x, tiles_y, clip_limit)        # (ty, tx, 256)
            v = xi[i, ch]

            def at(ty, tx):
                return lut[ty.view(-1, 1), tx.view(1, -1), v]

            res = (at(y1, x1) * xa1 + at(y1, x2) * xa) * ya1 + (at(y2, x1) * xa1 + at(y2, x2) * xa) * ya
            out[i, ch] = torch.round(res).clamp_(0, 255)
    return restore(out / 255.0, origin)
