"""Pre-processing: change the training data, not the model.

* :func:`reweighing_weights` and :class:`Reweighing` (Kamiran & Calders, 2012): weight every
  (group, label) cell by ``P(A=a) P(Y=y) / P(A=a, Y=y)`` so that, under the weights, the label is
  independent of the group; the weights come from one ``bincount`` of the cells.
* :class:`CorrelationRemover` (as fairlearn's): project the non-sensitive features onto the
  orthogonal complement of the (centred) sensitive features, with ``alpha`` to filter partially.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, TransformerMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import has_fit_parameter

from fairwatch._typing import ArrayLike, FloatArray, GroupKey, SensitiveLike
from fairwatch.exceptions import (
    InvalidInputError,
    LabelError,
    LengthMismatchError,
    UnknownColumnError,
)
from fairwatch.frames._columns import resolve_column
from fairwatch.frames._encode import encode
from fairwatch.mitigation._base import check_fitted, check_sample_weight, encode_sensitive

__all__ = ["CorrelationRemover", "Reweighing", "reweighing_weights"]


def n_samples(X: Any) -> int:
    """Number of rows of an array-like or dataframe (what the wrapped estimator will see)."""
    from sklearn.utils.validation import _num_samples

    try:
        return int(_num_samples(X))
    except TypeError:
        raise InvalidInputError(
            f"X must be an array-like or dataframe with one row per sample; got {type(X).__name__}"
        ) from None


class FittedEstimatorFeatures:
    """``n_features_in_`` and ``feature_names_in_`` of a meta-estimator's fitted ``estimator_``."""

    estimator_: Any

    @property
    def n_features_in_(self) -> int:
        """Number of features seen in fit."""
        check_fitted(self, "estimator_")
        return int(self.estimator_.n_features_in_)

    @property
    def feature_names_in_(self) -> Any:
        """Feature names seen in fit (when X had string column names)."""
        check_fitted(self, "estimator_")
        return self.estimator_.feature_names_in_


def _reweighing(
    y: ArrayLike, sensitive_features: SensitiveLike, sample_weight: ArrayLike | None
) -> tuple[FloatArray, FloatArray, list[GroupKey]]:
    """Row weights, the (group, class) factors and the groups."""
    if y is None:
        raise InvalidInputError("reweighing requires y to be passed, but the target y is None")
    column = resolve_column(y, "y", None)
    if column is not None and isinstance(column.values, np.ndarray) and column.values.dtype.kind == "c":
        raise InvalidInputError("Complex data not supported: y holds complex numbers; pass class labels")
    if column is None:  # pragma: no cover - y is not None here
        raise InvalidInputError("y is required")
    labels = encode(column, "y")
    n_rows = labels.codes.size
    if n_rows == 0:
        raise InvalidInputError("y is empty (0 rows); reweighing needs training data")
    if len(labels.categories) < 2:
        raise LabelError(
            f"y holds one class only ({labels.categories[0]!r}); reweighing needs at least two classes "
            f"(with one class every weight would be 1)"
        )
    sens = encode_sensitive(sensitive_features, n_rows)
    weights = check_sample_weight(sample_weight, n_rows, positive_total=False)
    n_groups, n_classes = sens.n_groups, len(labels.categories)
    key = sens.codes * n_classes + labels.codes
    cells = np.bincount(key, weights=weights, minlength=n_groups * n_classes).reshape(n_groups, n_classes)
    total = cells.sum()
    if total <= 0:
        raise InvalidInputError("sample_weight sums to zero; give some rows a positive weight")
    per_group = cells.sum(axis=1)
    per_class = cells.sum(axis=0)
    # Same operation order as AIF360: N_g / N * N_c / N_gc. Empty cells hold no rows: NaN factor.
    with np.errstate(invalid="ignore", divide="ignore"):
        factors = np.where(cells > 0, per_group[:, None] / total * per_class[None, :] / cells, np.nan)
    row_weights: FloatArray = np.where(weights > 0, factors[sens.codes, labels.codes] * weights, 0.0)
    return row_weights, factors, list(sens.groups)


def reweighing_weights(
    y: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    sample_weight: ArrayLike | None = None,
) -> FloatArray:
    """Kamiran & Calders reweighing: ``w = P(A=a) P(Y=y) / P(A=a, Y=y)`` per row.

    Under these weights the label is statistically independent of the (intersectional) group,
    while each group keeps its total weight and each class its total weight. Probabilities are
    weighted by ``sample_weight`` when given, and the result is multiplied by it (AIF360's
    semantics).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (two or more classes).
    sensitive_features : array-like, dataframe or dict
        One or several sensitive columns; groups are their intersections.
    sample_weight : array-like of shape (n_samples,), optional
        Existing non-negative row weights.

    Returns
    -------
    ndarray of shape (n_samples,)
        The new sample weights.

    Raises
    ------
    InvalidInputError
        If ``sensitive_features`` is missing or holds a single group, or lengths differ.
    LabelError
        If ``y`` holds a single class.

    References
    ----------
    F. Kamiran, T. Calders. "Data preprocessing techniques for classification without
    discrimination", Knowledge and Information Systems 33, 2012.

    Examples
    --------
    >>> from fairwatch.mitigation import reweighing_weights
    >>> y = [1, 1, 1, 0, 1, 0, 0, 0]
    >>> group = ["a", "a", "a", "a", "b", "b", "b", "b"]
    >>> reweighing_weights(y, sensitive_features=group).round(3).tolist()
    [0.667, 0.667, 0.667, 2.0, 2.0, 0.667, 0.667, 0.667]
    """
    return _reweighing(y, sensitive_features, sample_weight)[0]


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _if_estimator_has(attribute: str) -> Callable[[_Method], _Method]:
    """``available_if``: the method exists when the fitted (before fit: the given) estimator has it."""

    def check(self: Reweighing) -> bool:
        inner = self.estimator_ if hasattr(self, "estimator_") else self.estimator
        return hasattr(inner, attribute)

    decorator: Callable[[_Method], _Method] = available_if(check)
    return decorator


class Reweighing(FittedEstimatorFeatures, MetaEstimatorMixin, BaseEstimator):  # type: ignore[misc]
    """Fit an estimator with Kamiran & Calders reweighing weights.

    :meth:`fit` computes :func:`reweighing_weights` from ``y`` and ``sensitive_features`` and fits a
    clone of ``estimator`` with them as ``sample_weight``. Prediction needs no sensitive features:
    ``predict``, ``predict_proba``, ``decision_function`` and ``score`` are the fitted
    estimator's.

    Parameters
    ----------
    estimator : estimator
        A classifier whose ``fit`` accepts ``sample_weight``.

    Attributes
    ----------
    estimator_ : estimator
        The estimator fitted with the reweighed samples.
    groups_ : list of tuple
        The groups seen in fit.
    classes_ : ndarray
        The class labels (those of ``estimator_``).
    factors_ : ndarray of shape (n_groups, n_classes)
        The reweighing factor of each (group, class) cell; NaN for a cell without rows.
    n_features_in_ : int
        Number of features seen by ``estimator_`` in fit.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairwatch.mitigation import Reweighing
    >>> rng = np.random.default_rng(0)
    >>> group = rng.choice(["a", "b"], size=200)
    >>> X = rng.normal(size=(200, 2)) + (group == "a")[:, None]
    >>> y = (X[:, 0] + rng.normal(size=200) > 0.5).astype(int)
    >>> model = Reweighing(LogisticRegression()).fit(X, y, sensitive_features=group)
    >>> model.factors_.shape
    (2, 2)
    >>> model.predict(X[:3]).shape
    (3,)
    """

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(
        self,
        X: Any,
        y: ArrayLike,
        *,
        sensitive_features: SensitiveLike = None,
        sample_weight: ArrayLike | None = None,
    ) -> Reweighing:
        """Compute the reweighing weights and fit the estimator with them.

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
            Passed to the estimator as it is.
        y : array-like of shape (n_samples,)
        sensitive_features : array-like, dataframe or dict
            The groups to balance; needed in fit only.
        sample_weight : array-like of shape (n_samples,), optional
            Existing weights, multiplied into the reweighing weights.

        Returns
        -------
        self : Reweighing

        Raises
        ------
        InvalidInputError
            If the estimator's ``fit`` takes no ``sample_weight``, ``sensitive_features`` is
            missing or holds one group, or the inputs have different lengths.
        LabelError
            If ``y`` holds a single class.
        """
        if self.estimator is None or not hasattr(self.estimator, "fit"):
            raise InvalidInputError(
                f"estimator must be a scikit-learn estimator with fit; got {self.estimator!r}. "
                f"Pass e.g. Reweighing(LogisticRegression())"
            )
        if not has_fit_parameter(self.estimator, "sample_weight"):
            raise InvalidInputError(
                f"{type(self.estimator).__name__}.fit does not accept sample_weight, which Reweighing "
                f"needs; use an estimator that does (e.g. LogisticRegression), or resample the rows "
                f"with probabilities proportional to reweighing_weights(...)"
            )
        if y is None:
            raise InvalidInputError("Reweighing requires y to be passed, but the target y is None")
        n_rows, y_rows = n_samples(X), n_samples(y)
        if y_rows != n_rows:
            raise LengthMismatchError(f"X and y must have the same number of rows: X has {n_rows}, y has {y_rows}")
        weights, factors, groups = _reweighing(y, sensitive_features, sample_weight)
        estimator = clone(self.estimator)
        estimator.fit(X, y, sample_weight=weights)
        self.estimator_ = estimator
        self.groups_ = groups
        self.factors_ = factors
        return self

    @property
    def classes_(self) -> Any:
        """The class labels of the fitted estimator."""
        check_fitted(self, "estimator_")
        return self.estimator_.classes_

    @_if_estimator_has("predict")
    def predict(self, X: Any) -> Any:
        """Predictions of the fitted estimator."""
        check_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    @_if_estimator_has("predict_proba")
    def predict_proba(self, X: Any) -> Any:
        """Class probabilities of the fitted estimator."""
        check_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    @_if_estimator_has("predict_log_proba")
    def predict_log_proba(self, X: Any) -> Any:
        """Log class probabilities of the fitted estimator."""
        check_fitted(self, "estimator_")
        return self.estimator_.predict_log_proba(X)

    @_if_estimator_has("decision_function")
    def decision_function(self, X: Any) -> Any:
        """Decision function of the fitted estimator."""
        check_fitted(self, "estimator_")
        return self.estimator_.decision_function(X)

    @_if_estimator_has("score")
    def score(self, X: Any, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """The fitted estimator's score (e.g. accuracy) on ``X``, ``y``."""
        check_fitted(self, "estimator_")
        return float(self.estimator_.score(X, y, sample_weight=sample_weight))

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.input_tags = inner.input_tags
        tags.target_tags.required = True
        return tags


class CorrelationRemover(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    r"""Remove the linear correlation of the features with the sensitive features.

    Each non-sensitive column :math:`z_j` is regressed (least squares) on the centred sensitive
    columns :math:`S - \bar S`; the residual replaces it and the sensitive columns are dropped.
    ``alpha`` blends: the output is ``alpha * residual + (1 - alpha) * original``. Same
    semantics and numbers as fairlearn's ``CorrelationRemover``. Uncorrelated is not independent:
    this suits (generalised) linear models best.

    Parameters
    ----------
    sensitive_feature_ids : sequence of int or str, default=()
        The sensitive columns of ``X``: positions for arrays, names for dataframes.
    alpha : float, default=1.0
        How much to filter, from 0 (nothing, only drop the sensitive columns) to 1 (all linear
        correlation removed).

    Attributes
    ----------
    sensitive_mean_ : ndarray of shape (n_sensitive,)
        Mean of each sensitive column in fit.
    beta_ : ndarray of shape (n_sensitive, n_features_in_ - n_sensitive)
        Least-squares coefficients of each non-sensitive column on the centred sensitive columns.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from fairwatch.mitigation import CorrelationRemover
    >>> X = np.array([[0.0, 1.0, 2.0], [1.0, 3.0, 2.0], [0.0, 2.0, 4.0], [1.0, 4.0, 4.0]])
    >>> CorrelationRemover(sensitive_feature_ids=[0]).fit_transform(X)
    array([[2., 2.],
           [2., 2.],
           [3., 4.],
           [3., 4.]])
    """

    def __init__(self, *, sensitive_feature_ids: Sequence[int | str] = (), alpha: float = 1.0) -> None:
        self.sensitive_feature_ids = sensitive_feature_ids
        self.alpha = alpha

    def _sensitive_positions(self, X: Any) -> list[int]:
        ids = self.sensitive_feature_ids
        if isinstance(ids, (str, int)):
            ids = [ids]
        ids = list(ids)
        columns = list(X.columns) if hasattr(X, "columns") else None
        n_features = int(X.shape[1])
        positions = []
        for ident in ids:
            if columns is not None and ident in columns:
                positions.append(columns.index(ident))
            elif isinstance(ident, str):
                shown = ", ".join(map(repr, columns)) if columns is not None else "none, X is an array"
                raise UnknownColumnError(
                    f"sensitive_feature_ids names column {ident!r}, which is not in X (columns: {shown}); "
                    f"pass column names of X, or column positions"
                )
            elif isinstance(ident, (int, np.integer)) and not isinstance(ident, bool) and 0 <= ident < n_features:
                positions.append(int(ident))
            else:
                raise InvalidInputError(
                    f"sensitive_feature_ids holds {ident!r}, which is neither a column name of X nor a "
                    f"position in 0..{n_features - 1}"
                )
        if len(set(positions)) != len(positions):
            raise InvalidInputError(f"sensitive_feature_ids must not name a column twice; got {ids}")
        return positions

    def _validate(self, X: Any, *, reset: bool) -> FloatArray:
        from sklearn.utils.validation import validate_data

        try:
            values: FloatArray = validate_data(self, X, reset=reset, dtype=np.float64)
        except ValueError as exc:
            if "could not convert" in str(exc):
                raise InvalidInputError(
                    f"CorrelationRemover needs numeric features; one-hot encode categorical columns first "
                    f"(e.g. pandas.get_dummies or sklearn.preprocessing.OneHotEncoder): {exc}"
                ) from exc
            raise
        return values

    def fit(self, X: Any, y: Any = None) -> CorrelationRemover:
        """Learn the projection that removes the correlation with the sensitive columns.

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
            Numeric features, including the sensitive columns.
        y : None
            Ignored.

        Returns
        -------
        self : CorrelationRemover

        Raises
        ------
        InvalidInputError
            If ``alpha`` is outside [0, 1], a sensitive column is missing, or X is not numeric.
        """
        alpha = self.alpha
        if (
            isinstance(alpha, bool)
            or not isinstance(alpha, (int, float, np.integer, np.floating))
            or not 0 <= alpha <= 1
        ):
            raise InvalidInputError(f"alpha must be a number in [0, 1]; got {alpha!r}")
        values = self._validate(X, reset=True)
        self._positions = self._sensitive_positions(values if not hasattr(X, "columns") else X)
        sensitive, rest = self._split(values)
        self.sensitive_mean_ = sensitive.mean(axis=0) if sensitive.shape[1] else np.zeros(0)
        self.beta_ = np.linalg.lstsq(sensitive - self.sensitive_mean_, rest, rcond=None)[0]
        return self

    def _split(self, values: FloatArray) -> tuple[FloatArray, FloatArray]:
        sensitive = values[:, self._positions]
        rest = np.delete(values, self._positions, axis=1)
        return sensitive, rest

    def transform(self, X: Any) -> FloatArray:
        """Drop the sensitive columns and filter the others.

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
            The same columns as in fit.

        Returns
        -------
        ndarray of shape (n_samples, n_features - n_sensitive)
        """
        check_fitted(self, "beta_")
        values = self._validate(X, reset=False)
        sensitive, rest = self._split(values)
        filtered = rest - (sensitive - self.sensitive_mean_) @ self.beta_
        result: FloatArray = self.alpha * filtered + (1 - self.alpha) * rest
        return result

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        """Names of the output columns: the input names without the sensitive ones."""
        from sklearn.utils.validation import _check_feature_names_in

        check_fitted(self, "beta_")
        names = _check_feature_names_in(self, input_features)
        return np.delete(np.asarray(names, dtype=object), self._positions)
