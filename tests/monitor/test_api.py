"""The HTTP API: auth, ingest, validation errors, limits, metrics and operations endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fairwatch.monitor import Store, open_store, window_metrics
from fairwatch.server import Settings, create_app

from .events import make_stream

KEYS = "ingest-key:ingest,read-key:read,admin-key:admin,both-key:ingest|read"
INGEST = {"Authorization": "Bearer ingest-key"}
READ = {"Authorization": "Bearer read-key"}


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    app = create_app(Settings(api_keys=KEYS, max_body_bytes=2_000_000), store=store)
    with TestClient(app) as c:
        yield c


def _events(n: int = 50, seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    stream = make_stream(n, seed=seed)
    return (
        [json.loads(e.model_dump_json()) for e in stream.predictions],
        [json.loads(e.model_dump_json()) for e in stream.outcomes],
    )


def test_ingest_and_duplicates(client: TestClient, store: Store) -> None:
    predictions, outcomes = _events(50)
    r = client.post("/v1/predictions", json={"events": predictions}, headers=INGEST)
    assert r.status_code == 200
    assert r.json() == {"accepted": 50, "duplicates": 0}
    r = client.post("/v1/predictions", json={"events": predictions[:20]}, headers=INGEST)
    assert r.json() == {"accepted": 0, "duplicates": 20}
    r = client.post("/v1/outcomes", json={"events": outcomes}, headers=INGEST)
    assert r.json()["accepted"] == len(outcomes)
    assert store.count("predictions") == 50


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "missing API key"),
        ({"Authorization": "Bearer wrong"}, 401, "invalid or revoked API key"),
        (READ, 403, "this API key lacks the 'ingest' scope (it has: read)"),
    ],
)
def test_ingest_auth(client: TestClient, headers: dict[str, str], status: int, message: str) -> None:
    predictions, _ = _events(2)
    r = client.post("/v1/predictions", json={"events": predictions}, headers=headers)
    assert r.status_code == status
    assert r.json()["detail"].startswith(message)


def test_admin_and_multi_scope_keys(client: TestClient) -> None:
    predictions, _ = _events(2)
    for key in ("admin-key", "both-key"):
        r = client.post("/v1/predictions", json={"events": predictions}, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200
    assert client.get("/v1/models", headers={"Authorization": "Bearer both-key"}).status_code == 200
    assert client.get("/v1/models", headers=INGEST).status_code == 403


def test_stored_keys_work_and_revocation(client: TestClient, store: Store) -> None:
    key = store.create_key("pipeline", ["read"])
    assert key.plain is not None
    headers = {"Authorization": f"Bearer {key.plain}"}
    assert client.get("/v1/models", headers=headers).status_code == 200
    store.revoke_key(key.key_id)
    assert client.get("/v1/models", headers=headers).status_code == 401


def test_malformed_event_names_field_and_index_and_stores_nothing(client: TestClient, store: Store) -> None:
    predictions, _ = _events(5)
    predictions[3]["timestamp"] = "2024-05-01T10:00:00"  # no timezone
    r = client.post("/v1/predictions", json={"events": predictions}, headers=INGEST)
    assert r.status_code == 422
    assert r.json()["message"] == "events[3].timestamp: Input should have timezone info"
    assert store.count("predictions") == 0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.pop("model"), "events[0].model: Field required"),
        (lambda e: e.update(score=1.5), "events[0].score: Input should be less than or equal to 1"),
        (
            lambda e: e.update(sensitive={"bad name": "x"}),
            "events[0].sensitive.bad name.[key]: String should match pattern",
        ),
        (lambda e: e.update(extra_field=1), "events[0].extra_field: Extra inputs are not permitted"),
    ],
)
def test_validation_messages(client: TestClient, mutate: Any, message: str) -> None:
    predictions, _ = _events(1)
    mutate(predictions[0])
    r = client.post("/v1/predictions", json={"events": predictions}, headers=INGEST)
    assert r.status_code == 422
    assert r.json()["message"].startswith(message)


def test_empty_and_non_json_bodies(client: TestClient) -> None:
    r = client.post("/v1/predictions", json={"events": []}, headers=INGEST)
    assert r.status_code == 422
    assert r.json()["message"].startswith("events: List should have at least 1 item")
    r = client.post("/v1/predictions", content=b"{not json", headers={**INGEST, "content-type": "application/json"})
    assert r.status_code == 422


def test_oversized_body_gets_413(client: TestClient, store: Store) -> None:
    predictions, _ = _events(1)
    big = [dict(predictions[0], prediction_id=str(i), features={"blob": "x" * 1000}) for i in range(3000)]
    r = client.post("/v1/predictions", json={"events": big}, headers=INGEST)
    assert r.status_code == 413
    assert "request body larger than 2000000 bytes" in r.json()["detail"]
    assert store.count("predictions") == 0


def test_metrics_endpoint_equals_the_window_service(client: TestClient, store: Store) -> None:
    predictions, outcomes = _events(400, seed=3)
    client.post("/v1/predictions", json={"events": predictions}, headers=INGEST)
    client.post("/v1/outcomes", json={"events": outcomes}, headers=INGEST)
    r = client.get("/v1/models/credit/metrics", params={"sensitive": "sex", "window": "1h", "ci": 0.95}, headers=READ)
    assert r.status_code == 200
    body = r.json()
    direct = window_metrics(store, "credit", sensitive=["sex"], window="1h", ci=0.95)
    assert len(body["windows"]) == len(direct)
    first = body["windows"][0]
    expected = direct[0].to_dict()
    assert first["n"] == expected["n"] and first["label_coverage"] == expected["label_coverage"]
    assert first["groups"][0]["metrics"] == expected["groups"][0]["metrics"]
    assert "demographic_parity" in first["disparities"]


def test_metrics_errors(client: TestClient) -> None:
    predictions, _ = _events(10)
    client.post("/v1/predictions", json={"events": predictions}, headers=INGEST)
    r = client.get("/v1/models/nope/metrics", params={"sensitive": "sex"}, headers=READ)
    assert r.status_code == 404
    assert r.json()["detail"] == "unknown model 'nope': no predictions stored for it"
    r = client.get("/v1/models/credit/metrics", params={"sensitive": "religion"}, headers=READ)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("unknown sensitive attribute 'religion'")
    r = client.get("/v1/models/credit/metrics", params={"sensitive": "sex", "metrics": "nope"}, headers=READ)
    assert r.status_code == 422
    assert "unknown metric 'nope'" in r.json()["detail"]
    r = client.get(
        "/v1/models/credit/metrics", params={"sensitive": "sex", "start": "2024-05-01T00:00:00"}, headers=READ
    )
    assert r.status_code == 422
    assert r.json()["message"].startswith("query.start: Input should have timezone info")


@pytest.fixture
def memory_client() -> Iterator[TestClient]:
    """A service on an empty in-memory store, for answers that do not depend on stored events."""
    app = create_app(Settings(api_keys=KEYS), store=open_store("duckdb://:memory:"))
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "/v1/keys", "GET, POST"),
        ("OPTIONS", "/v1/keys", "GET, POST"),
        ("POST", "/v1/rules/abc", "GET, PUT, DELETE"),
        ("GET", "/v1/predictions", "POST"),
    ],
)
def test_a_method_the_path_lacks_gets_405_naming_every_method_it_has(
    memory_client: TestClient, method: str, path: str, allow: str
) -> None:
    r = memory_client.request(method, path, headers=READ)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.json()["message"] == f"method {method} is not allowed on {path}; allowed: {allow}"


@pytest.mark.parametrize(
    ("path", "params", "location"),
    [
        ("/v1/models/credit/metrics", {"sensitive": ""}, "query.sensitive"),
        ("/v1/models/credit/metrics", {"sensitive": "sex,,race"}, "query.sensitive"),
        ("/v1/models/credit/metrics", {"sensitive": "sex", "window": "1 hour"}, "query.window"),
        ("/v1/models/credit/metrics", {"sensitive": "sex", "start": "1969-12-31T00:00:00Z"}, "query.start"),
        ("/v1/models/credit%20model/metrics", {"sensitive": "sex"}, "path.model"),
        ("/v1/models/credit/drift", {"features": "age;region"}, "query.features"),
    ],
)
def test_parameters_outside_the_documented_syntax_are_refused(
    memory_client: TestClient, path: str, params: dict[str, str], location: str
) -> None:
    r = memory_client.get(path, params=params, headers=READ)
    assert r.status_code == 422
    assert location in {_joined(p["loc"]) for p in r.json()["detail"]}


def _joined(loc: list[str | int]) -> str:
    return ".".join(map(str, loc))


def test_documented_parameter_syntax_is_accepted(client: TestClient) -> None:
    predictions, _ = _events(10)
    client.post("/v1/predictions", json={"events": predictions}, headers=INGEST)
    r = client.get("/v1/models/credit/metrics", params={"sensitive": " sex , race", "window": "1d"}, headers=READ)
    assert r.status_code == 200
    assert r.json()["sensitive"] == ["sex", "race"]


def test_health_and_prometheus(client: TestClient) -> None:
    predictions, _ = _events(10)
    client.post("/v1/predictions", json={"events": predictions}, headers=INGEST)
    client.get("/v1/models/credit/metrics", params={"sensitive": "sex", "window": "1d"}, headers=READ)
    assert client.get("/v1/health").json()["status"] == "ok"
    text = client.get("/metrics").text
    assert 'fairwatch_events_total{kind="predictions",result="accepted"} 10.0' in text
    assert 'fairwatch_disparity{disparity="demographic_parity",model="credit",statistic="difference"}' in text


def test_openapi_spec(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/predictions", "/v1/outcomes", "/v1/models", "/v1/models/{model}/metrics", "/v1/health"} <= set(
        spec["paths"]
    )


def test_store_that_went_away_gives_503(tmp_path: Any) -> None:
    store = open_store(f"duckdb://{tmp_path / 'gone.duckdb'}")
    app = create_app(Settings(api_keys=KEYS), store=store)
    with TestClient(app) as c:
        store.close()  # the database went away
        predictions, _ = _events(3)
        r = c.post("/v1/predictions", json={"events": predictions}, headers=INGEST)
        assert r.status_code == 503
        assert "nothing was written" in r.json()["detail"] or "not available" in r.json()["detail"]
        assert c.get("/v1/health").status_code == 503


def test_unreachable_postgres_is_a_clear_error() -> None:
    from fairwatch.exceptions import StoreUnavailableError

    with pytest.raises(StoreUnavailableError, match=r"PostgreSQL store is unavailable .*retry when it is back"):
        open_store("postgresql://postgres@127.0.0.1:1/test?schema=fw_nowhere")


def test_no_keys_configured_means_no_access(store: Store) -> None:
    with TestClient(create_app(Settings(api_keys=""), store=store)) as c:
        assert c.get("/v1/models").status_code == 401
    with TestClient(create_app(Settings(api_keys="", auth_disabled=True), store=store)) as c:
        assert c.get("/v1/models").status_code == 200


def test_bad_key_configuration() -> None:
    from fairwatch.exceptions import InvalidInputError
    from fairwatch.server import parse_api_keys

    assert parse_api_keys("a:ingest, b:read|admin") == [("a", ("ingest",)), ("b", ("read", "admin"))]
    with pytest.raises(InvalidInputError, match=r"unknown scope 'write'"):
        parse_api_keys("a:write")
    with pytest.raises(InvalidInputError, match=r"an entry has no scope"):
        parse_api_keys("justakey")


def test_drift_endpoint(client: TestClient) -> None:
    predictions, _ = _events(300)
    client.post("/v1/predictions", json={"events": predictions}, headers=INGEST)
    params = {
        "reference_start": "2024-05-01T00:00:00Z",
        "reference_end": "2024-05-01T01:00:00Z",
        "start": "2024-05-01T01:00:00Z",
        "end": "2024-05-01T03:00:00Z",
        "sensitive": "sex",
    }
    r = client.get("/v1/models/credit/drift", params=params, headers=READ)
    assert r.status_code == 200
    features = r.json()["features"]
    assert {f["feature"] for f in features} == {"age", "region"}
    assert any(f["group"] == {"sex": "F"} for f in features)
    r = client.get("/v1/models/credit/drift", params={**params, "features": "salary"}, headers=READ)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("unknown feature 'salary'")
