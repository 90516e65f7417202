"""Numbers a chapter takes from a benchmark JSON (benchmarks/results/*.json) and shows through myst_nb glue
or prints: the committed outputs must equal what the committed JSON gives now.

A cell "reads a benchmark JSON" when its source names a file of benchmarks/results. The cell is run again
here on its own (with pandas, numpy, json, Path, glue, display and Markdown in scope, in book/ as papermill
runs it); each value it glues must equal the committed glued value, and what it prints the committed
printed text. A stale number (the JSON rerun, the notebook not) fails with the cell and name.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"
_JSON = re.compile(r"([\w.-]+\.json)")


def _bench_cells() -> list[tuple[Path, int]]:
    names = {p.name for p in RESULTS.glob("*.json")}
    out = []
    for nb in sorted((REPO / "book").glob("*.ipynb")):
        for i, c in enumerate(json.loads(nb.read_text())["cells"]):
            src = "".join(c.get("source", ""))
            if c["cell_type"] == "code" and "results" in src and set(_JSON.findall(src)) & names:
                out.append((nb, i))
    return out


CELLS = _bench_cells()


def _plain(value) -> str:
    from IPython.core.formatters import PlainTextFormatter
    return PlainTextFormatter()(value)


def test_some_cells_found():
    assert CELLS, "no chapter reads a benchmark JSON (the test below checks nothing)"


@pytest.mark.parametrize("nb,i", CELLS, ids=[f"{nb.stem}[{i}]" for nb, i in CELLS])
def test_bench_numbers_equal_json(nb, i):
    import numpy as np
    import pandas as pd
    from IPython.display import Markdown

    cell = json.loads(nb.read_text())["cells"][i]
    glued: dict[str, object] = {}

    def glue(name, value, display=True):
        glued[name] = value

    ns = dict(pd=pd, np=np, json=json, Path=Path, glue=glue, display=lambda *a, **k: None, Markdown=Markdown)
    buf = io.StringIO()
    old = os.getcwd()
    os.chdir(nb.parent)
    try:
        with contextlib.redirect_stdout(buf):
            exec(compile("".join(cell["source"]), f"{nb.name}[{i}]", "exec"), ns)
    except NameError as e:
        pytest.fail(f"{nb.name} cell {i} reads a benchmark JSON but depends on earlier cells ({e}): make it "
                    "self-contained so its numbers can be checked against the JSON")
    finally:
        os.chdir(old)
    committed = {}
    printed = ""
    for out in cell.get("outputs", []):
        name = out.get("metadata", {}).get("scrapbook", {}).get("name")
        if name:
            text = next((v for k, v in out.get("data", {}).items() if k.endswith("text/plain")), None)
            committed[name] = "".join(text) if isinstance(text, list) else text
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            printed += "".join(out.get("text", ""))
    for name, value in glued.items():
        assert name in committed, f"{nb.name} cell {i}: glue {name!r} has no committed output (re-execute it)"
        assert committed[name] == _plain(value), (
            f"{nb.name} cell {i}: glued {name!r} is {committed[name]} in the committed notebook but "
            f"{_plain(value)} from the benchmark JSON now (re-execute the chapter)")
    if printed:
        assert printed == buf.getvalue(), (f"{nb.name} cell {i}: printed {printed!r} in the committed notebook, "
                                           f"{buf.getvalue()!r} from the benchmark JSON now")
