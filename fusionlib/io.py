"""Image reading and writing (the one place where on-disk HWC becomes CHW).

``read_image`` returns float32 ``(C, H, W)`` in [0, 1] (8-bit / 255, 16-bit /
65535) and refuses anything it cannot read faithfully, naming the file.
``write_image`` writes atomically (temporary file, then rename).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .utils import atomic_path


class ImageReadError(ValueError):
    """An image file is missing, truncated, corrupt or of an unexpected kind."""


def read_image(path: str | os.PathLike, *, mode: str | None = None,
               allowed_bits: tuple[int, ...] = (8, 16)) -> np.ndarray:
    """Read an image file as float32 ``(C, H, W)`` in [0, 1].

    Parameters
    ----------
    path : path-like
        Any format imageio reads (PNG, JPEG, BMP, TIFF, ...).
    mode : {None, 'L', 'RGB', 'gray3'}
        ``None`` keeps the stored channels (alpha is refused). ``'L'`` returns 1
        channel: a 3-channel file must have equal channels (a "3-channel gray"
        image), else the luma is NOT computed silently but an error is raised.
        ``'RGB'`` returns 3 channels (gray is repeated). ``'gray3'`` returns 1
        channel when the 3 channels are equal, else 3.
    allowed_bits : tuple of int
        Bit depths accepted (8: uint8, 16: uint16).

    Raises
    ------
    ImageReadError
        Missing, unreadable, truncated, corrupt, unexpected bit depth or channels.
    """
    import imageio.v3 as iio

    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"read_image: file not found: {path}")
    try:
        arr = iio.imread(path)
    except Exception as e:  # imageio raises many kinds
        raise ImageReadError(f"read_image: cannot decode {path} (truncated or corrupt?): "
                             f"{e.__class__.__name__}: {e}") from None
    arr = np.asarray(arr)
    if arr.dtype == np.uint8:
        bits, scale = 8, 255.0
    elif arr.dtype == np.uint16:
        bits, scale = 16, 65535.0
    elif arr.dtype == np.bool_:
        bits, scale = 1, 1.0
    else:
        raise ImageReadError(f"read_image: {path} has unexpected sample type {arr.dtype} "
                             f"(expected {'/'.join(f'{b}-bit' for b in allowed_bits)})")
    if bits not in allowed_bits and not (bits == 1 and 8 in allowed_bits):
        raise ImageReadError(f"read_image: {path} is {bits}-bit; allowed: {allowed_bits}")
    if arr.ndim == 2:
        chw = arr[None]
    elif arr.ndim == 3 and arr.shape[-1] in (1, 3, 4):
        chw = np.moveaxis(arr, -1, 0)
    else:
        raise ImageReadError(f"read_image: {path} has unexpected shape {arr.shape} "
                             "(expected H x W or H x W x {1, 3, 4})")
    if chw.shape[0] == 4:
        alpha = chw[3]
        if alpha.min() != alpha.max():
            raise ImageReadError(f"read_image: {path} has a non-constant alpha channel; "
                                 "composite it first")
        chw = chw[:3]
    img = chw.astype(np.float32) / np.float32(scale)
    return to_mode(img, mode, name=str(path))


def to_mode(img: np.ndarray, mode: str | None, *, name: str = "image") -> np.ndarray:
    """Apply the channel rule of :func:`read_image` to a ``(C, H, W)`` array."""
    if mode is None:
        return img
    c = img.shape[0]
    if mode == "RGB":
        return np.repeat(img, 3, axis=0) if c == 1 else img
    if mode in ("L", "gray3"):
        if c == 1:
            return img
        equal = bool(np.array_equal(img[0], img[1]) and np.array_equal(img[0], img[2]))
        if equal:
            return img[:1]
        if mode == "gray3":
            return img
        raise ImageReadError(f"{name}: asked for a gray image but the 3 channels differ; "
                             "convert explicitly (fusionlib.filters.rgb_to_gray)")
    raise ValueError(f"to_mode: `mode` must be None, 'L', 'RGB' or 'gray3'; got {mode!r}")


def write_image(path: str | os.PathLike, img: Any, *, bits: int = 8) -> Path:
    """Write a ``(H, W)``, ``(C, H, W)`` float image in [0, 1] (or uint8) atomically.

    Values are clipped to [0, 1] and rounded to the bit depth.
    """
    import imageio.v3 as iio
    import torch

    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    img = np.asarray(img)
    if img.ndim == 4:
        if img.shape[0] != 1:
            raise ValueError(f"write_image: a batch of {img.shape[0]} images cannot go to one file {path}")
        img = img[0]
    if img.ndim == 3:
        if img.shape[0] not in (1, 3):
            raise ValueError(f"write_image: expected (C, H, W) with C in (1, 3); got {img.shape}")
        img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    if img.dtype == np.uint8:
        out = img
    else:
        if not np.isfinite(img).all():
            raise ValueError(f"write_image: image for {path} contains NaN or Inf")
        top = 255 if bits == 8 else 65535
        out = np.round(np.clip(img, 0.0, 1.0) * top).astype(np.uint8 if bits == 8 else np.uint16)
    path = Path(path)
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, out, extension=path.suffix or ".png")
    return path
