"""Where a result came from: the locked environment and the one actually installed.

``requirements-lock.txt`` (generated from ``pyproject.toml`` by ``make lock``, pip-tools) pins every direct
and transitive dependency of the book, test and CPU-torch sets at an exact version with its hashes.
:func:`read_lock` parses it, :func:`lock_mismatches` compares it with the running interpreter, and
:func:`environment_record` is what an executed chapter stores in its metadata.

Examples
--------
>>> from fusionlib import provenance
>>> rec = provenance.environment_record()
>>> sorted(rec)[:3]
['fusionlib', 'lock_mismatches', 'lock_sha256']
"""
from __future__ import annotations

import hashlib
import platform
import re
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["Lock", "read_lock", "lock_mismatches", "environment_record", "LOCK_FILE", "KEY_PACKAGES", "git_commit",
           "provenance_line", "PROVENANCE_TAG"]

LOCK_FILE = "requirements-lock.txt"
#: the packages whose versions decide the book's numbers (recorded by name in every chapter)
KEY_PACKAGES = ("torch", "numpy", "scipy", "numba", "llvmlite", "scikit-image", "pywavelets", "pandas",
                "matplotlib", "papermill", "jupyter-book")

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def _canon(name: str) -> str:
    # PEP 503 normalisation (what packaging.utils.canonicalize_name does)
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Lock:
    """A parsed lock file: ``pins`` (name -> version string), ``hashes`` and ``direct`` (the names that
    pip-compile annotated as coming from ``pyproject.toml``)."""

    pins: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, list[str]] = field(default_factory=dict)
    direct: set[str] = field(default_factory=set)


def read_lock(path: str | Path) -> Lock:
    """Parse a pip-compile ``--generate-hashes`` output.

    Raises ``ValueError`` naming the file and line for a requirement that is not an exact ``==`` pin.
    """
    path = Path(path)
    lock, current = Lock(), None
    for i, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if current is not None and "(pyproject.toml)" in line:
                lock.direct.add(current)
            continue
        if line.startswith("--hash="):
            if current is None:
                raise ValueError(f"read_lock: {path} line {i}: a --hash before any requirement")
            lock.hashes.setdefault(current, []).append(line.removeprefix("--hash=").rstrip(" \\"))
            continue
        if line.startswith("-"):
            continue  # options such as --index-url
        m = _PIN.match(line)
        if m is None:
            raise ValueError(f"read_lock: {path} line {i}: expected an exact pin 'name==version'; got {raw!r}")
        current = _canon(m.group(1))
        lock.pins[current] = m.group(2)
        if "(pyproject.toml)" in line:
            lock.direct.add(current)
    return lock


def _installed() -> dict[str, str]:
    return {_canon(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}


def lock_mismatches(path: str | Path) -> dict[str, tuple[str, str | None]]:
    """Locked packages whose installed version differs: ``{name: (locked, installed or None)}``."""
    lock = read_lock(path)
    have = _installed()
    return {name: (ver, have.get(name)) for name, ver in lock.pins.items() if have.get(name) != ver}


def _find_lock(root: str | Path | None) -> Path | None:
    cands = [Path(root)] if root is not None else [Path.cwd(), *Path.cwd().parents[:2],
                                                   Path(__file__).resolve().parents[1]]
    for c in cands:
        if (c / LOCK_FILE).is_file():
            return c / LOCK_FILE
    return None


def environment_record(root: str | Path | None = None) -> dict[str, Any]:
    """Versions that decide the numbers: Python, the key packages, the lock file's digest and how the
    installed environment differs from it (``{}`` when it is the lock)."""
    import fusionlib

    have = _installed()
    rec: dict[str, Any] = {
        "fusionlib": fusionlib.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "packages": {k: have.get(k) for k in KEY_PACKAGES},
    }
    lock = _find_lock(root)
    if lock is None:
        rec["lock_sha256"], rec["lock_mismatches"] = None, None
    else:
        rec["lock_sha256"] = hashlib.sha256(lock.read_bytes()).hexdigest()
        rec["lock_mismatches"] = {k: list(v) for k, v in lock_mismatches(lock).items()}
    if "torch" in sys.modules or have.get("torch"):
        import torch
        rec["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return rec


def git_commit(root: str | Path | None = None) -> str | None:
    """The checkout's commit as ``git rev-parse --short=10 HEAD``, with ``-dirty`` when tracked files
    other than the book's notebooks differ from it (a run that refreshes several chapters in place
    rewrites notebooks as it goes; their outputs are not the code that made them); None outside a git
    checkout (or without git)."""
    import subprocess
    cwd = Path(root) if root is not None else Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude,glob)book/*.ipynb"], cwd=cwd,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}-dirty" if dirty else head


#: the tag of the markdown cell that holds the provenance line (replaced, never duplicated, on re-runs)
PROVENANCE_TAG = "fusionbook-provenance"


def provenance_line(meta: dict[str, Any]) -> str:
    """One line for the top of an executed page from its ``metadata.fusionbook`` record: profile, data
    (real or embedded), device, torch and fusionlib versions, git commit and date.

    >>> provenance_line({"profile": "smoke", "data": "embedded", "device_used": "cpu", "commit": "abc",
    ...                  "date": "2026-12-07", "environment": {"fusionlib": "0.1.0",
    ...                  "packages": {"torch": "2.13.0+cpu"}}})
    '**Executed** with the **smoke** profile on **embedded** data · device cpu · torch 2.13.0+cpu · fusionlib 0.1.0 · commit abc · 2026-12-07'
    """
    env = meta.get("environment") or {}
    torch_v = (env.get("packages") or {}).get("torch") or "?"
    device = meta.get("device_used") or meta.get("device") or "?"
    return (f"**Executed** with the **{meta.get('profile', '?')}** profile on **{meta.get('data', '?')}** data"
            f" · device {device} · torch {torch_v} · fusionlib {env.get('fusionlib', '?')}"
            f" · commit {meta.get('commit') or 'unknown'} · {meta.get('date', '?')}")
