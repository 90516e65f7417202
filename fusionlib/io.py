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


class ImageNote(UserWarning):
    """A conversion :func:`read_image` applied on the way in (CMYK to RGB, EXIF orientation)."""


#: Extensions :func:`write_image` writes and the bit depths each format stores.
WRITE_BITS: dict[str, tuple[int, ...]] = {".png": (8, 16), ".tif": (8, 16), ".tiff": (8, 16),
                                          ".jpg": (8,), ".jpeg": (8,), ".bmp": (8,)}

# EXIF orientation tag (0x0112) -> the array operation that shows the image upright (as
# PIL.ImageOps.exif_transpose: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise,
# 7 transverse, 8 rotate 90 counter-clockwise); HWC arrays.
_ORIENT = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1), 6: lambda a: np.rot90(a, -1),
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1], 8: lambda a: np.rot90(a, 1),
}


def check_output_path(path: str | os.PathLike, bits: int = 8) -> Path:
    """Refuse an output path :func:`write_image` cannot honour: a folder, an extension no writer
    takes, or a bit depth the format cannot store (``ValueError`` naming the path)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"write_image: output {path} is a folder; give a file name")
    ext = path.suffix.lower()
    if ext not in WRITE_BITS:
        raise ValueError(f"write_image: cannot write {path}: extension {path.suffix or '(none)'!r} is not "
                         f"one of {', '.join(WRITE_BITS)}")
    if bits not in WRITE_BITS[ext]:
        raise ValueError(f"write_image: `bits` {bits} cannot be stored in {ext} ({path}); "
                         f"use .png or .tif for 16-bit")
    return path


def _probe(path: Path) -> tuple[str | None, int]:
    """PIL's mode and EXIF orientation of ``path`` (header only); (None, 1) when PIL cannot tell."""
    try:
        from PIL import Image
        with Image.open(path) as im:
            return im.mode, int(im.getexif().get(0x0112, 1) or 1)
    except Exception:  # not a PIL format (some TIFFs): imageio decides
        return None, 1


def _decode_error(path: Path, e: BaseException, pil_knows: bool) -> ImageReadError:
    text = str(e).strip()
    first = text.splitlines()[0] if text else e.__class__.__name__
    if not pil_knows or "pip install" in text:  # imageio's plugin hints and parser internals help no one
        first = "format not recognised"
    return ImageReadError(f"read_image: cannot decode {path} (not an image, truncated or corrupt): {first}")


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

    Notes
    -----
    A CMYK file is converted to RGB (PIL's conversion, no colour profile) and an EXIF orientation
    is applied (the image comes back upright), each with an :class:`ImageNote` warning. A constant
    alpha channel (gray + alpha or RGBA) is dropped; a varying one is refused.
    """
    import imageio.v3 as iio

    import warnings

    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"read_image: file not found: {path}")
    pil_mode, orientation = _probe(path)
    try:
        if pil_mode == "CMYK":  # imageio returns the raw (often inverted) inks as 4 channels
            from PIL import Image
            with Image.open(path) as im:
                arr = np.asarray(im.convert("RGB"))
            warnings.warn(f"read_image: {path} is CMYK; converted to RGB (PIL, no colour profile)",
                          ImageNote, stacklevel=2)
        else:
            arr = iio.imread(path)
    except Exception as e:  # imageio/PIL raise many kinds
        raise _decode_error(path, e, pil_mode is not None) from None
    arr = np.asarray(arr)
    if orientation in _ORIENT and arr.ndim in (2, 3):
        arr = np.ascontiguousarray(_ORIENT[orientation](arr))
        warnings.warn(f"read_image: {path} has EXIF orientation {orientation}; rotated/flipped upright",
                      ImageNote, stacklevel=2)
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
    elif arr.ndim == 3 and arr.shape[-1] in (1, 2, 3, 4):
        chw = np.moveaxis(arr, -1, 0)
    else:
        raise ImageReadError(f"read_image: {path} has unexpected shape {arr.shape} "
                             "(expected H x W or H x W x {1, 2, 3, 4})")
    if chw.shape[0] in (2, 4):  # gray + alpha, RGB + alpha
        alpha = chw[-1]
        if alpha.min() != alpha.max():
            raise ImageReadError(f"read_image: {path} has a non-constant alpha channel; "
                                 "composite it first")
        chw = chw[:-1]
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

    Values are clipped to [0, 1] and rounded to the bit depth. The extension picks the format
    (:data:`WRITE_BITS`; 16-bit only to PNG/TIFF): anything else, or a folder, is a ``ValueError``
    naming the path (:func:`check_output_path`).
    """
    import imageio.v3 as iio
    import torch

    if bits not in (8, 16):
        raise ValueError(f"write_image: `bits` must be 8 or 16; got {bits!r}")
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
    path = check_output_path(path, 16 if out.dtype == np.uint16 else 8)
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, out, extension=path.suffix.lower())
    return path
