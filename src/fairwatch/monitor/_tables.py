"""Batches of rows as pyarrow tables, the form both stores load them in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

__all__ = ["arrow_table"]


def _column(values: Any) -> Any:
    import pyarrow as pa

    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if isinstance(values, np.ndarray):
        return pa.array(values)
    first = next((v for v in values if v is not None), None)
    if isinstance(first, datetime):
        return pa.array(values, pa.timestamp("us", tz="UTC"))
    if isinstance(first, bool):
        return pa.array(values, pa.bool_())
    if isinstance(first, (int, float)):
        exact = all(v is None or v.__class__ is int for v in values)
        return pa.array(values, pa.int64() if exact else pa.float64())
    return pa.array(values, pa.string())


def arrow_table(columns: Mapping[str, Sequence[Any] | np.ndarray] | Any) -> Any:
    """A pyarrow table from a mapping of column name to values (lists or numpy arrays); timestamps
    become UTC microseconds, columns of ``None`` only become text."""
    import pyarrow as pa

    if isinstance(columns, pa.Table):
        return columns
    return pa.table({name: _column(values) for name, values in columns.items()})
