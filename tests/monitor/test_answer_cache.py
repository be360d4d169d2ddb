"""Reused window answers: a metrics read answers byte for byte what a read without reuse answers, on
both stores, whatever changed between reads (new windows, late outcomes landing in old windows, a new
group, a new version, duplicates); unchanged windows are reused, and the cache keeps to its bound."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fairwatch.monitor import Store
from fairwatch.server import Settings, create_app
from fairwatch.server._answers import AnswerCache

from .events import make_stream

KEYS = "cache-read:read"
READ = {"Authorization": "Bearer cache-read"}
QUERIES = (
    "/v1/models/credit/metrics?sensitive=sex,race&window=1h&ci=0.95",
    "/v1/models/credit/metrics?sensitive=race&window=30m&min_group_size=3",
    "/v1/models/credit/metrics?sensitive=sex&window=1h&metrics=selection_rate,roc_auc,true_positive_rate&ci=0.9",
    "/v1/models/credit/metrics?sensitive=sex&window=2h&model_version=v2&start=2024-05-01T00:00:00Z"
    "&end=2024-05-01T12:00:00Z",
)


@pytest.fixture
def clients(store: Store) -> Iterator[tuple[TestClient, TestClient]]:
    """Two services on the same store: with the default answer reuse, and with none."""
    cached = create_app(Settings(api_keys=KEYS, evaluation_interval=0), store=store)
    plain = create_app(Settings(api_keys=KEYS, evaluation_interval=0, read_cache_bytes=0), store=store)
    with TestClient(cached) as a, TestClient(plain) as b:
        yield a, b


def _same_answers(cached: TestClient, plain: TestClient) -> None:
    for query in QUERIES:
        reused, fresh = cached.get(query, headers=READ), plain.get(query, headers=READ)
        assert reused.status_code == fresh.status_code == 200, (query, reused.text[:300])
        assert reused.content == fresh.content, query


def _reused(client: TestClient) -> float:
    text = client.get("/metrics").text
    line = next(x for x in text.splitlines() if x.startswith('fairwatch_read_cache_windows_total{result="reused"}'))
    return float(line.split()[-1])


def test_reused_answers_equal_computed_ones_as_the_store_changes(
    store: Store, clients: tuple[TestClient, TestClient]
) -> None:
    cached, plain = clients
    stream = make_stream(1200, seed=3)
    early = [o for o in stream.outcomes if int(o.prediction_id[1:]) < 600]
    late = [o for o in stream.outcomes if int(o.prediction_id[1:]) >= 600]

    store.insert_predictions(stream.predictions[:600])
    store.insert_outcomes(late[: len(late) // 2])  # outcomes before their predictions
    _same_answers(cached, plain)
    _same_answers(cached, plain)  # every window unchanged but the latest: reused

    store.insert_predictions(stream.predictions[600:])  # new windows; the early outcomes apply now
    _same_answers(cached, plain)
    store.insert_outcomes(early)  # late outcomes land in the first windows
    _same_answers(cached, plain)

    newcomer = stream.predictions[5].model_copy(
        update={"prediction_id": "new-group", "sensitive": {"sex": "X", "race": "D"}}
    )
    store.insert_predictions([newcomer])  # a group no answer had
    _same_answers(cached, plain)

    before = _reused(cached)
    store.insert_predictions(stream.predictions[:50])  # duplicates change nothing
    _same_answers(cached, plain)
    windows = sum(len(cached.get(q, headers=READ).json()["windows"]) for q in QUERIES)
    assert _reused(cached) - before >= windows  # the first pass reused all but the latest windows
    assert _reused(plain) == 0


def _window(i: int) -> tuple[Any, Any]:
    return (i, i + 1)


class _Plan:
    """The parts of a windowed read the cache looks at."""

    def __init__(self, cells: list[bytes]) -> None:
        import numpy as np

        self.count = len(cells)
        self._cells = cells
        self.cells = type("Cells", (), {"n": np.ones((len(cells), 1))})()

    def window(self, i: int) -> tuple[Any, Any]:
        return _window(i)

    def fingerprints(self) -> list[bytes]:
        return self._cells

    def results(self, indices: list[int] | None = None) -> list[Any]:
        chosen = range(self.count) if indices is None else indices
        return [json.dumps({"window": i, "cells": self._cells[i].hex()}) for i in chosen]


def _encode(result: Any) -> bytes:
    return str(result).encode() + b" " * 1000


def test_the_cache_keeps_to_its_bound_and_drops_the_least_recently_read() -> None:
    cache = AnswerCache(max_bytes=3 * 10 * 1300)
    plans = {q: _Plan([bytes([q, i]) for i in range(10)]) for q in range(5)}
    for q, plan in plans.items():
        answers = cache.answers(q, plan, _encode)  # type: ignore[arg-type]
        assert answers.computed == 10
        assert cache.size <= cache.max_bytes
    # questions 2, 3 and 4 fit; 0 and 1 were dropped first
    assert cache.answers(4, plans[4], _encode).reused == 9  # type: ignore[arg-type]
    assert cache.answers(0, plans[0], _encode).reused == 0  # type: ignore[arg-type]
    assert cache.size <= cache.max_bytes
    # a changed cell is computed again, the others reused
    changed = _Plan([bytes([0, i]) if i != 3 else b"changed" for i in range(10)])
    answers = cache.answers(0, changed, _encode)  # type: ignore[arg-type]
    assert (answers.reused, answers.computed) == (8, 2)  # window 3 and the latest
    assert answers.json[3] == _encode(json.dumps({"window": 3, "cells": b"changed".hex()}))


def test_no_bytes_means_no_reuse() -> None:
    heard: list[tuple[int, int, int]] = []
    cache = AnswerCache(max_bytes=0, record=lambda *counts: heard.append(counts))
    plan = _Plan([b"a", b"b"])
    for _ in range(2):
        assert cache.answers("q", plan, _encode).computed == 2  # type: ignore[arg-type]
    assert cache.size == 0
    assert heard == [(0, 2, 0), (0, 2, 0)]


def test_every_read_is_recorded() -> None:
    heard: list[tuple[int, int, int]] = []
    cache = AnswerCache(max_bytes=1 << 20, record=lambda *counts: heard.append(counts))
    plan = _Plan([b"a", b"b", b"c"])
    cache.answers("q", plan, _encode)  # type: ignore[arg-type]
    cache.answers("q", plan, _encode)  # type: ignore[arg-type]
    assert [(r, c) for r, c, _ in heard] == [(0, 3), (2, 1)]
    assert heard[-1][2] == cache.size > 0
