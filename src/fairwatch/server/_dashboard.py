"""The dashboard served at ``/``: hand-written static assets and cookie-session JSON endpoints.

The page (``static/``: HTML, CSS and vanilla JavaScript drawing its charts as SVG) ships inside the
wheel and loads nothing from elsewhere; a strict Content-Security-Policy forbids it to. Operators log
in with an API key of scope ``read`` (or ``admin``): the key is checked like a bearer key, and the
browser gets an opaque random session cookie (HttpOnly, SameSite=Strict). The key stays in the
server's memory and is checked again on every request, so revoking it ends its sessions. The JSON
endpoints under ``/dashboard/api`` call the same service functions as the public API
(:func:`~fairwatch.monitor.window_metrics`, :func:`~fairwatch.monitor.drift`, ``store.models()``,
``estimate_windows``). They are an internal interface of the page and are left out of the OpenAPI
document.

Label-dependent metrics of windows whose outcomes have not all arrived are estimated from calibrated
scores (``/dashboard/api/models/{model}/estimates``). The calibration's reference period is chosen
automatically: the most recent run of consecutive windows whose label coverage is at least
:data:`ESTIMATE_REFERENCE_COVERAGE` (or the period given as ``reference_start``/``reference_end``).
When no estimate can be made the answer says why (``refused``) and the page shows that reason.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field
from pydantic_core import to_json

from fairwatch._text import comma_list
from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor import CellQuery, ModelInfo, Store, drift, parse_duration
from fairwatch.monitor._estimate import (
    UNCERTAINTY_METHOD,
    estimate_windows,
    fit_reference_calibration,
)
from fairwatch.monitor._events import EventTime
from fairwatch.monitor._windows import WindowResult, _aligned_range, _check_sensitive, read_windows
from fairwatch.server._answers import with_windows
from fairwatch.server._app import ServiceContext
from fairwatch.server._security import Principal, client_address, unknown_model

__all__ = ["ASSETS", "CONTENT_SECURITY_POLICY", "SESSION_COOKIE", "SessionStore", "build_router"]

#: The files of the page, each with the content type it is served with.
ASSETS: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}

#: Everything comes from this origin; no inline script or style, no frames, no plugins.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
SESSION_COOKIE = "fairwatch_session"

#: Confidence level of the intervals drawn as bands.
DASHBOARD_CI = 0.95
#: ``window=auto`` takes the shortest of these giving at most ``AUTO_WINDOW_COUNT`` windows.
AUTO_WINDOWS = ("15m", "1h", "6h", "1d", "1w")
AUTO_WINDOW_COUNT = 48
#: At most this many (latest) windows are computed for one chart.
MAX_WINDOWS = 500
#: Open sessions kept at most; the least recently used go first.
MAX_SESSIONS = 10_000
#: The automatic reference period of the estimates: windows with at least this label coverage.
ESTIMATE_REFERENCE_COVERAGE = 0.9
#: Groups with fewer predictions in a window are left out of its estimated disparities.
ESTIMATE_MIN_GROUP_SIZE = 30
#: Fewer labelled, scored reference rows than this refuse a group's estimates.
ESTIMATE_MIN_REFERENCE_ROWS = 200


# -- sessions --------------------------------------------------------------------------------------
@dataclass
class _Session:
    key: str
    last_seen: float


class SessionStore:
    """Server-side sessions: an opaque random token maps to the API key it was opened with.

    Sessions end after ``ttl`` seconds without use, on logout, and when the process stops (they live
    in memory: one ``fairwatch serve`` process holds them).

    Examples
    --------
    >>> sessions = SessionStore(ttl=60.0)
    >>> token = sessions.open("my-read-key")
    >>> sessions.key(token)
    'my-read-key'
    >>> sessions.close(token)
    >>> sessions.key(token) is None
    True
    """

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic, limit: int = MAX_SESSIONS) -> None:
        self.ttl = ttl
        self.clock = clock
        self.limit = limit
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def open(self, key: str) -> str:
        """A new session for ``key``; returns its token (256 random bits)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._prune(now)
            while len(self._sessions) >= self.limit:
                del self._sessions[next(iter(self._sessions))]
            self._sessions[token] = _Session(key, now)
        return token

    def key(self, token: str) -> str | None:
        """The API key of a live session (and the session is marked as used), or None."""
        now = self.clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now - session.last_seen > self.ttl:
                del self._sessions[token]
                return None
            session.last_seen = now
            # keep the dict in least-recently-used order for eviction
            self._sessions[token] = self._sessions.pop(token)
            return session.key

    def close(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _prune(self, now: float) -> None:
        for token in [t for t, s in self._sessions.items() if now - s.last_seen > self.ttl]:
            del self._sessions[token]


# -- static assets ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Asset:
    body: bytes
    media_type: str
    etag: str


def _load_assets() -> dict[str, _Asset]:
    folder = resources.files("fairwatch.server").joinpath("static")
    assets = {}
    for name, media_type in ASSETS.items():
        body = folder.joinpath(name).read_bytes()
        assets[name] = _Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')
    return assets


def _asset_response(asset: _Asset, request: Request) -> Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


# -- request bodies and payload helpers ------------------------------------------------------------
class LoginRequest(BaseModel):
    api_key: str = Field(min_length=1, max_length=1024)


def _model_info(store: Store, model: str, viewer: Principal) -> ModelInfo:
    """The model, if it has predictions and the viewer's key is granted it (else the same 404)."""
    if viewer.sees(model):
        for info in store.models():
            if info.model == model:
                return info
    raise unknown_model(model)


def _hour_floor(value: datetime) -> datetime:
    return datetime.fromtimestamp(int(value.timestamp()) // 3600 * 3600, tz=timezone.utc)


def choose_window(span: timedelta) -> str:
    """The shortest of :data:`AUTO_WINDOWS` that cuts ``span`` into at most 48 windows.

    Examples
    --------
    >>> from datetime import timedelta
    >>> choose_window(timedelta(hours=20)), choose_window(timedelta(days=4)), choose_window(timedelta(days=400))
    ('1h', '6h', '1w')
    """
    for window in AUTO_WINDOWS:
        if span / parse_duration(window) <= AUTO_WINDOW_COUNT:
            return window
    return AUTO_WINDOWS[-1]


def _latest_start(first: datetime, last: datetime, width: timedelta) -> datetime | None:
    """Start of the earliest window shown when the history holds more than :data:`MAX_WINDOWS`."""
    seconds = int(width.total_seconds())
    aligned_first = math.floor(first.timestamp() / seconds) * seconds
    aligned_last = math.floor(last.timestamp() / seconds) * seconds
    if (aligned_last - aligned_first) // seconds + 1 <= MAX_WINDOWS:
        return None
    return datetime.fromtimestamp(aligned_last - (MAX_WINDOWS - 1) * seconds, tz=timezone.utc)


@dataclass(frozen=True)
class _Shown:
    """The windows a chart shows: their length, and the range (None: from the first / to the last)."""

    window: str
    start: datetime | None
    end: datetime | None


def _shown_windows(info: ModelInfo, window: str) -> _Shown:
    first, last = info.first, info.last
    assert first is not None and last is not None  # a listed model has predictions
    chosen = choose_window(last - first) if window == "auto" else window
    start = _latest_start(first, last, parse_duration(chosen))
    return _Shown(chosen, start, None)


@dataclass(frozen=True)
class _Coverage:
    start: datetime
    end: datetime
    n: int
    labelled: int


def _window_coverage(store: Store, model: str, shown: _Shown, model_version: str | None) -> list[_Coverage]:
    """Predictions and labelled predictions per shown window (one aggregate, no sensitive split)."""
    width = parse_duration(shown.window)
    start, end = _aligned_range(store, model, shown.start, shown.end, width)
    query = CellQuery(model, start, end, int(width.total_seconds()), (), model_version=model_version)
    n: dict[int, int] = {}
    labelled: dict[int, int] = {}
    for w, is_labelled, _y, _y_pred, count in store.confusion_cells(query):
        n[int(w)] = n.get(int(w), 0) + int(count)
        labelled[int(w)] = labelled.get(int(w), 0) + (int(count) if is_labelled else 0)
    return [
        _Coverage(start + i * width, min(start + (i + 1) * width, end), n.get(i, 0), labelled.get(i, 0))
        for i in range(math.ceil((end - start) / width))
    ]


def _reference_run(coverage: list[_Coverage], min_coverage: float) -> tuple[datetime, datetime, int] | None:
    """The most recent run of consecutive windows with label coverage >= ``min_coverage``: start, end, windows.

    Empty windows neither break a run nor count in it. None when no window is covered enough.
    """
    run: list[_Coverage] = []
    for window in reversed(coverage):
        if window.n == 0:
            continue
        if window.labelled / window.n >= min_coverage:
            run.append(window)
        elif run:
            break
    if not run:
        return None
    return run[-1].start, run[0].end, len(run)


def _flat_disparity(estimate: dict[str, Any], groups: list[dict[str, Any]]) -> dict[str, Any] | None:
    """An estimated disparity in the shape of :meth:`WindowResult.to_dict`'s (None when undefined)."""
    difference, ratio = estimate["difference"], estimate["ratio"]
    if difference["value"] is None:
        return None
    flat: dict[str, Any] = {
        "metrics": estimate["metrics"],
        "method": "between_groups",
        "estimated": estimate["estimated"],
        "difference": difference["value"],
        "difference_lo": difference["lo"],
        "difference_hi": difference["hi"],
        "ratio": ratio["value"],
        "ratio_lo": ratio["lo"],
        "ratio_hi": ratio["hi"],
    }
    if len(estimate["metrics"]) == 1:  # the groups at both ends (a composite has no single one)
        metric = estimate["metrics"][0]
        valued = [
            (g["metrics"][metric]["value"], g["group"])
            for g in groups
            if g["n"] >= ESTIMATE_MIN_GROUP_SIZE and g["metrics"][metric]["value"] is not None
        ]
        if valued:
            high, low = max(valued, key=lambda v: v[0]), min(valued, key=lambda v: v[0])
            flat.update(max_group=high[1], max_value=high[0], min_group=low[1], min_value=low[0])
    return flat


def _estimate_window_payload(window: dict[str, Any]) -> dict[str, Any]:
    disparities = {name: _flat_disparity(d, window["groups"]) for name, d in window["disparities"].items()}
    return {**window, "disparities": {name: d for name, d in disparities.items() if d is not None}}


def _group_text(group: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items())


def _refusals(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"group": g["group"], "reason": g["estimate_refused"]} for g in groups if g["estimate_refused"]]


def _as_dict(record: Any) -> Any:
    """A rule or alert record as JSON-ready data (``to_dict()``, a mapping or a dataclass)."""
    if hasattr(record, "to_dict"):
        return jsonable_encoder(record.to_dict())
    if isinstance(record, Mapping):
        return jsonable_encoder(dict(record))
    if is_dataclass(record) and not isinstance(record, type):
        return jsonable_encoder(asdict(record))
    return jsonable_encoder(record)


def _records(store: Store, method: str, model: str) -> list[Any] | None:
    """Rules or alerts of ``model`` when the store keeps them (``store.list_rules`` /
    ``store.list_alerts``); None when it has no such feature."""
    listing = getattr(store, method, None)
    if listing is None:
        return None
    try:
        takes_model = "model" in inspect.signature(listing).parameters
    except (TypeError, ValueError):  # builtins without a signature
        takes_model = False
    records = [_as_dict(r) for r in (listing(model=model) if takes_model else listing())]
    if not takes_model:
        records = [r for r in records if not isinstance(r, dict) or r.get("model") in (None, model)]
    return records


def _same_origin(request: Request) -> bool:
    """False for a request another site's page made (defence in depth beside SameSite=Strict).

    Browsers say where a request comes from in ``Sec-Fetch-Site``; unlike ``Origin`` against
    ``Host`` this holds behind a reverse proxy that rewrites ``Host``. Clients that are not browsers
    send no such header and pass.
    """
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


# -- the router ------------------------------------------------------------------------------------
def _window_json(result: WindowResult) -> bytes:
    return to_json(result.to_dict())


def build_router(ctx: ServiceContext) -> APIRouter:
    """Routes of the dashboard: ``/``, ``/dashboard/static/*`` and ``/dashboard/api/*``."""
    settings = ctx.settings
    store = ctx.store
    sessions = SessionStore(float(settings.session_ttl_seconds))
    assets = _load_assets()
    router = APIRouter(include_in_schema=False)

    def secure_headers(response: Response) -> None:
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-store"

    def authenticate(key: str, request: Request) -> Principal:
        """The key checked as a bearer key of scope ``read`` would be: 401, 403 or 429 when it fails."""
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=key)
        return ctx.auth.authenticate(credentials, "read", client_address(request))

    def current_viewer(request: Request) -> Principal:
        """The caller behind the session cookie, its key checked again (revoked: the session ends)."""
        if settings.auth_disabled:
            return authenticate("", request)
        token = request.cookies.get(SESSION_COOKIE, "")
        key = sessions.key(token) if token else None
        if key is None:
            raise HTTPException(401, "not logged in: log in with an API key of scope 'read'")
        try:
            return authenticate(key, request)
        except HTTPException as exc:
            if exc.status_code in (401, 403):
                sessions.close(token)
                raise HTTPException(exc.status_code, f"session ended: {exc.detail}; log in again") from None
            raise

    api = "/dashboard/api"
    no_store = [Depends(secure_headers)]
    as_viewer = Depends(current_viewer)

    @router.get("/")
    def index(request: Request) -> Response:
        return _asset_response(assets["index.html"], request)

    @router.get("/dashboard/static/{name}")
    def static(name: str, request: Request) -> Response:
        asset = assets.get(name)
        if asset is None:
            raise HTTPException(404, f"no dashboard asset named {name!r}")
        return _asset_response(asset, request)

    @router.get(f"{api}/session", dependencies=no_store)
    def get_session(request: Request) -> dict[str, Any]:
        """Whether the page may show data (always 200: the page asks before it knows)."""
        if settings.auth_disabled:
            return {"authenticated": True, "auth_disabled": True, "scopes": []}
        try:
            viewer = current_viewer(request)
        except HTTPException as exc:
            if exc.status_code == 429:
                raise
            return {"authenticated": False, "auth_disabled": False, "scopes": []}
        return {"authenticated": True, "auth_disabled": False, "scopes": list(viewer.scopes)}

    @router.post(f"{api}/login", dependencies=no_store)
    def login(body: LoginRequest, request: Request, response: Response) -> dict[str, Any]:
        if not _same_origin(request):
            raise HTTPException(403, "cross-origin login refused")
        if settings.auth_disabled:
            return {"authenticated": True, "auth_disabled": True, "scopes": []}
        key = body.api_key.strip()
        viewer = authenticate(key, request)
        previous = request.cookies.get(SESSION_COOKIE)
        if previous:
            sessions.close(previous)
        secure = settings.session_cookie_secure
        response.set_cookie(
            SESSION_COOKIE,
            sessions.open(key),
            httponly=True,
            samesite="strict",
            path="/",
            secure=request.url.scheme == "https" if secure is None else secure,
        )
        return {"authenticated": True, "auth_disabled": False, "scopes": list(viewer.scopes)}

    @router.post(f"{api}/logout", dependencies=no_store)
    def logout(request: Request, response: Response) -> dict[str, Any]:
        if not _same_origin(request):
            raise HTTPException(403, "cross-origin logout refused")
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            sessions.close(token)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return {"authenticated": False}

    @router.get(f"{api}/models", dependencies=no_store)
    def models(viewer: Principal = as_viewer) -> dict[str, Any]:
        visible = [m for m in store.models() if viewer.sees(m.model)]
        listed = [
            {
                "model": m.model,
                "versions": m.versions,
                "predictions": m.predictions,
                "labelled": m.labelled,
                "label_coverage": m.labelled / m.predictions if m.predictions else None,
                "first": m.first,
                "last": m.last,
            }
            for m in visible
        ]
        # attribute names of the models this viewer sees only (a key granted one model learns no others)
        seen = sorted({name for m in visible for name in store.sensitive_attributes(m.model)})
        return {"models": listed, "sensitive": seen}

    @router.get(f"{api}/models/{{model}}/metrics", dependencies=no_store)
    def metrics(
        model: str,
        viewer: Principal = as_viewer,
        sensitive: str | None = None,
        window: Annotated[str, Query(max_length=16)] = "auto",
        model_version: str | None = None,
    ) -> Response:
        info = _model_info(store, model, viewer)
        attributes = comma_list(sensitive) or store.sensitive_attributes(model)[:1]
        shown = _shown_windows(info, window)
        plan = read_windows(
            store,
            model,
            sensitive=attributes,
            window=shown.window,
            start=shown.start,
            end=shown.end,
            ci=DASHBOARD_CI,
            model_version=model_version,
        )
        question = ("dashboard", model, model_version, tuple(attributes), plan.metric_names, plan.groups)
        answers = ctx.answers.answers(question, plan, _window_json)
        head = {
            "model": model,
            "sensitive": attributes,
            "window": shown.window,
            "ci": DASHBOARD_CI,
            "truncated": shown.start is not None,
            "metrics": list(plan.metric_names) if plan.count else [],
        }
        return Response(with_windows(head, answers.json), media_type="application/json")

    @router.get(f"{api}/models/{{model}}/estimates", dependencies=no_store)
    def estimates(
        model: str,
        viewer: Principal = as_viewer,
        sensitive: str | None = None,
        window: Annotated[str, Query(max_length=16)] = "auto",
        model_version: str | None = None,
        reference_start: EventTime | None = None,
        reference_end: EventTime | None = None,
        min_coverage: Annotated[float, Query(gt=0, le=1)] = ESTIMATE_REFERENCE_COVERAGE,
    ) -> dict[str, Any]:
        """Label-dependent metrics of the shown windows, estimated where labels are missing."""
        info = _model_info(store, model, viewer)
        attributes = comma_list(sensitive) or store.sensitive_attributes(model)[:1]
        _check_sensitive(store, model, attributes)
        shown = _shown_windows(info, window)
        if parse_duration(shown.window) < timedelta(hours=1):  # scores are kept per hour
            shown = _shown_windows(info, "1h")
        answer: dict[str, Any] = {
            "model": model,
            "sensitive": attributes,
            "window": shown.window,
            "ci": DASHBOARD_CI,
            "min_coverage": min_coverage,
            "min_group_size": ESTIMATE_MIN_GROUP_SIZE,
            "uncertainty": UNCERTAINTY_METHOD,
            "reference": None,
            "refused": None,
            "refusals": [],
            "windows": [],
        }
        if (reference_start is None) != (reference_end is None):
            raise InvalidInputError("give both reference_start and reference_end, or neither (automatic choice)")
        reference: tuple[datetime, datetime, int | None]
        if reference_start is not None and reference_end is not None:
            reference = (reference_start, reference_end, None)
            chosen_by = "given"
        else:
            found = _reference_run(_window_coverage(store, model, shown, model_version), min_coverage)
            if found is None:
                answer["refused"] = (
                    f"no reference period: no window has label coverage of at least {min_coverage:.0%} yet, and "
                    f"estimates need a labelled period to calibrate the scores on (pass reference_start and "
                    f"reference_end to choose one)"
                )
                return answer
            reference = found
            chosen_by = "auto"
        try:
            calibration = fit_reference_calibration(
                store,
                model,
                sensitive=attributes,
                reference_start=reference[0],
                reference_end=reference[1],
                min_reference_rows=ESTIMATE_MIN_REFERENCE_ROWS,
                model_version=model_version,
            )
        except InvalidInputError as exc:
            answer["refused"] = str(exc)
            return answer
        _, windows = estimate_windows(
            store,
            model,
            sensitive=attributes,
            reference_start=reference[0],
            reference_end=reference[1],
            window=shown.window,
            start=shown.start,
            end=shown.end,
            ci=DASHBOARD_CI,
            min_group_size=ESTIMATE_MIN_GROUP_SIZE,
            model_version=model_version,
            calibration=calibration,
        )
        answer["reference"] = {
            **calibration.to_dict(),
            "chosen": chosen_by,
            "windows": reference[2],
            "min_coverage": min_coverage if chosen_by == "auto" else None,
        }
        groups = answer["reference"]["groups"]
        answer["refusals"] = _refusals(groups)
        if groups and len(answer["refusals"]) == len(groups):
            answer["refused"] = "; ".join(f"{_group_text(r['group'])}: {r['reason']}" for r in answer["refusals"])
        answer["windows"] = [_estimate_window_payload(w.to_dict()) for w in windows]
        return answer

    @router.get(f"{api}/models/{{model}}/drift", dependencies=no_store)
    def model_drift(
        model: str,
        viewer: Principal = as_viewer,
        sensitive: str | None = None,
        model_version: str | None = None,
        reference_start: EventTime | None = None,
        reference_end: EventTime | None = None,
        start: EventTime | None = None,
        end: EventTime | None = None,
    ) -> dict[str, Any]:
        info = _model_info(store, model, viewer)
        assert info.first is not None and info.last is not None
        # drift is kept per hour: the default periods are the two halves of the history, in whole hours
        first = _hour_floor(info.first)
        stop = _hour_floor(info.last) + timedelta(hours=1)
        middle = max(_hour_floor(first + (stop - first) / 2), first + timedelta(hours=1))
        reference = (reference_start or first, reference_end or middle)
        current = (start or middle, end or max(stop, middle + timedelta(hours=1)))
        results = drift(
            store,
            model,
            reference_start=reference[0],
            reference_end=reference[1],
            start=current[0],
            end=current[1],
            sensitive=comma_list(sensitive),
            model_version=model_version,
        )
        return {
            "model": model,
            "reference": {"start": reference[0], "end": reference[1]},
            "current": {"start": current[0], "end": current[1]},
            "features": [r.to_dict() for r in results],
        }

    @router.get(f"{api}/models/{{model}}/alerts", dependencies=no_store)
    def alerts(model: str, viewer: Principal = as_viewer) -> dict[str, Any]:
        _model_info(store, model, viewer)
        return {"rules": _records(store, "list_rules", model), "alerts": _records(store, "list_alerts", model)}

    return router
