"""Key management against a running service: ``/v1/keys``, ``fairwatch keys ... --url``, revocation in seconds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from fairwatch.client import Client, ClientError
from fairwatch.monitor import Store, open_store
from fairwatch.server import Settings, create_app

from .conftest import postgres_url
from .events import make_stream
from .test_cli_monitor import run
from .test_client import serve

ADMIN = "keys-admin-key-5e1f"
READER = "keys-read-key-90ab"
KEYS = f"{ADMIN}:admin,{READER}:read"


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _app(store: Store) -> TestClient:
    return TestClient(create_app(Settings(api_keys=KEYS, evaluation_interval=0), store=store))


def test_admin_creates_lists_and_revokes_keys_through_the_api(store: Store) -> None:
    store.insert_predictions(make_stream(20).predictions)
    with _app(store) as client:
        created = client.post(
            "/v1/keys", json={"name": "pipeline", "scopes": ["read"], "models": ["credit"]}, headers=_bearer(ADMIN)
        )
        assert created.status_code == 201
        body = created.json()
        plain, key_id = body["key"], body["key_id"]
        assert plain.startswith("fw_") and body["scopes"] == ["read"] and body["models"] == ["credit"]

        listed = client.get("/v1/keys", headers=_bearer(ADMIN))
        assert listed.status_code == 200 and plain not in listed.text
        assert [(k["key_id"], k["name"], k["revoked"]) for k in listed.json()["keys"]] == [(key_id, "pipeline", None)]
        assert client.get("/v1/models", headers=_bearer(plain)).status_code == 200

        assert client.delete(f"/v1/keys/{key_id}", headers=_bearer(ADMIN)).status_code == 204
        refused = client.get("/v1/models", headers=_bearer(plain))
        assert refused.status_code == 401 and refused.json()["detail"] == "invalid or revoked API key"
        assert client.get("/v1/keys", headers=_bearer(ADMIN)).json()["keys"][0]["revoked"] is not None

        again = client.delete(f"/v1/keys/{key_id}", headers=_bearer(ADMIN))
        assert again.status_code == 404
        assert again.json()["detail"] == f"no active key with id {key_id!r}; GET /v1/keys lists them"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "x", "scopes": ["write"]}, 422, "unknown scope 'write'; scopes are ingest, read, admin"),
        (
            {"name": "x", "scopes": ["admin"], "models": ["credit"]},
            422,
            "an admin key sees every model and cannot be limited to some; give it read or ingest scopes instead",
        ),
        ({"name": "x", "scopes": []}, 422, "scopes: List should have at least 1 item after validation, not 0"),
        ({"name": "x", "scopes": ["read"], "key": "chosen"}, 422, "key: Extra inputs are not permitted"),
    ],
)
def test_bad_key_requests_are_refused_with_the_reason(
    store: Store, body: dict[str, object], status: int, message: str
) -> None:
    with _app(store) as client:
        answer = client.post("/v1/keys", json=body, headers=_bearer(ADMIN))
    assert answer.status_code == status
    assert answer.json()["message"] == message
    assert store.list_keys() == []


def test_key_management_needs_the_admin_scope(store: Store) -> None:
    with _app(store) as client:
        answers = [
            client.get("/v1/keys", headers=_bearer(READER)),
            client.post("/v1/keys", json={"name": "x", "scopes": ["admin"]}, headers=_bearer(READER)),
            client.delete("/v1/keys/abc", headers=_bearer(READER)),
            client.get("/v1/keys"),
        ]
    assert [a.status_code for a in answers] == [403, 403, 403, 401]
    assert answers[0].json()["detail"] == "this API key lacks the 'admin' scope (it has: read)"
    assert store.list_keys() == []


@pytest.fixture
def two_replicas() -> Iterator[tuple[Store, Store]]:
    """Two stores (as two service replicas would hold) on one PostgreSQL schema."""
    url = postgres_url("replicas")
    first, second = open_store(url), open_store(url)
    yield first, second
    second.close()
    first.drop_schema()  # type: ignore[attr-defined]
    first.close()


def test_a_key_revoked_through_one_replica_is_refused_by_the_other(two_replicas: tuple[Store, Store]) -> None:
    first, second = two_replicas
    first.insert_predictions(make_stream(20).predictions)
    with _app(first) as a, _app(second) as b:
        plain = a.post("/v1/keys", json={"name": "dash", "scopes": ["read"]}, headers=_bearer(ADMIN)).json()["key"]
        assert b.get("/v1/models", headers=_bearer(plain)).status_code == 200
        assert b.post("/dashboard/api/login", json={"api_key": plain}).status_code == 200  # a dashboard session on b
        key_id = a.get("/v1/keys", headers=_bearer(ADMIN)).json()["keys"][0]["key_id"]

        assert a.delete(f"/v1/keys/{key_id}", headers=_bearer(ADMIN)).status_code == 204
        # no cache: the very next request to the other replica is refused, and its session ends
        assert b.get("/v1/models", headers=_bearer(plain)).status_code == 401
        ended = b.get("/dashboard/api/models")
        assert ended.status_code == 401
        assert ended.json()["detail"] == "session ended: invalid or revoked API key; log in again"


def test_cli_manages_keys_through_a_running_service(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    store.insert_predictions(make_stream(20).predictions)
    with serve(create_app(Settings(api_keys=KEYS, evaluation_interval=0), store=store)) as url:
        service = ["--url", url, "--api-key", ADMIN]
        code, out, err = run(["keys", "create", "--name", "etl", "--scopes", "ingest,read", *service], capsys)
        assert code == 0 and out.startswith("fw_"), err
        plain = out.strip()
        assert "created key" in err and "(ingest, read)" in err

        code, out, _ = run(["keys", "list", *service], capsys)
        assert code == 0 and "\tetl\tingest|read\tactive\t" in out and plain not in out
        key_id = out.split("\t")[0]
        assert httpx.get(f"{url}/v1/models", headers=_bearer(plain)).status_code == 200

        code, out, _ = run(["keys", "revoke", key_id, *service], capsys)
        assert (code, out.strip()) == (0, f"revoked {key_id}")
        assert httpx.get(f"{url}/v1/models", headers=_bearer(plain)).status_code == 401

        code, _, err = run(["keys", "revoke", key_id, *service], capsys)
        assert code == 2 and f"HTTP 404: no active key with id {key_id!r}; GET /v1/keys lists them" in err
        code, _, err = run(["keys", "list", "--url", url, "--api-key", READER], capsys)
        assert code == 2 and "HTTP 403: this API key lacks the 'admin' scope (it has: read)" in err


def test_client_manages_keys(store: Store) -> None:
    with (
        serve(create_app(Settings(api_keys=KEYS, evaluation_interval=0), store=store)) as url,
        Client(url, ADMIN) as client,
    ):
        created = client.create_key("svc", "ingest", models="credit")
        assert created["scopes"] == ["ingest"] and created["models"] == ["credit"]
        assert [k["name"] for k in client.list_keys()] == ["svc"]
        assert client.revoke_key(created["key_id"]) is None
        with pytest.raises(ClientError, match="HTTP 404: no active key with id"):
            client.revoke_key(created["key_id"])


def test_revoking_a_key_of_a_duckdb_store_held_by_a_running_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: the CLI cannot open the locked file, says how to go through the service, and that works."""
    from .test_faults import Service

    store_url = f"duckdb://{tmp_path / 'events.duckdb'}"
    service = Service(store_url, tmp_path / "service.log", env={"FAIRWATCH_API_KEYS": f"{ADMIN}:admin"})
    service.start()
    try:
        through = ["--url", service.url, "--api-key", ADMIN]
        code, out, err = run(["keys", "create", "--name", "leaked", "--scopes", "read", *through], capsys)
        assert code == 0, err
        plain = out.strip()
        code, out, _ = run(["keys", "list", *through], capsys)
        key_id = out.split("\t")[0]
        assert httpx.get(f"{service.url}/v1/models", headers=_bearer(plain)).status_code == 200

        code, _, err = run(["keys", "revoke", key_id, "--store", store_url], capsys)
        assert code == 2
        assert (
            f"error: the DuckDB store {store_url!r} is in use by another process (a running 'fairwatch serve'?); "
            "manage keys through the running service instead: add --url http://HOST:PORT --api-key <an admin key> "
            "(or set FAIRWATCH_URL and FAIRWATCH_API_KEY)"
        ) in " ".join(err.split())

        code, out, _ = run(["keys", "revoke", key_id, *through], capsys)
        assert code == 0
        refused = httpx.get(f"{service.url}/v1/models", headers=_bearer(plain))
        assert refused.status_code == 401 and refused.json()["detail"] == "invalid or revoked API key"
    finally:
        service.stop()
