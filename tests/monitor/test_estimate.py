"""Label-free fairness estimates: accuracy and interval coverage in simulation, the blend with arriving
labels, the refusals, both stores, and the API route."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor import (
    OutcomeEvent,
    PredictionEvent,
    Store,
    estimate_windows,
    fit_calibrator,
    open_store,
    window_metrics,
)

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
REF_END = T0 + dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


@dataclass
class Simulated:
    predictions: list[PredictionEvent]
    y: np.ndarray
    group: np.ndarray
    score: np.ndarray
    window: np.ndarray  # -1 for the reference period


def simulate(n_ref: int = 6000, n_windows: int = 30, per_window: int = 600, seed: int = 0) -> Simulated:
    """Two groups with different score distributions; labels drawn from the scores (calibrated)."""
    rng = np.random.default_rng(seed)
    n = n_ref + n_windows * per_window
    group = rng.choice(np.array(["A", "B"]), n, p=[0.6, 0.4])
    score = np.where(group == "A", rng.beta(2.0, 3.0, n), rng.beta(1.5, 3.5, n)).round(5)
    y = (rng.random(n) < score).astype(int)
    window = np.concatenate([np.full(n_ref, -1), np.repeat(np.arange(n_windows), per_window)])
    seconds = np.where(window < 0, rng.uniform(0, 86400, n), 86400 + window * 3600 + rng.uniform(0, 3600, n))
    predictions = [
        PredictionEvent(
            prediction_id=f"p{i}",
            model="m",
            timestamp=T0 + dt.timedelta(seconds=float(seconds[i])),
            prediction=int(score[i] >= 0.4),
            score=float(score[i]),
            sensitive={"grp": str(group[i])},
        )
        for i in range(n)
    ]
    return Simulated(predictions, y, group, score, window)


def outcomes(sim: Simulated, mask: np.ndarray) -> list[OutcomeEvent]:
    return [OutcomeEvent(prediction_id=f"p{i}", label=int(sim.y[i]), timestamp=REF_END) for i in np.flatnonzero(mask)]


def load(store: Store, sim: Simulated, labelled: np.ndarray) -> None:
    for i in range(0, len(sim.predictions), 10_000):
        store.insert_predictions(sim.predictions[i : i + 10_000])
    store.insert_outcomes(outcomes(sim, labelled))


def realised(sim: Simulated, window: int, group: str) -> dict[str, float]:
    rows = (sim.window == window) & (sim.group == group)
    y, p = sim.y[rows], sim.score[rows] >= 0.4
    return {
        "true_positive_rate": float((p & (y == 1)).sum() / (y == 1).sum()),
        "false_positive_rate": float((p & (y == 0)).sum() / (y == 0).sum()),
        "precision": float((p & (y == 1)).sum() / p.sum()),
        "accuracy": float((p == (y == 1)).mean()),
    }


@pytest.fixture(scope="module")
def simulated() -> Iterator[tuple[Store, Simulated]]:
    sim = simulate()
    store = open_store("duckdb://:memory:")
    load(store, sim, sim.window < 0)  # labels only for the reference period
    yield store, sim
    store.close()


def test_estimates_track_realised_values_and_intervals_cover(simulated: tuple[Store, Simulated]) -> None:
    store, sim = simulated
    calibration, windows = estimate_windows(
        store, "m", sensitive=["grp"], reference_start=T0, reference_end=REF_END, start=REF_END, window="1h"
    )
    assert all(g.refused is None for g in calibration.groups.values())
    errors, covered = [], []
    gap_errors = []
    for index, window in enumerate(windows):
        data = window.to_dict()
        assert data["estimated"] is True and data["label_coverage"] == 0.0
        truth = {}
        for group in data["groups"]:
            name = group["group"]["grp"]
            truth[name] = realised(sim, index, name)
            assert group["estimated"] is True and group["estimate_refused"] is None
            for metric, value in group["metrics"].items():
                assert value["estimated"] is True
                errors.append(abs(value["value"] - truth[name][metric]))
                covered.append(value["lo"] <= truth[name][metric] <= value["hi"])
        eo = data["disparities"]["equalized_odds"]["difference"]
        true_eo = max(abs(truth["A"][m] - truth["B"][m]) for m in ("true_positive_rate", "false_positive_rate"))
        gap_errors.append(abs(eo["value"] - true_eo))
        covered.append(eo["lo"] <= true_eo <= eo["hi"])
    # ~240 predictions of group B per window: realised rates themselves vary by ~0.03-0.05
    assert np.mean(errors) < 0.03
    assert np.mean(gap_errors) < 0.05
    coverage = float(np.mean(covered))
    assert 0.88 <= coverage <= 0.995, coverage  # nominal 0.95, over 270 intervals


def test_arriving_labels_replace_estimates(tmp_path: Any) -> None:
    sim = simulate(n_ref=3000, n_windows=2, per_window=800, seed=1)
    store = open_store(f"duckdb://{tmp_path / 'e.duckdb'}")
    # window 0: every label has arrived; window 1: half of them
    half = np.random.default_rng(2).random(sim.y.size) < 0.5
    load(store, sim, (sim.window <= 0) | ((sim.window == 1) & half))
    _, windows = estimate_windows(
        store, "m", sensitive=["grp"], reference_start=T0, reference_end=REF_END, start=REF_END, window="1h"
    )
    full, partial = (w.to_dict() for w in windows)
    assert full["estimated"] is False and full["label_coverage"] == 1.0
    actual = window_metrics(store, "m", sensitive=["grp"], window="1h", start=REF_END, end=REF_END + HOUR)[0]
    assert actual.labelled_summary is not None
    for g, group in enumerate(full["groups"]):
        assert group["estimated"] is False
        tpr = group["metrics"]["true_positive_rate"]
        assert tpr["value"] == pytest.approx(actual.labelled_summary.values["true_positive_rate"][g])
        assert tpr == {"value": group["realised"]["true_positive_rate"], "lo": None, "hi": None}
    assert full["disparities"]["equalized_odds"]["estimated"] is False
    assert 0.4 < partial["label_coverage"] < 0.6 and partial["estimated"] is True
    for group in partial["groups"]:
        truth = realised(sim, 1, group["group"]["grp"])
        value = group["metrics"]["true_positive_rate"]
        assert value["lo"] <= truth["true_positive_rate"] <= value["hi"]
        # with half the labels in, the interval is narrower than a label-free one would be
        assert group["calibration_check"]["n"] == group["n_labelled"]
        assert abs(group["calibration_check"]["z"]) < 4
    store.close()


def test_refusals_are_data_with_reasons(tmp_path: Any) -> None:
    sim = simulate(n_ref=1500, n_windows=1, per_window=400, seed=3)
    extra = [
        PredictionEvent(
            prediction_id=f"c{i}",
            model="m",
            timestamp=REF_END + dt.timedelta(minutes=i),
            prediction=1,
            score=None,
            sensitive={"grp": "C"},
        )
        for i in range(40)
    ]
    no_score = PredictionEvent(
        prediction_id="nos", model="m", timestamp=REF_END + HOUR / 2, prediction=0, sensitive={"grp": "A"}
    )
    store = open_store(f"duckdb://{tmp_path / 'r.duckdb'}")
    load(store, sim, sim.window < 0)
    store.insert_predictions([*extra, no_score])
    _calibration, windows = estimate_windows(
        store,
        "m",
        sensitive=["grp"],
        reference_start=T0,
        reference_end=REF_END,
        start=REF_END,
        window="1h",
        min_reference_rows=700,
    )
    groups = {g["group"]["grp"]: g for g in windows[0].to_dict()["groups"]}
    reason = groups["A"]["estimate_refused"]
    assert reason.startswith("1 of ") and reason.endswith(
        " unlabelled predictions of this group have no score; estimates need the score field on every prediction"
    )
    assert groups["A"]["metrics"]["true_positive_rate"]["value"] is None
    assert groups["B"]["estimate_refused"].startswith("too few labelled reference rows for this group: ")
    assert "< min_reference_rows=700" in groups["B"]["estimate_refused"]
    assert groups["C"]["estimate_refused"] == "the reference period has no labelled, scored predictions of this group"
    assert windows[0].to_dict()["disparities"] == {}  # fewer than two groups left to compare
    strict, _ = estimate_windows(
        store, "m", sensitive=["grp"], reference_start=T0, reference_end=REF_END, start=REF_END, max_ece=1e-4
    )
    reason = strict.groups[("A",)].refused
    assert reason is not None and reason.startswith("calibration is poor: held-out expected calibration error")
    store.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reference_end": T0, "reference_start": T0 - HOUR}, "has no predictions of model"),
        ({"reference_end": T0 + dt.timedelta(seconds=1)}, r"reference period must be a whole number of hours"),
        ({"method": "beta"}, "method must be 'auto', 'identity', 'isotonic' or 'platt'; got 'beta'"),
        ({"n_draws": 5}, "n_draws must be an integer of at least 50; got 5"),
        ({"ci": 1.5}, "ci must be a confidence level strictly between 0 and 1"),
        ({"sensitive": ["nope"]}, "unknown sensitive attribute 'nope'"),
        ({"max_ece": 0}, r"max_ece must be in \(0, 1\]; got 0"),
    ],
)
def test_explicit_requests_that_cannot_work_raise(
    simulated: tuple[Store, Simulated], kwargs: dict[str, Any], message: str
) -> None:
    store, _ = simulated
    arguments: dict[str, Any] = {"sensitive": ["grp"], "reference_start": T0, "reference_end": REF_END}
    with pytest.raises(InvalidInputError, match=message):
        estimate_windows(store, "m", **{**arguments, **kwargs})


def test_fit_calibrator_chooses_by_validation() -> None:
    rng = np.random.default_rng(0)
    s = rng.uniform(size=6000)
    logistic = (rng.random(6000) < 1 / (1 + np.exp(-(4 * np.log(s / (1 - s)) - 1)))).astype(int)
    _, info = fit_calibrator(s, logistic)
    assert info["method"] == "platt" and info["ece"] < 0.03
    steps = (rng.random(6000) < np.where(s < 0.5, 0.1, 0.8)).astype(int)
    calibrator, info = fit_calibrator(s, steps)
    assert info["method"] == "isotonic"
    assert calibrator.predict([0.25, 0.75]) == pytest.approx([0.1, 0.8], abs=0.05)
    with pytest.raises(InvalidInputError, match=r"scores must be non-empty probabilities in \[0, 1\]"):
        fit_calibrator([0.5, 1.5], [0, 1])
    with pytest.raises(InvalidInputError, match="labels must be 0 or 1"):
        fit_calibrator([0.5, 0.2], [0, 2])


def test_same_estimates_on_both_stores(store: Store) -> None:
    sim = simulate(n_ref=2000, n_windows=2, per_window=400, seed=4)
    load(store, sim, sim.window < 0)
    calibration, windows = estimate_windows(
        store, "m", sensitive=["grp"], reference_start=T0, reference_end=REF_END, start=REF_END, method="platt"
    )
    reference = open_store("duckdb://:memory:")
    load(reference, sim, sim.window < 0)
    expected_cal, expected = estimate_windows(
        reference, "m", sensitive=["grp"], reference_start=T0, reference_end=REF_END, start=REF_END, method="platt"
    )
    reference.close()
    for key, group in calibration.groups.items():
        assert group.calibrator is not None and expected_cal.groups[key].calibrator is not None
        assert group.calibrator.coef == pytest.approx(expected_cal.groups[key].calibrator.coef)
    for got, want in zip(windows, expected):
        for g, w in zip(got.to_dict()["groups"], want.to_dict()["groups"]):
            assert g["metrics"]["false_positive_rate"]["value"] == pytest.approx(
                w["metrics"]["false_positive_rate"]["value"]
            )


def test_estimates_route(simulated: tuple[Store, Simulated]) -> None:
    from fastapi.testclient import TestClient

    from fairwatch.server import Settings, create_app

    store, _ = simulated
    app = create_app(Settings(api_keys="r:read"), store=store)
    with TestClient(app) as client:
        params = {
            "sensitive": "grp",
            "reference_start": T0.isoformat(),
            "reference_end": REF_END.isoformat(),
            "start": REF_END.isoformat(),
            "end": (REF_END + 2 * HOUR).isoformat(),
            "window": "1h",
        }
        assert client.get("/v1/models/m/estimates", params=params).status_code == 401
        response = client.get("/v1/models/m/estimates", params=params, headers={"Authorization": "Bearer r"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["estimated"] is True and len(body["windows"]) == 2
        assert body["windows"][0]["disparities"]["equalized_odds"]["estimated"] is True
        assert {g["method"] for g in body["reference"]["groups"]} <= {"identity", "isotonic", "platt"}
        bad = client.get(
            "/v1/models/m/estimates", params={**params, "method": "beta"}, headers={"Authorization": "Bearer r"}
        )
        assert bad.status_code == 422 and "method must be" in bad.json()["detail"]
        missing = client.get("/v1/models/zz/estimates", params=params, headers={"Authorization": "Bearer r"})
        assert missing.status_code == 404
