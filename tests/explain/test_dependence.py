"""partial_dependence_by_group: curves equal a direct computation, per group, on every backend."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

from fairwatch.exceptions import UnknownColumnError
from fairwatch.explain import GroupPartialDependence, partial_dependence_by_group


def _data(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(0.0, 1.0, n),
            "kind": rng.choice(np.array(["a", "b", "c"]), n),
            "age": rng.integers(18, 70, n),
            "sex": rng.choice(np.array(["F", "M"]), n),
        }
    )


def _direct(model, data: pd.DataFrame, feature: str, grid, groups: np.ndarray) -> pd.DataFrame:
    rows = []
    for value in grid:
        out = model.predict_proba(data.assign(**{feature: value}))[:, 1]
        rows.append(pd.Series(out).groupby(groups).mean())
    return pd.DataFrame(rows).reset_index(drop=True)


def test_curves_equal_direct_computation(score_model) -> None:
    data = _data()
    result = partial_dependence_by_group(score_model, data, sensitive_features="sex", feature="x", grid_resolution=7)
    assert isinstance(result, GroupPartialDependence)
    assert result.values.shape == (7, 2)
    assert result.response == "predict_proba"
    low, high = np.quantile(data["x"], [0.05, 0.95])
    np.testing.assert_allclose(result.grid, np.linspace(low, high, 7))
    expected = _direct(score_model, data, "x", result.grid, data["sex"].to_numpy())
    np.testing.assert_allclose(result.values, expected[["F", "M"]].to_numpy(), rtol=1e-12)
    # the model's output rises with x in every group
    assert np.all(np.diff(result.values, axis=0) > 0)
    shares = data["sex"].value_counts(normalize=True).sort_index().to_numpy()
    np.testing.assert_allclose(result.overall, result.values @ shares)


def test_categorical_feature_and_group_shapes(score_model) -> None:
    data = _data()
    result = partial_dependence_by_group(score_model, data, sensitive_features=data[["sex"]], feature="kind")
    assert result.grid == ["a", "b", "c"]
    frame = result.to_frame()
    assert list(frame.columns) == ["kind", "sex=F", "sex=M", "overall", "gap"]
    # kind == 'a' adds 1 to the logit: the curve is highest at 'a' in every group
    assert np.all(result.values[0] > result.values[1])
    np.testing.assert_allclose(result.values[1], result.values[2])  # b and c are the same to the model
    expected = _direct(score_model, data, "kind", ["a", "b", "c"], data["sex"].to_numpy())
    np.testing.assert_allclose(result.values, expected[["F", "M"]].to_numpy(), rtol=1e-12)


def test_integer_feature_gets_integer_grid(score_model) -> None:
    data = _data()
    result = partial_dependence_by_group(score_model, data, sensitive_features="sex", feature="age", grid_resolution=5)
    assert all(isinstance(v, int) for v in result.grid)
    assert len(result.grid) == 5


def test_polars_input_matches_pandas(score_model) -> None:
    data = _data()
    pandas_result = partial_dependence_by_group(score_model, data, sensitive_features="sex", feature="x")
    polars_result = partial_dependence_by_group(
        score_model, pl.from_pandas(data), sensitive_features="sex", feature="x"
    )
    np.testing.assert_allclose(pandas_result.values, polars_result.values)


def test_intersectional_groups_and_sampling(score_model) -> None:
    data = _data(n=3000)
    result = partial_dependence_by_group(
        score_model, data, sensitive_features=["sex", "kind"], feature="x", max_rows=600, random_state=0
    )
    assert result.values.shape == (20, 6)
    assert result.n.tolist() == [100] * 6  # 600 rows spread evenly over the 6 groups
    assert "stratified sample of 600 of 3000 rows" in result.description
    # kind == 'a' groups sit above the others at every grid value
    a_columns = [i for i, key in enumerate(result.groups) if key[1] == "a"]
    other = [i for i in range(6) if i not in a_columns]
    assert result.values[:, a_columns].min(axis=1).min() >= 0
    assert np.all(result.values[:, a_columns].min(axis=1) > result.values[:, other].max(axis=1))
    np.testing.assert_allclose(result.gap, result.values.max(axis=1) - result.values.min(axis=1))


def test_predict_only_model_and_to_dict() -> None:
    class Linear:
        def predict(self, data: pd.DataFrame) -> np.ndarray:
            return data["x"].to_numpy() * np.where(data["sex"] == "F", 2.0, 1.0)

    data = _data()
    result = partial_dependence_by_group(Linear(), data, sensitive_features="sex", feature="x", grid_resolution=3)
    assert result.response == "predict"
    np.testing.assert_allclose(result.curve("F"), 2.0 * np.asarray(result.grid))
    np.testing.assert_allclose(result.curve(("M",)), np.asarray(result.grid))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["feature"] == "x" and len(data["rows"]) == 3
    assert result.title == "Partial dependence on x by group"


def test_numpy_x_by_position(score_model) -> None:
    class ArrayModel:
        def predict(self, data: np.ndarray) -> np.ndarray:
            return data[:, 0] + data[:, 1]

    rng = np.random.default_rng(0)
    data = rng.normal(size=(50, 2))
    groups = rng.choice(np.array(["u", "v"]), 50)
    result = partial_dependence_by_group(ArrayModel(), data, sensitive_features=groups, feature=1, grid_resolution=4)
    assert result.feature == "x1"
    means = pd.Series(data[:, 0]).groupby(groups).mean().to_numpy()
    np.testing.assert_allclose(result.values, np.asarray(result.grid)[:, None] + means[None, :])
    with pytest.raises(UnknownColumnError, match="numpy X: use column positions"):
        partial_dependence_by_group(ArrayModel(), data, sensitive_features=groups, feature=5)
