"""Alerts: one per rule and compared group (pair), moving ``ok -> firing -> resolved``.

A window whose verdict fires opens an alert (or extends the one already firing: no new alert, no
new notification); the first window that is evaluated and does not fire resolves it. Windows where
a comparison could not be evaluated (a group under ``min_group_size``, no data) leave the state as
it is. Alert ids are derived from the rule (and its version), the comparison and the first firing window,
so a window evaluated twice (a crash between evaluation and bookkeeping, two service replicas) cannot open two
alerts. Every notification is written to an outbox (``alert_deliveries``) in the same transaction as
the alert change and sent from there, so a failed notification is retried and never loses the alert.

This module holds the records the store returns; it imports nothing from the store at run time.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fairwatch.monitor._rules import Comparison, WindowEvaluation
    from fairwatch.monitor._store import Store

__all__ = [
    "ALERT_STATES",
    "AlertRecord",
    "AlertStore",
    "DeliveryRecord",
    "RuleRecord",
    "Transition",
    "apply_evaluations",
]

ALERT_STATES = ("firing", "resolved")
DELIVERY_STATES = ("pending", "sending", "sent", "failed", "silenced", "skipped")
#: How long a replica holds the notifications it took before another may take them (a replica that
#: died while sending): the receiver may then get one retry, with the same Idempotency-Key.
DELIVERY_LEASE = timedelta(minutes=2)


def utc(value: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def short_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]


@dataclass
class RuleRecord:
    """A stored rule: its id, its JSON specification and bookkeeping."""

    rule_id: str
    name: str
    model: str
    kind: str
    spec: dict[str, Any]
    created: datetime
    updated: datetime
    evaluated_until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.rule_id,
            **self.spec,
            "created": _iso(self.created),
            "updated": _iso(self.updated),
            "evaluated_until": _iso(self.evaluated_until),
        }


@dataclass
class AlertRecord:
    """One alert of a rule on one comparison (a group or a group pair)."""

    alert_id: str
    rule_id: str
    rule_name: str
    model: str
    key: str
    state: str
    started: datetime
    last_window_end: datetime
    resolved: datetime | None
    windows_firing: int
    evidence: dict[str, Any]
    created: datetime
    updated: datetime
    acknowledged: datetime | None = None
    acknowledged_by: str | None = None
    silenced_until: datetime | None = None
    deliveries: list[DeliveryRecord] = field(default_factory=list)

    def silenced(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(timezone.utc)
        return self.silenced_until is not None and self.silenced_until > now

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.alert_id,
            "rule_id": self.rule_id,
            "rule": self.rule_name,
            "model": self.model,
            "key": self.key,
            "state": self.state,
            "started": _iso(self.started),
            "last_window_end": _iso(self.last_window_end),
            "resolved": _iso(self.resolved),
            "windows_firing": self.windows_firing,
            "acknowledged": _iso(self.acknowledged),
            "acknowledged_by": self.acknowledged_by,
            "silenced_until": _iso(self.silenced_until),
            "silenced": self.silenced(),
            "evidence": self.evidence,
        }
        if self.deliveries:
            out["deliveries"] = [d.to_dict() for d in self.deliveries]
        return out


@dataclass
class DeliveryRecord:
    """One notification of one alert event to one notifier (the outbox row)."""

    delivery_id: str
    alert_id: str
    notifier: str
    event: str
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None
    next_attempt: datetime
    created: datetime
    sent: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.delivery_id,
            "notifier": self.notifier,
            "event": self.event,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "next_attempt": _iso(self.next_attempt),
            "sent": _iso(self.sent),
        }


@dataclass(frozen=True)
class Transition:
    """What one window did to one alert: ``opened``, ``extended`` or ``resolved``."""

    event: str
    alert: AlertRecord


def alert_payload(alert: AlertRecord, event: str, rule: dict[str, Any]) -> dict[str, Any]:
    """The JSON every notifier receives: the alert, the rule and the window's evidence."""
    return {
        "event": event,
        "alert": alert.to_dict(),
        "rule": rule,
        "evidence": alert.evidence,
    }


def _evidence(evaluation: WindowEvaluation, comparison: Comparison) -> dict[str, Any]:
    return {"window": {"start": _iso(evaluation.start), "end": _iso(evaluation.end)}, **comparison.to_dict()}


def _outbox_rows(
    alert: AlertRecord, event: str, rule: RuleRecord, notify: Sequence[str], now: datetime
) -> list[DeliveryRecord]:
    payload = alert_payload(alert, "firing" if event == "opened" else event, rule.to_dict())
    status = "silenced" if alert.silenced(now) else "pending"
    return [
        DeliveryRecord(
            delivery_id=short_hash(alert.alert_id, event, name),
            alert_id=alert.alert_id,
            notifier=name,
            event="firing" if event == "opened" else event,
            payload=payload,
            status=status,
            attempts=0,
            last_error=None,
            next_attempt=now,
            created=now,
        )
        for name in notify
    ]


def apply_evaluations(
    store: Store, record: RuleRecord, evaluations: Sequence[WindowEvaluation], now: datetime | None = None
) -> list[Transition]:
    """Move the rule's alerts through the verdicts of ``evaluations`` (windows in time order)."""
    now = now or datetime.now(timezone.utc)
    # the stored spec is the validated rule's: its notifier names as the rule has them
    notify = [str(name) for name in record.spec.get("notify") or []]
    open_alerts = {a.key: a for a in store.list_alerts(rule_id=record.rule_id, state="firing", limit=100_000)}
    transitions: list[Transition] = []
    for evaluation in evaluations:
        for comparison in evaluation.comparisons:
            current = open_alerts.get(comparison.key)
            if current is not None and evaluation.end <= current.last_window_end:
                continue  # this window was already counted
            if comparison.firing and current is None:
                alert = _open(store, record, evaluation, comparison, now)
                store.save_alert(alert, _outbox_rows(alert, "opened", record, notify, now), new=True)
                open_alerts[comparison.key] = alert
                transitions.append(Transition("opened", alert))
            elif comparison.firing and current is not None:
                current.last_window_end = evaluation.end
                current.windows_firing += 1
                current.evidence = _evidence(evaluation, comparison)
                current.updated = now
                store.save_alert(current, [])
                transitions.append(Transition("extended", current))
            elif current is not None and comparison.evaluated:
                current.state = "resolved"
                current.resolved = evaluation.end
                current.last_window_end = evaluation.end
                current.evidence = {**_evidence(evaluation, comparison), "firing_evidence": current.evidence}
                current.updated = now
                store.save_alert(current, _outbox_rows(current, "resolved", record, notify, now))
                del open_alerts[comparison.key]
                transitions.append(Transition("resolved", current))
    return transitions


def _open(
    store: Store, record: RuleRecord, evaluation: WindowEvaluation, comparison: Comparison, now: datetime
) -> AlertRecord:
    # a silence set on the previous alert of the same comparison carries over while it lasts
    previous = store.list_alerts(rule_id=record.rule_id, key=comparison.key, limit=1)
    silenced = previous[0].silenced_until if previous and previous[0].silenced(now) else None
    return AlertRecord(
        # the rule's version is part of the id: after a replacement the same window opens a new alert
        alert_id=short_hash(record.rule_id, record.updated.isoformat(), comparison.key, evaluation.start.isoformat()),
        rule_id=record.rule_id,
        rule_name=record.name,
        model=record.model,
        key=comparison.key,
        state="firing",
        started=evaluation.start,
        last_window_end=evaluation.end,
        resolved=None,
        windows_firing=1,
        evidence=_evidence(evaluation, comparison),
        created=now,
        updated=now,
        silenced_until=silenced,
    )


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# -- persistence (mixed into Store: both stores share this SQL) ---------------------------------------
_RULE_COLUMNS = "rule_id, name, model, kind, spec, created, updated, evaluated_until"
_ALERT_COLUMNS = (
    "alert_id, rule_id, rule_name, model, pair_key, state, started, last_window_end, resolved, windows_firing, "
    "evidence, created, updated, acknowledged, acknowledged_by, silenced_until"
)
#: Alert columns only the API changes (an evaluation pass never overwrites them).
_API_ALERT_COLUMNS = frozenset({"acknowledged", "acknowledged_by", "silenced_until"})
_RESOLVE_OPEN = (
    "UPDATE alerts SET state = 'resolved', resolved = ?, updated = ? WHERE rule_id = ? AND state = 'firing'",
)
_DELIVERY_COLUMNS = (
    "delivery_id, alert_id, notifier, event, payload, status, attempts, last_error, next_attempt, created, sent"
)


def _rule_from_row(row: Sequence[Any]) -> RuleRecord:
    return RuleRecord(row[0], row[1], row[2], row[3], json.loads(row[4]), _must(row[5]), _must(row[6]), utc(row[7]))


def _alert_from_row(row: Sequence[Any]) -> AlertRecord:
    return AlertRecord(
        alert_id=row[0],
        rule_id=row[1],
        rule_name=row[2],
        model=row[3],
        key=row[4],
        state=row[5],
        started=_must(row[6]),
        last_window_end=_must(row[7]),
        resolved=utc(row[8]),
        windows_firing=int(row[9]),
        evidence=json.loads(row[10]),
        created=_must(row[11]),
        updated=_must(row[12]),
        acknowledged=utc(row[13]),
        acknowledged_by=row[14],
        silenced_until=utc(row[15]),
    )


def _delivery_from_row(row: Sequence[Any]) -> DeliveryRecord:
    return DeliveryRecord(
        row[0],
        row[1],
        row[2],
        row[3],
        json.loads(row[4]),
        row[5],
        int(row[6]),
        row[7],
        _must(row[8]),
        _must(row[9]),
        utc(row[10]),
    )


def _must(value: datetime | None) -> datetime:
    out = utc(value)
    assert out is not None
    return out


class AlertStore(ABC):
    """Rules, alerts and the notification outbox, in the store's own tables."""

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement with ``?`` parameters in its own transaction."""

    @abstractmethod
    def _execute_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Several statements with ``?`` parameters in one transaction (all or nothing)."""

    # -- rules -----------------------------------------------------------------------------------
    def insert_rule(self, record: RuleRecord) -> None:
        self._execute(
            f"INSERT INTO rules ({_RULE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                record.rule_id,
                record.name,
                record.model,
                record.kind,
                dumps(record.spec),
                record.created,
                record.updated,
                record.evaluated_until,
            ],
        )

    def replace_rule(self, record: RuleRecord) -> bool:
        """Replace a rule's specification. Its open alerts are resolved (they were raised under the
        old specification) and evaluation restarts from the next closed window."""
        if not self._execute("SELECT rule_id FROM rules WHERE rule_id = ?", [record.rule_id]):
            return False
        self._execute_many(
            [
                _RESOLVE_OPEN + ([record.updated, record.updated, record.rule_id],),
                (
                    "UPDATE rules SET name = ?, model = ?, kind = ?, spec = ?, updated = ?, evaluated_until = NULL "
                    "WHERE rule_id = ?",
                    [record.name, record.model, record.kind, dumps(record.spec), record.updated, record.rule_id],
                ),
            ]
        )
        return True

    def delete_rule(self, rule_id: str) -> bool:
        """Delete a rule; its alerts stay in the history, open ones are resolved."""
        now = datetime.now(timezone.utc)
        rows = self._execute("SELECT rule_id FROM rules WHERE rule_id = ?", [rule_id])
        if not rows:
            return False
        self._execute_many(
            [
                _RESOLVE_OPEN + ([now, now, rule_id],),
                ("DELETE FROM rules WHERE rule_id = ?", [rule_id]),
            ]
        )
        return True

    def resolve_alerts_of_deleted_rule(self, rule_id: str, now: datetime) -> None:
        """Resolve the firing alerts of ``rule_id`` if the rule no longer exists: a pass that read the
        rule before it was deleted may open an alert after the deletion resolved the open ones."""
        self._execute(
            "UPDATE alerts SET state = 'resolved', resolved = ?, updated = ? WHERE rule_id = ? AND state = 'firing' "
            "AND NOT EXISTS (SELECT 1 FROM rules WHERE rules.rule_id = ?)",
            [now, now, rule_id, rule_id],
        )

    def get_rule(self, rule_id: str) -> RuleRecord | None:
        rows = self._execute(f"SELECT {_RULE_COLUMNS} FROM rules WHERE rule_id = ?", [rule_id])
        return _rule_from_row(rows[0]) if rows else None

    def list_rules(self, model: str | None = None) -> list[RuleRecord]:
        """Every rule (of ``model``), oldest first."""
        where, params = ("WHERE model = ?", [model]) if model is not None else ("", [])
        rows = self._execute(f"SELECT {_RULE_COLUMNS} FROM rules {where} ORDER BY created, rule_id", params)
        return [_rule_from_row(r) for r in rows]

    def set_rule_evaluated(self, rule_id: str, until: datetime) -> None:
        self._execute("UPDATE rules SET evaluated_until = ? WHERE rule_id = ?", [until, rule_id])

    # -- alerts ----------------------------------------------------------------------------------
    def save_alert(self, alert: AlertRecord, deliveries: Sequence[DeliveryRecord], *, new: bool = False) -> None:
        """Insert (``new``) or update an alert and queue its notifications, in one transaction."""
        values = [
            alert.rule_id,
            alert.rule_name,
            alert.model,
            alert.key,
            alert.state,
            alert.started,
            alert.last_window_end,
            alert.resolved,
            alert.windows_firing,
            dumps(alert.evidence),
            alert.created,
            alert.updated,
            alert.acknowledged,
            alert.acknowledged_by,
            alert.silenced_until,
        ]
        if new:
            statement = (
                f"INSERT INTO alerts ({_ALERT_COLUMNS}) VALUES ({', '.join(['?'] * 16)}) ON CONFLICT DO NOTHING",
                [alert.alert_id, *values],
            )
        else:
            # an evaluation pass updates a firing alert from a copy read when the pass began: the fields
            # the API sets meanwhile (acknowledge, silence) are left alone, and an alert that a rule
            # replacement or deletion resolved meanwhile stays resolved
            columns = [c.strip() for c in _ALERT_COLUMNS.split(",")][1:]
            kept = [(c, v) for c, v in zip(columns, values) if c not in _API_ALERT_COLUMNS]
            statement = (
                f"UPDATE alerts SET {', '.join(f'{c} = ?' for c, _ in kept)} WHERE alert_id = ? AND state = 'firing'",
                [*(v for _, v in kept), alert.alert_id],
            )
        outbox = [
            (
                f"INSERT INTO alert_deliveries ({_DELIVERY_COLUMNS}) VALUES ({', '.join(['?'] * 11)}) "
                "ON CONFLICT DO NOTHING",
                [
                    d.delivery_id,
                    d.alert_id,
                    d.notifier,
                    d.event,
                    dumps(d.payload),
                    d.status,
                    d.attempts,
                    d.last_error,
                    d.next_attempt,
                    d.created,
                    d.sent,
                ],
            )
            for d in deliveries
        ]
        self._execute_many([statement, *outbox])

    def get_alert(self, alert_id: str) -> AlertRecord | None:
        """An alert with its notification history."""
        rows = self._execute(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = ?", [alert_id])
        if not rows:
            return None
        alert = _alert_from_row(rows[0])
        alert.deliveries = self.list_deliveries(alert_id)
        return alert

    def list_alerts(
        self,
        model: str | None = None,
        state: str | None = None,
        limit: int = 100,
        *,
        rule_id: str | None = None,
        key: str | None = None,
        models: Collection[str] | None = None,
    ) -> list[AlertRecord]:
        """Alerts, most recently started first, filtered by model, state, rule or comparison key, and
        to ``models`` (the models a caller may see) before the limit applies."""
        filters = [
            (c, v)
            for c, v in (("model", model), ("state", state), ("rule_id", rule_id), ("pair_key", key))
            if v is not None
        ]
        clauses = [f"{c} = ?" for c, _ in filters]
        params: list[Any] = [v for _, v in filters]
        if models is not None:
            granted = sorted(models)
            if not granted:
                return []
            clauses.append(f"model IN ({', '.join('?' for _ in granted)})")
            params += granted
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts {where} ORDER BY started DESC, alert_id LIMIT ?",
            [*params, int(limit)],
        )
        return [_alert_from_row(r) for r in rows]

    def acknowledge_alert(self, alert_id: str, by: str | None, at: datetime) -> AlertRecord | None:
        rows = self._execute(
            "UPDATE alerts SET acknowledged = ?, acknowledged_by = ?, updated = ? "
            "WHERE alert_id = ? RETURNING alert_id",
            [at, by, at, alert_id],
        )
        return self.get_alert(alert_id) if rows else None

    def silence_alert(self, alert_id: str, until: datetime | None, at: datetime) -> AlertRecord | None:
        """Silence an alert's notifications until ``until`` (None lifts the silence); pending
        notifications of a silenced alert are marked ``silenced``."""
        rows = self._execute(
            "UPDATE alerts SET silenced_until = ?, updated = ? WHERE alert_id = ? RETURNING alert_id",
            [until, at, alert_id],
        )
        if not rows:
            return None
        if until is not None and until > at:
            self._execute(
                "UPDATE alert_deliveries SET status = 'silenced' WHERE alert_id = ? AND status = 'pending'", [alert_id]
            )
        return self.get_alert(alert_id)

    # -- notification outbox -----------------------------------------------------------------------
    def list_deliveries(self, alert_id: str) -> list[DeliveryRecord]:
        rows = self._execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM alert_deliveries WHERE alert_id = ? ORDER BY created, notifier",
            [alert_id],
        )
        return [_delivery_from_row(r) for r in rows]

    def due_deliveries(self, now: datetime, limit: int = 100) -> list[DeliveryRecord]:
        """Pending notifications whose next attempt is due, oldest first."""
        rows = self._execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM alert_deliveries WHERE status = 'pending' AND next_attempt <= ? "
            "ORDER BY created, delivery_id LIMIT ?",
            [now, int(limit)],
        )
        return [_delivery_from_row(r) for r in rows]

    def claim_due_deliveries(
        self, now: datetime, limit: int = 100, lease: timedelta = DELIVERY_LEASE
    ) -> list[DeliveryRecord]:
        """Take the due notifications for this process, oldest first: each is marked ``sending`` until
        ``now + lease``, so another replica passing at the same time does not send it too (its update
        re-checks the row and skips it). A notification whose lease ran out (its sender died) is due again.
        """
        due = "status IN ('pending', 'sending') AND next_attempt <= ?"
        rows = self._execute(
            f"UPDATE alert_deliveries SET status = 'sending', next_attempt = ? WHERE delivery_id IN "
            f"(SELECT delivery_id FROM alert_deliveries WHERE {due} ORDER BY created, delivery_id LIMIT ?) "
            f"AND {due} RETURNING {_DELIVERY_COLUMNS}",
            [now + lease, now, int(limit), now],
        )
        return sorted((_delivery_from_row(r) for r in rows), key=lambda d: (d.created, d.delivery_id))

    def record_delivery(self, delivery: DeliveryRecord) -> None:
        self._execute(
            "UPDATE alert_deliveries SET status = ?, attempts = ?, last_error = ?, next_attempt = ?, sent = ? "
            "WHERE delivery_id = ?",
            [
                delivery.status,
                delivery.attempts,
                delivery.last_error,
                delivery.next_attempt,
                delivery.sent,
                delivery.delivery_id,
            ],
        )

    def firing_counts(self) -> list[tuple[str, str, int]]:
        """``(model, rule name, firing alerts)`` for every rule (0 when none fire)."""
        rows = self._execute(
            "SELECT r.model, r.name, count(a.alert_id) FROM rules r LEFT JOIN alerts a "
            "ON a.rule_id = r.rule_id AND a.state = 'firing' GROUP BY r.model, r.name ORDER BY 1, 2"
        )
        return [(r[0], r[1], int(r[2])) for r in rows]
