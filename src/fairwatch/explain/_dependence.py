"""Partial dependence per group: how the model's output moves with one feature, group by group."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fairwatch._typing import FloatArray, GroupKey, IntArray, SensitiveLike
from fairwatch.exceptions import InvalidInputError
from fairwatch.explain._model import FeatureFrame, ModelCaller, resolve_groups, stacked_calls
from fairwatch.explain._result import ExplanationResult
from fairwatch.frames._columns import Column
from fairwatch.frames._encode import encode, encode_groups, python_scalar

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GroupPartialDependence", "partial_dependence_by_group", "stratified_rows"]


def group_label(names: list[str], key: GroupKey) -> str:
    """``"sex=F, race=B"`` for a group key."""
    return ", ".join(f"{n}={v}" for n, v in zip(names, key))


@dataclass(repr=False)
class GroupPartialDependence(ExplanationResult):
    """Partial dependence curves per group (returned by :func:`partial_dependence_by_group`).

    Attributes
    ----------
    feature : str
        The feature that was varied.
    grid : list
        The values it was set to.
    values : ndarray of shape (n_grid, n_groups)
        Mean model output within each group with the feature set to each grid value.
    overall : ndarray of shape (n_grid,)
        The population curve (the group curves weighted by group size).
    groups : list of tuple
        The group keys (columns of ``values``).
    response : str
        The model method that produced the output (``predict_proba`` gives P(positive)).
    """

    feature: str
    grid: list[Any]
    values: FloatArray
    overall: FloatArray
    groups: list[GroupKey]
    sensitive_names: list[str]
    n: IntArray
    n_rows: int
    response: str
    title: str = field(init=False)
    description: str = field(init=False)

    def __post_init__(self) -> None:
        self.title = f"Partial dependence on {self.feature} by group"
        output = "P(positive) from predict_proba" if self.response == "predict_proba" else f"the {self.response} output"
        sampled = (
            f" (a stratified sample of {int(self.n.sum())} of {self.n_rows} rows)" if self.n.sum() < self.n_rows else ""
        )
        self.description = (
            f"Mean {output} within each group of {', '.join(self.sensitive_names)} when {self.feature} is set to "
            f"each grid value for every row{sampled}. Parallel curves: the feature moves every group alike; "
            f"a gap that changes along the grid shows where the feature's effect differs between groups. "
            f"'gap' is the largest minus the smallest group curve at each value."
        )

    @property
    def gap(self) -> FloatArray:
        """Largest minus smallest group value at each grid point."""
        with np.errstate(invalid="ignore"):
            return np.asarray(np.nanmax(self.values, axis=1) - np.nanmin(self.values, axis=1))

    def curve(self, group: GroupKey | Any) -> FloatArray:
        """The curve of one group (a key tuple or a lone value)."""
        key = group if isinstance(group, tuple) else (group,)
        if key not in self.groups:
            raise InvalidInputError(f"group {key!r} is not one of {self.groups}")
        return np.asarray(self.values[:, self.groups.index(key)])

    def _table(self) -> pd.DataFrame:
        """One row per grid value; one column per group, plus ``overall`` and ``gap``."""
        data: dict[str, Any] = {self.feature: self.grid}
        for j, key in enumerate(self.groups):
            data[group_label(self.sensitive_names, key)] = self.values[:, j]
        data["overall"] = self.overall
        data["gap"] = self.gap
        import pandas as pd

        return pd.DataFrame(data)

    def _payload(self) -> dict[str, Any]:
        return {
            "kind": "partial_dependence_by_group",
            "feature": self.feature,
            "response": self.response,
            "grid": self.grid,
            "groups": [dict(zip(self.sensitive_names, key)) for key in self.groups],
            "values": self.values,
            "overall": self.overall,
            "n": self.n,
        }


def stratified_rows(codes: IntArray, n_groups: int, max_rows: int | None, seed: Any) -> IntArray:
    """Row indices: every row, or up to ``ceil(max_rows / G)`` rows of each group (sorted)."""
    if max_rows is None or codes.size <= max_rows:
        return np.arange(codes.size)
    per_group = math.ceil(max_rows / n_groups)
    rng = np.random.default_rng(seed)
    chosen = []
    for g in range(n_groups):
        rows = np.flatnonzero(codes == g)
        chosen.append(rows if rows.size <= per_group else rng.choice(rows, per_group, replace=False))
    return np.sort(np.concatenate(chosen))


def _check_max_rows(max_rows: Any) -> int | None:
    if max_rows is None:
        return None
    if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < 1:
        raise InvalidInputError(f"max_rows must be a positive integer or None (all rows); got {max_rows!r}")
    return int(max_rows)


def _grid(
    frame: FeatureFrame, feature: str, resolution: int, percentiles: tuple[float, float]
) -> tuple[list[Any], Any]:
    """Grid values and how to set them: ``("values", array)`` or ``("rows", row index per value)``."""
    values = frame.values(feature)
    if frame.is_numeric(feature):
        numbers = np.asarray(values, dtype=np.float64)
        finite = numbers[np.isfinite(numbers)]
        if finite.size == 0:
            raise InvalidInputError(f"feature {feature!r} has no finite values to build a grid from")
        distinct = np.unique(finite)
        if distinct.size <= resolution:
            grid = distinct
        else:
            low, high = np.quantile(finite, percentiles)
            grid = np.linspace(low, high, resolution)
            if frame.is_integer(feature):
                grid = np.unique(np.round(grid))
        if frame.is_integer(feature):
            grid = np.round(grid).astype(np.int64)
        return [python_scalar(v) for v in grid], ("values", grid)
    # categories (strings, booleans, categoricals): the most frequent ones, set by copying a row
    encoded = encode(Column(feature, values), f"feature {feature!r}")  # a feature, not a group: blanks allowed
    codes, categories = encoded.codes, encoded.categories
    counts = np.bincount(codes, minlength=len(categories))
    order = np.argsort(-counts, kind="stable")[:resolution]
    order = np.sort(order)  # keep the categories in their sorted order
    first_row = np.full(len(categories), -1, dtype=np.int64)
    first_row[codes[::-1]] = np.arange(codes.size - 1, -1, -1)
    return [categories[i] for i in order.tolist()], ("rows", first_row[order])


def partial_dependence_by_group(
    model: Any,
    X: Any,
    *,
    sensitive_features: SensitiveLike,
    feature: Any,
    grid_resolution: int = 20,
    percentiles: tuple[float, float] = (0.05, 0.95),
    response: str = "auto",
    max_rows: int | None = 5000,
    random_state: int | None = None,
) -> GroupPartialDependence:
    """Partial dependence of the model's output on one feature, computed within each group.

    For each grid value ``v`` the feature is set to ``v`` in every row and the model's output is
    averaged over the rows of each group. All grid values are predicted in stacked batches.

    Parameters
    ----------
    model : fitted model
        With ``predict_proba``, ``decision_function`` or ``predict``.
    X : dataframe or 2-D array
        The features, as the model takes them.
    sensitive_features : array-like, dataframe or column name(s) of X
        The groups.
    feature : str or int
        The feature to vary (a column name, or a position for numpy ``X``).
    grid_resolution : int, default=20
        Number of grid values for numeric features (between the ``percentiles`` of the feature;
        its distinct values when there are fewer); categorical features use their most frequent
        categories, up to this many.
    percentiles : (float, float), default=(0.05, 0.95)
        Range of the numeric grid.
    response : {"auto", "predict_proba", "decision_function", "predict"}
        Model output; ``"auto"`` takes the first available in that order.
    max_rows : int or None, default=5000
        Rows averaged over, sampled per group (every row when None or when X is smaller).
    random_state : int, optional
        Seed of the row sample.

    Returns
    -------
    GroupPartialDependence

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from fairwatch.explain import partial_dependence_by_group
    >>> class Model:
    ...     def predict(self, X):
    ...         return X["income"] * np.where(X["group"] == "a", 2.0, 1.0)
    >>> X = pd.DataFrame({"income": [1.0, 2.0, 3.0, 4.0], "group": ["a", "a", "b", "b"]})
    >>> pd_curves = partial_dependence_by_group(Model(), X, sensitive_features="group", feature="income")
    >>> pd_curves.to_frame()[["income", "group=a", "group=b"]].values.tolist()
    [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [3.0, 6.0, 3.0], [4.0, 8.0, 4.0]]
    """
    if isinstance(grid_resolution, bool) or not isinstance(grid_resolution, (int, np.integer)) or grid_resolution < 2:
        raise InvalidInputError(f"grid_resolution must be an integer of at least 2; got {grid_resolution!r}")
    low, high = percentiles
    if not 0.0 <= low < high <= 1.0:
        raise InvalidInputError(f"percentiles must be (low, high) with 0 <= low < high <= 1; got {percentiles!r}")
    rows_limit = _check_max_rows(max_rows)
    frame = FeatureFrame(X)
    name = frame.resolve(feature, "feature")
    sensitive = resolve_groups(sensitive_features, frame)
    caller = ModelCaller(model, sensitive)
    method = caller.response_name(response)
    codes, keys = encode_groups(sensitive)
    g = len(keys)
    sizes = np.bincount(codes, minlength=g)
    grid, (how, setting) = _grid(frame, name, int(grid_resolution), (float(low), float(high)))
    rows = stratified_rows(codes, g, rows_limit, random_state)
    sample = frame.rows(rows) if rows.size < frame.n_rows else frame
    m, k = rows.size, len(grid)
    tiles: dict[int, FeatureFrame] = {}

    def predict(start: int, stop: int) -> np.ndarray:
        copies = stop - start
        if copies not in tiles:
            tiles[copies] = sample.tiled(copies)
        if how == "values":
            X_set = tiles[copies].with_values(name, np.repeat(setting[start:stop], m))
        else:
            X_set = tiles[copies].with_gathered(name, frame, np.repeat(setting[start:stop], m))
        return caller.response(method, X_set, np.tile(rows, copies))

    outputs = stacked_calls(m, k, predict)  # (k, m)
    sample_codes = codes[rows]
    cell = (np.arange(k, dtype=np.int64)[:, None] * g + sample_codes[None, :]).ravel()
    sums = np.bincount(cell, weights=outputs.ravel(), minlength=k * g).reshape(k, g)
    counts = np.bincount(sample_codes, minlength=g).astype(np.float64)
    values = sums / counts[None, :]
    overall = values @ (sizes / sizes.sum())
    result = GroupPartialDependence(
        feature=name,
        grid=grid,
        values=values,
        overall=overall,
        groups=keys,
        sensitive_names=[c.name for c in sensitive],
        n=counts.astype(np.int64),
        n_rows=frame.n_rows,
        response=method,
    )
    return result.in_library_of(frame.frame, sensitive)
