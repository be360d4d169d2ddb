"""Data shared by the reductions, selection and example tests (plain functions, cached).

Not a conftest: the test modules load it by path (``load_fixtures()`` in each module), so it works
with pytest's importlib import mode and with or without a package ``__init__``.

* :func:`adult_task`: the bundled Adult data, White and Black rows only, one-hot features
  (numeric columns standardised), split 60/40 with a fixed seed;
* :func:`synthetic_task`: a seeded binary task whose label and features depend on a binary group.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

ADULT_NUMERIC = ("age", "education-num", "capital-gain", "capital-loss", "hours-per-week")
ADULT_CATEGORICAL = ("workclass", "marital-status", "occupation", "relationship", "sex", "race")


@dataclass(frozen=True)
class Task:
    """Features, labels and sensitive features of a train and a test split."""

    X_train: np.ndarray
    y_train: np.ndarray
    A_train: pd.DataFrame
    X_test: np.ndarray
    y_test: np.ndarray
    A_test: pd.DataFrame


@cache
def adult_task() -> Task:
    """Adult, White/Black rows, 60 % train / 40 % test (seed 0); sensitive features sex and race."""
    from sklearn.model_selection import train_test_split

    from fairwatch.datasets import load_adult

    frame = load_adult()
    frame = frame[frame["race"].isin(["White", "Black"])].reset_index(drop=True)
    numeric = frame[list(ADULT_NUMERIC)].astype(np.float64)
    numeric = (numeric - numeric.mean()) / numeric.std()
    dummies = pd.get_dummies(frame[list(ADULT_CATEGORICAL)], dtype=np.float64)
    X = np.ascontiguousarray(pd.concat([numeric, dummies], axis=1).to_numpy(dtype=np.float64))
    y = (frame["income"] == ">50K").to_numpy().astype(np.int64)
    A = frame[["sex", "race"]]
    X_train, X_test, y_train, y_test, A_train, A_test = train_test_split(X, y, A, test_size=0.4, random_state=0)
    return Task(X_train, y_train, A_train.reset_index(drop=True), X_test, y_test, A_test.reset_index(drop=True))


@cache
def synthetic_task(n_rows: int = 4000, seed: int = 0) -> Task:
    """A binary task with a 30 % minority group that has a higher base rate and shifted features."""
    rng = np.random.default_rng(seed)
    n = 2 * n_rows
    group = (rng.random(n) < 0.3).astype(np.int64)
    X = rng.normal(size=(n, 6))
    X[:, 0] += 0.8 * group
    logit = X @ np.array([1.0, -0.6, 0.4, 0.0, 0.3, -0.2]) - 0.4 + 0.9 * group
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    A = pd.DataFrame({"group": np.where(group == 1, "b", "a")})
    half = n_rows
    return Task(
        X[:half],
        y[:half],
        A.iloc[:half].reset_index(drop=True),
        X[half:],
        y[half:],
        A.iloc[half:].reset_index(drop=True),
    )


def expected_scores(positive: np.ndarray, y: np.ndarray, groups: np.ndarray, constraint: str) -> tuple[float, float]:
    """Accuracy and constraint violation of randomized predictions, in expectation.

    ``positive`` is each row's probability of a positive prediction (``predict_proba[:, 1]``, or
    0/1 predictions); the violation is the demographic-parity difference (largest gap in selection
    rate between groups) or the equalized-odds difference (the larger gap of the true- and
    false-positive rates).
    """
    positive = np.asarray(positive, dtype=np.float64)
    accuracy = float(np.mean(np.where(y == 1, positive, 1.0 - positive)))
    keys = np.unique(groups)
    if constraint == "demographic_parity":
        rates = [positive[groups == g].mean() for g in keys]
        return accuracy, float(max(rates) - min(rates))
    gaps = []
    for label in (0, 1):
        rates = [positive[(groups == g) & (y == label)].mean() for g in keys]
        gaps.append(max(rates) - min(rates))
    return accuracy, float(max(gaps))


def intersect(frame: pd.DataFrame) -> np.ndarray:
    """One label per row for the intersection of the columns (fairlearn's form of several columns)."""
    return frame.astype(str).agg(",".join, axis=1).to_numpy()
