"""Monitoring deployed models: events, stores (DuckDB, PostgreSQL) and windowed fairness.

Needs the ``server`` extra (``pip install 'fairwatch[server]'``).
"""

from fairwatch.monitor._drift import FeatureDrift, drift, drift_statistics
from fairwatch.monitor._durations import parse_duration
from fairwatch.monitor._events import OutcomeBatch, OutcomeEvent, PredictionBatch, PredictionEvent
from fairwatch.monitor._store import CellQuery, IngestResult, ModelInfo, Store, open_store
from fairwatch.monitor._windows import DEFAULT_WINDOW_METRICS, WindowResult, window_metrics

__all__ = [
    "DEFAULT_WINDOW_METRICS",
    "CellQuery",
    "FeatureDrift",
    "IngestResult",
    "ModelInfo",
    "OutcomeBatch",
    "OutcomeEvent",
    "PredictionBatch",
    "PredictionEvent",
    "Store",
    "WindowResult",
    "drift",
    "drift_statistics",
    "open_store",
    "parse_duration",
    "window_metrics",
]
