"""The FastAPI application: thin routes over the store and the window service."""

from __future__ import annotations

import gc
import importlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from fairwatch._text import comma_list
from fairwatch._version import __version__
from fairwatch.exceptions import (
    FairwatchError,
    InvalidInputError,
    StoreUnavailableError,
    UnknownMetricError,
    UnknownModelError,
)
from fairwatch.monitor import OutcomeBatch, PredictionBatch, Store, drift, open_store
from fairwatch.monitor._events import EventTime
from fairwatch.monitor._windows import WindowResult, read_windows
from fairwatch.server._answers import AnswerCache, with_windows
from fairwatch.server._bodies import validate_batch
from fairwatch.server._capacity import ReadGate, StoreProbe
from fairwatch.server._http import BodyTimeout
from fairwatch.server._params import ATTRIBUTE_LIST, DURATION_PATTERN, OPTIONAL_ATTRIBUTE_LIST, WINDOW_HELP, ModelName
from fairwatch.server._retention import RawRetention
from fairwatch.server._security import Authenticator, Principal, add_cors
from fairwatch.server._settings import Settings, raw_retention, store_options
from fairwatch.server._telemetry import Telemetry

__all__ = ["ROUTER_MODULES", "ServiceContext", "create_app"]

log = logging.getLogger("fairwatch.server")


# -- response models -------------------------------------------------------------------------------
class IngestResponse(BaseModel):
    accepted: int
    duplicates: int


class ModelOut(BaseModel):
    model: str
    versions: list[str]
    predictions: int
    labelled: int
    label_coverage: float | None
    first: datetime | None
    last: datetime | None


class ModelsResponse(BaseModel):
    models: list[ModelOut]


class MetricValue(BaseModel):
    value: float | None
    lo: float | None
    hi: float | None


class GroupOut(BaseModel):
    group: dict[str, str | None]
    n: int
    n_labelled: int
    metrics: dict[str, MetricValue]
    withheld: list[str]


class WindowOut(BaseModel):
    start: datetime
    end: datetime
    n: int
    n_labelled: int
    label_coverage: float | None
    groups: list[GroupOut]
    disparities: dict[str, dict[str, Any]]


class MetricsResponse(BaseModel):
    model: str
    sensitive: list[str]
    window: str
    metrics: list[str]
    windows: list[WindowOut]


class FeatureDriftOut(BaseModel):
    feature: str
    kind: str
    group: dict[str, str | None] | None
    n_reference: int
    n_current: int
    psi: float | None
    js: float | None
    ks: float | None = None
    ks_pvalue: float | None = None
    chi2: float | None = None
    chi2_pvalue: float | None = None
    note: str | None = None


class DriftResponse(BaseModel):
    model: str
    reference: dict[str, datetime]
    current: dict[str, datetime]
    features: list[FeatureDriftOut]


class HealthResponse(BaseModel):
    status: str
    store: str
    version: str


# -- errors ----------------------------------------------------------------------------------------
class ValidationProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Every error answer: ``detail`` says what was wrong (a list of problems for invalid requests)."""

    detail: str | list[ValidationProblem]
    message: str | None = None


_RETRY_AFTER = {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 1}}
#: Headers of the error answers that carry some.
_ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with",
            "schema": {"type": "string", "const": "Bearer"},
        }
    },
    429: {"Retry-After": {**_RETRY_AFTER, "required": True}},
    503: {"Retry-After": _RETRY_AFTER},
}
#: Error answers any operation may give, documented on every route (feature routers included).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    | ({"headers": _ERROR_HEADERS[status]} if status in _ERROR_HEADERS else {})
    for status, description in {
        400: "Malformed request body (not JSON, or not UTF-8)",
        401: "Missing, invalid or revoked API key",
        403: "The API key lacks the scope this operation needs",
        404: "Unknown model (or one the API key is not granted) or resource",
        408: "The request body did not arrive within FAIRWATCH_BODY_TIMEOUT; nothing was stored",
        413: "Request body too large",
        422: "Invalid request: the message names the field (and the event's index), or the limit a read exceeded",
        429: "Rate limit of the API key exceeded, or too many failed authentications; see Retry-After",
        503: "The store is unavailable, or every read slot is busy (then with Retry-After); nothing was written",
    }.items()
}


def _location(loc: Sequence[Any]) -> str:
    parts = [p for p in loc if p != "body"]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


#: Error types that only say "not this member of a union" (``prediction: 1 | true | "yes"``): when a
#: value fails every member, the error of the member it was meant for says more (a too-long text, a
#: non-finite number), so the message leads with that one.
_WRONG_TYPE_ERRORS = frozenset({"float_type", "int_type", "bool_type", "string_type", "int_from_float"})


def _field_problems(errors: Sequence[Any]) -> list[tuple[tuple[Any, ...], Any]]:
    """One ``(location, error)`` per invalid field: the errors of a union's members (whose locations
    end in the member's name, such as ``float`` or ``constrained-str``) count as one problem of the
    field, reported by its most specific error."""
    fields: dict[tuple[Any, ...], list[Any]] = {}
    for error in errors:
        loc = tuple(error["loc"])
        fields.setdefault(loc, []).append(error)
    merged: dict[tuple[Any, ...], list[Any]] = {}
    for loc, found in fields.items():
        parent = loc[:-1]
        is_member = bool(parent) and isinstance(loc[-1], str) and sum(1 for other in fields if other[:-1] == parent) > 1
        merged.setdefault(parent if is_member else loc, []).extend(found)
    return [
        (loc, next((e for e in found if e["type"] not in _WRONG_TYPE_ERRORS), found[0]))
        for loc, found in merged.items()
    ]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    problems = _field_problems(errors) if errors else [(("body",), {"msg": "invalid request"})]
    loc, first = problems[0]
    message = f"{_location(loc)}: {first['msg']}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem(s)); nothing of this batch was stored"
    detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors[:50]]
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(detail), "message": message})


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": message, "message": message})


#: Methods a route may accept: those the ``Allow`` header of a 405 answer is chosen from.
_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(app: FastAPI, scope: MutableMapping[str, Any]) -> list[str]:
    """The methods some route of ``app`` answers on the path of ``scope``."""
    where = {"type": "http", "path": scope["path"], "root_path": scope.get("root_path", "")}
    return [
        method
        for method in _HTTP_METHODS
        if any(route.matches({**where, "method": method})[0] == Match.FULL for route in app.router.routes)
    ]


async def _method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    """405 with an ``Allow`` header naming every method of the path.

    Starlette's router answers with the methods of the first route whose path matches, but a path
    often has several routes (``GET`` and ``POST`` on ``/v1/keys``): its ``Allow`` left the others out.
    """
    listed = ", ".join(_allowed_methods(request.app, request.scope))
    response = _error(405, f"method {request.method} is not allowed on {request.url.path}; allowed: {listed}")
    response.headers["Allow"] = listed
    return response


async def _fairwatch_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, StoreUnavailableError):
        return _error(503, str(exc))
    if isinstance(exc, UnknownModelError):
        return _error(404, str(exc))
    if isinstance(exc, (InvalidInputError, UnknownMetricError)):
        return _error(422, str(exc))
    return _error(400, str(exc))


class BodyLimit:
    """ASGI middleware: request bodies larger than ``limit`` bytes get 413 before they are parsed."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._reject(send)
            return
        seen = 0

        async def counting_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLargeError:
            await self._reject(send)

    async def _reject(self, send: Callable[[Any], Awaitable[None]]) -> None:
        body = (
            f'{{"detail":"request body larger than {self.limit} bytes; send smaller batches",'
            f'"message":"request body larger than {self.limit} bytes; send smaller batches"}}'
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLargeError(Exception):
    pass


# -- request bodies --------------------------------------------------------------------------------
# Ingest routes read the raw body and validate it in one pass (pydantic-core parses the JSON straight
# into the models) instead of FastAPI's json.loads followed by validation of the Python objects. The
# body models are still documented: the operation refers to them and ``_document_bodies`` adds them.
BatchT = TypeVar("BatchT", PredictionBatch, OutcomeBatch)
_BODY_MODELS = (PredictionBatch, OutcomeBatch)


def _parse(model: type[BatchT], body: bytes) -> BatchT:
    """The validated batch; errors become the same 422 as FastAPI's own body validation.

    Strict: JSON values must have the documented types (no ``true`` as a score, no number as a
    timestamp, whose unit pydantic would otherwise guess from its size).
    """
    try:
        return validate_batch(model, body, strict=True)
    except ValidationError as exc:
        raise _body_error(exc) from None


def _body_error(exc: ValidationError) -> RequestValidationError:
    details = exc.errors(include_url=False, include_context=False, include_input=False)
    return RequestValidationError([{"loc": ("body", *d["loc"]), "msg": d["msg"], "type": d["type"]} for d in details])


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _document_bodies(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` that also lists the ingest body models under ``components/schemas``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            for model in _BODY_MODELS:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            app.openapi_schema = spec
        return app.openapi_schema

    return openapi


# -- auth ------------------------------------------------------------------------------------------
# API keys, scopes, per-model grants, rate limits and CORS live in ``_security`` (``Authenticator``
# is re-exported here for ``ServiceContext``).


#: Allocations between young-generation collections while the service runs (Python's default: 700).
GC_YOUNG_THRESHOLD = 50_000


@contextmanager
def _collector_tuned_for_batches() -> Iterator[None]:
    """Collect the young generation less often while the service runs.

    Validating a 5,000-event batch allocates tens of thousands of tracked objects (a model per event)
    that all survive until the batch is stored. With the default threshold the cycle collector runs
    dozens of times per batch and, as the survivors are promoted, repeatedly walks every live object:
    in our measurements that added 40% to the time spent validating. Cycles are still collected, in
    fewer passes; the previous thresholds come back when the service stops.
    """
    previous = gc.get_threshold()
    gc.set_threshold(max(previous[0], GC_YOUNG_THRESHOLD), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


# -- the app ---------------------------------------------------------------------------------------
@dataclass
class ServiceContext:
    """What a feature router needs from the running service.

    A module listed in :data:`ROUTER_MODULES` exposes ``build_router(ctx: ServiceContext) -> APIRouter``;
    it may append callables to ``startup`` / ``shutdown`` (run by the app's lifespan, in order).
    """

    settings: Settings
    store: Store
    auth: Authenticator
    telemetry: Telemetry
    #: Window answers reused while their cells are unchanged (metrics reads of the API and dashboard).
    answers: AnswerCache = field(default_factory=lambda: AnswerCache(0))
    startup: list[Callable[[], Awaitable[None] | None]] = field(default_factory=list)
    shutdown: list[Callable[[], Awaitable[None] | None]] = field(default_factory=list)


#: Feature routers mounted by :func:`create_app`, each a module with ``build_router(ctx)``.
ROUTER_MODULES: tuple[str, ...] = (
    "fairwatch.server._dashboard",
    "fairwatch.server._estimates_api",
    "fairwatch.server._keys_api",
    "fairwatch.server._rules_api",
    "fairwatch.stream._service",
)


async def _run_hooks(hooks: Sequence[Callable[[], Awaitable[None] | None]], *, keep_going: bool = False) -> None:
    """Run the hooks in order. ``keep_going`` (shutdown): every hook runs whatever the others do;
    one that fails is logged and the rest still stop. Otherwise (startup) the first failure raises."""
    for hook in hooks:
        try:
            result = hook()
            if result is not None:
                await result
        except Exception:
            if not keep_going:
                raise
            log.exception("a shutdown hook failed (%s); stopping the others", getattr(hook, "__qualname__", hook))


def _log_progress(stage: str, done: int, total: int) -> None:
    """Progress of a store upgrade at start (a store written by an earlier release)."""
    log.info("store %s: %d of %d events", stage, done, total)


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """Build the service. ``store`` overrides ``settings.store`` (tests pass one in)."""
    settings = settings or Settings()
    own_store = store is None
    active_store = (
        store if store is not None else open_store(settings.store, **store_options(settings), progress=_log_progress)
    )
    auth = Authenticator(settings, active_store)
    telemetry = Telemetry()
    answer_cache = AnswerCache(settings.read_cache_bytes, record=telemetry.record_read_cache)
    context = ServiceContext(
        settings=settings, store=active_store, auth=auth, telemetry=telemetry, answers=answer_cache
    )
    probe = StoreProbe(active_store.ping)
    context.shutdown.append(probe.close)
    keep = raw_retention(settings)
    if keep is not None:
        retention = RawRetention(active_store, keep, settings.retention_interval)
        context.startup.append(retention.start)
        context.shutdown.append(retention.stop)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        if auth.disabled:
            log.warning("FAIRWATCH_AUTH_DISABLED is set: the API accepts requests without a key")
        try:
            with _collector_tuned_for_batches():
                try:
                    await _run_hooks(context.startup)
                    yield
                finally:
                    # also after a failed start (e.g. an unreachable broker): stop what did start
                    await _run_hooks(context.shutdown, keep_going=True)
        finally:
            if own_store:
                active_store.close()

    app = FastAPI(
        title="fairwatch",
        version=__version__,
        summary="Fairness monitoring for deployed models: ingest predictions and outcomes, read windowed metrics.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(FairwatchError, _fairwatch_error)
    app.add_exception_handler(405, _method_not_allowed)
    read_gate = ReadGate(
        None,
        slots=settings.read_concurrency,
        queue_limit=settings.read_queue_limit,
        queue_timeout=settings.read_queue_timeout,
        timeout=settings.read_timeout,
    )
    context.startup.insert(0, read_gate.reset)
    app.add_middleware(_Bound, middleware=read_gate)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(BodyTimeout, timeout=settings.body_timeout)
    add_cors(app, settings)
    app.openapi = _document_bodies(app)  # type: ignore[method-assign]
    app.state.store = active_store
    app.state.telemetry = telemetry
    app.state.context = context
    app.state.read_gate = read_gate
    app.state.answer_cache = answer_cache

    as_writer = Depends(auth.require("ingest"))
    as_reader = Depends(auth.require("read"))
    # routes under /v1/models/{model}: a model the key is not granted is a 404, like an unknown one
    read_model = [Depends(auth.require_model("read"))]

    def store_batch(kind: str, body: bytes, writer: Principal) -> IngestResponse:
        """Validate a raw request body and store it; runs in the threadpool."""
        started = time.perf_counter()
        if kind == "predictions":
            predictions = _parse(PredictionBatch, body).events
            writer.check_writes(e.model for e in predictions)
            result = active_store.insert_predictions(predictions)
        else:
            outcomes = _parse(OutcomeBatch, body).events
            writer.check_writes(e.model for e in outcomes)
            result = active_store.insert_outcomes(outcomes)
        telemetry.ingest_seconds.labels(kind).observe(time.perf_counter() - started)
        telemetry.events.labels(kind, "accepted").inc(result.accepted)
        telemetry.events.labels(kind, "duplicate").inc(result.duplicates)
        return IngestResponse(accepted=result.accepted, duplicates=result.duplicates)

    @app.post(
        "/v1/predictions",
        response_model=IngestResponse,
        tags=["ingest"],
        openapi_extra=_json_body(PredictionBatch),
    )
    async def post_predictions(request: Request, writer: Principal = as_writer) -> IngestResponse:
        """Store a batch of predictions (all or nothing); re-sent ids count as duplicates."""
        return await run_in_threadpool(store_batch, "predictions", await request.body(), writer)

    @app.post(
        "/v1/outcomes",
        response_model=IngestResponse,
        tags=["ingest"],
        openapi_extra=_json_body(OutcomeBatch),
    )
    async def post_outcomes(request: Request, writer: Principal = as_writer) -> IngestResponse:
        """Store a batch of outcomes (true labels), joined to predictions by ``prediction_id``."""
        return await run_in_threadpool(store_batch, "outcomes", await request.body(), writer)

    @app.get("/v1/models", response_model=ModelsResponse, tags=["read"])
    def get_models(reader: Principal = as_reader) -> ModelsResponse:
        """Every model with stored predictions (that the API key is granted)."""
        return ModelsResponse(
            models=[
                ModelOut(
                    model=m.model,
                    versions=m.versions,
                    predictions=m.predictions,
                    labelled=m.labelled,
                    label_coverage=m.labelled / m.predictions if m.predictions else None,
                    first=m.first,
                    last=m.last,
                )
                for m in active_store.models()
                if reader.sees(m.model)
            ]
        )

    @app.get("/v1/models/{model}/metrics", response_model=MetricsResponse, dependencies=read_model, tags=["read"])
    def get_metrics(
        model: ModelName,
        sensitive: Annotated[str, Query(pattern=ATTRIBUTE_LIST, description="Sensitive attribute(s), comma-separated")],
        window: Annotated[str, Query(pattern=DURATION_PATTERN, description=WINDOW_HELP)] = "1h",
        start: Annotated[EventTime | None, Query(description="First window start (ISO 8601 with zone)")] = None,
        end: Annotated[EventTime | None, Query(description="End of the last window")] = None,
        metrics: Annotated[str | None, Query(description="Metric names or aliases, comma-separated")] = None,
        model_version: str | None = None,
        ci: Annotated[float | None, Query(gt=0, lt=1)] = None,
        min_group_size: Annotated[int | None, Query(ge=0)] = None,
        pos_label: str = "1",
    ) -> Response:
        """Fairness metrics per tumbling window, with intervals and label coverage."""
        names = comma_list(metrics) or None
        attributes = comma_list(sensitive)
        plan = read_windows(
            active_store,
            model,
            sensitive=attributes,
            window=window,
            start=start,
            end=end,
            metrics=names,
            ci=ci,
            min_group_size=min_group_size,
            model_version=model_version,
            pos_label=pos_label,
        )
        question = (model, model_version, tuple(attributes), plan.metric_names, ci, min_group_size, pos_label)
        answers = answer_cache.answers((*question, plan.groups), plan, _window_json)
        if answers.latest is not None:
            _update_gauges(telemetry, model, [answers.latest])
        head = {
            "model": model,
            "sensitive": attributes,
            "window": window,
            "metrics": list(plan.metric_names) if plan.count else [],
        }
        # the answer is built from validated numbers already: serialised as it is (a year of hourly
        # windows is megabytes, and validating it again would cost more than computing it)
        body = with_windows(head, answers.json)
        return Response(content=body, media_type="application/json")

    @app.get("/v1/models/{model}/drift", response_model=DriftResponse, dependencies=read_model, tags=["read"])
    def get_drift(
        model: ModelName,
        reference_start: EventTime,
        reference_end: EventTime,
        start: EventTime,
        end: EventTime,
        sensitive: Annotated[
            str | None, Query(pattern=OPTIONAL_ATTRIBUTE_LIST, description="Also per group of these attributes")
        ] = None,
        features: Annotated[
            str | None,
            Query(pattern=OPTIONAL_ATTRIBUTE_LIST, description="Feature names, comma-separated (default: all)"),
        ] = None,
        bins: Annotated[int, Query(ge=2, le=100)] = 10,
        model_version: str | None = None,
    ) -> DriftResponse:
        """Feature drift (PSI, Jensen-Shannon, KS or chi-squared) of the current period against a reference."""
        results = drift(
            active_store,
            model,
            reference_start=reference_start,
            reference_end=reference_end,
            start=start,
            end=end,
            sensitive=comma_list(sensitive),
            features=comma_list(features) or None,
            bins=bins,
            model_version=model_version,
        )
        return DriftResponse(
            model=model,
            reference={"start": reference_start, "end": reference_end},
            current={"start": start, "end": end},
            features=[FeatureDriftOut(**r.to_dict()) for r in results],
        )

    @app.get("/v1/health", response_model=HealthResponse, tags=["operations"])
    async def health() -> Response:
        """Liveness and store reachability (503 when the store is unreachable or slow to answer).

        Never waits behind reads or ingest: the store is pinged on a thread of its own.
        """
        problem = await probe.problem()
        if problem is not None:
            return _error(503, f"store unreachable: {problem}")
        body = HealthResponse(status="ok", store="reachable", version=__version__)
        return JSONResponse(body.model_dump())

    scrape = [Depends(auth.require("read"))] if settings.metrics_require_key else []

    @app.get("/metrics", tags=["operations"], response_class=Response, dependencies=scrape)
    def prometheus() -> Response:
        """Prometheus text format."""
        return Response(telemetry.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    for module in ROUTER_MODULES:
        app.include_router(importlib.import_module(module).build_router(context))
    return app


class _Bound:
    """Mounts an already built ASGI middleware object (``add_middleware`` wants a class)."""

    def __init__(self, app: Any, middleware: ReadGate) -> None:
        middleware.app = app
        self.middleware = middleware

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.middleware(scope, receive, send)


def _utc_times(window: dict[str, Any]) -> dict[str, Any]:
    """A window's start and end as the API writes UTC times (``...Z``, like its other timestamps)."""
    for key in ("start", "end"):
        window[key] = window[key].replace("+00:00", "Z")
    return window


def _window_json(result: WindowResult) -> bytes:
    return to_json(_utc_times(result.to_dict()))


def _update_gauges(telemetry: Telemetry, model: str, windows: list[Any]) -> None:
    latest = next((w for w in reversed(windows) if w.n > 0), None)
    if latest is None:
        return
    if latest.label_coverage is not None:
        telemetry.label_coverage.labels(model).set(latest.label_coverage)
    for summary in (latest.label_free, latest.labelled_summary):
        if summary is None:
            continue
        for name, d in summary.disparities.items():
            for statistic in ("difference", "ratio"):
                value = getattr(d, statistic)
                if math.isfinite(value):
                    telemetry.disparity.labels(model, name, statistic).set(value)
