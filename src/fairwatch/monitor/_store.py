"""The store interface shared by the DuckDB (embedded) and PostgreSQL implementations.

Rows are written in batches, all-or-nothing, acknowledged only after the transaction commits;
re-sending an event with an existing id is a counted no-op. Reads are aggregate queries: a
window's statistics leave the database as a few hundred grouped counts, never as rows.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor._events import OutcomeEvent, PredictionEvent, normalize_attribute, normalize_label

__all__ = [
    "SCOPES",
    "ApiKey",
    "CellQuery",
    "IngestResult",
    "ModelInfo",
    "Store",
    "open_store",
    "outcome_columns",
    "prediction_columns",
    "sensitive_column",
]

_COLUMN_RE = re.compile(r"^s_[a-z_][a-z0-9_]{0,62}$")


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


def hash_key(plain: str) -> str:
    """SHA-256 of a key: keys are 256-bit random tokens, so a fast hash is enough to store them."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A stored API key; ``plain`` is only set right after creation."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    created: datetime
    revoked: datetime | None
    plain: str | None = None


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
    extra: dict[str, Any] = field(default_factory=dict)


def sensitive_column(name: str) -> str:
    """The store column holding sensitive attribute ``name`` (case-insensitive)."""
    column = "s_" + name.lower()
    if not _COLUMN_RE.match(column):
        raise InvalidInputError(f"sensitive attribute name {name!r} is not an identifier")
    return column


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(timezone.utc)


def prediction_columns(events: Sequence[PredictionEvent]) -> tuple[dict[str, list[Any]], int]:
    """Column lists for a batch (first occurrence of an id wins) and the in-batch duplicates."""
    seen: set[tuple[str, str]] = set()
    kept: list[PredictionEvent] = []
    for event in events:
        key = (event.model, event.prediction_id)
        if key not in seen:
            seen.add(key)
            kept.append(event)
    attributes = sorted({sensitive_column(name) for e in kept for name in e.sensitive})
    columns: dict[str, list[Any]] = {
        "model": [e.model for e in kept],
        "prediction_id": [e.prediction_id for e in kept],
        "model_version": [e.model_version or "" for e in kept],
        "ts": [_utc(e.timestamp) for e in kept],
        "prediction": [normalize_label(e.prediction) for e in kept],
        "score": [e.score for e in kept],
        "features": [None if e.features is None else json.dumps(e.features, separators=(",", ":")) for e in kept],
    }
    lowered = [{sensitive_column(k): v for k, v in e.sensitive.items()} for e in kept]
    for column in attributes:
        columns[column] = [None if (v := s.get(column)) is None else normalize_attribute(v) for s in lowered]
    return columns, len(events) - len(kept)


def outcome_columns(events: Sequence[OutcomeEvent]) -> tuple[dict[str, list[Any]], int]:
    seen: set[tuple[str, str]] = set()
    kept: list[OutcomeEvent] = []
    for event in events:
        key = (event.model or "", event.prediction_id)
        if key not in seen:
            seen.add(key)
            kept.append(event)
    columns: dict[str, list[Any]] = {
        "model": [e.model or "" for e in kept],
        "prediction_id": [e.prediction_id for e in kept],
        "label": [normalize_label(e.label) for e in kept],
        "ts": [_utc(e.timestamp) for e in kept],
    }
    return columns, len(events) - len(kept)


class Store(ABC):
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

    def create_key(self, name: str, scopes: Sequence[str]) -> ApiKey:
        """Create an API key; the plain key is returned once and only its hash is stored."""
        check_scopes(scopes)
        plain = "fw_" + secrets.token_urlsafe(32)
        key_id = secrets.token_hex(6)
        created = datetime.now(timezone.utc)
        self._execute(
            "INSERT INTO api_keys (key_id, key_hash, name, scopes, created, revoked) VALUES (?, ?, ?, ?, ?, NULL)",
            [key_id, hash_key(plain), name, "|".join(sorted(set(scopes))), created],
        )
        return ApiKey(key_id, name, tuple(sorted(set(scopes))), created, None, plain)

    def list_keys(self) -> list[ApiKey]:
        rows = self._execute("SELECT key_id, name, scopes, created, revoked FROM api_keys ORDER BY created")
        return [ApiKey(r[0], r[1], tuple(r[2].split("|")), r[3], r[4]) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key by id; False when no active key has that id."""
        rows = self._execute(
            "UPDATE api_keys SET revoked = ? WHERE key_id = ? AND revoked IS NULL RETURNING key_id",
            [datetime.now(timezone.utc), key_id],
        )
        return bool(rows)

    def key_scopes(self, plain: str) -> tuple[str, ...] | None:
        """Scopes of an active key, or None (looked up by hash; the key itself is never stored)."""
        rows = self._execute("SELECT scopes FROM api_keys WHERE key_hash = ? AND revoked IS NULL", [hash_key(plain)])
        return tuple(rows[0][0].split("|")) if rows else None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
