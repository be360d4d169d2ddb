"""Alert rules: validation, the significance-gated decision, evaluation on DuckDB and PostgreSQL, the
rule API and back-tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from fairwatch.exceptions import InvalidInputError, UnknownModelError
from fairwatch.metrics import GroupStats
from fairwatch.monitor import OutcomeEvent, PredictionEvent, Store, open_store
from fairwatch.monitor._rules import (
    FairnessRule,
    assess_stats,
    evaluate_rule,
    mover_ratio_interval,
    newcombe_cc_interval,
    parse_rule,
    wilson_cc_interval,
)
from fairwatch.server import Settings, create_app

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)
KEYS = "read-key:read,admin-key:admin"
ADMIN = {"Authorization": "Bearer admin-key"}
READ = {"Authorization": "Bearer read-key"}


def window_events(
    day: int,
    counts: dict[str, tuple[int, int]],
    *,
    model: str = "credit",
    attribute: str = "sex",
    labels: dict[str, tuple[int, int]] | None = None,
    start: dt.datetime = T0,
) -> tuple[list[PredictionEvent], list[OutcomeEvent]]:
    """Predictions of one day: per group ``(n, positives)``; ``labels`` per group ``(labelled, positives
    among them)`` with y = 1 for the first labelled positives."""
    predictions, outcomes = [], []
    for group, (n, positives) in counts.items():
        labelled, label_pos = (labels or {}).get(group, (0, 0))
        for i in range(n):
            pid = f"{model}-{day}-{group}-{i}"
            predictions.append(
                PredictionEvent(
                    prediction_id=pid,
                    model=model,
                    timestamp=start + day * DAY + dt.timedelta(seconds=60 * i),
                    prediction=int(i < positives),
                    score=0.9 if i < positives else 0.1,
                    sensitive={attribute: group},
                    features={"income": float(i % 10 + (5 * day if group == "F" else 0))},
                )
            )
            if i < labelled:
                outcomes.append(OutcomeEvent(prediction_id=pid, label=int(i < label_pos), timestamp=start + 3 * DAY))
    return predictions, outcomes


def store_days(store: Store, days: list[dict[str, tuple[int, int]]], **options: Any) -> None:
    for day, counts in enumerate(days):
        predictions, outcomes = window_events(day, counts, **options)
        store.insert_predictions(predictions)
        if outcomes:
            store.insert_outcomes(outcomes)


def dp_rule(**changes: Any) -> FairnessRule:
    spec: dict[str, Any] = {
        "name": "dp gap",
        "model": "credit",
        "metric": "selection_rate",
        "disparity": "difference",
        "op": ">",
        "threshold": 0.05,
        "sensitive": ["sex"],
        "window": "1d",
        "min_group_size": 30,
        "significance": 0.05,
    }
    spec.update(changes)
    rule = parse_rule(spec)
    assert isinstance(rule, FairnessRule)
    return rule


def stacked(positives: np.ndarray, n: np.ndarray) -> GroupStats:
    """Windows × groups of selection counts as one GroupStats with a leading window axis."""
    pred = np.stack([n - positives, positives], axis=-1).astype(np.float64)
    w, g = positives.shape
    zeros = np.zeros((w, g, 2, 2))
    return GroupStats(
        sensitive_names=("sex",),
        groups=tuple((f"g{i}",) for i in range(g)),
        n=n.astype(np.float64),
        weight=n.astype(np.float64),
        confusion=zeros,
        confusion_n=zeros,
        predictions=pred,
        predictions_n=pred,
    )


# -- the acceptance cases, on both stores ---------------------------------------------------------------
NOISE = {"F": (40, 16), "M": (40, 12)}  # 0.40 vs 0.30, 40 per group
REAL_GAP = {"F": (400, 240), "M": (400, 80)}  # 0.60 vs 0.20, 400 per group


def test_noise_never_fires_and_real_gap_fires(store: Store) -> None:
    store_days(store, [NOISE, REAL_GAP])
    gated = evaluate_rule(store, dp_rule(), T0, T0 + 2 * DAY)
    assert [w.start for w in gated] == [T0, T0 + DAY]
    noise, real = (w.comparisons[0] for w in gated)
    assert not noise.firing and noise.value == pytest.approx(0.1)
    assert noise.lo is not None and noise.lo < 0.05 < noise.value
    assert "does not clear the threshold > 0.05" in noise.reason
    assert real.firing and real.value == pytest.approx(0.4) and real.lo is not None and real.lo > 0.3
    assert real.n == [400, 400] and real.group_values == [pytest.approx(0.6), pytest.approx(0.2)]
    # the same rule on point values pages on the noise
    naive = evaluate_rule(store, dp_rule(significance=None), T0, T0 + 2 * DAY)
    assert [w.comparisons[0].firing for w in naive] == [True, True]
    assert "point value fires (no significance set)" in naive[0].comparisons[0].reason


def test_noise_windows_never_fire_in_a_backtest(store: Store) -> None:
    rng = np.random.default_rng(7)
    days = [{"F": (40, int(rng.binomial(40, 0.35))), "M": (40, int(rng.binomial(40, 0.35)))} for _ in range(12)]
    days[3] = NOISE
    store_days(store, days)
    windows = evaluate_rule(store, dp_rule(threshold=0.0), T0, T0 + 12 * DAY)
    assert len(windows) == 12
    assert not any(w.comparisons[0].firing for w in windows)
    naive = evaluate_rule(store, dp_rule(threshold=0.0, significance=None), T0, T0 + 12 * DAY)
    assert sum(w.comparisons[0].firing for w in naive) >= 8


def test_small_groups_never_fire_and_say_why(store: Store) -> None:
    store_days(store, [{"F": (20, 20), "M": (400, 0)}])
    (window,) = evaluate_rule(store, dp_rule(significance=None), T0, T0 + DAY)
    (comparison,) = window.comparisons
    assert not comparison.firing and not comparison.evaluated and comparison.value is None
    assert "group {'sex': 'F'} has 20 rows, fewer than min_group_size=30" in comparison.reason


def test_label_dependent_metrics_use_labelled_rows(store: Store) -> None:
    # TPR: F 36/40 labelled positives predicted positive vs M 8/40
    counts = {"F": (100, 40), "M": (100, 40)}
    store_days(store, [counts], labels={"F": (100, 40), "M": (100, 40)})
    rule = dp_rule(metric="equal_opportunity", threshold=0.1)
    (window,) = evaluate_rule(store, rule, T0, T0 + DAY)
    (comparison,) = window.comparisons
    assert comparison.metric == "true_positive_rate" and comparison.n == [100, 100]
    assert not comparison.firing  # identical groups
    # equalized_odds compares TPR and FPR: two comparisons, sharing alpha (2 pairs x 2 directions)
    (window,) = evaluate_rule(store, dp_rule(metric="equalized_odds"), T0, T0 + DAY)
    assert [c.metric for c in window.comparisons] == ["true_positive_rate", "false_positive_rate"]
    assert "shared by 4 one-sided tests" in window.comparisons[0].reason


def test_unlabelled_windows_report_label_dependent_groups_as_small(store: Store) -> None:
    store_days(store, [REAL_GAP])
    (window,) = evaluate_rule(store, dp_rule(metric="true_positive_rate"), T0, T0 + DAY)
    assert "has 0 labelled rows, fewer than min_group_size=30" in window.comparisons[0].reason


def test_reference_value_and_ratio_rules(store: Store) -> None:
    store_days(store, [{"F": (400, 80), "M": (400, 240), "X": (400, 230)}])
    four_fifths = dp_rule(disparity="ratio", op="<", threshold=0.8, reference={"sex": "M"})
    (window,) = evaluate_rule(store, four_fifths, T0, T0 + DAY)
    by_group = {c.groups[0]["sex"]: c for c in window.comparisons}
    assert set(by_group) == {"F", "X"} and all(c.groups[1] == {"sex": "M"} for c in window.comparisons)
    assert by_group["F"].firing and by_group["F"].value == pytest.approx(0.2 / 0.6)
    assert not by_group["X"].firing
    assert "shared by 2 one-sided tests" in by_group["F"].reason
    floor = dp_rule(disparity="value", op="<", threshold=0.3)
    (window,) = evaluate_rule(store, floor, T0, T0 + DAY)
    assert {c.groups[0]["sex"]: c.firing for c in window.comparisons} == {"F": True, "M": False, "X": False}
    only = dp_rule(groups=[{"sex": "M"}, {"sex": "X"}], threshold=0.0)
    (window,) = evaluate_rule(store, only, T0, T0 + DAY)
    assert [c.groups for c in window.comparisons] == [[{"sex": "M"}, {"sex": "X"}]]


def test_missing_reference_group_is_reported(store: Store) -> None:
    store_days(store, [NOISE])
    (window,) = evaluate_rule(store, dp_rule(reference={"sex": "Z"}), T0, T0 + DAY)
    assert (
        window.comparisons == [] and window.note == "the reference group {'sex': 'Z'} has no predictions in this window"
    )
    assert window.rows()[0]["reason"] == window.note


def test_score_metric_uses_the_bootstrap(store: Store) -> None:
    store_days(store, [REAL_GAP], labels={"F": (400, 300), "M": (400, 100)})
    (window,) = evaluate_rule(store, dp_rule(metric="roc_auc", threshold=0.0), T0, T0 + DAY)
    (comparison,) = window.comparisons
    assert "bootstrap" in comparison.reason and comparison.lo is not None


def test_label_coverage_rule(store: Store) -> None:
    store_days(store, [REAL_GAP], labels={"F": (380, 200), "M": (100, 50)})
    rule = parse_rule(
        {
            "kind": "label_coverage",
            "name": "cov",
            "model": "credit",
            "threshold": 0.5,
            "sensitive": "sex",
            "window": "1d",
            "significance": 0.05,
        }
    )
    (window,) = evaluate_rule(store, rule, T0, T0 + DAY)
    assert {c.groups[0]["sex"]: c.firing for c in window.comparisons} == {"F": False, "M": True}
    overall = parse_rule({"kind": "label_coverage", "name": "cov", "model": "credit", "threshold": 0.5, "window": "1d"})
    (window,) = evaluate_rule(store, overall, T0, T0 + DAY)
    assert [c.value for c in window.comparisons] == [pytest.approx(480 / 800)]


def test_drift_rule_against_the_previous_window(store: Store) -> None:
    store_days(store, [{"F": (200, 10), "M": (200, 10)}] * 3)
    rule = parse_rule(
        {
            "kind": "drift",
            "name": "income",
            "model": "credit",
            "feature": "income",
            "statistic": "ks",
            "threshold": 0.1,
            "window": "1d",
            "sensitive": ["sex"],
            "significance": 0.05,
        }
    )
    windows = evaluate_rule(store, rule, T0 + DAY, T0 + 3 * DAY)
    for window in windows:
        by_group = {json_group(c): c.firing for c in window.comparisons}
        assert by_group == {"overall": True, "F": True, "M": False}  # only F's incomes shift each day


def json_group(comparison: Any) -> str:
    return comparison.groups[0]["sex"] if comparison.groups else "overall"


def test_unknown_model_and_bad_times(store: Store) -> None:
    with pytest.raises(UnknownModelError, match="unknown model 'credit'"):
        evaluate_rule(store, dp_rule(), T0, T0 + DAY)
    store_days(store, [NOISE])
    with pytest.raises(InvalidInputError, match=r"end \(.*\) must be after start"):
        evaluate_rule(store, dp_rule(), T0 + DAY, T0)
    with pytest.raises(InvalidInputError, match="start must include a timezone"):
        evaluate_rule(store, dp_rule(), T0.replace(tzinfo=None), T0 + DAY)


# -- the decision, on statistics ----------------------------------------------------------------------
def test_one_sided_level_against_a_reference() -> None:
    # directed: one one-sided test at alpha; undirected: two (a two-sided 1 - alpha interval)
    stats = stacked(np.array([[250, 200]]), np.array([[500, 500]]))
    directed = assess_stats(dp_rule(threshold=0.0, reference={"sex": "g1"}), stats)
    undirected = assess_stats(dp_rule(threshold=0.0), stats)
    lo_90, _ = newcombe_cc_interval(np.array(0.5), np.array(500.0), np.array(0.4), np.array(500.0), 0.90)
    lo_95, _ = newcombe_cc_interval(np.array(0.5), np.array(500.0), np.array(0.4), np.array(500.0), 0.95)
    assert directed.lo[0, 0] == pytest.approx(float(lo_90))
    assert undirected.lo[0, 0] == pytest.approx(float(lo_95))
    assert int(directed.tests[0]) == 1 and int(undirected.tests[0]) == 2


def test_bonferroni_over_pairs() -> None:
    stats = stacked(np.array([[200, 200, 200, 260]]), np.array([[500, 500, 500, 500]]))
    assessment = assess_stats(dp_rule(threshold=0.0), stats)
    assert len(assessment.plan) == 6 and int(assessment.tests[0]) == 12
    reason = assessment.comparisons(0)[2].reason
    assert "one-sided 0.9958 lower bound" in reason and "shared by 12 one-sided tests" in reason


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 60),
    st.integers(1, 60),
    st.integers(0, 60),
    st.integers(1, 60),
    st.floats(0.0, 0.5),
    st.sampled_from(["difference", "ratio"]),
)
def test_gated_firing_implies_naive_firing(x1: int, n1: int, x2: int, n2: int, t: float, kind: str) -> None:
    x1, x2 = min(x1, n1), min(x2, n2)
    stats = stacked(np.array([[x1, x2]]), np.array([[n1, n2]]))
    threshold = t if kind == "difference" else 1 - t
    op = ">" if kind == "difference" else "<"
    strict = dp_rule(disparity=kind, op=op, threshold=max(threshold, 0.01), min_group_size=0, significance=0.01)
    loose = strict.model_copy(update={"significance": 0.2})
    naive = strict.model_copy(update={"significance": None})
    fired = [bool(assess_stats(r, stats).firing[0, 0]) for r in (strict, loose, naive)]
    assert fired[0] <= fired[1] <= fired[2]
    a = assess_stats(loose, stats)
    if a.eligible[0, 0]:
        assert a.lo[0, 0] <= a.value[0, 0] + 1e-12 and a.value[0, 0] <= a.hi[0, 0] + 1e-12


def test_intervals_cover_at_their_level() -> None:
    rng = np.random.default_rng(3)
    n = np.full(4000, 200.0)
    p1, p2 = rng.binomial(200, 0.3, 4000) / n, rng.binomial(200, 0.5, 4000) / n
    lo, hi = wilson_cc_interval(p1, n, 0.9)
    assert 0.9 <= np.mean((lo <= 0.3) & (hi >= 0.3)) <= 0.95
    lo, hi = newcombe_cc_interval(p1, n, p2, n, 0.9)
    assert 0.9 <= np.mean((lo <= -0.2) & (hi >= -0.2)) <= 0.95
    lo, hi = mover_ratio_interval(p1, n, p2, n, 0.9)
    assert 0.89 <= np.mean((lo <= 0.6) & (hi >= 0.6)) <= 0.95


# -- validation ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"metric": "fairness_score"}, "unknown metric 'fairness_score'; accepted: .*selection_rate"),
        ({"metric": "mean_squared_error"}, "needs regression statistics, which the monitor does not keep"),
        ({"window": "1 fortnight"}, "window must be a positive duration such as 15m, 1h, 2d or 1w"),
        ({"disparity": "ratio", "threshold": 0}, "a ratio threshold must be > 0"),
        ({"disparity": "ratio", "threshold": 1.25}, "min/max, in \\[0, 1\\]"),
        ({"disparity": "spread"}, "'difference', 'ratio' or 'value'"),
        ({"op": ">="}, "'>' or '<'"),
        ({"significance": 0.7}, "less than 0.5"),
        ({"groups": [{"race": "A"}, {"race": "B"}]}, "exactly the sensitive attributes \\['sex'\\]"),
        ({"groups": [{"sex": "F"}]}, "list at least two groups"),
        ({"disparity": "value", "threshold": 2}, "proportion in \\[0, 1\\]"),
        ({"kind": "anomaly"}, "kind must be one of: fairness, drift, label_coverage"),
        ({"min_group_size": -1}, "greater than or equal to 0"),
        ({"treshold": 1}, "treshold: Extra inputs are not permitted"),
        ({"window": "999999999999w"}, "window: Value error, .*'999999999999w' is (too long|longer than)"),
        ({"window": "400d"}, "at most 366 days"),
        ({"sensitive": ["se x"]}, "sensitive attribute name 'se x' is not an identifier"),
        ({"name": "a\x00b"}, "name: text must not contain NUL characters"),
        ({"model": "credit model"}, "model: String should match pattern"),
    ],
)
def test_rule_validation_messages(changes: dict[str, Any], message: str) -> None:
    spec = dp_rule().model_dump() | changes
    with pytest.raises(InvalidInputError, match=message):
        parse_rule(spec)


def test_drift_rule_validation() -> None:
    base = {"kind": "drift", "name": "d", "model": "m", "feature": "age", "threshold": 0.2}
    with pytest.raises(InvalidInputError, match="psi has no sampling distribution here; use statistic 'ks'"):
        parse_rule(base | {"significance": 0.05})
    with pytest.raises(InvalidInputError, match="statistic: Input should be 'psi', 'js', 'ks' or 'chi2'"):
        parse_rule(base | {"statistic": "wasserstein"})
    with pytest.raises(InvalidInputError, match="give both"):
        parse_rule(base | {"baseline_start": "2024-01-01T00:00:00Z"})


# -- the API ----------------------------------------------------------------------------------------------
@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    app = create_app(Settings(api_keys=KEYS, evaluation_interval=0), store=store)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def duck_client(tmp_path: Any) -> Iterator[TestClient]:
    """An app over DuckDB only, for checks that do not depend on the store."""
    app = create_app(
        Settings(api_keys=KEYS, evaluation_interval=0), store=open_store(f"duckdb://{tmp_path / 'v.duckdb'}")
    )
    with TestClient(app) as c:
        yield c


def rule_body(**changes: Any) -> dict[str, Any]:
    return dp_rule(**changes).model_dump(mode="json", exclude_none=True) | {"notify": ["log"]}


def test_rule_crud(client: TestClient) -> None:
    body = rule_body()
    assert client.post("/v1/rules", json=body, headers=READ).status_code == 403
    created = client.post("/v1/rules", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["metric"] == "selection_rate" and rule["significance"] == 0.05 and rule["kind"] == "fairness"
    rule_id = rule["id"]
    assert client.get(f"/v1/rules/{rule_id}", headers=READ).json()["name"] == "dp gap"
    assert [r["id"] for r in client.get("/v1/rules?model=credit", headers=READ).json()["rules"]] == [rule_id]
    assert client.get("/v1/rules?model=other", headers=READ).json()["rules"] == []
    replaced = client.put(f"/v1/rules/{rule_id}", json=rule_body(threshold=0.2), headers=ADMIN).json()
    assert replaced["threshold"] == 0.2 and replaced["created"] == rule["created"]
    assert client.delete(f"/v1/rules/{rule_id}", headers=ADMIN).status_code == 204
    missing = client.get(f"/v1/rules/{rule_id}", headers=READ)
    assert missing.status_code == 404 and "no rule with id" in missing.json()["detail"]
    assert client.delete(f"/v1/rules/{rule_id}", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"metric": "nope"}, "metric: Value error, unknown metric 'nope'; accepted: "),
        ({"window": "soon"}, "window: Value error, window must be a positive duration"),
        ({"disparity": "ratio", "threshold": -1}, "a ratio threshold must be > 0"),
        ({"notify": ["pager"]}, "notify: unknown notifier(s) 'pager'; configured: log"),
    ],
)
def test_rule_api_validation(duck_client: TestClient, changes: dict[str, Any], message: str) -> None:
    r = duck_client.post("/v1/rules", json=rule_body() | changes, headers=ADMIN)
    assert r.status_code == 422
    assert message in r.json()["message"]


def test_ids_and_filters_are_validated(duck_client: TestClient) -> None:
    assert duck_client.get("/v1/rules/a%00b", headers=READ).status_code == 422
    assert duck_client.get("/v1/rules?model=bad%00model", headers=READ).status_code == 422
    assert duck_client.get("/v1/alerts/x%20y", headers=READ).status_code == 422


def test_backtest_endpoint(client: TestClient, store: Store) -> None:
    store_days(store, [NOISE, REAL_GAP, {"F": (10, 5), "M": (300, 100)}])
    rule_id = client.post("/v1/rules", json=rule_body(), headers=ADMIN).json()["id"]
    params = {"start": "2024-05-01T06:00:00Z", "end": "2024-05-04T00:00:00Z"}
    assert client.post(f"/v1/rules/{rule_id}/evaluate", params=params, headers=READ).status_code == 403
    r = client.post(f"/v1/rules/{rule_id}/evaluate", params=params, headers=ADMIN)
    assert r.status_code == 200, r.text
    windows = r.json()["windows"]
    assert [w["start"][:10] for w in windows] == ["2024-05-01", "2024-05-02", "2024-05-03"]  # floored to the grid
    assert [w["firing"] for w in windows] == [False, True, False]
    assert {"start", "end", "value", "lo", "hi", "firing", "reason", "groups", "n"} <= set(windows[0])
    assert windows[2]["value"] is None and "fewer than min_group_size=30" in windows[2]["reason"]
    assert store.list_alerts() == []  # a back-test changes nothing
    bad = client.post(
        f"/v1/rules/{rule_id}/evaluate", params={"start": "2024-05-01T00:00:00", "end": params["end"]}, headers=ADMIN
    )
    assert bad.status_code == 422
    too_long = client.post(
        f"/v1/rules/{rule_id}/evaluate", params={"start": "2000-01-01T00:00:00Z", "end": params["end"]}, headers=ADMIN
    )
    assert too_long.status_code == 422 and "at most 5000 per back-test" in too_long.json()["detail"]
