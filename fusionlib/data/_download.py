"""Fetch a data folder listed in its ``SHA256SUMS``, verify every file, write atomically."""
from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ..utils import atomic_path, progress, sha256_file
from ._base import DATASETS, ChecksumError, DataNotFoundError, PairsFileError
from ._files import _cache_dir, parse_sums

URL_ENV_VAR = "FUSIONLIB_DATA_URL"


def _fetch(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (http(s)/file only)
            return r.read()
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise DataNotFoundError(f"download: cannot fetch {url}: {e}") from None


def _join(base: str, rel: str) -> str:
    if not base.endswith("/"):
        base += "/"
    return base + urllib.parse.quote(rel)


def default_base_url(name: str) -> str:
    """``$FUSIONLIB_DATA_URL/<folder>/`` when that variable is set, else the source repository's
    raw URL at the recorded commit (``DatasetInfo.download_url``)."""
    info = DATASETS[name]
    mirror = os.environ.get(URL_ENV_VAR)
    if mirror:
        return _join(mirror, info.folder) + "/"
    return info.download_url


def download(name: str, root: str | os.PathLike | None = None, *, base_url: str | None = None,
             overwrite: bool = False, timeout: float = 60.0, show_progress: bool = False) -> Path:
    """Download data set ``name`` into ``root/<folder>``, verifying every file.

    ``<base_url>/SHA256SUMS`` is fetched first; each file it lists is then fetched
    from ``<base_url>/<path>``, its SHA-256 checked, and written atomically
    (temporary file, then rename). Files already present with the right hash
    are kept (unless ``overwrite``).

    Parameters
    ----------
    name : str
        A real data set (``list_datasets()``; embedded sets need no download).
    root : path-like, optional
        Data root; default the user cache (``$XDG_CACHE_HOME/fusionlib/data`` or
        ``~/.cache/fusionlib/data``), the last place :func:`find_root` looks.
    base_url : str, optional
        URL of the folder (``http(s)://`` or ``file://``). Default:
        ``$FUSIONLIB_DATA_URL/<folder>/`` when set, else the source repository's
        raw URL at the recorded commit (``info(name).download_url``).

    Returns
    -------
    pathlib.Path
        The data folder.

    Raises
    ------
    DataNotFoundError
        A file cannot be fetched (the URL is named).
    ChecksumError
        A fetched file does not match its SHA-256 (nothing is written for it).

    Notes
    -----
    The upstream repositories hold the images but not the curated index files
    (``pairs.csv``, ``SHA256SUMS``) and some paths differ (see each
    ``MANIFEST.md``); a full download therefore needs a mirror of the curated
    folders (``FUSIONLIB_DATA_URL``). The data are third-party: respect each
    set's terms (``info(name).licence``).
    """
    info = DATASETS[name]
    if info.embedded:
        raise ValueError(f"download: {name!r} is embedded (generated offline); nothing to download")
    base = base_url if base_url is not None else default_base_url(name)
    if not isinstance(base, str) or not base:
        raise TypeError(f"download: `base_url` must be a non-empty str; got {base!r}")
    folder = Path(root).expanduser() / info.folder if root is not None else _cache_dir() / info.folder
    sums_text = _fetch(_join(base, "SHA256SUMS"), timeout).decode("utf-8")
    sums = parse_sums(sums_text, source=_join(base, "SHA256SUMS"))
    for rel in sums:
        parts = Path(rel).parts
        if Path(rel).is_absolute() or ".." in parts:
            raise PairsFileError(f"download: SHA256SUMS lists an unsafe path {rel!r}")
    items = list(sums.items())
    it = progress(items, desc=f"download {name}") if show_progress else items
    for rel, expected in it:
        target = folder / rel
        if target.is_file() and not overwrite and sha256_file(target) == expected:
            continue
        url = _join(base, rel)
        data = _fetch(url, timeout)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ChecksumError(f"download: checksum mismatch for {url}: expected sha256 {expected}, got {actual}",
                                path=url, expected=expected, actual=actual)
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
    with atomic_path(folder / "SHA256SUMS") as tmp:
        tmp.write_text(sums_text)
    return folder
