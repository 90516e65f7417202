#!/usr/bin/env bash
# Issue #14, item 6: the AE-Netv2 grid with Table II's budget on a GPU, then item 5 on it.
#
#   bash data/checkpoints/train_full_grid.sh            # every network, seeds 0-2, on cuda
#   bash data/checkpoints/train_full_grid.sh --seeds 0  # extra arguments go to the grid command
#
# 1. Labels: Algorithm 1 over the whole train split with the whole library, GTF included
#    (aenet_grid.FULL_RECIPE), its candidates computed on a Dask LocalCluster of the CPU cores
#    (FUSIONLIB_SCHEDULER overrides; "inprocess" keeps one process).
# 2. Training: every grid network, 1,280 steps at 1e-3 then 12,800 at 1e-4, 128 x 128 patches,
#    batch 16, the standard recipe's stopping rule read every 640 steps, into data/checkpoints/aenet_full
#    (resumable: rerun the script after an interruption; finished networks are skipped).
# 3. Item 5: AE-Netv2 mixed-task seed 0 in the E2 field of every test pair, the table printed and written
#    to benchmarks/results/aenet_quality_full.json (the committed networks' table is chapter 06's).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
DEVICE=${DEVICE:-cuda}
SCHED=${FUSIONLIB_SCHEDULER:-local:$(( $(nproc) > 2 ? $(nproc) - 1 : 1 ))}
$PY -m fusionlib.experiments.aenet_grid --recipe full --device "$DEVICE" --scheduler "$SCHED" "$@"
$PY -m fusionlib.experiments.aenet_quality --recipe full --device "$DEVICE" \
    --out benchmarks/results/aenet_quality_full.json
