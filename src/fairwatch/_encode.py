"""Encode columns as small integer codes, fast (no Python loop over rows).

Numeric columns go through numpy (a bincount over the value range when it is small, a sort
otherwise); strings, categoricals and objects go through the hash-based factorisation of the
library that holds them (pandas, or pyarrow for Polars and Arrow data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np

from fairwatch._frame import Column, describe_missing
from fairwatch._typing import GroupKey, IntArray
from fairwatch.exceptions import InvalidInputError, MissingValueError

__all__ = ["Encoded", "encode", "encode_groups", "python_scalar"]

# A value range up to this many times the row count (or this absolute size) is encoded with a
# bincount instead of a sort.
_DENSE_RANGE_LIMIT = 1 << 20


@dataclass(frozen=True)
class Encoded:
    """Codes ``0..len(categories)-1`` for each row, categories sorted."""

    codes: IntArray
    categories: list[Any]


def python_scalar(value: Any) -> Any:
    """numpy/pyarrow scalars to plain Python values (JSON-friendly, hashable)."""
    if isinstance(value, np.generic):
        return value.item()
    as_py = getattr(value, "as_py", None)
    if callable(as_py):
        return as_py()
    return value


def _compress(codes: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """Renumber codes so only observed ones remain; return new codes and the kept old codes."""
    present = np.bincount(codes, minlength=size) > 0
    kept = np.flatnonzero(present)
    if kept.size == size:
        return codes, kept
    remap = np.cumsum(present) - 1
    return remap[codes].astype(np.int64, copy=False), kept


def _encode_integers(values: np.ndarray) -> Encoded:
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    if span <= max(_DENSE_RANGE_LIMIT, 4 * values.size):
        codes, kept = _compress((values.astype(np.int64) - low), span)
        return Encoded(codes, [int(k) + low for k in kept])
    uniques, inverse = np.unique(values, return_inverse=True)
    return Encoded(inverse.astype(np.int64).ravel(), [python_scalar(u) for u in uniques])


def _encode_numeric(values: np.ndarray, argument: str) -> Encoded:
    if values.dtype.kind == "b":
        codes, kept = _compress(values.astype(np.int64), 2)
        return Encoded(codes, [bool(k) for k in kept])
    if values.dtype.kind in "iu":
        return _encode_integers(values)
    nan = np.isnan(values)
    if nan.any():
        raise MissingValueError(
            f"{describe_missing(argument, nan)}; drop those rows or fill them with an explicit value before auditing"
        )
    if np.all(values == np.round(values)) and np.abs(values).max() < 2**52:
        encoded = _encode_integers(values.astype(np.int64))
        return Encoded(encoded.codes, [float(c) for c in encoded.categories])
    uniques, inverse = np.unique(values, return_inverse=True)
    return Encoded(inverse.astype(np.int64).ravel(), [float(u) for u in uniques])


def _sorted(codes: IntArray, categories: list[Any]) -> Encoded:
    """Reorder categories (and codes) so categories are sorted."""
    try:
        order = sorted(range(len(categories)), key=lambda i: categories[i])
    except TypeError:  # mixed types: sort by type name, then text
        order = sorted(range(len(categories)), key=lambda i: (type(categories[i]).__name__, str(categories[i])))
    if order == list(range(len(categories))):
        return Encoded(codes, categories)
    rank = np.empty(len(order), dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int64)
    return Encoded(rank[codes], [categories[i] for i in order])


def _raise_missing(argument: str, mask: np.ndarray) -> None:
    raise MissingValueError(
        f"{describe_missing(argument, mask)}; drop those rows or fill them with an explicit "
        f"category such as 'unknown' before auditing"
    )


def _factorize_arrow(array: Any, argument: str) -> Encoded:
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count:
        _raise_missing(argument, np.asarray(array.is_null().to_numpy(zero_copy_only=False)))
    if not pa.types.is_dictionary(array.type):
        array = pc.dictionary_encode(array)
    codes = np.asarray(array.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    dictionary = array.dictionary.to_pylist()
    codes, kept = _compress(codes, len(dictionary))
    return _sorted(codes, [dictionary[k] for k in kept])


def _factorize_pandas(values: Any, argument: str) -> Encoded:
    import pandas as pd

    codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        _raise_missing(argument, codes < 0)
    return _sorted(codes, [python_scalar(u) for u in np.asarray(uniques, dtype=object)])


def encode(column: Column, argument: str) -> Encoded:
    """Integer codes and sorted categories of one column; missing values raise an error."""
    values = column.values
    if isinstance(values, nw.Series):
        if values.null_count() > 0:
            _raise_missing(argument, np.asarray(values.is_null().to_numpy(), dtype=bool))
        if column.is_numeric():
            return _encode_numeric(np.asarray(values.to_numpy()), argument)
        impl = values.implementation
        if impl.is_polars() or impl.is_pyarrow():
            return _factorize_arrow(values.to_arrow(), argument)
        return _factorize_pandas(values.to_native(), argument)
    array = np.asarray(values)
    if array.dtype.kind in "biuf":
        return _encode_numeric(array, argument)
    if array.dtype.kind in "OUSMm":
        return _factorize_pandas(array, argument)
    raise InvalidInputError(f"{argument} has unsupported dtype {array.dtype}")


def encode_groups(columns: Sequence[Column]) -> tuple[IntArray, list[GroupKey]]:
    """Codes of the intersectional groups of several columns (only observed combinations).

    Groups are ordered lexicographically by the sorted categories of each column.
    """
    encoded = [encode(col, f"sensitive feature {col.name!r}") for col in columns]
    combined = np.zeros(len(encoded[0].codes), dtype=np.int64)
    size = 1
    for enc in encoded:
        k = len(enc.categories)
        combined = combined * k + enc.codes
        size *= k
    if size > max(_DENSE_RANGE_LIMIT, 4 * combined.size):
        uniques, inverse = np.unique(combined, return_inverse=True)
        codes, kept = inverse.astype(np.int64).ravel(), uniques
    else:
        codes, kept = _compress(combined, size)
    keys: list[GroupKey] = []
    radices = [len(enc.categories) for enc in encoded]
    for flat in kept.tolist():
        parts: list[Any] = []
        rest = int(flat)
        for enc, k in zip(reversed(encoded), reversed(radices)):
            rest, idx = divmod(rest, k)
            parts.append(enc.categories[idx])
        keys.append(tuple(reversed(parts)))
    return codes, keys
