"""The errors and warnings fairwatch raises.

Every error is a :class:`FairwatchError`. Errors about bad input also subclass the builtin
exception a Python user would expect (``ValueError``, ``KeyError``, ``TypeError``), so code that
already catches those keeps working. Each message names the argument, the offending value and what
would be accepted.
"""

from __future__ import annotations

__all__ = [
    "BrokerUnavailableError",
    "ExpressionError",
    "FairwatchError",
    "FairwatchWarning",
    "IncompatibleStatsError",
    "InvalidInputError",
    "LabelError",
    "LengthMismatchError",
    "MissingDependencyError",
    "MissingValueError",
    "NotFittedError",
    "NotificationError",
    "StoreError",
    "StoreUnavailableError",
    "UndefinedMetricWarning",
    "UnknownColumnError",
    "UnknownMetricError",
    "UnknownModelError",
]


class FairwatchError(Exception):
    """Base class of every error raised by fairwatch."""


class InvalidInputError(FairwatchError, ValueError):
    """An argument has the wrong shape, type or content."""


class LengthMismatchError(InvalidInputError):
    """Two inputs that must describe the same rows have different lengths."""


class MissingValueError(InvalidInputError):
    """An input holds NaN or null where a value is required."""


class LabelError(InvalidInputError):
    """Labels or predictions are not what the metric needs (e.g. not binary)."""


class UnknownMetricError(FairwatchError, KeyError):
    """A metric or disparity name is not registered."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0]) if self.args else ""


class UnknownModelError(FairwatchError, KeyError):
    """The monitoring store holds no predictions for the named model."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownColumnError(FairwatchError, KeyError):
    """A column name does not exist in the given data."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ExpressionError(InvalidInputError):
    """A check expression such as ``"demographic_parity_ratio >= 0.8"`` cannot be parsed."""


class IncompatibleStatsError(InvalidInputError):
    """Two GroupStats cannot be merged (different sensitive features, bins or blocks)."""


class MissingDependencyError(FairwatchError, ImportError):
    """An optional dependency needed for the requested feature is not installed."""


class NotFittedError(FairwatchError, ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class FairwatchWarning(UserWarning):
    """Base class of fairwatch warnings."""


class UndefinedMetricWarning(FairwatchWarning):
    """A metric has a zero denominator for a group; its value is reported as ``nan``."""


class StoreError(FairwatchError):
    """The monitoring store refused an operation."""


class StoreUnavailableError(StoreError):
    """The monitoring store cannot be reached; nothing was written. Retry when it is back."""


class BrokerUnavailableError(FairwatchError):
    """The message broker (NATS JetStream) cannot be reached or refused the consumer's setup."""


class NotificationError(FairwatchError):
    """A notifier could not deliver an alert; ``retryable`` says whether trying later may help.

    The alert itself is stored before any notification is attempted: a failed delivery is recorded
    and retried, never lost.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable
