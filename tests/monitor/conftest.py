"""Store fixtures: every store test runs against DuckDB and the real PostgreSQL.

PostgreSQL is expected at 127.0.0.1:5432 (trust auth, database ``test``; override with
``FAIRWATCH_TEST_POSTGRES``). Each test run works in its own schema and drops it. With ``CI=true`` an
unreachable PostgreSQL fails the suite instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("psycopg")

from fairwatch.monitor import Store, open_store

POSTGRES_URL = os.environ.get("FAIRWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
RUN_ID = uuid.uuid4().hex[:10]


def _postgres_available() -> str | None:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def postgres_url(suffix: str) -> str:
    """A URL of a fresh schema for this run (``suffix`` keeps tests apart)."""
    problem = _postgres_available()
    if problem is not None:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {problem}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: PostgreSQL is required)")
        pytest.skip(message)
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}schema=fw_test_{RUN_ID}_{suffix}"


@pytest.fixture(params=["duckdb", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "duckdb":
        yield f"duckdb://{tmp_path / 'events.duckdb'}"
        return
    url = postgres_url(uuid.uuid4().hex[:8])
    yield url
    from fairwatch.monitor._postgres import PostgresStore

    cleanup = PostgresStore(url)
    cleanup.drop_schema()
    cleanup.close()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()
