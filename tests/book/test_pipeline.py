"""The book pipeline: table of contents, notebook hygiene, environment files."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from fusionlib import book

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
        sources = {ch.source.resolve() for ch in book.chapters(REPO)}
        missing = [nb.name for nb in NOTEBOOKS if nb.resolve() not in sources]
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
    def test_environment_yml_mirrors_pyproject(self):
        import tomllib
        py = tomllib.loads((REPO / "pyproject.toml").read_text())
        deps = list(py["project"]["dependencies"])
        for extra in ("book", "test"):
            deps += py["project"]["optional-dependencies"][extra]

        def name(spec: str) -> str:
            return re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].strip().lower().replace("_", "-")

        env = yaml.safe_load((REPO / "environment.yml").read_text())
        conda, pip = set(), set()
        for d in env["dependencies"]:
            if isinstance(d, dict):
                pip |= {name(x) for x in d["pip"] if not x.startswith("-")}
            else:
                conda.add(name(d))
        missing = sorted({name(d) for d in deps} - conda - pip)
        assert not missing, f"environment.yml lacks {missing}"
        torch_pin = [d for d in py["project"]["dependencies"] if name(d) == "torch"]
        assert torch_pin == ["torch==2.13.0"]
        assert "torch==2.13.0" in [x for d in env["dependencies"] if isinstance(d, dict) for x in d["pip"]]

    def test_ci_runs_readme_test_command(self):
        readme = (REPO / "README.md").read_text()
        ci = (REPO / ".ci" / "run").read_text()
        assert "make test" in readme and "make test" in ci
