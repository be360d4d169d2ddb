"""The store interface shared by the DuckDB (embedded) and PostgreSQL implementations.

Rows are written in batches, all-or-nothing, acknowledged only after the transaction commits;
re-sending an event with an existing id is a counted no-op. Reads are aggregate queries: a
window's statistics leave the database as a few hundred grouped counts, never as rows.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor._alerts import AlertStore
from fairwatch.monitor._events import (
    MODEL_NAME,
    OutcomeEvent,
    PredictionEvent,
    normalize_attribute,
    normalize_label,
)

__all__ = [
    "SCOPES",
    "ApiKey",
    "CellQuery",
    "IngestResult",
    "ModelInfo",
    "Store",
    "open_store",
    "outcome_table",
    "prediction_table",
    "sensitive_column",
]

_COLUMN_RE = re.compile(r"^s_[a-z_][a-z0-9_]{0,62}$")
_MODEL_RE = re.compile(MODEL_NAME)

# Every label seen per model (outcomes sent without a model under ''), written in the same
# transaction as the events: the window service checks that labels are binary from this small table
# instead of scanning every event of the model on each query.
LABELS_SEEN_FROM_BATCH = (
    "INSERT INTO labels_seen (model, label) SELECT DISTINCT model, {column} FROM staging_batch ORDER BY 1, 2 "
    "ON CONFLICT DO NOTHING"
)
#: Fills ``labels_seen`` from the stored events (a store created before the table existed).
LABELS_SEEN_BACKFILL = (
    "INSERT INTO labels_seen (model, label) SELECT model, prediction FROM predictions "
    "UNION SELECT model, label FROM outcomes ON CONFLICT DO NOTHING"
)
#: The label column of each event table.
LABEL_COLUMN = {"predictions": "prediction", "outcomes": "label"}


@dataclass(frozen=True)
class IngestResult:
    """What a batch write did: newly stored events and ignored re-sends."""

    accepted: int
    duplicates: int


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


def sensitive_column(name: str) -> str:
    """The store column holding sensitive attribute ``name`` (case-insensitive)."""
    column = "s_" + name.lower()
    if not _COLUMN_RE.match(column):
        raise InvalidInputError(f"sensitive attribute name {name!r} is not an identifier")
    return column


#: Labels 0/1 (or True/False, 1.0/0.0: equal keys, and they normalise alike) without a function call.
_LABEL_TEXT = {0: "0", 1: "1"}


def _label_texts(values: list[Any]) -> list[str]:
    return [_LABEL_TEXT.get(v) or normalize_label(v) for v in values]


def _attribute_texts(values: list[Any]) -> list[str | None]:
    return [v if v is None or v.__class__ is str else normalize_attribute(v) for v in values]


def _first_occurrences(models: list[str], ids: list[str]) -> list[int] | None:
    """Positions of the first event of each ``(model, id)``; None when no id repeats (the usual case)."""
    keys: list[Any] = ids if len(set(models)) <= 1 else list(zip(models, ids))
    if len(set(keys)) == len(keys):
        return None
    first: dict[Any, int] = {}
    for index, key in enumerate(keys):
        first.setdefault(key, index)
    return list(first.values())


def _sensitive_columns(mappings: list[dict[str, Any]]) -> dict[str, list[str | None]]:
    """One text column per sensitive attribute (``s_<lower-case name>``), in column-name order."""
    sources: dict[str, list[str]] = {}
    for name in set().union(*mappings):
        sources.setdefault(sensitive_column(name), []).append(name)
    if all(len(names) == 1 for names in sources.values()):
        return {c: _attribute_texts([m.get(sources[c][0]) for m in mappings]) for c in sorted(sources)}
    # names differing only in case ("Race", "race"): per event, the last one wins
    lowered = [{sensitive_column(k): v for k, v in m.items()} for m in mappings]
    return {c: _attribute_texts([m.get(c) for m in lowered]) for c in sorted(sources)}


def prediction_table(events: Sequence[PredictionEvent]) -> tuple[Any, int]:
    """A batch as a pyarrow table in store columns, and the number of in-batch duplicates.

    The first occurrence of an id wins. Columns are built one at a time from the validated events
    (timestamps become UTC, labels and attribute values text, features compact JSON): no per-event
    dictionaries or row tuples.
    """
    import pyarrow as pa
    from pydantic_core import to_json

    models = [e.model for e in events]
    ids = [e.prediction_id for e in events]
    keep = _first_occurrences(models, ids)
    kept = events if keep is None else [events[i] for i in keep]
    if keep is not None:
        models, ids = [models[i] for i in keep], [ids[i] for i in keep]
    string = pa.string()
    columns = {
        "model": pa.array(models, string),
        "prediction_id": pa.array(ids, string),
        "model_version": pa.array([e.model_version or "" for e in kept], string),
        "ts": pa.array([e.timestamp for e in kept], pa.timestamp("us", tz="UTC")),
        "prediction": pa.array(_label_texts([e.prediction for e in kept]), string),
        "score": pa.array([e.score for e in kept], pa.float64()),
        "features": pa.array([None if (f := e.features) is None else to_json(f) for e in kept], string),
    }
    for column, values in _sensitive_columns([e.sensitive for e in kept]).items():
        columns[column] = pa.array(values, string)
    return pa.table(columns), len(events) - len(kept)


def outcome_table(events: Sequence[OutcomeEvent]) -> tuple[Any, int]:
    """A batch of outcomes as a pyarrow table in store columns, and the in-batch duplicates."""
    import pyarrow as pa

    models = [e.model or "" for e in events]
    ids = [e.prediction_id for e in events]
    keep = _first_occurrences(models, ids)
    kept = events if keep is None else [events[i] for i in keep]
    if keep is not None:
        models, ids = [models[i] for i in keep], [ids[i] for i in keep]
    string = pa.string()
    columns = {
        "model": pa.array(models, string),
        "prediction_id": pa.array(ids, string),
        "label": pa.array(_label_texts([e.label for e in kept]), string),
        "ts": pa.array([e.timestamp for e in kept], pa.timestamp("us", tz="UTC")),
    }
    return pa.table(columns), len(events) - len(kept)


class Store(AlertStore, ABC):
    """Where events live. Implementations: :class:`DuckDBStore`, :class:`PostgresStore`."""

    url: str
    #: SQL dialect of the store: ``"duckdb"`` or ``"postgres"``.
    dialect: str

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only aggregate query written in this store's dialect (positional parameters)."""

    @abstractmethod
    def migrate(self) -> None:
        """Create or upgrade the schema (idempotent)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`~fairwatch.exceptions.StoreUnavailableError` when the store is unreachable."""

    @abstractmethod
    def insert_predictions(self, events: Sequence[PredictionEvent]) -> IngestResult:
        """Store a batch atomically; returns once it is durable."""

    @abstractmethod
    def insert_outcomes(self, events: Sequence[OutcomeEvent]) -> IngestResult:
        """Store a batch of outcomes atomically; returns once it is durable."""

    @abstractmethod
    def models(self) -> list[ModelInfo]:
        """Every model with predictions."""

    @abstractmethod
    def sensitive_attributes(self) -> list[str]:
        """Names of the sensitive attributes seen so far."""

    @abstractmethod
    def labels(self, model: str, limit: int = 10) -> list[str]:
        """Distinct predicted and true labels of ``model`` (up to ``limit``)."""

    @abstractmethod
    def label_candidates(self, model: str, limit: int = 10) -> list[str]:
        """A superset of :meth:`labels` found without joining the tables (up to ``limit``): the
        model's predicted labels and the labels of outcomes sent for it or for no model."""

    @abstractmethod
    def time_range(self, model: str) -> tuple[datetime, datetime] | None:
        """Timestamps of ``model``'s first and last prediction; None when it has none."""

    @abstractmethod
    def confusion_cells(self, query: CellQuery) -> list[tuple[Any, ...]]:
        """Rows ``(window, *sensitive, labelled, y, y_pred, n)`` for the query, one SQL aggregate."""

    @abstractmethod
    def score_cells(self, query: CellQuery) -> list[tuple[Any, ...]]:
        """Rows ``(window, *sensitive, labelled, y, bin, n, sum_score, sum_score2)``, one SQL aggregate."""

    @abstractmethod
    def count(self, table: str) -> int:
        """Number of stored rows of ``predictions`` or ``outcomes``."""

    # -- API keys (stored hashed) ----------------------------------------------------------------
    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement with ``?``-style positional parameters in its own transaction."""

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


#: Added to ``api_keys`` by migrations: the models a key is limited to (``a|b``; NULL: every model).
API_KEY_MODELS_COLUMN = "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS models {type}"


def open_store(url: str) -> Store:
    """Open a store from a URL: ``duckdb:///path/file.duckdb``, ``duckdb://:memory:`` or
    ``postgresql://user@host:port/db`` (an optional ``?schema=name`` selects the schema)."""
    if url.startswith("duckdb://"):
        from fairwatch.monitor._duckdb import DuckDBStore

        return DuckDBStore(url)
    if url.startswith(("postgresql://", "postgres://")):
        from fairwatch.monitor._postgres import PostgresStore

        return PostgresStore(url)
    raise InvalidInputError(
        f"unknown store URL {url!r}; use duckdb:///path/to/file.duckdb or postgresql://user@host:5432/db"
    )
