"""Per-row what-if: change some features of one row and compare the model's answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fairwatch._audit_model import ModelScorer
from fairwatch.exceptions import InvalidInputError
from fairwatch.frames._encode import python_scalar
from fairwatch.probes._counterfactual import _json
from fairwatch.probes._rows import check_column, column_names, column_values, set_columns

__all__ = ["WhatIfResult", "what_if"]

_STATES = ("before", "after")


@dataclass
class WhatIfResult:
    """The model's answer for one row before and after some feature changes.

    Attributes
    ----------
    changes : dict
        ``{feature: (before, after)}``.
    states : dict
        ``{"before": {...}, "after": {...}}``, each with ``prediction`` (label), ``decision``
        (positive or not), ``score``, and with a post-processor: ``group``, ``group_rule`` (the
        group's thresholds) and ``post_processed_probability`` (of a positive decision).
    """

    changes: dict[Any, tuple[Any, Any]]
    states: dict[str, dict[str, Any]]
    decision: str
    model: str

    @property
    def title(self) -> str:
        shown = ", ".join(f"{k} {_text(a)} → {_text(b)}" for k, (a, b) in self.changes.items())
        return f"What if: {shown}"

    @property
    def decision_changed(self) -> bool:
        return bool(self.states["before"]["decision"] != self.states["after"]["decision"])

    @property
    def description(self) -> str:
        before, after = self.states["before"], self.states["after"]
        text = (
            f"The model ({self.model}, decision rule {self.decision}) predicts {_text(before['prediction'])} before "
            f"and {_text(after['prediction'])} after the change"
        )
        if before["score"] is not None and after["score"] is not None:
            text += f"; its score moves from {before['score']:.4g} to {after['score']:.4g}"
        text += ". The decision " + ("changes." if self.decision_changed else "does not change.")
        if before.get("group_rule") is not None:
            text += f" Group thresholds: {before['group_rule']} before, {after['group_rule']} after."
        return text

    def to_frame(self) -> pd.DataFrame:
        """One row per state (``before``, ``after``): changed features, prediction, score, ..."""
        rows = []
        for state in _STATES:
            row: dict[str, Any] = {"state": state}
            for key, pair in self.changes.items():
                row[str(key)] = pair[0] if state == "before" else pair[1]
            row.update({k: (str(v) if isinstance(v, dict) else v) for k, v in self.states[state].items()})
            rows.append(row)
        return pd.DataFrame(rows).set_index("state")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: title, description, the changes and both states."""
        return {
            "probe": "what_if",
            "title": self.title,
            "description": self.description,
            "model": self.model,
            "decision": self.decision,
            "decision_changed": self.decision_changed,
            "changes": [
                {"feature": _json(k), "before": _json(a), "after": _json(b)} for k, (a, b) in self.changes.items()
            ],
            "states": {state: {k: _json_value(v) for k, v in values.items()} for state, values in self.states.items()},
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return _json(value)


def _text(value: Any) -> str:
    value = python_scalar(value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _one_row(row: Any) -> Any:
    """One row as a one-row table of the same kind (dict and Series become a pandas DataFrame)."""
    if isinstance(row, Mapping):
        return pd.DataFrame({key: [value] for key, value in row.items()})
    if isinstance(row, pd.Series):
        return row.to_frame().T.infer_objects()
    if isinstance(row, (list, tuple)) or (isinstance(row, np.ndarray) and row.ndim == 1):
        return np.asarray(row)[None, :]
    shape = getattr(row, "shape", None)
    if shape is None or len(shape) != 2:
        raise InvalidInputError(
            f"row must be a dict, a pandas Series, a one-row dataframe or a 1-D array; got {type(row).__name__}"
        )
    if shape[0] != 1:
        raise InvalidInputError(f"row must hold exactly one row; got {shape[0]} rows (select one, e.g. X.iloc[[i]])")
    return row


def _group_of(row: Any, names: list[str], sensitive_features: Any, argument: str) -> dict[str, Any]:
    if sensitive_features is not None:
        if isinstance(sensitive_features, Mapping):
            return {str(k): python_scalar(v) for k, v in sensitive_features.items()}
        values = sensitive_features if isinstance(sensitive_features, (list, tuple)) else [sensitive_features]
        if len(values) != len(names):
            raise InvalidInputError(
                f"{argument} must give one value per sensitive feature the post-processor was fitted on ({names}); "
                f"got {sensitive_features!r}"
            )
        return {name: python_scalar(v) for name, v in zip(names, values)}
    available = column_names(row)
    missing = [n for n in names if n not in available]
    if missing:
        raise InvalidInputError(
            f"post_processor groups rows by {names}, but the row has no column {missing[0]!r}; pass "
            f"sensitive_features= with the row's group (e.g. sensitive_features={{'{names[0]}': ...}})"
        )
    return {name: python_scalar(column_values(row, name)[0]) for name in names}


def _post_processed(post_processor: Any, row: Any, group: dict[str, Any]) -> dict[str, Any]:
    groups = [tuple(g) for g in post_processor.groups_]
    key = tuple(group[n] for n in post_processor.sensitive_feature_names_)
    if key not in groups:
        raise InvalidInputError(
            f"group {group} was not seen when the post-processor was fitted (it knows {groups[:10]}); pick one of those"
        )
    out: dict[str, Any] = {"group": group, "group_rule": None, "post_processed_probability": None}
    index = groups.index(key)
    thresholds = getattr(post_processor, "thresholds_", None)
    probabilities = getattr(post_processor, "probabilities_", None)
    if thresholds is not None and probabilities is not None:
        flipped = getattr(post_processor, "flipped_", np.zeros_like(thresholds, dtype=bool))
        parts = [
            f"score {'<' if flipped[index, j] else '>'} {thresholds[index, j]:.4g} with p={probabilities[index, j]:.3g}"
            for j in range(thresholds.shape[1])
            if probabilities[index, j] > 0
        ]
        out["group_rule"] = " or ".join(parts) if parts else "never positive"
    pmf = getattr(post_processor, "_pmf_predict", None)
    if callable(pmf):
        sensitive = {name: [group[name]] for name in post_processor.sensitive_feature_names_}
        out["post_processed_probability"] = float(np.asarray(pmf(row, sensitive_features=sensitive))[0, 1])
    return out


def what_if(
    model: Any,
    row: Any,
    changes: Mapping[Any, Any],
    *,
    threshold: float | None = None,
    pos_label: Any = None,
    post_processor: Any = None,
    sensitive_features: Any = None,
) -> WhatIfResult:
    """Change features of one row and see the model's prediction and score before and after.

    Parameters
    ----------
    model : estimator, torch.nn.Module or callable
        Anything :func:`fairwatch.audit_model` accepts.
    row : dict, pandas Series, one-row dataframe or 1-D array
        The row as the model reads it.
    changes : dict
        ``{feature: new_value}`` (feature positions for an array row).
    threshold, pos_label
        As in :func:`fairwatch.audit_model`.
    post_processor : fitted ThresholdOptimizer-like, optional
        Adds the row's group, that group's decision thresholds and the post-processed probability
        of a positive decision, before and after (the group follows a change of a sensitive column).
    sensitive_features : value, tuple or dict, optional
        The row's group for ``post_processor`` when the row does not hold the sensitive columns.

    Returns
    -------
    WhatIfResult

    Raises
    ------
    UnknownColumnError
        When a changed feature is not a column of the row.
    InvalidInputError
        For an empty ``changes``, a row that is not one row, or a group the post-processor
        does not know.

    Examples
    --------
    >>> from fairwatch.probes import what_if
    >>> def model(rows):
    ...     return (rows["income"] / 10).clip(0, 1).to_numpy()
    >>> result = what_if(model, {"income": 4.0, "group": "a"}, {"income": 8.0})
    >>> result.states["before"]["score"], result.states["after"]["score"], result.decision_changed
    (0.4, 0.8, True)
    """
    if not isinstance(changes, Mapping) or not changes:
        raise InvalidInputError("changes must be a non-empty dict {feature: new_value}, e.g. {'age': 45}")
    table = _one_row(row)
    for key in changes:
        check_column(table, key, "changes", "what_if changes columns of the row.")
    changed = set_columns(table, dict(changes))
    scorer = ModelScorer(model, threshold=threshold, pos_label=pos_label, batch_size=1)
    states: dict[str, dict[str, Any]] = {}
    names = list(getattr(post_processor, "sensitive_feature_names_", []) or [])
    for state, features in zip(_STATES, (table, changed)):
        out = scorer.outputs(features)
        values: dict[str, Any] = {
            "prediction": python_scalar(out.labels[0]),
            "decision": bool(out.positive[0]),
            "score": None if out.scores is None else float(out.scores[0]),
        }
        if post_processor is not None:
            given = sensitive_features
            if given is not None and state == "after" and isinstance(given, Mapping):
                given = {k: changes.get(k, v) for k, v in given.items()}
            group = _group_of(features, names, given, "sensitive_features")
            values.update(_post_processed(post_processor, features, group))
        states[state] = values
    before_values = {key: python_scalar(column_values(table, key)[0]) for key in changes}
    return WhatIfResult(
        changes={key: (before_values[key], python_scalar(value)) for key, value in changes.items()},
        states=states,
        decision=scorer.decision_rule,
        model=scorer.describe(),
    )
