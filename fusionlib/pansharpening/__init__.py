"""Pansharpening: the IAOA adaptive model, standard methods and evaluation protocols."""
from .adaptive import *  # noqa: F401,F403
from . import adaptive
__all__ = list(adaptive.__all__)
