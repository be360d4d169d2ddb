"""DuckDB store: the embedded default (one file, no server)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fairwatch.exceptions import InvalidInputError, MissingDependencyError, StoreUnavailableError
from fairwatch.monitor._events import OutcomeEvent, PredictionEvent
from fairwatch.monitor._sql import confusion_sql, score_sql
from fairwatch.monitor._store import (
    CellQuery,
    IngestResult,
    ModelInfo,
    Store,
    outcome_columns,
    prediction_columns,
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
        for statement in _SCHEMA:
            cur.execute(statement)
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

    # -- writes --------------------------------------------------------------------------------
    def _insert(self, table: str, columns: dict[str, list[Any]], new_columns: list[str]) -> int:
        import duckdb
        import pyarrow as pa

        staging = pa.table(columns)
        names = ", ".join(f'"{c}"' for c in columns)
        with self._write_lock:
            cur = self._cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                for column in new_columns:
                    cur.execute(f'ALTER TABLE predictions ADD COLUMN IF NOT EXISTS "{column}" VARCHAR')
                cur.register("staging_batch", staging)
                inserted = cur.execute(
                    f"INSERT INTO {table} ({names}) SELECT {names} FROM staging_batch "
                    f"ON CONFLICT DO NOTHING RETURNING 1"
                ).fetchall()
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
        return len(inserted)

    def insert_predictions(self, events: Sequence[PredictionEvent]) -> IngestResult:
        if not events:
            return IngestResult(0, 0)
        columns, _in_batch = prediction_columns(events)
        new = [c for c in columns if c.startswith("s_") and c not in self._columns]
        accepted = self._insert("predictions", columns, new)
        return IngestResult(accepted, len(events) - accepted)

    def insert_outcomes(self, events: Sequence[OutcomeEvent]) -> IngestResult:
        if not events:
            return IngestResult(0, 0)
        columns, _ = outcome_columns(events)
        accepted = self._insert("outcomes", columns, [])
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

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._cursor().execute(sql, list(params)).fetchall())

    def confusion_cells(self, query: CellQuery) -> list[tuple[Any, ...]]:
        sql, params = confusion_sql(query, dialect="duckdb")
        return list(self._cursor().execute(sql, params).fetchall())

    def score_cells(self, query: CellQuery) -> list[tuple[Any, ...]]:
        sql, params = score_sql(query, dialect="duckdb")
        return list(self._cursor().execute(sql, params).fetchall())
