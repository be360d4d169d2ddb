"""Shared data for the oracle tests: the bundled Adult data scored by a fixed model, and seeded
synthetic data with unbalanced (and intersectional) groups.

Every fixture returns a plain pandas DataFrame so the test modules need nothing from here but the
fixture names. Columns:

* binary data: the sensitive columns, ``y_true`` and ``y_pred`` (0/1), ``score`` (probability of
  the positive class) and ``weight`` (a strictly positive or non-negative sample weight);
* regression data: the sensitive columns, ``y_true``, ``y_pred`` (positive floats) and ``weight``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd
import pytest

#: Seeds of the synthetic data sets; each seed also fixes the number of rows and the weight scheme.
SYNTHETIC_SEEDS = (0, 1, 2)
_SYNTHETIC_ROWS = {0: 2_000, 1: 4_000, 2: 8_000}

#: Synthetic groups and their shares: deliberately unbalanced (the smallest is 4% of the rows).
_GROUPS = np.array(["a", "b", "c", "d"])
_GROUP_SHARES = np.array([0.56, 0.28, 0.12, 0.04])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _weights(rng: np.random.Generator, n: int, seed: int) -> np.ndarray:
    """Exponential (strictly positive) weights for even seeds, integer weights 0-3 (with zeros)
    for odd seeds."""
    if seed % 2 == 0:
        return rng.exponential(1.0, size=n)
    return rng.integers(0, 4, size=n).astype(np.float64)


@cache
def _synthetic_binary(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = _SYNTHETIC_ROWS[seed]
    group_index = rng.choice(len(_GROUPS), size=n, p=_GROUP_SHARES)
    flag = (rng.random(n) < 0.3).astype(np.int64)
    base_logit = np.array([-0.8, -0.3, 0.2, -1.2])[group_index] + 0.4 * flag
    y_true = (rng.random(n) < _sigmoid(base_logit)).astype(np.int64)
    # A noisy score whose quality differs by group; rounded to 3 decimals so that there are ties.
    signal = np.array([2.0, 1.5, 1.0, 0.7])[group_index]
    score = np.round(_sigmoid(base_logit + signal * (y_true - 0.5) + rng.normal(0.0, 1.0, n)), 3)
    threshold = np.array([0.5, 0.45, 0.55, 0.5])[group_index]
    return pd.DataFrame(
        {
            "group": _GROUPS[group_index],
            "flag": flag,
            "y_true": y_true,
            "y_pred": (score >= threshold).astype(np.int64),
            "score": score,
            "weight": _weights(rng, n, seed),
        }
    )


@cache
def _synthetic_regression(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(1_000 + seed)
    n = _SYNTHETIC_ROWS[seed]
    group_index = rng.choice(len(_GROUPS), size=n, p=_GROUP_SHARES)
    flag = (rng.random(n) < 0.3).astype(np.int64)
    y_true = 20.0 + np.array([0.0, 3.0, -2.0, 5.0])[group_index] + 2.0 * flag + rng.gamma(2.0, 2.0, n)
    bias = np.array([0.0, -1.0, 0.5, 2.0])[group_index]
    noise = rng.normal(0.0, np.array([1.0, 2.0, 1.5, 3.0])[group_index])
    return pd.DataFrame(
        {
            "group": _GROUPS[group_index],
            "flag": flag,
            "y_true": y_true,
            "y_pred": np.clip(y_true + bias + noise, 1.0, None),
            "weight": _weights(rng, n, seed),
        }
    )


@pytest.fixture(scope="session")
def synthetic_binary() -> Callable[[int], pd.DataFrame]:
    """``seed -> DataFrame`` of synthetic binary-classification data (cached per seed)."""
    return _synthetic_binary


@pytest.fixture(scope="session")
def synthetic_regression() -> Callable[[int], pd.DataFrame]:
    """``seed -> DataFrame`` of synthetic regression data (cached per seed)."""
    return _synthetic_regression


@pytest.fixture(scope="session")
def adult_predictions() -> pd.DataFrame:
    """The test split (30%) of the bundled Adult data scored by a logistic regression trained on
    the rest, once per test session.

    Columns: ``sex``, ``race``, ``y_true`` (income > 50K), ``y_pred`` (score >= 0.5), ``score``
    and ``weight`` (the census weight ``fnlwgt``, scaled to mean 1).
    """
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from fairwatch.datasets import load_adult

    df = load_adult()
    y = (df["income"] == ">50K").astype(np.int64).to_numpy()
    X = df.drop(columns=["income"])
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    model = make_pipeline(
        make_column_transformer(
            (
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")
                ),
                categorical,
            ),
            (StandardScaler(), numeric),
        ),
        LogisticRegression(max_iter=1_000),
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    model.fit(X_train, y_train)
    score = model.predict_proba(X_test)[:, 1]
    weight = X_test["fnlwgt"].to_numpy(dtype=np.float64)
    return pd.DataFrame(
        {
            "sex": X_test["sex"].to_numpy(dtype=object),
            "race": X_test["race"].to_numpy(dtype=object),
            "y_true": y_test,
            "y_pred": (score >= 0.5).astype(np.int64),
            "score": score,
            "weight": weight / weight.mean(),
        }
    )
