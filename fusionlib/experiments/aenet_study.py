"""AE-Netv2 experiment harness: splits, train-or-load with a disk cache, the 8 indexes, statistics.

The book's chapters 06-09 (paper experiments A4-A12 of ``shared/notes/aenetv2.md`` §9) are built
on these pieces:

* **Splits** (:func:`task_splits`): fixed, documented, seeded train/test splits per task. The split
  seed is separate from the training seeds, so every training seed is scored on the *same* test
  images (which makes the paired tests below legitimate). No test image is ever a training image.
* **Train or load** (:func:`train_or_load`): one cache folder per (experiment, variant, seed) holding
  the weights, the training history and a fingerprint of the configuration and the training data; a
  finished entry is loaded instead of retrained, a stale one (different fingerprint) is retrained.
  Interrupted sweeps resume at the first missing (variant, seed).
* **Indexes** (:func:`score_fused`, :func:`add_combined`): the paper's eight indexes, Combined (E2),
  NIQE, SSIM, EN, PSNR, BRENNER, VIFF, plus time and size.
* **Statistics** (:func:`summarize`, :func:`paired_tests`, :func:`friedman`, :func:`holm`): mean ± sd
  over seeds, paired Wilcoxon / t tests with Holm's correction, Friedman's test over variants.
* **Normalisation** (:func:`normalize_indexes`): Fig. 6's averaged objective indexes (PSNR
  normalised, NIQE inverted and normalised).
* **Timing** (:func:`timing_images`, :func:`time_inference`): the protocol of §IV-A-4b.

Everything takes explicit seeds; every file is written atomically.

This module is the façade the book and the tests import (``from fusionlib.experiments import
aenet_study as st``); each job has its own home and every name is re-exported here:

* :mod:`~fusionlib.experiments.aenet_data`: tasks, splits, pair loading, content keys;
* :mod:`~fusionlib.experiments.aenet_train`: training patches, :class:`StudyConfig`, train or load, the
  fuser of a trained network;
* :mod:`~fusionlib.experiments.aenet_scoring`: the indexes, :func:`evaluate_method`, Combined,
  normalisation;
* :mod:`~fusionlib.experiments.aenet_run`: the book's profiles and :func:`run_study`;
* :mod:`~fusionlib.experiments.aenet_stats`: mean ± sd, paired tests, Friedman, transfer tables;
* :mod:`~fusionlib.experiments.aenet_timing`: the timing protocol.
"""
from __future__ import annotations

from .aenet_data import (TASKS, EMBEDDED, PAPER_TABLE4, table4, SampleRef, TaskSplit, _round_robin,
                         seeded_split, _ids, task_splits, _dataset, _gray, load_pair, load_pairs, _content_key,
                         content_key)  # noqa: F401
from .aenet_train import (fingerprint, TrainSet, sample_patches, build_trainset, StudyConfig, Trained,
                          cache_entry, _default_trainer, _adopt_legacy, train_or_load, model_fuser)  # noqa: F401
from .aenet_scoring import (INDEXES, LOWER_IS_BETTER, PAPER_TABLE7, _metric_fns, SCORE_NAMES, score_fused,
                            score_batch, evaluate_method, add_combined, normalize_indexes)  # noqa: F401
from .aenet_run import (PROFILES, PROFILES_NAMES, profile_budget, study_splits, LIBRARY_FAST, default_labeler,
                        Variant, StudyResult, run_study)
from .aenet_stats import (summarize, format_mean_sd, TestResult, paired_test, _blocks, paired_tests,
                          FriedmanResult, friedman, transfer_matrix)  # noqa: F401
from .aenet_timing import (PAPER_CLAIMS, Timing, timing_images, time_inference)
from .stats import friedman_ranks, holm  # noqa: F401  (holm: public here since the studies used it)

__all__ = [
    "TASKS", "EMBEDDED", "PAPER_TABLE4", "table4", "SampleRef", "TaskSplit", "seeded_split", "task_splits", "load_pair",
    "load_pairs", "sample_patches", "TrainSet", "StudyConfig", "Trained", "train_or_load", "cache_entry",
    "INDEXES", "LOWER_IS_BETTER", "SCORE_NAMES", "score_fused", "score_batch", "evaluate_method", "add_combined", "summarize",
    "format_mean_sd", "holm", "paired_test", "TestResult", "paired_tests", "friedman", "FriedmanResult",
    "normalize_indexes", "transfer_matrix", "timing_images", "time_inference", "Timing",
    "PAPER_TABLE7", "PAPER_CLAIMS", "fingerprint", "Variant", "build_trainset", "StudyResult",
    "model_fuser", "run_study", "content_key", "default_labeler", "LIBRARY_FAST", "PROFILES", "profile_budget", "study_splits",
]
