"""Read, select and overwrite columns of a feature table in its own library (numpy, pandas, Polars,
pyarrow), so a probe hands the model rows of exactly the type it was trained on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import narwhals as nw
import numpy as np

from fairwatch._typing import IntArray
from fairwatch.exceptions import InvalidInputError, UnknownColumnError

__all__ = ["column_names", "column_values", "set_columns", "take_rows"]

Key = Any  # a column name (dataframes) or an integer position (numpy arrays)


def _is_pandas(X: Any) -> bool:  # noqa: N803
    return hasattr(X, "iloc") and hasattr(X, "columns")


def _frame(X: Any) -> nw.DataFrame[Any] | None:  # noqa: N803
    if isinstance(X, np.ndarray) or _is_pandas(X):
        return None
    try:
        frame = nw.from_native(X, eager_only=True)
    except TypeError:
        return None
    return frame if isinstance(frame, nw.DataFrame) else None


def column_names(X: Any) -> list[Key]:  # noqa: N803
    """Column names of a dataframe, or positions ``0..d-1`` of a 2-D array."""
    if _is_pandas(X):
        return list(X.columns)
    frame = _frame(X)
    if frame is not None:
        return list(frame.columns)
    array = np.asarray(X)
    if array.ndim != 2:
        raise InvalidInputError(
            f"X must be a dataframe or a 2-D array (rows x features); got {type(X).__name__} of shape {array.shape}"
        )
    return list(range(array.shape[1]))


def check_column(X: Any, key: Key, argument: str, why: str) -> None:  # noqa: N803
    """Raise :class:`UnknownColumnError` naming ``argument`` when ``key`` is not a column of ``X``."""
    names = column_names(X)
    if key in names and not isinstance(key, bool):
        return
    if isinstance(X, np.ndarray):
        raise UnknownColumnError(
            f"{argument}={key!r} is not a column of X: X is a numpy array with {len(names)} columns, so give the "
            f"column's position (0..{len(names) - 1}) or pass X as a dataframe. {why}"
        )
    shown = ", ".join(map(repr, names[:20])) + (", ..." if len(names) > 20 else "")
    raise UnknownColumnError(f"{argument}={key!r} is not a column of X (columns: {shown}). {why}")


def column_values(X: Any, key: Key) -> np.ndarray:  # noqa: N803
    """The values of one column as a numpy array."""
    if _is_pandas(X):
        return np.asarray(X[key].to_numpy())
    frame = _frame(X)
    if frame is not None:
        return np.asarray(frame.get_column(key).to_numpy())
    return np.asarray(X)[:, key]


def take_rows(X: Any, rows: IntArray) -> Any:  # noqa: N803
    """The rows at positions ``rows`` (a copy), in ``X``'s own type."""
    if _is_pandas(X):
        return X.iloc[rows].copy()
    frame = _frame(X)
    if frame is not None:
        return frame[rows].to_native()
    return np.array(np.asarray(X)[rows], copy=True)


def set_columns(X: Any, values: Mapping[Key, Any]) -> Any:  # noqa: N803
    """``X`` with each named column set to a constant (``X`` itself is left unchanged)."""
    if not values:
        return X
    if _is_pandas(X):
        import pandas as pd

        out = X.copy()
        for key, value in values.items():
            dtype = out[key].dtype
            if isinstance(dtype, pd.CategoricalDtype) and value not in dtype.categories:
                dtype = object  # a value outside the categories keeps its meaning instead of becoming NaN
            out[key] = pd.Series([value] * len(out), index=out.index, dtype=dtype)
        return out
    frame = _frame(X)
    if frame is not None:
        schema = frame.schema
        return frame.with_columns(
            *[nw.lit(value, dtype=schema[key]).alias(str(key)) for key, value in values.items()]
        ).to_native()
    array = np.asarray(X)
    out_array = array.copy()
    for key, value in values.items():
        try:
            out_array[:, key] = value
        except (TypeError, ValueError):
            out_array = out_array.astype(object)
            out_array[:, key] = value
    return out_array
