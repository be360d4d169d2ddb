"""MLflow logging against a real local tracking store (a file store under tmp_path; no server)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fairwatch as fw
from fairwatch.exceptions import MissingDependencyError
from fairwatch.integrations.mlflow import audit_metrics, log_audit


@pytest.fixture()
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps file stores behind this switch
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    try:
        yield mlflow
    finally:
        if mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(previous)


def _audit(seed: int) -> fw.Audit:
    rng = np.random.default_rng(seed)
    n = 1500
    group = rng.choice(["Female", "Male", "Non-binary/other"], n, p=[0.45, 0.45, 0.1])
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + 0.6 * rng.random(n), 0, 1).round(3)
    metrics = ["selection_rate", "true_positive_rate", "false_positive_rate", "roc_auc"]
    pred = (score > 0.45).astype(int)
    audit = fw.audit(y, pred, scores=score, sensitive_features={"sex": group}, ci=0.95, metrics=metrics, n_boot=100)
    audit.check("demographic_parity_ratio >= 0.8", "equalized_odds_difference <= 0.1")
    return audit


def test_log_audit_metrics_trend_and_artefacts(tracking: Any) -> None:
    mlflow = tracking
    from mlflow.tracking import MlflowClient

    first, second = _audit(1), _audit(2)
    with mlflow.start_run() as run:
        assert log_audit(first, step=0, timestamp=1_700_000_000) == run.info.run_id
        log_audit(second, run.info.run_id, step=1, timestamp=1_700_086_400, html=False)
    client = MlflowClient()
    logged = client.get_run(run.info.run_id).data.metrics
    expected = audit_metrics(second)
    assert set(logged) == set(expected) and logged == pytest.approx(expected)  # latest step wins
    # every group metric and disparity is there, under valid, readable names
    assert "fairness/selection_rate/sex Non-binary_other" in logged
    assert "fairness/selection_rate_lo/sex Female" in logged
    assert "fairness/disparity/demographic_parity_ratio" in logged
    assert "fairness/check/demographic_parity_ratio ge 0.8" in logged
    value = second.summary.disparities["equalized_odds"].difference
    assert logged["fairness/disparity/equalized_odds_difference"] == pytest.approx(value)
    # a trend: one point per step, with its timestamp
    history = client.get_metric_history(run.info.run_id, "fairness/disparity/demographic_parity_difference")
    assert [(m.step, m.timestamp) for m in history] == [(0, 1_700_000_000_000), (1, 1_700_086_400_000)]
    # artefacts: JSON (both steps) and the HTML report (first step only)
    names = sorted(a.path for a in client.list_artifacts(run.info.run_id, "fairwatch"))
    assert names == ["fairwatch/audit-step0.html", "fairwatch/audit-step0.json", "fairwatch/audit-step1.json"]
    local = client.download_artifacts(run.info.run_id, "fairwatch/audit-step1.json")
    assert json.loads(Path(local).read_text(encoding="utf-8"))["groups"] == second.to_dict()["groups"]
    html = Path(client.download_artifacts(run.info.run_id, "fairwatch/audit-step0.html")).read_text(encoding="utf-8")
    assert "<h2>Per-group metrics</h2>" in html


def test_log_audit_without_a_run_starts_and_ends_one(tracking: Any) -> None:
    mlflow = tracking
    run_id = log_audit(_audit(3), html=False)
    assert mlflow.active_run() is None
    run = mlflow.tracking.MlflowClient().get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.tags["fairwatch.sensitive_features"] == "sex"


def test_missing_mlflow_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'fairwatch\[mlflow\]'"):
        log_audit(
            fw.audit([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"], metrics=["selection_rate"])
        )
