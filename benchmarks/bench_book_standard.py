"""Cost of the book's chapters in their ``standard`` profile on the real data (CPU).

The issue's budget: every chapter runs in its standard profile within 20 minutes on a CPU. Each
chapter named on the command line is executed with papermill (kernel ``python3``, working directory
``book/``, ``PROFILE=standard``, ``DATA_ROOT``), one at a time, into ``--out-dir`` (never over the
committed notebook, which keeps its smoke outputs). Per chapter we record:

* ``wall_s``: wall time of the papermill process (the kernel included);
* ``cpu_s``: user + system CPU time of papermill and its children (the kernel), from
  ``getrusage(RUSAGE_CHILDREN)`` - the same as ``/usr/bin/time -v``. The chapters run torch with one
  thread, so on a shared machine ``cpu_s`` is close to the wall time the chapter would take on a quiet
  one, whereas ``wall_s`` is inflated by the other users of the CPU;
* ``load_avg``: the 1-minute load average sampled every 5 s during the run (mean, max) and at the
  start and the end, and the number of CPUs;
* ``cache``: whether the chapter found the shared AE-Netv2 cache (``book/.cache/aenet``: labels,
  trained models and scores) warm, i.e. how many files it held before and after - chapters 06-09 share
  trained models, so a chapter run after the one before it in the book is cheaper than a cold one;
* ``slowest_cells``: papermill's per-cell wall times (the five slowest).

The "peer" is the budget itself: ``cpu_ratio_to_budget`` = ``cpu_s`` / (20 min).

Usage::

    .venv/bin/python benchmarks/bench_book_standard.py 06_aenet_fusion_tasks 07_aenet_blocks \
        --data-root /work/shared/data --out-dir /tmp/std

Results are merged by chapter into ``benchmarks/results/bench_book_standard.json`` (written atomically),
so chapters can be measured in separate invocations.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from fusionlib.utils import write_json_atomic

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUDGET_S = 20 * 60


def _files(path: Path) -> int:
    return sum(len(f) for _, _, f in os.walk(path)) if path.is_dir() else 0


def _cells(nb_path: Path, top: int = 5) -> list[dict]:
    try:
        nb = json.loads(nb_path.read_text())
    except (OSError, ValueError):
        return []
    rows = []
    for i, c in enumerate(nb.get("cells", [])):
        d = (c.get("metadata", {}).get("papermill") or {}).get("duration")
        if d is not None:
            rows.append({"cell": i, "id": c.get("id"), "wall_s": round(float(d), 2),
                         "source": "".join(c.get("source", ""))[:80]})
    return sorted(rows, key=lambda r: -r["wall_s"])[:top]


def run_chapter(name: str, *, data_root: str, out_dir: Path, profile: str, cache: Path,
                extra: list[str], timeout: float | None) -> dict:
    src = ROOT / "book" / f"{name}.ipynb"
    if not src.is_file():
        raise FileNotFoundError(f"bench_book_standard: no chapter {src}")
    out = out_dir / f"{name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "papermill", str(src), str(out), "-k", "python3", "--cwd", str(src.parent),
           "-p", "PROFILE", profile, "-p", "DATA_ROOT", data_root, "--log-level", "WARNING", *extra]
    loads, stop = [], threading.Event()

    def sample():
        while not stop.wait(5.0):
            loads.append(os.getloadavg()[0])
    files_before = _files(cache)
    load_start = os.getloadavg()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_user, cpu_sys = ru1.ru_utime - ru0.ru_utime, ru1.ru_stime - ru0.ru_stime
    row = {
        "chapter": name, "profile": profile, "ok": proc.returncode == 0, "returncode": proc.returncode,
        "output": str(out), "command": " ".join(cmd[1:]),
        "wall_s": round(wall, 1), "cpu_user_s": round(cpu_user, 1), "cpu_sys_s": round(cpu_sys, 1),
        "cpu_s": round(cpu_user + cpu_sys, 1), "max_rss_mb": round(ru1.ru_maxrss / 1024, 1),
        "cpu_ratio_to_budget": round((cpu_user + cpu_sys) / BUDGET_S, 3),
        "load_avg": {"start_1min": round(load_start[0], 2), "end_1min": round(os.getloadavg()[0], 2),
                     "mean_1min": round(sum(loads) / len(loads), 2) if loads else None,
                     "max_1min": round(max(loads), 2) if loads else None, "n_samples": len(loads)},
        "cache": {"dir": str(cache), "files_before": files_before, "files_after": _files(cache),
                  "added": _files(cache) - files_before},
        "slowest_cells": _cells(out),
        "finished": _dt.datetime.now().isoformat(timespec="seconds"),
    }
    if proc.returncode != 0:
        row["error_tail"] = (proc.stderr or proc.stdout)[-3000:]
    return row


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="+", help="chapter stems, e.g. 07_aenet_blocks")
    ap.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--profile", default="standard", choices=("smoke", "standard", "full"))
    ap.add_argument("--out-dir", default="/tmp/std")
    ap.add_argument("--cache", default=str(ROOT / "book" / ".cache" / "aenet"),
                    help="the chapters' shared cache (only inspected, to record whether it was warm)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per chapter")
    ap.add_argument("--tag", default="", help="suffix of the result keys, e.g. 'rerun' for a run on a warm cache")
    ap.add_argument("--out", default=str(HERE / "results" / "bench_book_standard.json"))
    a, extra = ap.parse_known_args(argv)
    out_dir = Path(a.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = Path(a.out)
    res = json.loads(path.read_text()) if path.is_file() else {}
    res.setdefault("chapters", {})
    res["budget_s"] = BUDGET_S
    res["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}
    print(f"{'chapter':32s} {'ok':>3s} {'wall s':>8s} {'cpu s':>8s} {'cpu/20min':>9s} {'load mean':>9s} {'cache files':>11s}")
    for name in a.chapters:
        row = run_chapter(name, data_root=a.data_root, out_dir=out_dir / a.tag if a.tag else out_dir,
                          profile=a.profile,
                          cache=Path(a.cache), extra=extra, timeout=a.timeout)
        # re-read before writing: another invocation may have added chapters meanwhile
        res = {**res, **(json.loads(path.read_text()) if path.is_file() else {})}
        row["tag"] = a.tag
        res.setdefault("chapters", {})[f"{name}:{a.profile}" + (f":{a.tag}" if a.tag else "")] = row
        write_json_atomic(path, res)
        print(f"{name:32s} {'yes' if row['ok'] else 'NO':>3s} {row['wall_s']:8.1f} {row['cpu_s']:8.1f} "
              f"{row['cpu_ratio_to_budget']:9.2f} {row['load_avg']['mean_1min'] or float('nan'):9.2f} "
              f"{row['cache']['files_before']:>11d}", flush=True)
        if not row["ok"]:
            print(row.get("error_tail", ""), file=sys.stderr)
    return res


if __name__ == "__main__":
    main()
