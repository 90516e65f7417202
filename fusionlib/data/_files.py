"""Files on disk: data root resolution, SHA-256 verification, index files, image reads.

Verification results are cached per process, keyed by (path, size, mtime), so
loading the same sample twice hashes its files once.
"""
from __future__ import annotations

import csv
import os
import threading
from pathlib import Path
import numpy as np

from .._checks import ShapeError
from ..io import read_image
from ..utils import sha256_file
from ._base import ChecksumError, DataNotFoundError, PairsFileError

ENV_VAR = "FUSIONLIB_DATA"

_LOCK = threading.Lock()
_SUMS_CACHE: dict[tuple[str, int, int], dict[str, str]] = {}
_VERIFIED: dict[tuple[str, int, int], str] = {}


# ----------------------------------------------------------------------------- root

def _checkout_data_dir() -> Path:
    import fusionlib
    return Path(fusionlib.__file__).resolve().parents[1].parent / "shared" / "data"


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    base_path = Path(base) if base else Path.home() / ".cache"
    return base_path / "fusionlib" / "data"


def candidate_roots(root: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """The places searched for the data root, in order, each with how it was found.

    ``root`` given: only it. Otherwise the ``FUSIONLIB_DATA`` environment
    variable (when set), ``shared/data`` beside the source checkout, then the
    user cache (``$XDG_CACHE_HOME/fusionlib/data`` or ``~/.cache/fusionlib/data``).
    """
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"find_root: `root` must be a path (str or os.PathLike) or None; "
                            f"got {type(root).__name__}")
        return [("argument `root`", Path(root).expanduser())]
    out: list[tuple[str, Path]] = []
    env = os.environ.get(ENV_VAR)
    if env:
        out.append((f"environment variable {ENV_VAR}", Path(env).expanduser()))
    out.append(("shared/data beside the source checkout", _checkout_data_dir()))
    out.append(("user cache", _cache_dir()))
    return out


def how_to_get(name: str | None = None) -> str:
    what = f"fusionlib.data.download({name!r}, root)" if name else "fusionlib.data.download(name, root)"
    return (f"To get the data: set the environment variable {ENV_VAR} to the folder holding the data "
            f"sets, pass `root=...`, or fetch them with {what} (default root: {_cache_dir()}).")


def find_root(root: str | os.PathLike | None = None, required: bool = False) -> Path | None:
    """The data root: the argument, then ``$FUSIONLIB_DATA``, then ``shared/data``
    beside the source checkout, then the user cache.

    Parameters
    ----------
    root : path-like or None
        An explicit root; when given, no other place is searched.
    required : bool
        Raise :class:`DataNotFoundError` instead of returning ``None`` when no
        root is found.

    Returns
    -------
    pathlib.Path or None
        The first existing directory among the candidates.

    Raises
    ------
    DataNotFoundError
        ``required`` (or an explicit ``root``) and nothing found; the message lists
        every place looked at and how to get the data.
    """
    cands = candidate_roots(root)
    for _, path in cands:
        if path.is_dir():
            return path
    if required or root is not None:
        looked = "; ".join(f"{how}: {p}" for how, p in cands)
        raise DataNotFoundError(f"find_root: no data root found. Looked at: {looked}. {how_to_get()}")
    return None


def find_folder(name: str, folder: str, root: str | os.PathLike | None) -> Path:
    """The folder of data set ``name`` under the first candidate root that has it."""
    cands = candidate_roots(root)
    for _, base in cands:
        if (base / folder).is_dir():
            return base / folder
    looked = "; ".join(f"{how}: {base / folder}" for how, base in cands)
    hint = ""
    if root is not None and Path(root).name == folder:
        hint = f" (`root` is the data root that contains {folder!r}, not the folder itself)"
    raise DataNotFoundError(f"{name!r}: data folder {folder!r} not found{hint}. Looked at: {looked}. "
                            f"{how_to_get(name)}")


# ----------------------------------------------------------------------------- checksums

def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def parse_sums(text: str, *, source: str = "SHA256SUMS") -> dict[str, str]:
    """Parse ``sha256sum`` output (``<hex>  <path>`` per line) into {path: hex}."""
    sums: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or len(parts[0]) != 64 or any(c not in "0123456789abcdefABCDEF" for c in parts[0]):
            raise PairsFileError(f"{source}: line {n} is not '<sha256>  <path>': {line[:80]!r}")
        rel = parts[1].strip()
        if rel.startswith("*"):  # binary-mode marker of sha256sum
            rel = rel[1:]
        rel = rel.removeprefix("./")
        sums[rel] = parts[0].lower()
    return sums


def read_sums(folder: Path) -> dict[str, str]:
    """The ``SHA256SUMS`` of a data folder as {relative path: hex} (cached)."""
    path = folder / "SHA256SUMS"
    if not path.is_file():
        raise DataNotFoundError(f"checksum list not found: {path} (pass verify=False to skip verification)")
    key = _stat_key(path)
    with _LOCK:
        hit = _SUMS_CACHE.get(key)
    if hit is None:
        hit = parse_sums(path.read_text(), source=str(path))
        with _LOCK:
            _SUMS_CACHE[key] = hit
    return hit


def verify_file(path: Path, expected: str) -> None:
    """Compare ``path``'s SHA-256 with ``expected`` (cached per process)."""
    if not path.is_file():
        raise DataNotFoundError(f"file not found: {path}")
    key = _stat_key(path)
    with _LOCK:
        actual = _VERIFIED.get(key)
    if actual is None:
        actual = sha256_file(path)
        with _LOCK:
            _VERIFIED[key] = actual
    if actual != expected.lower():
        raise ChecksumError(f"checksum mismatch for {path}: expected sha256 {expected}, got {actual} "
                            "(file changed, truncated or corrupt; fetch it again)",
                            path=path, expected=expected, actual=actual)


def clear_cache() -> None:
    """Forget the per-process verification results."""
    with _LOCK:
        _VERIFIED.clear()
        _SUMS_CACHE.clear()


def resolve(folder: Path, rel: str, *, what: str = "path") -> Path:
    """``folder / rel`` refusing absolute paths and paths leaving the data root."""
    if not rel or os.path.isabs(rel):
        raise PairsFileError(f"{folder}: {what} must be a non-empty relative path; got {rel!r}")
    full = Path(os.path.normpath(folder / rel))
    root = folder.parent
    try:
        full.relative_to(root)
    except ValueError:
        raise PairsFileError(f"{folder}: {what} {rel!r} leaves the data root {root}") from None
    return full


def check_file(folder: Path, rel: str, *, verify: bool) -> Path:
    """Resolve ``rel`` and (``verify``) check it against the SHA256SUMS of the folder
    that holds it (a path like ``../mfifb_lytro/x.jpg`` is checked against that
    folder's list)."""
    full = resolve(folder, rel)
    if not full.is_file():
        raise DataNotFoundError(f"file not found: {full} (listed in {folder / 'pairs.csv'})")
    if verify:
        owner = folder.parent / full.relative_to(folder.parent).parts[0]
        sums = read_sums(owner)
        key = full.relative_to(owner).as_posix()
        if key not in sums:
            raise ChecksumError(f"{full} is not listed in {owner / 'SHA256SUMS'}; cannot verify it "
                                "(pass verify=False to skip verification)", path=full)
        verify_file(full, sums[key])
    return full


def data_file(folder: str, rel: str, root: str | os.PathLike | None = None, *, verify: bool = True) -> Path:
    """Path of ``<root>/<folder>/<rel>``, checked against ``<folder>/SHA256SUMS``.

    For files outside the registered data sets (``weights/``, ``niqe/``,
    ``iqa_calibration/``). The root is searched as in :func:`find_root`.

    Raises
    ------
    DataNotFoundError
        Folder or file missing (the message lists the places looked at).
    ChecksumError
        The file is not listed or its SHA-256 differs.
    """
    if not isinstance(folder, str) or not folder or "/" in folder or folder in (".", ".."):
        raise ValueError(f"data_file: `folder` must be a folder name under the data root; got {folder!r}")
    base = find_folder(folder, folder, root)
    return check_file(base, rel, verify=verify)


# ----------------------------------------------------------------------------- index files

def read_index(folder: Path, filename: str, required: tuple[str, ...], *, key: str | None = "pair_id",
               verify: bool = True) -> list[dict[str, str]]:
    """Rows of a CSV index (``pairs.csv``), validated.

    Raises :class:`PairsFileError` naming the file and the line for a missing
    column, an empty required cell, a duplicated key or a non-integer size.
    """
    path = folder / filename
    if not path.is_file():
        raise DataNotFoundError(f"index file not found: {path}")
    if verify:
        check_file(folder, filename, verify=True)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        cols = reader.fieldnames or []
        missing = [c for c in required if c not in cols]
        if missing:
            raise PairsFileError(f"{path}: missing column(s) {missing}; found {cols}")
        rows: list[dict[str, str]] = []
        seen: set[str] = set()
        for line, row in enumerate(reader, 2):
            extra = row.pop(None, None) or []
            if extra or any(v is None for v in row.values()):
                n = len(cols) + len(extra) - sum(v is None for v in row.values())
                raise PairsFileError(f"{path}: line {line} has {n} fields, expected {len(cols)} "
                                     "(bad pairs.csv row)")
            for c in required:
                if c in ("b",):  # may be empty (exposure sequences)
                    continue
                if not row[c].strip():
                    raise PairsFileError(f"{path}: line {line}: empty `{c}` (bad pairs.csv row)")
            for c in ("width", "height"):
                if c in row and row[c].strip():
                    try:
                        if int(row[c]) <= 0:
                            raise ValueError
                    except ValueError:
                        raise PairsFileError(f"{path}: line {line}: `{c}` must be a positive int; "
                                             f"got {row[c]!r} (bad pairs.csv row)") from None
            if key is not None:
                if row[key] in seen:
                    raise PairsFileError(f"{path}: line {line}: duplicated {key} {row[key]!r}")
                seen.add(row[key])
            row["_line"] = str(line)
            rows.append(row)
    return rows


# ----------------------------------------------------------------------------- images

def read8(path: Path, mode: str | None, dtype: str) -> np.ndarray:
    """An 8-bit image as ``(C, H, W)``: float32 in [0, 1] or the raw uint8 values.

    Anything but 8 bits per sample is refused (:class:`fusionlib.io.ImageReadError`).
    """
    img = read_image(path, mode=mode, allowed_bits=(8,))
    if dtype == "uint8":
        # read_image divides uint8 by 255 in float32; k/255*255 rounds back to k exactly.
        return np.rint(img * np.float32(255.0)).astype(np.uint8)
    return img


def check_pair_sizes(paths: list[Path], images: list[np.ndarray], *, expected: tuple[int, int] | None = None,
                     where: str = "load") -> None:
    """All images of one sample must have the same H×W (nothing is resized)."""
    hw = [tuple(im.shape[-2:]) for im in images]
    if len(set(hw)) > 1:
        desc = ", ".join(f"{p.name} {h}x{w}" for p, (h, w) in zip(paths, hw))
        raise ShapeError(f"{where}: the images of one pair have different sizes (H x W), nothing is "
                         f"resized: {desc}", expected=hw[0], actual=hw)
    if expected is not None and hw and hw[0] != expected:
        raise ShapeError(f"{where}: {paths[0]} is {hw[0][0]}x{hw[0][1]} (H x W) but the index says "
                         f"{expected[0]}x{expected[1]}", expected=expected, actual=hw[0])


__all__ = ["find_root", "candidate_roots", "data_file"]
