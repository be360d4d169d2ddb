"""Monitoring deployed models: events, stores (DuckDB, PostgreSQL) and windowed fairness.

Needs the ``server`` extra (``pip install 'fairwatch[server]'``).
"""

from fairwatch.monitor._alerts import AlertRecord, DeliveryRecord, RuleRecord
from fairwatch.monitor._drift import FeatureDrift, drift, drift_statistics
from fairwatch.monitor._durations import parse_duration
from fairwatch.monitor._estimate import (
    Calibrator,
    EstimateWindow,
    ReferenceCalibration,
    estimate_windows,
    fit_calibrator,
    fit_reference_calibration,
)
from fairwatch.monitor._events import OutcomeBatch, OutcomeEvent, PredictionBatch, PredictionEvent
from fairwatch.monitor._notifiers import parse_notifiers
from fairwatch.monitor._open import open_store
from fairwatch.monitor._rules import (
    Comparison,
    DriftRule,
    FairnessRule,
    LabelCoverageRule,
    WindowEvaluation,
    assess_stats,
    evaluate_rule,
    parse_rule,
)
from fairwatch.monitor._scheduler import RuleScheduler
from fairwatch.monitor._store import CellQuery, IngestResult, ModelInfo, Store
from fairwatch.monitor._windows import DEFAULT_WINDOW_METRICS, WindowResult, window_metrics

__all__ = [
    "DEFAULT_WINDOW_METRICS",
    "AlertRecord",
    "Calibrator",
    "CellQuery",
    "Comparison",
    "DeliveryRecord",
    "DriftRule",
    "EstimateWindow",
    "FairnessRule",
    "FeatureDrift",
    "IngestResult",
    "LabelCoverageRule",
    "ModelInfo",
    "OutcomeBatch",
    "OutcomeEvent",
    "PredictionBatch",
    "PredictionEvent",
    "ReferenceCalibration",
    "RuleRecord",
    "RuleScheduler",
    "Store",
    "WindowEvaluation",
    "WindowResult",
    "assess_stats",
    "drift",
    "drift_statistics",
    "estimate_windows",
    "evaluate_rule",
    "fit_calibrator",
    "fit_reference_calibration",
    "open_store",
    "parse_duration",
    "parse_notifiers",
    "parse_rule",
    "window_metrics",
]
