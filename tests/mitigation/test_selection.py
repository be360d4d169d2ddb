"""pareto_front and compare_models: dominance on hand-made sets, scores equal to fairwatch's metrics,
intervals, the tidy table, and a self-contained HTML plot."""

from __future__ import annotations

import re
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from fairwatch.exceptions import InvalidInputError, MissingDependencyError, UnknownMetricError
from fairwatch.metrics import demographic_parity_difference, equalized_odds_difference
from fairwatch.mitigation import compare_models, pareto_front
from fairwatch.mitigation._selection import _dominated

# Eight rows, two groups, repeated ten times (40 rows per group: above the default minimum group
# size of 30, which would suppress 4-row groups); each candidate is a vector of predictions with a
# known accuracy and demographic-parity difference (selection rate of a minus selection rate of b).
REPEATS = 10


def _rows(values: list[int]) -> np.ndarray:
    """Eight hand-made values, repeated: the same rates and gaps on groups large enough to compare."""
    return np.tile(np.array(values), REPEATS)


Y = _rows([1, 0, 1, 0, 1, 0, 1, 0])
GROUP = np.tile(np.array(["a", "a", "a", "a", "b", "b", "b", "b"]), REPEATS)
CANDIDATES = {
    "perfect": Y.copy(),  # accuracy 1.00, gap 0.00
    "all_positive": _rows([1] * 8),  # 0.50, 0.00 -> dominated by perfect
    "unfair": _rows([1, 1, 1, 1, 0, 0, 0, 0]),  # 0.50, 1.00 -> dominated
    "one_miss": _rows([1, 0, 1, 1, 1, 0, 1, 0]),  # 0.875, 0.25 -> dominated by perfect
}


def test_the_perfect_model_dominates_everything() -> None:
    front = pareto_front(CANDIDATES, None, Y, sensitive_features=GROUP)
    assert front.names == ["perfect"]
    assert front.all_scores["dominated"].to_dict() == {
        "perfect": False,
        "all_positive": True,
        "unfair": True,
        "one_miss": True,
    }
    assert front.all_scores.loc["one_miss", "accuracy"] == pytest.approx(0.875)
    assert front.all_scores.loc["one_miss", "demographic_parity_difference"] == pytest.approx(0.25)


def test_a_trade_off_keeps_every_non_dominated_model_sorted_by_the_first_objective() -> None:
    trade_off = {
        "accurate_unfair": _rows([1, 0, 1, 0, 1, 0, 0, 0]),  # 0.875, gap 0.25
        "fair_less_accurate": _rows([1, 0, 0, 0, 1, 0, 0, 0]),  # 0.75, gap 0.00
        "worse_on_both": _rows([1, 1, 0, 0, 0, 0, 0, 0]),  # 0.625, gap 0.50
        "tie_of_fair": _rows([0, 0, 1, 0, 0, 0, 1, 0]),  # 0.75, gap 0.00 (same scores: kept)
    }
    front = pareto_front(trade_off, None, Y, sensitive_features=GROUP)
    assert front.names[0] == "accurate_unfair"
    assert set(front.names) == {"accurate_unfair", "fair_less_accurate", "tie_of_fair"}
    assert "worse_on_both" not in front
    assert len(front) == 3
    assert list(front.scores.columns) == ["accuracy", "demographic_parity_difference"]
    assert "3 of 4 models" in repr(front)


def test_directions_ratios_and_more_than_two_objectives() -> None:
    trade_off = {
        "a": _rows([1, 0, 1, 0, 1, 0, 0, 0]),
        "b": _rows([1, 0, 0, 0, 1, 0, 0, 0]),
        "c": _rows([1, 1, 1, 1, 1, 1, 1, 1]),
    }
    # a: accuracy 0.875, parity ratio 0.5; b: 0.75, 1.0; c (all positive): 0.5, 1.0 -> beaten by b
    ratio = pareto_front(
        trade_off, None, Y, sensitive_features=GROUP, objectives=["accuracy", "demographic_parity_ratio"]
    )
    assert ratio.names == ["a", "b"]
    assert ratio.all_scores.loc["c", "demographic_parity_ratio"] == pytest.approx(1.0)
    assert bool(ratio.all_scores.loc["c", "dominated"])
    # an explicit direction: preferring a *higher* selection rate makes the all-positive model optimal
    direction = pareto_front(trade_off, None, Y, sensitive_features=GROUP, objectives=[("selection_rate", "max")])
    assert direction.names == ["c"]
    # error rate is minimised by default, the true-positive-rate difference too
    three = pareto_front(
        trade_off,
        None,
        Y,
        sensitive_features=GROUP,
        objectives=["error_rate", "true_positive_rate_difference", "equalized_odds_difference"],
    )
    assert [o.direction for o in three.objectives] == ["min", "min", "min"]
    assert three.names == ["a", "b"]


def test_dominance_rule() -> None:
    values = np.array([[0.9, 0.1], [0.8, 0.1], [0.9, 0.1], [0.7, 0.0], [np.nan, 0.0]])
    dominated = _dominated(values, ["max", "min"])
    # row 1 is beaten by row 0; rows 0 and 2 tie (neither dominates); row 3 has the best gap;
    # a missing score counts as the worst possible
    assert dominated.tolist() == [False, True, False, False, True]


def test_scores_equal_fairwatch_metrics_and_models_are_called() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    group = np.where(X[:, 0] + rng.normal(size=400) > 0, "u", "v")
    y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    models = [LogisticRegression(C=c).fit(X, y) for c in (0.001, 1.0)]
    front = pareto_front(
        models, X, y, sensitive_features=group, objectives=("accuracy", "equalized_odds_difference", "roc_auc")
    )
    scores = front.all_scores
    assert list(scores.index) == ["model_0", "model_1"]
    for name, model in zip(scores.index, models):
        predictions = model.predict(X)
        assert scores.loc[name, "accuracy"] == pytest.approx(np.mean(predictions == y))
        assert scores.loc[name, "equalized_odds_difference"] == pytest.approx(
            equalized_odds_difference(y, predictions, sensitive_features=group)
        )
    assert scores["roc_auc"].between(0.5, 1.0).all()


class GroupAware:
    """A model whose predict needs the sensitive features (like ThresholdOptimizer)."""

    def predict(self, X: Any, *, sensitive_features: Any) -> np.ndarray:  # noqa: N803
        return (np.asarray(sensitive_features) == "a").astype(int)


def test_group_aware_models_get_the_sensitive_features() -> None:
    front = pareto_front({"aware": GroupAware(), "perfect": Y}, np.zeros((Y.size, 1)), Y, sensitive_features=GROUP)
    assert front.all_scores.loc["aware", "demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(Y, (GROUP == "a").astype(int), sensitive_features=GROUP)
    )


def test_intervals_when_asked() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 600)
    group = rng.choice(np.array(["a", "b"]), 600)
    candidates = {f"m{i}": np.where(rng.random(600) < 0.1 * (i + 1), 1 - y, y) for i in range(4)}
    front = pareto_front(candidates, None, y, sensitive_features=group, ci=0.95)
    scores = front.all_scores
    for objective in ("accuracy", "demographic_parity_difference"):
        assert (scores[f"{objective}_lo"] <= scores[objective] + 1e-12).all()
        assert (scores[objective] <= scores[f"{objective}_hi"] + 1e-12).all()
    assert front.names[0] == "m0"  # 10 % flipped is the most accurate; the others trade accuracy for gaps


def test_bad_input() -> None:
    with pytest.raises(UnknownMetricError, match="unknown objective 'acuracy'"):
        pareto_front(CANDIDATES, None, Y, sensitive_features=GROUP, objectives=["acuracy"])
    with pytest.raises(UnknownMetricError, match="neither a named disparity"):
        pareto_front(CANDIDATES, None, Y, sensitive_features=GROUP, objectives=["fairness_difference"])
    with pytest.raises(InvalidInputError, match="models is empty"):
        pareto_front({}, None, Y, sensitive_features=GROUP)
    with pytest.raises(InvalidInputError, match="models must be a dict"):
        pareto_front(LogisticRegression(), None, Y, sensitive_features=GROUP)
    with pytest.raises(InvalidInputError, match="non-empty list"):
        pareto_front(CANDIDATES, None, Y, sensitive_features=GROUP, objectives="accuracy")
    with pytest.raises(InvalidInputError, match="'max' or 'min'"):
        pareto_front(CANDIDATES, None, Y, sensitive_features=GROUP, objectives=[("accuracy", "up")])
    with pytest.raises(InvalidInputError, match=r"model 'aware' \(GroupAware\) has no predict_proba; pass its scores"):
        pareto_front(
            {"aware": GroupAware()}, np.zeros((Y.size, 1)), Y, sensitive_features=GROUP, objectives=["roc_auc"]
        )
    with pytest.raises(InvalidInputError, match="sensitive_features is required"):
        pareto_front(CANDIDATES, None, Y, sensitive_features=None)


# -- compare_models ------------------------------------------------------------------------------
def test_compare_models_table_is_tidy() -> None:
    comparison = compare_models(CANDIDATES, None, Y, sensitive_features=GROUP, ci=0.9)
    table = comparison.table
    assert list(table.columns) == ["model", "objective", "direction", "value", "lo", "hi", "on_front"]
    assert len(table) == len(CANDIDATES) * 2
    assert set(table.loc[table["on_front"], "model"]) == {"perfect"}
    assert table.set_index(["model", "objective"]).loc[("unfair", "demographic_parity_difference"), "value"] == 1.0
    assert (table["lo"] <= table["value"] + 1e-12).all()
    assert comparison.front.names == ["perfect"]


def _script_sources(page: str) -> list[str]:
    return re.findall(r"<script[^>]*\bsrc\s*=\s*[\"']?([^\"' >]+)", page, flags=re.IGNORECASE)


def test_figure_and_self_contained_html(tmp_path: Any) -> None:
    comparison = compare_models(CANDIDATES, None, Y, sensitive_features=GROUP, title="Hand-made")
    figure = comparison.figure
    names = {trace.name for trace in figure.data}
    assert names == {"Pareto front", "dominated"}
    front_trace = next(trace for trace in figure.data if trace.name == "Pareto front")
    assert list(front_trace.text) == ["perfect"]
    assert "higher is better" in figure.layout.yaxis.title.text
    assert "lower is better" in figure.layout.xaxis.title.text

    path = tmp_path / "comparison.html"
    page = comparison.to_html(path)
    assert path.read_text(encoding="utf-8") == page
    assert "Hand-made" in page and "perfect" in page
    assert _script_sources(page) == []  # plotly.js is inlined: no CDN, nothing fetched
    assert not re.search(r"<script[^>]*src=[\"']?https?://", page)
    assert not re.search(r"<link[^>]*href=[\"']?https?://[^>]*cdn\.", page)
    assert "Plotly.newPlot" in page


def test_figure_without_plotly_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    comparison = compare_models(CANDIDATES, None, Y, sensitive_features=GROUP)
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'fairwatch\[report\]'"):
        _ = comparison.figure
    assert isinstance(comparison.table, pd.DataFrame)  # the numbers need no plotly


def test_groups_under_the_minimum_size_are_left_out_and_reported() -> None:
    """compare_models and pareto_front suppress small groups by default, as fairwatch.audit does
    (issue 22, item 3): a 4-row group takes no part in the disparity objectives."""
    y = np.concatenate([Y, [1, 0, 1, 0]])
    group = np.concatenate([GROUP, ["tiny"] * 4])
    unfair_to_tiny = np.concatenate([Y, [0, 0, 0, 0]])
    front = pareto_front({"m": unfair_to_tiny}, None, y, sensitive_features=group)
    assert front.all_scores.loc["m", "demographic_parity_difference"] == pytest.approx(0.0)
    assert front.min_group_size == 30
    assert front.suppressed == {"sensitive_feature_0=tiny": 4}
    assert front.suppressed_share == pytest.approx(4 / 84)
    every = pareto_front({"m": unfair_to_tiny}, None, y, sensitive_features=group, min_group_size=0)
    assert every.all_scores.loc["m", "demographic_parity_difference"] == pytest.approx(0.5)


def test_score_objectives_for_models_given_as_predictions() -> None:
    """A model given as predictions gets its scores from scores= (issue 22, item 6)."""
    proba = np.where(Y == 1, 0.8, 0.3)
    with pytest.raises(InvalidInputError) as raised:
        compare_models({"p": Y}, None, Y, sensitive_features=GROUP, objectives=["roc_auc"])
    assert str(raised.value) == (
        "objective roc_auc needs scores, but model 'p' is given as predictions; pass its scores "
        "(--score p=COLUMN, or scores={'p': ...} in Python)"
    )
    comparison = compare_models(
        {"p": Y}, None, Y, sensitive_features=GROUP, objectives=["roc_auc"], scores={"p": proba}
    )
    assert comparison.front.all_scores.loc["p", "roc_auc"] == pytest.approx(1.0)
    with pytest.raises(InvalidInputError, match=r"scores names model 'q', which is not among the models \('p'\)"):
        compare_models({"p": Y}, None, Y, sensitive_features=GROUP, objectives=["roc_auc"], scores={"q": proba})


def test_comparison_to_dict_is_json() -> None:
    import json

    comparison = compare_models(CANDIDATES, None, Y, sensitive_features=GROUP, ci=0.9)
    data = json.loads(json.dumps(comparison.to_dict()))
    assert data["front"] == ["perfect"]
    assert data["ci"] == 0.9
    unfair = next(m for m in data["models"] if m["model"] == "unfair")
    assert unfair["on_front"] is False
    assert unfair["scores"]["demographic_parity_difference"]["value"] == 1.0
    assert set(unfair["scores"]["accuracy"]) == {"value", "lo", "hi"}
