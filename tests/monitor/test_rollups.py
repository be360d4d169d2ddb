"""Roll-ups equal a recomputation from the raw events, whatever the order events arrive in.

Random interleavings of predictions, early and late outcomes, outcomes with and without a model,
re-sent events and corrected labels run against both stores; afterwards the roll-up tables equal a
recomputation from the stored events (:func:`~fairwatch.monitor._rebuild.check`), every read from the
roll-ups equals the same read recomputed from the raw events, and the stored labels are what the
documented rules give (an independent model of them below).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairwatch.monitor import OutcomeEvent, PredictionEvent, Store, open_store, window_metrics
from fairwatch.monitor._events import normalize_label
from fairwatch.monitor._rebuild import check

from .conftest import postgres_url

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)


# -- the documented rules, written out independently of the store ---------------------------------------------
@dataclass
class Reference:
    """What the store should hold after a sequence of batches."""

    predictions: dict[tuple[str, str], PredictionEvent] = field(default_factory=dict)
    labels: dict[tuple[str, str], tuple[str, dt.datetime]] = field(default_factory=dict)
    pending: dict[str, tuple[str, dt.datetime]] = field(default_factory=dict)

    def add_predictions(self, events: list[PredictionEvent]) -> tuple[int, int]:
        new: list[tuple[str, str]] = []
        for event in events:
            key = (event.model, event.prediction_id)
            if key in self.predictions:
                continue
            self.predictions[key] = event
            new.append(key)
        # outcomes sent without a model wait for the first predictions with their id
        for pid in {pid for model, pid in new if (model, pid) not in self.labels} & set(self.pending):
            label = self.pending.pop(pid)
            for key in new:
                if key[1] == pid and key not in self.labels:
                    self.labels[key] = label
        return len(new), len(events) - len(new)

    def _label(self, table: dict[Any, tuple[str, dt.datetime]], key: Any, label: str, ts: dt.datetime) -> str:
        current = table.get(key)
        if current is None:
            table[key] = (label, ts)
            return "accepted"
        if label != current[0] and ts > current[1]:
            table[key] = (label, ts)
            return "corrected"
        return "duplicate"

    def add_outcomes(self, events: list[OutcomeEvent]) -> tuple[int, int, int]:
        seen: dict[tuple[str, str], OutcomeEvent] = {}
        for event in events:
            seen.setdefault((event.model or "", event.prediction_id), event)
        targets: dict[tuple[str, str], OutcomeEvent] = {}
        waiting: list[OutcomeEvent] = []
        for (model, pid), event in seen.items():
            if model:
                targets.setdefault((model, pid), event)
        for (model, pid), event in seen.items():
            if model:
                continue
            owners = sorted(m for m, p in self.predictions if p == pid)
            if not owners:
                waiting.append(event)
            for owner in owners:
                targets.setdefault((owner, pid), event)
        outcome: dict[int, set[str]] = {}
        for key, event in targets.items():
            what = self._label(self.labels, key, normalize_label(event.label), event.timestamp)
            outcome.setdefault(id(event), set()).add(what)
        for event in waiting:
            what = self._label(self.pending, event.prediction_id, normalize_label(event.label), event.timestamp)
            outcome.setdefault(id(event), set()).add(what)
        accepted = sum("accepted" in kinds for kinds in outcome.values())
        corrected = sum("corrected" in kinds and "accepted" not in kinds for kinds in outcome.values())
        return accepted, corrected, len(events) - accepted - corrected


# -- random interleavings ---------------------------------------------------------------------------------------
_minutes = st.integers(min_value=0, max_value=3 * 24 * 60 - 1)


def _ids(models: tuple[str, str]) -> list[str]:
    """Ten prediction ids, shared by the example's two models (outcomes without a model find both),
    and by no other example (a store may hold several examples' events)."""
    return [f"{models[0]}-{i}" for i in range(10)]


@st.composite
def predictions(draw: Any, models: tuple[str, str]) -> list[PredictionEvent]:
    out = []
    for _ in range(draw(st.integers(1, 6))):
        sensitive: dict[str, Any] = {"sex": draw(st.sampled_from(["F", "M"]))}
        if draw(st.booleans()):
            sensitive["race"] = draw(st.sampled_from(["x", "y", None]))
        features = draw(
            st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {"age": st.integers(18, 90), "region": st.sampled_from(["n", "s"])},
                    optional={"income": st.floats(0, 1e5, allow_nan=False)},
                ),
            )
        )
        out.append(
            PredictionEvent(
                prediction_id=draw(st.sampled_from(_ids(models))),
                model=draw(st.sampled_from(models)),
                model_version=draw(st.sampled_from([None, "v2"])),
                timestamp=T0 + dt.timedelta(minutes=draw(_minutes), seconds=draw(st.integers(0, 59))),
                prediction=draw(st.sampled_from([0, 1, True, "1"])),
                score=draw(st.one_of(st.none(), st.floats(0, 1, allow_nan=False))),
                sensitive=sensitive,
                features=features,
            )
        )
    return out


@st.composite
def outcomes(draw: Any, models: tuple[str, str]) -> list[OutcomeEvent]:
    return [
        OutcomeEvent(
            prediction_id=draw(st.sampled_from(_ids(models))),
            model=draw(st.sampled_from([None, *models])),
            label=draw(st.sampled_from([0, 1])),
            # few distinct times: equal, older and newer timestamps of corrections all happen
            timestamp=T0 + dt.timedelta(days=4, hours=draw(st.integers(0, 3))),
        )
        for _ in range(draw(st.integers(1, 5)))
    ]


def operations(models: tuple[str, str]) -> Any:
    batch = st.one_of(
        st.tuples(st.just("predictions"), predictions(models)),
        st.tuples(st.just("outcomes"), outcomes(models)),
    )
    return st.lists(batch, min_size=1, max_size=8)


_counter = itertools.count()


def _models() -> tuple[str, str]:
    n = next(_counter)
    return f"a{n}", f"b{n}"


def _assert_reads_agree(store: Store, model: str, reference: Reference) -> None:
    assert check(store, model) == []
    kept = {k: e for k, e in reference.predictions.items() if k[0] == model}
    labelled = sum(1 for k in kept if k in reference.labels)
    (info,) = [m for m in store.models() if m.model == model]
    assert (info.predictions, info.labelled) == (len(kept), labelled)
    labels = {normalize_label(e.prediction) for e in kept.values()}
    labels |= {reference.labels[k][0] for k in kept if k in reference.labels}
    if len(labels) > 2:  # predictions "1"/"True" normalise alike: at most 0 and 1 here
        return
    attributes = store.sensitive_attributes(model)
    scored = any(e.score is not None for e in kept.values())
    for window, start in (("5m", None), ("2h", T0 - dt.timedelta(minutes=25)), ("1d", None)):
        options: dict[str, Any] = {"window": window, "sensitive": attributes, "start": start}
        options["metrics"] = ["selection_rate", "true_positive_rate", "count"]
        if scored and start is None and window != "5m":
            options["metrics"] += ["roc_auc", "brier_score"]
        rolled = [w.to_dict() for w in window_metrics(store, model, **options)]
        raw = [w.to_dict() for w in window_metrics(store, model, source="raw", **options)]
        assert rolled == raw
    by_group: dict[tuple[Any, ...], list[int]] = {}
    for key, event in kept.items():
        group = (event.sensitive.get("sex"), event.sensitive.get("race"))
        counts = by_group.setdefault(group, [0, 0])
        counts[0] += 1
        counts[1] += key in reference.labels
    (total,) = window_metrics(
        store, model, window="1w", sensitive=["sex", "race"][: len(attributes)], start=T0 - dt.timedelta(days=3)
    )
    got = {(g["group"]["sex"], g["group"].get("race")): [g["n"], g["n_labelled"]] for g in total.to_dict()["groups"]}
    assert got == by_group


def _run(store: Store, ops: list[tuple[str, list[Any]]], models: tuple[str, str]) -> None:
    reference = Reference()
    for kind, batch in ops:
        if kind == "predictions":
            result = store.insert_predictions(batch)
            assert (result.accepted, result.duplicates) == reference.add_predictions(batch)
        else:
            result = store.insert_outcomes(batch)
            assert (result.accepted, result.corrected, result.duplicates) == reference.add_outcomes(batch)
    for model in models:
        if any(k[0] == model for k in reference.predictions):
            _assert_reads_agree(store, model, reference)


@given(data=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_duckdb_rollups_equal_the_raw_events_in_any_order(data: st.DataObject) -> None:
    models = _models()
    store = open_store("duckdb://:memory:", max_future_skew=None)
    try:
        _run(store, data.draw(operations(models)), models)
    finally:
        store.close()


@pytest.fixture(scope="module")
def postgres_store() -> Iterator[Store]:
    store = open_store(postgres_url("rollups_property"), max_future_skew=None)
    yield store
    store.drop_schema()  # type: ignore[attr-defined]
    store.close()


def test_postgres_rollups_equal_the_raw_events_in_any_order(postgres_store: Store) -> None:
    @given(data=st.data())
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def run(data: st.DataObject) -> None:
        models = _models()
        _run(postgres_store, data.draw(operations(models)), models)

    run()
