"""Training speed on CPU: ``fusionlib.nets.fit`` against a plain PyTorch loop (issue #14, item 1).

For AE-Netv2 (R = GCB, 5,378 parameters) and AE-Netv2-M (the slowest variant), patches of 64x64 and
128x128, batch 16, Adam 1e-3, loss (1 - SSIM) + L1 against the label, on 1 and 2 torch threads:

* **fit**: ``fusionlib.nets.fit`` with ``TrainConfig(epochs=1, max_steps=k)`` on the
  ``TensorBatches`` of the patches (the library's training path, fast engine on: AE-Netv2 goes
  through ``fusionlib.nets.fast_train``; AE-Netv2-M has no fast engine and runs its module).
* **plain**: the straightforward PyTorch loop on the same data, model weights and loss, with no
  library code: a bare ``nn.Module`` of AE-Netv2 (conv, BN, ReLU, grouped conv, shuffle, skip,
  conv, BN, ReLU; the library's weights copied in) on the 6-channel concatenated input, an SSIM
  written with ``F.conv2d`` (11x11 Gaussian, sigma 1.5, 'valid'), ``torch.randperm`` batches drawn
  as ``DataLoader(shuffle=True)`` draws them. AE-Netv2-M's plain loop calls the library module
  (plain torch layers) on the concatenated input with the input checks off.

Timing: blocks of ``--steps`` optimiser steps, fit and plain **interleaved** (alternating which
goes first) for ``--rounds`` rounds; the minimum per-step wall time over rounds is reported, with
the process CPU time per step and the load average (the CPU is shared: only the ratios within one
run are comparable). The loss check trains fit and plain for ``--check-steps`` steps from the same
initialisation on the same batches and reports the largest difference of the step losses.
The data are seeded synthetic smooth images (label = mean of the two sources); only shapes
matter for speed.

Usage::

    .venv/bin/python benchmarks/bench_train.py                  # full table -> results/bench_train.json
    .venv/bin/python benchmarks/bench_train.py --quick --out /tmp/bench_train.json
    .venv/bin/python benchmarks/bench_train.py --models aenetv2_m --steps 2 --rounds 3 --merge  # add rows
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fusionlib import nets
from fusionlib.utils import write_json_atomic

HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------------- plain PyTorch
class PlainAENetV2(nn.Module):
    """AE-Netv2 written out in plain PyTorch (same layers and parameter names' order)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(6, 64, 3, padding=1)
        self.bn = nn.BatchNorm2d(64)
        self.gc = nn.Conv2d(64, 64, 3, padding=1, groups=32, bias=False)
        self.c2 = nn.Conv2d(64, 1, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(1)

    def forward(self, x):
        h = torch.relu(self.bn(self.c1(x)))
        g = self.gc(h)
        b, c, hh, ww = g.shape
        g = g.reshape(b, 32, c // 32, hh, ww).transpose(1, 2).reshape(b, c, hh, ww)  # channel shuffle
        return torch.relu(self.bn2(self.c2(h + g)))


def plain_copy(model: nn.Module) -> nn.Module:
    """The plain network with ``model``'s weights (AE-Netv2), or a copy of ``model`` (AE-Netv2-M)."""
    if isinstance(model, nets.AENetV2):
        plain = PlainAENetV2()
        plain.load_state_dict(dict(zip(plain.state_dict(), model.state_dict().values())))
        return plain
    m = copy.deepcopy(model)
    m.check_inputs = False
    return m


def plain_ssim_l1(p, t, win):
    """(1 - SSIM(p, t)) + mean |p - t|: Gaussian window ``win`` (11), 'valid' positions, peak 1."""
    n = win.numel()
    st = torch.cat([p, t, p * p, t * t, p * t], 1)
    st = F.conv2d(st, win.view(1, 1, n, 1).expand(5, 1, n, 1), groups=5)
    st = F.conv2d(st, win.view(1, 1, 1, n).expand(5, 1, 1, n), groups=5)
    mx, my, xx, yy, xy = st.split(1, 1)
    vx, vy, cxy = xx - mx * mx, yy - my * my, xy - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    ssim = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return (1 - ssim.mean()) + (p - t).abs().mean()


def plain_steps(model, opt, data, gen, n_steps, bs, win, losses=None):
    """``n_steps`` optimiser steps of the plain loop (new permutations as DataLoader draws them)."""
    a, b, o = data
    n = a.shape[0]
    done = 0
    while done < n_steps:
        torch.empty((), dtype=torch.int64).random_(generator=gen)
        order = torch.randperm(n, generator=gen)
        for i in range(n // bs):
            idx = order[i * bs:(i + 1) * bs]
            x = torch.cat([a[idx].expand(-1, 3, -1, -1), b[idx].expand(-1, 3, -1, -1)], 1)
            loss = plain_ssim_l1(model(x), o[idx], win)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if losses is not None:
                losses.append(float(loss.detach()))
            done += 1
            if done == n_steps:
                return
        torch.randperm(n, generator=gen)


def fit_steps(model, data, gen, n_steps, bs, seed, threading="hybrid"):
    loader = nets.TensorBatches(*data, batch_size=bs, generator=gen, drop_last=True)
    cfg = nets.TrainConfig(epochs=max(1, -(-n_steps // len(loader))), lr=1e-3, batch_size=bs,
                           patch=int(data[0].shape[-1]), max_steps=n_steps, seed=seed, device="cpu",
                           threading=threading)
    return nets.fit(model, loader, nets.FusionLoss(), cfg)


def synthetic_patches(n: int, patch: int, seed: int):
    """Seeded smooth images in [0, 1]: bilinear-upsampled noise; label = mean of the sources."""
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(2 * n, 1, patch // 8, patch // 8, generator=g)
    x = F.interpolate(small, size=(patch, patch), mode="bilinear", align_corners=False)
    x = (x + 0.05 * torch.rand(x.shape, generator=g)).clamp(0, 1)
    a, b = x[:n].contiguous(), x[n:].contiguous()
    return a, b, 0.5 * (a + b)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def step_gflop(model, data, bs, win) -> float:
    """GFLOP of one plain training step (forward + backward), torch's FLOP counter."""
    from torch.utils.flop_counter import FlopCounterMode
    m = plain_copy(model)
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    with FlopCounterMode(display=False) as fc:
        plain_steps(m, opt, data, torch.Generator().manual_seed(0), 1, bs, win)
    return fc.get_total_flops() / 1e9


def measure(key: str, patch: int, threads: int, args) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    base = nets.build(key)
    n = args.batch_size * max(args.steps, 4)
    data = synthetic_patches(n, patch, args.seed)
    win = torch.exp(-((torch.arange(11.0) - 5) ** 2) / (2 * 1.5 ** 2))
    win = win / win.sum()
    # same losses? fit and plain from the same weights and batches
    check_fit, check_plain = copy.deepcopy(base), plain_copy(base)
    hist = fit_steps(check_fit, data, torch.Generator().manual_seed(args.seed), args.check_steps,
                     args.batch_size, args.seed, args.threading)
    plain_losses = []
    plain_steps(check_plain, torch.optim.Adam(check_plain.parameters(), 1e-3), data,
                torch.Generator().manual_seed(args.seed), args.check_steps, args.batch_size, win,
                plain_losses)
    dl = np.abs(np.asarray(hist.step_loss) - np.asarray(plain_losses))
    # timing, interleaved
    m_fit, m_plain = copy.deepcopy(base), plain_copy(base)
    opt_plain = torch.optim.Adam(m_plain.parameters(), 1e-3)
    g_fit, g_plain = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    fit_steps(m_fit, data, g_fit, 1, args.batch_size, args.seed, args.threading)  # warm-up
    plain_steps(m_plain, opt_plain, data, g_plain, 1, args.batch_size, win)
    wall = {"fit": [], "plain": []}
    cpu = {"fit": [], "plain": []}
    for r in range(args.rounds):
        for who in (("fit", "plain") if r % 2 == 0 else ("plain", "fit")):
            t0, c0 = time.perf_counter(), _cpu()
            if who == "fit":
                fit_steps(m_fit, data, g_fit, args.steps, args.batch_size, args.seed, args.threading)
            else:
                plain_steps(m_plain, opt_plain, data, g_plain, args.steps, args.batch_size, win)
            wall[who].append((time.perf_counter() - t0) / args.steps)
            cpu[who].append((_cpu() - c0) / args.steps)
    row = {"model": key, "label": nets.MODELS[key].label, "patch": patch, "batch": args.batch_size,
           "threads": threads, "engine": hist.engine[-1], "threading": args.threading,
           "gflop_per_step": step_gflop(base, data, args.batch_size, win)}
    for who in ("fit", "plain"):
        t = min(wall[who])
        row[who] = {"ms_per_step": t * 1e3, "median_ms": float(np.median(wall[who]) * 1e3),
                    "steps_per_s": 1.0 / t, "patches_per_s": args.batch_size / t,
                    "cpu_ms_per_step": min(cpu[who]) * 1e3}
    row["ratio_steps_per_s"] = row["fit"]["steps_per_s"] / row["plain"]["steps_per_s"]
    row["ratio_cpu"] = row["plain"]["cpu_ms_per_step"] / row["fit"]["cpu_ms_per_step"]
    row["loss_check"] = {"steps": args.check_steps, "max_abs_diff": float(dl.max()),
                         "first_loss": float(plain_losses[0]), "last_loss": float(plain_losses[-1])}
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="aenetv2,aenetv2_m")
    p.add_argument("--patches", default="64,128")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=4, help="steps per timed block")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--check-steps", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threading", default="hybrid", choices=("hybrid", "images"),
                   help="TrainConfig.threading of fit (the fast engine's ops beside the per-image products)")
    p.add_argument("--quick", action="store_true", help="AE-Netv2 at 64x64 only, 3 rounds")
    p.add_argument("--merge", action="store_true",
                   help="keep the rows of --out for other (model, patch, threads, threading) and replace these")
    p.add_argument("--out", default=str(HERE / "results" / "bench_train.json"))
    a = p.parse_args(argv)
    if a.quick:
        a.models, a.patches, a.rounds = "aenetv2", "64", 3
    load0 = os.getloadavg()
    rows = []
    kept = []
    if a.merge and Path(a.out).is_file():
        import json
        kept = json.loads(Path(a.out).read_text()).get("results", [])

    def save(load1):
        def key(r):  # rows before TrainConfig.threading existed ran the 'images' mode
            return r["model"], r["patch"], r["threads"], r.get("threading", "images")
        mine = {key(r) for r in rows}
        res = {"benchmark": "bench_train", "protocol": "fit vs plain PyTorch loop, interleaved blocks, min "
               "over rounds; synthetic smooth patches; Adam 1e-3; (1 - SSIM) + L1", "torch": torch.__version__,
               "python": platform.python_version(), "platform": platform.platform(),
               "cpu_count": os.cpu_count(), "seed": a.seed,
               "results": [r for r in kept if key(r) not in mine] + rows}
        for r in rows:
            r.setdefault("run", {"loadavg_before": list(load0), "loadavg_after": list(load1),
                                 "steps_per_block": a.steps, "rounds": a.rounds, "check_steps": a.check_steps,
                                 "command": " ".join(sys.argv)})
        write_json_atomic(a.out, res)

    print(f"{'model':28s} {'patch':>5s} {'thr':>3s} {'fit ms':>8s} {'plain ms':>9s} {'fit st/s':>8s} "
          f"{'plain st/s':>10s} {'ratio':>6s} {'cpu ratio':>9s} {'GFLOP':>6s} {'|dloss|':>8s}")
    for key in a.models.split(","):
        for patch in map(int, a.patches.split(",")):
            for thr in map(int, a.threads.split(",")):
                r = measure(key, patch, thr, a)
                r["loadavg_during"] = list(os.getloadavg())
                rows.append(r)
                print(f"{r['label'][:28]:28s} {patch:5d} {thr:3d} {r['fit']['ms_per_step']:8.1f} "
                      f"{r['plain']['ms_per_step']:9.1f} {r['fit']['steps_per_s']:8.2f} "
                      f"{r['plain']['steps_per_s']:10.2f} {r['ratio_steps_per_s']:6.2f} {r['ratio_cpu']:9.2f} "
                      f"{r['gflop_per_step']:6.2f} {r['loss_check']['max_abs_diff']:8.1e}  [{r['engine']}, "
                      f"{r['threading']}]",
                      flush=True)
                save(os.getloadavg())
    load1 = os.getloadavg()
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f} ({os.cpu_count()} CPUs)")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
