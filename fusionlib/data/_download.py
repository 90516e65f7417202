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
SOURCES = ("mirror", "upstream")


def _prefix(pre: str, *tops: str):
    def f(rel: str) -> str | None:
        return pre + rel if rel.split("/", 1)[0] in tops else None
    return f


def _harvard(rel: str) -> str | None:
    parts = rel.split("/")               # <task>/<modality>/<id>.png -> MyDatasets/<task>/test/<modality>/<id>.png
    if len(parts) == 3 and parts[0] in ("CT-MRI", "PET-MRI", "SPECT-MRI"):
        return f"MyDatasets/{parts[0]}/test/{parts[1]}/{parts[2]}"
    return None


def _vifb(rel: str) -> str | None:
    if rel.startswith("input/"):
        return rel
    if rel.startswith("fused_images/") or rel == "information.txt" or (
            rel.startswith("evaluation_metrics/") and rel.endswith(".mat")):
        return "output/" + rel               # the `output/` prefix was dropped here
    return None                              # CSVs made here


# Path of each verbatim-copied file in its source repository at the recorded commit, from each folder's
# MANIFEST.md; None for files made by the curators (pairs.csv, CSV exports, TIFF->PNG conversions, the
# NBU tif/png exports), which exist only in a mirror of the curated folders.
UPSTREAM_PATHS = {
    "vifb": _vifb,
    "tno": lambda rel: "test_img/TNO/" + rel if rel.split("/", 1)[0] in ("ir", "vi") else None,
    "roadscene": _prefix("", "cropinfrared", "crop_LR_visible"),
    "lytro": _prefix("", "input", "fused_images"),
    "liu2020": lambda rel: None,
    "mefb": _prefix("", "input"),
    "harvard": _harvard,
    "ifcnn": _prefix("Code/", "datasets"),
    "nbu_iaoa": lambda rel: rel if rel == "imageData.mat" else None,
}


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
             source: str | None = None, overwrite: bool = False, timeout: float = 60.0,
             show_progress: bool = False) -> Path:
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
        ``$FUSIONLIB_DATA_URL/<folder>/`` for a mirror, else the source
        repository's raw URL at the recorded commit (``info(name).download_url``).
    source : {None, 'mirror', 'upstream'}
        ``'mirror'``: ``base_url`` mirrors the curated folder (``SHA256SUMS``,
        ``pairs.csv`` and all files, same layout). ``'upstream'``: ``base_url`` is
        the source repository at its commit; the list of files and hashes is the
        *local* ``<root>/<folder>/SHA256SUMS``, and every listed file that is
        missing or damaged is fetched from its upstream path
        (``UPSTREAM_PATHS``). ``None``: ``'mirror'`` when ``base_url`` or
        ``FUSIONLIB_DATA_URL`` is given, else ``'upstream'``.

    Returns
    -------
    pathlib.Path
        The data folder.

    Raises
    ------
    DataNotFoundError
        A file cannot be fetched (the URL is named); upstream: the local
        ``SHA256SUMS`` is missing, or some files are not available upstream
        (they are listed; the others were fetched).
    ChecksumError
        A fetched file does not match its SHA-256 (nothing is written for it).

    Notes
    -----
    The upstream repositories hold the images, but not the curated index files
    (``pairs.csv``, ``SHA256SUMS``), the CSV exports, the lossless TIFF->PNG
    conversions (``liu2020``) or the NBU tif/png exports; some paths differ
    (``UPSTREAM_PATHS``, from each ``MANIFEST.md``). A first download therefore
    needs a mirror of the curated folders; ``source='upstream'`` repairs or
    completes a folder whose ``SHA256SUMS`` is present. The data are
    third-party: respect each set's terms (``info(name).licence``).
    """
    info = DATASETS[name]
    if info.embedded:
        raise ValueError(f"download: {name!r} is embedded (generated offline); nothing to download")
    if source is None:
        source = "mirror" if (base_url is not None or os.environ.get(URL_ENV_VAR)) else "upstream"
    if source not in SOURCES:
        raise ValueError(f"download: `source` must be one of {list(SOURCES)} or None; got {source!r}")
    if source == "upstream":
        return _download_upstream(info, root, base_url or info.download_url, overwrite=overwrite,
                                  timeout=timeout, show_progress=show_progress)
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


def _download_upstream(info, root, base: str, *, overwrite: bool, timeout: float, show_progress: bool) -> Path:
    folder = Path(root).expanduser() / info.folder if root is not None else _cache_dir() / info.folder
    sums_path = folder / "SHA256SUMS"
    if not sums_path.is_file():
        raise DataNotFoundError(
            f"download({info.name!r}, source='upstream'): {sums_path} not found. The upstream repository "
            f"({info.source_repo} @ {info.source_commit[:7]}) has the images but not the curated index files "
            f"(SHA256SUMS, pairs.csv); get the curated folder from a mirror (base_url=... or "
            f"{URL_ENV_VAR}) and use source='upstream' to repair it.")
    sums = parse_sums(sums_path.read_text(), source=str(sums_path))
    mapping = UPSTREAM_PATHS[info.name]
    todo = [(rel, h) for rel, h in sums.items()
            if overwrite or not (folder / rel).is_file() or sha256_file(folder / rel) != h]
    unavailable = []
    it = progress(todo, desc=f"download {info.name}") if show_progress else todo
    for rel, expected in it:
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise PairsFileError(f"download: {sums_path} lists an unsafe path {rel!r}")
        up = mapping(rel)
        if up is None:
            unavailable.append(rel)
            continue
        url = _join(base, up)
        data = _fetch(url, timeout)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ChecksumError(f"download: checksum mismatch for {url}: expected sha256 {expected}, got {actual}",
                                path=url, expected=expected, actual=actual)
        with atomic_path(folder / rel) as tmp:
            tmp.write_bytes(data)
    if unavailable:
        shown = ", ".join(unavailable[:10]) + (" ..." if len(unavailable) > 10 else "")
        raise DataNotFoundError(
            f"download({info.name!r}, source='upstream'): {len(unavailable)} file(s) were made by the curators "
            f"and are not in {info.source_repo}: {shown}; get them from a mirror of the curated folder.")
    return folder
