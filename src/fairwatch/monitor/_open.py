"""Opening a store by URL: the one module that knows every backend (the backends build on
:class:`~fairwatch.monitor._store.Store`, so the base class does not import them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor._rollup import Limits
from fairwatch.monitor._store import DEFAULT_FUTURE_SKEW, Progress, Store

__all__ = ["open_store"]


def open_store(
    url: str,
    *,
    limits: Limits | None = None,
    max_future_skew: timedelta | None = DEFAULT_FUTURE_SKEW,
    progress: Progress | None = None,
) -> Store:
    """Open a store from a URL: ``duckdb:///path/file.duckdb``, ``duckdb://:memory:`` or
    ``postgresql://user@host:port/db`` (an optional ``?schema=name`` selects the schema).

    A store written by an earlier release is upgraded on opening (``progress`` reports the steps).
    """
    options: dict[str, Any] = {"limits": limits, "max_future_skew": max_future_skew, "progress": progress}
    if url.startswith("duckdb://"):
        from fairwatch.monitor._duckdb import DuckDBStore

        return DuckDBStore(url, **options)
    if url.startswith(("postgresql://", "postgres://")):
        from fairwatch.monitor._postgres import PostgresStore

        return PostgresStore(url, **options)
    raise InvalidInputError(
        f"unknown store URL {url!r}; use duckdb:///path/to/file.duckdb or postgresql://user@host:5432/db"
    )
