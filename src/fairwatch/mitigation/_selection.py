"""Model selection on the accuracy–fairness trade-off: Pareto fronts and comparison plots.

Every model is scored from the :class:`~fairwatch.metrics.GroupStats` of its predictions (one pass
over the rows), so the numbers are the ones :func:`fairwatch.audit` reports, with the same
confidence intervals when ``ci`` is given.
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from fairwatch._typing import ArrayLike, FloatArray, SensitiveLike
from fairwatch._version import __version__
from fairwatch.exceptions import InvalidInputError, MissingDependencyError, UnknownMetricError
from fairwatch.metrics import COMPOSITES, DEFAULT_MIN_GROUP_SIZE, Summary, get_metric, group_stats, summarize
from fairwatch.metrics._summary import resolve_disparity_name

__all__ = ["ModelComparison", "Objective", "ParetoFront", "compare_models", "pareto_front"]

Direction = Literal["max", "min"]
ObjectiveLike = str | tuple[str, str]

#: Overall metrics where a lower value is better (every other metric is maximised).
_LOWER_IS_BETTER = frozenset(
    {
        "error_rate",
        "false_positive_rate",
        "false_negative_rate",
        "false_discovery_rate",
        "false_omission_rate",
        "brier_score",
        "expected_calibration_error",
        "mean_absolute_error",
        "mean_squared_error",
        "root_mean_squared_error",
    }
)


@dataclass(frozen=True)
class Objective:
    """One axis of the trade-off.

    ``kind`` is ``"overall"`` (a metric over all rows), ``"difference"`` or ``"ratio"`` (a
    disparity between groups); ``target`` is the metric or disparity name; ``direction`` says
    whether larger (``"max"``) or smaller (``"min"``) values are better.
    """

    name: str
    kind: Literal["overall", "difference", "ratio"]
    target: str
    direction: Direction

    @property
    def metrics(self) -> tuple[str, ...]:
        """The per-group metrics the objective is computed from."""
        if self.kind == "overall":
            return (self.target,)
        return COMPOSITES.get(self.target, (self.target,))


def _objective(spec: ObjectiveLike) -> Objective:
    direction: str | None = None
    if isinstance(spec, tuple):
        if len(spec) != 2 or spec[1] not in ("max", "min"):
            raise InvalidInputError(
                f"an objective given as a tuple must be (name, 'max' or 'min'), e.g. ('f1', 'max'); got {spec!r}"
            )
        spec, direction = spec
    if not isinstance(spec, str):
        raise InvalidInputError(f"objectives must be names such as 'accuracy'; got {spec!r}")
    name = spec.strip().lower()
    for suffix, kind in (("_difference", "difference"), ("_ratio", "ratio")):
        if name.endswith(suffix):
            try:
                target = resolve_disparity_name(name[: -len(suffix)])
            except UnknownMetricError:
                raise UnknownMetricError(
                    f"unknown objective {spec!r}: {name[: -len(suffix)]!r} is neither a named disparity "
                    f"({', '.join(COMPOSITES)}) nor a metric; fairwatch.metrics.list_metrics() lists the metrics"
                ) from None
            default: Direction = "min" if kind == "difference" else "max"
            return Objective(name, kind, target, direction or default)  # type: ignore[arg-type]
    try:
        metric = get_metric(name)
    except UnknownMetricError as exc:
        raise UnknownMetricError(
            f"unknown objective {spec!r}: use a metric (e.g. 'accuracy', 'balanced_accuracy') or a disparity "
            f"ending in '_difference' or '_ratio' (e.g. 'demographic_parity_difference'). {exc}"
        ) from None
    default = "min" if metric.name in _LOWER_IS_BETTER else "max"
    return Objective(name, "overall", metric.name, direction or default)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Scoring:
    """What every model of one comparison is scored with."""

    X: Any
    y: ArrayLike
    sensitive_features: SensitiveLike
    sample_weight: ArrayLike | None
    pos_label: Any
    ci: float | None
    random_state: int | None
    min_group_size: int | None
    scores: Mapping[str, ArrayLike]


def _call(method: Any, X: Any, sensitive_features: SensitiveLike) -> np.ndarray:
    """``method(X)``, passing ``sensitive_features`` to group-aware models that take it."""
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        parameters = {}  # type: ignore[assignment]
    if "sensitive_features" in parameters:
        return np.asarray(method(X, sensitive_features=sensitive_features))
    return np.asarray(method(X))


def _named_models(models: Any) -> dict[str, Any]:
    if isinstance(models, Mapping):
        named = {str(name): model for name, model in models.items()}
    elif isinstance(models, Sequence) and not isinstance(models, str):
        named = {f"model_{i}": model for i, model in enumerate(models)}
    else:
        raise InvalidInputError(
            f"models must be a dict {{name: fitted model}} or a list of fitted models (e.g. "
            f"GridSearch(...).predictors_); got {type(models).__name__}"
        )
    if not named:
        raise InvalidInputError("models is empty; pass at least one fitted model")
    return named


def _score_one(
    name: str, model: Any, objectives: Sequence[Objective], how: _Scoring
) -> tuple[dict[str, float], Summary]:
    """One model's row of scores, and the summary its disparities come from."""
    metrics = sorted({m for objective in objectives for m in objective.metrics})
    specs = [get_metric(m) for m in metrics]
    has_predict = hasattr(model, "predict")
    predictions = _call(model.predict, how.X, how.sensitive_features) if has_predict else np.asarray(model)
    scores = None
    needs_scores = [spec.name for spec in specs if spec.block == "scores"]
    if needs_scores:
        wanted = f"objective{'s' if len(needs_scores) > 1 else ''} {', '.join(needs_scores)}"
        if name in how.scores:
            scores = how.scores[name]
        elif not has_predict:
            raise InvalidInputError(
                f"{wanted} need{'' if len(needs_scores) > 1 else 's'} scores, but model {name!r} is given as "
                f"predictions; pass its scores (--score {name}=COLUMN, or scores={{{name!r}: ...}} in Python)"
            )
        elif not hasattr(model, "predict_proba"):
            raise InvalidInputError(
                f"{wanted} need{'' if len(needs_scores) > 1 else 's'} scores, but the model {name!r} "
                f"({type(model).__name__}) has no predict_proba; pass its scores (scores={{{name!r}: ...}}), drop "
                f"those objectives or pass probabilistic models"
            )
        else:
            scores = _call(model.predict_proba, how.X, how.sensitive_features)[:, 1]
    stats = group_stats(
        how.y,
        predictions,
        sensitive_features=how.sensitive_features,
        scores=scores,
        sample_weight=how.sample_weight,
        metrics=metrics,
        pos_label=how.pos_label,
    )
    summary = summarize(
        stats, metrics, ci=how.ci, min_group_size=how.min_group_size, random_state=how.random_state, warn=False
    )
    overall = summarize(stats.overall(), metrics, ci=how.ci, random_state=how.random_state, warn=False)
    row: dict[str, float] = {}
    for objective in objectives:
        if objective.kind == "overall":
            value = float(overall.values[objective.target][0])
            lo, hi = float(overall.lo[objective.target][0]), float(overall.hi[objective.target][0])
        else:
            disparity = summary.disparities[objective.target]
            value = float(getattr(disparity, objective.kind))
            lo = float(getattr(disparity, f"{objective.kind}_lo"))
            hi = float(getattr(disparity, f"{objective.kind}_hi"))
        row[objective.name] = value
        if how.ci is not None:
            row[f"{objective.name}_lo"] = lo
            row[f"{objective.name}_hi"] = hi
    return row, summary


def _dominated(values: FloatArray, directions: Sequence[Direction]) -> np.ndarray:
    """``dominated[i]``: some other row is at least as good everywhere and better somewhere."""
    oriented = np.where(np.asarray(directions) == "max", values, -values)
    oriented = np.where(np.isnan(oriented), -np.inf, oriented)
    at_least = (oriented[:, None, :] >= oriented[None, :, :]).all(axis=2)  # [j, i]: j >= i everywhere
    better = (oriented[:, None, :] > oriented[None, :, :]).any(axis=2)
    return np.asarray((at_least & better).any(axis=0))


class ParetoFront:
    """The non-dominated models of a set and their scores (returned by :func:`pareto_front`).

    Attributes
    ----------
    objectives : tuple of Objective
        The axes, with their directions.
    models : dict
        ``{name: model}`` of the non-dominated models, best first on the first objective.
    scores : pandas.DataFrame
        One row per non-dominated model (index: name), one column per objective, plus
        ``<objective>_lo`` / ``<objective>_hi`` when ``ci`` was given.
    all_scores : pandas.DataFrame
        The same for every candidate, with a boolean ``dominated`` column.
    min_group_size : int
        Groups with fewer rows were left out of the disparities (of every model alike).
    suppressed : dict
        ``{group label: rows}`` of those groups.
    suppressed_share : float
        The share of the rows they hold.
    """

    def __init__(
        self,
        objectives: tuple[Objective, ...],
        models: dict[str, Any],
        all_scores: pd.DataFrame,
        summary: Summary | None = None,
    ) -> None:
        self.objectives = objectives
        self.all_scores = all_scores
        self.min_group_size = 0 if summary is None else summary.min_group_size
        self.suppressed: dict[str, int] = {}
        self.suppressed_share = 0.0
        if summary is not None:
            stats = summary.stats
            self.suppressed = {
                stats.group_label(g): int(stats.n[g]) for g in np.flatnonzero(summary.suppressed).tolist()
            }
            self.suppressed_share = summary.suppressed_share
        first = objectives[0]
        front = all_scores[~all_scores["dominated"]].drop(columns="dominated")
        front = front.sort_values(first.name, ascending=first.direction == "min", kind="stable")
        self.scores = front
        self.models = {name: models[name] for name in front.index}

    @property
    def names(self) -> list[str]:
        return list(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Iterator[str]:
        return iter(self.models)

    def __getitem__(self, name: str) -> Any:
        return self.models[name]

    def __repr__(self) -> str:
        axes = ", ".join(f"{o.name} ({o.direction})" for o in self.objectives)
        return f"ParetoFront({len(self)} of {len(self.all_scores)} models on {axes})"


def pareto_front(
    models: Mapping[str, Any] | Sequence[Any],
    X: Any,
    y: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    objectives: Sequence[ObjectiveLike] = ("accuracy", "demographic_parity_difference"),
    ci: float | None = None,
    sample_weight: ArrayLike | None = None,
    pos_label: Any = None,
    random_state: int | None = 0,
    min_group_size: int | None = DEFAULT_MIN_GROUP_SIZE,
    scores: Mapping[str, ArrayLike] | None = None,
) -> ParetoFront:
    """The models no other model beats on every objective (the Pareto front), with their scores.

    A model is dominated when another one is at least as good on every objective and strictly
    better on one. Ties are kept (identical scores are both on the front).

    Parameters
    ----------
    models : dict or list
        Fitted models (``{name: model}`` or a list, named ``model_0``, ``model_1``...), e.g.
        ``GridSearch(...).fit(...).predictors_``. A model may also be an array of predictions.
        Models whose ``predict`` takes ``sensitive_features`` (group-aware post-processing) get it.
    X : array-like or dataframe
        Evaluation features (use held-out data).
    y : array-like
        True labels.
    sensitive_features : array-like, dataframe or dict of columns
        The groups of the disparities; several columns form intersectional groups.
    objectives : sequence of str or (str, "max"/"min")
        Metrics over all rows (``"accuracy"``, ``"balanced_accuracy"``, ``"roc_auc"``...; error-like
        metrics are minimised) and disparities (``"<disparity>_difference"``, minimised, or
        ``"<disparity>_ratio"``, maximised, for ``demographic_parity``, ``equalized_odds``,
        ``equal_opportunity``, ``error_rate_parity`` or any metric name).
    ci : float, optional
        Confidence level (e.g. 0.95) of intervals reported next to every score. Dominance is
        decided on the point values.
    sample_weight : array-like, optional
        Row weights.
    pos_label : object, optional
        The positive label (inferred for 0/1 and boolean labels).
    random_state : int, optional
        Seed of bootstrap intervals.
    min_group_size : int or None, default=30 (:data:`fairwatch.DEFAULT_MIN_GROUP_SIZE`)
        Groups with fewer rows are left out of the disparity objectives, as in
        :func:`fairwatch.audit` (``0`` or ``None`` compares groups of any size). The groups and
        the share of rows they hold are in ``suppressed`` and ``suppressed_share``.
    scores : dict, optional
        ``{name: scores}``: the positive-class scores of models given as predictions, for score
        objectives such as ``"roc_auc"`` (a fitted model's come from its ``predict_proba``, unless
        given here).

    Returns
    -------
    ParetoFront

    Examples
    --------
    >>> import numpy as np
    >>> from fairwatch.mitigation import pareto_front
    >>> y = np.tile([1, 0], 40)
    >>> group = np.repeat(["a", "b"], 40)                    # 40 rows per group
    >>> candidates = {
    ...     "accurate": y.copy(),                             # accuracy 1.0, parity gap 0.0
    ...     "all_positive": np.ones(80, dtype=int),           # accuracy 0.5, parity gap 0.0
    ...     "unfair": np.repeat([1, 0], 40),                  # accuracy 0.5, parity gap 1.0
    ... }
    >>> front = pareto_front(candidates, None, y, sensitive_features=group)
    >>> front.names
    ['accurate']
    >>> float(front.scores.loc["accurate", "accuracy"])
    1.0
    """
    how = _Scoring(X, y, sensitive_features, sample_weight, pos_label, ci, random_state, min_group_size, scores or {})
    return _scored(models, objectives, how)


def _scored(models: Any, objectives: Sequence[ObjectiveLike], how: _Scoring) -> ParetoFront:
    if isinstance(objectives, str) or not objectives:
        raise InvalidInputError(
            f"objectives must be a non-empty list such as ['accuracy', 'demographic_parity_difference']; "
            f"got {objectives!r}"
        )
    parsed = tuple(_objective(o) for o in objectives)
    names = [o.name for o in parsed]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"objectives must be distinct; got {names}")
    named = _named_models(models)
    rows: dict[str, dict[str, float]] = {}
    summary: Summary | None = None
    unknown = [name for name in how.scores if name not in named]
    if unknown:
        raise InvalidInputError(
            f"scores names model {unknown[0]!r}, which is not among the models "
            f"({', '.join(map(repr, named))}); key scores by the models' names"
        )
    for name, model in named.items():
        rows[name], summary = _score_one(name, model, parsed, how)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    values = table[names].to_numpy(dtype=np.float64)
    table["dominated"] = _dominated(values, [o.direction for o in parsed])
    return ParetoFront(parsed, named, table, summary)


@dataclass
class ModelComparison:
    """Scores of several models on the trade-off (returned by :func:`compare_models`).

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy: one row per model and objective — ``model``, ``objective``, ``direction``,
        ``value``, ``lo``, ``hi`` (``NaN`` without ``ci``) and ``on_front``.
    front : ParetoFront
        The non-dominated models.
    title : str
        Title of the figure and of the HTML page.
    ci : float or None
        The confidence level of the intervals (None: no intervals).
    """

    table: pd.DataFrame
    front: ParetoFront
    title: str
    ci: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-serialisable values: objectives, each model's scores (with intervals
        when ``ci`` was given) and whether it is on the front, the front in order, and the groups
        left out of the disparities."""

        def num(value: Any) -> float | None:
            number = float(value)
            return number if np.isfinite(number) else None

        models = []
        for name, rows in self.table.groupby("model", sort=False):
            models.append(
                {
                    "model": str(name),
                    "on_front": bool(rows["on_front"].iloc[0]),
                    "scores": {
                        str(r.objective): {"value": num(r.value), "lo": num(r.lo), "hi": num(r.hi)}
                        for r in rows.itertuples(index=False)
                    },
                }
            )
        return {
            "fairwatch_version": __version__,
            "title": self.title,
            "objectives": [
                {"name": o.name, "kind": o.kind, "target": o.target, "direction": o.direction}
                for o in self.front.objectives
            ],
            "ci": self.ci,
            "min_group_size": self.front.min_group_size,
            "suppressed_groups": dict(self.front.suppressed),
            "suppressed_share": self.front.suppressed_share,
            "models": models,
            "front": list(self.front.names),
        }

    @property
    def figure(self) -> Any:
        """A plotly figure: the first objective against the second, the front highlighted.

        Raises
        ------
        fairwatch.exceptions.MissingDependencyError
            When plotly is not installed (``pip install 'fairwatch[report]'``).
        """
        return _figure(self)

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML page with the figure and the score table.

        plotly.js is inlined (no CDN, no network access when the page is opened). When ``path``
        is given the page is also written there.
        """
        figure = self.figure.to_html(full_html=False, include_plotlyjs=True, include_mathjax=False)
        scores = self.front.all_scores.reset_index().to_html(index=False, float_format=lambda v: f"{v:.4f}")
        page = (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title></head><body>"
            f"<h1>{html.escape(self.title)}</h1>{figure}<h2>Scores</h2>{scores}</body></html>\n"
        )
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page


def compare_models(
    models: Mapping[str, Any] | Sequence[Any],
    X: Any,
    y: ArrayLike,
    *,
    sensitive_features: SensitiveLike,
    objectives: Sequence[ObjectiveLike] = ("accuracy", "demographic_parity_difference"),
    ci: float | None = None,
    sample_weight: ArrayLike | None = None,
    pos_label: Any = None,
    random_state: int | None = 0,
    title: str = "Accuracy–fairness trade-off",
    min_group_size: int | None = DEFAULT_MIN_GROUP_SIZE,
    scores: Mapping[str, ArrayLike] | None = None,
) -> ModelComparison:
    """Score models on the trade-off: a tidy table, the Pareto front and a plotly figure.

    Parameters
    ----------
    models, X, y, sensitive_features, objectives, ci, sample_weight, pos_label, random_state, min_group_size, scores
        As for :func:`pareto_front` (groups under ``min_group_size`` rows, 30 by default, are left
        out of the disparities; ``scores`` gives the scores of models given as predictions).
    title : str
        Title of the figure and the HTML page.

    Returns
    -------
    ModelComparison
        ``.table`` (tidy), ``.front``, ``.figure`` (plotly, needs ``fairwatch[report]``) and
        ``.to_html(path)`` (self-contained, plotly.js inlined).

    Examples
    --------
    >>> import numpy as np
    >>> from fairwatch.mitigation import compare_models
    >>> y = np.tile([1, 0], 40)
    >>> group = np.repeat(["a", "b"], 40)
    >>> comparison = compare_models(
    ...     {"accurate": y.copy(), "unfair": np.repeat([1, 0], 40)}, None, y, sensitive_features=group
    ... )
    >>> comparison.front.names
    ['accurate']
    >>> comparison.table[comparison.table["model"] == "unfair"][["objective", "value", "on_front"]]
                           objective  value  on_front
    2                       accuracy    0.5     False
    3  demographic_parity_difference    1.0     False
    """
    how = _Scoring(X, y, sensitive_features, sample_weight, pos_label, ci, random_state, min_group_size, scores or {})
    front = _scored(models, objectives, how)
    table = front.all_scores
    records = []
    for name, row in table.iterrows():
        for objective in front.objectives:
            records.append(
                {
                    "model": name,
                    "objective": objective.name,
                    "direction": objective.direction,
                    "value": float(row[objective.name]),
                    "lo": float(row.get(f"{objective.name}_lo", np.nan)),
                    "hi": float(row.get(f"{objective.name}_hi", np.nan)),
                    "on_front": not bool(row["dominated"]),
                }
            )
    return ModelComparison(pd.DataFrame.from_records(records), front, title, ci)


def _axis_title(objective: Objective) -> str:
    better = "higher" if objective.direction == "max" else "lower"
    return f"{objective.name} ({better} is better)"


def _figure(comparison: ModelComparison) -> Any:
    try:
        import plotly.graph_objects as go  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError(
            "compare_models(...).figure needs plotly: pip install 'fairwatch[report]'"
        ) from None
    front = comparison.front
    objectives = front.objectives
    y_axis = objectives[0]
    x_axis = objectives[1] if len(objectives) > 1 else objectives[0]
    scores = front.all_scores
    has_ci = f"{y_axis.name}_lo" in scores.columns
    figure = go.Figure()
    for on_front, name, color in ((False, "dominated", "#9aa5b1"), (True, "Pareto front", "#1f6feb")):
        subset = scores[scores["dominated"] != on_front]
        if on_front:
            subset = subset.sort_values(x_axis.name, kind="stable")
        kwargs: dict[str, Any] = {}
        if has_ci:
            kwargs["error_y"] = _error_bars(subset, y_axis)
            kwargs["error_x"] = _error_bars(subset, x_axis)
        figure.add_trace(
            go.Scatter(
                x=subset[x_axis.name],
                y=subset[y_axis.name],
                mode="lines+markers" if on_front else "markers",
                name=name,
                text=list(subset.index),
                marker={"color": color, "size": 9 if on_front else 7},
                line={"color": color, "shape": "hv"} if on_front else None,
                hovertemplate=f"%{{text}}<br>{x_axis.name}=%{{x:.4f}}<br>{y_axis.name}=%{{y:.4f}}<extra></extra>",
                **kwargs,
            )
        )
    figure.update_layout(
        title=comparison.title,
        xaxis_title=_axis_title(x_axis),
        yaxis_title=_axis_title(y_axis),
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def _error_bars(subset: pd.DataFrame, objective: Objective) -> dict[str, Any]:
    value = subset[objective.name].to_numpy(dtype=np.float64)
    lo = subset[f"{objective.name}_lo"].to_numpy(dtype=np.float64)
    hi = subset[f"{objective.name}_hi"].to_numpy(dtype=np.float64)
    return {
        "type": "data",
        "symmetric": False,
        "array": np.nan_to_num(hi - value).tolist(),
        "arrayminus": np.nan_to_num(value - lo).tolist(),
        "thickness": 1,
    }
