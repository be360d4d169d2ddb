"""One hostile or careless event must not break the service for anyone: what ingest refuses (with a
422 naming the field or the limit, nothing of the batch stored), and what reads never show.

Each test runs on DuckDB and PostgreSQL (the ``store_url`` fixture).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fairwatch.monitor import Store, open_store
from fairwatch.monitor._rollup import Limits
from fairwatch.server import Settings, create_app

KEYS = "ingest-key:ingest,read-key:read,credit-key:read@credit"
INGEST = {"Authorization": "Bearer ingest-key"}
READ = {"Authorization": "Bearer read-key"}
T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)


def _store(url: str, **limits: int) -> Store:
    return open_store(url, limits=Limits(**limits))


@pytest.fixture
def client(store_url: str) -> Iterator[tuple[TestClient, Store]]:
    store = _store(store_url, attributes=4, values=5, groups=12, labels=3, versions=2, features=3, categories=2)
    with TestClient(create_app(Settings(api_keys=KEYS), store=store)) as c:
        yield c, store
    store.close()


def _event(i: int = 0, **changes: Any) -> dict[str, Any]:
    event = {
        "prediction_id": f"p{i}",
        "model": "credit",
        "timestamp": (T0 + dt.timedelta(minutes=i)).isoformat(),
        "prediction": i % 2,
        "score": 0.1 + 0.8 * (i % 2),
        "sensitive": {"sex": "FM"[i % 2]},
    }
    event.update(changes)
    return event


def _post(client: TestClient, path: str, events: list[dict[str, Any]] | str) -> Any:
    body = events if isinstance(events, str) else json.dumps({"events": events})
    return client.post(path, content=body, headers={**INGEST, "content-type": "application/json"})


def _stored(store: Store) -> tuple[int, int]:
    return store.count("predictions"), store.count("outcomes")


# -- issue 17, defect 1: timestamps ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("timestamp", "message"),
    [
        ("9999-12-31T23:59:59.999999Z", "events[1].timestamp: Input should be less than 2200-01-01T00:00:00Z"),
        ("0001-01-01T00:00:00Z", "events[1].timestamp: Input should be greater than or equal to 1970-01-01"),
        ("0001-01-01T00:00:00+23:59", "events[1].timestamp: Input should be greater than or equal to 1970-01-01"),
        ("1969-12-31T23:59:59Z", "events[1].timestamp: Input should be greater than or equal to 1970-01-01"),
    ],
)
def test_timestamps_outside_the_supported_range_are_refused(
    client: tuple[TestClient, Store], timestamp: str, message: str
) -> None:
    c, store = client
    r = _post(c, "/v1/predictions", [_event(0), _event(1, timestamp=timestamp)])
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(message)
    r = _post(
        c,
        "/v1/outcomes",
        [{"prediction_id": "p0", "label": 1, "timestamp": T0.isoformat()}] * 1
        + [{"prediction_id": "p1", "label": 1, "timestamp": timestamp}],
    )
    assert r.status_code == 422 and r.json()["message"].startswith(message), r.text
    assert _stored(store) == (0, 0)
    # every read keeps working for everyone
    assert _post(c, "/v1/predictions", [_event(i) for i in range(20)]).status_code == 200
    assert c.get("/v1/models", headers=READ).status_code == 200
    for window in ("1h", "1w"):
        r = c.get("/v1/models/credit/metrics", params={"sensitive": "sex", "window": window}, headers=READ)
        assert r.status_code == 200, r.text


def test_timestamps_far_in_the_future_are_refused(client: tuple[TestClient, Store]) -> None:
    c, store = client
    now = dt.datetime.now(dt.timezone.utc)
    r = _post(c, "/v1/predictions", [_event(0, timestamp=(now + dt.timedelta(days=2)).isoformat())])
    assert r.status_code == 422
    assert "events[0].timestamp: " in r.json()["message"]
    assert "ahead of the server's clock" in r.json()["message"]
    assert "FAIRWATCH_MAX_FUTURE_SKEW" in r.json()["message"]
    assert _stored(store) == (0, 0)
    # within the allowance (a client clock a few minutes ahead) is fine
    assert (
        _post(c, "/v1/predictions", [_event(0, timestamp=(now + dt.timedelta(hours=1)).isoformat())]).status_code == 200
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"start": "0001-01-01T00:00:00Z", "window": "1w"},
            "query.start: Input should be greater than or equal to 1970",
        ),
        ({"end": "9999-12-31T23:59:59Z"}, "query.end: Input should be less than 2200-01-01"),
        ({"start": "2024-05-01T00:01:00Z"}, "start must fall on a 5-minute boundary"),
        ({"window": "7m"}, "window must be a whole number of 5 minutes"),
    ],
)
def test_read_periods_outside_the_supported_range_or_grid_are_refused(
    client: tuple[TestClient, Store], params: dict[str, str], message: str
) -> None:
    c, _ = client
    assert _post(c, "/v1/predictions", [_event(i) for i in range(10)]).status_code == 200
    r = c.get("/v1/models/credit/metrics", params={"sensitive": "sex", **params}, headers=READ)
    assert r.status_code == 422, r.text
    assert message in r.json()["message"]


# -- issue 17, defect 2: non-finite predictions and labels -----------------------------------------------------
@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_predictions_and_labels_are_refused(client: tuple[TestClient, Store], number: str) -> None:
    c, store = client
    good = json.dumps(_event(0))
    r = _post(c, "/v1/predictions", '{"events": [' + good[:-1] + ', "prediction": ' + number + "}]}")
    assert r.status_code == 422, r.text
    assert r.json()["message"] == "events[0].prediction: Input should be a finite number"
    r = _post(
        c,
        "/v1/outcomes",
        '{"events": [{"prediction_id": "p0", "label": ' + number + ', "timestamp": "2024-05-02T00:00:00Z"}]}',
    )
    assert r.status_code == 422, r.text
    assert r.json()["message"] == "events[0].label: Input should be a finite number"
    assert _stored(store) == (0, 0)
    assert _post(c, "/v1/predictions", [_event(i) for i in range(10)]).status_code == 200
    r = c.get("/v1/models/credit/metrics", params={"sensitive": "sex"}, headers=READ)
    assert r.status_code == 200, r.text


# -- issue 17, defect 3: a key granted one model learns nothing of the others -------------------------------------
def test_attribute_names_are_scoped_to_the_callers_models(client: tuple[TestClient, Store]) -> None:
    c, _ = client
    assert _post(c, "/v1/predictions", [_event(i) for i in range(10)]).status_code == 200
    other = [_event(i, model="clinic", sensitive={"hiv_status": "neg"}) for i in range(10)]
    assert _post(c, "/v1/predictions", other).status_code == 200
    credit_only = {"Authorization": "Bearer credit-key"}
    r = c.get("/v1/models/credit/metrics", params={"sensitive": "religion"}, headers=credit_only)
    assert r.status_code == 422
    assert r.json()["message"] == "unknown sensitive attribute 'religion' for model 'credit'; known: sex"
    assert c.post("/dashboard/api/login", json={"api_key": "credit-key"}).status_code == 200
    listed = c.get("/dashboard/api/models").json()
    assert [m["model"] for m in listed["models"]] == ["credit"]
    assert listed["sensitive"] == ["sex"]


# -- issue 17, defect 6: permanent errors are 4xx --------------------------------------------------------------
def test_values_the_store_cannot_index_are_a_422_not_a_retry(client: tuple[TestClient, Store]) -> None:
    c, store = client
    r = _post(c, "/v1/predictions", [_event(0, prediction="x" * 3000)])
    assert r.status_code == 422
    assert r.json()["message"] == "events[0].prediction: String should have at most 100 characters"
    r = _post(c, "/v1/outcomes", [{"prediction_id": "p0", "label": "y" * 3000, "timestamp": T0.isoformat()}])
    assert r.status_code == 422
    assert r.json()["message"] == "events[0].label: String should have at most 100 characters"
    r = _post(c, "/v1/predictions", [_event(0, prediction_id="nul\x00id")])
    assert r.status_code == 422 and "events[0].prediction_id: String should match pattern" in r.json()["message"]
    assert _stored(store) == (0, 0)


def test_many_attribute_names_are_a_422_naming_the_limit(client: tuple[TestClient, Store]) -> None:
    """Attributes are dictionary rows, not columns: there is no column limit to hit, only the
    per-model limit, refused before anything is stored."""
    c, store = client
    wide = {f"a{i}": "x" for i in range(1700)}
    r = _post(c, "/v1/predictions", [_event(0), _event(1, sensitive=wide)])
    assert r.status_code == 422
    message = r.json()["message"]
    assert message.startswith("model 'credit' would have 1,701 sensitive attributes, over the limit of 4")
    assert "(FAIRWATCH_MAX_ATTRIBUTES)" in message and message.endswith("Nothing of this batch was stored")
    assert _stored(store) == (0, 0)
    assert store.sensitive_attributes("credit") == []
    assert _post(c, "/v1/predictions", [_event(i) for i in range(10)]).status_code == 200
    assert store.sensitive_attributes("credit") == ["sex"]


# -- issue 16: bounded roll-ups ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [_event(i, sensitive={"sex": "F", "age": str(i)}) for i in range(6)],
            "model 'credit' would have 6 distinct values of sensitive attribute 'age', over the limit of 5 "
            "(FAIRWATCH_MAX_ATTRIBUTE_VALUES); coarsen the attribute",
        ),
        (
            [_event(i, prediction=f"class{i}") for i in range(4)],
            "model 'credit' would have 4 distinct labels, over the limit of 3 (FAIRWATCH_MAX_LABELS); the service "
            "monitors classifiers",
        ),
        (
            [_event(i, model_version=f"v{i}") for i in range(3)],
            "model 'credit' would have 3 model versions, over the limit of 2 (FAIRWATCH_MAX_VERSIONS)",
        ),
        (
            [_event(0, features={"a": 1, "b": 2, "c": 3, "d": 4})],
            "model 'credit' would have 4 feature names, over the limit of 3 (FAIRWATCH_MAX_FEATURES)",
        ),
        (
            [_event(i, sensitive={"a": str(i % 4), "b": str(i // 4)}) for i in range(16)],
            "model 'credit' would have 16 groups (combinations of sensitive values), over the limit of 12 "
            "(FAIRWATCH_MAX_GROUPS)",
        ),
    ],
    ids=["values", "labels", "versions", "features", "groups"],
)
def test_batches_over_a_limit_get_422_and_store_nothing(
    client: tuple[TestClient, Store], events: list[dict[str, Any]], message: str
) -> None:
    c, store = client
    r = _post(c, "/v1/predictions", events)
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(message), r.json()["message"]
    assert _stored(store) == (0, 0)
    assert store.models() == []


def test_outcome_labels_count_towards_the_label_limit(client: tuple[TestClient, Store]) -> None:
    c, store = client
    assert _post(c, "/v1/predictions", [_event(i) for i in range(4)]).status_code == 200
    outcomes = [
        {"prediction_id": f"p{i}", "model": "credit", "label": f"c{i}", "timestamp": T0.isoformat()} for i in range(4)
    ]
    r = _post(c, "/v1/outcomes", outcomes)
    assert r.status_code == 422
    assert r.json()["message"].startswith("model 'credit' would have 6 distinct labels, over the limit of 3")
    assert store.count("outcomes") == 0


def test_text_features_beyond_the_category_limit_are_pooled_and_said_so(client: tuple[TestClient, Store]) -> None:
    c, _ = client
    events = [_event(i, features={"city": f"c{i % 5}"}) for i in range(120)]
    assert _post(c, "/v1/predictions", events).status_code == 200
    r = c.get(
        "/v1/models/credit/drift",
        params={
            "reference_start": "2024-05-01T00:00:00Z",
            "reference_end": "2024-05-01T01:00:00Z",
            "start": "2024-05-01T01:00:00Z",
            "end": "2024-05-01T02:00:00Z",
        },
        headers=READ,
    )
    assert r.status_code == 200, r.text
    (city,) = r.json()["features"]
    assert city["n_reference"] == 60 and city["n_current"] == 60
    assert (
        city["note"]
        == "text values beyond the store's limit of categories per feature are counted together as '(other)'"
    )


def test_reads_over_the_windows_times_groups_limit_get_422(client: tuple[TestClient, Store]) -> None:
    c, _ = client
    assert _post(c, "/v1/predictions", [_event(i) for i in range(2)]).status_code == 200
    late = _event(9, timestamp=(T0 + dt.timedelta(days=30)).isoformat())
    assert _post(c, "/v1/predictions", [late]).status_code == 200
    from fairwatch.monitor import _cells

    limit = _cells.MAX_WINDOW_GROUPS
    _cells.MAX_WINDOW_GROUPS = 10_000
    try:
        r = c.get("/v1/models/credit/metrics", params={"sensitive": "sex", "window": "5m"}, headers=READ)
    finally:
        _cells.MAX_WINDOW_GROUPS = limit
    assert r.status_code == 422
    assert r.json()["message"] == (
        "8,641 windows x 2 groups is over the limit of 10,000 per request; use longer windows, a shorter period "
        "or fewer sensitive attributes"
    )


def test_a_batch_whose_features_are_all_null_is_stored(client: tuple[TestClient, Store]) -> None:
    """Found by the schema fuzzing: features present but every value null gave a 500."""
    c, store = client
    r = _post(c, "/v1/predictions", [_event(0, features={"a": None}), _event(1, features={})])
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2
    assert store.entries("credit").feature_names() == []
