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


def test_postgres_store_from_before_feature_names_is_upgraded() -> None:
    """A store of the first releases (predictions only, no outcomes or feature_names tables) is upgraded
    at start: its features are in the dictionary and its drift comes from the roll-ups, a NUL inside a
    string included; later batches add to them."""
    import uuid

    import psycopg

    from fairwatch.monitor import drift
    from fairwatch.monitor._postgres import PostgresStore

    from .conftest import POSTGRES_URL, postgres_url

    url = postgres_url("legacy_" + uuid.uuid4().hex[:8])
    schema = url.rsplit("schema=", 1)[1]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(
            f"""CREATE TABLE "{schema}".predictions (model TEXT NOT NULL, prediction_id TEXT NOT NULL,
                model_version TEXT NOT NULL DEFAULT '', ts TIMESTAMPTZ NOT NULL, prediction TEXT NOT NULL,
                score DOUBLE PRECISION, features TEXT, s_sex TEXT, PRIMARY KEY (model, prediction_id))"""
        )
        conn.execute(
            f"""INSERT INTO "{schema}".predictions (model, prediction_id, ts, prediction, features, s_sex)
                VALUES ('credit', 'a', %s, '1', '{{"x": 1.5, "kind": "a"}}', 'F'),
                       ('credit', 'b', %s, '0', NULL, 'M'),
                       ('credit', 'n', %s, '0', '{{"odd": "nul\\u0000"}}', 'M')""",
            [T0, T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(days=9)],
        )
    store = PostgresStore(url)
    try:
        store.migrate()  # idempotent
        assert store.entries("credit").feature_names() == ["kind", "odd", "x"]
        store.insert_predictions(
            [
                PredictionEvent(
                    prediction_id="c",
                    model="credit",
                    timestamp=T0 + dt.timedelta(hours=2),
                    prediction=1,
                    sensitive={"sex": "F"},
                    features={"x": 2.5, "new": True, "text": "with \x00 inside"},
                )
            ]
        )
        hour = dt.timedelta(hours=1)
        results = drift(
            store,
            "credit",
            reference_start=T0,
            reference_end=T0 + hour,
            start=T0 + 2 * hour,
            end=T0 + 3 * hour,
            features=["kind", "new", "text", "x"],
        )
        assert [(r.feature, r.n_reference, r.n_current) for r in results] == [
            ("kind", 1, 0),
            ("new", 0, 1),
            ("text", 0, 1),
            ("x", 1, 1),
        ]
        (text,) = [r for r in results if r.feature == "text"]
        assert text.kind == "category"
        assert store.entries("credit").feature_names() == ["kind", "new", "odd", "text", "x"]
        assert "predictions" not in store._tables()
    finally:
        store.drop_schema()
        store.close()
