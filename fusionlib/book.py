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
   looked and how to get the data otherwise (never an embedded stand-in under a standard label);
2. install the widget JavaScript from the lock file ``tools/widgets/package-lock.json`` with
   ``npm ci`` into ``_build/npm`` and copy it into ``_build/stage/_vendor/widgets`` (never committed);
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
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


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
    not_standard: list[str] = []
    t_all = time.perf_counter()
    for ch in chs:
        out = ch.committed if args.inplace else stage / "book" / f"{ch.page}.ipynb"
        if args.no_execute:
            published = ch.committed.exists()
            nb = json.loads((ch.committed if published else ch.source).read_text())
            prof = nb.get("metadata", {}).get("fusionbook", {}).get("profile")
            if prof != "standard":
                not_standard.append(f"{ch.page} ({prof or 'no provenance'})")
            if ch.title:
                _retitle(nb, ch.title)
            if ch.parameters and not published:
                note = ("```{warning}\nThis page was built without execution: it shows the committed outputs of "
                        f"`{ch.source.name}` with its default parameters, not {ch.parameters}. Run "
                        "`python -m fusionlib.book` to execute it with these parameters.\n```")
                nb["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": note})
            out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
            continue
        print(f"[book] executing {ch.page} ({args.profile}, device={args.device}) ...", flush=True)
        try:
            dt = execute_chapter(ch, out, profile=args.profile, device=args.device, data_root=args.data_root,
                                 log_output=args.log_output)
            times.append((ch.page, dt, "ok"))
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
    if args.no_build:
        return 0
    vendor_widgets(root, stage)
    html = build_site(root, stage)
    print(f"\n[book] site built: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
