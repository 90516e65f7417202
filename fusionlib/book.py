"""Execute every chapter with papermill, then build the static site with jupyter-book.

``python -m fusionlib.book`` (or ``python -m fusionlib book``)::

    python -m fusionlib.book                       # smoke profile, embedded data, build _build/html
    python -m fusionlib.book --profile standard --data-root /path/to/data --device cuda
    python -m fusionlib.book --only 03_metrics --inplace   # refresh one chapter's committed outputs
    python -m fusionlib.book --no-build            # execute only
    python -m fusionlib.book --published           # the published site from the committed (standard) outputs

Steps:

1. read ``_toc.yml`` (and ``book/_variants.yml`` for pages made from one notebook with different
   parameters) and execute each notebook chapter with papermill (kernel ``python3``, working
   directory ``book/``), injecting ``PROFILE``, ``DEVICE`` and ``DATA_ROOT`` (only when given: with
   none, ``fl.data.find_root`` finds ``shared/data`` beside the checkout, and no machine's path lands
   in a committed notebook); executed copies go to ``_build/stage/book/`` (or ``--output-dir``, or
   back over the committed notebooks with ``--inplace``: a chapter over its source, a page of
   ``book/_variants.yml`` to ``book/<page>.ipynb``); per-chapter times are printed and a failing
   chapter is reported with its error. Each executed page gets ``metadata.fusionbook`` (profile,
   data, device, versions, commit, date) and opens with a one-line provenance box made from it.
   A standard or full run first checks that the real data is found, and stops with the places
   looked and how to get the data otherwise (never an embedded stand-in under a standard label). The kernels run with
   ``FUSIONLIB_WIDGETS=static`` (``fusionlib.widgets`` explorers embed their states, so they work on the
   static page) and ``FUSIONLIB_PROGRESS=off`` (no progress bar is saved); tqdm widget outputs that a
   chapter made anyway are stripped (also from committed notebooks staged with ``--no-execute``);
   each page's embedded widget state must fit :data:`WIDGET_BUDGET` (3 MB), else the run fails naming
   the page;
2. install the widget JavaScript from the lock file ``tools/widgets/package-lock.json`` with
   ``npm ci`` into ``_build/npm`` and copy it into ``_build/stage/_vendor/widgets`` (never committed),
   with ``tools/widgets/widgets-setup.js`` (require.js paths to that folder, so the widget fonts load; a
   MathJax 2 ``Hub`` shim for the labels ipywidgets typesets, since the book loads MathJax 3);
3. ``jupyter-book build _build/stage --all -W -n --keep-going`` with execution off, so any warning
   (a failed chapter included) fails the build; the site lands in ``_build/html``.

Execution model: the committed notebooks carry the **standard** profile's outputs on the real data
(refreshed with ``--profile standard --inplace``); ``--published`` (``--no-execute``) builds the site
from them, each page of ``book/_variants.yml`` from its committed ``book/<page>.ipynb``. ``make book``
without data executes every chapter in the smoke profile on the embedded data into ``_build/`` and
builds from those copies; nothing committed changes.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROFILES = ("smoke", "standard", "full")
WIDGET_BUDGET = 3_000_000          # bytes of embedded widget state per page (fusionlib.widgets.PAGE_BUDGET)
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# what the chapters' kernels see while the book runner executes them
BOOK_ENVIRONMENT = {"FUSIONLIB_WIDGETS": "static", "FUSIONLIB_PROGRESS": "off"}
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Chapter:
    """One page of the book that papermill executes."""

    page: str                     # stem as in _toc.yml, e.g. "11_iaoa_scenes_urban"
    source: Path                  # the notebook file that is executed
    parameters: dict[str, Any] = field(default_factory=dict)
    title: str | None = None      # replaces the first '# ' heading (variants of one notebook)

    @property
    def committed(self) -> Path:
        """Where this page's committed outputs live: the source for a chapter, ``book/<page>.ipynb``
        beside the source for a page of ``book/_variants.yml``."""
        return self.source.parent / f"{self.page}.ipynb" if self.page != self.source.stem else self.source


def repo_root() -> Path:
    """The checkout that holds ``_toc.yml`` (the current directory or the package's parent)."""
    for cand in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (cand / "_toc.yml").is_file() and (cand / "_config.yml").is_file():
            return cand
    raise FileNotFoundError("fusionlib.book: no _toc.yml/_config.yml in the current directory or "
                            f"beside the package ({Path(__file__).resolve().parents[1]}); run from the repository root")


def _toc_files(toc: dict) -> list[str]:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "file" in node:
                out.append(str(node["file"]))
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    if "root" in toc:
        out.append(str(toc["root"]))
    walk(toc)
    return out


def chapters(root: Path | None = None) -> list[Chapter]:
    """The notebook chapters of ``_toc.yml`` in order (markdown pages are copied, not executed)."""
    import yaml

    root = repo_root() if root is None else root
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    var_path = root / "book" / "_variants.yml"
    variants = (yaml.safe_load(var_path.read_text()) or {}) if var_path.exists() else {}
    out = []
    for entry in _toc_files(toc):
        stem = Path(entry).name
        folder = root / Path(entry).parent
        if stem in variants:
            spec = variants[stem]
            src = folder / f"{spec['source']}.ipynb"
            out.append(Chapter(stem, src, dict(spec.get("parameters", {})), spec.get("title")))
        elif (folder / f"{stem}.ipynb").exists():
            out.append(Chapter(stem, folder / f"{stem}.ipynb"))
        elif not any((folder / f"{stem}{ext}").exists() for ext in (".md", ".rst")):
            raise FileNotFoundError(f"fusionlib.book: _toc.yml lists {entry!r} but neither {entry}.ipynb "
                                    "nor .md exists and book/_variants.yml does not define it")
    return out


def execute_chapter(chapter: Chapter, output: Path, *, profile: str, device: str,
                    data_root: str | None, log_output: bool = False) -> float:
    """Run one chapter with papermill; returns the wall time in seconds."""
    import papermill as pm

    params = run_parameters(chapter, profile=profile, device=device, data_root=data_root)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.partial.ipynb")
    t0 = time.perf_counter()
    try:
        with book_environment():
            pm.execute_notebook(str(chapter.source), str(tmp), parameters=params, kernel_name="python3",
                                cwd=str(chapter.source.parent), log_output=log_output, progress_bar=False)
        _strip_papermill_noise(tmp, title=chapter.title)
        _record_provenance(tmp, profile=profile, device=device, data_root=data_root,
                           page=chapter.page, parameters=chapter.parameters)
        os.replace(tmp, output)
    finally:
        if tmp.exists():
            # keep the partial notebook for debugging, beside the output
            os.replace(tmp, output.with_name(f"{output.stem}.FAILED.ipynb"))
    return time.perf_counter() - t0


def run_parameters(chapter: Chapter, *, profile: str, device: str, data_root: str | None) -> dict[str, Any]:
    """The papermill parameters of one execution. ``DATA_ROOT`` only when given: otherwise the chapter
    keeps its default (None) and ``fl.data.find_root`` looks in ``FUSIONLIB_DATA``, ``shared/data`` beside
    the checkout (CI clones main with ``../shared`` beside it) and the user cache."""
    params: dict[str, Any] = {"PROFILE": profile, "DEVICE": device}
    if data_root is not None:
        params["DATA_ROOT"] = str(data_root)
    params.update(chapter.parameters)
    return params


def check_data(profile: str, data_root: str | None) -> Path | None:
    """The real data root of a standard/full run (None for smoke); ``DataNotFoundError`` listing every
    place looked at and how to get the data when there is none."""
    if profile == "smoke":
        return None
    from fusionlib.data import find_root
    return find_root(data_root, required=True)


def _strip_papermill_noise(path: Path, title: str | None = None) -> None:
    """Drop papermill's per-run timestamps so re-running an unchanged chapter gives the same file.

    With ``title``, the first level-1 heading becomes ``# {title}`` (pages made from one notebook).
    """
    nb = json.loads(path.read_text())
    if title:
        _retitle(nb, title)
    meta = nb.get("metadata", {}).get("papermill", {})
    for key in ("start_time", "end_time", "duration", "input_path", "output_path"):
        meta.pop(key, None)
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "hide-input" not in tags:
            tags.append("hide-input")
        pm = cell.get("metadata", {}).get("papermill")
        if isinstance(pm, dict):
            for key in ("start_time", "end_time", "duration"):
                pm.pop(key, None)
        ex = cell.get("metadata", {}).get("execution")
        if isinstance(ex, dict):
            cell["metadata"].pop("execution")
    strip_progress_widgets(nb)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def book_environment():
    """Set :data:`BOOK_ENVIRONMENT` in ``os.environ`` (inherited by the kernels papermill starts) and restore
    the previous values afterwards."""
    old = {k: os.environ.get(k) for k in BOOK_ENVIRONMENT}
    os.environ.update(BOOK_ENVIRONMENT)
    try:
        yield dict(BOOK_ENVIRONMENT)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _widget_models(nb: dict) -> dict[str, Any]:
    return (nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}) or {}).get("state", {}) or {}


def _model_refs(value: Any) -> set[str]:
    """The model ids a widget state refers to (``"IPY_MODEL_<id>"`` anywhere in it)."""
    out: set[str] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if v.startswith("IPY_MODEL_"):
                out.add(v[len("IPY_MODEL_"):])
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return out


def _reachable(models: dict[str, Any], roots: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = [r for r in roots if r in models]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo.extend(r for r in _model_refs(models[m].get("state", {})) if r in models and r not in seen)
    return seen


def _is_progress_bar(models: dict[str, Any], model_id: str) -> bool:
    """A tqdm notebook bar: a ``*ProgressModel``, or an ``HBox`` holding one (tqdm.notebook's layout)."""
    m = models.get(model_id)
    if not m:
        return False
    name = m.get("model_name", "")
    if name in ("FloatProgressModel", "IntProgressModel"):
        return True
    if name != "HBoxModel":
        return False
    kids = [models.get(k, {}).get("model_name", "") for k in _model_refs(m.get("state", {}).get("children", []))]
    return any(k in ("FloatProgressModel", "IntProgressModel") for k in kids)


def strip_progress_widgets(nb: dict) -> int:
    """Remove the outputs that show a progress-bar widget (tqdm.notebook) and their models from the saved
    widget state; models still used elsewhere (links included) stay. Returns how many outputs went."""
    models = _widget_models(nb)
    if not models:
        return 0
    removed: set[str] = set()
    for cell in nb.get("cells", []):
        keep = []
        for out in cell.get("outputs", []) or []:
            view = (out.get("data") or {}).get(WIDGET_VIEW) if isinstance(out, dict) else None
            mid = view.get("model_id") if isinstance(view, dict) else None
            if mid and _is_progress_bar(models, mid):
                removed.add(mid)
                continue
            keep.append(out)
        if "outputs" in cell:
            cell["outputs"] = keep
    if not removed:
        return 0
    kept_views = {((o.get("data") or {}).get(WIDGET_VIEW) or {}).get("model_id")
                  for c in nb.get("cells", []) for o in c.get("outputs", []) or [] if isinstance(o, dict)}
    doomed = _reachable(models, removed)
    alive = _reachable(models, {m for m in kept_views if m} | (set(models) - doomed))
    for m in doomed - alive:
        models.pop(m, None)
    return len(removed)


def widget_state_bytes(nb: dict) -> int:
    """Bytes of the saved widget state that the page embeds (``metadata.widgets``, as JSON)."""
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE)
    return len(json.dumps(state).encode()) if state else 0


def check_widgets(pages: dict[str, Path], budget: int = WIDGET_BUDGET) -> dict[str, int]:
    """Check the executed notebooks of ``pages`` (page -> file) before they are published: each page's
    embedded widget state fits ``budget`` bytes, and no ``fusionlib.widgets`` explorer was saved in live
    mode (its states would not be embedded, so it would be dead on the page). Returns page -> bytes;
    raises ``ValueError`` naming every page at fault and its size."""
    sizes: dict[str, int] = {}
    faults: list[str] = []
    for page, path in pages.items():
        nb = json.loads(Path(path).read_text())
        sizes[page] = size = widget_state_bytes(nb)
        if size > budget:
            faults.append(f"{page}: {size / 1e6:.2f} MB of widget state > budget {budget / 1e6:.2f} MB "
                          "(fewer states, grid='axes', a smaller width or fmt='jpeg')")
        live = [m for m in _widget_models(nb).values()
                if "fl-explorer-live" in (m.get("state", {}).get("_dom_classes") or [])]
        if live:
            faults.append(f"{page}: {len(live)} explorer(s) saved in live mode, dead on the static page "
                          "(execute the chapter with python -m fusionlib.book, which sets FUSIONLIB_WIDGETS=static)")
    if faults:
        raise ValueError("fusionlib.book: widget check failed:\n  " + "\n  ".join(faults))
    return sizes


def setup(app: Any) -> dict[str, Any]:
    """Sphinx extension (``sphinx.extra_extensions`` in ``_config.yml``): each page lists a script once.

    sphinx-thebe's inline ``const THEBE_JS_URL = ...`` reaches the page twice, and the second declaration
    is a ``SyntaxError`` in the browser console; identical script entries are dropped here."""
    app.connect("html-page-context", _dedupe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _dedupe_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    files = context.get("script_files")
    if not files:
        return
    seen: set = set()
    unique = []
    for js in files:
        attrs = getattr(js, "attributes", None) or {}
        name = getattr(js, "filename", js) or ""      # an inline script comes with None or ""
        key = (str(name), tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    files[:] = unique


def _record_provenance(path: Path, *, profile: str, device: str, data_root: str | None,
                       page: str | None = None, parameters: dict[str, Any] | None = None) -> None:
    """Store what decides the chapter's numbers in ``metadata.fusionbook``: the profile and device asked
    for (and the device used), the data (``real`` for standard/full, which stop when it is missing;
    ``embedded`` for smoke), whether a data root was given, the page and its parameters, the git commit,
    the date (UTC) and :func:`fusionlib.provenance.environment_record` (Python, the key packages'
    versions, the lock file's digest and any difference between it and the installed environment).
    Then open the notebook with the one-line provenance box (:func:`_insert_provenance_cell`)."""
    import datetime

    from fusionlib.provenance import environment_record, git_commit

    nb = json.loads(path.read_text())
    nb.setdefault("metadata", {})["fusionbook"] = {
        "profile": profile, "device": device, "device_used": _device_used(device),
        "data": "embedded" if profile == "smoke" else "real",
        "data_root_given": data_root is not None,
        "page": page, "parameters": dict(parameters or {}),
        "commit": git_commit(), "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "environment": environment_record(),
    }
    _insert_provenance_cell(nb)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def _device_used(device: str) -> str:
    if device != "auto":
        return device
    try:
        import torch
        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover - torch is a dependency
        return "cpu"


def _insert_provenance_cell(nb: dict) -> None:
    """Put the provenance line of ``metadata.fusionbook`` in a markdown cell (tag
    :data:`fusionlib.provenance.PROVENANCE_TAG`) at the top of the notebook, replacing an older one."""
    from fusionlib.provenance import PROVENANCE_TAG, provenance_line

    meta = nb.get("metadata", {}).get("fusionbook")
    if not meta:
        return
    cells = [c for c in nb.get("cells", []) if PROVENANCE_TAG not in c.get("metadata", {}).get("tags", [])]
    box = ":::{admonition} Provenance\n:class: note\n" + provenance_line(meta) + "\n:::"
    cell = {"cell_type": "markdown", "id": "fusionbook-provenance",
            "metadata": {"tags": [PROVENANCE_TAG]}, "source": box}
    nb["cells"] = [cell, *cells]


def committed_standard(root: Path | None = None) -> tuple[list[Path], list[str]]:
    """The committed notebooks nbval checks against the real data: ``(files, reasons)``.

    ``files`` are the committed notebooks (chapters and ``book/<page>.ipynb`` pages) whose
    ``metadata.fusionbook.profile`` is ``standard``; ``reasons`` say why the others (or all, without
    the real data) are skipped."""
    from fusionlib.data import DataNotFoundError, find_root

    root = repo_root() if root is None else root
    files, reasons = [], []
    try:
        find_root(None, required=True)
    except DataNotFoundError as e:
        return [], [f"nbval of the committed standard outputs skipped: real data not found ({e})"]
    seen = set()
    for ch in chapters(root):
        for path in (ch.committed, ch.source):
            if path in seen:
                continue
            seen.add(path)
            if not path.exists():
                reasons.append(f"{path.relative_to(root)}: not committed (run --profile standard --inplace)")
                continue
            prof = json.loads(path.read_text()).get("metadata", {}).get("fusionbook", {}).get("profile")
            if prof == "standard":
                files.append(path)
            else:
                reasons.append(f"{path.relative_to(root)}: committed outputs are profile {prof!r}, not standard")
    return files, reasons


def _inplace_chapters(chs: list[Chapter]) -> list[Chapter]:
    """What ``--inplace`` executes: every chapter, every page of ``book/_variants.yml`` (written to its
    ``book/<page>.ipynb``) and each variants' source once with its own default parameters (its committed
    outputs, checked by nbval like the pages)."""
    out: list[Chapter] = []
    for ch in chs:
        if ch.parameters or ch.page != ch.source.stem:
            src = Chapter(ch.source.stem, ch.source)
            if src not in out:
                out.append(src)
        out.append(ch)
    return out


def _retitle(nb: dict, title: str) -> None:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        lines = "".join(cell.get("source", "")).split("\n")
        for i, line in enumerate(lines):
            if line.startswith("# "):
                lines[i] = f"# {title}"
                cell["source"] = "\n".join(lines)
                return


def vendor_widgets(root: Path, stage: Path) -> Path:
    """Install the site's JavaScript from the lock file with npm and copy it into ``stage/_vendor``.

    ``_vendor/widgets`` gets the ipywidgets HTML manager and require.js, ``_vendor/mathjax`` MathJax 3,
    so that widgets and formulas render with no network.
    """
    npm = shutil.which("npm")
    lock_dir = root / "tools" / "widgets"
    work = root / "_build" / "npm"
    pkg = work / "node_modules" / "@jupyter-widgets" / "html-manager" / "dist"
    req = work / "node_modules" / "requirejs" / "require.js"
    mathjax = work / "node_modules" / "mathjax" / "es5"
    lock_changed = not (work / "package-lock.json").exists() or (
        (work / "package-lock.json").read_bytes() != (lock_dir / "package-lock.json").read_bytes())
    if lock_changed or not pkg.is_dir() or not req.is_file() or not mathjax.is_dir():
        if npm is None:
            raise RuntimeError("fusionlib.book: npm is needed once to install the widget JavaScript "
                               "(@jupyter-widgets/html-manager, requirejs) from tools/widgets/package-lock.json")
        work.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(lock_dir / name, work / name)
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                       cwd=work, check=True)
    dest = stage / "_vendor" / "widgets"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for f in pkg.iterdir():
        if f.is_file() and (f.name == "embed-amd.js" or f.suffix in (".woff", ".woff2", ".ttf", ".eot", ".svg")):
            shutil.copy2(f, dest / f.name)
    shutil.copy2(req, dest / "require.js")
    shutil.copy2(lock_dir / "widgets-setup.js", dest / "widgets-setup.js")
    # MathJax for formulas, offline: the combined component and the fonts it loads beside itself
    mj = stage / "_vendor" / "mathjax"
    if mj.exists():
        shutil.rmtree(mj)
    (mj / "output" / "chtml").mkdir(parents=True)
    shutil.copy2(mathjax / "tex-mml-chtml.js", mj / "tex-mml-chtml.js")
    shutil.copytree(mathjax / "output" / "chtml" / "fonts", mj / "output" / "chtml" / "fonts")
    return dest


def stage_sources(root: Path, stage: Path) -> None:
    """Copy config, toc and the non-notebook pages (markdown, images) into the stage."""
    stage.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, stage / name)
    for f in (root / "book").rglob("*"):
        rel = f.relative_to(root)
        if f.is_dir() or f.suffix == ".ipynb" or ".ipynb_checkpoints" in f.parts or "_output" in f.parts:
            continue
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, stage / rel)


def build_site(root: Path, stage: Path) -> Path:
    """Run jupyter-book on the stage with warnings as errors; returns the html folder."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(stage), "--all", "-W", "-n",
           "--keep-going", "--path-output", str(root)]
    subprocess.run(cmd, check=True)
    return root / "_build" / "html"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fusionlib.book", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", choices=PROFILES, default="smoke")
    ap.add_argument("--device", choices=DEVICES, default="auto")
    ap.add_argument("--data-root", default=None, help="real data root (else FUSIONLIB_DATA, shared/data beside "
                    "the repository, the user cache); the smoke profile needs none")
    ap.add_argument("--only", nargs="+", default=None, metavar="PAGE", help="execute only these pages")
    ap.add_argument("--inplace", action="store_true", help="write executed notebooks over the committed ones "
                    "(a chapter over its source, a page of book/_variants.yml to book/<page>.ipynb, and the "
                    "variants' source with its own defaults) to refresh committed outputs; implies --no-build")
    ap.add_argument("--output-dir", default=None, metavar="DIR", help="execute into DIR/book instead of "
                    "_build/stage/book; implies --no-build (the smoke stage of make test)")
    ap.add_argument("--no-build", action="store_true", help="execute only, skip jupyter-book")
    ap.add_argument("--no-execute", "--published", dest="no_execute", action="store_true",
                    help="build the published site from the committed notebooks (standard outputs; a page of "
                         "book/_variants.yml from its committed book/<page>.ipynb)")
    ap.add_argument("--committed-standard", action="store_true", help="print the committed notebooks with "
                    "standard outputs (one per line; reasons for the others on stderr) and exit")
    ap.add_argument("--log-output", action="store_true", help="stream cell output while executing")
    ap.add_argument("--scheduler", default=None, metavar="ADDRESS|local[:N]|inprocess",
                    help="where the chapters' grid loops run (fusionlib.parallel): a Dask scheduler address, "
                         "'local[:N]' (one LocalCluster of N workers for the whole run) or 'inprocess'; "
                         "exported to the kernels as FUSIONLIB_SCHEDULER (default: that variable, else in-process)")
    args = ap.parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.scheduler is not None:
            from fusionlib.parallel import scheduler_environment
            try:
                value = stack.enter_context(scheduler_environment(args.scheduler))
            except (ImportError, ValueError, TypeError, OSError) as e:
                print(f"fusionlib.book: `--scheduler` {e}", file=sys.stderr)
                return 1
            print(f"[book] scheduler: {value} (FUSIONLIB_SCHEDULER)", flush=True)
        return _run(ap, args)


def _run(ap: argparse.ArgumentParser, args: argparse.Namespace) -> int:

    root = repo_root()
    if args.committed_standard:
        files, reasons = committed_standard(root)
        for r in reasons:
            print(f"[book] {r}", file=sys.stderr)
        for f in files:
            print(f.relative_to(root))
        return 0
    stage = root / "_build" / "stage"
    if args.output_dir is not None:
        stage, args.no_build = Path(args.output_dir).resolve(), True
    chs = chapters(root)
    if args.only:
        unknown = sorted(set(args.only) - {c.page for c in chs} - {c.source.stem for c in chs})
        if unknown:
            ap.error(f"--only: unknown pages {unknown}; known: {[c.page for c in chs]}")
        chs = [c for c in chs if c.page in args.only or c.source.stem in args.only]
    if args.inplace:
        args.no_build = True
        chs = _inplace_chapters(chs)
    if not args.no_execute:
        try:
            found = check_data(args.profile, args.data_root)
        except Exception as e:  # DataNotFoundError: the places looked at and how to get the data
            print(f"fusionlib.book: the {args.profile} profile needs the real data. {e}", file=sys.stderr)
            return 1
        if found is not None:
            print(f"[book] real data: {found}", flush=True)

    if not args.inplace and stage.exists():
        shutil.rmtree(stage)
    if not args.inplace:
        stage_sources(root, stage)

    failures: list[tuple[str, str]] = []
    times: list[tuple[str, float, str]] = []
    published: dict[str, Path] = {}
    not_standard: list[str] = []
    t_all = time.perf_counter()
    for ch in chs:
        out = ch.committed if args.inplace else stage / "book" / f"{ch.page}.ipynb"
        if args.no_execute:
            is_committed = ch.committed.exists()
            nb = json.loads((ch.committed if is_committed else ch.source).read_text())
            prof = nb.get("metadata", {}).get("fusionbook", {}).get("profile")
            if prof != "standard":
                not_standard.append(f"{ch.page} ({prof or 'no provenance'})")
            strip_progress_widgets(nb)
            if ch.title:
                _retitle(nb, ch.title)
            if ch.parameters and not is_committed:
                note = ("```{warning}\nThis page was built without execution: it shows the committed outputs of "
                        f"`{ch.source.name}` with its default parameters, not {ch.parameters}. Run "
                        "`python -m fusionlib.book` to execute it with these parameters.\n```")
                nb["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": note})
            out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
            published[ch.page] = out
            continue
        print(f"[book] executing {ch.page} ({args.profile}, device={args.device}) ...", flush=True)
        try:
            dt = execute_chapter(ch, out, profile=args.profile, device=args.device, data_root=args.data_root,
                                 log_output=args.log_output)
            times.append((ch.page, dt, "ok"))
            published[ch.page] = out
            print(f"[book]   {ch.page}: {dt:.1f} s", flush=True)
        except Exception as e:  # papermill raises PapermillExecutionError with the cell's traceback
            msg = str(e).strip().splitlines()
            short = "\n".join(msg[-12:])
            failures.append((ch.page, short))
            times.append((ch.page, float("nan"), "FAILED"))
            print(f"[book]   {ch.page}: FAILED\n{short}", flush=True)

    if times:
        print("\n[book] chapter times")
        for page, dt, status in times:
            print(f"  {page:36s} {dt:8.1f} s  {status}")
        print(f"  {'total':36s} {time.perf_counter() - t_all:8.1f} s")
    if not_standard:
        print(f"[book] published build: {len(not_standard)} page(s) carry committed outputs that are not the "
              f"standard profile's (refresh with --profile standard --inplace): {', '.join(not_standard)}",
              flush=True)
    if failures:
        print(f"\n[book] {len(failures)} chapter(s) failed: {[p for p, _ in failures]}", file=sys.stderr)
        return 1
    try:
        sizes = check_widgets(published)
    except ValueError as e:
        print(f"\n{e}", file=sys.stderr)
        return 1
    if any(sizes.values()):
        print("\n[book] embedded widget state per page (budget "
              f"{WIDGET_BUDGET / 1e6:.1f} MB): " + ", ".join(f"{p} {b / 1e3:.0f} kB" for p, b in sizes.items() if b))
    if args.no_build:
        return 0
    vendor_widgets(root, stage)
    html = build_site(root, stage)
    print(f"\n[book] site built: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
