"""Messages of mitigation and client error paths not covered elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from fairwatch.exceptions import InvalidInputError
from fairwatch.mitigation import BoundedGroupLoss, ExponentiatedGradient, GridSearch, ThresholdOptimizer, pareto_front

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 3))
Y = (X[:, 0] > 0).astype(int)
GROUP = np.array(["a", "b"] * 30)


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        (ExponentiatedGradient(LogisticRegression(), "demographic_parity", eps=1e-9), r"eps=1e-09 is too small"),
        (
            ExponentiatedGradient(LogisticRegression(), "demographic_parity", gap_check="never"),
            r"gap_check must be 'lazy' or 'exact'; got 'never'",
        ),
        (
            GridSearch(LogisticRegression(), "demographic_parity", selection_rule="best"),
            r"selection_rule must be 'tradeoff_optimization' \(the only rule\); got 'best'",
        ),
    ],
)
def test_reduction_parameters(estimator: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        estimator.fit(X, Y, sensitive_features=GROUP)  # type: ignore[attr-defined]


def test_zero_weights() -> None:
    optimizer = ThresholdOptimizer(LogisticRegression(), constraints="demographic_parity")
    with pytest.raises(InvalidInputError, match=r"sample_weight sums to zero; give some rows a positive weight"):
        optimizer.fit(X, Y, sensitive_features=GROUP, sample_weight=np.zeros(60))


def test_bounded_group_loss_bound() -> None:
    with pytest.raises(InvalidInputError, match=r"upper_bound must be a non-negative number \(a mean loss\)"):
        BoundedGroupLoss(upper_bound=-1.0)


def test_empty_objectives() -> None:
    with pytest.raises(InvalidInputError, match=r"objectives must be a non-empty list"):
        pareto_front({"a": Y}, None, Y, sensitive_features=GROUP, objectives=[])


def test_client_model_version_type() -> None:
    from fairwatch.client import Client

    with (
        Client("http://127.0.0.1:9", "key") as client,
        pytest.raises(InvalidInputError, match=r"model_version must be a str; got int"),
    ):
        client.log_predictions([], model="m", model_version=3)  # type: ignore[arg-type]
