"""Window metrics equal a direct computation over the same events, on both stores."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pytest

import fairwatch as fw
from fairwatch.exceptions import InvalidInputError, UnknownModelError
from fairwatch.monitor import Store, window_metrics

from .events import T0, Stream, make_stream

METRICS = ["selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy", "roc_auc"]


def _direct(stream: Stream, start: dt.datetime, end: dt.datetime) -> fw.Audit | None:
    labels = {o.prediction_id: o.label for o in stream.outcomes}
    rows = [p for p in stream.predictions if start <= p.timestamp < end and p.prediction_id in labels]
    if not rows:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fw.audit(
            [labels[p.prediction_id] for p in rows],
            [p.prediction for p in rows],
            scores=[p.score for p in rows],
            sensitive_features={"sex": [p.sensitive["sex"] for p in rows]},
            metrics=METRICS[1:],
            score_bins=np.linspace(0, 1, 101),
        )


def test_windows_equal_direct_computation(store: Store) -> None:
    stream = make_stream(1500, seed=4)
    store.insert_predictions(stream.predictions)
    store.insert_predictions(stream.predictions[:300])  # re-sent: must not be counted twice
    store.insert_outcomes(stream.outcomes)
    windows = window_metrics(store, "credit", sensitive=["sex"], window="2h", metrics=METRICS)
    assert windows[0].start == T0
    assert sum(w.n for w in windows) == 1500
    for window in windows:
        in_window = [p for p in stream.predictions if window.start <= p.timestamp < window.end]
        assert window.n == len(in_window)
        data = window.to_dict()
        # label-free: every prediction, labelled or not
        for group in data["groups"]:
            preds = [p.prediction for p in in_window if p.sensitive["sex"] == group["group"]["sex"]]
            assert group["n"] == len(preds)
            assert group["metrics"]["selection_rate"]["value"] == pytest.approx(np.mean(preds), abs=1e-12)
        direct = _direct(stream, window.start, window.end)
        assert direct is not None
        assert window.labelled == direct.stats.n_rows
        assert window.label_coverage == pytest.approx(direct.stats.n_rows / len(in_window))
        summary = window.labelled_summary
        assert summary is not None
        for name in METRICS[1:]:
            np.testing.assert_allclose(summary.values[name], direct.summary.values[name], atol=1e-12)


def test_label_dependent_metrics_are_withheld_for_small_groups(store: Store) -> None:
    stream = make_stream(400, seed=1, labelled_share=0.05)
    store.insert_predictions(stream.predictions)
    store.insert_outcomes(stream.outcomes)
    (window,) = window_metrics(
        store,
        "credit",
        sensitive=["sex"],
        window="1w",
        min_group_size=30,
        metrics=["selection_rate", "true_positive_rate"],
    )
    for group in window.to_dict()["groups"]:
        assert group["withheld"] == ["true_positive_rate"]
        assert group["metrics"]["true_positive_rate"]["value"] is None
        assert group["metrics"]["selection_rate"]["value"] is not None


def test_windows_with_intervals_and_intersectional_groups(store: Store) -> None:
    stream = make_stream(800, seed=2)
    store.insert_predictions(stream.predictions)
    store.insert_outcomes(stream.outcomes)
    windows = window_metrics(store, "credit", sensitive=["sex", "race"], window="1d", ci=0.95)
    (window,) = windows
    data = window.to_dict()
    assert {tuple(g["group"]) for g in data["groups"]} == {("sex", "race")}
    assert len(data["groups"]) == 6
    for group in data["groups"]:
        m = group["metrics"]["selection_rate"]
        assert m["lo"] <= m["value"] <= m["hi"]
    assert "demographic_parity" in data["disparities"]
    assert "equalized_odds" in data["disparities"]


def test_start_end_alignment_and_empty_windows(store: Store) -> None:
    store.insert_predictions(make_stream(60, minutes_per_event=1).predictions)  # one hour of events
    windows = window_metrics(
        store,
        "credit",
        sensitive=["sex"],
        window="15m",
        start=T0 - dt.timedelta(minutes=30),
        end=T0 + dt.timedelta(minutes=50),
    )
    assert [w.start for w in windows][:3] == [T0 - dt.timedelta(minutes=30), T0 - dt.timedelta(minutes=15), T0]
    assert windows[0].n == 0 and windows[0].label_coverage is None
    assert windows[-1].end == T0 + dt.timedelta(minutes=50)
    assert windows[-1].n == 5
    assert sum(w.n for w in windows) == 50


def test_model_version_filter(store: Store) -> None:
    stream = make_stream(300)
    store.insert_predictions(stream.predictions)
    (window,) = window_metrics(store, "credit", sensitive=["sex"], window="1w", model_version="v2")
    assert window.n == len([p for p in stream.predictions if p.model_version == "v2"])


def test_bad_window_requests(store: Store) -> None:
    store.insert_predictions(make_stream(10).predictions)
    with pytest.raises(
        InvalidInputError, match=r"unknown sensitive attribute 'religion' for model 'credit'; known: race, sex"
    ):
        window_metrics(store, "credit", sensitive=["religion"])
    with pytest.raises(InvalidInputError, match=r"window must be a positive duration such as 15m"):
        window_metrics(store, "credit", sensitive=["sex"], window="5 minutes")
    with pytest.raises(InvalidInputError, match=r"pos_label='yes' is not one of model 'credit'"):
        window_metrics(store, "credit", sensitive=["sex"], pos_label="yes")
    with pytest.raises(UnknownModelError, match=r"unknown model 'nope': no predictions stored for it"):
        window_metrics(store, "nope", sensitive=["sex"])
    with pytest.raises(InvalidInputError, match=r"end .* must be after start"):
        window_metrics(store, "credit", sensitive=["sex"], start=T0, end=T0)
    with pytest.raises(InvalidInputError, match=r"window must be a whole number of 5 minutes .*; got 7 minutes"):
        window_metrics(store, "credit", sensitive=["sex"], window="7m")
    with pytest.raises(InvalidInputError, match=r"start must fall on a 5-minute boundary .*; got 2024-05-01T00:01:00"):
        window_metrics(store, "credit", sensitive=["sex"], start=T0 + dt.timedelta(minutes=1))
    with pytest.raises(InvalidInputError, match=r"score_bins must divide the store's 100 score bins .*; got 30"):
        window_metrics(store, "credit", sensitive=["sex"], score_bins=30)
