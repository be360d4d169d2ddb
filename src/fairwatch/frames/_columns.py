"""Turn what users pass (arrays, lists, series, dataframes, column names) into plain columns.

narwhals does the dataframe work, so pandas, Polars and pyarrow inputs go through one code path
and the tables fairwatch returns come back in the caller's library.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np

from fairwatch._typing import ArrayLike, FloatArray, FrameLike, SensitiveLike
from fairwatch.exceptions import (
    InvalidInputError,
    LengthMismatchError,
    MissingValueError,
    UnknownColumnError,
)

__all__ = [
    "Column",
    "as_frame",
    "check_lengths",
    "count_missing",
    "from_pandas",
    "is_blank",
    "make_table",
    "missing_expr",
    "missing_sensitive_error",
    "resolve_column",
    "resolve_sensitive",
    "table_backend",
    "to_float",
]


@dataclass(frozen=True)
class Column:
    """One named column: a 1-D numpy array or a narwhals Series (kept native for fast encoding)."""

    name: str
    values: Any

    def __len__(self) -> int:
        return len(self.values)

    def to_numpy(self) -> np.ndarray:
        if isinstance(self.values, np.ndarray):
            return self.values
        return np.asarray(self.values.to_numpy())

    def is_numeric(self) -> bool:
        if isinstance(self.values, np.ndarray):
            return self.values.dtype.kind in "biuf"
        dtype = self.values.dtype
        return bool(dtype.is_numeric() or dtype == nw.Boolean)


def as_frame(data: FrameLike | None, columns: Sequence[str] | None = None) -> nw.DataFrame[Any] | None:
    """Wrap ``data`` as an eager narwhals DataFrame.

    Lazy frames (Polars ``LazyFrame``, DuckDB, PySpark) are never collected here: audits of them
    run in their engine (``fairwatch.metrics._engines``), or are collected on ``columns`` only when
    ``engine="numpy"`` asks for it.
    """
    if data is None:
        return None
    if isinstance(data, nw.DataFrame):
        return data
    try:
        frame = nw.from_native(data)
    except TypeError as exc:
        raise InvalidInputError(
            f"data must be a dataframe (pandas, Polars, pyarrow, DuckDB, ...); got {type(data).__name__}"
        ) from exc
    if isinstance(frame, nw.LazyFrame):
        if columns is not None:
            _check_columns_exist(list(frame.collect_schema().names()), columns)
        raise InvalidInputError(
            f"data is a lazy frame ({frame.implementation.name.lower()}), which fairwatch aggregates in its "
            f"engine; pass column names for every input, or engine='numpy' to collect it first"
        )
    if not isinstance(frame, nw.DataFrame):
        raise InvalidInputError(f"data must be a dataframe; got {type(data).__name__}")
    return frame


def _check_columns_exist(available: list[str], wanted: Sequence[str]) -> None:
    for name in wanted:
        if name not in available:
            raise UnknownColumnError(
                f"column {name!r} is not in data; available columns: {', '.join(map(repr, available))}"
            )


def _column_from_frame(frame: nw.DataFrame[Any], name: str, argument: str) -> Column:
    if name not in frame.columns:
        raise UnknownColumnError(
            f"{argument}={name!r} is not a column of data; available columns: " + ", ".join(map(repr, frame.columns))
        )
    return Column(name, frame.get_column(name))


def _to_column(x: Any, name: str, argument: str) -> Column:
    """A 1-D column from an array-like that is not a column name."""
    if isinstance(x, nw.Series):
        return Column(x.name or name, x)
    if not isinstance(x, (np.ndarray, list, tuple, range)):
        try:
            series = nw.from_native(x, series_only=True)
        except TypeError:
            series = None
        if series is not None:
            return Column(series.name if isinstance(series.name, str) and series.name else name, series)
    array = np.asarray(x)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise InvalidInputError(
            f"{argument} must be one-dimensional (one value per row); got an array of shape {array.shape}"
        )
    return Column(name, array)


def resolve_column(x: ArrayLike | None, argument: str, frame: nw.DataFrame[Any] | None) -> Column | None:
    """Resolve ``y_true``, ``y_pred``, ``scores`` or ``sample_weight`` into a Column."""
    if x is None:
        return None
    if isinstance(x, str):
        if frame is None:
            raise InvalidInputError(
                f"{argument}={x!r} is a column name but no data= was given; pass data=<dataframe> "
                f"or pass the values themselves"
            )
        return _column_from_frame(frame, x, argument)
    return _to_column(x, argument, argument)


def resolve_sensitive(x: SensitiveLike, frame: nw.DataFrame[Any] | None) -> list[Column]:
    """Resolve ``sensitive_features`` into one Column per sensitive feature."""
    argument = "sensitive_features"
    if x is None:
        raise InvalidInputError(
            "sensitive_features is required: pass one column (e.g. df['sex']), several columns "
            "(e.g. df[['sex', 'race']]) or, with data=, column names"
        )
    if isinstance(x, str):
        names = [x]
    elif isinstance(x, (list, tuple)) and x and all(isinstance(v, str) for v in x) and frame is not None:
        names = list(x)
    else:
        names = []
    if names:
        if frame is None:
            raise InvalidInputError(
                f"sensitive_features={x!r} names columns but no data= was given; pass data=<dataframe>"
            )
        return [_column_from_frame(frame, name, argument) for name in names]
    if isinstance(x, Mapping):
        if not x:
            raise InvalidInputError("sensitive_features is an empty mapping; give at least one column")
        return [_to_column(values, str(name), f"sensitive_features[{name!r}]") for name, values in x.items()]
    try:
        table = nw.from_native(x, eager_only=True)
    except TypeError:
        table = None
    if isinstance(table, nw.DataFrame):
        if not table.columns:
            raise InvalidInputError("sensitive_features is a dataframe with no columns")
        return [Column(str(name), table.get_column(name)) for name in table.columns]
    if isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[1] > 1:
        return [Column(f"sensitive_feature_{i}", x[:, i]) for i in range(x.shape[1])]
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], (list, tuple, np.ndarray)) and len(x[0]) > 0:
        array = np.asarray(x, dtype=object)
        if array.ndim == 2:
            return [Column(f"sensitive_feature_{i}", array[:, i]) for i in range(array.shape[1])]
    column = _to_column(x, "sensitive_feature_0", argument)
    return [column]


def check_lengths(columns: Mapping[str, Column | None]) -> int:
    """Check every given column has the same number of rows; return it."""
    lengths = {arg: len(col) for arg, col in columns.items() if col is not None}
    distinct = set(lengths.values())
    if len(distinct) > 1:
        detail = ", ".join(f"{arg} has {n}" for arg, n in lengths.items())
        raise LengthMismatchError(f"inputs must have one value per row, but {detail}")
    n = distinct.pop() if distinct else 0
    if n == 0:
        raise InvalidInputError("the input is empty (0 rows); an audit needs at least one row per group")
    return n


def _missing_mask(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.asarray(np.isnan(values), dtype=bool)
    if values.dtype.kind == "O":
        return np.asarray([v is None or (isinstance(v, float) and math.isnan(v)) for v in values], dtype=bool)
    return np.zeros(values.shape, dtype=bool)


# -- missing sensitive values: one rule everywhere -------------------------------------------------------
# A missing value is null, NaN, or text that is empty or only spaces (what a CSV reader gives for an
# empty cell). It is never a group: the audits refuse it with :func:`missing_sensitive_error`, and
# the LL144 tables count it as "unknown".


def is_blank(value: Any) -> bool:
    """Whether a category is text that is empty or only spaces."""
    return isinstance(value, str) and not value.strip()


def missing_sensitive_error(name: str, count: int, n_rows: int) -> MissingValueError:
    """The one error for missing values in a sensitive column, whatever holds the data."""
    return MissingValueError(
        f"sensitive feature {name!r} has {count:,} missing value(s) (empty, null or NaN) in {n_rows:,} rows; "
        f"a missing value is not a group. Fill them with an explicit category such as 'unknown', or drop "
        f"those rows, before auditing"
    )


def count_missing(column: Column) -> int:
    """Rows of ``column`` that are null, NaN or blank text (a slow path: for error messages)."""
    values = column.values
    array = column.to_numpy()
    mask = np.zeros(len(column), dtype=bool)
    if isinstance(values, nw.Series):
        mask |= np.asarray(values.is_null().to_numpy(), dtype=bool)
    if array.dtype.kind in "US":
        mask |= np.char.strip(array.astype(str)) == ""
    elif array.dtype.kind in "fO":
        mask |= _missing_mask(array)
        if array.dtype.kind == "O":
            mask |= np.asarray([is_blank(v) for v in array], dtype=bool)
    return int(mask.sum())


def missing_expr(name: str, dtype: Any) -> nw.Expr:
    """True where column ``name`` (of narwhals ``dtype``) is missing: null, NaN or blank text.

    NaN is "not finite and not infinite": DuckDB folds ``isnan`` on Parquet columns from
    statistics that leave NaN out.
    """
    column = nw.col(name)
    missing = column.is_null()
    if dtype.is_float():
        missing = missing | (~column.is_finite() & (column.abs() != math.inf))
    elif dtype == nw.String:
        missing = missing | (column.str.strip_chars() == "")
    return missing


def describe_missing(argument: str, mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(int(r)) for r in rows[:5]) + (", ..." if rows.size > 5 else "")
    return f"{argument} has {rows.size} missing value(s) (NaN/null) at row(s) {shown}"


def to_float(column: Column, argument: str, *, hint: str) -> FloatArray:
    """A float64 copy of a numeric column; NaN/null or non-numeric values raise a clear error."""
    values = column.values
    if not isinstance(values, np.ndarray):
        if values.null_count() > 0:
            mask = np.asarray(values.is_null().to_numpy(), dtype=bool)
            raise MissingValueError(f"{describe_missing(argument, mask)}; {hint}")
        values = np.asarray(values.to_numpy())
    if values.dtype.kind == "O":
        mask = _missing_mask(values)
        if mask.any():
            raise MissingValueError(f"{describe_missing(argument, mask)}; {hint}")
    try:
        result = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        sample = values[:3].tolist()
        raise InvalidInputError(
            f"{argument} must be numeric; got values such as {sample} (dtype {values.dtype})"
        ) from exc
    nan = np.isnan(result)
    if nan.any():
        raise MissingValueError(f"{describe_missing(argument, nan)}; {hint}")
    return result


def table_backend(frame: nw.DataFrame[Any] | None, inputs: Sequence[Any] = ()) -> nw.Implementation:
    """The dataframe library results should come back in: that of ``data`` or of the inputs."""
    if frame is not None:
        impl = frame.implementation
        return impl if impl.is_pandas() or impl.is_polars() or impl.is_pyarrow() else nw.Implementation.PANDAS
    for x in inputs:
        if isinstance(x, nw.Series):
            return x.implementation
        if isinstance(x, Column) and isinstance(x.values, nw.Series):
            impl = x.values.implementation
            if impl.is_pandas() or impl.is_polars() or impl.is_pyarrow():
                return impl
    return nw.Implementation.PANDAS


def make_table(columns: Mapping[str, Sequence[Any] | np.ndarray], backend: nw.Implementation) -> Any:
    """Build a native dataframe of ``backend`` from a mapping of column name to values."""
    data = {name: list(values) if not isinstance(values, list) else values for name, values in columns.items()}
    return nw.from_dict(data, backend=backend).to_native()  # type: ignore[arg-type]


def from_pandas(frame: Any, backend: nw.Implementation) -> Any:
    """A pandas DataFrame in the library ``backend`` names (pandas, Polars or pyarrow), as
    :func:`make_table` returns tables in the caller's library."""
    if backend.is_polars():
        return nw.from_native(frame, eager_only=True).to_polars()
    if backend.is_pyarrow():
        return nw.from_native(frame, eager_only=True).to_arrow()
    return frame
