"""Alerts: the ok -> firing -> resolved state machine, de-duplication, history, acknowledge/silence,
the Prometheus gauge and the scheduler inside the service, on DuckDB and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fairwatch.exceptions import StoreUnavailableError
from fairwatch.monitor import Store
from fairwatch.monitor._alerts import RuleRecord, apply_evaluations
from fairwatch.monitor._notifiers import LogNotifier
from fairwatch.monitor._rules import evaluate_rule, parse_rule
from fairwatch.monitor._scheduler import MAX_CATCH_UP, RuleScheduler, closed_windows
from fairwatch.server import Settings, create_app
from fairwatch.server._rules_api import scheduler_of

from .test_rules import ADMIN, DAY, KEYS, NOISE, READ, REAL_GAP, T0, dp_rule, rule_body, store_days, window_events

BALANCED = {"F": (400, 200), "M": (400, 200)}
SMALL = {"F": (10, 10), "M": (400, 0)}


def add_rule(store: Store, rule_id: str = "r1", **changes: Any) -> RuleRecord:
    rule = dp_rule(notify=["log"], **changes)
    record = RuleRecord(rule_id, rule.name, rule.model, rule.kind, rule.model_dump(mode="json"), T0, T0)
    store.insert_rule(record)
    return record


def scheduler(store: Store) -> RuleScheduler:
    return RuleScheduler(store, {"log": LogNotifier()}, interval=0)


def test_firing_is_deduplicated_then_resolved_and_kept(store: Store) -> None:
    store_days(store, [REAL_GAP, REAL_GAP, BALANCED, REAL_GAP])
    add_rule(store)
    runner = scheduler(store)
    after = [runner.run_once(T0 + (day + 1) * DAY + dt.timedelta(minutes=5)) for day in range(4)]
    assert [[t.event for t in r.transitions] for r in after] == [["opened"], ["extended"], ["resolved"], ["opened"]]
    assert [r.deliveries.sent for r in after] == [1, 0, 1, 1]  # a still-firing window does not re-notify
    second, first = store.list_alerts()
    assert (first.state, first.windows_firing, first.started, first.resolved) == ("resolved", 2, T0, T0 + 3 * DAY)
    assert first.evidence["firing_evidence"]["value"] == pytest.approx(0.4)
    assert (second.state, second.started) == ("firing", T0 + 3 * DAY) and second.alert_id != first.alert_id
    assert [d.event for d in store.list_deliveries(first.alert_id)] == ["firing", "resolved"]
    assert [a.alert_id for a in store.list_alerts(state="firing")] == [second.alert_id]
    assert store.get_rule("r1").evaluated_until == T0 + 4 * DAY  # type: ignore[union-attr]
    assert runner.run_once(T0 + 4 * DAY + dt.timedelta(hours=3)).windows == 0  # nothing new closed


def test_reprocessing_a_window_changes_nothing(store: Store) -> None:
    store_days(store, [REAL_GAP])
    record = add_rule(store)
    evaluations = evaluate_rule(store, parse_rule(record.spec), T0, T0 + DAY)
    assert [t.event for t in apply_evaluations(store, record, evaluations, T0 + DAY)] == ["opened"]
    assert apply_evaluations(store, record, evaluations, T0 + DAY) == []
    (alert,) = store.list_alerts()
    assert alert.windows_firing == 1 and len(store.list_deliveries(alert.alert_id)) == 1


def test_windows_that_cannot_be_evaluated_leave_the_alert_firing(store: Store) -> None:
    store_days(store, [REAL_GAP, SMALL, NOISE])
    add_rule(store)
    runner = scheduler(store)
    runner.run_once(T0 + DAY)
    assert [t.event for t in runner.run_once(T0 + 2 * DAY).transitions] == []  # F has 10 rows: no verdict
    assert store.list_alerts()[0].state == "firing"
    assert [t.event for t in runner.run_once(T0 + 3 * DAY).transitions] == ["resolved"]


def test_closed_windows() -> None:
    rule = dp_rule(window="1h")
    now = dt.datetime(2024, 5, 1, 10, 20, tzinfo=dt.timezone.utc)
    hour = dt.timedelta(hours=1)
    at10 = now.replace(minute=0)
    assert closed_windows(rule, None, now) == (at10 - hour, at10)
    assert closed_windows(rule, at10, now) is None
    assert closed_windows(rule, at10 - 3 * hour, now) == (at10 - 3 * hour, at10)
    assert closed_windows(rule, T0 - 1000 * DAY, now) == (at10 - MAX_CATCH_UP * hour, at10)
    late = dp_rule(window="1h", delay="2h")
    assert closed_windows(late, None, now) == (at10 - 3 * hour, at10 - 2 * hour)


class FlakyStore:
    """Delegates to a store but fails the first ``failures`` calls of ``method``."""

    def __init__(self, store: Store, method: str, failures: int) -> None:
        self._store, self._method, self._failures = store, method, failures

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if name != self._method:
            return target

        def flaky(*args: Any, **kwargs: Any) -> Any:
            if self._failures > 0:
                self._failures -= 1
                raise StoreUnavailableError("PostgreSQL store is unavailable (OperationalError: gone)")
            return target(*args, **kwargs)

        return flaky


@pytest.mark.parametrize("method", ["list_rules", "save_alert"])
def test_scheduler_survives_store_errors(store: Store, method: str, caplog: pytest.LogCaptureFixture) -> None:
    store_days(store, [REAL_GAP])
    add_rule(store)
    runner = RuleScheduler(FlakyStore(store, method, 1), {"log": LogNotifier()}, interval=0)  # type: ignore[arg-type]
    report = runner.run_once(T0 + DAY)
    assert report.errors and "StoreUnavailableError" in report.errors[0]
    assert "retrying next pass" in caplog.text
    assert store.list_alerts() == []
    retry = runner.run_once(T0 + DAY + dt.timedelta(minutes=1))  # the rule's progress was not recorded
    assert retry.errors == [] and [t.event for t in retry.transitions] == ["opened"]


# -- through the API ---------------------------------------------------------------------------------------
@pytest.fixture
def app_client(store: Store) -> Iterator[TestClient]:
    app = create_app(Settings(api_keys=KEYS, evaluation_interval=0), store=store)
    with TestClient(app) as c:
        yield c


def run_pass(client: TestClient, now: dt.datetime) -> Any:
    app: Any = client.app
    return scheduler_of(app.state.context).run_once(now)


def test_alert_api_ack_silence_and_gauge(app_client: TestClient, store: Store) -> None:
    store_days(store, [REAL_GAP, BALANCED, REAL_GAP])
    rule_id = app_client.post("/v1/rules", json=rule_body(), headers=ADMIN).json()["id"]
    assert 'fairwatch_alerts_firing{model="credit",rule="dp gap"} 0.0' in app_client.get("/metrics").text
    run_pass(app_client, T0 + DAY)
    (alert,) = app_client.get("/v1/alerts?model=credit&state=firing", headers=READ).json()["alerts"]
    assert alert["rule_id"] == rule_id and alert["evidence"]["n"] == [400, 400] and alert["windows_firing"] == 1
    assert app_client.get("/v1/alerts?model=other", headers=READ).json()["alerts"] == []
    assert 'fairwatch_alerts_firing{model="credit",rule="dp gap"} 1.0' in app_client.get("/metrics").text
    restarted = create_app(Settings(api_keys=KEYS, evaluation_interval=0), store=store)
    with TestClient(restarted) as fresh:  # a restarted service shows the firing alerts from the start
        assert 'fairwatch_alerts_firing{model="credit",rule="dp gap"} 1.0' in fresh.get("/metrics").text
    detail = app_client.get(f"/v1/alerts/{alert['id']}", headers=READ).json()
    assert [(d["notifier"], d["event"], d["status"]) for d in detail["deliveries"]] == [("log", "firing", "sent")]

    acked = app_client.post(f"/v1/alerts/{alert['id']}/acknowledge", json={"by": "ana"}, headers=ADMIN).json()
    assert acked["acknowledged_by"] == "ana" and acked["acknowledged"] is not None and acked["state"] == "firing"
    until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).isoformat()
    silenced = app_client.post(f"/v1/alerts/{alert['id']}/silence", json={"until": until}, headers=ADMIN).json()
    assert silenced["silenced"] is True

    run_pass(app_client, T0 + 2 * DAY)  # resolved: silenced, so no notification goes out
    run_pass(app_client, T0 + 3 * DAY)  # fires again: the silence carries over to the new alert
    alerts = app_client.get("/v1/alerts?model=credit", headers=READ).json()["alerts"]
    assert [a["state"] for a in alerts] == ["firing", "resolved"] and alerts[0]["silenced"] is True
    statuses = [
        (d["event"], d["status"])
        for d in app_client.get(f"/v1/alerts/{alert['id']}", headers=READ).json()["deliveries"]
    ]
    assert statuses == [("firing", "sent"), ("resolved", "silenced")]
    assert app_client.get("/v1/alerts?state=resolved", headers=READ).json()["alerts"][0]["id"] == alert["id"]


def test_keys_limited_to_other_models_see_no_rules_or_alerts(store: Store) -> None:
    store_days(store, [REAL_GAP])
    app = create_app(Settings(api_keys=KEYS + ",loans-key:read@loans", evaluation_interval=0), store=store)
    limited = {"Authorization": "Bearer loans-key"}
    with TestClient(app) as client:
        rule_id = client.post("/v1/rules", json=rule_body(), headers=ADMIN).json()["id"]
        run_pass(client, T0 + DAY)
        (alert,) = client.get("/v1/alerts", headers=READ).json()["alerts"]
        assert client.get("/v1/alerts", headers=limited).json()["alerts"] == []
        assert client.get("/v1/alerts?model=credit", headers=limited).json()["alerts"] == []
        assert client.get(f"/v1/alerts/{alert['id']}", headers=limited).status_code == 404
        assert client.get("/v1/rules", headers=limited).json()["rules"] == []
        assert client.get(f"/v1/rules/{rule_id}", headers=limited).status_code == 404
    # the store filters by the granted models before the limit: a key's own alerts are never crowded out
    assert [a.model for a in store.list_alerts(models=["loans", "credit"], limit=1)] == ["credit"]
    assert store.list_alerts(models=["loans"]) == [] and store.list_alerts(models=[]) == []


def test_alert_api_errors(app_client: TestClient) -> None:
    r = app_client.get("/v1/alerts?state=open", headers=READ)
    assert r.status_code == 422 and "state must be one of firing, resolved; got 'open'" in r.json()["detail"]
    assert app_client.get("/v1/alerts/nope", headers=READ).status_code == 404
    assert app_client.post("/v1/alerts/nope/acknowledge", headers=ADMIN).status_code == 404
    assert app_client.post("/v1/alerts/nope/acknowledge", headers=READ).status_code == 403
    naive = app_client.post("/v1/alerts/nope/silence", json={"until": "2030-01-01T00:00:00"}, headers=ADMIN)
    assert naive.status_code == 422 and "timezone" in naive.json()["message"]


def test_replacing_or_deleting_a_rule_resolves_its_alerts(app_client: TestClient, store: Store) -> None:
    store_days(store, [REAL_GAP])
    rule_id = app_client.post("/v1/rules", json=rule_body(), headers=ADMIN).json()["id"]
    run_pass(app_client, T0 + DAY)
    app_client.put(f"/v1/rules/{rule_id}", json=rule_body(threshold=0.01), headers=ADMIN)
    assert [a.state for a in store.list_alerts()] == ["resolved"]
    assert store.get_rule(rule_id).evaluated_until is None  # type: ignore[union-attr]
    run_pass(app_client, T0 + DAY)  # the new specification fires again: a new alert
    assert sorted(a.state for a in store.list_alerts()) == ["firing", "resolved"]
    assert app_client.delete(f"/v1/rules/{rule_id}", headers=ADMIN).status_code == 204
    alerts = app_client.get("/v1/alerts", headers=READ).json()["alerts"]
    assert [a["state"] for a in alerts] == ["resolved", "resolved"]
    assert "fairwatch_alerts_firing{" not in app_client.get("/metrics").text


def test_scheduler_runs_inside_the_service(store: Store) -> None:
    yesterday = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - DAY
    predictions, _ = window_events(0, REAL_GAP, start=yesterday)
    store.insert_predictions(predictions)
    app = create_app(Settings(api_keys=KEYS, evaluation_interval=0.05), store=store)
    with TestClient(app) as client:
        assert client.post("/v1/rules", json=rule_body(), headers=ADMIN).status_code == 201
        deadline = time.monotonic() + 15
        while not store.list_alerts() and time.monotonic() < deadline:
            time.sleep(0.05)
        (alert,) = store.list_alerts()
        assert alert.started == yesterday and alert.state == "firing"
    assert scheduler_of(app.state.context)._task is None  # stopped with the app


def test_rule_kinds_round_trip_through_the_store(store: Store) -> None:
    for index, spec in enumerate(
        [
            rule_body(),
            {"kind": "drift", "name": "d", "model": "credit", "feature": "income", "threshold": 0.2},
            {"kind": "label_coverage", "name": "c", "model": "credit", "threshold": 0.5, "delay": "3d"},
        ]
    ):
        rule = parse_rule(spec)
        store.insert_rule(
            RuleRecord(f"r{index}", rule.name, rule.model, rule.kind, rule.model_dump(mode="json"), T0, T0)
        )
    kinds = [(r.rule_id, parse_rule(r.spec).kind) for r in store.list_rules(model="credit")]
    assert kinds == [("r0", "fairness"), ("r1", "drift"), ("r2", "label_coverage")]
    assert store.list_rules(model="other") == []
    assert store.list_rules()[2].to_dict()["delay"] == "3d"


def test_a_pass_keeps_what_the_api_changed_meanwhile(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # the pass reads the firing alerts, then the API acknowledges, silences and replaces the rule
    store_days(store, [REAL_GAP, REAL_GAP, REAL_GAP])
    record = add_rule(store)
    apply_evaluations(store, record, evaluate_rule(store, parse_rule(record.spec), T0, T0 + DAY), T0 + DAY)
    (alert,) = store.list_alerts()
    read = store.list_alerts
    until = T0 + 9 * DAY

    def racing(*args: Any, **kwargs: Any) -> Any:
        found = read(*args, **kwargs)
        if kwargs.get("state") == "firing":
            store.acknowledge_alert(alert.alert_id, "oncall", T0 + DAY)
            store.silence_alert(alert.alert_id, until, T0 + DAY)
        return found

    monkeypatch.setattr(store, "list_alerts", racing)
    apply_evaluations(
        store, record, evaluate_rule(store, parse_rule(record.spec), T0 + DAY, T0 + 2 * DAY), T0 + 2 * DAY
    )
    monkeypatch.undo()
    (kept,) = store.list_alerts()
    assert (kept.windows_firing, kept.acknowledged_by, kept.silenced_until) == (2, "oncall", until)

    def replacing(*args: Any, **kwargs: Any) -> Any:
        found = read(*args, **kwargs)
        if kwargs.get("state") == "firing":
            store.replace_rule(dataclasses.replace(record, updated=T0 + 2 * DAY))
        return found

    monkeypatch.setattr(store, "list_alerts", replacing)
    apply_evaluations(
        store, record, evaluate_rule(store, parse_rule(record.spec), T0 + 2 * DAY, T0 + 3 * DAY), T0 + 3 * DAY
    )
    monkeypatch.undo()
    (resolved,) = store.list_alerts()
    assert (resolved.state, resolved.windows_firing) == ("resolved", 2)  # not revived by the stale copy


def test_stop_ends_a_pass_after_the_rule_in_progress(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import threading

    import fairwatch.monitor._scheduler as scheduler_module

    store_days(store, [REAL_GAP])
    for rule_id in ("r1", "r2", "r3"):
        add_rule(store, rule_id)
    runner = RuleScheduler(
        store, {"log": LogNotifier()}, interval=0.01, clock=lambda: T0 + DAY + dt.timedelta(minutes=5)
    )
    entered, release = threading.Event(), threading.Event()
    evaluated: list[str] = []
    evaluate = runner._evaluate

    def slow_evaluate(record: RuleRecord, now: dt.datetime, report: Any) -> None:
        entered.set()
        assert release.wait(10)
        evaluate(record, now, report)
        evaluated.append(record.rule_id)

    delivered: list[object] = []
    monkeypatch.setattr(runner, "_evaluate", slow_evaluate)
    monkeypatch.setattr(scheduler_module, "deliver_due", lambda *args, **kwargs: delivered.append(args))

    async def scenario() -> None:
        await runner.start()
        assert await asyncio.to_thread(entered.wait, 10)
        stopping = asyncio.create_task(runner.stop(timeout=10))
        await asyncio.sleep(0.05)
        assert not stopping.done()  # it waits for the rule in progress
        release.set()
        await stopping

    asyncio.run(scenario())
    assert evaluated == ["r1"] and delivered == []
    assert store.get_rule("r1").evaluated_until == T0 + DAY  # type: ignore[union-attr]
    assert store.get_rule("r2").evaluated_until is None  # evaluated after the next start
    assert [r.rule_id for r in store.list_rules()] == ["r1", "r2", "r3"]


def test_a_rule_deleted_during_a_pass_leaves_no_firing_alert(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store_days(store, [REAL_GAP])
    add_rule(store)
    save_alert = store.save_alert

    def deleted_first(alert: Any, deliveries: Any, *, new: bool = False) -> None:
        if new:
            assert store.delete_rule(alert.rule_id)  # the API deletes the rule the pass has read
        save_alert(alert, deliveries, new=new)

    monkeypatch.setattr(store, "save_alert", deleted_first)
    report = scheduler(store).run_once(T0 + DAY + dt.timedelta(minutes=5))
    assert [t.event for t in report.transitions] == ["opened"] and report.errors == []
    (alert,) = store.list_alerts()
    assert alert.state == "resolved" and store.get_rule("r1") is None
    assert store.list_alerts(state="firing") == []
