"""Explanation tables come back in the dataframe library the data came in, as fairwatch.audit's do
(issue 22, item 8): Polars in, Polars out; pyarrow in, pyarrow out; pandas for numpy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from fairwatch.explain import disparity_importance, find_subgroups, partial_dependence_by_group

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

LIBRARIES = {
    "pandas": (lambda frame: frame, pd.DataFrame),
    "polars": (pl.from_pandas, pl.DataFrame),
    "pyarrow": (lambda frame: pa.Table.from_pandas(frame, preserve_index=False), pa.Table),
}


def _explanations(planted: Any, to_library: Any) -> list[Any]:
    X = to_library(planted.X)
    group = planted.group
    features = to_library(pd.DataFrame({"group": group}))
    return [
        disparity_importance(planted.model, X, planted.y, sensitive_features=group, n_repeats=2, random_state=0),
        partial_dependence_by_group(
            planted.model, X, sensitive_features=group, feature="zip_risk", max_rows=200, random_state=0
        ),
        find_subgroups(planted.y, planted.model.predict(planted.X), features=features, max_depth=1),
    ]


@pytest.mark.parametrize("library", list(LIBRARIES))
def test_tables_in_the_callers_library(planted: Any, library: str) -> None:
    to_library, table_type = LIBRARIES[library]
    pandas_tables = [result.to_frame() for result in _explanations(planted, LIBRARIES["pandas"][0])]
    for result, expected in zip(_explanations(planted, to_library), pandas_tables):
        table = result.to_frame()
        assert isinstance(table, table_type), (type(result).__name__, type(table))
        as_pandas = table if isinstance(table, pd.DataFrame) else table.to_pandas()
        assert list(as_pandas.columns) == list(expected.columns)
        np.testing.assert_allclose(
            as_pandas.select_dtypes("number").to_numpy(dtype=float),
            expected.select_dtypes("number").to_numpy(dtype=float),
            equal_nan=True,
        )
        assert result.to_dict()["rows"]  # JSON does not depend on the library


def test_numpy_features_with_polars_groups_follow_the_groups(planted: Any) -> None:
    result = disparity_importance(
        planted.model,
        planted.X.to_numpy(),
        planted.y,
        sensitive_features=pl.Series("group", planted.group),
        n_repeats=2,
        random_state=0,
    )
    assert isinstance(result.to_frame(), pl.DataFrame)
