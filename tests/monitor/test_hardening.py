"""Service hardening: size limits, per-key rate limits, key storage and secrecy, logs without secrets
or sensitive values, per-model grants, CORS."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor import Store, open_store
from fairwatch.monitor._events import MAX_BATCH
from fairwatch.server import Settings, create_app
from fairwatch.server._ratelimit import RateLimiter
from fairwatch.server._settings import KeyGrant, match_env_key, parse_key_grants

from .events import make_stream
from .test_cli_monitor import run

INGEST_KEY = "hardening-ingest-key-3f9c2a"
READ_KEY = "hardening-read-key-81d7e0"
KEYS = f"{INGEST_KEY}:ingest,{READ_KEY}:read"


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _predictions(n: int, model: str = "credit", seed: int = 0) -> list[dict[str, Any]]:
    stream = make_stream(n, seed=seed, model=model)
    return [json.loads(e.model_dump_json()) for e in stream.predictions]


@pytest.fixture
def duck(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"duckdb://{tmp_path / 'events.duckdb'}")
    yield store
    store.close()


def _client(store: Store, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(api_keys=KEYS, **settings), store=store))


# -- size limits -----------------------------------------------------------------------------------
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_bodies_over_the_limit_get_413_and_store_nothing(duck: Store, chunked: bool) -> None:
    body = json.dumps({"events": _predictions(600)}).encode()
    assert len(body) > 100_000
    with _client(duck, max_body_bytes=100_000) as client:
        # a generator body goes out with Transfer-Encoding: chunked, without Content-Length
        content: Any = iter([body[i : i + 30_000] for i in range(0, len(body), 30_000)]) if chunked else body
        r = client.post("/v1/predictions", content=content, headers=_bearer(INGEST_KEY))
    assert r.status_code == 413
    assert r.json()["detail"] == "request body larger than 100000 bytes; send smaller batches"
    assert duck.count("predictions") == 0


@pytest.mark.parametrize("path", ["/v1/predictions", "/v1/outcomes"])
def test_batches_over_the_event_limit_get_422_naming_the_limit(duck: Store, path: str) -> None:
    stream = make_stream(MAX_BATCH + 1)
    kind = stream.predictions if path.endswith("predictions") else stream.outcomes
    events = [json.loads(e.model_dump_json()) for e in kind]
    while len(events) <= MAX_BATCH:
        events.append(dict(events[-1], prediction_id=f"x{len(events)}"))
    with _client(duck) as client:
        r = client.post(path, json={"events": events}, headers=_bearer(INGEST_KEY))
    assert r.status_code == 422
    assert (
        r.json()["message"] == f"events: List should have at most {MAX_BATCH} items after validation, not {len(events)}"
    )
    assert duck.count("predictions") == duck.count("outcomes") == 0


# -- rate limits -----------------------------------------------------------------------------------
def test_token_bucket_refills_at_the_rate() -> None:
    now = [100.0]
    limiter = RateLimiter(rate=4, burst=2, clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.25]
    assert limiter.acquire("b") == 0.0  # buckets are per key
    now[0] += 0.25
    assert limiter.acquire("a") == 0.0
    now[0] += 60  # a long pause refills up to the burst, not beyond
    assert [limiter.acquire("a") for _ in range(3)][-1] > 0
    assert RateLimiter(rate=0).acquire("a") == 0.0
    assert RateLimiter(rate=0.5).burst == 1.0
    assert RateLimiter.retry_after(0.01) == "1" and RateLimiter.retry_after(2.2) == "3"


def test_requests_over_the_rate_get_429_with_retry_after(duck: Store) -> None:
    duck.insert_predictions(make_stream(20).predictions)
    with _client(duck, rate_limit_per_second=0.5, rate_limit_burst=2) as client:
        codes = [client.get("/v1/models", headers=_bearer(READ_KEY)).status_code for _ in range(2)]
        refused = client.get("/v1/models", headers=_bearer(READ_KEY))
        other_key = client.post("/v1/predictions", json={"events": _predictions(2)}, headers=_bearer(INGEST_KEY))
        unauthenticated = client.get("/v1/models", headers=_bearer("not-a-key"))
    assert codes == [200, 200]
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    assert refused.json()["detail"].startswith(
        "rate limit exceeded: this API key may make 0.5 requests per second (bursts of 2); retry in "
    )
    assert other_key.status_code == 200  # each key has its own bucket
    assert unauthenticated.status_code == 401  # unknown keys are refused before they get a bucket


def test_rate_limit_is_off_by_default(duck: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().rate_limit_per_second == 0
    with _client(duck) as client:
        codes = {client.get("/v1/health").status_code for _ in range(5)}
        codes |= {client.get("/v1/models", headers=_bearer(READ_KEY)).status_code for _ in range(100)}
    assert codes == {200}
    monkeypatch.setenv("FAIRWATCH_RATE_LIMIT_PER_SECOND", "20")
    monkeypatch.setenv("FAIRWATCH_RATE_LIMIT_BURST", "40")
    assert (Settings().rate_limit_per_second, Settings().rate_limit_burst) == (20.0, 40)


# -- failed authentications, per client address ---------------------------------------------------
def test_failed_authentications_are_limited_per_address(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    stored = store.create_key("etl", ["ingest"]).plain
    assert stored is not None
    lookups: list[str] = []
    real_grant = store.key_grant
    monkeypatch.setattr(store, "key_grant", lambda plain: lookups.append(plain) or real_grant(plain))
    app = create_app(Settings(api_keys=KEYS, auth_failures_per_minute=3, evaluation_interval=0), store=store)
    with TestClient(app) as client, TestClient(app, client=("10.9.8.7", 40000)) as elsewhere:
        ok = [client.get("/v1/models", headers=_bearer(READ_KEY)).status_code for _ in range(20)]
        wrong = [client.get("/v1/models", headers=_bearer(f"fw_guess-{i}")) for i in range(4)]
        lookups.clear()
        guessing = client.get("/v1/models", headers=_bearer("fw_guess-next"))
        looked_up = list(lookups)
        worked_before = client.get("/v1/models", headers=_bearer(READ_KEY))
        not_seen_here = client.post("/v1/predictions", json={"events": _predictions(2)}, headers=_bearer(stored))
        dashboard = client.post("/dashboard/api/login", json={"api_key": "fw_guess-dash"})
        other_address = elsewhere.get("/v1/models", headers=_bearer("fw_guess-0"))
    assert ok == [200] * 20  # successful requests take nothing from the failure budget
    assert [r.status_code for r in wrong] == [401, 401, 401, 429]
    refused = wrong[3]
    assert refused.headers["Retry-After"] == "20"  # 3 per minute: a token every 20 s
    assert refused.json()["detail"] == (
        "too many failed authentications from this address: at most 3 per minute "
        "(FAIRWATCH_AUTH_FAILURES_PER_MINUTE); retry in 20 s"
    )
    assert guessing.status_code == 429 and looked_up == []  # a blocked address's keys are not even looked up
    assert worked_before.status_code == 200  # a key that worked from this address keeps working
    assert not_seen_here.status_code == 429  # a valid key new to this address waits like a guess
    assert dashboard.status_code == 429
    assert other_address.status_code == 401  # counted per address


def test_failed_authentication_limit_can_be_turned_off(duck: Store) -> None:
    assert Settings().auth_failures_per_minute == 30
    with _client(duck, auth_failures_per_minute=0) as client:
        codes = {client.get("/v1/models", headers=_bearer(f"wrong-{i}")).status_code for i in range(50)}
    assert codes == {401}


def test_failed_auth_limiter_forgets_the_oldest_addresses() -> None:
    from fairwatch.server._ratelimit import FailedAuthLimiter

    limiter = FailedAuthLimiter(per_minute=1, clock=lambda: 0.0, max_addresses=3)
    for address in ("a", "b", "c", "d"):
        limiter.failed(address)
        limiter.succeeded(address, "key")
    assert len(limiter.buckets._buckets) == 3 and len(limiter._worked) == 3
    assert limiter.blocked("a", "x") == 0.0 and limiter.blocked("d", "x") == 60.0


# -- keys: hashed, compared in constant time, never logged ----------------------------------------
def test_stored_keys_are_only_hashes(duck: Store) -> None:
    key = duck.create_key("pipeline", ["read"])
    assert key.plain is not None and key.plain.startswith("fw_") and len(key.plain) > 40
    rows = duck.query("SELECT * FROM api_keys")
    assert len(rows) == 1
    assert key.plain not in repr(rows)
    assert hashlib.sha256(key.plain.encode()).hexdigest() in rows[0]
    assert all(k.plain is None for k in duck.list_keys())


def test_env_keys_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    keys = parse_key_grants("first:ingest,second:read,a-much-longer-third-key:admin")
    for presented, expected in [("first", "ingest"), ("a-much-longer-third-key", "admin"), ("nope", None)]:
        calls.clear()
        found = match_env_key(keys, presented)
        assert (found.scopes[0] if found else None) == expected
        # every key is compared, as fixed-length digests: no early exit, no length leak
        assert len(calls) == 3
        assert {len(a) for pair in calls for a in pair} == {32}


def _auth_traffic(client: TestClient, stored_key: str) -> None:
    payload = {"events": _predictions(3)}
    for key in (INGEST_KEY, READ_KEY, stored_key, "fw_guessed-key-value-000", "wrong-key-value-123"):
        client.post("/v1/predictions", json=payload, headers=_bearer(key))
        client.get("/v1/models", headers=_bearer(key))
        client.get("/v1/models/credit/metrics?sensitive=sex", headers=_bearer(key))


def test_keys_never_appear_in_logs(duck: Store, caplog: pytest.LogCaptureFixture) -> None:
    stored = duck.create_key("reader", ["read"]).plain
    assert stored is not None
    caplog.set_level(logging.DEBUG)
    with _client(duck, rate_limit_per_second=1, rate_limit_burst=1) as client:  # 429s are logged too
        _auth_traffic(client, stored)
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    for secret in (INGEST_KEY, READ_KEY, stored, "fw_guessed-key-value-000", "wrong-key-value-123"):
        assert secret not in text


# -- sensitive values never logged -------------------------------------------------------------------
SECRET_VALUES = ("Zorblax-Ethnicity-77", "Quixotic-Religion-41")


def test_sensitive_values_never_appear_in_logs_or_error_answers(duck: Store, caplog: pytest.LogCaptureFixture) -> None:
    events = _predictions(30)
    for i, event in enumerate(events):
        event["sensitive"]["race"] = SECRET_VALUES[i % 2]
    invalid = [dict(e) for e in events[:3]]
    invalid[1] = dict(invalid[1], sensitive={"race": {"nested": SECRET_VALUES[0]}})  # wrong type
    invalid[2] = dict(invalid[2], sensitive={"race": [SECRET_VALUES[1]]}, timestamp="2024-05-01T10:00:00")
    caplog.set_level(logging.DEBUG)
    with _client(duck) as client:
        answers = [
            client.post("/v1/predictions", json={"events": events}, headers=_bearer(INGEST_KEY)),
            client.post("/v1/predictions", json={"events": invalid}, headers=_bearer(INGEST_KEY)),
            client.get("/v1/models/credit/metrics?sensitive=race&ci=0.9", headers=_bearer(READ_KEY)),
            client.get("/v1/models/credit/metrics?sensitive=race,nope", headers=_bearer(READ_KEY)),
            client.get("/metrics"),
        ]
    assert [a.status_code for a in answers] == [200, 422, 200, 422, 200]
    assert SECRET_VALUES[0] in answers[2].text  # the metrics answer shows groups: that is its job
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    for secret in SECRET_VALUES:
        assert secret not in text
        assert secret not in answers[1].text  # a 422 names the field, never echoes the value
        assert secret not in answers[4].text  # Prometheus labels carry no group values


def test_live_server_logs_hold_no_keys_or_sensitive_values(tmp_path: Path) -> None:
    """The real process at debug level with its access log on: neither keys nor values reach its output."""
    import httpx

    from .test_faults import API_KEY, Service

    service = Service(f"duckdb://{tmp_path / 'events.duckdb'}", tmp_path / "service.log", log_level="debug")
    service.start()
    try:
        events = _predictions(10)
        for event in events:
            event["sensitive"]["race"] = SECRET_VALUES[0]
        bad = [dict(events[0], sensitive={"race": {"x": SECRET_VALUES[1]}})]
        with httpx.Client(base_url=service.url, timeout=30) as client:
            ok = client.post("/v1/predictions", json={"events": events}, headers=_bearer(API_KEY))
            refused = client.post("/v1/predictions", json={"events": bad}, headers=_bearer(API_KEY))
            wrong = client.get("/v1/models", headers=_bearer("wrong-key-value-123"))
    finally:
        service.stop()
    assert (ok.status_code, refused.status_code, wrong.status_code) == (200, 422, 401)
    output = service.output()
    assert "POST /v1/predictions" in output  # the access log was on
    for secret in (API_KEY, "wrong-key-value-123", *SECRET_VALUES):
        assert secret not in output


# -- per-model grants ------------------------------------------------------------------------------
@pytest.fixture
def two_models(store: Store) -> Store:
    store.insert_predictions(make_stream(60, model="credit").predictions)
    store.insert_predictions(make_stream(60, model="loans", seed=1).predictions)
    return store


def test_a_key_limited_to_models_sees_only_those(two_models: Store) -> None:
    stored = two_models.create_key("credit-reader", ["read"], models=["credit"]).plain
    assert stored is not None
    keys = "env-credit:read@credit,env-all:read"
    with TestClient(create_app(Settings(api_keys=keys), store=two_models)) as client:
        for key in ("env-credit", stored):
            listed = client.get("/v1/models", headers=_bearer(key)).json()
            assert [m["model"] for m in listed["models"]] == ["credit"]
            assert client.get("/v1/models/credit/metrics?sensitive=sex", headers=_bearer(key)).status_code == 200
            for route in ("metrics?sensitive=sex", "drift?" + _DRIFT, "estimates?sensitive=sex&" + _REFERENCE):
                hidden = client.get(f"/v1/models/loans/{route}", headers=_bearer(key))
                absent = client.get(f"/v1/models/absent/{route}", headers=_bearer(key))
                # 404, word for word the answer for a model that does not exist: existence is not leaked
                assert hidden.status_code == absent.status_code == 404
                assert (
                    hidden.json()
                    == {k: v.replace("absent", "loans") for k, v in absent.json().items()}
                    == {
                        "detail": "unknown model 'loans': no predictions stored for it",
                        "message": "unknown model 'loans': no predictions stored for it",
                    }
                )
        everything = client.get("/v1/models", headers=_bearer("env-all")).json()
        assert [m["model"] for m in everything["models"]] == ["credit", "loans"]
        assert client.get("/v1/models/loans/metrics?sensitive=sex", headers=_bearer("env-all")).status_code == 200


_REFERENCE = "reference_start=2024-05-01T00:00:00Z&reference_end=2024-05-01T00:15:00Z"
_DRIFT = (
    "reference_start=2024-05-01T00:00:00Z&reference_end=2024-05-01T00:15:00Z"
    "&start=2024-05-01T00:15:00Z&end=2024-05-01T00:30:00Z"
)


def test_an_ingest_key_limited_to_models_writes_only_those(duck: Store) -> None:
    with TestClient(create_app(Settings(api_keys="w:ingest@credit"), store=duck)) as client:
        other = client.post("/v1/predictions", json={"events": _predictions(3, model="loans")}, headers=_bearer("w"))
        mine = client.post("/v1/predictions", json={"events": _predictions(3)}, headers=_bearer("w"))
        outcome = {"prediction_id": "p0", "label": 1, "timestamp": "2024-05-04T00:00:00Z"}
        anonymous = client.post("/v1/outcomes", json={"events": [outcome]}, headers=_bearer("w"))
        named = client.post("/v1/outcomes", json={"events": [dict(outcome, model="credit")]}, headers=_bearer("w"))
    assert other.status_code == 403
    assert other.json()["detail"] == "this API key may not write events of model 'loans' (it is limited to some models)"
    assert mine.status_code == 200
    assert anonymous.status_code == 403
    assert "every outcome must name its model" in anonymous.json()["detail"]
    assert named.status_code == 200
    assert duck.count("predictions") == 3 and duck.count("outcomes") == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("k:admin@credit", "an admin key sees every model and cannot be limited to some"),
        ("k:read@", "a key limited to models needs at least one model name"),
        ("k:read@bad name", "model name 'bad name' is not valid"),
        ("k:read|write@credit", "unknown scope 'write'"),
    ],
)
def test_bad_model_grants_in_the_environment(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_key_grants(text)


def test_env_key_syntax_stays_compatible() -> None:
    assert parse_key_grants("a:ingest, b:read|admin,c:ingest|read@m1+m.2") == [
        KeyGrant("a", ("ingest",)),
        KeyGrant("b", ("read", "admin")),
        KeyGrant("c", ("ingest", "read"), frozenset({"m1", "m.2"})),
    ]
    assert parse_key_grants("with:colon:read")[0] == KeyGrant("with:colon", ("read",))


def test_cli_creates_keys_limited_to_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"duckdb://{tmp_path / 'keys.duckdb'}"
    argv = ["keys", "create", "--name", "dash", "--scope", "read", "--models", "credit,loans", "--store", url]
    code, out, err = run(argv, capsys)
    assert code == 0 and out.startswith("fw_")
    assert "for models credit, loans" in err
    plain = out.strip()
    code, out, _ = run(["keys", "list", "--store", url], capsys)
    assert code == 0 and out.rstrip().endswith("models=credit,loans") and plain not in out
    with open_store(url) as store:
        assert store.key_grant(plain) == (("read",), ("credit", "loans"))
    argv = ["keys", "create", "--name", "x", "--scopes", "admin", "--models", "credit", "--store", url]
    code, _, err = run(argv, capsys)
    assert code == 2 and "an admin key sees every model" in err


def test_stores_from_before_model_grants_are_migrated(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE api_keys (key_id VARCHAR PRIMARY KEY, key_hash VARCHAR NOT NULL UNIQUE, "
            "name VARCHAR NOT NULL, scopes VARCHAR NOT NULL, created TIMESTAMPTZ NOT NULL, revoked TIMESTAMPTZ)"
        )
        con.execute(
            "INSERT INTO api_keys VALUES ('k1', ?, 'old', 'read', now(), NULL)",
            [hashlib.sha256(b"fw_old").hexdigest()],
        )
    with open_store(f"duckdb://{path}") as store:
        assert store.key_grant("fw_old") == (("read",), None)
        assert store.list_keys()[0].models is None


# -- CORS ------------------------------------------------------------------------------------------
def test_cors_is_off_by_default(duck: Store) -> None:
    with _client(duck) as client:
        simple = client.get("/v1/health", headers={"Origin": "https://evil.example"})
        preflight = client.options(
            "/v1/models",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
    assert simple.status_code == 200
    for answer in (simple, preflight):
        assert not any(h.lower().startswith("access-control-") for h in answer.headers)


def test_cors_allows_only_the_configured_origins(duck: Store) -> None:
    with _client(duck, cors_origins="https://dash.example, https://ops.example") as client:
        allowed = client.get("/v1/health", headers={"Origin": "https://dash.example"})
        other = client.get("/v1/health", headers={"Origin": "https://evil.example"})
        preflight = client.options(
            "/v1/models",
            headers={
                "Origin": "https://ops.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
    assert allowed.headers["access-control-allow-origin"] == "https://dash.example"
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://ops.example"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in preflight.headers


# -- documented errors -----------------------------------------------------------------------------
def test_every_operation_documents_its_error_answers(duck: Store) -> None:
    spec = create_app(Settings(), store=duck).openapi()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert {"401", "403", "404", "422", "429", "503"} <= set(operation["responses"]), (method, path)
    assert spec["components"]["schemas"]["ErrorResponse"]["required"] == ["detail"]
