"""Pansharpening quality indices (reduced and full resolution)."""
from __future__ import annotations
