"""The client SDK: against the real service (ASGI and a live uvicorn), retries, pseudonymisation, input checks."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import httpx
import numpy as np
import pandas as pd
import polars as pl
import pytest
import uvicorn
from fastapi import FastAPI

import fairwatch.client
from fairwatch.client import (
    AsyncClient,
    Client,
    ClientError,
    IngestSummary,
    Pseudonymizer,
    ServerUnavailableError,
)
from fairwatch.exceptions import (
    FairwatchError,
    InvalidInputError,
    LengthMismatchError,
    MissingValueError,
    UnknownColumnError,
)
from fairwatch.monitor import Store, window_metrics
from fairwatch.server import Settings, create_app

from .events import T0, make_stream

KEYS = "ingest-key:ingest,read-key:read,both-key:ingest|read"
URL = "http://fairwatch.test"
OK = {"accepted": 1, "duplicates": 0}


# -- helpers ---------------------------------------------------------------------------------------
class FakeServer:
    """A MockTransport handler that answers from a script and records every request it sees."""

    def __init__(self, *answers: int | dict[str, Any] | Exception | httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        if isinstance(answer, int):
            return httpx.Response(answer, json={"detail": f"status {answer}", "message": f"status {answer}"})
        if answer is OK:  # echo the batch size, as the real server would for fresh events
            return httpx.Response(200, json={"accepted": len(self.events(request)), "duplicates": 0})
        return httpx.Response(200, json=answer)

    @staticmethod
    def events(request: httpx.Request) -> list[dict[str, Any]]:
        return list(json.loads(request.content)["events"])

    @property
    def bodies(self) -> list[bytes]:
        return [r.content for r in self.requests]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


class Sleeps(list[float]):
    """An injectable sleep that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class AsyncSleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _client(server: FakeServer, **kwargs: Any) -> Client:
    kwargs.setdefault("sleep", Sleeps())
    return Client(URL, "both-key", transport=server.transport(), **kwargs)


def _predictions(n: int = 3, **overrides: Any) -> list[dict[str, Any]]:
    return [
        {
            "prediction_id": f"p{i}",
            "timestamp": T0 + dt.timedelta(minutes=i),
            "prediction": i % 2,
            "score": 0.25,
            "sensitive": {"sex": "F" if i % 2 else "M"},
            **overrides,
        }
        for i in range(n)
    ]


def _frame(n: int = 12_000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    stream = make_stream(n, seed=seed)
    predictions = pd.DataFrame(
        {
            "request_id": [e.prediction_id for e in stream.predictions],
            "ts": pd.to_datetime([e.timestamp for e in stream.predictions], utc=True),
            "approved": [e.prediction for e in stream.predictions],
            "p": [e.score for e in stream.predictions],
            "sex": [e.sensitive["sex"] for e in stream.predictions],
            "race": [e.sensitive["race"] for e in stream.predictions],
            "age": [e.features["age"] for e in stream.predictions if e.features],
        }
    )
    outcomes = pd.DataFrame(
        {
            "request_id": [e.prediction_id for e in stream.outcomes],
            "ts": pd.to_datetime([e.timestamp for e in stream.outcomes], utc=True),
            "repaid": [e.label for e in stream.outcomes],
        }
    )
    return predictions, outcomes


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn in a background thread on a free 127.0.0.1 port; stop it after."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(200):  # at most ~5 s
            try:
                if httpx.get(f"{url}/v1/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.025)
        else:
            pytest.fail(f"the uvicorn server at {url} did not become healthy")
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive()


@pytest.fixture
def app(store: Store) -> FastAPI:
    return create_app(Settings(api_keys=KEYS), store=store)


# -- against the real service ----------------------------------------------------------------------
def test_async_client_against_the_app_over_asgi(app: FastAPI, store: Store) -> None:
    stream = make_stream(12_000, seed=1)
    transport = httpx.ASGITransport(app=app)

    async def scenario() -> None:
        async with AsyncClient("http://app", "both-key", transport=transport, batch_size=5000) as client:
            first = await client.log_predictions(stream.predictions)
            assert first == IngestSummary(accepted=12_000, duplicates=0, batches=3)
            again = await client.log_predictions(stream.predictions)
            assert again == IngestSummary(accepted=0, duplicates=12_000, batches=3)
            outcomes = await client.log_outcomes(stream.outcomes)
            assert outcomes == IngestSummary(accepted=len(stream.outcomes), duplicates=0, batches=2)
            (model,) = await client.models()
            assert (model["model"], model["predictions"], model["labelled"]) == ("credit", 12_000, len(stream.outcomes))
            assert (await client.health())["status"] == "ok"

            params = {"sensitive": "sex,race", "window": "1d", "ci": "0.95"}
            metrics = await client.metrics("credit", ["sex", "race"], window="1d", ci=0.95)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as raw:
                response = await raw.get(
                    "/v1/models/credit/metrics", params=params, headers={"Authorization": "Bearer both-key"}
                )
            assert metrics == response.json()

    asyncio.run(scenario())
    assert store.count("predictions") == 12_000
    direct = window_metrics(store, "credit", sensitive=["sex", "race"], window="1d", ci=0.95)
    assert [w.n for w in direct] == [w["n"] for w in asyncio.run(_metrics_over_asgi(transport))["windows"]]


async def _metrics_over_asgi(transport: httpx.ASGITransport) -> dict[str, Any]:
    async with AsyncClient("http://app", "read-key", transport=transport) as client:
        return await client.metrics("credit", "sex,race", window="1d", ci=0.95)


def test_sync_client_against_a_live_uvicorn_server(app: FastAPI, store: Store) -> None:
    predictions, outcomes = _frame(12_000)
    columns: dict[str, Any] = {"prediction_id": "request_id", "timestamp": "ts", "prediction": "approved", "score": "p"}
    with serve(app) as url, Client(url, "both-key", batch_size=5000) as client:
        assert client.health()["status"] == "ok"
        first = client.log_predictions(
            predictions, model="credit", model_version="v1", sensitive=["sex", "race"], features=["age"], **columns
        )
        assert first == IngestSummary(accepted=12_000, duplicates=0, batches=3)
        again = client.log_predictions(predictions, model="credit", sensitive=["sex", "race"], **columns)
        assert again == IngestSummary(accepted=0, duplicates=12_000, batches=3)
        labelled = client.log_outcomes(outcomes, prediction_id="request_id", timestamp="ts", label="repaid")
        assert labelled.accepted == len(outcomes) and labelled.duplicates == 0
        assert client.log_outcomes(outcomes, prediction_id="request_id", timestamp="ts", label="repaid").duplicates == (
            len(outcomes)
        )
        assert client.models()[0]["labelled"] == len(outcomes)

        metrics = client.metrics(
            "credit", "sex", window="1d", ci=0.95, metrics=["selection_rate", "true_positive_rate"]
        )
        raw = httpx.get(
            f"{url}/v1/models/credit/metrics",
            params={"sensitive": "sex", "window": "1d", "ci": "0.95", "metrics": "selection_rate,true_positive_rate"},
            headers={"Authorization": "Bearer both-key"},
        )
        assert metrics == raw.json()
        with pytest.raises(ClientError, match="unknown model 'nope'") as error:
            client.metrics("nope", "sex")
        assert error.value.status_code == 404
    assert store.count("predictions") == 12_000
    direct = window_metrics(store, "credit", sensitive=["sex"], window="1d", ci=0.95)
    assert [w["n"] for w in metrics["windows"]] == [w.n for w in direct]


def test_server_validation_error_reaches_the_caller(app: FastAPI) -> None:
    async def scenario() -> None:
        async with AsyncClient("http://app", "read-key", transport=httpx.ASGITransport(app=app)) as client:
            with pytest.raises(ClientError, match=r"HTTP 403: this API key lacks the 'ingest' scope") as error:
                await client.log_predictions(_predictions(2), model="credit")
            assert error.value.status_code == 403 and error.value.attempts == 1

    asyncio.run(scenario())


# -- retries ---------------------------------------------------------------------------------------
def test_two_503s_then_success_resends_the_same_body() -> None:
    server, sleeps = FakeServer(503, 503, OK), Sleeps()
    with _client(server, sleep=sleeps, backoff=0.5) as client:
        summary = client.log_predictions(_predictions(3), model="credit")
    assert summary == IngestSummary(accepted=3, duplicates=0, batches=1)
    assert len(server.requests) == 3
    assert server.bodies[0] == server.bodies[1] == server.bodies[2]
    assert [e["prediction_id"] for e in server.events(server.requests[0])] == ["p0", "p1", "p2"]
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # exponential, jittered


@pytest.mark.parametrize("status", [429, 502, 504])
def test_other_transient_statuses_are_retried(status: int) -> None:
    server = FakeServer(status, OK)
    with _client(server) as client:
        assert client.log_predictions(_predictions(1), model="credit").accepted == 1
    assert len(server.requests) == 2


def test_retry_after_header_is_honoured_and_capped() -> None:
    server, sleeps = FakeServer(httpx.Response(429, headers={"Retry-After": "2"}), OK), Sleeps()
    with _client(server, sleep=sleeps) as client:
        client.log_predictions(_predictions(1), model="credit")
    assert sleeps == [2.0]
    server, sleeps = FakeServer(httpx.Response(503, headers={"Retry-After": "3600"}), OK), Sleeps()
    with _client(server, sleep=sleeps, max_backoff=7.0) as client:
        client.log_predictions(_predictions(1), model="credit")
    assert sleeps == [7.0]


def test_validation_error_is_raised_at_once_with_the_server_message() -> None:
    message = "events[3].timestamp: Input should have timezone info"
    server, sleeps = FakeServer(httpx.Response(422, json={"detail": [], "message": message})), Sleeps()
    with _client(server, sleep=sleeps) as client, pytest.raises(ClientError) as error:
        client.log_predictions(_predictions(5), model="credit")
    assert not isinstance(error.value, ServerUnavailableError)
    assert isinstance(error.value, FairwatchError)
    assert error.value.status_code == 422
    assert error.value.server_message == message
    assert message in str(error.value)
    assert f"{URL}/v1/predictions" in str(error.value)
    assert len(server.requests) == 1 and sleeps == []


@pytest.mark.parametrize(("status", "hint"), [(400, ""), (401, "api_key"), (413, "batch_size is 5000"), (500, "")])
def test_other_errors_are_not_retried(status: int, hint: str) -> None:
    server = FakeServer(status)
    with _client(server) as client, pytest.raises(ClientError, match=f"HTTP {status}: status {status}") as error:
        client.log_predictions(_predictions(2), model="credit")
    assert hint in str(error.value)
    assert len(server.requests) == 1


def test_connection_errors_are_retried_then_reported() -> None:
    server, sleeps = FakeServer(httpx.ConnectError("[Errno 111] Connection refused")), Sleeps()
    with (
        _client(server, sleep=sleeps, max_retries=3, backoff=1.0) as client,
        pytest.raises(ServerUnavailableError) as error,
    ):
        client.log_predictions(_predictions(2), model="credit")
    text = str(error.value)
    assert f"POST {URL}/v1/predictions failed after 4 attempts (3 retries)" in text
    assert "ConnectError: [Errno 111] Connection refused" in text
    assert f"is the fairwatch service at {URL} running" in text
    assert error.value.attempts == 4 and error.value.status_code is None
    assert len(server.requests) == 4
    assert len(set(server.bodies)) == 1
    for k, delay in enumerate(sleeps):
        assert 2.0**k / 2 <= delay <= 2.0**k
    assert len(sleeps) == 3


def test_timeouts_are_retried() -> None:
    server = FakeServer(httpx.ReadTimeout("timed out"), httpx.ConnectTimeout("timed out"), OK)
    with _client(server) as client:
        assert client.log_predictions(_predictions(2), model="credit").accepted == 2
    assert len(server.requests) == 3


def test_a_service_that_stays_unavailable() -> None:
    server, sleeps = FakeServer(503), Sleeps()
    with _client(server, sleep=sleeps, max_retries=2) as client, pytest.raises(ServerUnavailableError) as error:
        client.log_predictions(_predictions(2), model="credit")
    assert "failed with HTTP 503 after 3 attempts: status 503" in str(error.value)
    assert error.value.status_code == 503 and len(server.requests) == 3 and len(sleeps) == 2


def test_no_retries_when_max_retries_is_zero() -> None:
    server = FakeServer(httpx.ConnectError("refused"))
    with _client(server, max_retries=0) as client, pytest.raises(ServerUnavailableError, match="1 attempt"):
        client.models()
    assert len(server.requests) == 1


def test_a_bad_protocol_is_not_retried() -> None:
    server = FakeServer(httpx.UnsupportedProtocol("no"))
    with _client(server) as client, pytest.raises(ClientError, match="UnsupportedProtocol") as error:
        client.models()
    assert not isinstance(error.value, ServerUnavailableError)
    assert len(server.requests) == 1


def test_retries_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="fairwatch.client"), _client(FakeServer(503, {"models": []})) as client:
        client.models()
    assert f"GET {URL}/v1/models: HTTP 503: status 503; retry 1 of 5 in" in caplog.text


def test_batches_and_a_failure_in_the_middle() -> None:
    server = FakeServer(OK, OK, OK)
    with _client(server, batch_size=5) as client:
        summary = client.log_predictions(_predictions(12), model="credit")
    assert summary == IngestSummary(accepted=12, duplicates=0, batches=3)
    assert [len(server.events(r)) for r in server.requests] == [5, 5, 2]

    server = FakeServer(OK, httpx.Response(422, json={"message": "events[1].score: bad"}))
    with _client(server, batch_size=5) as client, pytest.raises(ClientError) as error:
        client.log_predictions(_predictions(12), model="credit")
    text = str(error.value)
    assert text.startswith("batch 2 of 3 (events 5-9): POST")
    assert "event indices count from the start of this batch, event 5" in text
    assert "the 1 batch(es) before it were stored (5 accepted, 0 duplicates)" in text
    assert error.value.sent == IngestSummary(accepted=5, duplicates=0, batches=1)
    assert len(server.requests) == 2


def test_async_client_retries_with_an_injected_sleep() -> None:
    server, sleeps = FakeServer(503, httpx.ConnectError("refused"), OK), AsyncSleeps()

    async def scenario() -> IngestSummary:
        async with AsyncClient(URL, "k", transport=server.transport(), sleep=sleeps, backoff=0.1) as client:
            return await client.log_predictions(_predictions(3), model="credit")

    assert asyncio.run(scenario()).accepted == 3
    assert len(server.requests) == 3 and len(set(server.bodies)) == 1
    assert len(sleeps) == 2 and 0.05 <= sleeps[0] <= 0.1 and 0.1 <= sleeps[1] <= 0.2


def test_async_client_gives_up_and_rejects_like_the_sync_one() -> None:
    async def scenario(server: FakeServer) -> None:
        async with AsyncClient(URL, transport=server.transport(), sleep=AsyncSleeps(), max_retries=2) as client:
            await client.log_outcomes([{"prediction_id": "p1", "label": 1, "timestamp": T0}])

    server = FakeServer(httpx.ConnectError("refused"))
    with pytest.raises(ServerUnavailableError, match=r"POST http://fairwatch.test/v1/outcomes failed after 3 attempts"):
        asyncio.run(scenario(server))
    server = FakeServer(httpx.Response(422, json={"message": "events[0].label: nope"}))
    with pytest.raises(ClientError, match=r"HTTP 422: events\[0\].label: nope"):
        asyncio.run(scenario(server))
    assert len(server.requests) == 1


# -- ids -------------------------------------------------------------------------------------------
def test_events_without_ids_are_refused_unless_asked() -> None:
    server = FakeServer(OK)
    events = _predictions(3)
    for event in events:
        del event["prediction_id"]
    with _client(server) as client:
        with pytest.raises(
            InvalidInputError, match=r"events\[0\] has no prediction_id; give every prediction a stable"
        ):
            client.log_predictions(events, model="credit")
        assert server.requests == []
        client.log_predictions(events, model="credit", ids="uuid")
    ids = [e["prediction_id"] for e in server.events(server.requests[0])]
    assert len(set(ids)) == 3 and all(len(i) == 32 for i in ids)


def test_generated_ids_are_resent_unchanged_on_retry() -> None:
    server = FakeServer(503, OK)
    frame = pd.DataFrame({"timestamp": [T0, T0], "prediction": [1, 0], "sex": ["F", "M"]})
    with _client(server) as client:
        with pytest.raises(UnknownColumnError, match=r"prediction_id='prediction_id' is not a column.*ids='uuid'"):
            client.log_predictions(frame, model="credit", sensitive=["sex"])
        client.log_predictions(frame, model="credit", sensitive=["sex"], ids="uuid")
    assert len(server.requests) == 2 and server.bodies[0] == server.bodies[1]
    with pytest.raises(InvalidInputError, match=r"ids must be None .* or 'uuid'; got 'random'"):
        _client(server).log_predictions(frame, model="credit", ids="random")  # type: ignore[arg-type]


# -- inputs ----------------------------------------------------------------------------------------
def test_accepted_inputs_send_the_same_events() -> None:
    stream = make_stream(4)
    as_models = stream.predictions
    as_dicts = [e.model_dump() for e in stream.predictions]
    columns = {
        "prediction_id": [e.prediction_id for e in as_models],
        "timestamp": [e.timestamp for e in as_models],
        "prediction": np.array([e.prediction for e in as_models]),
        "score": [e.score for e in as_models],
        "sex": [e.sensitive["sex"] for e in as_models],
        "race": [e.sensitive["race"] for e in as_models],
    }
    relation = duckdb.connect().from_df(pd.DataFrame(columns))  # a lazy frame: collected once
    bodies = []
    for data in (as_models, as_dicts, columns, pd.DataFrame(columns), pl.DataFrame(columns), relation):
        server = FakeServer(OK)
        kwargs: dict[str, Any] = {}
        if not isinstance(data, list):
            kwargs = {"score": "score", "sensitive": ["sex", "race"], "model_version": None}
        with _client(server) as client:
            client.log_predictions(data, model="credit", **kwargs)
        events = server.events(server.requests[0])
        for event in events:
            event.pop("features"), event.pop("model_version")
        bodies.append(events)
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0][0]["timestamp"] == "2024-05-01T00:00:00Z"
    assert isinstance(bodies[0][0]["prediction"], int)


def test_polars_time_zones_and_missing_scores() -> None:
    frame = pl.DataFrame(
        {
            "prediction_id": ["a", "b"],
            "timestamp": [dt.datetime(2024, 5, 1, 12), dt.datetime(2024, 5, 1, 13)],
            "prediction": [True, False],
            "score": [0.9, None],
            "sex": ["F", None],
        }
    ).with_columns(pl.col("timestamp").dt.replace_time_zone("Europe/Paris"))
    server = FakeServer(OK)
    with _client(server) as client:
        client.log_predictions(frame.lazy(), model="credit", score="score", sensitive={"gender": "sex"})
    first, second = server.events(server.requests[0])
    assert first["timestamp"] == "2024-05-01T12:00:00+02:00"
    assert first["prediction"] is True and second["score"] is None
    assert first["sensitive"] == {"gender": "F"} and second["sensitive"] == {"gender": None}


def test_metrics_query_and_health() -> None:
    server = FakeServer({"windows": []})
    start = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
    with _client(server) as client:
        client.metrics("credit", ["sex", "race"], window="1d", start=start, metrics=["selection_rate"], ci=0.9)
        with pytest.raises(InvalidInputError, match="end=2024-05-02T00:00:00 has no time zone"):
            client.metrics("credit", "sex", end=dt.datetime(2024, 5, 2))
        with pytest.raises(InvalidInputError, match="sensitive must name at least one"):
            client.metrics("credit", [])
    (request,) = server.requests
    assert request.url.path == "/v1/models/credit/metrics"
    assert dict(request.url.params) == {
        "sensitive": "sex,race",
        "window": "1d",
        "start": "2024-05-01T00:00:00+00:00",
        "metrics": "selection_rate",
        "ci": "0.9",
    }
    assert request.headers["authorization"] == "Bearer both-key"
    assert request.headers["user-agent"].startswith("fairwatch-client/")

    down = FakeServer(httpx.Response(503, json={"message": "store unreachable: gone"}))
    with _client(down) as client, pytest.raises(ServerUnavailableError, match="store unreachable: gone"):
        client.health()
    assert len(down.requests) == 1


def test_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeServer({"models": []})
    monkeypatch.delenv("FAIRWATCH_API_KEY", raising=False)
    with Client(URL, transport=server.transport()) as client:
        client.models()
    monkeypatch.setenv("FAIRWATCH_API_KEY", "from-env")
    with Client(URL, transport=server.transport()) as client:
        client.models()
        assert "from-env" not in repr(client)
    assert "authorization" not in server.requests[0].headers
    assert server.requests[1].headers["authorization"] == "Bearer from-env"


def test_empty_input_sends_nothing() -> None:
    server = FakeServer(OK)
    with _client(server) as client:
        assert client.log_predictions([], model="credit") == IngestSummary(0, 0, 0)
    assert server.requests == []


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "message"),
    [
        (
            _predictions(2)[:1] + [dict(_predictions(2)[1], timestamp=dt.datetime(2024, 5, 1))],
            {},
            InvalidInputError,
            r"^events\[1\]\.timestamp: Input should have timezone info; nothing was sent$",
        ),
        (
            _predictions(3, timestamp="2024-05-01T10:00:00"),
            {},
            InvalidInputError,
            r"^events\[0\]\.timestamp: Input should have timezone info \(and 2 more invalid event\(s\)\)",
        ),
        (
            pd.DataFrame({"prediction_id": ["a"], "timestamp": [pd.Timestamp("2024-05-01")], "prediction": [1]}),
            {},
            InvalidInputError,
            r"timestamp='timestamp' holds timestamps without a time zone .*tz_localize\('UTC'\)",
        ),
        (
            pd.DataFrame({"prediction_id": ["a"], "ts": [pd.Timestamp("2024-05-01", tz="UTC")], "prediction": [1]}),
            {"timestamp": "ts", "sensitive": ["sex"]},
            UnknownColumnError,
            r"sensitive\['sex'\]='sex' is not a column of the data; available columns: 'prediction_id', 'ts'",
        ),
        (
            pd.DataFrame({"prediction_id": ["a"], "prediction": [1]}),
            {},
            UnknownColumnError,
            r"timestamp='timestamp' is not a column",
        ),
        (
            {"prediction_id": ["a", "b"], "timestamp": [T0, T0], "prediction": [1]},
            {},
            LengthMismatchError,
            r"columns must have one value per event, but prediction_id='prediction_id' has 2, "
            r"timestamp='timestamp' has 2, prediction='prediction' has 1",
        ),
        (
            pd.DataFrame({"prediction_id": ["a", "b"], "timestamp": [T0, T0], "prediction": [1.0, np.nan]}),
            {},
            MissingValueError,
            r"prediction='prediction' has 1 missing value\(s\) at row\(s\) 1",
        ),
        (
            pd.DataFrame({"prediction_id": ["a", "b"], "timestamp": [T0, pd.NaT], "prediction": [1, 0]}),
            {},
            MissingValueError,
            r"timestamp='timestamp' has 1 missing value\(s\) at row\(s\) 1",
        ),
        (
            {"prediction_id": "a", "timestamp": T0, "prediction": 1},
            {},
            InvalidInputError,
            r"a mapping is read as columns .* pass a list of them",
        ),
        (_predictions(1), {"sensitive": ["sex"]}, InvalidInputError, r"sensitive= name\(s\) columns"),
        (_predictions(1, model="other"), {}, InvalidInputError, r"events\[0\] is for model 'other'"),
        (_predictions(1, score=1.5), {}, InvalidInputError, r"events\[0\]\.score: Input should be less than"),
        (
            _predictions(1, sensitive={"bad name": 1}),
            {},
            InvalidInputError,
            r"events\[0\]\.sensitive\.bad name\.\[key\]: String should match pattern",
        ),
        ([1, 2], {}, InvalidInputError, r"events\[0\] is a int; expected a PredictionEvent or a dict"),
        (42, {}, InvalidInputError, r"predictions must be a list of events"),
    ],
)
def test_bad_input_is_refused_before_any_request(data: Any, kwargs: Any, error: type[Exception], message: str) -> None:
    server = FakeServer(OK)
    with _client(server) as client, pytest.raises(error, match=message):
        client.log_predictions(data, model="credit", **kwargs)
    assert server.requests == []


def test_frames_need_a_model_and_outcomes_are_checked_too() -> None:
    server = FakeServer(OK)
    frame = pd.DataFrame({"prediction_id": ["a"], "timestamp": [T0], "prediction": [1]})
    with _client(server) as client:
        with pytest.raises(InvalidInputError, match="model= is required with a dataframe"):
            client.log_predictions(frame)
        with pytest.raises(InvalidInputError, match=r"events\[0\]\.timestamp: Input should have timezone info"):
            client.log_outcomes([{"prediction_id": "a", "label": 1, "timestamp": dt.datetime(2024, 5, 1)}])
        with pytest.raises(UnknownColumnError, match="label='label' is not a column"):
            client.log_outcomes(frame)
        client.log_outcomes(make_stream(2, labelled_share=1.0).outcomes)
        client.log_outcomes(
            {"prediction_id": np.array([7, 8]), "y": np.array([1, 0]), "t": [T0, T0]},
            label="y",
            timestamp="t",
            model="credit",
        )
    instances, request = server.requests
    assert [e["prediction_id"] for e in server.events(instances)] == ["p0", "p1"]
    assert server.events(request) == [
        {"prediction_id": "7", "label": 1, "timestamp": "2024-05-01T00:00:00Z", "model": "credit"},
        {"prediction_id": "8", "label": 0, "timestamp": "2024-05-01T00:00:00Z", "model": "credit"},
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "localhost:8000"}, "url must be an http"),
        ({"url": "ftp://host"}, "url must be an http"),
        ({"batch_size": 0}, "batch_size must be an integer from 1 to 10000"),
        ({"batch_size": 10_001}, "batch_size must be an integer from 1 to 10000"),
        ({"max_retries": -1}, "max_retries must be an integer >= 0"),
        ({"backoff": -1.0}, "backoff must be a number of seconds >= 0"),
        ({"timeout": 0}, "timeout must be a number of seconds > 0 or None"),
        ({"pseudonymizer": {"age": []}}, "pseudonymizer must be a Pseudonymizer"),
    ],
)
def test_client_settings_are_checked(kwargs: dict[str, Any], message: str) -> None:
    url = kwargs.pop("url", URL)
    with pytest.raises(InvalidInputError, match=message):
        Client(url, **kwargs)
    with pytest.raises(InvalidInputError, match=message):
        AsyncClient(url, **kwargs)


# -- pseudonymisation ------------------------------------------------------------------------------
PSEUDONYMIZER_SETTINGS: dict[str, Any] = {
    "hash_attributes": ["name", "zip"],
    "coarsen": {
        "age": [(0, 25, "<25"), (25, 45, "25-44"), (45, None, "45+")],
        "race": {"White": "White", "*": "Other"},
        "zip": {"10115": "Berlin", "*": "elsewhere"},
    },
}


def _sensitive_events() -> list[dict[str, Any]]:
    people = [("Zebulon Quux", 73.25, "Pacific Islander", "10115"), ("Ottilie Brandauer", 19, "White", "80331")]
    return [
        {
            "prediction_id": f"p{i}",
            "timestamp": T0,
            "prediction": 1,
            "sensitive": {"name": name, "age": age, "race": race, "zip": zip_code, "sex": "F"},
            "features": {"age": age, "income": 5},
        }
        for i, (name, age, race, zip_code) in enumerate(people)
    ]


def test_raw_sensitive_values_never_leave_the_process() -> None:
    server = FakeServer(OK)
    pseudonymizer = Pseudonymizer(b"k" * 32, **PSEUDONYMIZER_SETTINGS)
    with _client(server, pseudonymizer=pseudonymizer) as client:
        client.log_predictions(_sensitive_events(), model="credit")
    body = server.bodies[0]
    for raw in (b"Zebulon", b"Quux", b"Ottilie", b"73.25", b"Pacific", b"10115", b"80331", b"19"):
        assert raw not in body
    first, second = server.events(server.requests[0])
    assert first["sensitive"]["age"] == "45+" and second["sensitive"]["age"] == "<25"
    assert first["sensitive"]["race"] == "Other" and second["sensitive"]["race"] == "White"
    assert first["features"] == {"age": "45+", "income": 5}
    assert first["sensitive"]["sex"] == "F"
    assert first["sensitive"]["name"] == pseudonymizer.hash_value("name", "Zebulon Quux")
    assert first["sensitive"]["zip"] == pseudonymizer.hash_value("zip", "Berlin")  # coarsened, then hashed
    assert len(first["sensitive"]["name"]) == 16


def test_pseudonymised_frames_and_async_clients_send_the_same_bytes() -> None:
    frame = pd.DataFrame(
        {
            "prediction_id": ["p0", "p1"],
            "timestamp": [T0, T0],
            "prediction": [1, 1],
            "name": ["Zebulon Quux", "Ottilie Brandauer"],
            "age": [73.25, 19],
        }
    )
    sync_server, async_server = FakeServer(OK), FakeServer(OK)
    pseudonymizer = Pseudonymizer("a str key", **PSEUDONYMIZER_SETTINGS)
    with _client(sync_server, pseudonymizer=pseudonymizer) as client:
        client.log_predictions(frame, model="credit", sensitive=["name", "age"])

    async def scenario() -> None:
        async with AsyncClient(URL, transport=async_server.transport(), pseudonymizer=pseudonymizer) as client:
            await client.log_predictions(frame, model="credit", sensitive=["name", "age"])

    asyncio.run(scenario())
    assert sync_server.bodies == async_server.bodies
    assert b"Zebulon" not in sync_server.bodies[0] and b"73.25" not in sync_server.bodies[0]


def test_hashing_is_stable_normalised_and_keyed() -> None:
    a1 = Pseudonymizer(b"key one", hash_attributes=["id"])
    a2 = Pseudonymizer("key one", hash_attributes=["id"])
    b = Pseudonymizer(b"key two", hash_attributes=["id"])
    assert a1.hash_value("id", "x") == a2.hash_value("id", "x") == a1.transform({"id": "x"})["id"]
    assert a1.hash_value("id", "x") != b.hash_value("id", "x")
    assert a1.hash_value("id", "x") != a1.hash_value("other", "x")  # the attribute is part of the message
    assert a1.hash_value("id", 1) == a1.hash_value("id", 1.0) == a1.hash_value("id", "1")  # as the server stores
    assert a1.transform({"id": None, "sex": "F"}) == {"id": None, "sex": "F"}
    assert len(Pseudonymizer(b"k", hash_attributes=["id"], hash_length=64).hash_value("id", "x")) == 64
    assert a1.attributes == {"id"}
    assert "key one" not in repr(a1) and "id" in repr(a1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": b""}, "key must be non-empty"),
        ({"key": b"k", "hash_length": 4}, "hash_length must be an integer from 8 to 64"),
        ({"key": b"k", "hash_attributes": [1]}, "hash_attributes must be attribute names"),
        ({"key": b"k", "coarsen": {"age": [(0, 30, "young"), (20, None, "old")]}}, "overlap"),
        ({"key": b"k", "coarsen": {"age": [(30, 0, "x")]}}, r"\(30, 0, 'x'\) is not a bin"),
        ({"key": b"k", "coarsen": {"age": [(0, 10)]}}, "is not a bin"),
        ({"key": b"k", "coarsen": {"age": []}}, "non-empty list of"),
        ({"key": b"k", "coarsen": {"race": {"White": 1}}}, "maps values to category names"),
    ],
)
def test_pseudonymizer_settings_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Pseudonymizer(**kwargs)


def test_values_a_pseudonymizer_cannot_place_stop_everything() -> None:
    pseudonymizer = Pseudonymizer(
        b"k", coarsen={"age": [(0, 25, "<25"), (25, None, "25+")], "race": {"White": "White", "Black": "Black"}}
    )
    server = FakeServer(OK)
    with _client(server, pseudonymizer=pseudonymizer) as client:
        with pytest.raises(InvalidInputError, match=r"events\[1\]\.sensitive: race='Asian' is not in the coarsening"):
            client.log_predictions(
                _predictions(2, sensitive={"race": "White"})[:1] + _predictions(1, sensitive={"race": "Asian"}),
                model="m",
            )
        with pytest.raises(InvalidInputError, match=r"age=-3 falls in no bin of 'age'"):
            client.log_predictions(_predictions(1, sensitive={"age": -3}), model="m")
        with pytest.raises(InvalidInputError, match=r"age='old' cannot be binned"):
            client.log_predictions(_predictions(1, sensitive={"age": "old"}), model="m")
    assert server.requests == []
    assert pseudonymizer.coarsen_value("age", np.float64(30.0)) == pseudonymizer.coarsen_value("age", np.int64(30))


# -- the public surface ----------------------------------------------------------------------------
def test_client_module_exports() -> None:
    assert set(fairwatch.client.__all__) == {
        "AsyncClient",
        "Client",
        "ClientError",
        "IngestSummary",
        "Pseudonymizer",
        "ServerUnavailableError",
    }
    assert issubclass(ServerUnavailableError, ClientError) and issubclass(ClientError, FairwatchError)
