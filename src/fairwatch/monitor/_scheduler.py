"""The rule scheduler: evaluates rules as their windows close, inside ``fairwatch serve``.

Each pass (every ``evaluation_interval`` seconds) evaluates, for every enabled rule, the windows
that closed (plus the rule's ``delay``) since the rule was last evaluated, moves the alerts through
their states, sends the due notifications from the outbox and refreshes the
``fairwatch_alerts_firing`` gauge. Windows are aligned to multiples of the rule's window since the
Unix epoch (UTC), so hourly windows start on the hour and daily windows at midnight UTC. Store calls
run in a worker thread; a failing store or rule is logged and retried on the next pass (the rule's
progress is only recorded after its alerts are written).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from fairwatch.exceptions import UnknownModelError
from fairwatch.monitor._alerts import RuleRecord, Transition, apply_evaluations
from fairwatch.monitor._notifiers import PUBLIC_ONLY, AnyNotifier, DeliveryReport, DestinationPolicy, deliver_due
from fairwatch.monitor._rules import AnyRule, evaluate_rule, parse_rule
from fairwatch.monitor._store import Store

__all__ = ["PassReport", "RuleScheduler", "closed_windows"]

log = logging.getLogger("fairwatch.alerts")

#: After a stop, a rule catches up on at most this many of its latest closed windows; older ones are skipped.
MAX_CATCH_UP = 48


@dataclass
class PassReport:
    """What one scheduler pass did."""

    rules: int = 0
    windows: int = 0
    transitions: list[Transition] = field(default_factory=list)
    deliveries: DeliveryReport = field(default_factory=DeliveryReport)
    errors: list[str] = field(default_factory=list)


def closed_windows(rule: AnyRule, evaluated_until: datetime | None, now: datetime) -> tuple[datetime, datetime] | None:
    """The span of windows of ``rule`` that are due at ``now``: closed at least ``delay`` ago and not
    evaluated yet (a new rule starts with the last closed window); None when nothing is due."""
    width = int(rule.width.total_seconds())
    closed = math.floor((now - rule.lag).timestamp() / width) * width
    if evaluated_until is None:
        first = closed - width
    else:
        first = max(int(evaluated_until.timestamp()), closed - MAX_CATCH_UP * width)
    if closed <= first:
        return None
    return datetime.fromtimestamp(first, tz=timezone.utc), datetime.fromtimestamp(closed, tz=timezone.utc)


class RuleScheduler:
    """Evaluates stored rules periodically (``start``/``stop`` on the service's event loop)."""

    def __init__(
        self,
        store: Store,
        notifiers: Mapping[str, AnyNotifier],
        *,
        interval: float = 60.0,
        on_pass: Callable[[PassReport], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        destinations: DestinationPolicy = PUBLIC_ONLY,
    ) -> None:
        self.store = store
        self.notifiers = dict(notifiers)
        self.destinations = destinations
        self.interval = interval
        self.on_pass = on_pass
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._pass_lock = threading.Lock()  # one pass at a time (the loop and explicit calls)
        # set by stop(): the pass in its worker thread ends after the rule it is evaluating, so the
        # service does not close the store under a pass that a cancelled task can no longer wait for
        self._stopping = threading.Event()

    # -- one pass (blocking; runs in a worker thread) ---------------------------------------------
    def run_once(self, now: datetime | None = None) -> PassReport:
        """Evaluate every due window of every enabled rule, then send due notifications."""
        with self._pass_lock:
            return self._run(now or self.clock())

    def _run(self, now: datetime) -> PassReport:
        report = PassReport()
        try:
            records = self.store.list_rules()
        except Exception as exc:  # the store is down: try again next pass
            report.errors.append(f"listing rules failed: {type(exc).__name__}: {exc}")
            log.warning("rule scheduler: %s; retrying next pass", report.errors[-1])
            return report
        for record in records:
            if self._stopping.is_set():
                log.info("rule scheduler: stopping; the remaining rules are evaluated after the restart")
                return report
            try:
                self._evaluate(record, now, report)
            except Exception as exc:
                report.errors.append(f"rule {record.rule_id} ({record.name!r}): {type(exc).__name__}: {exc}")
                log.warning("rule scheduler: %s; retrying next pass", report.errors[-1])
        if self._stopping.is_set():
            return report  # the outbox keeps the due notifications for the next start
        try:
            report.deliveries = deliver_due(self.store, self.notifiers, now, destinations=self.destinations)
        except Exception as exc:
            report.errors.append(f"sending notifications failed: {type(exc).__name__}: {exc}")
            log.warning("rule scheduler: %s; retrying next pass", report.errors[-1])
        if self.on_pass is not None:
            try:
                self.on_pass(report)
            except Exception as exc:
                log.warning("rule scheduler: after-pass hook failed: %s", type(exc).__name__)
        return report

    def _evaluate(self, record: RuleRecord, now: datetime, report: PassReport) -> None:
        rule = parse_rule(record.spec)
        if not rule.enabled:
            return
        span = closed_windows(rule, record.evaluated_until, now)
        if span is None:
            return
        report.rules += 1
        try:
            evaluations = evaluate_rule(self.store, rule, *span)
        except UnknownModelError:
            evaluations = []  # no predictions for the model yet: nothing can fire
        report.windows += len(evaluations)
        transitions = apply_evaluations(self.store, record, evaluations, now)
        report.transitions.extend(transitions)
        if any(t.event == "opened" for t in transitions):
            self.store.resolve_alerts_of_deleted_rule(record.rule_id, now)  # deleted during this pass
        self.store.set_rule_evaluated(record.rule_id, span[1])

    # -- the background task ------------------------------------------------------------------------
    async def _loop(self) -> None:
        assert self._stop is not None
        # the first pass comes one interval after start: a service (or a test) that starts and stops
        # right away never touches the store from this task
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.interval)
            if self._stop.is_set():
                return
            try:
                await asyncio.to_thread(self.run_once)
            except Exception as exc:  # pragma: no cover - run_once catches what it expects
                log.warning("rule scheduler pass failed: %s", type(exc).__name__)

    async def start(self) -> None:
        """Start the periodic passes (the first one after ``interval`` seconds)."""
        if self.interval <= 0 or self._task is not None:
            return
        self._stop = asyncio.Event()
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name="fairwatch-rule-scheduler")

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop: a pass in progress ends after the rule it is evaluating (rules evaluated so far keep
        their progress; the others, and due notifications, wait for the next start)."""
        if self._task is None or self._stop is None:
            return
        self._stopping.set()
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=timeout)
        except asyncio.TimeoutError:
            log.warning("rule scheduler: a rule evaluation outlasted the %.0f s stop timeout", timeout)
            self._task.cancel()
        self._task = None


def refresh_firing_gauge(store: Store, gauge: Any) -> None:
    """Set ``fairwatch_alerts_firing{model, rule}`` from the store (0 for rules with no firing alert)."""
    counts = store.firing_counts()
    gauge.clear()
    for model, rule, count in counts:
        gauge.labels(model, rule).set(count)
