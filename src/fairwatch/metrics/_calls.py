"""GroupStats from a call's arguments: aggregated in the engine of a lazy frame (``_engines``), with
numpy otherwise (``_inputs``). Kept apart from both, so neither imports the other."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw

from fairwatch._typing import ArrayLike, FrameLike, SensitiveLike
from fairwatch.frames._columns import table_backend
from fairwatch.metrics._engines import engine_group_stats, named_columns, result_backend, route
from fairwatch.metrics._group_stats import GroupStats
from fairwatch.metrics._inputs import default_metrics, group_stats_from_inputs, read_inputs
from fairwatch.metrics._registry import Metric, get_metric

__all__ = ["group_stats", "stats_for_call"]


def group_stats(
    y_true: ArrayLike | None,
    y_pred: ArrayLike | None = None,
    *,
    sensitive_features: SensitiveLike,
    scores: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    metrics: Sequence[str] | None = None,
    pos_label: Any = None,
    score_bins: Any = "auto",
    data: FrameLike | None = None,
    engine: str | None = None,
) -> GroupStats:
    """Compute :class:`GroupStats` (the per-group sufficient statistics) from rows.

    Parameters
    ----------
    y_true, y_pred : array-like or column name
        True labels and predictions (binary labels, or numbers for regression).
    sensitive_features : array-like, dataframe, dict or column name(s)
        One or several sensitive columns; groups are their intersections.
    scores : array-like or column name, optional
        Scores or probabilities of the positive class (adds score histograms).
    sample_weight : array-like or column name, optional
        Non-negative row weights.
    metrics : list of str, optional
        Metrics the statistics must support; decides which blocks are computed. By default the
        classification blocks (or regression, for non-binary numeric predictions).
    pos_label : object, optional
        The positive label; inferred for 0/1, -1/1 and boolean labels.
    score_bins : "auto", int or array of edges
        Score histogram bins. ``"auto"`` bins at the distinct score values when that stays small
        (exact ROC-AUC), else 1,000 uniform bins. Use an integer for statistics that must merge
        with statistics of other batches.
    data : dataframe, optional
        When given, the other arguments may be column names of it. A lazy frame (Polars
        ``LazyFrame``, DuckDB relation, PySpark ``DataFrame``) is aggregated in its engine; the
        other arguments must then be column names.
    engine : {None, "numpy", "polars", "duckdb", "spark"}
        Where the rows are aggregated. ``None``: lazy frames in their engine, everything else
        with numpy; ``"numpy"`` collects a lazy frame (its named columns) first; ``"polars"`` /
        ``"duckdb"`` aggregate ``data`` in that engine; ``"spark"`` needs a PySpark DataFrame.

    Returns
    -------
    GroupStats

    Examples
    --------
    >>> import fairwatch as fw
    >>> stats = fw.metrics.group_stats([1, 0, 1, 1], [1, 0, 0, 1], sensitive_features=["a", "a", "b", "b"])
    >>> stats.groups
    (('a',), ('b',))
    >>> stats.confusion[1].tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """
    stats, _, _ = stats_for_call(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        scores=scores,
        sample_weight=sample_weight,
        metrics=metrics,
        pos_label=pos_label,
        score_bins=score_bins,
        data=data,
        engine=engine,
    )
    return stats


def stats_for_call(
    y_true: ArrayLike | None,
    y_pred: ArrayLike | None,
    *,
    sensitive_features: SensitiveLike,
    scores: ArrayLike | None,
    sample_weight: ArrayLike | None,
    metrics: Sequence[str] | None,
    pos_label: Any,
    score_bins: Any,
    data: FrameLike | None,
    engine: str | None,
) -> tuple[GroupStats, list[Metric], nw.Implementation]:
    """GroupStats, metric specs and the table backend of one call: in-engine for lazy frames,
    numpy otherwise. Shared by :func:`group_stats` and :func:`fairwatch.audit`."""
    columns = named_columns(y_true, y_pred, scores, sample_weight, sensitive_features=sensitive_features)
    lazy, eager_data = route(data, engine, columns)
    if lazy is not None:
        stats, specs = engine_group_stats(
            lazy,
            y_true,
            y_pred,
            sensitive_features=sensitive_features,
            scores=scores,
            sample_weight=sample_weight,
            metrics=metrics,
            pos_label=pos_label,
            score_bins=score_bins,
        )
        return stats, list(specs), result_backend(data)
    inputs = read_inputs(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        scores=scores,
        sample_weight=sample_weight,
        data=eager_data,
    )
    names = tuple(metrics) if metrics is not None else default_metrics(inputs)
    specs = [get_metric(m) for m in names]
    stats = group_stats_from_inputs(inputs, specs, pos_label=pos_label, score_bins=score_bins)
    inferred = table_backend(None, [inputs.y_true, inputs.y_pred, *inputs.sensitive])
    return stats, specs, inferred if data is None else result_backend(data)
