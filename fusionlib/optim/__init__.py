"""Population optimisers on NumPy (no images, no torch): the eleven algorithms of the IAOA paper.

``fusionlib.optim.minimize(name, fitness, lower, upper, pop_size, iterations, ...)`` runs one of
:data:`OPTIMIZERS` on a whole-population objective ``(P, D) -> (P,)``.

Modes (``mode=``): ``"corrected"`` (batched generations, the released MATLAB code's quirks fixed) and
``"faithful"`` (the MATLAB code's sequential order and quirks; ``shared/notes/iaoa.md`` §4). Budgets
of the released code for N = 5, T = 10, reproduced by faithful mode:

=====  ====================================  =========  ================================
key    algorithm                             evals      faithful-mode specifics
=====  ====================================  =========  ================================
pso    PSO, constriction (Yarpiz)            55         global best starts as the worst
acor   ACOR (Yarpiz)                         55         (none)
de     DE/rand/1/bin                         55         in-place replacement
ga     GA (GA.m)                             50         roulette ∝ cost, gene 1 never crossed
gwo    GWO                                   50         sequential leader chain
woa    WOA                                   50         in-place moves
eo     EO                                    50         sequential pool chain
aha    AHA                                   56         sequential foraging
ao     AO                                    100        unclipped candidates, re-evaluation
aoa    AOA                                   55         best updated at once
iaoa   IAOA = AOA + OBL + DRST               505        moved bracket, stale pool, no clipping
=====  ====================================  =========  ================================

For GA, GWO, WOA and EO the MATLAB loop evaluates at the top, so in faithful mode T iterations are
the initialisation plus T - 1 steps (``Optimizer.faithful_eval_first``): MATLAB's iteration k is
``state.iteration == k - 1`` there. Termination: ``iterations`` and/or an exact ``max_evals`` (the
last generation is truncated so that ``n_evals == max_evals``), never wall time.

``run_batch(problem, optimizer, seeds, ...)`` runs one optimiser once per seed with all runs in
lockstep (a leading runs axis, one objective call per generation of all runs); run ``r`` equals
``run(..., seed=seeds[r])`` exactly (corrected mode; other cases fall back to one ``run`` per seed).
"""
from __future__ import annotations

from ._problem import BOUND_POLICIES, Problem, elementwise, repair_bounds
from ._base import MODES, OPTIMIZERS, Optimizer, OptimizerInfo, State
from ._run import History, Result, minimize, run
from ._batch import BatchProblem, run_batch, supports_batch
from .pso import PSO, constriction, pso_update
from .acor import ACOR, acor_sample, acor_weights, acor_widths
from .aoa import AOA, IAOA, aoa_schedules, aoa_update, opposite
from .de import DE, de_update, distinct_donors
from .ga import GA, ga_offspring, selection_probabilities
from .gwo import GWO, gwo_update
from .woa import WOA, woa_update
from .eo import EO, eo_update
from .aha import AHA, aha_candidates, aha_directions
from .ao import AO, ao_update, levy
from . import functions

__all__ = [
    "Problem", "elementwise", "repair_bounds", "BOUND_POLICIES", "MODES", "OPTIMIZERS", "Optimizer",
    "OptimizerInfo", "State", "History", "Result", "minimize", "run", "run_batch", "BatchProblem",
    "supports_batch", "functions",
    "PSO", "pso_update", "constriction", "ACOR", "acor_sample", "acor_weights", "acor_widths",
    "AOA", "IAOA", "aoa_schedules", "aoa_update", "opposite", "DE", "de_update", "distinct_donors",
    "GA", "ga_offspring", "selection_probabilities", "GWO", "gwo_update", "WOA", "woa_update",
    "EO", "eo_update", "AHA", "aha_candidates", "aha_directions", "AO", "ao_update", "levy",
]
