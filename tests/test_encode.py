"""Encoding columns to group codes: every input kind gives the same groups, in sorted order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import fairwatch as fw
from fairwatch.frames._columns import Column
from fairwatch.frames._encode import encode

VALUES = ["b", "a", "c", "a", "b", "b"]


def _backends() -> list[Any]:
    out: list[Any] = [
        list(VALUES),
        np.array(VALUES),
        np.array(VALUES, dtype=object),
        pd.Series(VALUES),
        pd.Series(VALUES, dtype="category"),
        pd.Series(VALUES, dtype="string"),
    ]
    try:
        import polars as pl

        out += [pl.Series(VALUES), pl.Series(VALUES, dtype=pl.Categorical)]
    except ImportError:  # pragma: no cover - polars is a test dependency
        pass
    import pyarrow as pa

    out += [pa.chunked_array([VALUES[:3], VALUES[3:]]), pa.array(VALUES).dictionary_encode()]
    return out


@pytest.mark.parametrize("values", _backends(), ids=lambda v: type(v).__module__.split(".")[0] + type(v).__name__)
def test_every_backend_gives_the_same_groups(values: Any) -> None:
    stats = fw.group_stats([1, 0, 1, 0, 1, 1], [1, 1, 0, 0, 1, 0], sensitive_features=values)
    assert stats.groups == (("a",), ("b",), ("c",))
    assert stats.n.tolist() == [2.0, 3.0, 1.0]


@pytest.mark.parametrize(
    ("values", "categories"),
    [
        (np.array([5, 3, 5, 1_000_000_000]), [3, 5, 1_000_000_000]),  # sparse range: sort path
        (np.array([2, 0, 2, 1], dtype=np.uint8), [0, 1, 2]),
        (np.array([-3, 4, -3]), [-3, 4]),
        (np.array([True, False, True]), [False, True]),
        (np.array([True, True]), [True]),
        (np.array([0.5, 1.5, 0.5]), [0.5, 1.5]),
        (np.array([2.0, 1.0, 2.0]), [1.0, 2.0]),
    ],
)
def test_numeric_encodings(values: np.ndarray, categories: list[Any]) -> None:
    enc = encode(Column("x", values), "x")
    assert enc.categories == categories
    np.testing.assert_array_equal(np.asarray(enc.categories, dtype=object)[enc.codes], values.astype(object))


def test_mixed_types_sort_without_error() -> None:
    enc = encode(Column("x", np.array([1, "a", 2.5, "a"], dtype=object)), "x")
    assert set(enc.categories) == {1, "a", 2.5}
    assert len(enc.codes) == 4


def test_numeric_labels_and_float_labels_are_the_same_classes() -> None:
    audit = fw.audit(
        np.array([1, 0, 1, 0]),
        np.array([1.0, 0.0, 0.0, 0.0]),
        sensitive_features=["a", "a", "b", "b"],
        metrics=["accuracy"],
    )
    assert audit.summary.values["accuracy"].tolist() == [1.0, 0.5]


def test_two_dimensional_numpy_sensitive_features() -> None:
    sf = np.array([["F", "x"], ["M", "x"], ["F", "y"], ["M", "y"]])
    stats = fw.group_stats([1, 0, 1, 0], [1, 0, 0, 1], sensitive_features=sf)
    assert stats.sensitive_names == ("sensitive_feature_0", "sensitive_feature_1")
    assert stats.n_groups == 4
