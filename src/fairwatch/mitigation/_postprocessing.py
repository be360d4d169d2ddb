"""Post-processing (placeholder until implemented)."""

from __future__ import annotations

__all__ = ["CalibratedEqualizedOdds", "RejectOptionClassifier", "ThresholdOptimizer"]


class ThresholdOptimizer:
    pass


class RejectOptionClassifier:
    pass


class CalibratedEqualizedOdds:
    pass
