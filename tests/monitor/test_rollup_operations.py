"""Operating the roll-ups: corrected and early labels, raw retention, rebuild and check, several
service replicas on one PostgreSQL (each notification sent once)."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor import OutcomeEvent, PredictionEvent, Store, open_store, window_metrics
from fairwatch.monitor._rebuild import check, rebuild
from fairwatch.server import Settings, create_app

from .conftest import postgres_url
from .test_cli_monitor import run

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


def _predictions(n: int, *, days: int = 1, model: str = "credit", prefix: str = "p") -> list[PredictionEvent]:
    return [
        PredictionEvent(
            prediction_id=f"{prefix}{i}",
            model=model,
            timestamp=T0 + dt.timedelta(seconds=int(i * days * 86400 / n)),
            prediction=i % 2,
            score=(i % 10) / 10,
            sensitive={"sex": "FM"[i % 3 == 0]},
            features={"age": 20 + i % 40},
        )
        for i in range(n)
    ]


def _outcome(pid: str, label: int, hours: int, model: str | None = "credit") -> OutcomeEvent:
    return OutcomeEvent(prediction_id=pid, label=label, timestamp=T0 + DAY + dt.timedelta(hours=hours), model=model)


def _tpr(store: Store) -> dict[str, Any]:
    (window,) = window_metrics(store, "credit", sensitive=["sex"], window="1d", metrics=["tpr"], start=T0)
    return {
        g["group"]["sex"]: (g["n_labelled"], g["metrics"]["true_positive_rate"]["value"])
        for g in window.to_dict()["groups"]
    }


# -- corrections and early outcomes -------------------------------------------------------------------------------
def test_a_corrected_label_replaces_the_old_one_and_a_retried_old_one_changes_nothing(store: Store) -> None:
    store.insert_predictions(_predictions(20))
    first = [_outcome(f"p{i}", 0, 1) for i in range(20)]
    assert store.insert_outcomes(first).accepted == 20
    assert _tpr(store) == {"F": (13, None), "M": (7, None)}  # no positive label yet
    # later outcomes with another label replace the old ones (chargebacks reversed, say)
    result = store.insert_outcomes([_outcome(f"p{i}", 1, 2) for i in range(10)])
    assert (result.accepted, result.corrected, result.duplicates) == (0, 10, 0)
    after = _tpr(store)
    # a client retrying the first batch (older timestamps) does not undo the corrections
    result = store.insert_outcomes(first)
    assert (result.accepted, result.corrected, result.duplicates) == (0, 0, 20)
    # nor does another label with the same timestamp as the stored one
    result = store.insert_outcomes([_outcome("p0", 0, 2)])
    assert (result.accepted, result.corrected, result.duplicates) == (0, 0, 1)
    assert _tpr(store) == after
    assert after["F"][1] is not None and after["F"][0] == 13
    assert check(store, "credit") == []


def test_outcomes_that_arrive_first_count_when_their_predictions_do(store: Store) -> None:
    early = [_outcome("p0", 1, 0), _outcome("p1", 1, 0, model=None), _outcome("p2", 1, 0, model="other")]
    result = store.insert_outcomes(early)
    assert (result.accepted, result.duplicates) == (3, 0)
    store.insert_predictions(_predictions(3))
    (info,) = store.models()
    # p0 (its model named) and p1 (no model: claimed by the first prediction with its id) are labelled;
    # p2's outcome names another model
    assert (info.predictions, info.labelled) == (3, 2)
    assert check(store, "credit") == []


# -- raw retention ------------------------------------------------------------------------------------------------
def test_raw_retention_deletes_raw_events_and_keeps_every_read(store: Store) -> None:
    store.insert_predictions(_predictions(600, days=10))
    store.insert_outcomes([_outcome(f"p{i}", i % 2, 240) for i in range(0, 600, 3)])
    windows = [w.to_dict() for w in window_metrics(store, "credit", sensitive=["sex"], window="1d")]
    drift_before = _drift(store)
    deleted = store.prune_raw(T0 + 5 * DAY + dt.timedelta(hours=6))
    assert deleted == 315  # five and a quarter days of ten
    assert store.count("predictions") == 285
    assert [w.to_dict() for w in window_metrics(store, "credit", sensitive=["sex"], window="1d")] == windows
    assert _drift(store) == drift_before
    assert check(store, "credit") == []  # compares the days whose raw events are all kept
    with pytest.raises(
        InvalidInputError, match=r"raw events before 2024-05-07T00:00:00\+00:00 were deleted by the raw"
    ):
        rebuild(store, "credit", T0 + 2 * DAY)
    assert rebuild(store, "credit", T0 + 7 * DAY) == 180
    assert [w.to_dict() for w in window_metrics(store, "credit", sensitive=["sex"], window="1d")] == windows


def _drift(store: Store) -> list[dict[str, Any]]:
    from fairwatch.monitor import drift

    results = drift(
        store, "credit", reference_start=T0, reference_end=T0 + 2 * DAY, start=T0 + 8 * DAY, end=T0 + 10 * DAY
    )
    return [r.to_dict() for r in results]


def test_the_service_applies_the_raw_retention(store_url: str) -> None:
    store = open_store(store_url)
    try:
        store.insert_predictions(_predictions(50))
        with TestClient(create_app(Settings(api_keys="r:read", raw_retention="30d"), store=store)) as client:
            # events of 2024 are older than 30 days: deleted at start, their statistics kept
            deadline = time.monotonic() + 10
            while store.count("predictions") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert store.count("predictions") == 0
            r = client.get("/v1/models", headers={"Authorization": "Bearer r"})
            assert r.json()["models"][0]["predictions"] == 50
    finally:
        store.close()


# -- rebuild and check ------------------------------------------------------------------------------------------
def test_check_finds_damaged_rollups_and_rebuild_repairs_them(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"duckdb://{tmp_path / 'store.duckdb'}"
    with open_store(url) as store:
        store.insert_predictions(_predictions(200, days=3))
        with store._transaction() as tx:
            tx.execute(
                "UPDATE rollup_counts SET n = n + 5 WHERE level = 1 "
                "AND bucket = (SELECT min(bucket) FROM rollup_counts WHERE level = 1)"
            )
        damaged = check(store, "credit")
        assert [d.table for d in damaged] == ["counts"] and len(damaged[0].rows) >= 1
    code, _, err = run(["rollups", "check", "--store", url], capsys)
    assert code == 1
    assert re.search(r"credit: \d+ rows of rollup_counts differ", err)
    assert "rows differ: run `fairwatch rollups rebuild --model MODEL` to recompute them" in err
    code, out, _ = run(["rollups", "rebuild", "--model", "credit", "--store", url], capsys)
    assert code == 0 and "rebuilt the roll-ups of 'credit' from 200 raw events" in out
    code, out, _ = run(["rollups", "check", "--store", url], capsys)
    assert code == 0 and "credit: roll-ups equal the raw events" in out


def test_rebuild_refuses_what_it_cannot_do(store: Store) -> None:
    with pytest.raises(Exception, match=r"unknown model 'credit': no raw events stored for it"):
        rebuild(store, "credit")
    store.insert_predictions(_predictions(10))
    with pytest.raises(InvalidInputError, match=r"since must include a timezone"):
        rebuild(store, "credit", dt.datetime(2024, 5, 1))


# -- concurrent writers and replicas on PostgreSQL -------------------------------------------------------
@pytest.fixture
def two_replicas() -> Iterator[tuple[Store, Store]]:
    url = postgres_url("replicas_" + uuid.uuid4().hex[:8])
    first, second = open_store(url), open_store(url)
    yield first, second
    first.drop_schema()  # type: ignore[attr-defined]
    first.close()
    second.close()


def test_concurrent_writers_keep_the_rollups_exact(two_replicas: tuple[Store, Store]) -> None:
    """Two replicas writing overlapping batches of predictions and outcomes at once: row locks are
    taken in key order, a deadlock (if PostgreSQL still finds one) is retried, nothing counts twice."""
    first, second = two_replicas
    events = _predictions(2000, days=2)
    outcomes = [_outcome(f"p{i}", i % 2, 1, model=None if i % 4 else "credit") for i in range(2000)]
    errors: list[BaseException] = []

    def write(store: Store, offset: int) -> None:
        try:
            for start in range(0, 2000, 250):
                batch = events[(start + offset) % 2000 : (start + offset) % 2000 + 250]
                store.insert_predictions(batch)
                store.insert_outcomes(outcomes[start : start + 250])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, o)) for s, o in ((first, 0), (second, 1000))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    (info,) = first.models()
    assert info.predictions == 2000
    assert check(first, "credit") == []


def test_each_notification_is_sent_once_by_several_replicas(
    two_replicas: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fairwatch.monitor import _notifiers
    from fairwatch.monitor._alerts import DeliveryRecord

    first, second = two_replicas
    now = dt.datetime.now(dt.timezone.utc)
    with first._transaction() as tx:
        for i in range(40):
            tx.execute(
                "INSERT INTO alert_deliveries (delivery_id, alert_id, notifier, event, payload, status, attempts, "
                "last_error, next_attempt, created, sent) "
                "VALUES (?, ?, 'log', 'firing', '{}', 'pending', 0, NULL, ?, ?, NULL)",
                [f"d{i:02d}", f"a{i}", now, now],
            )
    sent: list[str] = []
    lock = threading.Lock()

    def send(config: Any, payload: Any, delivery_id: str, **kwargs: Any) -> None:
        time.sleep(0.005)  # a slow receiver widens the window in which both replicas look
        with lock:
            sent.append(delivery_id)

    monkeypatch.setattr(_notifiers, "send_notification", send)
    notifiers = {"log": _notifiers.LogNotifier()}
    threads = [
        threading.Thread(target=_notifiers.deliver_due, args=(s, notifiers, now + dt.timedelta(seconds=1)))
        for s in (first, second)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(sent) == sorted({d for d in sent}) and len(sent) == 40
    # a replica that died after taking notifications: once its lease runs out, another sends them, once
    with first._transaction() as tx:
        tx.execute(
            "INSERT INTO alert_deliveries (delivery_id, alert_id, notifier, event, payload, status, attempts, "
            "last_error, next_attempt, created, sent) VALUES ('late', 'a-late', 'log', 'firing', '{}', 'pending', 0, "
            "NULL, ?, ?, NULL)",
            [now, now],
        )
    taken: list[DeliveryRecord] = first.claim_due_deliveries(now + dt.timedelta(seconds=2))
    assert [d.delivery_id for d in taken] == ["late"]  # ... and the replica dies here
    sent.clear()
    _notifiers.deliver_due(second, notifiers, now + dt.timedelta(seconds=3))
    assert sent == []  # still leased
    _notifiers.deliver_due(second, notifiers, now + dt.timedelta(minutes=3))
    assert sent == ["late"]
    assert [d.status for d in second.list_deliveries("a-late")] == ["sent"]
