"""Reductions (placeholder until implemented)."""

from __future__ import annotations

__all__ = ["ExponentiatedGradient", "GridSearch"]


class ExponentiatedGradient:
    pass


class GridSearch:
    pass
