"""PostgreSQL store: many writers, production deployments (psycopg 3 with a connection pool)."""

from __future__ import annotations

import contextlib
import re
import weakref
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fairwatch.exceptions import InvalidInputError, MissingDependencyError, StoreUnavailableError
from fairwatch.monitor._rollup import Limits
from fairwatch.monitor._store import Progress, Store
from fairwatch.monitor._tables import arrow_table

__all__ = ["PostgresStore"]

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: Attempts of a write transaction that PostgreSQL aborted to break a deadlock (nothing was written).
_WRITE_ATTEMPTS = 3
_PG_TYPES = {"string": "TEXT", "int64": "BIGINT", "double": "DOUBLE PRECISION", "bool": "BOOLEAN"}


def _split_url(url: str) -> tuple[str, str]:
    """Connection URL without fairwatch's own ``schema`` parameter, and the schema."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    schema = query.pop("schema", "public")
    if not _SCHEMA_NAME.match(schema):
        raise InvalidInputError(f"schema={schema!r} must be a lower-case identifier")
    return urlunsplit(parts._replace(query=urlencode(query))), schema


def _pg(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s``."""
    return sql.replace("?", "%s")


def _pg_type(arrow_type: Any) -> str:
    text = str(arrow_type)
    return "TIMESTAMPTZ" if text.startswith("timestamp") else _PG_TYPES.get(text, "TEXT")


class _PgTransaction:
    dialect = "postgres"

    def __init__(self, cursor: Any, staging: dict[str, str]) -> None:
        self.cursor = cursor
        # staging tables of this connection (name -> definition): created once, emptied at each commit
        self.staging = staging
        self.used: set[str] = set()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(_pg(sql), list(params) or None)
        return list(self.cursor.fetchall()) if self.cursor.description else []

    def integers(self, name: str, columns: dict[str, Any]) -> tuple[str, list[Any]]:
        # measured: a kept staging table filled by COPY beats arrays unnested in the statement
        self.stage(name, columns)
        return name, []

    def fetch_table(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The query's result as a pyarrow table."""
        import pyarrow as pa

        rows = self.execute(sql, params)
        names = [c.name for c in self.cursor.description]
        return pa.table({n: list(v) for n, v in zip(names, zip(*rows))} if rows else {n: [] for n in names})

    def stage(self, name: str, columns: Any) -> None:
        """A temporary table dropped at commit, filled by ``COPY`` from CSV written by pyarrow (every
        present value quoted, so an unquoted empty field is NULL and ``""`` an empty string)."""
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        table = arrow_table(columns)
        definition = ", ".join(f'"{f.name}" {_pg_type(f.type)}' for f in table.schema)
        if self.staging.get(name) != definition:
            # a temporary table kept for the connection's next transactions (creating one per batch
            # writes the catalog every time); its rows go at commit
            self.cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
            self.cursor.execute(f"CREATE TEMP TABLE {name} ({definition}) ON COMMIT DELETE ROWS")
            self.staging[name] = definition
        elif name in self.used:
            self.cursor.execute(f"DELETE FROM {name}")
        self.used.add(name)
        if table.num_rows == 0:
            return
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"))
        names = ", ".join(f'"{n}"' for n in table.column_names)
        with self.cursor.copy(f"COPY {name} ({names}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(memoryview(sink.getvalue()))


class PostgresStore(Store):
    """Events in PostgreSQL (``postgresql://user@host:5432/db?schema=fairwatch``).

    Each batch is one transaction (events, dictionary entries and roll-up deltas), acknowledged after
    ``COMMIT`` returns (synchronous commit: durable). Writers to the same roll-up rows take their row
    locks in key order; a transaction PostgreSQL still aborts to break a deadlock is retried (it wrote
    nothing). An unreachable server raises :class:`~fairwatch.exceptions.StoreUnavailableError` within
    ``timeout`` seconds.
    """

    dialect = "postgres"

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 8,
        timeout: float = 5.0,
        limits: Limits | None = None,
        max_future_skew: timedelta | None = timedelta(days=1),
        progress: Progress | None = None,
    ) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:  # pragma: no cover - in the server extra
            raise MissingDependencyError("the PostgreSQL store needs psycopg: pip install 'fairwatch[server]'") from exc
        self.url = url
        self._psycopg = psycopg
        self._setup(limits, max_future_skew)
        conninfo, self.schema = _split_url(url)
        self._timeout = timeout
        self._pool = ConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=False,
            # every commit waits for the WAL flush, whatever the server's default: acknowledged means durable
            kwargs={
                "connect_timeout": max(1, int(timeout)),
                "options": f"-c search_path={self.schema} -c synchronous_commit=on",
            },
            check=ConnectionPool.check_connection,
            reconnect_timeout=0,
        )
        self._pool.open(wait=False)
        self._staging: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
        self._run(lambda cur: cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
        self.migrate(progress)

    # -- plumbing ------------------------------------------------------------------------------
    def _errors(self) -> Any:
        return self._psycopg.errors

    @contextlib.contextmanager
    def _connection_errors(self) -> Iterator[None]:
        """psycopg's errors as fairwatch's: 503 for what a retry can fix, 422 for what it cannot."""
        psycopg = self._psycopg
        from psycopg_pool import PoolTimeout

        errors = psycopg.errors
        try:
            yield
        except errors.ReadOnlySqlTransaction as exc:
            # a server put in read-only mode (or a failover to a standby): reads work, writes wait
            raise StoreUnavailableError(
                f"PostgreSQL store is read-only ({str(exc).strip().splitlines()[0]}); nothing was written, "
                f"retry when it accepts writes again"
            ) from exc
        except (errors.ProgramLimitExceeded, psycopg.DataError) as exc:
            # a value the server cannot store or index: the same request would fail again
            message = str(exc).strip().splitlines()[0]
            raise InvalidInputError(f"PostgreSQL rejected the request ({message}); nothing was written") from exc
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            # a connection lost during COMMIT may have committed: say what is certain (not acknowledged,
            # all or nothing) and that a re-send is safe (stored events come back as duplicates)
            raise StoreUnavailableError(
                f"PostgreSQL store is unavailable ({type(exc).__name__}: {str(exc).strip().splitlines()[0]}); "
                f"the request was not completed (a batch is stored whole or not at all, and re-sending it is "
                f"safe), retry when it is back"
            ) from exc

    def _run(self, work: Any) -> Any:
        """Run ``work(cursor)`` in one transaction."""
        with self._connection_errors(), self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            return work(cur)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_PgTransaction]:
        with self._connection_errors(), self._pool.connection() as conn:
            staging = self._staging.setdefault(conn, {})
            try:
                with conn.transaction(), conn.cursor() as cur:
                    yield _PgTransaction(cur, staging)
            except BaseException:
                staging.clear()  # tables created in a rolled-back transaction are gone
                raise

    def _write(self, work: Any) -> Any:
        rollback = self._errors().TransactionRollback  # deadlock or serialization failure: nothing written
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                return super()._write(work)
            except StoreUnavailableError as exc:
                if not isinstance(exc.__cause__, rollback) or attempt == _WRITE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _tables(self) -> set[str]:
        rows = self._fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [self.schema])
        return {r[0] for r in rows}

    def close(self) -> None:
        self._pool.close()

    def drop_schema(self) -> None:
        """Drop this store's schema and everything in it (tests use one schema per run)."""
        self._run(lambda cur: cur.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))

    def ping(self) -> None:
        self._run(lambda cur: cur.execute("SELECT 1"))

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._transaction() as tx:
            return tx.execute(sql, params)

    def _execute_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        with self._transaction() as tx:
            for sql, params in statements:
                tx.execute(sql, params)

    def _fetch(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        def work(cur: Any) -> list[tuple[Any, ...]]:
            cur.execute(sql, params or None)
            return list(cur.fetchall())

        return list(self._run(work))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._fetch(_pg(sql), list(params))
