"""Writing a batch: events and their roll-up deltas in one transaction, the same for both stores.

A store row per ``(prediction_id, model)`` holds the prediction and its latest outcome. Writes are
upserts on that key, which both databases resolve with their primary-key index, and their
``RETURNING`` clause says what changed, so the roll-up deltas are exact:

* a prediction fills a new row, or a placeholder left by an outcome that arrived first (whose label
  then counts at once); a re-sent prediction changes nothing and is a duplicate;
* an outcome labels its prediction (its contribution moves from the unlabelled to the labelled cells
  of the prediction's buckets), or leaves a placeholder when the prediction has not arrived;
* a *corrected* outcome (another label, with a later timestamp than the stored one) replaces the
  label and moves the contribution between labels; an outcome that is not later than the stored one
  is a duplicate (a retried old batch never undoes a correction).

Outcomes sent without a model are attached to the predictions with their id that exist when they
arrive (one per model); when there is none yet they wait in ``pending_outcomes`` and are claimed by
the first predictions with that id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import numpy as np

from fairwatch._typing import IntArray
from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor._dictionary import Dictionary, Entry, StaleDictionaryError
from fairwatch.monitor._events import OutcomeEvent, PredictionEvent, normalize_label
from fairwatch.monitor._rollup import (
    OTHER_CATEGORY,
    Contributions,
    Deltas,
    as_text,
    contribution_deltas,
    dictionary_id,
    feature_deltas,
    group_key_text,
    number_codes,
    number_width,
)

__all__ = ["IngestCounts", "Transaction", "store_outcomes", "store_predictions"]


class Transaction(Protocol):
    """What the write flows need from a store's open transaction."""

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders); its rows, if it returns any."""

    def stage(self, name: str, columns: dict[str, Any]) -> None:
        """Make ``columns`` (a pyarrow table or column dict) readable as relation ``name`` until commit."""

    def fetch_table(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run a query; its rows as a pyarrow table."""

    def integers(self, name: str, columns: dict[str, IntArray]) -> tuple[str, list[Any]]:
        """A FROM-clause relation ``name`` of integer ``columns`` (numpy arrays), and its parameters."""


@dataclass
class IngestCounts:
    accepted: int = 0
    duplicates: int = 0
    corrected: int = 0
    #: Dictionary entries written by the transaction (admitted to the process cache after commit).
    new_entries: dict[int, Entry] = field(default_factory=dict)


_LABEL_TEXT = {0: "0", 1: "1"}


def _label_texts(values: list[Any]) -> list[str]:
    """Labels 0/1 (or True/False, 1.0/0.0: equal keys, and they normalise alike) without a call each."""
    return [_LABEL_TEXT.get(v) or normalize_label(v) for v in values]


def first_occurrences(models: list[str], ids: list[str]) -> list[int] | None:
    """Positions of the first event of each ``(model, id)``; None when no id repeats (the usual case)."""
    keys: list[Any] = ids if len(set(models)) <= 1 else list(zip(models, ids))
    if len(set(keys)) == len(keys):
        return None
    first: dict[Any, int] = {}
    for index, key in enumerate(keys):
        first.setdefault(key, index)
    return list(first.values())


def check_not_future(times: Sequence[datetime], skew: timedelta | None, field_name: str = "timestamp") -> None:
    """Refuse timestamps later than now plus the clock-skew allowance ``skew`` (None: no check)."""
    if skew is None or not times:
        return
    limit = datetime.now(timezone.utc) + skew
    latest = max(times)
    if latest <= limit:
        return
    index = next(i for i, t in enumerate(times) if t > limit)
    raise InvalidInputError(
        f"events[{index}].{field_name}: {times[index].isoformat()} is more than {skew} ahead of the server's clock "
        f"({datetime.now(timezone.utc).isoformat(timespec='seconds')}); fix the sender's clock or raise the "
        f"allowance (FAIRWATCH_MAX_FUTURE_SKEW). Nothing of this batch was stored"
    )


def _us(times: Sequence[datetime]) -> IntArray:
    import pyarrow as pa

    return np.asarray(pa.array(times, pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy(zero_copy_only=False))


# -- encoding a batch of predictions ----------------------------------------------------------------------------
@dataclass
class EncodedPredictions:
    """A batch in store columns, with the ids its roll-up rows need and the dictionary entries behind them."""

    columns: dict[str, Any]
    keys: list[tuple[str, str]]  # (prediction_id, model) of each row
    series: IntArray
    group_id: IntArray
    prediction: IntArray
    ts_us: IntArray
    score: np.ndarray
    entries: dict[int, Entry]
    # one entry per (event, feature value): event index, feature id, value code
    features_found: tuple[IntArray, IntArray, IntArray]
    features_json: list[str | None]


def _group_ids(events: Sequence[PredictionEvent]) -> tuple[list[int], dict[int, Entry]]:
    """Each event's group id (names lower-cased, values as text, nulls left out) and the group entries."""
    mappings = [e.sensitive for e in events]
    names = sorted(set().union(*mappings))
    lowered = [name.lower() for name in names]
    if len(set(lowered)) != len(lowered):  # "Race" and "race": per event, the last one wins
        mappings = [{k.lower(): v for k, v in m.items()} for m in mappings]
        names = lowered = sorted(set(lowered))
    columns = [[m.get(name) for m in mappings] for name in names]
    rows = list(zip(*columns)) if columns else [()] * len(events)
    entries: dict[int, Entry] = {}
    ids: dict[tuple[Any, ...], int] = {}
    out: list[int] = []
    models = [e.model for e in events]
    for model, row in zip(models, rows):
        key = (model, *row)
        found = ids.get(key)
        if found is None:
            pairs = [(lowered[i], as_text(v)) for i, v in enumerate(row) if v is not None]
            entry = Entry("g", model, "", group_key_text(pairs))
            found = ids[key] = entry.id
            entries[found] = entry
        out.append(found)
    return out, entries


def _texts_with_ids(kind: str, models: list[str], texts: list[str], entries: dict[int, Entry]) -> list[int]:
    cache: dict[tuple[str, str], int] = {}
    out = []
    for model, text in zip(models, texts):
        found = cache.get((model, text))
        if found is None:
            entry = Entry(kind, model, "", text)
            found = cache[(model, text)] = entry.id
            entries[found] = entry
        out.append(found)
    return out


def feature_rows(
    models: Sequence[str],
    features: Sequence[dict[str, Any] | None],
    dictionary: Dictionary,
    entries: dict[int, Entry],
) -> tuple[IntArray, IntArray, IntArray]:
    """(event index, feature id, value code) of every feature value; numbers on the logarithmic grid,
    texts and booleans as categories (beyond a feature's category limit: ``"(other)"``)."""
    index_parts: list[IntArray] = []
    feature_parts: list[IntArray] = []
    code_parts: list[IntArray] = []
    present = [i for i, f in enumerate(features) if f]
    if not present:
        z = np.zeros(0, np.int64)
        return z, z, z
    by_model: dict[str, list[int]] = {}
    for i in present:
        by_model.setdefault(models[i], []).append(i)
    for model, rows in by_model.items():
        feats = [features[i] or {} for i in rows]
        for name in sorted(set().union(*feats)):
            values = [f.get(name) for f in feats]
            numbers = [(i, v) for i, v in zip(rows, values) if v is not None and v.__class__ in (int, float)]
            texts = [(i, v) for i, v in zip(rows, values) if v is not None and v.__class__ not in (int, float)]
            if numbers:
                entry = Entry("f", model, name, "number")
                entries[entry.id] = entry
                numeric = np.fromiter((float(v) for _, v in numbers), np.float64, len(numbers))
                width = dictionary.model(model).widths.get(name)
                if width is None:  # first sight of the feature: its bin width, kept from now on
                    entry_width = Entry("w", model, name, number_width(numeric))
                    width = entries.setdefault(entry_width.id, entry_width).value
                index_parts.append(np.fromiter((i for i, _ in numbers), np.int64, len(numbers)))
                feature_parts.append(np.full(len(numbers), entry.id, np.int64))
                code_parts.append(number_codes(numeric, width))
            if texts:
                entry = Entry("f", model, name, "category")
                entries[entry.id] = entry
                codes = _category_codes(model, name, [as_text(v) for _, v in texts], dictionary, entries)
                index_parts.append(np.fromiter((i for i, _ in texts), np.int64, len(texts)))
                feature_parts.append(np.full(len(texts), entry.id, np.int64))
                code_parts.append(codes)
    if not index_parts:  # features given, every value null
        z = np.zeros(0, np.int64)
        return z, z, z
    return np.concatenate(index_parts), np.concatenate(feature_parts), np.concatenate(code_parts)


def _category_codes(
    model: str, feature: str, values: list[str], dictionary: Dictionary, entries: dict[int, Entry]
) -> IntArray:
    known = dictionary.model(model).categories
    room = dictionary.category_room(model, feature)
    codes: dict[str, int] = {}
    for value in dict.fromkeys(values):
        entry = Entry("c", model, feature, value)
        if entry.id in known or entry.id in entries:
            codes[value] = entry.id
        elif room > 0:
            room -= 1
            codes[value] = entry.id
            entries[entry.id] = entry
        else:
            other = Entry("c", model, feature, OTHER_CATEGORY)
            entries[other.id] = other
            codes[value] = other.id
    return np.fromiter((codes[v] for v in values), np.int64, len(values))


def encode_predictions(events: Sequence[PredictionEvent], dictionary: Dictionary) -> EncodedPredictions:
    """The batch (first occurrence of each id) in store columns, its ids and dictionary entries."""
    import pyarrow as pa
    from pydantic_core import to_json

    models = [e.model for e in events]
    ids = [e.prediction_id for e in events]
    keep = first_occurrences(models, ids)
    kept = events if keep is None else [events[i] for i in keep]
    if keep is not None:
        models, ids = [models[i] for i in keep], [ids[i] for i in keep]
    versions = [e.model_version or "" for e in kept]
    predictions = _label_texts([e.prediction for e in kept])
    entries: dict[int, Entry] = {}
    series = _texts_with_ids("s", models, versions, entries)
    labels = _texts_with_ids("l", models, predictions, entries)
    groups, group_entries = _group_ids(kept)
    entries.update(group_entries)
    times = [e.timestamp for e in kept]
    ts_us = _us(times)
    score = np.fromiter((np.nan if e.score is None else e.score for e in kept), np.float64, len(kept))
    features = [None if (f := e.features) is None else to_json(f).decode() for e in kept]
    columns = {
        "prediction_id": ids,
        "model": models,
        "model_version": versions,
        "ts": times,
        "prediction": predictions,
        "score": pa.array([e.score for e in kept], pa.float64()),
        "features": features,
        "group_id": groups,
    }
    return EncodedPredictions(
        columns=columns,
        keys=list(zip(ids, models)),
        series=np.asarray(series, np.int64),
        group_id=np.asarray(groups, np.int64),
        prediction=np.asarray(labels, np.int64),
        ts_us=ts_us,
        score=score,
        entries=entries,
        features_found=feature_rows(models, [e.features for e in kept], dictionary, entries),
        features_json=features,
    )


# -- the flows -----------------------------------------------------------------------------------------------------
_UPSERT_PREDICTIONS = (
    "INSERT INTO events (prediction_id, model, model_version, ts, prediction, score, features, group_id) "
    "SELECT prediction_id, model, model_version, ts, prediction, score, features, group_id FROM staging_predictions "
    "ORDER BY prediction_id, model "
    "ON CONFLICT (prediction_id, model) DO UPDATE SET model_version = excluded.model_version, ts = excluded.ts, "
    "prediction = excluded.prediction, score = excluded.score, features = excluded.features, "
    "group_id = excluded.group_id WHERE events.ts IS NULL "
    "RETURNING prediction_id, model, label"
)
_CLAIM_PENDING = (
    "DELETE FROM pending_outcomes WHERE prediction_id IN (SELECT prediction_id FROM staging_claims) "
    "RETURNING prediction_id, label, label_ts"
)
_LABEL_CLAIMED = (
    "INSERT INTO events (prediction_id, model, label, label_ts) SELECT prediction_id, model, label, label_ts "
    "FROM staging_claimed ORDER BY prediction_id, model ON CONFLICT (prediction_id, model) DO UPDATE SET "
    "label = excluded.label, label_ts = excluded.label_ts"
)
_UPSERT_OUTCOMES = (
    "INSERT INTO events (prediction_id, model, label, label_ts) "
    "SELECT prediction_id, model, label, label_ts FROM staging_outcomes ORDER BY prediction_id, model "
    "ON CONFLICT (prediction_id, model) DO UPDATE SET prev_label = events.label, label = excluded.label, "
    "label_ts = excluded.label_ts "
    "WHERE events.label IS NULL OR (events.label <> excluded.label AND excluded.label_ts > events.label_ts) "
    "RETURNING prediction_id, model, model_version, ts, group_id, prediction, score, prev_label, label"
)
_RESOLVE = (
    "SELECT prediction_id, model FROM events WHERE ts IS NOT NULL "
    "AND prediction_id IN (SELECT prediction_id FROM staging_unresolved)"
)
_UPSERT_PENDING = (
    "INSERT INTO pending_outcomes (prediction_id, label, label_ts) SELECT prediction_id, label, label_ts "
    "FROM staging_pending ORDER BY prediction_id ON CONFLICT (prediction_id) DO UPDATE SET "
    "prev_label = pending_outcomes.label, label = excluded.label, label_ts = excluded.label_ts "
    "WHERE pending_outcomes.label <> excluded.label AND excluded.label_ts > pending_outcomes.label_ts "
    "RETURNING prediction_id, prev_label"
)
_DICTIONARY_COLUMNS = "id, kind, model, name, value"


def write_entries(
    tx: Transaction, dictionary: Dictionary, needed: dict[int, Entry], counts: IngestCounts, *, check: bool = True
) -> None:
    """Write the entries the process does not know, after reading the models' current entries (other
    processes may have written some) and checking the limits (``check=False``: an upgrade or rebuild of
    events already stored, which the limits never refuse)."""
    missing = {i: e for i, e in dictionary.missing(needed.values()).items() if i not in counts.new_entries}
    if not missing:
        return
    for model in sorted({e.model for e in missing.values()}):
        rows = tx.execute(f"SELECT {_DICTIONARY_COLUMNS} FROM dictionary WHERE model = ?", [model])
        dictionary.load(model, rows)
    missing = {i: e for i, e in dictionary.missing(missing.values()).items() if i not in counts.new_entries}
    if not missing:
        return
    if check:
        dictionary.check_limits({**counts.new_entries, **missing})
    ordered = sorted(missing.items())
    tx.stage(
        "staging_dictionary",
        {
            "id": [i for i, _ in ordered],
            "kind": [e.kind for _, e in ordered],
            "model": [e.model for _, e in ordered],
            "name": [e.name for _, e in ordered],
            "value": [e.value for _, e in ordered],
        },
    )
    tx.execute(
        f"INSERT INTO dictionary ({_DICTIONARY_COLUMNS}) SELECT {_DICTIONARY_COLUMNS} FROM staging_dictionary "
        f"ORDER BY id ON CONFLICT (id) DO NOTHING"
    )
    stored = tx.execute(f"SELECT {_DICTIONARY_COLUMNS} FROM dictionary WHERE id IN (SELECT id FROM staging_dictionary)")
    for row in stored:
        found = Entry(*row[1:])
        if found != missing[int(row[0])]:
            if found.kind == "w":
                raise StaleDictionaryError(
                    f"feature {found.name!r} of model {found.model!r} got its bin width elsewhere"
                )
            raise InvalidInputError(
                f"dictionary id {row[0]} already names {tuple(row[1:])}, not {missing[int(row[0])]} (a hash "
                f"collision); nothing was stored: report it to the fairwatch developers"
            )
    counts.new_entries.update(missing)


def apply_deltas(tx: Transaction, deltas: Deltas) -> None:
    """Add ``deltas`` to the roll-up tables (rows sorted by key: concurrent writers lock in one order)."""
    for table, sums, bounds in (
        ("counts", ("n",), True),
        ("scores", ("n", "s1", "s2"), False),
        ("features", ("n",), False),
    ):
        rows: dict[str, IntArray] = getattr(deltas, table)
        if not rows or next(iter(rows.values())).size == 0:
            continue
        columns = list(rows)
        keys = [c for c in columns if c not in (*sums, "first", "last")]
        source, params = tx.integers(f"staging_{table}", {c: rows[c] for c in columns})
        updates = [f"{c} = rollup_{table}.{c} + excluded.{c}" for c in sums]
        if bounds:
            updates += [
                f"first_ts = LEAST(rollup_{table}.first_ts, excluded.first_ts)",
                f"last_ts = GREATEST(rollup_{table}.last_ts, excluded.last_ts)",
            ]
        names = [("first_ts" if c == "first" else "last_ts" if c == "last" else c) for c in columns]
        tx.execute(
            f"INSERT INTO rollup_{table} ({', '.join(names)}) SELECT {', '.join(columns)} FROM {source} "
            f"ORDER BY {', '.join(keys)} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(updates)}",
            params,
        )


def lock_model(tx: Transaction, model: str, *, exclusive: bool) -> None:
    """PostgreSQL: a transaction-scoped advisory lock on the model (ingest shares it, a rebuild takes
    it alone). DuckDB serialises its writers already."""
    if tx.dialect != "postgres":
        return
    key = dictionary_id("m", model, "", "") & 0x7FFF_FFFF_FFFF_FFFF
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    tx.execute(f"SELECT {function}(?)", [key])


def _pending_exists(tx: Transaction) -> bool:
    return bool(tx.execute("SELECT 1 FROM pending_outcomes LIMIT 1"))


def store_predictions(
    tx: Transaction, dictionary: Dictionary, events: Sequence[PredictionEvent], skew: timedelta | None
) -> IngestCounts:
    """Store a batch of predictions and its roll-up deltas in ``tx``."""
    check_not_future([e.timestamp for e in events], skew)
    batch = encode_predictions(events, dictionary)
    counts = IngestCounts()
    for model in sorted(set(batch.columns["model"])):
        lock_model(tx, model, exclusive=False)
    tx.stage("staging_predictions", batch.columns)
    returned = tx.execute(_UPSERT_PREDICTIONS)
    counts.accepted = len(returned)
    counts.duplicates = len(events) - len(returned)
    if not returned:
        return counts
    position = {key: i for i, key in enumerate(batch.keys)}
    rows = np.fromiter((position[(r[0], r[1])] for r in returned), np.int64, len(returned))
    # the dictionary gets the entries of the stored events only (a re-sent event adds nothing)
    write_entries(tx, dictionary, _entries_of(batch, rows), counts)
    labels = {(r[0], r[1]): r[2] for r in returned if r[2] is not None}
    unlabelled = [(r[0], r[1]) for r in returned if r[2] is None]
    if unlabelled and _pending_exists(tx):
        labels.update(_claim_pending(tx, dictionary, unlabelled, counts))
    label_entries = {key: Entry("l", key[1], "", text) for key, text in labels.items()}
    write_entries(tx, dictionary, {e.id: e for e in label_entries.values()}, counts)
    label_ids = np.fromiter(
        (label_entries[batch.keys[i]].id if batch.keys[i] in label_entries else 0 for i in rows.tolist()),
        np.int64,
        rows.size,
    )
    contributions = Contributions(
        series=batch.series[rows],
        group_id=batch.group_id[rows],
        prediction=batch.prediction[rows],
        label=label_ids,
        ts_us=batch.ts_us[rows],
        score=batch.score[rows],
        sign=np.ones(rows.size, np.int64),
    )
    deltas = contribution_deltas(contributions)
    f_index, f_feature, f_code = batch.features_found
    stored = np.zeros(len(batch.keys), dtype=bool)
    stored[rows] = True
    keep = stored[f_index]
    if keep.any():
        at = f_index[keep]
        deltas.features = feature_deltas(
            batch.series[at], batch.group_id[at], batch.ts_us[at], f_feature[keep], f_code[keep]
        )
    apply_deltas(tx, deltas)
    return counts


def _entries_of(batch: EncodedPredictions, rows: IntArray) -> dict[int, Entry]:
    """The dictionary entries the events at ``rows`` use (versions, groups, labels, features)."""
    used = set(batch.series[rows].tolist()) | set(batch.group_id[rows].tolist()) | set(batch.prediction[rows].tolist())
    f_index, f_feature, f_code = batch.features_found
    stored = np.zeros(len(batch.keys), dtype=bool)
    stored[rows] = True
    keep = stored[f_index]
    for feature_id in set(f_feature[keep].tolist()):
        entry = batch.entries[feature_id]
        used.add(feature_id)
        if entry.value == "category":
            used.update(f_code[keep & (f_feature == feature_id)].tolist())
        else:
            used.add(Entry("w", entry.model, entry.name, "").id)
    return {i: batch.entries[i] for i in used if i in batch.entries}


def _claim_pending(
    tx: Transaction, dictionary: Dictionary, keys: list[tuple[str, str]], counts: IngestCounts
) -> dict[tuple[str, str], str]:
    """Labels of outcomes sent without a model that were waiting for these new predictions."""
    tx.stage("staging_claims", {"prediction_id": sorted({k[0] for k in keys})})
    claimed = {r[0]: (r[1], r[2]) for r in tx.execute(_CLAIM_PENDING)}
    if not claimed:
        return {}
    found = [(pid, model) for pid, model in keys if pid in claimed]
    tx.stage(
        "staging_claimed",
        {
            "prediction_id": [pid for pid, _ in found],
            "model": [model for _, model in found],
            "label": [claimed[pid][0] for pid, _ in found],
            "label_ts": [claimed[pid][1] for pid, _ in found],
        },
    )
    tx.execute(_LABEL_CLAIMED)
    return {(pid, model): claimed[pid][0] for pid, model in found}


def store_outcomes(
    tx: Transaction, dictionary: Dictionary, events: Sequence[OutcomeEvent], skew: timedelta | None
) -> IngestCounts:
    """Store a batch of outcomes and move their predictions' contributions in ``tx``."""
    check_not_future([e.timestamp for e in events], skew)
    models = [e.model or "" for e in events]
    ids = [e.prediction_id for e in events]
    keep = first_occurrences(models, ids)
    kept = list(events) if keep is None else [events[i] for i in keep]
    labels = _label_texts([e.label for e in kept])
    counts = IngestCounts(duplicates=len(events) - len(kept))
    targets: list[tuple[int, str]] = [(i, e.model) for i, e in enumerate(kept) if e.model]
    without = [i for i, e in enumerate(kept) if not e.model]
    unresolved: list[int] = []
    if without:
        tx.stage("staging_unresolved", {"prediction_id": sorted({kept[i].prediction_id for i in without})})
        owners: dict[str, list[str]] = {}
        for pid, model in tx.execute(_RESOLVE):
            owners.setdefault(pid, []).append(model)
        for i in without:
            found = owners.get(kept[i].prediction_id)
            if found:
                targets.extend((i, model) for model in sorted(found))
            else:
                unresolved.append(i)
    outcome_of: dict[tuple[str, str], int] = {}
    for i, model in targets:  # an outcome naming its model wins over one without a model
        outcome_of.setdefault((kept[i].prediction_id, model), i)
    for model in sorted({model for _, model in outcome_of}):
        lock_model(tx, model, exclusive=False)
    entries = {Entry("l", model, "", labels[i]) for i, model in targets}
    write_entries(tx, dictionary, {e.id: e for e in entries}, counts)
    changed: set[int] = set()
    corrected: set[int] = set()
    contributions: list[Contributions] = []
    if targets:
        order = sorted(outcome_of)
        tx.stage(
            "staging_outcomes",
            {
                "prediction_id": [pid for pid, _ in order],
                "model": [model for _, model in order],
                "label": [labels[outcome_of[k]] for k in order],
                "label_ts": [kept[outcome_of[k]].timestamp for k in order],
            },
        )
        returned = tx.execute(_UPSERT_OUTCOMES)
        for row in returned:
            index = outcome_of[(row[0], row[1])]
            (corrected if row[7] is not None else changed).add(index)
        contributions.append(_moves([r for r in returned if r[3] is not None]))
    if unresolved:
        tx.stage(
            "staging_pending",
            {
                "prediction_id": [kept[i].prediction_id for i in unresolved],
                "label": [labels[i] for i in unresolved],
                "label_ts": [kept[i].timestamp for i in unresolved],
            },
        )
        by_id = {kept[i].prediction_id: i for i in unresolved}
        for pid, prev in tx.execute(_UPSERT_PENDING):
            (corrected if prev is not None else changed).add(by_id[pid])
    counts.corrected = len(corrected - changed)
    counts.accepted = len(changed)
    counts.duplicates += len(kept) - len(changed | corrected)
    moves = Contributions.concat(contributions)
    if moves.series.size:
        apply_deltas(tx, contribution_deltas(moves))
    return counts


def _moves(rows: Sequence[tuple[Any, ...]]) -> Contributions:
    """Contributions removed from the old label state and added to the new one, for returned rows
    ``(prediction_id, model, model_version, ts, group_id, prediction, score, prev_label, label)``."""
    if not rows:
        return Contributions.empty()
    series = [dictionary_id("s", r[1], "", r[2]) for r in rows]
    prediction = [dictionary_id("l", r[1], "", r[5]) for r in rows]
    old = [0 if r[7] is None else dictionary_id("l", r[1], "", r[7]) for r in rows]
    new = [dictionary_id("l", r[1], "", r[8]) for r in rows]
    ts_us = _us([r[3] for r in rows])
    score = np.asarray([np.nan if r[6] is None else r[6] for r in rows], np.float64)
    group = [int(r[4]) for r in rows]
    n = len(rows)

    def twice(values: list[int] | IntArray) -> IntArray:
        a = np.asarray(values, np.int64)
        return np.concatenate([a, a])

    return Contributions(
        series=twice(series),
        group_id=twice(group),
        prediction=twice(prediction),
        label=np.asarray(old + new, np.int64),
        ts_us=twice(ts_us),
        score=np.concatenate([score, score]),
        sign=np.concatenate([np.full(n, -1, np.int64), np.ones(n, np.int64)]),
    )
