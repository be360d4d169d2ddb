"""One store test suite, run against DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor import OutcomeEvent, PredictionEvent, Store, open_store

from .events import T0, make_stream


def test_ingest_is_idempotent_and_counted(store: Store) -> None:
    stream = make_stream(300)
    first = store.insert_predictions(stream.predictions)
    assert (first.accepted, first.duplicates) == (300, 0)
    again = store.insert_predictions(stream.predictions[:50])
    assert (again.accepted, again.duplicates) == (0, 50)
    assert store.count("predictions") == 300
    outcomes = store.insert_outcomes(stream.outcomes)
    assert outcomes.accepted == len(stream.outcomes)
    assert store.insert_outcomes(stream.outcomes).duplicates == len(stream.outcomes)


def test_duplicates_inside_one_batch_count_once(store: Store) -> None:
    event = make_stream(1).predictions[0]
    result = store.insert_predictions([event, event, event])
    assert (result.accepted, result.duplicates) == (1, 2)


def test_same_id_in_two_models_are_two_events(store: Store) -> None:
    a = make_stream(5, model="a").predictions
    b = make_stream(5, model="b").predictions
    assert store.insert_predictions(a + b).accepted == 10


def test_models_and_attributes(store: Store) -> None:
    stream = make_stream(200)
    store.insert_predictions(stream.predictions)
    store.insert_outcomes(stream.outcomes)
    (info,) = store.models()
    assert info.model == "credit"
    assert info.versions == ["v1", "v2"]
    assert info.predictions == 200
    assert info.labelled == len(stream.outcomes)
    assert info.first == T0
    assert store.sensitive_attributes() == ["race", "sex"]
    assert store.labels("credit") == ["0", "1"]


def test_new_sensitive_attribute_adds_a_column(store: Store) -> None:
    store.insert_predictions(make_stream(3).predictions)
    event = PredictionEvent(
        prediction_id="x", model="credit", timestamp=T0, prediction=1, sensitive={"sex": "F", "Age_Band": "30-39"}
    )
    store.insert_predictions([event])
    assert "age_band" in store.sensitive_attributes()


def test_outcome_before_prediction_joins_later(store: Store) -> None:
    store.insert_outcomes([OutcomeEvent(prediction_id="late", label=1, timestamp=T0)])
    store.insert_predictions(
        [PredictionEvent(prediction_id="late", model="credit", timestamp=T0, prediction=1, sensitive={"sex": "F"})]
    )
    assert store.models()[0].labelled == 1


def test_store_survives_reopen(store_url: str) -> None:
    s = open_store(store_url)
    s.insert_predictions(make_stream(40).predictions)
    s.close()
    reopened = open_store(store_url)
    assert reopened.count("predictions") == 40
    reopened.close()


def test_label_normalisation(store: Store) -> None:
    events = [
        PredictionEvent(
            prediction_id=str(i), model="m", timestamp=T0 + dt.timedelta(seconds=i), prediction=p, sensitive={"g": "a"}
        )
        for i, p in enumerate([True, 1, 1.0, False, 0])
    ]
    store.insert_predictions(events)
    assert store.labels("m") == ["0", "1"]


def test_unknown_store_url() -> None:
    with pytest.raises(InvalidInputError, match=r"unknown store URL 'mysql://x'; use duckdb:///"):
        open_store("mysql://x")
