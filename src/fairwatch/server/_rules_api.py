"""Routes for alert rules and alerts: ``/v1/rules`` and ``/v1/alerts``; starts the rule scheduler."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor._alerts import ALERT_STATES, AlertRecord, RuleRecord
from fairwatch.monitor._events import MODEL_NAME, EventTime
from fairwatch.monitor._notifiers import DestinationPolicy, check_destinations, parse_notifiers
from fairwatch.monitor._rules import AnyRule, Rule, evaluate_rule, parse_rule
from fairwatch.monitor._scheduler import RuleScheduler, refresh_firing_gauge
from fairwatch.server._app import ServiceContext

__all__ = ["build_router", "scheduler_of"]

log = logging.getLogger("fairwatch.alerts")

#: Most windows one back-test may evaluate.
MAX_BACKTEST_WINDOWS = 5000
RuleId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="A rule id from POST /v1/rules")]
AlertId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="An alert id from GET /v1/alerts")]
ModelFilter = Annotated[str | None, Query(pattern=MODEL_NAME, description="Only this model")]


class RuleOut(BaseModel):
    """A stored rule: its specification plus ``id`` and bookkeeping."""

    model_config = ConfigDict(extra="allow")

    id: str
    kind: str
    name: str
    model: str
    created: datetime
    updated: datetime
    evaluated_until: datetime | None


class RulesResponse(BaseModel):
    rules: list[RuleOut]


class BacktestWindow(BaseModel):
    """One window (and comparison) of a back-test."""

    model_config = ConfigDict(extra="allow")

    start: datetime
    end: datetime
    value: float | None
    lo: float | None
    hi: float | None
    firing: bool
    reason: str


class BacktestResponse(BaseModel):
    rule_id: str
    windows: list[BacktestWindow]


class DeliveryOut(BaseModel):
    id: str
    notifier: str
    event: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt: datetime | None
    sent: datetime | None


class AlertOut(BaseModel):
    id: str
    rule_id: str
    rule: str
    model: str
    key: str
    state: str
    started: datetime
    last_window_end: datetime
    resolved: datetime | None
    windows_firing: int
    acknowledged: datetime | None
    acknowledged_by: str | None
    silenced_until: datetime | None
    silenced: bool
    evidence: dict[str, Any]
    deliveries: list[DeliveryOut] = Field(default_factory=list)


class AlertsResponse(BaseModel):
    alerts: list[AlertOut]


class AcknowledgeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str | None = Field(default=None, max_length=200, pattern=r"^[^\x00]*$", description="Who acknowledges")


class SilenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime | None = Field(description="No notifications for this alert before this time (null lifts it)")


def scheduler_of(ctx: ServiceContext) -> RuleScheduler:
    """The scheduler started for a service context (tests drive it with ``run_once``)."""
    scheduler: RuleScheduler = getattr(ctx, "rule_scheduler")  # noqa: B009 - set by build_router
    return scheduler


def _sees(principal: Any, model: str) -> bool:
    """Whether the caller may see ``model`` (keys can be limited to some models; admin sees all)."""
    sees = getattr(principal, "sees", None)
    return sees is None or bool(sees(model))


def _record(rule: AnyRule, rule_id: str, created: datetime, now: datetime) -> RuleRecord:
    spec = rule.model_dump(mode="json", exclude_none=True)
    return RuleRecord(rule_id, rule.name, rule.model, rule.kind, spec, created, now)


def _rule_out(record: RuleRecord) -> RuleOut:
    return RuleOut.model_validate(record.to_dict())


def _alert_out(alert: AlertRecord) -> AlertOut:
    return AlertOut.model_validate(alert.to_dict())


def build_router(ctx: ServiceContext) -> APIRouter:
    store = ctx.store
    notifiers = parse_notifiers(ctx.settings.notifiers)
    destinations = DestinationPolicy.from_settings(
        ctx.settings.notifier_allow_private, ctx.settings.notifier_allowed_hosts
    )

    def refresh_gauge(*_: Any) -> None:
        refresh_firing_gauge(store, ctx.telemetry.alerts_firing)

    scheduler = RuleScheduler(
        store,
        notifiers,
        interval=ctx.settings.evaluation_interval,
        on_pass=refresh_gauge,
        destinations=destinations,
    )
    setattr(ctx, "rule_scheduler", scheduler)  # noqa: B010 - ServiceContext has no slot for it

    async def show_firing_alerts() -> None:
        # the gauge is right from the first scrape; a store that is down must not stop the service
        try:
            await asyncio.to_thread(refresh_gauge)
        except Exception as exc:
            log.warning("could not read the firing alerts at start (%s); the next pass retries", type(exc).__name__)

    ctx.startup.extend([show_firing_alerts, scheduler.start])
    ctx.shutdown.append(scheduler.stop)

    router = APIRouter(tags=["alerts"])
    admin = [Depends(ctx.auth.require("admin"))]
    as_reader = Depends(ctx.auth.require("read"))

    def check_notify(rule: AnyRule) -> None:
        unknown = [name for name in rule.notify if name not in notifiers]
        if unknown:
            raise InvalidInputError(
                f"notify: unknown notifier(s) {', '.join(map(repr, unknown))}; configured: "
                f"{', '.join(sorted(notifiers))} (set FAIRWATCH_NOTIFIERS to add more)"
            )
        # an HTTP notifier must send to an allowed address (checked again at each delivery)
        check_destinations({name: notifiers[name] for name in rule.notify}, destinations)

    def found_rule(rule_id: str) -> RuleRecord:
        record = store.get_rule(rule_id)
        if record is None:
            raise HTTPException(404, f"no rule with id {rule_id!r}; GET /v1/rules lists them")
        return record

    @router.post("/v1/rules", response_model=RuleOut, status_code=201, dependencies=admin)
    def create_rule(rule: Annotated[Rule, Body()]) -> RuleOut:
        """Create a fairness, drift or label-coverage rule."""
        check_notify(rule)
        now = datetime.now(timezone.utc)
        record = _record(rule, secrets.token_hex(8), now, now)
        store.insert_rule(record)
        refresh_gauge()
        return _rule_out(record)

    @router.get("/v1/rules", response_model=RulesResponse)
    def list_rules(model: ModelFilter = None, reader: Any = as_reader) -> RulesResponse:
        """Every rule (of a model) the API key may see."""
        records = [r for r in store.list_rules(model=model) if _sees(reader, r.model)]
        return RulesResponse(rules=[_rule_out(r) for r in records])

    @router.get("/v1/rules/{rule_id}", response_model=RuleOut)
    def get_rule(rule_id: RuleId, reader: Any = as_reader) -> RuleOut:
        record = found_rule(rule_id)
        if not _sees(reader, record.model):
            raise HTTPException(404, f"no rule with id {rule_id!r}; GET /v1/rules lists them")
        return _rule_out(record)

    @router.put("/v1/rules/{rule_id}", response_model=RuleOut, dependencies=admin)
    def replace_rule(rule_id: RuleId, rule: Annotated[Rule, Body()]) -> RuleOut:
        """Replace a rule; its evaluation restarts with the next closed window."""
        check_notify(rule)
        old = found_rule(rule_id)
        record = _record(rule, rule_id, old.created, datetime.now(timezone.utc))
        store.replace_rule(record)
        refresh_gauge()
        return _rule_out(record)

    @router.delete("/v1/rules/{rule_id}", status_code=204, dependencies=admin)
    def delete_rule(rule_id: RuleId) -> Response:
        """Delete a rule; its alerts stay in the history (open ones are resolved)."""
        if not store.delete_rule(rule_id):
            raise HTTPException(404, f"no rule with id {rule_id!r}; GET /v1/rules lists them")
        refresh_gauge()
        return Response(status_code=204)

    @router.post("/v1/rules/{rule_id}/evaluate", response_model=BacktestResponse, dependencies=admin)
    def backtest(
        rule_id: RuleId,
        start: Annotated[EventTime, Query(description="Start of the first window (floored to the window grid)")],
        end: Annotated[EventTime, Query(description="End of the last window")],
    ) -> BacktestResponse:
        """Back-test a rule on stored history: the verdict of every window (and comparison).

        Changes no alert and sends nothing.
        """
        rule = parse_rule(found_rule(rule_id).spec)
        windows = (end - start) / rule.width
        if windows > MAX_BACKTEST_WINDOWS:
            raise InvalidInputError(
                f"start..end spans {windows:.0f} windows of {rule.window}; at most {MAX_BACKTEST_WINDOWS} per "
                f"back-test: shorten the period"
            )
        rows = [row for evaluation in evaluate_rule(store, rule, start, end) for row in evaluation.rows()]
        return BacktestResponse(rule_id=rule_id, windows=[BacktestWindow.model_validate(r) for r in rows])

    @router.get("/v1/alerts", response_model=AlertsResponse)
    def list_alerts(
        model: ModelFilter = None,
        # the states are documented; the check below refuses others with its own message
        state: Annotated[
            str | None, Query(description="firing or resolved", json_schema_extra={"enum": list(ALERT_STATES)})
        ] = None,
        rule_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        reader: Any = as_reader,
    ) -> AlertsResponse:
        """Alerts, most recent first."""
        if state is not None and state not in ALERT_STATES:
            raise InvalidInputError(f"state must be one of {', '.join(ALERT_STATES)}; got {state!r}")
        if model is not None and not _sees(reader, model):
            return AlertsResponse(alerts=[])
        granted = getattr(reader, "models", None)  # the store filters before it applies the limit
        alerts = store.list_alerts(model=model, state=state, limit=limit, rule_id=rule_id, models=granted)
        return AlertsResponse(alerts=[_alert_out(a) for a in alerts if _sees(reader, a.model)])

    def found_alert(alert: AlertRecord | None, alert_id: str, reader: Any = None) -> AlertOut:
        if alert is None or not _sees(reader, alert.model):
            raise HTTPException(404, f"no alert with id {alert_id!r}; GET /v1/alerts lists them")
        return _alert_out(alert)

    @router.get("/v1/alerts/{alert_id}", response_model=AlertOut)
    def get_alert(alert_id: AlertId, reader: Any = as_reader) -> AlertOut:
        """An alert with its evidence and notification history."""
        return found_alert(store.get_alert(alert_id), alert_id, reader)

    @router.post("/v1/alerts/{alert_id}/acknowledge", response_model=AlertOut, dependencies=admin)
    def acknowledge(alert_id: AlertId, body: Annotated[AcknowledgeBody | None, Body()] = None) -> AlertOut:
        """Mark an alert as seen (it keeps firing until a window clears it)."""
        by = body.by if body is not None else None
        return found_alert(store.acknowledge_alert(alert_id, by, datetime.now(timezone.utc)), alert_id)

    @router.post("/v1/alerts/{alert_id}/silence", response_model=AlertOut, dependencies=admin)
    def silence(alert_id: AlertId, body: SilenceBody) -> AlertOut:
        """Send no notifications for this alert (and its comparison's next alerts) until a time."""
        return found_alert(store.silence_alert(alert_id, body.until, datetime.now(timezone.utc)), alert_id)

    return router
