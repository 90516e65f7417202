"""Imports point downward only (DEVELOPING.md): peers never import each other; nothing imports viz."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "fusionlib"

BASE = {"_checks", "_convert", "registry", "utils", "_typing", "_jit"}
IMAGE_IO = BASE | {"filters", "io"}
ALLOWED = {
    "_checks": set(), "_convert": {"_checks"}, "registry": set(), "utils": set(), "_typing": set(),
    "_jit": set(),
    "filters": BASE, "io": BASE,
    "data": IMAGE_IO | {"data"},
    "metrics": IMAGE_IO | {"metrics", "resources"},
    "classical": IMAGE_IO | {"classical"},
    "optim": BASE | {"optim"},
    "parallel": {"utils", "_checks"},
    "pansharpening": IMAGE_IO | {"pansharpening", "classical", "metrics"},
    "nets": IMAGE_IO | {"nets", "metrics", "classical", "data", "parallel"},
    "experiments": IMAGE_IO | {"experiments", "data", "metrics", "classical", "optim", "pansharpening", "nets",
                               "parallel"},
    "viz": {"viz", "_convert", "filters", "widgets"},
    "widgets": set(),               # ipywidgets explorers (live / precomputed for the static site)
    "cli": IMAGE_IO | {"classical", "nets"},
    "book": {"provenance", "parallel", "data"},   # data: a standard run checks the data root first
    "provenance": set(),
    "__main__": set(),
    "__init__": set(),
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _fusionlib_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(PKG)
    pkg_parts = ["fusionlib", *rel.parts[:-1]]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("fusionlib."):
                    found.add(a.name.split(".")[1])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                full = base + (node.module.split(".") if node.module else [])
            else:
                full = (node.module or "").split(".")
            if full and full[0] == "fusionlib":
                if len(full) > 1:
                    found.add(full[1])
                else:
                    found |= {a.name for a in node.names}
    return found


FILES = sorted(p for p in PKG.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PKG)) for p in FILES])
def test_imports_point_downward(path):
    layer = _layer(path)
    allowed = ALLOWED.get(layer)
    assert allowed is not None, f"new top-level module {layer!r}: add it to the layering table"
    if path.name == "__init__.py" and path.parent == PKG:
        return  # the lazy top-level namespace
    bad = sorted(_fusionlib_imports(path) - allowed - {layer})
    assert not bad, f"{path.relative_to(PKG)} ({layer}) imports {bad}"
