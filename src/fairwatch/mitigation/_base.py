"""What every mitigation estimator shares: sensitive-feature encoding and fitted checks."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from fairwatch._typing import FloatArray, GroupKey, IntArray, SensitiveLike
from fairwatch.exceptions import InvalidInputError, LengthMismatchError, NotFittedError
from fairwatch.frames._columns import resolve_sensitive
from fairwatch.frames._encode import encode_groups

__all__ = ["EstimatorNotFittedError", "SensitiveCodes", "check_fitted", "check_sample_weight", "encode_sensitive"]


class SensitiveCodes:
    """Integer group codes of the rows, the group keys and the sensitive feature names."""

    def __init__(self, codes: IntArray, groups: list[GroupKey], names: list[str]) -> None:
        self.codes = codes
        self.groups = groups
        self.names = names

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def codes_for(self, groups: list[GroupKey]) -> IntArray:
        """Re-express these rows' codes in the numbering of ``groups`` (e.g. the groups seen in fit).

        Rows of a group not in ``groups`` raise an error naming the group.
        """
        index = {g: i for i, g in enumerate(groups)}
        lut = np.empty(len(self.groups), dtype=np.int64)
        for i, g in enumerate(self.groups):
            if g not in index:
                raise InvalidInputError(
                    f"sensitive_features holds group {g!r}, which was not seen during fit "
                    f"(fit saw {', '.join(map(repr, groups[:10]))}); refit with data covering it"
                )
            lut[i] = index[g]
        return lut[self.codes]


def encode_sensitive(sensitive_features: SensitiveLike, n_rows: int, *, min_groups: int = 2) -> SensitiveCodes:
    """Encode ``sensitive_features`` for ``n_rows`` rows (intersections of several columns)."""
    if sensitive_features is None:
        raise InvalidInputError(
            "sensitive_features is required: pass fit(X, y, sensitive_features=...) (and the same to "
            "predict for group-aware post-processing)"
        )
    columns = resolve_sensitive(sensitive_features, None)
    for column in columns:
        if len(column) != n_rows:
            raise LengthMismatchError(
                f"sensitive_features must have one value per row of X: X has {n_rows} rows, "
                f"sensitive feature {column.name!r} has {len(column)}"
            )
    codes, groups = encode_groups(columns)
    if len(groups) < min_groups:
        raise InvalidInputError(
            f"sensitive_features hold a single group ({groups[0]!r}); mitigation needs at least two groups"
        )
    return SensitiveCodes(codes, groups, [c.name for c in columns])


class EstimatorNotFittedError(NotFittedError, SklearnNotFittedError):  # type: ignore[misc]
    """Raised by mitigation estimators used before ``fit``.

    It is both :class:`fairwatch.exceptions.NotFittedError` and scikit-learn's ``NotFittedError``,
    so code (and scikit-learn's estimator checks) catching either works.
    """


def check_fitted(estimator: Any, attribute: str) -> None:
    """Raise :class:`EstimatorNotFittedError` when ``attribute`` is missing."""
    if not hasattr(estimator, attribute):
        raise EstimatorNotFittedError(
            f"this {type(estimator).__name__} is not fitted yet; call fit(X, y, sensitive_features=...) first"
        )


def check_sample_weight(sample_weight: Any, n_rows: int, *, positive_total: bool = True) -> FloatArray:
    """``sample_weight`` as finite non-negative floats, one per row (ones when ``None``).

    With ``positive_total`` a zero total weight is an error too (nothing would be learned).
    """
    if sample_weight is None:
        return np.ones(n_rows, dtype=np.float64)
    try:
        weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"sample_weight must be numeric: {exc}") from exc
    if weights.size != n_rows:
        raise LengthMismatchError(
            f"sample_weight must have one value per row of X: X has {n_rows} rows, sample_weight has {weights.size}"
        )
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if bad.size:
        raise InvalidInputError(
            f"sample_weight must be finite and non-negative; row {int(bad[0])} has {float(weights[bad[0]])!r}"
        )
    if positive_total and weights.sum() <= 0:
        raise InvalidInputError("sample_weight sums to zero; give some rows a positive weight")
    return weights
