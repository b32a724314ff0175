"""Synthetic pipelines with a known seed-dependence for the robustness tests.

Random-feature ridge regression (the setting of D'Amour et al., section 3): training inputs
have x2 = x1 + small noise, so the data pin down the model along x1 + x2 but leave the split
between x1 and x2 to the random features, i.e. to the seed. Inputs along the training
distribution are predicted alike by every seed; inputs where x2 moves away from x1 are not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest


def make_data(n: int, rng: np.random.Generator, *, collinear: bool = True) -> tuple[np.ndarray, np.ndarray]:
    x1 = rng.normal(size=n)
    x2 = x1 + 0.05 * rng.normal(size=n) if collinear else rng.normal(size=n)
    y = np.sin(x1) + 0.5 * x1 + 0.1 * rng.normal(size=n)
    return np.c_[x1, x2], y


class RandomFeatureRidge:
    """cos(W x + b) features (W, b drawn from ``seed``), ridge fitted in closed form."""

    def __init__(self, seed: int, n_features: int = 100, alpha: float = 1e-2) -> None:
        self.seed, self.n_features, self.alpha = seed, n_features, alpha

    def fit(self, X: np.ndarray, y: np.ndarray) -> RandomFeatureRidge:
        r = np.random.default_rng(self.seed)
        self.W_ = r.normal(size=(X.shape[1], self.n_features))
        self.b_ = r.uniform(-np.pi, np.pi, self.n_features)
        F = self._features(X)
        F1 = np.c_[F, np.ones(len(F))]
        reg = self.alpha * np.eye(F1.shape[1])
        reg[-1, -1] = 0.0
        self.coef_ = np.linalg.solve(F1.T @ F1 + reg, F1.T @ y)
        return self

    def _features(self, X: np.ndarray) -> np.ndarray:
        return np.cos(np.asarray(X) @ self.W_ + self.b_)

    def predict(self, X: Any) -> np.ndarray:
        return np.c_[self._features(X), np.ones(len(X))] @ self.coef_


@pytest.fixture(scope="session")
def rf_data() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    Xtr, ytr = make_data(400, rng)
    Xte, yte = make_data(500, rng)
    Xdec, ydec = make_data(500, rng, collinear=False)
    Xc, yc = make_data(2000, rng)
    keep = np.abs(Xc[:, 0]) < 1
    return {"train": (Xtr, ytr), "iid": (Xte, yte), "decorrelated": (Xdec, ydec),
            "center": (Xc[keep][:500], yc[keep][:500])}  # fmt: skip


@pytest.fixture(scope="session")
def rf_train(rf_data: dict[str, Any]) -> Any:
    Xtr, ytr = rf_data["train"]

    def train(seed: int) -> RandomFeatureRidge:
        return RandomFeatureRidge(seed).fit(Xtr, ytr)

    return train
