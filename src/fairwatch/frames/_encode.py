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

from fairwatch._typing import GroupKey, IntArray
from fairwatch.exceptions import InvalidInputError, MissingValueError
from fairwatch.frames._columns import Column, count_missing, describe_missing, is_blank, missing_sensitive_error

__all__ = [
    "Encoded",
    "encode",
    "encode_groups",
    "encode_groups_unsorted",
    "encode_sensitive",
    "group_order",
    "group_sort_key",
    "python_scalar",
]

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
    if span <= 2:  # min and max are both present: no counting, at most one shift
        codes = values.astype(np.int64, copy=False)
        return Encoded(codes - low if low else codes, list(range(low, high + 1)))
    if span <= max(_DENSE_RANGE_LIMIT, 4 * values.size):
        codes, kept = _compress((values.astype(np.int64) - low), span)
        return Encoded(codes, [int(k) + low for k in kept])
    uniques, inverse = np.unique(values, return_inverse=True)
    return Encoded(inverse.astype(np.int64).ravel(), [python_scalar(u) for u in uniques])


def _encode_numeric(values: np.ndarray, argument: str) -> Encoded:
    if values.dtype.kind == "b":
        present = [v for v, seen in ((False, not values.all()), (True, values.any())) if seen]
        codes = values.astype(np.int64)
        return Encoded(codes if len(present) == 2 or present == [False] else codes * 0, present)
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


def _factorize_arrow(array: Any, argument: str, sort: bool = True) -> Encoded:
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
    categories = [dictionary[k] for k in kept]
    return _sorted(codes, categories) if sort else Encoded(codes, categories)


def _factorize_pandas(values: Any, argument: str, sort: bool = True) -> Encoded:
    import pandas as pd

    codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        _raise_missing(argument, codes < 0)
    categories = [python_scalar(u) for u in np.asarray(uniques, dtype=object)]
    return _sorted(codes, categories) if sort else Encoded(codes, categories)


def encode(column: Column, argument: str, *, sort: bool = True) -> Encoded:
    """Integer codes and categories of one column; missing values raise an error.

    Categories are sorted unless ``sort=False`` (numeric columns are always sorted).
    """
    values = column.values
    if isinstance(values, nw.Series):
        if column.is_numeric():
            array = np.asarray(values.to_numpy())
            if array.dtype.kind not in "biuf" and values.null_count() > 0:  # masked/nullable dtypes
                _raise_missing(argument, np.asarray(values.is_null().to_numpy(), dtype=bool))
            return _encode_numeric(array, argument)
        impl = values.implementation
        if impl.is_polars() or impl.is_pyarrow():
            return _factorize_arrow(values.to_arrow(), argument, sort)
        return _factorize_pandas(values.to_native(), argument, sort)  # nulls become code -1: caught there
    array = np.asarray(values)
    if array.dtype.kind in "biuf":
        return _encode_numeric(array, argument)
    if array.dtype.kind in "OUSMm":
        return _factorize_pandas(array, argument, sort)
    raise InvalidInputError(f"{argument} has unsupported dtype {array.dtype}")


def encode_sensitive(column: Column, *, sort: bool = True) -> Encoded:
    """Codes of a sensitive column; a missing value (null, NaN or blank text) raises the one error
    every audit gives for it (:func:`fairwatch.frames._columns.missing_sensitive_error`).

    Blank text is found among the categories after factorisation, so complete columns pay nothing.
    """
    try:
        encoded = encode(column, f"sensitive feature {column.name!r}", sort=sort)
    except MissingValueError:
        raise missing_sensitive_error(column.name, count_missing(column), len(column)) from None
    if any(is_blank(category) for category in encoded.categories):
        raise missing_sensitive_error(column.name, count_missing(column), len(column))
    return encoded


def group_sort_key(key: GroupKey) -> tuple[Any, ...]:
    """Sort key of a group: value by value, numbers together, other values by type then value.

    The one ordering of groups everywhere (encoding, merging, roll-ups, monitor windows).
    """
    return tuple((type(v).__name__ if not isinstance(v, (int, float)) else "number", v) for v in key)


def group_order(keys: Sequence[GroupKey]) -> list[int]:
    """The permutation that sorts group keys by :func:`group_sort_key`."""
    return sorted(range(len(keys)), key=lambda i: group_sort_key(keys[i]))


def encode_groups_unsorted(columns: Sequence[Column]) -> tuple[IntArray, list[GroupKey]]:
    """Codes of the intersectional groups (only observed combinations), groups in no set order.

    Cheaper than :func:`encode_groups` on large inputs: callers that aggregate first can sort
    the few group keys afterwards (e.g. ``GroupStats.take``) instead of re-coding every row.
    """
    encoded = [encode_sensitive(col, sort=False) for col in columns]
    combined = encoded[0].codes.copy() if len(encoded) > 1 else encoded[0].codes
    size = len(encoded[0].categories)
    for enc in encoded[1:]:
        k = len(enc.categories)
        combined *= k
        combined += enc.codes
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


def encode_groups(columns: Sequence[Column]) -> tuple[IntArray, list[GroupKey]]:
    """Codes of the intersectional groups of several columns (only observed combinations).

    Groups are ordered lexicographically by the sorted categories of each column.
    """
    codes, keys = encode_groups_unsorted(columns)
    order = group_order(keys)
    if order == list(range(len(keys))):
        return codes, keys
    rank = np.empty(len(order), dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int64)
    return rank[codes], [keys[i] for i in order]
