"""From user inputs (rows) to validated, encoded arrays and GroupStats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np

from fairwatch._typing import ArrayLike, FloatArray, FrameLike, IntArray, SensitiveLike
from fairwatch.exceptions import InvalidInputError, LabelError
from fairwatch.frames._columns import (
    Column,
    as_frame,
    check_lengths,
    resolve_column,
    resolve_sensitive,
    to_float,
)
from fairwatch.frames._encode import encode, encode_groups_unsorted, group_order
from fairwatch.metrics._group_stats import GroupStats, compute_group_stats
from fairwatch.metrics._registry import Metric

__all__ = [
    "CLASSIFICATION_DEFAULTS",
    "REGRESSION_DEFAULTS",
    "SCORE_DEFAULTS",
    "Inputs",
    "binary_labels",
    "default_metrics",
    "read_inputs",
]

CLASSIFICATION_DEFAULTS = (
    "count",
    "selection_rate",
    "accuracy",
    "balanced_accuracy",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "precision",
    "f1",
)
SCORE_DEFAULTS = ("roc_auc", "brier_score", "expected_calibration_error")
REGRESSION_DEFAULTS = (
    "count",
    "mean_prediction",
    "mean_label",
    "mean_absolute_error",
    "root_mean_squared_error",
    "mean_error",
)
_PROBABILITY_METRICS = {"brier_score", "expected_calibration_error"}


@dataclass
class Inputs:
    """Resolved columns of one call, before encoding."""

    y_true: Column | None
    y_pred: Column | None
    scores: Column | None
    sample_weight: Column | None
    sensitive: list[Column]
    frame: nw.DataFrame[Any] | None
    n_rows: int


def read_inputs(
    y_true: ArrayLike | None,
    y_pred: ArrayLike | None,
    *,
    sensitive_features: SensitiveLike,
    scores: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    data: FrameLike | None = None,
) -> Inputs:
    """Resolve every argument to a column (column names are looked up in ``data``)."""
    wanted = [x for x in (y_true, y_pred, scores, sample_weight) if isinstance(x, str)]
    if isinstance(sensitive_features, str):
        wanted.append(sensitive_features)
    elif isinstance(sensitive_features, (list, tuple)):
        wanted.extend(x for x in sensitive_features if isinstance(x, str))
    frame = as_frame(data, wanted if wanted else None)
    columns = {
        "y_true": resolve_column(y_true, "y_true", frame),
        "y_pred": resolve_column(y_pred, "y_pred", frame),
        "scores": resolve_column(scores, "scores", frame),
        "sample_weight": resolve_column(sample_weight, "sample_weight", frame),
    }
    sensitive = resolve_sensitive(sensitive_features, frame)
    lengths: dict[str, Column | None] = dict(columns)
    for col in sensitive:
        lengths[f"sensitive feature {col.name!r}"] = col
    n_rows = check_lengths(lengths)
    names = [c.name for c in sensitive]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"sensitive feature names must be unique; got {names}")
    return Inputs(
        y_true=columns["y_true"],
        y_pred=columns["y_pred"],
        scores=columns["scores"],
        sample_weight=columns["sample_weight"],
        sensitive=sensitive,
        frame=frame,
        n_rows=n_rows,
    )


def _preview(values: Sequence[Any], limit: int = 6) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


def check_binary_labels(label_sets: Sequence[tuple[str, int, Sequence[Any]]], pos_label: Any = None) -> Any:
    """Check label columns hold at most two labels in all; return the positive label.

    ``label_sets`` holds, per label argument, its name, its number of distinct values and its
    sorted distinct values (the first seven are enough when there are more than two).
    """
    labels: list[Any] = []
    for _, _, values in label_sets:
        for c in values:
            if c not in labels:
                labels.append(c)
    for arg, count, values in label_sets:
        if count > 2:
            raise LabelError(
                f"binary metrics need two classes, but {arg} has {count} distinct values "
                f"{_preview(values)}; pass 0/1 predictions (threshold the scores), or use "
                f"regression metrics such as 'mean_absolute_error'"
            )
    if len(labels) > 2:
        raise LabelError(
            f"y_true and y_pred together hold {len(labels)} labels {_preview(labels)}; binary metrics "
            f"need the same two classes in both"
        )
    if pos_label is None:
        return _infer_pos_label(labels)
    if len(labels) == 2 and pos_label not in labels:
        raise LabelError(f"pos_label={pos_label!r} is not one of the labels {_preview(labels)}")
    return pos_label


def binary_labels(columns: Sequence[tuple[str, Column]], pos_label: Any = None) -> tuple[list[IntArray], Any]:
    """0/1 codes (1 = ``pos_label``) for label columns that together hold at most two labels."""
    encoded = [(arg, encode(col, arg)) for arg, col in columns]
    pos_label = check_binary_labels([(arg, len(enc.categories), enc.categories) for arg, enc in encoded], pos_label)
    codes: list[IntArray] = []
    for _, enc in encoded:
        lut = np.asarray([c == pos_label for c in enc.categories], dtype=np.int64)
        if lut.size == 2 and lut[0] == 0 and lut[1] == 1:  # codes already are 0/1: no copy
            codes.append(enc.codes)
        else:
            codes.append(lut[enc.codes] if lut.size else enc.codes)
    return codes, pos_label


def _infer_pos_label(labels: list[Any]) -> Any:
    if all(isinstance(v, (bool, np.bool_)) for v in labels):
        return True
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) for v in labels)
    if numeric and set(labels) <= {0, 1}:
        return 1
    if numeric and set(labels) <= {-1, 1}:
        return 1
    raise LabelError(
        f"cannot tell which label is positive among {_preview(labels)}; pass pos_label= (e.g. pos_label={labels[-1]!r})"
    )


def default_metrics(inputs: Inputs) -> tuple[str, ...]:
    """The metrics audited when none are named: by task (binary or regression) and scores."""
    if inputs.y_pred is None:
        if inputs.scores is None:
            raise InvalidInputError("pass y_pred (predictions) and/or scores= to audit a model")
        return ("count",) + SCORE_DEFAULTS
    label_columns = [(a, c) for a, c in (("y_true", inputs.y_true), ("y_pred", inputs.y_pred)) if c is not None]
    distinct: set[Any] = set()
    for arg, column in label_columns:
        distinct.update(encode(column, arg).categories)
    if len(distinct) > 2 and all(c.is_numeric() for _, c in label_columns):
        return REGRESSION_DEFAULTS
    return CLASSIFICATION_DEFAULTS + (SCORE_DEFAULTS if inputs.scores is not None else ())


def _check_weights(column: Column) -> FloatArray:
    weights = to_float(column, "sample_weight", hint="give every row a weight")
    if not np.all(np.isfinite(weights)) or (weights < 0).any():
        bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
        raise InvalidInputError(
            f"sample_weight must be finite and non-negative; row {int(bad[0])} has {float(weights[bad[0]])!r}"
        )
    return weights


def _check_scores(column: Column, specs: Sequence[Metric]) -> FloatArray:
    values = to_float(column, "scores", hint="every row needs a score")
    if not np.all(np.isfinite(values)):
        raise InvalidInputError("scores must be finite numbers; found inf")
    needs_probability = [m.name for m in specs if m.name in _PROBABILITY_METRICS]
    if needs_probability and (values.min() < 0.0 or values.max() > 1.0):
        raise InvalidInputError(
            f"{', '.join(needs_probability)} need scores that are probabilities in [0, 1]; got scores in "
            f"[{values.min():g}, {values.max():g}]. Pass predict_proba(...)[:, 1], or drop those metrics"
        )
    return values


def group_stats_from_inputs(
    inputs: Inputs,
    specs: Sequence[Metric],
    *,
    pos_label: Any = None,
    score_bins: Any = "auto",
) -> GroupStats:
    """GroupStats holding the blocks ``specs`` need."""
    blocks = {m.block for m in specs}
    # groups are numbered in order of appearance; the few group rows are sorted after aggregation
    group_codes, groups = encode_groups_unsorted(inputs.sensitive)
    names = [c.name for c in inputs.sensitive]
    weights = None if inputs.sample_weight is None else _check_weights(inputs.sample_weight)
    y_true01 = y_pred01 = None
    y_true_f = y_pred_f = None
    score_values = None
    if "confusion" in blocks or "scores" in blocks:
        if inputs.y_true is None:
            raise InvalidInputError(f"{_names(specs, ('confusion', 'scores'))} need y_true")
        label_columns = [("y_true", inputs.y_true)]
        if "confusion" in blocks:
            if inputs.y_pred is None:
                raise InvalidInputError(f"{_names(specs, ('confusion',))} need y_pred")
            label_columns.append(("y_pred", inputs.y_pred))
        codes, pos_label = binary_labels(label_columns, pos_label)
        y_true01 = codes[0]
        y_pred01 = codes[1] if len(codes) > 1 else None
    if "scores" in blocks:
        if inputs.scores is None:
            raise InvalidInputError(f"{_names(specs, ('scores',))} need scores= (e.g. predict_proba(X)[:, 1])")
        score_values = _check_scores(inputs.scores, specs)
    if "regression" in blocks:
        if inputs.y_true is None or inputs.y_pred is None:
            raise InvalidInputError(f"{_names(specs, ('regression',))} need y_true and y_pred")
        y_true_f = to_float(inputs.y_true, "y_true", hint="drop rows without a label")
        y_pred_f = to_float(inputs.y_pred, "y_pred", hint="drop rows without a prediction")
    stats = compute_group_stats(
        group_codes,
        groups,
        names,
        y_true=y_true01,
        y_pred=y_pred01,
        scores=score_values,
        score_bins=score_bins,
        y_true_values=y_true_f,
        y_pred_values=y_pred_f,
        sample_weight=weights,
        pos_label=1 if pos_label is None else pos_label,
    )
    order = group_order(groups)
    return stats if order == list(range(len(groups))) else stats.take(order)


def _names(specs: Sequence[Metric], blocks: tuple[str, ...]) -> str:
    return ", ".join(m.name for m in specs if m.block in blocks)
