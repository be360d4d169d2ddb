"""Shared data for the pre- and post-processing tests: the bundled Adult data as a numeric task,
a logistic regression fitted on it once per session, and a seeded synthetic task.

Fixtures return plain objects (a small dataclass of numpy arrays, a fitted model), so the test
modules need nothing from here but the fixture names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from fairwatch.datasets import load_adult

_NUMERIC = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
_CATEGORICAL = ["workclass", "marital-status", "occupation", "relationship"]


@dataclass(frozen=True)
class Task:
    """A binary classification task: features, 0/1 labels and sensitive columns (as numpy)."""

    X: np.ndarray
    y: np.ndarray
    sex: np.ndarray
    race: np.ndarray

    @property
    def sex_race(self) -> pd.DataFrame:
        return pd.DataFrame({"sex": self.sex, "race": self.race})


@cache
def _adult() -> Task:
    frame = load_adult(missing="unknown")
    numeric = frame[_NUMERIC].to_numpy(dtype=np.float64)
    numeric = (numeric - numeric.mean(axis=0)) / numeric.std(axis=0)
    dummies = pd.get_dummies(frame[_CATEGORICAL], dtype=np.float64).to_numpy()
    return Task(
        X=np.hstack([numeric, dummies]),
        y=(frame["income"] == ">50K").to_numpy().astype(np.int64),
        sex=frame["sex"].to_numpy(dtype=object),
        race=frame["race"].to_numpy(dtype=object),
    )


@cache
def _adult_model() -> LogisticRegression:
    task = _adult()
    return LogisticRegression(max_iter=500).fit(task.X, task.y)


@cache
def _synthetic(seed: int = 0, n: int = 6_000) -> Task:
    """Three unbalanced groups with different base rates and a group-dependent feature shift."""
    rng = np.random.default_rng(seed)
    group = rng.choice(np.array(["a", "b", "c"]), size=n, p=[0.6, 0.3, 0.1])
    shift = np.select([group == "a", group == "b"], [0.6, 0.0], -0.4)
    X = rng.normal(size=(n, 5)) + shift[:, None] * np.array([1.0, 0.5, 0.0, 0.0, 0.0])
    logit = X @ np.array([1.2, -0.8, 0.5, 0.0, 0.3]) + shift - 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    race = rng.choice(np.array(["x", "y"]), size=n)
    return Task(X=X, y=y, sex=group.astype(object), race=race.astype(object))


@pytest.fixture(scope="session")
def adult() -> Task:
    """Adult: standardised numeric columns and one-hot categoricals (sex and race not among X)."""
    return _adult()


@pytest.fixture(scope="session")
def adult_model() -> LogisticRegression:
    """A logistic regression fitted on all of :func:`adult` (shared; do not refit it)."""
    return _adult_model()


@pytest.fixture(scope="session")
def synthetic() -> Task:
    """6,000 rows, 5 features; ``sex`` holds three groups a/b/c (60/30/10%), ``race`` two."""
    return _synthetic()
