"""Bad input to the explanations gets one clear error naming the problem and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fairwatch.explain
from fairwatch.exceptions import InvalidInputError, LengthMismatchError, UnknownColumnError, UnknownMetricError
from fairwatch.explain import disparity_importance, find_subgroups, partial_dependence_by_group


def test_exports() -> None:
    assert set(fairwatch.explain.__all__) == {
        "DisparityImportance",
        "ExplanationResult",
        "GroupPartialDependence",
        "GroupShap",
        "SubgroupReport",
        "disparity_importance",
        "find_subgroups",
        "partial_dependence_by_group",
        "shap_by_group",
    }
    for name in fairwatch.explain.__all__:
        assert hasattr(fairwatch.explain, name)


@pytest.fixture
def small(planted):
    return planted.model, planted.X.iloc[:300], planted.y[:300], planted.group[:300]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"metric": "fairness_difference"}, UnknownMetricError, "unknown disparity metric 'fairness_difference'"),
        ({"metric": "demographic_parity"}, UnknownMetricError, "name a difference or a ratio, e.g."),
        ({"metric": "count_difference"}, InvalidInputError, "not a fairness disparity"),
        ({"features": ["nope"]}, UnknownColumnError, "features: 'nope' is not a column of X; columns of X: 'income'"),
        ({"features": []}, InvalidInputError, "features is empty"),
        ({"n_repeats": 0}, InvalidInputError, "n_repeats must be a positive integer"),
        ({"n_jobs": 0}, InvalidInputError, "n_jobs must be None, a positive integer or -1"),
        ({"method": "pairwise"}, InvalidInputError, "method must be 'between_groups' or 'to_overall'"),
        ({"min_group_size": 10_000}, InvalidInputError, "needs at least two groups.*lower min_group_size"),
        ({"random_state": "seed"}, InvalidInputError, "random_state must be None, an int or a numpy Generator"),
    ],
)
def test_importance_parameters(small, kwargs, error, message) -> None:
    model, data, y, group = small
    with pytest.raises(error, match=message):
        disparity_importance(model, data, y, sensitive_features=group, **kwargs)


def test_importance_inputs(small) -> None:
    model, data, y, group = small
    with pytest.raises(InvalidInputError, match="needs the true labels: pass y="):
        disparity_importance(model, data, sensitive_features=group, metric="equalized_odds_difference")
    with pytest.raises(UnknownColumnError, match="sensitive_features: 'sex' is not a column of X"):
        disparity_importance(model, data, y, sensitive_features="sex")
    with pytest.raises(InvalidInputError, match="names columns, but X is a numpy array"):
        disparity_importance(model, data.to_numpy(), y, sensitive_features=["sex"])
    with pytest.raises(LengthMismatchError, match="has 299 values but X has 300 rows"):
        disparity_importance(model, data, y, sensitive_features=group[:-1])
    with pytest.raises(LengthMismatchError, match="y has 299 values but X has 300 rows"):
        disparity_importance(model, data, y[:-1], sensitive_features=group)
    with pytest.raises(InvalidInputError, match="X must be two-dimensional"):
        disparity_importance(model, np.zeros(300), y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match=r"X has column names that are not strings \(\[0, 1\]\)"):
        disparity_importance(model, pd.DataFrame(np.zeros((300, 2))), y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match=r"X must be a dataframe .* or a 2-D numpy array; got list"):
        disparity_importance(model, [[1, 2]], y, sensitive_features=group)


def test_models_without_the_right_methods(small) -> None:
    _, data, y, group = small

    class Nothing:
        pass

    with pytest.raises(InvalidInputError, match=r"model must have predict\(X\).*Nothing has none of them"):
        disparity_importance(Nothing(), data, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match="not the class LogisticRegression; fit it first"):
        from sklearn.linear_model import LogisticRegression

        disparity_importance(LogisticRegression, data, y, sensitive_features=group)

    class ScoresOnly:
        def decision_function(self, data: pd.DataFrame) -> np.ndarray:
            return data["zip_risk"].to_numpy()

    with pytest.raises(InvalidInputError, match="needs predicted labels, but ScoresOnly has no predict method"):
        disparity_importance(ScoresOnly(), data, y, sensitive_features=group)

    class LabelsOnly:
        def predict(self, data: pd.DataFrame) -> np.ndarray:
            return (data["zip_risk"] > 0).astype(int).to_numpy()

    with pytest.raises(InvalidInputError, match="score disparity, but LabelsOnly has neither predict_proba"):
        disparity_importance(LabelsOnly(), data, y, sensitive_features=group, metric="roc_auc_difference")
    with pytest.raises(InvalidInputError, match="response='predict_proba', but LabelsOnly has no predict_proba"):
        partial_dependence_by_group(
            LabelsOnly(), data, sensitive_features=group, feature="income", response="predict_proba"
        )


def test_partial_dependence_parameters(small) -> None:
    model, data, _, group = small
    with pytest.raises(UnknownColumnError, match="feature: 'nope' is not a column of X"):
        partial_dependence_by_group(model, data, sensitive_features=group, feature="nope")
    with pytest.raises(InvalidInputError, match="grid_resolution must be an integer of at least 2"):
        partial_dependence_by_group(model, data, sensitive_features=group, feature="income", grid_resolution=1)
    with pytest.raises(InvalidInputError, match="percentiles must be"):
        partial_dependence_by_group(model, data, sensitive_features=group, feature="income", percentiles=(0.9, 0.1))
    with pytest.raises(InvalidInputError, match="max_rows must be a positive integer or None"):
        partial_dependence_by_group(model, data, sensitive_features=group, feature="income", max_rows=0)
    with pytest.raises(InvalidInputError, match="response must be one of"):
        partial_dependence_by_group(model, data, sensitive_features=group, feature="income", response="proba")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"metric": "fairness"}, UnknownMetricError, "unknown metric 'fairness'"),
        ({"metric": "roc_auc"}, InvalidInputError, "'roc_auc' is not one; use one of: .*selection_rate"),
        ({"min_support": 10**6}, InvalidInputError, "min_support=1000000 rows is more than the 300 rows"),
        ({"min_support": 1.5}, InvalidInputError, r"a share of rows must be in \(0, 1\]"),
        ({"min_support": 0}, InvalidInputError, "min_support must be at least 1 row"),
        ({"min_support": "5%"}, InvalidInputError, "min_support must be a share of rows"),
        ({"alpha": 1.0}, InvalidInputError, "alpha must be strictly between 0 and 1"),
        ({"max_depth": 0}, InvalidInputError, "max_depth must be an integer of at least 1"),
        ({"top": 0}, InvalidInputError, "top must be an integer of at least 1"),
        ({"n_bins": 1}, InvalidInputError, "n_bins must be an integer of at least 2"),
        ({"reference": "rest"}, InvalidInputError, "reference must be 'complement' or 'overall'"),
        ({"direction": "up"}, InvalidInputError, "direction must be 'both', 'higher' or 'lower'"),
    ],
)
def test_subgroup_parameters(small, kwargs, error, message) -> None:
    model, data, y, group = small
    features = pd.DataFrame({"group": group, "income": data["income"].to_numpy()})
    with pytest.raises(error, match=message):
        find_subgroups(y, model.predict(data), features=features, **kwargs)


def test_subgroup_inputs(small) -> None:
    model, data, y, group = small
    pred = model.predict(data)
    with pytest.raises(InvalidInputError, match="false_positive_rate needs y_true"):
        find_subgroups(None, pred, features={"group": group}, metric="false_positive_rate")
    with pytest.raises(InvalidInputError, match="features is required"):
        find_subgroups(y, pred, features=None)
    with pytest.raises(LengthMismatchError, match="inputs must have one value per row"):
        find_subgroups(y, pred, features={"group": group[:-1]})
    with pytest.raises(InvalidInputError, match=r"features\['income'\] has 1 missing value"):
        income = data["income"].to_numpy().copy()
        income[3] = np.nan
        find_subgroups(y, pred, features={"income": income})
