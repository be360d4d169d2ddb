"""Property-based fuzzing of the whole HTTP API from its own OpenAPI document (schemathesis).

Every operation in ``/openapi.json`` — including routes that feature modules add through
``ROUTER_MODULES`` — gets generated requests, valid and invalid, sent in-process (ASGI) to an app on a
seeded DuckDB store with an admin key, and every check schemathesis has judges the answers
(``schemathesis.toml`` next to this file): the service never answers 5xx, its answers match what the
document promises (status codes, content types, bodies, headers), it refuses what the document does
not allow, accepts what it allows (the exceptions, with their reasons, are in the configuration),
answers methods a path does not have with 405 and an ``Allow`` header, and enforces authentication.

Part of the generated path and query values are pinned to what the seeded store holds (the model
``credit``, its sensitive attributes, a window, a time range around its events), so that the window,
metric and drift code behind the routes is exercised, not only the "unknown model" path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fairwatch.monitor import Store, open_store  # noqa: E402
from fairwatch.monitor._rollup import Limits  # noqa: E402
from fairwatch.server import Settings, create_app  # noqa: E402

from .events import T0, make_stream  # noqa: E402

ADMIN_KEY = "fuzz-admin-key"
KEYS = f"{ADMIN_KEY}:admin,fuzz-read-key:read,fuzz-ingest-key:ingest"
#: Generated cases per operation (and call sequences): bounded so that the module runs in under a minute.
MAX_EXAMPLES = 30


def _config() -> Any:
    """``schemathesis.toml``, with the admin key as the key of the bearer scheme the document declares:
    schemathesis then sends it with every request, and ignored_auth checks that it is needed."""
    text = Path(__file__).with_name("schemathesis.toml").read_text()
    return schemathesis.Config.from_str(f'{text}\n[auth.openapi.HTTPBearer]\nbearer = "{ADMIN_KEY}"\n')


def _settings() -> Settings:
    # ignored_auth sends every authenticated request again without a key and with a wrong one: the
    # limit on failed authentications per address (its own tests are in test_hardening) would answer
    # those with 429 after 30
    return Settings(api_keys=KEYS, auth_failures_per_minute=0)


def _spec_app() -> Any:
    """An app built only to read its OpenAPI document at collection time (its store is empty, in memory)."""
    return create_app(_settings(), store=open_store("duckdb://:memory:"))


schema = schemathesis.openapi.from_asgi("/openapi.json", _spec_app(), config=_config())


@schema.hook("flatmap_path_parameters")
def _known_model(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Half the time, the model that exists."""
    if not path_parameters or "model" not in path_parameters:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, "model": "credit"}])


_times = st.one_of(
    st.datetimes(
        min_value=dt.datetime(2024, 4, 29), max_value=dt.datetime(2024, 5, 3), timezones=st.just(dt.timezone.utc)
    ).map(lambda t: t.isoformat()),
    # the edges of the calendar, where date arithmetic overflows
    st.sampled_from(["0001-01-01T00:00:00Z", "0001-01-01T00:00:00-05:00", "9999-12-31T23:59:59+00:00"]),
)
_PLAUSIBLE = {
    "sensitive": st.sampled_from(["sex", "race", "sex,race", "Race", "sex,unknown"]),
    "window": st.sampled_from(["15m", "1h", "1d", "7m", "0h", "1y", "1s", "999999999w", "9" * 5000 + "s"]),
    "metrics": st.sampled_from(["selection_rate,tpr", "accuracy", "roc_auc", "nope", "selection_rate,,fpr"]),
    "features": st.sampled_from(["age", "region", "age,region", "missing"]),
    "start": _times,
    "end": _times,
    "reference_start": _times,
    "reference_end": _times,
}


@schema.hook("flatmap_query")
def _plausible_query(context: Any, query: dict[str, Any] | None) -> Any:
    """Sometimes, values that resemble what a client of the seeded store would send."""
    if not query:
        return st.just(query)
    present = {name: strategy for name, strategy in _PLAUSIBLE.items() if name in query}
    if not present:
        return st.just(query)
    return st.one_of(st.just(query), st.fixed_dictionaries(present).map(lambda values: {**query, **values}))


def _seeded_app(folder: Path) -> tuple[Any, Store]:
    # The limits on what a model may accumulate and the clock-skew allowance are deployment settings,
    # tested in test_limits: here they are wide, so that a batch the schema allows is accepted
    # whatever the batches fuzzed before it, and whatever the date.
    roomy = Limits(attributes=10_000, values=100_000, groups=1_000_000, labels=100_000, versions=100_000)
    store = open_store(f"duckdb://{folder / 'events.duckdb'}", limits=roomy, max_future_skew=None)
    stream = make_stream(400, seed=3)
    store.insert_predictions(stream.predictions)
    store.insert_outcomes(stream.outcomes)
    assert stream.predictions[0].timestamp == T0
    return create_app(_settings(), store=store), store


@pytest.fixture(scope="module")
def seeded_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    app, store = _seeded_app(tmp_path_factory.mktemp("fuzz"))
    yield app
    store.close()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_answers_as_documented(case: Any, seeded_app: Any) -> None:
    case.call_and_validate(app=seeded_app)


class _Workflow(schema.as_state_machine()):
    """Sequences of calls that pass resources along (a rule created, read, evaluated, deleted, read
    again), so that the checks following resources across calls (use_after_free,
    ensure_resource_availability) have something to follow."""

    app: Any = None

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"app": self.app}


def test_api_keeps_track_of_its_resources(tmp_path: Path) -> None:
    # an app of its own: what the other test created does not change what this one generates
    _Workflow.app, store = _seeded_app(tmp_path)
    try:
        _Workflow.run(
            settings=settings(
                max_examples=MAX_EXAMPLES,
                stateful_step_count=6,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
        )
    finally:
        store.close()
