"""Reduction constraints (placeholder until implemented)."""

from __future__ import annotations

__all__ = [
    "BoundedGroupLoss",
    "DemographicParity",
    "EqualizedOdds",
    "ErrorRateParity",
    "FalsePositiveRateParity",
    "TruePositiveRateParity",
]


class DemographicParity:
    pass


class EqualizedOdds:
    pass


class TruePositiveRateParity:
    pass


class FalsePositiveRateParity:
    pass


class ErrorRateParity:
    pass


class BoundedGroupLoss:
    pass
