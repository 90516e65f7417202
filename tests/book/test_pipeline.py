"""The book pipeline: table of contents, notebook hygiene, environment files."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from fusionlib import book, provenance

REPO = Path(__file__).resolve().parents[2]


def _tracked_notebooks() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "book/*.ipynb"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
        files = [REPO / f for f in out]
    except (OSError, subprocess.CalledProcessError):
        files = sorted((REPO / "book").glob("*.ipynb"))
    return [f for f in files if f.exists()]


NOTEBOOKS = _tracked_notebooks()


class TestChapters:
    def test_toc_resolves(self):
        chs = book.chapters(REPO)
        assert chs, "no notebook chapter in _toc.yml"
        for ch in chs:
            assert ch.source.is_file(), ch

    def test_every_notebook_is_in_toc(self):
        """Each committed notebook is a chapter's source or a page of book/_variants.yml (its committed
        executed copy, book/<page>.ipynb)."""
        known = {p.resolve() for ch in book.chapters(REPO) for p in (ch.source, ch.committed)}
        missing = [nb.name for nb in NOTEBOOKS if nb.resolve() not in known]
        assert not missing, f"notebooks not reachable from _toc.yml: {missing}"

    def test_toc_walk(self):
        toc = {"root": "book/intro", "parts": [{"chapters": [{"file": "a", "sections": [{"file": "b"}]}]}]}
        assert book._toc_files(toc) == ["book/intro", "a", "b"]

    def test_unknown_toc_entry(self, tmp_path):
        (tmp_path / "book").mkdir()
        (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/nope\n")
        (tmp_path / "book" / "intro.md").write_text("# x\n")
        with pytest.raises(FileNotFoundError, match="nope"):
            book.chapters(tmp_path)

    def test_provenance_recorded(self, tmp_path):
        nb = tmp_path / "c.ipynb"
        nb.write_text(json.dumps({"cells": [], "metadata": {}}))
        book._record_provenance(nb, profile="smoke", device="cpu", data_root="/somewhere")
        meta = json.loads(nb.read_text())["metadata"]["fusionbook"]
        assert meta["profile"] == "smoke" and meta["device"] == "cpu" and meta["data_root_given"] is True
        env = meta["environment"]
        assert env["packages"]["torch"].startswith("2.13.0") and env["lock_mismatches"] == {}
        assert len(env["lock_sha256"]) == 64 and "/somewhere" not in nb.read_text()

    def test_provenance_box(self, tmp_path):
        """The runner opens every executed page with one provenance line made from metadata.fusionbook;
        a re-run replaces it (never two)."""
        nb = tmp_path / "c.ipynb"
        nb.write_text(json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# T"}],
                                  "metadata": {}}))
        for _ in range(2):
            book._record_provenance(nb, profile="standard", device="auto", data_root=None, page="p",
                                    parameters={"SCENE": "water"})
        d = json.loads(nb.read_text())
        boxes = [c for c in d["cells"] if provenance.PROVENANCE_TAG in c["metadata"].get("tags", [])]
        assert len(boxes) == 1 and d["cells"][0] is not None and d["cells"][0] == boxes[0]
        meta = d["metadata"]["fusionbook"]
        assert meta["data"] == "real" and meta["device_used"] in ("cpu", "cuda") and meta["parameters"] == {"SCENE": "water"}
        line = boxes[0]["source"]
        for part in ("**standard** profile", "**real** data", f"device {meta['device_used']}", "torch 2.13.0",
                     "fusionlib ", f"commit {meta['commit']}", meta["date"]):
            assert part in line, part
        assert line.count("\n") == 3   # fence, class, one line, fence
        assert d["cells"][1]["source"] == "# T"

    def test_provenance_line_smoke(self):
        line = provenance.provenance_line({"profile": "smoke", "data": "embedded", "device": "auto"})
        assert "**smoke** profile on **embedded** data" in line and "commit unknown" in line

    def test_data_root_injected_only_when_given(self):
        ch = book.Chapter("11_x", Path("book/11.ipynb"), {"SCENE": "coast"})
        p = book.run_parameters(ch, profile="standard", device="cpu", data_root=None)
        assert p == {"PROFILE": "standard", "DEVICE": "cpu", "SCENE": "coast"}
        p = book.run_parameters(ch, profile="standard", device="cpu", data_root="/d")
        assert p["DATA_ROOT"] == "/d"

    def test_standard_without_data_stops(self, tmp_path, capsys):
        """Bad input: a standard run with the data missing stops with the places looked at and how to get
        the data, before executing anything."""
        rc = book.main(["--profile", "standard", "--data-root", str(tmp_path / "nowhere"), "--only",
                        "10_iaoa_model", "--output-dir", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert rc == 1 and "needs the real data" in err and "Looked at" in err and "To get the data" in err
        assert not (tmp_path / "out" / "book" / "10_iaoa_model.ipynb").exists()
        assert book.check_data("smoke", str(tmp_path / "nowhere")) is None

    def test_committed_pages(self):
        """Every page of book/_variants.yml has its committed executed copy; --inplace writes there and
        runs the variants' source once with its own defaults."""
        chs = book.chapters(REPO)
        pages = [c for c in chs if c.parameters]
        assert pages
        for c in pages:
            assert c.committed == c.source.parent / f"{c.page}.ipynb" and c.committed.is_file(), c.page
            meta = json.loads(c.committed.read_text())["metadata"].get("fusionbook", {})
            assert meta.get("parameters") == c.parameters, c.page
        plan = book._inplace_chapters(chs)
        sources = [c for c in plan if c.page == "11_iaoa_scenes"]
        assert len(sources) == 1 and plan.index(sources[0]) < min(plan.index(c) for c in pages)

    def test_published_build_uses_committed_pages(self, tmp_path, monkeypatch):
        root = tmp_path
        (root / "book").mkdir()
        (root / "_config.yml").write_text("title: t\n")
        (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/v_a\n")
        (root / "book" / "intro.md").write_text("# x\n")
        cell = lambda s: {"cell_type": "markdown", "metadata": {}, "source": s}
        (root / "book" / "src.ipynb").write_text(json.dumps({"cells": [cell("# src")], "metadata": {}}))
        (root / "book" / "v_a.ipynb").write_text(json.dumps({"cells": [cell("# A (committed)")], "metadata": {}}))
        (root / "book" / "_variants.yml").write_text("v_a: {source: src, parameters: {SCENE: a}}\n")
        monkeypatch.chdir(root)
        assert book.main(["--published", "--no-build"]) == 0
        out = json.loads((root / "_build" / "stage" / "book" / "v_a.ipynb").read_text())
        assert out["cells"][0]["source"] == "# A (committed)" and len(out["cells"]) == 1

    def test_committed_standard(self):
        files, reasons = book.committed_standard(REPO)
        for f in files:
            assert json.loads(f.read_text())["metadata"]["fusionbook"]["profile"] == "standard"
        assert files or reasons

    def test_variants(self, tmp_path):
        (tmp_path / "book").mkdir()
        (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/v_a\n")
        (tmp_path / "book" / "intro.md").write_text("# x\n")
        (tmp_path / "book" / "src.ipynb").write_text("{}")
        (tmp_path / "book" / "_variants.yml").write_text("v_a: {source: src, parameters: {SCENE: urban}}\n")
        [ch] = book.chapters(tmp_path)
        assert ch.page == "v_a" and ch.source.name == "src.ipynb" and ch.parameters == {"SCENE": "urban"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
class TestNotebookHygiene:
    def _nb(self, path):
        return json.loads(path.read_text())

    def test_kernel(self, path):
        assert self._nb(path)["metadata"]["kernelspec"]["name"] == "python3"

    def test_parameters_cell(self, path):
        cells = [c for c in self._nb(path)["cells"] if c["cell_type"] == "code"]
        params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(params) == 1, "exactly one cell tagged 'parameters'"
        src = "".join(params[0]["source"])
        for name in ("PROFILE", "DEVICE", "DATA_ROOT", "SEED"):
            assert re.search(rf"^{name}\s*=", src, re.M), f"parameters cell lacks {name}"

    def test_committed_with_outputs(self, path):
        """nbval silently passes a checked cell that was never executed: refuse that."""
        for i, c in enumerate(self._nb(path)["cells"]):
            if c["cell_type"] != "code":
                continue
            assert c.get("execution_count") is not None, f"cell {i} was not executed"
            tags = c.get("metadata", {}).get("tags", [])
            src = "".join(c["source"])
            if "nbval-check-output" in tags or "# NBVAL_CHECK_OUTPUT" in src:
                assert c.get("outputs"), f"checked cell {i} has no stored output"
            for out in c.get("outputs", []):
                assert out.get("output_type") != "error", f"cell {i} stored an error"

    def test_has_checked_cells(self, path):
        cells = self._nb(path)["cells"]
        assert any("nbval-check-output" in c.get("metadata", {}).get("tags", [])
                   or "# NBVAL_CHECK_OUTPUT" in "".join(c.get("source", "")) for c in cells
                   if c["cell_type"] == "code"), "no cell checked by nbval"

    def test_no_absolute_paths(self, path):
        for c in self._nb(path)["cells"]:
            src = "".join(c.get("source", ""))
            assert "/work/" not in src and "/home/" not in src and "sys.path" not in src


class TestEnvironment:
    """requirements-lock.txt is the environment: generated from pyproject.toml, complete, hashed, installed."""

    @staticmethod
    def _direct() -> list:
        import tomllib

        from packaging.requirements import Requirement
        py = tomllib.loads((REPO / "pyproject.toml").read_text())
        deps = list(py["project"]["dependencies"])
        for extra in ("book", "test", "dask"):
            deps += py["project"]["optional-dependencies"][extra]
        return [Requirement(d) for d in deps]

    def test_lock_satisfies_pyproject(self):
        """Every requirement of pyproject.toml (core, book, test, dask) is pinned, at a version it allows."""
        from packaging.utils import canonicalize_name
        lock = provenance.read_lock(REPO / "requirements-lock.txt")
        for req in self._direct():
            name = canonicalize_name(req.name)
            assert name in lock.pins, f"requirements-lock.txt lacks {req} (run `make lock`)"
            assert req.specifier.contains(lock.pins[name], prereleases=True), \
                f"requirements-lock.txt pins {name}=={lock.pins[name]}, pyproject.toml asks {req} (run `make lock`)"

    def test_lock_direct_set_is_pyprojects(self):
        """pip-compile marks what pyproject.toml asked for: a dependency removed there is stale here."""
        from packaging.utils import canonicalize_name
        lock = provenance.read_lock(REPO / "requirements-lock.txt")
        assert lock.direct == {canonicalize_name(r.name) for r in self._direct()}, "run `make lock`"

    def test_lock_is_hashed_and_exact(self):
        lock = provenance.read_lock(REPO / "requirements-lock.txt")
        assert len(lock.pins) > 50
        for name in lock.pins:
            assert lock.hashes.get(name), f"requirements-lock.txt: {name} has no --hash"
        assert str(lock.pins["torch"]).startswith("2.13.0")

    def test_installed_environment_is_the_lock(self):
        """The interpreter running the tests has every locked package at its locked version."""
        diff = provenance.lock_mismatches(REPO / "requirements-lock.txt")
        assert not diff, f"installed packages differ from requirements-lock.txt: {diff}"

    def test_environment_yml_installs_the_lock(self):
        env = yaml.safe_load((REPO / "environment.yml").read_text())
        conda = [d for d in env["dependencies"] if isinstance(d, str)]
        pip = [x for d in env["dependencies"] if isinstance(d, dict) for x in d["pip"]]
        assert {re.split(r"[<>=]", c)[0] for c in conda} == {"python", "pip", "nodejs"}, \
            "conda must not resolve Python packages: they come from the lock"
        assert "python=3.11" in conda
        assert pip == ["--require-hashes", "--no-deps", "-r requirements-lock.txt"]

    def test_read_lock(self, tmp_path):
        f = tmp_path / "lock.txt"
        f.write_text("a-b==1.0 \\\n    --hash=sha256:00\n    # via\n    #   -c constraints.txt\n"
                     "    #   fusionbook-lib (pyproject.toml)\nc_d==2.0+cpu \\\n    --hash=sha256:11\n"
                     "    # via a-b\n")
        lock = provenance.read_lock(f)
        assert {k: str(v) for k, v in lock.pins.items()} == {"a-b": "1.0", "c-d": "2.0+cpu"}
        assert lock.direct == {"a-b"} and lock.hashes == {"a-b": ["sha256:00"], "c-d": ["sha256:11"]}
        with pytest.raises(ValueError, match="line 1"):
            (tmp_path / "bad.txt").write_text("a>=1\n")
            provenance.read_lock(tmp_path / "bad.txt")

    def test_ci_runs_readme_test_command(self):
        readme = (REPO / "README.md").read_text()
        ci = (REPO / ".ci" / "run").read_text()
        assert "make test" in readme and "make test" in ci


class TestStaticWidgets:
    """What the runner does so that widgets work on the published pages (issue #18)."""

    def test_book_environment(self, monkeypatch):
        monkeypatch.setenv("FUSIONLIB_PROGRESS", "text")
        monkeypatch.delenv("FUSIONLIB_WIDGETS", raising=False)
        import os
        with book.book_environment() as env:
            assert os.environ["FUSIONLIB_WIDGETS"] == "static" and os.environ["FUSIONLIB_PROGRESS"] == "off"
            assert env == book.BOOK_ENVIRONMENT
        assert os.environ["FUSIONLIB_PROGRESS"] == "text" and "FUSIONLIB_WIDGETS" not in os.environ

    @pytest.mark.parametrize("mode,cls", [("auto", "tqdm_notebook"), ("text", "tqdm"), ("off", "tqdm")])
    def test_progress_modes(self, monkeypatch, mode, cls):
        from fusionlib import utils
        monkeypatch.setenv("FUSIONLIB_PROGRESS", mode)
        bar = utils.progress(range(3))
        assert bar.disable is (mode == "off")
        assert list(bar) == [0, 1, 2]
        if mode != "auto":                 # tqdm.auto picks the notebook class only inside a kernel
            assert type(bar).__name__ == cls and type(bar).__module__ == "tqdm.std"
        monkeypatch.setenv("FUSIONLIB_PROGRESS", "loud")
        with pytest.raises(ValueError, match="FUSIONLIB_PROGRESS"):
            utils.progress(range(3))

    @staticmethod
    def _notebook(*views, links=()):
        """A notebook showing ``views`` whose saved state holds their models and ``links`` (as a kernel
        saves it: every live widget, and only those of this notebook here)."""
        from ipywidgets.embed import dependency_state, embed_data
        data = embed_data(views=list(views), state=dependency_state([*views, *links]))
        outputs = [{"output_type": "display_data", "metadata": {},
                    "data": {book.WIDGET_VIEW: {"model_id": spec["model_id"], "version_major": 2,
                                                "version_minor": 0}, "text/plain": ["..."]}}
                   for spec in data["view_specs"]]
        return {"cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [o]} for o in outputs],
                "metadata": {"widgets": {book.WIDGET_STATE: data["manager_state"]}}}

    def test_strip_progress_widgets(self):
        pytest.importorskip("ipywidgets")
        from tqdm.notebook import tqdm as notebook_tqdm

        from fusionlib import widgets
        bar = notebook_tqdm(total=3, display=False)
        e = widgets.explorer(lambda k: f"<b>{k}</b>", {"k": [1, 2]}, mode="static")
        nb = self._notebook(bar.container, e.widget, links=e.links)
        models = nb["metadata"]["widgets"][book.WIDGET_STATE]["state"]
        n_before = len(models)
        kept = {m for m in models if m not in {bar.container.model_id}} - {
            c.model_id for c in bar.container.children}
        assert book.strip_progress_widgets(nb) == 1
        assert [len(c["outputs"]) for c in nb["cells"]] == [0, 1]
        names = {m["model_name"] for m in models.values()}
        assert "FloatProgressModel" not in names and "DirectionalLinkModel" in names   # links kept
        assert e.widget.model_id in models and bar.container.model_id not in models
        assert len(models) < n_before and e.links[0].model_id in models
        assert book.strip_progress_widgets(nb) == 0 and len(kept) >= len(models)

    def test_check_widgets(self, tmp_path):
        pytest.importorskip("ipywidgets")
        from fusionlib import widgets
        rng = np.random.default_rng(0)
        small = tmp_path / "small.ipynb"
        small.write_text(json.dumps(self._notebook(
            widgets.explorer(lambda k: f"<b>{k}</b>", {"k": [1, 2]}, mode="static").widget)))
        big = tmp_path / "big.ipynb"
        big.write_text(json.dumps(self._notebook(widgets.explorer(
            lambda k: rng.random((200, 200)), {"k": list(range(20))}, mode="static", width=None).widget)))
        live = tmp_path / "live.ipynb"
        live.write_text(json.dumps(self._notebook(
            widgets.explorer(lambda k: f"{k}", {"k": [1, 2]}, mode="live").widget)))
        sizes = book.check_widgets({"small": small, "big": big}, budget=10_000_000)
        assert 0 < sizes["small"] < 50_000 < 1_000_000 < sizes["big"]
        with pytest.raises(ValueError, match=r"big: \d\.\d\d MB of widget state > budget 1\.00 MB") as err:
            book.check_widgets({"small": small, "big": big, "live": live}, budget=1_000_000)
        assert "small:" not in str(err.value) and "live: 1 explorer(s) saved in live mode" in str(err.value)

    @pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
    def test_committed_pages_fit_budget(self, path):
        """Each committed chapter's embedded widget state fits the page budget (3 MB); no live explorer."""
        book.check_widgets({path.stem: path})

    def test_dedupe_scripts(self):
        from sphinx.builders.html._assets import _JavaScript
        thebe = _JavaScript(None, body='const THEBE_JS_URL = "x"')
        files = [_JavaScript("a.js"), thebe, _JavaScript("b.js", defer="defer"),
                 _JavaScript("", body='const THEBE_JS_URL = "x"'), _JavaScript("a.js")]
        context = {"script_files": files}
        book._dedupe_scripts(None, "p", "page.html", context, None)
        assert [(j.filename, j.attributes) for j in context["script_files"]] == [
            ("a.js", {}), (None, {"body": 'const THEBE_JS_URL = "x"'}), ("b.js", {"defer": "defer"})]

    @pytest.mark.slow
    def test_runner_kernel(self, tmp_path):
        """A chapter executed by the runner saves explorers with their states and no progress bar."""
        pytest.importorskip("ipywidgets")
        cells = ["import fusionlib as fl\nfor _ in fl.utils.progress(range(3)):\n    pass",
                 "from tqdm.auto import tqdm\nfor _ in tqdm(range(2)):\n    pass",
                 "fl.widgets.explorer(lambda k: f'<b>state {k}</b>', {'k': [1, 2, 3]})"]
        src = tmp_path / "c.ipynb"
        src.write_text(json.dumps({
            "cells": [{"cell_type": "code", "id": f"c{i}", "execution_count": None, "metadata": {}, "outputs": [],
                       "source": c} for i, c in enumerate(cells)],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}))
        out = tmp_path / "out.ipynb"
        book.execute_chapter(book.Chapter("c", src), out, profile="smoke", device="cpu", data_root=None)
        nb = json.loads(out.read_text())
        models = nb["metadata"]["widgets"][book.WIDGET_STATE]["state"]
        names = [m["model_name"] for m in models.values()]
        assert "FloatProgressModel" not in names and "IntProgressModel" not in names
        views = [o for c in nb["cells"] for o in c.get("outputs", []) if book.WIDGET_VIEW in o.get("data", {})]
        assert len(views) == 1
        root = models[views[0]["data"][book.WIDGET_VIEW]["model_id"]]["state"]
        assert "fl-explorer-static" in root["_dom_classes"]
        html = [m["state"]["value"] for m in models.values() if m["model_name"] == "HTMLModel"]
        assert all(any(f"state {k}" in h for h in html) for k in (1, 2, 3))
