"""DuckDB store: the embedded default (one file, no server)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fairwatch.exceptions import InvalidInputError, MissingDependencyError, StoreUnavailableError
from fairwatch.monitor._events import OutcomeEvent, PredictionEvent
from fairwatch.monitor._sql import ALERT_SCHEMA, confusion_sql, score_sql
from fairwatch.monitor._store import (
    API_KEY_MODELS_COLUMN,
    LABEL_COLUMN,
    LABELS_SEEN_BACKFILL,
    LABELS_SEEN_FROM_BATCH,
    CellQuery,
    IngestResult,
    ModelInfo,
    Store,
    outcome_table,
    prediction_table,
)

__all__ = ["DuckDBStore"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS predictions (
        model VARCHAR NOT NULL,
        prediction_id VARCHAR NOT NULL,
        model_version VARCHAR NOT NULL DEFAULT '',
        ts TIMESTAMPTZ NOT NULL,
        prediction VARCHAR NOT NULL,
        score DOUBLE,
        features VARCHAR,
        PRIMARY KEY (model, prediction_id))""",
    """CREATE TABLE IF NOT EXISTS outcomes (
        model VARCHAR NOT NULL DEFAULT '',
        prediction_id VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        ts TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (model, prediction_id))""",
    """CREATE TABLE IF NOT EXISTS labels_seen (
        model VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        PRIMARY KEY (model, label))""",
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id VARCHAR PRIMARY KEY,
        key_hash VARCHAR NOT NULL UNIQUE,
        name VARCHAR NOT NULL,
        scopes VARCHAR NOT NULL,
        created TIMESTAMPTZ NOT NULL,
        revoked TIMESTAMPTZ)""",
)


class DuckDBStore(Store):
    """Events in one DuckDB file (``duckdb:///path/to/file.duckdb``; ``duckdb://:memory:`` for tests).

    One process owns the file (DuckDB's rule); writes are serialised and each batch is one
    transaction, committed (write-ahead log flushed) before it is acknowledged.
    """

    dialect = "duckdb"

    def __init__(self, url: str) -> None:
        try:
            import duckdb
        except ImportError as exc:  # pragma: no cover - duckdb is in the server extra
            raise MissingDependencyError("the DuckDB store needs duckdb: pip install 'fairwatch[server]'") from exc
        self.url = url
        target = url.removeprefix("duckdb://")
        if target.startswith("/") and target != "/:memory:":
            path = Path(target)
            if not path.parent.exists():
                raise InvalidInputError(f"store directory {str(path.parent)!r} does not exist; create it first")
            database = str(path)
        elif target in (":memory:", "/:memory:", ""):
            database = ":memory:"
        else:
            raise InvalidInputError(f"DuckDB store URLs look like duckdb:///absolute/path.duckdb; got {url!r}")
        try:
            self._con = duckdb.connect(database)
        except duckdb.Error as exc:
            raise StoreUnavailableError(f"cannot open DuckDB store {url!r}: {exc}") from exc
        self._write_lock = threading.Lock()
        self._columns: set[str] = set()
        self.migrate()

    # -- plumbing ------------------------------------------------------------------------------
    def _cursor(self) -> Any:
        import duckdb

        try:
            return self._con.cursor()
        except duckdb.Error as exc:
            raise StoreUnavailableError(f"DuckDB store {self.url!r} is not available: {exc}") from exc

    def migrate(self) -> None:
        cur = self._cursor()
        tables = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for statement in _SCHEMA:
            cur.execute(statement)
        for statement in ALERT_SCHEMA:
            cur.execute(statement)
        cur.execute(API_KEY_MODELS_COLUMN.format(type="VARCHAR"))
        if "predictions" in tables and "labels_seen" not in tables:
            cur.execute(LABELS_SEEN_BACKFILL)
        self._columns = set(self._column_names(cur))

    @staticmethod
    def _column_names(cur: Any) -> list[str]:
        rows = cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'predictions'"
        ).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        self._con.close()

    def ping(self) -> None:
        self._cursor().execute("SELECT 1").fetchall()

    def count(self, table: str) -> int:
        if table not in ("predictions", "outcomes"):
            raise InvalidInputError(f"unknown table {table!r}")
        return int(self._cursor().execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        import duckdb

        with self._write_lock:
            cur = self._cursor()
            try:
                return list(cur.execute(sql, list(params)).fetchall())
            except duckdb.Error as exc:
                raise StoreUnavailableError(f"DuckDB store {self.url!r} failed: {exc}") from exc
            finally:
                cur.close()

    def _execute_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        import duckdb

        with self._write_lock:
            cur = self._cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                for sql, params in statements:
                    cur.execute(sql, list(params))
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                raise StoreUnavailableError(f"DuckDB store {self.url!r} failed; nothing was written: {exc}") from exc
            finally:
                cur.close()

    # -- writes --------------------------------------------------------------------------------
    def _insert(self, table: str, staging: Any, new_columns: list[str]) -> int:
        """Move the pyarrow table ``staging`` into ``table`` in one transaction; the number of new rows."""
        import duckdb

        names = ", ".join(f'"{c}"' for c in staging.column_names)
        with self._write_lock:
            cur = self._cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                for column in new_columns:
                    cur.execute(f'ALTER TABLE predictions ADD COLUMN IF NOT EXISTS "{column}" VARCHAR')
                cur.register("staging_batch", staging)
                row = cur.execute(
                    f"INSERT INTO {table} ({names}) SELECT {names} FROM staging_batch ON CONFLICT DO NOTHING"
                ).fetchone()
                cur.execute(LABELS_SEEN_FROM_BATCH.format(column=LABEL_COLUMN[table]))
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                raise StoreUnavailableError(
                    f"could not store the batch in {self.url!r}; nothing was written: {exc}"
                ) from exc
            finally:
                cur.close()
        self._columns.update(new_columns)
        return int(row[0]) if row else 0

    def insert_predictions(self, events: Sequence[PredictionEvent]) -> IngestResult:
        if not events:
            return IngestResult(0, 0)
        staging, _ = prediction_table(events)
        new = [c for c in staging.column_names if c.startswith("s_") and c not in self._columns]
        accepted = self._insert("predictions", staging, new)
        return IngestResult(accepted, len(events) - accepted)

    def insert_outcomes(self, events: Sequence[OutcomeEvent]) -> IngestResult:
        if not events:
            return IngestResult(0, 0)
        staging, _ = outcome_table(events)
        accepted = self._insert("outcomes", staging, [])
        return IngestResult(accepted, len(events) - accepted)

    # -- reads ---------------------------------------------------------------------------------
    def models(self) -> list[ModelInfo]:
        rows = (
            self._cursor()
            .execute(
                """SELECT p.model, list(DISTINCT p.model_version ORDER BY p.model_version), count(*),
                      count(o.label), min(p.ts), max(p.ts)
               FROM predictions p
               LEFT JOIN outcomes o ON o.prediction_id = p.prediction_id AND o.model IN (p.model, '')
               GROUP BY p.model ORDER BY p.model"""
            )
            .fetchall()
        )
        return [ModelInfo(r[0], [v for v in r[1] if v], int(r[2]), int(r[3]), r[4], r[5]) for r in rows]

    def sensitive_attributes(self) -> list[str]:
        return sorted(c[2:] for c in self._column_names(self._cursor()) if c.startswith("s_"))

    def labels(self, model: str, limit: int = 10) -> list[str]:
        rows = (
            self._cursor()
            .execute(
                """SELECT DISTINCT v FROM (
                   SELECT prediction AS v FROM predictions WHERE model = $1
                   UNION SELECT o.label FROM outcomes o JOIN predictions p
                         ON o.prediction_id = p.prediction_id AND o.model IN (p.model, '') WHERE p.model = $1)
               ORDER BY v LIMIT $2""",
                [model, limit],
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def label_candidates(self, model: str, limit: int = 10) -> list[str]:
        rows = (
            self._cursor()
            .execute(
                "SELECT DISTINCT label FROM labels_seen WHERE model IN ($1, '') ORDER BY label LIMIT $2", [model, limit]
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def time_range(self, model: str) -> tuple[datetime, datetime] | None:
        row = self._cursor().execute("SELECT min(ts), max(ts) FROM predictions WHERE model = $1", [model]).fetchone()
        return None if row is None or row[0] is None else (row[0], row[1])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._cursor().execute(sql, list(params)).fetchall())

    def confusion_cells(self, query: CellQuery) -> list[tuple[Any, ...]]:
        sql, params = confusion_sql(query, dialect="duckdb")
        return list(self._cursor().execute(sql, params).fetchall())

    def score_cells(self, query: CellQuery) -> list[tuple[Any, ...]]:
        sql, params = score_sql(query, dialect="duckdb")
        return list(self._cursor().execute(sql, params).fetchall())
