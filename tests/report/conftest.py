"""Shared data for the report tests: a small audit with scores, intervals, a suppressed group and a
group name that tries to inject HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fairwatch as fw

from .payloads import XSS, XSS_ATTR


@pytest.fixture(scope="session")
def rows() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 3000
    group = rng.choice(["A", "B", XSS, XSS_ATTR, "tiny"], size=n, p=[0.4, 0.3, 0.15, 0.145, 0.005])
    y = rng.integers(0, 2, n)
    lift = np.where(group == "A", 0.15, 0.0)
    score = np.clip(0.2 * y + 0.6 * rng.random(n) + lift, 0, 1).round(3)
    return pd.DataFrame({"group": group, "y": y, "pred": (score > 0.5).astype(int), "score": score})


@pytest.fixture(scope="session")
def scored_audit(rows: pd.DataFrame) -> fw.Audit:
    return fw.audit(
        "y",
        "pred",
        scores="score",
        sensitive_features="group",
        data=rows,
        metrics=["selection_rate", "true_positive_rate", "false_positive_rate", "roc_auc", "ece"],
        ci=0.95,
        min_group_size=30,
        n_boot=200,
    )
