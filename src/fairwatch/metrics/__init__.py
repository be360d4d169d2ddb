"""Group fairness metrics computed from mergeable per-group statistics.

* :class:`GroupStats` and :func:`group_stats`: the sufficient statistics;
* the registry (:func:`get_metric`, :func:`list_metrics`, :func:`register_metric`);
* :func:`summarize`: per-group values, intervals and disparities from GroupStats;
* fairlearn-compatible disparity functions (``demographic_parity_difference`` and friends);
* interval helpers (:func:`wilson_interval`, :func:`newcombe_interval`).
"""

from fairwatch.metrics._calls import group_stats
from fairwatch.metrics._fairlearn import (
    calibration_gap,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    predictive_parity_difference,
    predictive_parity_ratio,
)
from fairwatch.metrics._group_stats import REGRESSION_FIELDS, GroupStats, ScoreHistogram
from fairwatch.metrics._intervals import newcombe_interval, wilson_interval
from fairwatch.metrics._registry import (
    Metric,
    calibration_table,
    get_metric,
    list_metrics,
    metric_values,
    register_metric,
    register_proportion,
)
from fairwatch.metrics._summary import COMPOSITES, DEFAULT_MIN_GROUP_SIZE, Disparity, Summary, summarize

__all__ = [
    "COMPOSITES",
    "DEFAULT_MIN_GROUP_SIZE",
    "REGRESSION_FIELDS",
    "Disparity",
    "GroupStats",
    "Metric",
    "ScoreHistogram",
    "Summary",
    "calibration_gap",
    "calibration_table",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "get_metric",
    "group_stats",
    "list_metrics",
    "metric_values",
    "newcombe_interval",
    "predictive_parity_difference",
    "predictive_parity_ratio",
    "register_metric",
    "register_proportion",
    "summarize",
    "wilson_interval",
]
