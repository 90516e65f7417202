"""Vectorised benchmark functions ``(P, D) -> (P,)`` with known optima (all minima are 0 at x = 0)."""
from __future__ import annotations

import numpy as np

__all__ = ["sphere", "rastrigin", "ackley", "rosenbrock"]


def sphere(X: np.ndarray) -> np.ndarray:
    """Sphere f(x) = Σ x_j²; minimum 0 at 0."""
    return np.einsum("ij,ij->i", X, X)


def rastrigin(X: np.ndarray) -> np.ndarray:
    """Rastrigin f(x) = 10 D + Σ (x_j² - 10 cos 2π x_j); minimum 0 at 0 (usual box ±5.12)."""
    return 10.0 * X.shape[1] + np.sum(X * X - 10.0 * np.cos(2.0 * np.pi * X), axis=1)


def ackley(X: np.ndarray) -> np.ndarray:
    """Ackley f(x) = -20 exp(-0.2 sqrt(mean x²)) - exp(mean cos 2πx) + 20 + e; minimum 0 at 0 (box ±32.768)."""
    a = -20.0 * np.exp(-0.2 * np.sqrt(np.mean(X * X, axis=1)))
    b = -np.exp(np.mean(np.cos(2.0 * np.pi * X), axis=1))
    return np.maximum(a + b + 20.0 + np.e, 0.0)


def rosenbrock(X: np.ndarray) -> np.ndarray:
    """Rosenbrock f(x) = Σ 100 (x_{j+1} - x_j²)² + (1 - x_j)²; minimum 0 at x = 1."""
    return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1.0 - X[:, :-1]) ** 2, axis=1)
