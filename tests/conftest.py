"""Session-wide fixtures: one local Spark session (``local[2]``) shared by every Spark test.

Spark tests are marked ``@pytest.mark.spark``. Without pyspark or Java they are skipped on a
developer machine and fail in CI (``CI=true``), so a CI run cannot pass without running them.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from typing import Any

import pytest


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; the Spark tests must run in CI", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A SparkSession on ``local[2]``, bound to 127.0.0.1, quiet, with Arrow transfers."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        _unavailable("pyspark is not installed (pip install 'fairwatch[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _unavailable("Java is not installed (Spark needs a JVM, e.g. OpenJDK 17)")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas.*")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("fairwatch-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# -- the browser: Debian's chromium driven by Playwright (never a downloaded browser) -----------------
CHROMIUM = os.environ.get("FAIRWATCH_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: the browser tests must run; `make browser` installs chromium)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless chromium (the system's, ``FAIRWATCH_TEST_CHROMIUM``); skips without it, fails in CI."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _browser_unavailable("playwright is not installed (it is in the test extra)")
    if not os.path.exists(CHROMIUM):
        _browser_unavailable(f"no chromium at {CHROMIUM}: install Debian's chromium (make browser)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Error as exc:
            _browser_unavailable(f"chromium at {CHROMIUM} did not start: {str(exc).splitlines()[0]}")
        yield launched
        launched.close()
