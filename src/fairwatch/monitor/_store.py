"""The store interface shared by the DuckDB (embedded) and PostgreSQL implementations.

Writes are batches, all-or-nothing, acknowledged only after the transaction commits; re-sending an
event is a counted no-op. Each batch also updates the roll-ups (:mod:`fairwatch.monitor._rollup`) in
the same transaction, and every read (windows, drift, estimates, rules, the dashboard) is computed from
them: its cost depends on the windows and groups asked for, never on the number of stored events.
The raw events stay in the ``events`` table for audits, rebuilds and checks, for as long as the raw
retention keeps them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor._alerts import AlertStore
from fairwatch.monitor._dictionary import Dictionary, ModelEntries, StaleDictionaryError
from fairwatch.monitor._events import MODEL_NAME, OutcomeEvent, PredictionEvent
from fairwatch.monitor._ingest import IngestCounts, Transaction, store_outcomes, store_predictions
from fairwatch.monitor._rollup import Limits

__all__ = [
    "SCOPES",
    "ApiKey",
    "CellQuery",
    "IngestResult",
    "ModelInfo",
    "Progress",
    "Store",
]

_MODEL_RE = re.compile(MODEL_NAME)
#: Default allowance for event timestamps ahead of the store's clock.
DEFAULT_FUTURE_SKEW = timedelta(days=1)
#: How long a reading process trusts its copy of a model's dictionary (other processes may add groups).
DICTIONARY_TTL_SECONDS = 2.0

#: Reports long work (upgrades, rebuilds): ``progress(stage, done, total)``.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class IngestResult:
    """What a batch write did: newly stored events, ignored re-sends, and replaced labels."""

    accepted: int
    duplicates: int
    corrected: int = 0


@dataclass(frozen=True)
class ModelInfo:
    """A model seen in the store."""

    model: str
    versions: list[str]
    predictions: int
    labelled: int
    first: datetime | None
    last: datetime | None


SCOPES = ("ingest", "read", "admin")


def check_scopes(scopes: Sequence[str]) -> None:
    if not scopes:
        raise InvalidInputError(f"an API key needs at least one scope among {', '.join(SCOPES)}")
    for scope in scopes:
        if scope not in SCOPES:
            raise InvalidInputError(f"unknown scope {scope!r}; scopes are {', '.join(SCOPES)}")


def check_model_grant(scopes: Sequence[str], models: Sequence[str] | frozenset[str]) -> None:
    """A key limited to models: at least one valid model name, and no admin scope (admin sees everything)."""
    if not models:
        raise InvalidInputError("a key limited to models needs at least one model name (e.g. credit,loans)")
    for model in models:
        if not _MODEL_RE.match(model):
            raise InvalidInputError(
                f"model name {model!r} is not valid: letters, digits and _ . - (starting with a letter or digit)"
            )
    if "admin" in scopes:
        raise InvalidInputError(
            "an admin key sees every model and cannot be limited to some; give it read or ingest scopes instead"
        )


def hash_key(plain: str) -> str:
    """SHA-256 of a key: keys are 256-bit random tokens, so a fast hash is enough to store them."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A stored API key; ``plain`` is only set right after creation; ``models``: the models it may
    see (None: every model)."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    created: datetime
    revoked: datetime | None
    plain: str | None = None
    models: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CellQuery:
    """One windowed aggregate: windows of ``width`` seconds aligned to ``start``, cut at ``end``."""

    model: str
    start: datetime
    end: datetime
    width: int
    sensitive: tuple[str, ...]
    pos_label: str = "1"
    model_version: str | None = None
    score_bins: int = 100


def _utc_from_us(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=int(value))


class Store(AlertStore, ABC):
    """Where events and their roll-ups live. Implementations: :class:`DuckDBStore`, :class:`PostgresStore`.

    ``limits`` bound what one model may hold (attributes, values, groups, labels...);
    ``max_future_skew`` is how far ahead of this machine's clock an event's timestamp may be (None:
    no check).
    """

    url: str
    #: SQL dialect of the store: ``"duckdb"`` or ``"postgres"``.
    dialect: str
    limits: Limits
    max_future_skew: timedelta | None
    dictionary: Dictionary

    def _setup(self, limits: Limits | None, max_future_skew: timedelta | None) -> None:
        self.limits = limits or Limits()
        self.max_future_skew = max_future_skew
        self.dictionary = Dictionary(self.limits)
        self._loaded_at: dict[str, float] = {}
        self._dictionary_lock = threading.Lock()

    # -- what each store provides ----------------------------------------------------------------------
    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Transaction]:
        """One write transaction: committed when the block ends, rolled back when it raises."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query (``?`` placeholders); its rows."""

    def query_integers(self, sql: str, params: Sequence[Any], width: int) -> np.ndarray:
        """Run a read-only query whose ``width`` columns are integers; its rows as an ``int64`` array
        of shape ``(rows, width)``."""
        rows = self.query(sql, params)
        return np.asarray(rows, dtype=np.int64).reshape(-1, width) if rows else np.zeros((0, width), np.int64)

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`~fairwatch.exceptions.StoreUnavailableError` when the store is unreachable."""

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement with ``?``-style positional parameters in its own transaction."""

    @abstractmethod
    def _tables(self) -> set[str]:
        """Names of the tables in the store's schema."""

    # -- schema ----------------------------------------------------------------------------------------
    def migrate(self, progress: Progress | None = None) -> None:
        """Create the tables, or upgrade a store written by an earlier release (resumable; ``progress``
        reports the upgrade's steps)."""
        from fairwatch.monitor._rebuild import upgrade
        from fairwatch.monitor._schema import ALERT_SCHEMA, SCHEMA_VERSION, schema_statements

        before = self._tables()
        with self._transaction() as tx:
            for statement in [*schema_statements(self.dialect), *ALERT_SCHEMA]:  # type: ignore[arg-type]
                tx.execute(statement)
            if "predictions" not in before:
                tx.execute(
                    "INSERT INTO store_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING",
                    [str(SCHEMA_VERSION)],
                )
        upgrade(self, progress)

    # -- writes ----------------------------------------------------------------------------------------
    def insert_predictions(self, events: Sequence[PredictionEvent]) -> IngestResult:
        """Store a batch atomically, with its roll-up deltas; returns once it is durable."""
        if not events:
            return IngestResult(0, 0)
        self._load_models({e.model for e in events})
        return self._write(lambda tx: store_predictions(tx, self.dictionary, events, self.max_future_skew))

    def insert_outcomes(self, events: Sequence[OutcomeEvent]) -> IngestResult:
        """Store a batch of outcomes atomically, moving their predictions' contributions; durable on return."""
        if not events:
            return IngestResult(0, 0)
        self._load_models({e.model for e in events if e.model})
        return self._write(lambda tx: store_outcomes(tx, self.dictionary, events, self.max_future_skew))

    def _write(self, work: Callable[[Transaction], IngestCounts]) -> IngestResult:
        try:
            with self._transaction() as tx:
                counts = work(tx)
        except StaleDictionaryError:
            # another process fixed a feature's bin width first: redo the batch with the stored one
            self.forget_dictionary()
            with self._transaction() as tx:
                counts = work(tx)
        self.dictionary.admit(counts.new_entries)
        return IngestResult(counts.accepted, counts.duplicates, counts.corrected)

    def _load_models(self, models: set[str]) -> None:
        for model in models:
            if not self.dictionary.loaded(model):
                self.entries(model)

    # -- the dictionary ------------------------------------------------------------------------------------
    def entries(self, model: str) -> ModelEntries:
        """The dictionary entries of ``model`` (versions, groups, labels, features), read from the store
        when this process's copy is older than a couple of seconds."""
        loaded = self._loaded_at.get(model)
        if loaded is None or time.monotonic() - loaded > DICTIONARY_TTL_SECONDS:
            rows = self.query("SELECT id, kind, model, name, value FROM dictionary WHERE model = ?", [model])
            self.dictionary.load(model, rows)
            self._loaded_at[model] = time.monotonic()
        return self.dictionary.model(model)

    def forget_dictionary(self, model: str | None = None) -> None:
        """Read the dictionary of ``model`` (or of every model) from the store again at next use."""
        self.dictionary.forget(model)
        if model is None:
            self._loaded_at.clear()
        else:
            self._loaded_at.pop(model, None)

    def series_ids(self, model: str, model_version: str | None = None) -> list[int]:
        """Ids of the model's versions (one version when ``model_version`` is given)."""
        series = self.entries(model).series
        return sorted(i for i, v in series.items() if model_version is None or v == model_version)

    # -- reads -------------------------------------------------------------------------------------------
    def models(self) -> list[ModelInfo]:
        """Every model with predictions, from the daily roll-ups."""
        rows = self.query(
            "SELECT c.series, CAST(sum(c.n) AS BIGINT), "
            "CAST(sum(CASE WHEN c.label <> 0 THEN c.n ELSE 0 END) AS BIGINT), min(c.first_ts), "
            "max(c.last_ts), d.model, d.value FROM rollup_counts c JOIN dictionary d ON d.id = c.series "
            "WHERE c.level = 2 GROUP BY c.series, d.model, d.value"
        )
        per_model: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            if int(row[1]) > 0:
                per_model.setdefault(row[5], []).append(row)
        out = []
        for model in sorted(per_model):
            found = per_model[model]
            out.append(
                ModelInfo(
                    model=model,
                    versions=sorted({r[6] for r in found if r[6]}),
                    predictions=sum(int(r[1]) for r in found),
                    labelled=sum(int(r[2]) for r in found),
                    first=_utc_from_us(min(int(r[3]) for r in found)),
                    last=_utc_from_us(max(int(r[4]) for r in found)),
                )
            )
        return out

    def sensitive_attributes(self, model: str | None = None) -> list[str]:
        """Names of the sensitive attributes seen for ``model`` (or for any model)."""
        if model is not None:
            return self.entries(model).attributes
        rows = self.query("SELECT DISTINCT model FROM dictionary WHERE kind = 'g'")
        return sorted({name for (m,) in rows for name in self.entries(m).attributes})

    def labels(self, model: str, limit: int = 10) -> list[str]:
        """Distinct predicted and true labels of ``model``'s predictions (up to ``limit``)."""
        return self.overview(model, labels=limit)[1]

    def label_candidates(self, model: str, limit: int = 10) -> list[str]:
        """The model's labels (kept for callers of the earlier interface: the roll-ups make them exact)."""
        return self.labels(model, limit)

    def has_scores(self, model: str) -> bool:
        """Whether any prediction of ``model`` carries a score."""
        series = self.series_ids(model)
        if not series:
            return False
        marks = ", ".join("?" * len(series))
        return bool(self.query(f"SELECT 1 FROM rollup_scores WHERE level = 2 AND series IN ({marks}) LIMIT 1", series))

    def time_range(self, model: str) -> tuple[datetime, datetime] | None:
        """Timestamps of ``model``'s first and last prediction; None when it has none."""
        return self.overview(model, labels=0)[0]

    def overview(self, model: str, labels: int = 10) -> tuple[tuple[datetime, datetime] | None, list[str]]:
        """:meth:`time_range` and :meth:`labels` (up to ``labels`` of them) in one query: a read asks
        for both, and under load every round trip to the database waits its turn."""
        series = self.series_ids(model)
        if not series:
            return None, []
        marks = ", ".join("?" * len(series))
        where = f"FROM rollup_counts WHERE level = 2 AND series IN ({marks})"
        sql = f"SELECT 0, CAST(sum(n) AS BIGINT), min(first_ts), max(last_ts) {where}"
        params = list(series)
        if labels > 0:
            sql += (
                f" UNION ALL SELECT 1, prediction, NULL, NULL {where} AND n <> 0 GROUP BY prediction"
                f" UNION ALL SELECT 1, label, NULL, NULL {where} AND n <> 0 AND label <> 0 GROUP BY label"
            )
            params += [*series, *series]
        rows = self.query(sql, params)
        span = next((r for r in rows if int(r[0]) == 0), None)
        seen = None
        if span is not None and span[1] is not None and int(span[1]) > 0:
            seen = (_utc_from_us(span[2]), _utc_from_us(span[3]))
        ids = {int(r[1]) for r in rows if int(r[0]) == 1}
        names = self.entries(model).labels if ids else {}
        return seen, sorted({names[i] for i in ids if i in names})[:labels]

    def confusion_cells(self, query: CellQuery) -> list[tuple[Any, ...]]:
        """Rows ``(window, *sensitive, labelled, y, y_pred, n)`` of the query, from the roll-ups."""
        from fairwatch.monitor._cells import _codes_of, count_rows, group_map, make_grid

        grid = make_grid(query.start, query.end, timedelta(seconds=query.width))
        mapping = group_map(self, query.model, query.sensitive)
        rows = count_rows(self, self.series_ids(query.model, query.model_version), grid)
        if not rows:
            return []
        from fairwatch.monitor._rollup import dictionary_id

        pos = dictionary_id("l", query.model, "", query.pos_label)
        codes = _codes_of(mapping, np.asarray([r[1] for r in rows], np.int64)).tolist()
        return [
            (int(w), *mapping.keys[c], label != 0, int(label == pos), int(predicted == pos), int(n))
            for (w, _g, predicted, label, n), c in zip(rows, codes)
        ]

    def count(self, table: str) -> int:
        """Stored ``predictions`` or ``outcomes`` (labelled predictions, placeholders and pending outcomes)."""
        if table == "predictions":
            return int(self.query("SELECT count(*) FROM events WHERE ts IS NOT NULL")[0][0])
        if table == "outcomes":
            stored = int(self.query("SELECT count(*) FROM events WHERE label IS NOT NULL")[0][0])
            return stored + int(self.query("SELECT count(*) FROM pending_outcomes")[0][0])
        raise InvalidInputError(f"unknown table {table!r}; use 'predictions' or 'outcomes'")

    def prune_raw(self, before: datetime) -> int:
        """Delete raw events older than ``before`` (roll-ups keep their statistics); the rows deleted.

        A prediction's row goes with its timestamp; a placeholder or a pending outcome (an outcome
        whose prediction never arrived) with the outcome's timestamp.
        """
        from fairwatch.monitor._rebuild import day_floor

        # from the next midnight on, every raw event is still there (rebuilds and checks start there)
        kept_since = day_floor(before) + timedelta(days=0 if day_floor(before) == before else 1)
        with self._transaction() as tx:
            deleted = tx.execute(
                "DELETE FROM events WHERE ts < ? OR (ts IS NULL AND label_ts < ?) RETURNING 1", [before, before]
            )
            pending = tx.execute("DELETE FROM pending_outcomes WHERE label_ts < ? RETURNING 1", [before])
            found = tx.execute("SELECT value FROM store_meta WHERE key = 'raw_kept_since'")
            if not found or datetime.fromisoformat(found[0][0]) < kept_since:
                tx.execute("DELETE FROM store_meta WHERE key = 'raw_kept_since'")
                tx.execute("INSERT INTO store_meta (key, value) VALUES ('raw_kept_since', ?)", [kept_since.isoformat()])
        return len(deleted) + len(pending)

    # -- API keys (stored hashed) ------------------------------------------------------------------------
    def create_key(self, name: str, scopes: Sequence[str], models: Sequence[str] | None = None) -> ApiKey:
        """Create an API key; the plain key is returned once and only its hash is stored.

        ``models`` limits the key to those models: other models are invisible to it.
        """
        check_scopes(scopes)
        granted = None if models is None else tuple(sorted(set(models)))
        if granted is not None:
            check_model_grant(scopes, granted)
        plain = "fw_" + secrets.token_urlsafe(32)
        key_id = secrets.token_hex(6)
        created = datetime.now(timezone.utc)
        self._execute(
            "INSERT INTO api_keys (key_id, key_hash, name, scopes, created, revoked, models) "
            "VALUES (?, ?, ?, ?, ?, NULL, ?)",
            [key_id, hash_key(plain), name, "|".join(sorted(set(scopes))), created, _joined(granted)],
        )
        return ApiKey(key_id, name, tuple(sorted(set(scopes))), created, None, plain, granted)

    def list_keys(self) -> list[ApiKey]:
        rows = self._execute("SELECT key_id, name, scopes, created, revoked, models FROM api_keys ORDER BY created")
        return [ApiKey(r[0], r[1], tuple(r[2].split("|")), r[3], r[4], None, _split_models(r[5])) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key by id; False when no active key has that id."""
        rows = self._execute(
            "UPDATE api_keys SET revoked = ? WHERE key_id = ? AND revoked IS NULL RETURNING key_id",
            [datetime.now(timezone.utc), key_id],
        )
        return bool(rows)

    def key_scopes(self, plain: str) -> tuple[str, ...] | None:
        """Scopes of an active key, or None (looked up by hash; the key itself is never stored)."""
        grant = self.key_grant(plain)
        return None if grant is None else grant[0]

    def key_grant(self, plain: str) -> tuple[tuple[str, ...], tuple[str, ...] | None] | None:
        """Scopes and granted models (None: every model) of an active key, or None.

        The lookup is by SHA-256 of the key: comparing digests in SQL reveals nothing usable about the
        key itself (finding a key with a given digest prefix is as hard as guessing it).
        """
        rows = self._execute(
            "SELECT scopes, models FROM api_keys WHERE key_hash = ? AND revoked IS NULL", [hash_key(plain)]
        )
        return (tuple(rows[0][0].split("|")), _split_models(rows[0][1])) if rows else None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _joined(models: Sequence[str] | None) -> str | None:
    return None if models is None else "|".join(models)


def _split_models(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(text.split("|"))
