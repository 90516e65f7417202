"""Execute every chapter with papermill, then build the static site with jupyter-book.

``python -m fusionlib.book`` (or ``python -m fusionlib book``)::

    python -m fusionlib.book                       # smoke profile, embedded data, build _build/html
    python -m fusionlib.book --profile standard --data-root /path/to/data --device cuda
    python -m fusionlib.book --only 03_metrics --inplace   # refresh one chapter's committed outputs
    python -m fusionlib.book --no-build            # execute only

Steps:

1. read ``_toc.yml`` (and ``book/_variants.yml`` for pages made from one notebook with different
   parameters) and execute each notebook chapter with papermill (kernel ``python3``, working
   directory ``book/``), injecting ``PROFILE``, ``DEVICE`` and ``DATA_ROOT``; executed copies go to
   ``_build/stage/book/`` (or back over the sources with ``--inplace``); per-chapter times are
   printed and a failing chapter is reported with its error;
2. install the widget JavaScript from the lock file ``tools/widgets/package-lock.json`` with
   ``npm ci`` into ``_build/npm`` and copy it into ``_build/stage/_vendor/widgets`` (never committed);
3. ``jupyter-book build _build/stage --all -W -n --keep-going`` with execution off, so any warning
   (a failed chapter included) fails the build; the site lands in ``_build/html``.
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

    params = {"PROFILE": profile, "DEVICE": device, "DATA_ROOT": data_root, **chapter.parameters}
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.partial.ipynb")
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(str(chapter.source), str(tmp), parameters=params, kernel_name="python3",
                            cwd=str(chapter.source.parent), log_output=log_output, progress_bar=False)
        _strip_papermill_noise(tmp, title=chapter.title)
        _record_provenance(tmp, profile=profile, device=device, data_root=data_root)
        os.replace(tmp, output)
    finally:
        if tmp.exists():
            # keep the partial notebook for debugging, beside the output
            os.replace(tmp, output.with_name(f"{output.stem}.FAILED.ipynb"))
    return time.perf_counter() - t0


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


def _record_provenance(path: Path, *, profile: str, device: str, data_root: str | None) -> None:
    """Store what decides the chapter's numbers in ``metadata.fusionbook``: the profile and device asked
    for, whether a data root was given, and :func:`fusionlib.provenance.environment_record` (Python, the
    key packages' versions, the lock file's digest and any difference between it and the installed
    environment)."""
    from fusionlib.provenance import environment_record

    nb = json.loads(path.read_text())
    nb.setdefault("metadata", {})["fusionbook"] = {
        "profile": profile, "device": device, "data_root_given": data_root is not None,
        "environment": environment_record(),
    }
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


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
    ap.add_argument("--inplace", action="store_true", help="write executed notebooks over the sources "
                    "(to refresh committed outputs); implies --no-build")
    ap.add_argument("--no-build", action="store_true", help="execute only, skip jupyter-book")
    ap.add_argument("--no-execute", action="store_true", help="build from the committed notebooks")
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
    stage = root / "_build" / "stage"
    chs = chapters(root)
    if args.only:
        unknown = sorted(set(args.only) - {c.page for c in chs} - {c.source.stem for c in chs})
        if unknown:
            ap.error(f"--only: unknown pages {unknown}; known: {[c.page for c in chs]}")
        chs = [c for c in chs if c.page in args.only or c.source.stem in args.only]
    if args.inplace:
        # refresh committed outputs: each source notebook once, with its own default parameters
        args.no_build = True
        chs = list({c.source: Chapter(c.source.stem, c.source) for c in chs}.values())

    if not args.inplace and stage.exists():
        shutil.rmtree(stage)
    if not args.inplace:
        stage_sources(root, stage)

    failures: list[tuple[str, str]] = []
    times: list[tuple[str, float, str]] = []
    t_all = time.perf_counter()
    for ch in chs:
        out = ch.source if args.inplace else stage / "book" / f"{ch.page}.ipynb"
        if args.no_execute:
            nb = json.loads(ch.source.read_text())
            if ch.title:
                _retitle(nb, ch.title)
            if ch.parameters:
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
