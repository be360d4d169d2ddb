"""The report and integrations namespaces export exactly what they promise."""

from __future__ import annotations

import fairwatch.integrations
import fairwatch.integrations.mlflow
import fairwatch.report


def test_report_exports() -> None:
    assert set(fairwatch.report.__all__) == {
        "DEFAULT_CHECKS",
        "ImpactRatio",
        "ImpactRatioRow",
        "ImpactRatioTable",
        "ReportSection",
        "audit_html",
        "impact_ratio",
    }
    for name in fairwatch.report.__all__:
        assert hasattr(fairwatch.report, name)


def test_integration_exports() -> None:
    assert fairwatch.integrations.__all__ == []
    assert set(fairwatch.integrations.mlflow.__all__) == {"log_audit", "metric_key"}
