"""Small shared utilities: devices, seeds, atomic writes, progress bars."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` (or None) -> CUDA when available, else CPU; ``"cuda"`` without a GPU is an error."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"resolve_device: `device` must be a str or torch.device; got {type(device).__name__}")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"resolve_device: `device` must be 'auto', 'cpu', 'cuda' or 'cuda:N'; "
                         f"got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("resolve_device: `device` 'cuda' was asked for but no CUDA device is available")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"resolve_device: `device` {device!r} does not exist; "
                         f"{torch.cuda.device_count()} CUDA device(s) present")
    return dev


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (for notebooks; library code takes ``seed``/``rng``)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    The file ends up with the mode a plain ``open(path, "w")`` would leave (the replaced file's, or
    ``0o666 & ~umask`` for a new one), not the 0600 of :func:`tempfile.mkstemp`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    try:  # mkstemp creates 0600; give the mode open(path, "w") would: kept when replacing a file
        os.fchmod(fd, _mode_for(path))
    finally:
        os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _mode_for(path: Path) -> int:
    """Permission bits ``open(path, "w")`` leaves: those of the existing file, else ``0o666 & ~umask``
    (os.umask has no query form: it is set and put back at once)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default))


def _json_default(o: Any):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, torch.Tensor):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# ------------------------------------------------------------------------------------------------
# caches: formats that cannot execute code, entries validated on read, recomputed when corrupt
# ------------------------------------------------------------------------------------------------

class CacheEntryError(ValueError):
    """A cache (or checkpoint) file is unreadable or does not hold what it should; names the file."""

    @classmethod
    def unreadable(cls, path: str | os.PathLike, exc: BaseException) -> "CacheEntryError":
        """``"<path>: unreadable cache entry (<ExcType>: <first line>)"`` for a failed read."""
        text = str(exc).strip()
        first = text.splitlines()[0] if text else ""
        return cls(f"{path}: unreadable cache entry ({exc.__class__.__name__}: {first})")


def save_records_npz(path: str | os.PathLike, rows: list[dict]) -> None:
    """Write a list of flat records atomically as ``.npz`` (no pickle, so loading runs no code).

    Values must be None, bool, int, float (NaN/Inf allowed), str, or NumPy arrays of numbers; the
    scalars go into one JSON member, each array into its own member.
    """
    scalars, arrays = [], {}
    for r, row in enumerate(rows):
        flat = {}
        for k, v in row.items():
            if isinstance(v, np.ndarray):
                if v.dtype.kind not in "biuf":
                    raise TypeError(f"save_records_npz: `{k}` of record {r} must be a numeric array; "
                                    f"got dtype {v.dtype}")
                arrays[f"a{len(arrays)}"] = v
                flat[k] = {"__array__": f"a{len(arrays) - 1}"}
            elif v is None or isinstance(v, (bool, int, float, str, np.bool_, np.integer, np.floating)):
                flat[k] = v.item() if isinstance(v, np.generic) else v
            else:
                raise TypeError(f"save_records_npz: `{k}` of record {r} must be a number, str, None or "
                                f"array; got {type(v).__name__}")
        scalars.append(flat)
    meta = np.array(json.dumps({"format": "fusionlib-records", "version": 1, "rows": scalars}))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, __meta__=meta, **arrays)


def load_records_npz(path: str | os.PathLike) -> list[dict]:
    """Read what :func:`save_records_npz` wrote (``allow_pickle=False``); any damage is a
    :class:`CacheEntryError` naming ``path``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"][()]))
            if not (isinstance(meta, dict) and meta.get("format") == "fusionlib-records"
                    and isinstance(meta.get("rows"), list)):
                raise ValueError("not a fusionlib records file")
            arrays = {k: z[k] for k in z.files if k != "__meta__"}
    except Exception as e:  # zipfile, json, numpy, OS: all mean "this entry is unusable"
        raise CacheEntryError.unreadable(path, e) from None
    rows = []
    for row in meta["rows"]:
        if not isinstance(row, dict):
            raise CacheEntryError(f"{path}: unreadable cache entry (a record is not a mapping)")
        out = {}
        for k, v in row.items():
            if isinstance(v, dict):
                if v.get("__array__") not in arrays:
                    raise CacheEntryError(f"{path}: unreadable cache entry (array of `{k}` missing)")
                v = arrays[v["__array__"]]
            out[k] = v
        rows.append(out)
    return rows


def discard_corrupt(path: str | os.PathLike, err: BaseException, *, remove: bool = True,
                    action: str = "recomputing it") -> None:
    """Warn (naming ``path`` and the damage) that a cache entry is recomputed; remove it unless
    ``remove=False`` (the next atomic write replaces it anyway)."""
    import warnings
    what = str(err) if str(path) in str(err) else f"{path}: {err}"
    warnings.warn(f"corrupt cache entry, {action}: {what}", RuntimeWarning, stacklevel=3)
    if remove:
        with contextlib.suppress(OSError):
            Path(path).unlink()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


PROGRESS_ENV = "FUSIONLIB_PROGRESS"
PROGRESS_MODES = ("auto", "text", "off")


def progress_mode() -> str:
    """The progress-bar mode from ``FUSIONLIB_PROGRESS``: ``auto`` (default: tqdm.auto, a widget in a
    notebook), ``text`` (plain-text tqdm on stderr) or ``off``. The book runner sets ``off``, so no progress
    bar is saved into an executed chapter."""
    mode = os.environ.get(PROGRESS_ENV, "").strip().lower() or "auto"
    if mode not in PROGRESS_MODES:
        raise ValueError(f"progress: environment variable {PROGRESS_ENV} must be one of {list(PROGRESS_MODES)}; "
                         f"got {mode!r}")
    return mode


def progress(iterable=None, **kwargs):
    """A tqdm progress bar (kept in one place so notebooks and CLI agree): tqdm.auto, plain text or
    disabled as :func:`progress_mode` says (``disable=True`` from the caller always wins)."""
    mode = progress_mode()
    if mode == "auto":
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
        if mode == "off":
            kwargs["disable"] = True
    kwargs.setdefault("mininterval", 1.0)
    return tqdm(iterable, **kwargs)


def stable_round(values: Any, decimals: int | dict[str, int], *, rel: float = 1e-6,
                 abs_tol: float = 1e-9) -> Any:
    """Round for a notebook cell that nbval compares, refusing values the rounding cannot pin down.

    A value computed in float32 (or in float64 through another kernel) moves from one CPU, vector width or
    thread count to another: by 1.1e-7 relative for Q_ABF between two CPUs (issue #16); ``rel`` = 1e-6
    (+ ``abs_tol``) allows ten times that. Rounded to ``decimals``, the value prints the same digits
    everywhere unless it lies within that distance of a rounding boundary (a half-way point): then this
    raises ``ValueError`` naming the value, so the chapter shows fewer digits instead of a number that
    changes with the machine. Values already on the ``decimals`` grid (counts, exact constants) pass.

    ``values``: a float, a NumPy array, or a pandas ``Series``/``DataFrame`` (non-numeric columns are
    left as they are; ``decimals`` may then map column names to their own number of decimals, columns
    not named are left as they are). Returns the same kind, rounded with ``np.round`` (half to even).

    Examples
    --------
    >>> stable_round(0.123449, 3)
    0.123
    >>> stable_round(0.12345000001, 4)
    Traceback (most recent call last):
    ...
    ValueError: stable_round: 0.12345000001 lies within 1.2e-07 of the rounding boundary 0.12345 at 4 decimals; show fewer decimals
    """
    if hasattr(values, "select_dtypes") or hasattr(values, "dtype") and hasattr(values, "index"):
        import pandas as pd
        if isinstance(values, pd.DataFrame):
            num = values.select_dtypes("number").columns
            out = values.copy()
            for col in num:
                dec = decimals.get(col) if isinstance(decimals, dict) else decimals
                if dec is not None:
                    out[col] = stable_round(values[col].to_numpy(), dec, rel=rel, abs_tol=abs_tol)
            return out
        return pd.Series(stable_round(values.to_numpy(), decimals, rel=rel, abs_tol=abs_tol),
                         index=values.index, name=values.name)
    arr = np.asarray(values, dtype=np.float64)
    scale = 10.0 ** decimals
    fin = np.isfinite(arr)
    z = np.where(fin, arr, 0.0) * scale
    frac = np.abs(z - np.floor(z) - 0.5) / scale  # distance to the half-way point
    tol = rel * np.abs(arr) + abs_tol
    bad = fin & (frac < tol) & (np.round(arr, decimals) != arr)
    if bad.any():
        v = arr[bad].ravel()[0]
        edge = (np.floor(v * scale) + 0.5) / scale
        raise ValueError(f"stable_round: {v!r} lies within {float(tol[bad].ravel()[0]):.2g} of the rounding "
                         f"boundary {edge:g} at {decimals} decimals; show fewer decimals")
    out = np.round(arr, decimals)
    if np.ndim(values) == 0 and not isinstance(values, np.ndarray):
        return float(out)
    return out
