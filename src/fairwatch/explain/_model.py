"""The feature matrix and the model, as the explanations use them.

:class:`FeatureFrame` wraps ``X`` (pandas, Polars, pyarrow through narwhals, or a 2-D numpy array)
and builds the modified copies the explanations predict on — a column permuted, set to a grid
value, rows tiled — in the caller's own library and dtypes, so the model sees what it was fitted
on. Predictions on many copies go through one stacked call (see :data:`BATCH_ROWS`), because most
models pay a fixed cost per call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import narwhals as nw
import numpy as np

from fairwatch._typing import FloatArray, IntArray, SensitiveLike
from fairwatch.exceptions import InvalidInputError, LengthMismatchError, UnknownColumnError
from fairwatch.frames._columns import Column, resolve_sensitive

__all__ = ["BATCH_ROWS", "RESPONSES", "FeatureFrame", "ModelCaller", "resolve_groups"]

#: Rows per stacked prediction call (copies of ``X`` are batched up to this size).
BATCH_ROWS = 500_000

RESPONSES: tuple[str, ...] = ("auto", "predict_proba", "decision_function", "predict")


class FeatureFrame:
    """``X`` with column operations that keep its dataframe library and dtypes."""

    def __init__(self, X: Any) -> None:
        self.array: np.ndarray | None = None
        self.frame: nw.DataFrame[Any] | None = None
        if isinstance(X, np.ndarray):
            if X.ndim != 2:
                raise InvalidInputError(f"X must be two-dimensional (rows × features); got shape {X.shape}")
            self.array = X
            self.names = [f"x{i}" for i in range(X.shape[1])]
        else:
            try:
                frame = nw.from_native(X, eager_only=True)
            except TypeError as exc:
                raise InvalidInputError(
                    f"X must be a dataframe (pandas, Polars, pyarrow) or a 2-D numpy array; got {type(X).__name__}"
                    " (collect lazy frames first)"
                ) from exc
            odd = [c for c in frame.columns if not isinstance(c, str)]
            if odd:
                raise InvalidInputError(
                    f"X has column names that are not strings ({odd[:5]}); name the columns "
                    f"(X.columns = [...]) or pass X.to_numpy() if the model takes arrays"
                )
            self.frame = frame
            self.names = list(frame.columns)
        if self.n_rows == 0:
            raise InvalidInputError("X is empty (0 rows); explanations need rows to predict on")

    @property
    def n_rows(self) -> int:
        if self.array is not None:
            return int(self.array.shape[0])
        assert self.frame is not None
        return int(self.frame.shape[0])

    @property
    def native(self) -> Any:
        return self.array if self.array is not None else self.frame.to_native()  # type: ignore[union-attr]

    def resolve(self, feature: Any, argument: str = "features") -> str:
        """Canonical name of a feature given by name (or position, for numpy ``X``)."""
        position = isinstance(feature, (int, np.integer)) and not isinstance(feature, bool)
        if self.array is not None and position and 0 <= int(feature) < len(self.names):
            return self.names[int(feature)]
        if isinstance(feature, str) and feature in self.names:
            return feature
        shown = ", ".join(map(repr, self.names[:20])) + (", ..." if len(self.names) > 20 else "")
        hint = " (numpy X: use column positions or the names x0, x1, ...)" if self.array is not None else ""
        raise UnknownColumnError(f"{argument}: {feature!r} is not a column of X{hint}; columns of X: {shown}")

    def values(self, name: str) -> np.ndarray:
        """The column as a numpy array."""
        if self.array is not None:
            return np.asarray(self.array[:, self.names.index(name)])
        assert self.frame is not None
        return np.asarray(self.frame.get_column(name).to_numpy())

    def is_numeric(self, name: str) -> bool:
        if self.array is not None:
            return self.values(name).dtype.kind in "biuf"
        assert self.frame is not None
        dtype = self.frame.schema[name]
        return bool(dtype.is_numeric()) and dtype != nw.Boolean

    def is_integer(self, name: str) -> bool:
        if self.array is not None:
            return self.values(name).dtype.kind in "iu"
        assert self.frame is not None
        return bool(self.frame.schema[name].is_integer())

    def rows(self, index: IntArray) -> FeatureFrame:
        """A FeatureFrame of the given rows (repeats allowed: tiling, sampling)."""
        out = FeatureFrame.__new__(FeatureFrame)
        out.names = self.names
        out.array = None if self.array is None else self.array[index]
        out.frame = None if self.frame is None else self.frame[index]
        return out

    def tiled(self, copies: int) -> FeatureFrame:
        """``copies`` copies of the rows, stacked (``self`` itself for one copy: no copy made)."""
        return self if copies == 1 else self.rows(np.tile(np.arange(self.n_rows), copies))

    def with_gathered(self, name: str, source: FeatureFrame, index: IntArray) -> Any:
        """Native copy of ``self`` whose column ``name`` is ``source``'s column at rows ``index``."""
        if self.array is not None:
            assert source.array is not None
            j = self.names.index(name)
            out = self.array.copy()
            out[:, j] = source.array[index, j]
            return out
        assert self.frame is not None and source.frame is not None
        return self.frame.with_columns(source.frame.get_column(name)[index]).to_native()

    def with_values(self, name: str, values: np.ndarray) -> Any:
        """Native copy of ``self`` whose column ``name`` holds ``values`` (cast to the column's dtype)."""
        if self.array is not None:
            out = self.array.copy()
            out[:, self.names.index(name)] = values
            return out
        assert self.frame is not None
        dtype = self.frame.schema[name]
        series = nw.new_series(name, values, dtype=dtype, backend=self.frame.implementation)
        return self.frame.with_columns(series).to_native()

    def from_matrix(self, matrix: np.ndarray) -> Any:
        """Native frame like ``X`` from a 2-D array of its columns (used by SHAP's masker)."""
        if self.array is not None:
            return matrix.astype(self.array.dtype, copy=False)
        assert self.frame is not None
        schema = self.frame.schema
        impl = self.frame.implementation
        columns = {}
        for j, name in enumerate(self.names):
            dtype = schema[name]
            # numbers as a float array; strings/categories as Python objects (Polars cannot cast numpy objects)
            values = matrix[:, j].astype(np.float64) if dtype.is_numeric() else matrix[:, j].tolist()
            columns[name] = nw.new_series(name, values, dtype=dtype, backend=impl)
        return nw.from_dict(columns).to_native()

    def to_matrix(self) -> np.ndarray:
        """The columns as one 2-D numpy array (object dtype when the columns are mixed)."""
        if self.array is not None:
            return self.array
        cols = [self.values(n) for n in self.names]
        if all(c.dtype.kind in "biuf" for c in cols):
            return np.column_stack(cols).astype(np.float64)
        return np.column_stack([c.astype(object) for c in cols])


def resolve_groups(sensitive_features: SensitiveLike, X: FeatureFrame) -> list[Column]:
    """Sensitive columns given as values, or as column names of ``X``."""
    names: list[str] = []
    if isinstance(sensitive_features, str):
        names = [sensitive_features]
    elif isinstance(sensitive_features, (list, tuple)) and sensitive_features:
        strings = all(isinstance(v, str) for v in sensitive_features)
        # a list of strings names columns, unless it is one value per row that are not all column names
        if strings and not (len(sensitive_features) == X.n_rows and not set(sensitive_features) <= set(X.names)):
            names = list(sensitive_features)
    if names:
        if X.frame is None:
            raise InvalidInputError(
                f"sensitive_features={sensitive_features!r} names columns, but X is a numpy array; "
                f"pass the sensitive values themselves (an array or a dataframe)"
            )
        for name in names:
            X.resolve(name, "sensitive_features")
        columns = resolve_sensitive(names, X.frame)
    else:
        columns = resolve_sensitive(sensitive_features, None)
    for column in columns:
        if len(column) != X.n_rows:
            raise LengthMismatchError(
                f"sensitive feature {column.name!r} has {len(column)} values but X has {X.n_rows} rows; "
                f"pass one value per row of X"
            )
    return columns


class ModelCaller:
    """Calls one fitted model's prediction methods on (stacked copies of) ``X``.

    Models whose methods take ``sensitive_features`` (e.g. fairwatch's ``ThresholdOptimizer``)
    get the sensitive values of the same rows.
    """

    def __init__(self, model: Any, sensitive: Sequence[Column]) -> None:
        if isinstance(model, type):
            raise InvalidInputError(
                f"model must be a fitted model instance, not the class {model.__name__}; fit it first"
            )
        if not any(hasattr(model, m) for m in RESPONSES[1:]):
            raise InvalidInputError(
                f"model must have predict(X) (and optionally predict_proba or decision_function); "
                f"{type(model).__name__} has none of them. Pass a fitted estimator or wrap your function "
                f"in an object with a predict method"
            )
        self.model = model
        self.sensitive = list(sensitive)

    def takes_groups(self, method_name: str) -> bool:
        """Whether ``model.<method_name>`` takes ``sensitive_features``."""
        try:
            return "sensitive_features" in inspect.signature(getattr(self.model, method_name)).parameters
        except (TypeError, ValueError):
            return False

    def _call(self, method_name: str, X: Any, rows: IntArray | None) -> np.ndarray:
        method = getattr(self.model, method_name)
        if self.takes_groups(method_name):
            import pandas as pd

            groups = pd.DataFrame(
                {c.name: c.to_numpy() if rows is None else c.to_numpy()[rows] for c in self.sensitive}
            )
            return np.asarray(method(X, sensitive_features=groups))
        return np.asarray(method(X))

    def labels(self, X: Any, rows: IntArray | None = None) -> np.ndarray:
        """``model.predict(X)`` as a 1-D array."""
        if not hasattr(self.model, "predict"):
            raise InvalidInputError(
                f"this disparity needs predicted labels, but {type(self.model).__name__} has no predict method; "
                f"pass a fitted classifier"
            )
        return self._one_dimensional(self._call("predict", X, rows), "predict")

    def response_name(self, response: str) -> str:
        """The prediction method ``response`` resolves to for this model."""
        if response not in RESPONSES:
            raise InvalidInputError(f"response must be one of {', '.join(map(repr, RESPONSES))}; got {response!r}")
        if response != "auto":
            if not hasattr(self.model, response):
                raise InvalidInputError(
                    f"response={response!r}, but {type(self.model).__name__} has no {response} method; "
                    f"use response='auto'"
                )
            return response
        for name in RESPONSES[1:]:
            if hasattr(self.model, name):
                return name
        raise AssertionError("unreachable: checked in __init__")

    def response(self, response: str, X: Any, rows: IntArray | None = None) -> FloatArray:
        """A 1-D numeric output: P(positive) from ``predict_proba``, a margin, or ``predict``."""
        name = self.response_name(response)
        out = self._call(name, X, rows)
        if name == "predict_proba":
            if out.ndim != 2 or out.shape[1] != 2:
                raise InvalidInputError(
                    f"predict_proba returned shape {out.shape}; explanations of scores need a binary classifier "
                    f"(two columns). For other models pass response='predict'"
                )
            out = out[:, 1]
        out = self._one_dimensional(out, name)
        try:
            return np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{name} returned non-numeric values such as {out[:3].tolist()}; use response='predict_proba' "
                f"or 'decision_function' for classifiers with string labels"
            ) from None

    @staticmethod
    def _one_dimensional(out: np.ndarray, name: str) -> np.ndarray:
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.ndim != 1:
            raise InvalidInputError(f"{name} returned an array of shape {out.shape}; expected one value per row")
        return out


def stacked_calls(
    n_rows: int, n_copies: int, predict: Callable[[int, int], np.ndarray], batch_rows: int | None = None
) -> np.ndarray:
    """Outputs for ``n_copies`` copies of ``n_rows`` rows, shape ``(n_copies, n_rows)``.

    ``predict(start, stop)`` predicts copies ``start..stop-1`` stacked into one call of at most
    ``batch_rows`` rows (default :data:`BATCH_ROWS`; one copy per call if a copy is larger).
    """
    batch_rows = BATCH_ROWS if batch_rows is None else batch_rows
    per_call = max(1, min(n_copies, batch_rows // max(n_rows, 1)))
    parts = [predict(start, min(start + per_call, n_copies)) for start in range(0, n_copies, per_call)]
    return np.concatenate(parts).reshape(n_copies, n_rows)
