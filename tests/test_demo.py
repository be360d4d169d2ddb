"""`fairwatch demo` runs end to end on the bundled data and ends by itself."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from fairwatch.cli._demo import CHECKS, run_demo


def test_demo_runs_and_prints_the_audit() -> None:
    pytest.importorskip("sklearn")
    console = Console(record=True, width=200, file=io.StringIO())
    run_demo(console, seed=0)
    text = console.export_text()
    assert "Baseline by sex × race" in text
    assert "Female" in text and "White" in text
    assert "suppressed" in text  # small intersectional groups are withheld, not dropped
    for check in CHECKS:
        assert check in text
    assert text.rstrip().endswith("--ci 0.95")
    # the mitigation part: the post-processed model closes the parity gap, both are on the front
    assert "threshold optimizer (DP)" in text and "Pareto front" in text
    # the monitoring part: daily windows, label-free days withheld, the planted drift flagged
    assert "Daily fairness by sex" in text
    assert "withheld" in text
    assert "hours_per_week" in text and "⚠" in text


def test_monitoring_part_is_skipped_with_the_fix_when_the_store_cannot_open(monkeypatch: pytest.MonkeyPatch) -> None:
    import fairwatch.monitor as monitor
    from fairwatch.cli._demo_monitor import run_monitor_demo
    from fairwatch.exceptions import MissingDependencyError

    def no_duckdb(url: str) -> None:
        raise MissingDependencyError("the DuckDB store needs duckdb: pip install 'fairwatch[server]'")

    monkeypatch.setattr(monitor, "open_store", no_duckdb)
    console = Console(record=True, width=200, file=io.StringIO())
    run_monitor_demo(console, test=None)
    text = console.export_text()
    assert "Monitoring demo skipped: install the server extra (pip install 'fairwatch[server]')" in text
