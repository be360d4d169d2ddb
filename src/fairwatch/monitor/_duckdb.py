"""DuckDB store: the embedded default (one file, no server)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from fairwatch.exceptions import InvalidInputError, MissingDependencyError, StoreUnavailableError
from fairwatch.monitor._rollup import Limits
from fairwatch.monitor._store import Progress, Store
from fairwatch.monitor._tables import arrow_table

__all__ = ["DuckDBStore"]


class _DuckTransaction:
    dialect = "duckdb"

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(sql, list(params))
        return list(self.cursor.fetchall()) if self.cursor.description else []

    def stage(self, name: str, columns: Any) -> None:
        self.cursor.register(name, arrow_table(columns))

    def integers(self, name: str, columns: dict[str, Any]) -> tuple[str, list[Any]]:
        self.stage(name, columns)
        return name, []

    def fetch_table(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The query's result as a pyarrow table (no Python row objects)."""
        return self.cursor.sql(sql, params=list(params)).to_arrow_table()


_T = TypeVar("_T")


class DuckDBStore(Store):
    """Events in one DuckDB file (``duckdb:///path/to/file.duckdb``; ``duckdb://:memory:`` for tests).

    One process owns the file (DuckDB's rule); writes are serialised and each batch is one
    transaction, committed (write-ahead log flushed) before it is acknowledged.
    """

    dialect = "duckdb"

    def __init__(
        self,
        url: str,
        *,
        limits: Limits | None = None,
        max_future_skew: timedelta | None = timedelta(days=1),
        progress: Progress | None = None,
    ) -> None:
        try:
            import duckdb
        except ImportError as exc:  # pragma: no cover - duckdb is in the server extra
            raise MissingDependencyError("the DuckDB store needs duckdb: pip install 'fairwatch[server]'") from exc
        self.url = url
        self._setup(limits, max_future_skew)
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
        self._write_lock = threading.RLock()
        self.migrate(progress)

    # -- plumbing ------------------------------------------------------------------------------
    def _cursor(self) -> Any:
        import duckdb

        try:
            return self._con.cursor()
        except duckdb.Error as exc:
            raise StoreUnavailableError(f"DuckDB store {self.url!r} is not available: {exc}") from exc

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_DuckTransaction]:
        import duckdb

        with self._write_lock:
            cur = self._cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                yield _DuckTransaction(cur)
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                raise StoreUnavailableError(f"DuckDB store {self.url!r} failed; nothing was written: {exc}") from exc
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    def _write(self, work: Any) -> Any:
        try:
            return super()._write(work)
        except StoreUnavailableError as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            raise StoreUnavailableError(
                f"could not store the batch in {self.url!r}; nothing was written: {cause}"
            ) from exc.__cause__

    def _tables(self) -> set[str]:
        rows = (
            self._cursor()
            .execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
            .fetchall()
        )
        return {r[0] for r in rows}

    def close(self) -> None:
        self._con.close()

    def ping(self) -> None:
        self._cursor().execute("SELECT 1").fetchall()

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._transaction() as tx:
            return tx.execute(sql, params)

    def _execute_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        with self._transaction() as tx:
            for sql, params in statements:
                tx.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._read(sql, params, lambda result: list(result.fetchall()))

    def query_integers(self, sql: str, params: Sequence[Any], width: int) -> np.ndarray:
        # columns straight into numpy: no Python object per value (a read of 720 windows x 20 groups
        # would build 100,000 of them, holding the interpreter lock)
        def columns(result: Any) -> np.ndarray:
            found = result.fetchnumpy()
            if not found or len(next(iter(found.values()))) == 0:
                return np.zeros((0, width), np.int64)
            return np.column_stack([np.asarray(v, dtype=np.int64) for v in found.values()])

        return self._read(sql, params, columns)

    def _read(self, sql: str, params: Sequence[Any], fetch: Callable[[Any], _T]) -> _T:
        import duckdb

        cur = self._cursor()
        try:
            return fetch(cur.execute(sql, list(params)))
        except duckdb.Error as exc:
            if isinstance(exc, (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException)):
                raise
            raise StoreUnavailableError(f"DuckDB store {self.url!r} failed to read: {exc}") from exc
        finally:
            cur.close()
