"""disparity_importance: the planted proxy ranks first; numbers agree with fairwatch.metrics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fairwatch as fw
from fairwatch.explain import DisparityImportance, disparity_importance
from fairwatch.explain._disparity import replicated_stats
from fairwatch.frames._columns import Column
from fairwatch.frames._encode import encode_groups


def test_planted_proxy_ranks_first_for_demographic_parity(planted) -> None:
    result = disparity_importance(
        planted.model, planted.X, planted.y, sensitive_features=planted.group, n_repeats=3, random_state=0
    )
    assert isinstance(result, DisparityImportance)
    assert result.ranking[0] == "zip_risk"
    frame = result.to_frame()
    top = frame.iloc[0]
    # shuffling the proxy closes most of the gap; the other features barely move it
    assert top["importance"] > 0.5 * result.baseline
    assert frame.set_index("feature").loc[["income", "noise"], "importance"].abs().max() < 0.05
    # income drives accuracy, not the gap
    perf = frame.set_index("feature")["performance_change"]
    assert perf["income"] < -0.05
    assert result.performance_metric == "accuracy"


def test_baseline_equals_fairwatch_metrics(planted) -> None:
    pred = planted.model.predict(planted.X)
    for metric, function in (
        ("demographic_parity_difference", fw.metrics.demographic_parity_difference),
        ("equalized_odds_difference", fw.metrics.equalized_odds_difference),
        ("equal_opportunity_ratio", fw.metrics.equal_opportunity_ratio),
    ):
        result = disparity_importance(
            planted.model,
            planted.X,
            planted.y,
            sensitive_features=planted.group,
            metric=metric,
            n_repeats=1,
            features=["noise"],
            random_state=0,
        )
        expected = function(planted.y, pred, sensitive_features=planted.group)
        assert result.baseline == pytest.approx(expected, abs=1e-12)


def test_planted_proxy_ranks_first_for_equalized_odds(planted) -> None:
    result = disparity_importance(
        planted.model,
        planted.X,
        planted.y,
        sensitive_features=planted.group,
        metric="equalized_odds_difference",
        n_repeats=2,
        random_state=1,
    )
    assert result.ranking[0] == "zip_risk"


def test_score_disparity_uses_probabilities(planted) -> None:
    result = disparity_importance(
        planted.model,
        planted.X,
        planted.y,
        sensitive_features=planted.group,
        metric="mean_score_difference",
        n_repeats=2,
        random_state=0,
    )
    proba = planted.model.predict_proba(planted.X)[:, 1]
    means = pd.Series(proba).groupby(planted.group).mean()
    assert result.baseline == pytest.approx(means.max() - means.min(), abs=1e-12)
    assert result.ranking[0] == "zip_risk"
    assert result.performance_metric == "roc_auc"


def test_unused_feature_changes_nothing_exactly(planted) -> None:
    class IgnoresNoise:
        def predict(self, data: pd.DataFrame) -> np.ndarray:
            return planted.model.predict(data.assign(noise=0.0))

    result = disparity_importance(
        IgnoresNoise(), planted.X, planted.y, sensitive_features=planted.group, n_repeats=3, features=["noise"]
    )
    assert np.all(result.importances == 0.0)
    assert np.all(result.performance_changes == 0.0)


def test_same_seed_same_result_across_backends_and_threads(planted) -> None:
    kwargs = {"sensitive_features": planted.group, "n_repeats": 2, "random_state": 3}
    base = disparity_importance(planted.model, planted.X, planted.y, **kwargs)
    threaded = disparity_importance(planted.model, planted.X, planted.y, n_jobs=2, **kwargs)
    np.testing.assert_array_equal(base.importances, threaded.importances)

    class PolarsModel:
        def predict(self, data: pl.DataFrame) -> np.ndarray:
            assert isinstance(data, pl.DataFrame)
            return planted.model.predict(data.to_pandas())

    as_polars = disparity_importance(PolarsModel(), pl.from_pandas(planted.X), planted.y, **kwargs)
    np.testing.assert_array_equal(base.importances, as_polars.importances)


def test_numpy_x_and_sensitive_column_of_x(planted) -> None:
    data = planted.X.assign(group=planted.group)

    class DropsGroup:
        def predict(self, data: pd.DataFrame) -> np.ndarray:
            return planted.model.predict(data.drop(columns="group"))

    by_name = disparity_importance(DropsGroup(), data, sensitive_features="group", n_repeats=2, random_state=0)
    assert by_name.ranking[0] == "zip_risk"
    assert by_name.sensitive_names == ["group"]

    class ArrayModel:
        def predict(self, data: np.ndarray) -> np.ndarray:
            return planted.model.predict(pd.DataFrame(data, columns=planted.X.columns))

    arrays = disparity_importance(
        ArrayModel(), planted.X.to_numpy(), sensitive_features=planted.group, n_repeats=2, random_state=0
    )
    assert arrays.ranking[0] == "x2"  # zip_risk is the third column


def test_batching_splits_large_inputs(planted, monkeypatch) -> None:
    import fairwatch.explain._model as model_module

    calls: list[int] = []
    original = planted.model.predict

    class Counting:
        def predict(self, data: pd.DataFrame) -> np.ndarray:
            calls.append(len(data))
            return original(data)

    monkeypatch.setattr(model_module, "BATCH_ROWS", 2 * len(planted.X))
    small = disparity_importance(
        Counting(), planted.X, sensitive_features=planted.group, n_repeats=5, features=["zip_risk"], random_state=0
    )
    assert calls == [3000, 6000, 6000, 3000]  # baseline, then 5 copies in batches of 2
    monkeypatch.undo()
    calls.clear()
    whole = disparity_importance(
        Counting(), planted.X, sensitive_features=planted.group, n_repeats=5, features=["zip_risk"], random_state=0
    )
    assert calls == [3000, 15000]
    np.testing.assert_array_equal(small.importances, whole.importances)


def test_result_protocol(planted) -> None:
    result = disparity_importance(
        planted.model, planted.X, planted.y, sensitive_features=planted.group, n_repeats=2, random_state=0
    )
    assert "demographic_parity_difference" in result.title
    assert "Permutation importance" in result.description
    data = json.loads(json.dumps(result.to_dict()))
    assert data["rows"][0]["feature"] == "zip_risk"
    assert data["baseline"] == pytest.approx(result.baseline)
    assert "zip_risk" in repr(result)
    assert "<table" in result._repr_html_()


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=0, max_value=2**31),
)
def test_replicated_stats_equal_direct_stats(repeats: int, n: int, seed: int) -> None:
    """Each replicate of the one-bincount statistics equals group_stats of that prediction vector."""
    rng = np.random.default_rng(seed)
    groups = rng.choice(np.array(["a", "b", "c"]), n)
    y = rng.integers(0, 2, n)
    preds = rng.integers(0, 2, (repeats, n))
    codes, keys = encode_groups([Column("g", groups)])
    stats = replicated_stats(codes, keys, ["g"], y_true=y, y_pred=preds, scores=None, regression=False)
    for r in range(repeats):
        direct = fw.group_stats(y, preds[r], sensitive_features={"g": groups}, pos_label=1)
        assert direct.groups == stats.groups
        np.testing.assert_array_equal(stats.confusion[r], direct.confusion)
        np.testing.assert_array_equal(stats.n[r], direct.n)


def test_to_overall_and_min_group_size(planted) -> None:
    pred = planted.model.predict(planted.X)
    result = disparity_importance(
        planted.model, planted.X, sensitive_features=planted.group, method="to_overall", n_repeats=1, features=["noise"]
    )
    expected = fw.metrics.demographic_parity_difference(
        None, pred, sensitive_features=planted.group, method="to_overall"
    )
    assert result.baseline == pytest.approx(expected, abs=1e-12)
    # a third, tiny group is left out of the disparity by min_group_size
    group = planted.group.copy()
    group[:5] = "tiny"
    kept = group != "tiny"
    with_min = disparity_importance(
        planted.model, planted.X, sensitive_features=group, min_group_size=10, n_repeats=1, features=["noise"]
    )
    rates = pd.Series(pred[kept]).groupby(group[kept]).mean()
    assert with_min.baseline == pytest.approx(rates.max() - rates.min(), abs=1e-12)
    assert with_min.groups == [("a",), ("b",)]


def test_regression_disparity(planted) -> None:
    from sklearn.linear_model import LinearRegression

    target = planted.X["zip_risk"].to_numpy() * 2.0 + planted.X["income"].to_numpy()
    model = LinearRegression().fit(planted.X, target)
    result = disparity_importance(
        model,
        planted.X,
        target + np.random.default_rng(0).normal(size=len(target)),
        sensitive_features=planted.group,
        metric="mean_prediction_difference",
        n_repeats=2,
        random_state=0,
    )
    means = pd.Series(model.predict(planted.X)).groupby(planted.group).mean()
    assert result.baseline == pytest.approx(means.max() - means.min())
    assert result.ranking[0] == "zip_risk"
    assert result.performance_metric == "mean_absolute_error"
    with pytest.raises(fw.exceptions.InvalidInputError, match="y must hold the true labels"):
        disparity_importance(model, planted.X, "label", sensitive_features=planted.group)


def test_group_aware_model_gets_the_groups_of_each_row(planted) -> None:
    class GroupAware:
        """Predicts from the sensitive feature only (like a post-processor with group thresholds)."""

        def predict(self, data: pd.DataFrame, sensitive_features: pd.DataFrame) -> np.ndarray:
            assert len(sensitive_features) == len(data)
            return (sensitive_features.iloc[:, 0].to_numpy() == "a").astype(int)

    result = disparity_importance(GroupAware(), planted.X, sensitive_features=planted.group, n_repeats=3)
    assert result.baseline == 1.0
    assert np.all(result.importances == 0.0)  # shuffling X changes nothing; every copy got its own rows' groups
