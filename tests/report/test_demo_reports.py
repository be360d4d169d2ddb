"""`fairwatch demo` writes the HTML reports of the baseline and the mitigated model and says where."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import fairwatch as fw
from fairwatch.cli._demo import METRICS, SENSITIVE, write_demo_reports
from fairwatch.exceptions import InvalidInputError


@pytest.fixture(scope="module")
def test_rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame({"sex": rng.choice(["Female", "Male"], n), "race": rng.choice(["Black", "White"], n)})
    frame["y_true"] = rng.integers(0, 2, n)
    frame["score"] = np.clip(0.3 * frame["y_true"] + 0.6 * rng.random(n), 0, 1).round(3)
    frame["y_pred"] = (frame["score"] > 0.5).astype(int)
    return frame


def test_writes_both_reports_and_prints_their_paths(test_rows: pd.DataFrame, tmp_path: Path) -> None:
    baseline = fw.audit(
        "y_true",
        "y_pred",
        scores="score",
        sensitive_features=SENSITIVE,
        data=test_rows,
        metrics=METRICS,
        ci=0.95,
        min_group_size=50,
        n_boot=100,
    )
    mitigated = np.random.default_rng(1).integers(0, 2, len(test_rows))
    console = Console(record=True, width=200, file=io.StringIO())
    out = tmp_path / "demo-out"
    written = write_demo_reports(console, baseline, test_rows, mitigated, out)
    assert [p.name for p in written] == ["fairwatch-report-baseline.html", "fairwatch-report-mitigated.html"]
    text = console.export_text()
    for path in written:
        assert str(path) in text
        html = path.read_text(encoding="utf-8")
        assert "<h2>Policy checks</h2>" in html and "demographic_parity_ratio &gt;= 0.8" in html
    assert 'id="roc"' in written[0].read_text(encoding="utf-8")  # the baseline has scores
    assert 'id="roc"' not in written[1].read_text(encoding="utf-8")  # the post-processed model has labels only


def test_unusable_output_dir(test_rows: pd.DataFrame, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    baseline = fw.audit("y_true", "y_pred", sensitive_features=SENSITIVE, data=test_rows, metrics=["selection_rate"])
    console = Console(file=io.StringIO())
    with pytest.raises(
        InvalidInputError, match=r"cannot create --output-dir .*a-file/out.*choose a writable directory"
    ):
        write_demo_reports(console, baseline, test_rows, test_rows["y_pred"].to_numpy(), blocker / "out")
