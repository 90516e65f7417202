"""Population optimisers on NumPy (no images, no torch): the eleven algorithms of the IAOA paper.

``fusionlib.optim.minimize(name, fitness, lower, upper, pop_size, iterations, ...)`` runs one of
:data:`OPTIMIZERS` on a whole-population objective ``(P, D) -> (P,)``. See ``_base`` for the
``corrected`` / ``faithful`` modes and ``_run`` for the exact evaluation budget.
"""
from __future__ import annotations

from ._problem import BOUND_POLICIES, Problem, elementwise, repair_bounds
from ._base import MODES, OPTIMIZERS, Optimizer, OptimizerInfo, State
from ._run import History, Result, minimize, run
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
    "OptimizerInfo", "State", "History", "Result", "minimize", "run", "functions",
    "PSO", "pso_update", "constriction", "ACOR", "acor_sample", "acor_weights", "acor_widths",
    "AOA", "IAOA", "aoa_schedules", "aoa_update", "opposite", "DE", "de_update", "distinct_donors",
    "GA", "ga_offspring", "selection_probabilities", "GWO", "gwo_update", "WOA", "woa_update",
    "EO", "eo_update", "AHA", "aha_candidates", "aha_directions", "AO", "ao_update", "levy",
]
