"""Data with a planted disparity driver, and a model fitted on it once per session.

``zip_risk`` is a proxy of the sensitive ``group`` (its mean is higher in group ``a``) that the
model leans on; ``income`` drives the label in both groups alike; ``noise`` is ignored. So the
selection-rate gap between the groups runs through ``zip_risk``: permuting it must close the gap,
permuting ``income`` must cost accuracy but not the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class Planted:
    X: pd.DataFrame
    y: np.ndarray
    group: np.ndarray
    model: Any


@cache
def _planted(n: int = 3000, seed: int = 0) -> Planted:
    rng = np.random.default_rng(seed)
    group = rng.choice(np.array(["a", "b"]), n)
    zip_risk = rng.normal(0.0, 1.0, n) + 1.5 * (group == "a")
    income = rng.normal(0.0, 1.0, n)
    noise = rng.normal(0.0, 1.0, n)
    logit = 1.5 * zip_risk + 1.0 * income - 0.75
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    X = pd.DataFrame({"income": income, "noise": noise, "zip_risk": zip_risk})
    model = LogisticRegression().fit(X, y)
    return Planted(X, y, group, model)


@pytest.fixture(scope="session")
def planted() -> Planted:
    return _planted()


class ScoreModel:
    """A fixed (not fitted) model: P(positive) = sigmoid(2 * x + 1[group column == 'a'] - 1)."""

    def predict_proba(self, data: Any) -> np.ndarray:
        frame = data if isinstance(data, pd.DataFrame) else data.to_pandas()
        logit = 2.0 * frame["x"].to_numpy(dtype=float) + (frame["kind"].to_numpy() == "a") - 1.0
        p = 1.0 / (1.0 + np.exp(-logit))
        return np.column_stack([1.0 - p, p])

    def predict(self, data: Any) -> np.ndarray:
        return (self.predict_proba(data)[:, 1] > 0.5).astype(int)


@pytest.fixture
def score_model() -> ScoreModel:
    return ScoreModel()
