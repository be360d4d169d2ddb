"""GroupStats: additivity, invariance, serialisation and roll-ups (property tests with hypothesis)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fairwatch as fw
from fairwatch.exceptions import IncompatibleStatsError, InvalidInputError
from fairwatch.metrics import GroupStats, group_stats, list_metrics, metric_values, summarize

CONFUSION_METRICS = [m for m in list_metrics("confusion")]
SCORE_METRICS = list(list_metrics("scores"))
REGRESSION_METRICS = list(list_metrics("regression"))


@st.composite
def datasets(draw: Any, min_rows: int = 2, max_rows: int = 60) -> dict[str, np.ndarray]:
    n = draw(st.integers(min_rows, max_rows))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return {
        "y_true": rng.integers(0, 2, n),
        "y_pred": rng.integers(0, 2, n),
        "a": rng.choice(np.array(["x", "y", "z"]), n),
        "b": rng.integers(0, 2, n),
        "w": rng.uniform(0.1, 3.0, n).round(3),
        "s": rng.integers(0, 21, n) / 20.0,
        "yr": rng.normal(size=n),
        "pr": rng.normal(size=n),
    }


def _stats(d: dict[str, np.ndarray], idx: np.ndarray | slice, weighted: bool) -> GroupStats:
    return group_stats(
        d["y_true"][idx],
        d["y_pred"][idx],
        sensitive_features={"a": d["a"][idx], "b": d["b"][idx]},
        scores=d["s"][idx],
        sample_weight=d["w"][idx] if weighted else None,
        metrics=["accuracy", "roc_auc"],
        score_bins=20,
    )


def _assert_same(a: GroupStats, b: GroupStats) -> None:
    assert a.groups == b.groups
    np.testing.assert_allclose(a.n, b.n)
    np.testing.assert_allclose(a.weight, b.weight, atol=1e-9)
    assert a.confusion is not None and b.confusion is not None
    np.testing.assert_allclose(a.confusion, b.confusion, atol=1e-9)
    assert a.scores is not None and b.scores is not None
    for name, values in a.scores.arrays().items():
        np.testing.assert_allclose(values, b.scores.arrays()[name], atol=1e-9)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=datasets(min_rows=4), cut=st.floats(0.1, 0.9), weighted=st.booleans())
def test_merging_two_halves_equals_the_whole(d: dict[str, np.ndarray], cut: float, weighted: bool) -> None:
    n = len(d["y_true"])
    k = max(1, min(n - 1, int(n * cut)))
    whole = _stats(d, slice(None), weighted)
    merged = _stats(d, slice(0, k), weighted) + _stats(d, slice(k, None), weighted)
    _assert_same(merged, whole)


@settings(max_examples=60, deadline=None)
@given(d=datasets(), seed=st.integers(0, 1000), weighted=st.booleans())
def test_permuting_rows_changes_nothing(d: dict[str, np.ndarray], seed: int, weighted: bool) -> None:
    perm = np.random.default_rng(seed).permutation(len(d["y_true"]))
    _assert_same(_stats(d, perm, weighted), _stats(d, slice(None), weighted))


@settings(max_examples=40, deadline=None)
@given(d=datasets(min_rows=4), cut=st.floats(0.1, 0.9))
def test_distinct_score_histograms_merge_exactly(d: dict[str, np.ndarray], cut: float) -> None:
    # score_bins="auto" bins at distinct values; merging takes the union of the values.
    n = len(d["y_true"])
    k = max(1, min(n - 1, int(n * cut)))
    scores = np.round(d["s"] + np.random.default_rng(0).uniform(0, 0.01, n), 4)

    def stats(idx: slice) -> GroupStats:
        return group_stats(
            d["y_true"][idx], None, sensitive_features=d["a"][idx], scores=scores[idx], metrics=["roc_auc"]
        )

    whole, merged = stats(slice(None)), stats(slice(0, k)) + stats(slice(k, None))
    assert merged.scores is not None and whole.scores is not None
    np.testing.assert_array_equal(merged.scores.edges, whole.scores.edges)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(metric_values(merged, "roc_auc"), metric_values(whole, "roc_auc"), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(d=datasets(min_rows=4), cut=st.floats(0.1, 0.9))
def test_regression_moments_merge(d: dict[str, np.ndarray], cut: float) -> None:
    n = len(d["yr"])
    k = max(1, min(n - 1, int(n * cut)))

    def stats(idx: slice) -> GroupStats:
        return group_stats(
            d["yr"][idx],
            d["pr"][idx],
            sensitive_features=d["a"][idx],
            sample_weight=d["w"][idx],
            metrics=["mean_absolute_error"],
        )

    whole, merged = stats(slice(None)), stats(slice(0, k)) + stats(slice(k, None))
    assert merged.regression is not None and whole.regression is not None
    np.testing.assert_allclose(merged.regression, whole.regression, rtol=1e-10, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(d=datasets(min_rows=6), weighted=st.booleans())
def test_disparity_ratio_is_between_zero_and_one(d: dict[str, np.ndarray], weighted: bool) -> None:
    stats = _stats(d, slice(None), weighted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = summarize(stats, CONFUSION_METRICS + ["roc_auc", "brier_score", "expected_calibration_error"])
    for name, disparity in summary.disparities.items():
        if np.isfinite(disparity.ratio):
            assert -1e-12 <= disparity.ratio <= 1 + 1e-12, name
        if np.isfinite(disparity.difference):
            assert disparity.difference >= -1e-12, name


@settings(max_examples=30, deadline=None)
@given(d=datasets(min_rows=2), weighted=st.booleans())
def test_to_dict_round_trip_is_json(d: dict[str, np.ndarray], weighted: bool) -> None:
    stats = _stats(d, slice(None), weighted)
    restored = GroupStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    _assert_same(restored, stats)
    assert restored.sensitive_names == stats.sensitive_names
    assert restored.weighted == stats.weighted


@settings(max_examples=40, deadline=None)
@given(d=datasets(min_rows=2), weighted=st.booleans())
def test_rollup_equals_direct_computation(d: dict[str, np.ndarray], weighted: bool) -> None:
    by_a = group_stats(
        d["y_true"],
        d["y_pred"],
        sensitive_features={"a": d["a"]},
        scores=d["s"],
        sample_weight=d["w"] if weighted else None,
        metrics=["accuracy", "roc_auc"],
        score_bins=20,
    )
    _assert_same(_stats(d, slice(None), weighted).rollup("a"), by_a)


def test_overall_holds_every_row() -> None:
    stats = group_stats([1, 0, 1, 1], [1, 1, 0, 1], sensitive_features=["p", "q", "q", "r"])
    overall = stats.overall()
    assert overall.groups == ((),)
    assert overall.n.tolist() == [4.0]
    assert overall.confusion is not None
    assert overall.confusion[0].tolist() == [[0.0, 1.0], [1.0, 2.0]]


def test_merge_aligns_groups_present_on_one_side_only() -> None:
    a = group_stats([1, 0], [1, 0], sensitive_features=["x", "y"])
    b = group_stats([1, 1], [0, 1], sensitive_features=["y", "z"])
    merged = a + b
    assert merged.groups == (("x",), ("y",), ("z",))
    assert merged.n.tolist() == [1.0, 2.0, 1.0]


def test_merge_rejects_different_features() -> None:
    a = group_stats([1, 0], [1, 0], sensitive_features={"sex": ["F", "M"]})
    b = group_stats([1, 0], [1, 0], sensitive_features={"race": ["A", "B"]})
    with pytest.raises(IncompatibleStatsError, match=r"sensitive features \['sex'\].*\['race'\].*marginal"):
        a.merge(b)


def test_merge_rejects_different_uniform_bins() -> None:
    a = group_stats([1, 0], None, sensitive_features=["x", "y"], scores=[0.2, 0.4], metrics=["roc_auc"], score_bins=10)
    b = group_stats([1, 0], None, sensitive_features=["x", "y"], scores=[0.2, 0.4], metrics=["roc_auc"], score_bins=20)
    with pytest.raises(IncompatibleStatsError, match="same score_bins"):
        a + b


def test_from_dict_rejects_garbage() -> None:
    with pytest.raises(InvalidInputError, match="not a GroupStats dict"):
        GroupStats.from_dict({"groups": []})
    good = group_stats([1, 0], [1, 0], sensitive_features=["x", "y"]).to_dict()
    good["n"] = [1.0]
    with pytest.raises(InvalidInputError, match=r"GroupStats.n has shape \(1,\); expected \(2,\)"):
        GroupStats.from_dict(good)


def test_intersectional_groups_are_observed_combinations_only() -> None:
    stats = group_stats([1, 0, 1], [1, 0, 0], sensitive_features={"sex": ["F", "M", "F"], "race": ["A", "B", "B"]})
    assert stats.groups == (("F", "A"), ("F", "B"), ("M", "B"))
    assert stats.group_label(1) == "sex=F, race=B"


def test_weights_scale_cells() -> None:
    stats = group_stats([1, 1, 0], [1, 0, 0], sensitive_features=["g", "g", "g"], sample_weight=[2.0, 0.5, 1.0])
    assert stats.confusion is not None and stats.confusion_n is not None
    assert stats.confusion[0].tolist() == [[1.0, 0.0], [0.5, 2.0]]
    assert stats.confusion_n[0].tolist() == [[1.0, 0.0], [1.0, 1.0]]
    assert stats.weighted


def test_large_string_input_is_encoded_correctly() -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    sex = rng.choice(np.array(["Female", "Male"], dtype=object), n)
    race = rng.choice(np.array(["A", "B", "C", "D", "E"], dtype=object), n)
    y = rng.integers(0, 2, n)
    stats = fw.group_stats(y, y, sensitive_features={"sex": sex, "race": race})
    assert stats.n_groups == 10
    expected = [int(((sex == s) & (race == r)).sum()) for s, r in stats.groups]
    assert stats.n.tolist() == expected


def test_label_free_proportions_need_every_cell_as_denominator() -> None:
    from fairwatch.metrics import register_proportion

    with pytest.raises(
        InvalidInputError, match=r"label-free proportion 'odd_rate' must have every cell as denominator"
    ):
        register_proportion("odd_rate", ((1, 1),), ((1, 0), (1, 1)), undefined="never", label_free=True)
