"""Model selection on the accuracy-fairness trade-off (placeholder until implemented)."""

from __future__ import annotations

from typing import Any

__all__ = ["compare_models", "pareto_front"]


def pareto_front(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


def compare_models(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError
