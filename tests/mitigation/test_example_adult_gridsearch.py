"""The seed tutorial, reproduced: examples/adult_gridsearch.py runs end to end on a reduced grid.

The full run (``python examples/adult_gridsearch.py``, grid_size=100) is the same code with a bigger
grid; here five grid points keep the test fast.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "adult_gridsearch.py"


def _load_example() -> ModuleType:
    name = "fairwatch_example_adult_gridsearch"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, EXAMPLE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_example_runs_end_to_end_on_a_reduced_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = _load_example()
    output = tmp_path / "adult_gridsearch.html"
    with threadpool_limits(limits=1, user_api="blas"):
        result: dict[str, Any] = example.main(grid_size=5, output=output, n_jobs=2, progress=False)

    # 1. the baseline audit by sex x race, with intervals
    audit = result["baseline_audit"]
    assert audit.sensitive_features == ("sex", "race")
    assert len(audit.stats.groups) == 4
    gap = audit.summary.disparity("demographic_parity")
    assert 0.0 < gap.difference_lo <= gap.difference <= gap.difference_hi

    # 2. the sweep: five trees, one per multiplier
    sweep = result["sweep"]
    assert len(sweep.predictors_) == 5
    assert sweep.lambda_vecs_.shape == (4, 5)  # (+/-) x (White, Black) x 5 grid points

    # 3. the Pareto front on the test data and the plot
    front = result["front"]
    assert 1 <= len(front) <= 6
    assert not front.all_scores.loc[front.names, "dominated"].any()
    scores = front.all_scores
    for name in scores.index[scores["dominated"]]:
        better = (scores["accuracy"] >= scores.loc[name, "accuracy"]) & (
            scores["demographic_parity_difference"] <= scores.loc[name, "demographic_parity_difference"]
        )
        assert better.sum() >= 2  # itself and at least one model at least as good on both
    assert np.isfinite(front.scores.to_numpy()).all()

    page = output.read_text(encoding="utf-8")
    assert result["output"] == output
    assert "Pareto front" in page and "baseline" in page
    assert not re.search(r"<script[^>]*\bsrc\s*=", page)  # plotly.js inlined, no CDN

    printed = capsys.readouterr().out
    assert "Demographic parity difference (sex × race)" in printed
    assert "Pareto-optimal" in printed
