"""Pansharpening: the IAOA adaptive model, standard methods and evaluation protocols."""
from . import adaptive, methods, protocols
from .adaptive import *  # noqa: F401,F403
from .methods import *  # noqa: F401,F403
from .protocols import *  # noqa: F401,F403

__all__ = list(adaptive.__all__) + list(methods.__all__) + list(protocols.__all__)
