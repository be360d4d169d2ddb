"""Pre-processing (placeholder until implemented)."""

from __future__ import annotations

from typing import Any

__all__ = ["CorrelationRemover", "Reweighing", "reweighing_weights"]


def reweighing_weights(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


class Reweighing:
    pass


class CorrelationRemover:
    pass
