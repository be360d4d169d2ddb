"""fairwatch.audit: tables, suppression, checks, marginal views and the JSON shape."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import fairwatch as fw


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 4000
    sex = rng.choice(np.array(["F", "M"]), n, p=[0.4, 0.6])
    race = rng.choice(np.array(["A", "B", "C", "D"]), n, p=[0.6, 0.25, 0.14, 0.01])
    y = rng.integers(0, 2, n)
    score = np.clip(0.35 * y + 0.1 * (sex == "M") + rng.uniform(0, 0.55, n), 0, 1)
    return pd.DataFrame(
        {
            "sex": sex,
            "race": race,
            "y": y,
            "pred": (score > 0.5).astype(int),
            "score": score,
            "w": rng.uniform(0.5, 2, n),
        }
    )


def _audit(frame: Any, **kwargs: Any) -> fw.Audit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fw.exceptions.UndefinedMetricWarning)
        return fw.audit("y", "pred", sensitive_features=["sex", "race"], scores="score", data=frame, **kwargs)


def test_by_group_is_tidy_and_in_the_callers_library(frame: pd.DataFrame) -> None:
    audit = _audit(frame, ci=0.95)
    table = audit.by_group
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["sex", "race", "metric", "value", "lo", "hi", "n", "suppressed"]
    assert len(table) == audit.stats.n_groups * len(audit.metrics)
    row = table[(table.sex == "F") & (table.race == "A") & (table.metric == "selection_rate")].iloc[0]
    sub = frame[(frame.sex == "F") & (frame.race == "A")]
    assert row["value"] == pytest.approx(sub.pred.mean(), abs=1e-12)
    assert row["n"] == len(sub)
    assert row["lo"] < row["value"] < row["hi"]


def test_polars_in_polars_out(frame: pd.DataFrame) -> None:
    pl = pytest.importorskip("polars")
    audit = _audit(pl.from_pandas(frame))
    assert isinstance(audit.by_group, pl.DataFrame)
    assert isinstance(audit.disparities(), pl.DataFrame)
    reference = _audit(frame)
    for name in audit.metrics:
        np.testing.assert_allclose(audit.summary.values[name], reference.summary.values[name], atol=1e-12)


def test_pyarrow_in_pyarrow_out(frame: pd.DataFrame) -> None:
    pa = pytest.importorskip("pyarrow")
    audit = _audit(pa.Table.from_pandas(frame))
    assert isinstance(audit.by_group, pa.Table)


def test_arrays_give_pandas(frame: pd.DataFrame) -> None:
    audit = fw.audit(frame.y.to_numpy(), frame.pred.to_numpy(), sensitive_features=frame.sex.to_numpy())
    assert isinstance(audit.by_group, pd.DataFrame)
    assert audit.sensitive_features == ("sensitive_feature_0",)


def test_named_series_keep_their_names(frame: pd.DataFrame) -> None:
    audit = fw.audit(frame.y, frame.pred, sensitive_features=frame[["sex", "race"]])
    assert audit.sensitive_features == ("sex", "race")
    audit = fw.audit(frame.y, frame.pred, sensitive_features={"gender": frame.sex.to_numpy()})
    assert audit.sensitive_features == ("gender",)


def test_suppressed_groups_are_reported_not_dropped(frame: pd.DataFrame) -> None:
    audit = _audit(frame, min_group_size=30)
    data = audit.to_dict()
    small = [g for g in data["groups"] if g["n"] < 30]
    assert small, "the fixture has small D groups"
    assert all(g["suppressed"] for g in small)
    assert all(m["value"] is None for g in small for m in g["metrics"].values())
    assert data["suppressed_share"] == pytest.approx(sum(g["n"] for g in small) / len(frame))
    table = audit.by_group
    assert table[table.suppressed]["value"].isna().all()
    # suppressed groups never drive a disparity
    for d in data["disparities"].values():
        for side in ("max_group", "min_group"):
            if d[side] is not None:
                assert d[side]["race"] != "D"


def test_to_dict_is_json_with_the_documented_keys(frame: pd.DataFrame) -> None:
    audit = _audit(frame, ci=0.9, min_group_size=30)
    audit.check("demographic_parity_ratio >= 0.8")
    data = json.loads(json.dumps(audit.to_dict()))
    assert {"n", "sensitive_features", "groups", "disparities", "checks", "suppressed_share"} <= set(data)
    assert data["n"] == len(frame)
    group = data["groups"][0]
    assert set(group) >= {"group", "n", "suppressed", "metrics"}
    assert set(group["metrics"]["selection_rate"]) == {"value", "lo", "hi"}
    assert {"difference", "ratio"} <= set(data["disparities"]["demographic_parity"])
    assert data["checks"][0]["expression"] == "demographic_parity_ratio >= 0.8"


def test_checks(frame: pd.DataFrame) -> None:
    audit = _audit(frame, ci=0.95)
    dp = audit.summary.disparities["demographic_parity"]
    passing, failing, percent, worst = audit.check(
        f"demographic_parity_ratio >= {dp.ratio - 0.01}",
        f"demographic_parity_difference < {dp.difference - 0.01}",
        "accuracy_min >= 50%",
        "tpr_min > 0",
    )
    assert passing.passed and not failing.passed
    assert passing.value == pytest.approx(dp.ratio)
    # _min/_max checks skip suppressed groups (F x D has fewer than the default 30 rows)
    reported = audit.summary.values["accuracy"][~audit.summary.suppressed]
    assert audit.summary.suppressed.any()
    assert percent.value == pytest.approx(np.nanmin(reported))
    assert worst.passed
    assert not audit.passed()
    assert len(audit.to_dict()["checks"]) == 4


def test_marginal_view_equals_a_single_feature_audit(frame: pd.DataFrame) -> None:
    marginal = _audit(frame).marginal("sex")
    direct = fw.audit("y", "pred", sensitive_features="sex", scores="score", data=frame)
    for name in direct.metrics:
        np.testing.assert_allclose(marginal.summary.values[name], direct.summary.values[name], atol=1e-12)


def test_reference_group_disparities(frame: pd.DataFrame) -> None:
    audit = fw.audit("y", "pred", sensitive_features="race", data=frame, reference="A", metrics=["selection_rate"])
    rates = audit.summary.values["selection_rate"]
    d = audit.summary.disparities["demographic_parity"]
    assert d.method == "reference"
    assert d.difference == pytest.approx(np.max(np.abs(rates[1:] - rates[0])))
    assert d.ratio == pytest.approx(np.min(rates[1:] / rates[0]))  # group / reference: directional


def test_to_overall_disparities(frame: pd.DataFrame) -> None:
    audit = fw.audit(
        "y", "pred", sensitive_features="race", data=frame, method="to_overall", metrics=["selection_rate"], ci=0.95
    )
    rates = audit.summary.values["selection_rate"]
    overall = frame.pred.mean()
    d = audit.summary.disparities["demographic_parity"]
    assert d.difference == pytest.approx(np.max(np.abs(rates - overall)))
    assert d.difference_lo <= d.difference <= d.difference_hi


def test_weighted_audit(frame: pd.DataFrame) -> None:
    audit = fw.audit("y", "pred", sensitive_features="sex", sample_weight="w", data=frame, metrics=["selection_rate"])
    for i, (sex,) in enumerate(audit.stats.groups):
        sub = frame[frame.sex == sex]
        assert audit.summary.values["selection_rate"][i] == pytest.approx(np.average(sub.pred, weights=sub.w))


def test_regression_audit_by_default_for_numeric_predictions() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    p = y + rng.normal(scale=0.3, size=500)
    g = rng.choice(np.array(["a", "b"]), 500)
    audit = fw.audit(y, p, sensitive_features=g)
    assert "mean_absolute_error" in audit.metrics
    mae_a = np.mean(np.abs(y - p)[g == "a"])
    assert audit.summary.values["mean_absolute_error"][0] == pytest.approx(mae_a)


def test_string_labels_with_pos_label() -> None:
    audit = fw.audit(
        ["yes", "no", "yes", "no"],
        ["yes", "yes", "no", "no"],
        sensitive_features=["a", "a", "b", "b"],
        pos_label="yes",
        metrics=["selection_rate", "tpr"],
    )
    assert audit.summary.values["selection_rate"].tolist() == [1.0, 0.0]
    assert audit.to_dict()["pos_label"] == "yes"


def test_boolean_labels() -> None:
    audit = fw.audit(
        [True, False, True, False],
        [True, True, False, False],
        sensitive_features=["a", "a", "b", "b"],
        metrics=["selection_rate"],
    )
    assert audit.summary.values["selection_rate"].tolist() == [1.0, 0.0]


def test_tables_and_repr(frame: pd.DataFrame) -> None:
    audit = _audit(frame, min_group_size=30)
    wide = audit.wide()
    assert list(wide.columns[:4]) == ["sex", "race", "n", "suppressed"]
    assert "selection_rate" in wide.columns
    disparities = audit.disparities()
    assert set(disparities["disparity"]) >= {"demographic_parity", "equalized_odds", "equal_opportunity"}
    assert "Audit(rows=4000" in repr(audit)


def test_marginal_of_a_reference_audit(frame: pd.DataFrame) -> None:
    audit = _audit(frame, reference=("M", "A"))
    marginal = audit.marginal("race")
    assert marginal.summary.method == "between_groups"
    assert marginal.stats.n_groups == 4


# -- a ratio against a reference keeps its direction (issue 22, item 4) ------------------------------------
def _selections(rates: dict[str, int], n: int = 100) -> tuple[list[int], list[str]]:
    """Predictions with ``rates[group]`` positives out of ``n`` rows per group (also used as labels)."""
    y_pred: list[int] = []
    groups: list[str] = []
    for group, positives in rates.items():
        y_pred += [1] * positives + [0] * (n - positives)
        groups += [group] * n
    return y_pred, groups


def test_a_group_selected_more_often_than_the_reference_is_not_adversely_impacted() -> None:
    y_pred, groups = _selections({"zero": 10, "b": 40})
    audit = fw.audit(y_pred, y_pred, sensitive_features=groups, reference="zero", metrics=["selection_rate"])
    d = audit.summary.disparities["demographic_parity"]
    assert d.ratio == pytest.approx(4.0)  # group / reference: b is selected 4x as often
    assert d.ratio_group == ("b",)
    [verdict] = audit.check("demographic_parity_ratio >= 0.8")
    assert verdict.passed
    assert audit.disparities()["ratio_group"].tolist()[0] == "sensitive_feature_0=b"


def test_a_group_selected_less_often_than_the_reference_fails_the_four_fifths_rule() -> None:
    y_pred, groups = _selections({"ref": 40, "b": 10, "c": 60})
    audit = fw.audit(y_pred, y_pred, sensitive_features=groups, reference="ref", metrics=["selection_rate"], ci=0.95)
    d = audit.summary.disparities["demographic_parity"]
    assert d.ratio == pytest.approx(0.25)  # the smallest group / reference ratio: b
    assert d.ratio_group == ("b",)
    assert d.ratio_lo < 0.25 < d.ratio_hi
    assert not audit.check("demographic_parity_ratio >= 0.8")[0].passed
    assert audit.to_dict()["disparities"]["demographic_parity"]["ratio_group"] == {"sensitive_feature_0": "b"}


def test_between_groups_ratio_stays_symmetric() -> None:
    y_pred, groups = _selections({"zero": 10, "b": 40})
    d = fw.audit(y_pred, y_pred, sensitive_features=groups, metrics=["selection_rate"]).summary.disparities
    assert d["demographic_parity"].ratio == pytest.approx(0.25)
    assert d["demographic_parity"].ratio_group is None


# -- groups under 30 rows are suppressed by default (issue 22, item 3) -------------------------------------
def _with_a_small_group(rows: int) -> tuple[list[int], list[int], list[str]]:
    """Two 100-row groups with equal selection rates and one small group selected far more often."""
    y_true = [1, 0] * 100 + [1] * rows
    y_pred = [1, 0] * 100 + [1] * rows
    groups = ["a"] * 100 + ["b"] * 100 + ["small"] * rows
    return y_true, y_pred, groups


def test_groups_under_the_default_minimum_are_suppressed_and_reported() -> None:
    y_true, y_pred, groups = _with_a_small_group(13)
    audit = fw.audit(y_true, y_pred, sensitive_features=groups, metrics=["selection_rate"])
    assert audit.summary.min_group_size == fw.DEFAULT_MIN_GROUP_SIZE == 30
    data = audit.to_dict()
    small = next(g for g in data["groups"] if g["group"]["sensitive_feature_0"] == "small")
    assert small["suppressed"] and small["n"] == 13
    assert small["metrics"]["selection_rate"]["value"] is None
    assert data["suppressed_share"] == pytest.approx(13 / 213)
    assert audit.summary.disparities["demographic_parity"].difference == pytest.approx(0.0)
    # 0 (or None) compares groups of any size, as fairlearn does
    for every in (0, None):
        whole = fw.audit(y_true, y_pred, sensitive_features=groups, metrics=["selection_rate"], min_group_size=every)
        assert whole.summary.disparities["demographic_parity"].difference == pytest.approx(0.5)


def test_the_fairlearn_named_functions_keep_every_group() -> None:
    y_true, y_pred, groups = _with_a_small_group(13)
    assert fw.metrics.demographic_parity_difference(y_true, y_pred, sensitive_features=groups) == pytest.approx(0.5)
