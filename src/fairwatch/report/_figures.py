"""Plotly figure specifications (plain dicts, drawn by the inlined plotly.js) built from GroupStats.

Nothing here touches rows: bars come from the audit's summary, ROC and calibration curves from the
per-group score histograms. The figures are JSON, so building them needs no plotly import.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from fairwatch._typing import FloatArray
from fairwatch.metrics import GroupStats, calibration_table

if TYPE_CHECKING:  # the report is drawn for an Audit, which imports the report for to_html
    from fairwatch._audit import Audit

__all__ = ["bar_figures", "calibration_figure", "roc_curves", "roc_figure"]

#: Most points drawn per ROC curve (distinct-score histograms can have thousands of bins).
MAX_CURVE_POINTS = 400
_FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}},
        "font": _FONT,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "height": 320,
        **extra,
    }


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def bar_figures(audit: Audit) -> list[dict[str, Any]]:
    """One bar chart per metric: the value of every reported group with its interval as error bars."""
    summary, stats = audit.summary, audit.stats
    shown = [g for g in range(stats.n_groups) if not summary.suppressed[g]]
    labels = [_short_label(stats, g) for g in shown]
    figures = []
    for spec in summary.metrics:
        if spec.name == "count":
            continue
        values = [_finite(summary.values[spec.name][g]) for g in shown]
        lo = [_finite(summary.lo[spec.name][g]) for g in shown]
        hi = [_finite(summary.hi[spec.name][g]) for g in shown]
        trace: dict[str, Any] = {
            "type": "bar",
            "x": labels,
            "y": values,
            "marker": {"color": "#4c72b0"},
            "hovertemplate": "%{x}<br>%{y:.3f}<extra></extra>",
        }
        if summary.ci is not None:
            plus = [None if v is None or h is None else h - v for v, h in zip(values, hi)]
            minus = [None if v is None or low is None else v - low for v, low in zip(values, lo)]
            trace["error_y"] = {"type": "data", "array": plus, "arrayminus": minus, "visible": True, "color": "#222"}
        overall = _finite(summary.overall.get(spec.name, math.nan))
        shapes = []
        if overall is not None:
            shapes.append(
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": overall,
                    "y1": overall,
                    "line": {"dash": "dot", "color": "#c44e52", "width": 1.5},
                }
            )
        title = spec.name.replace("_", " ")
        figures.append(
            {
                "id": f"bar-{spec.name}",
                "data": [trace],
                "layout": _layout(title, shapes=shapes, xaxis={"automargin": True}, yaxis={"rangemode": "tozero"}),
            }
        )
    return figures


def _short_label(stats: GroupStats, g: int) -> str:
    """``"Female, Black"``: the feature names are in the section text, values are enough on an axis.

    plotly.js reads tags such as ``<a href>`` or ``<b>`` in labels; group names are user data, so
    they are entity-escaped and shown as typed.
    """
    text = ", ".join(str(v) for v in stats.groups[g])
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _thin(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    if x.size <= MAX_CURVE_POINTS:
        return x, y
    keep = np.unique(np.linspace(0, x.size - 1, MAX_CURVE_POINTS).round().astype(np.int64))
    return x[keep], y[keep]


def roc_curves(stats: GroupStats) -> dict[int, tuple[FloatArray, FloatArray]]:
    """False and true positive rates per group at every histogram threshold (from high to low).

    Groups with no positive or no negative row have no curve. Scores in one bin are tied, so with
    ``score_bins="auto"`` (one bin per distinct score) the curve is the exact empirical ROC curve.
    """
    if stats.scores is None:
        return {}
    neg, pos = stats.scores.w[:, 0, :], stats.scores.w[:, 1, :]
    curves: dict[int, tuple[FloatArray, FloatArray]] = {}
    for g in range(stats.n_groups):
        n_neg, n_pos = neg[g].sum(), pos[g].sum()
        if n_neg <= 0 or n_pos <= 0:
            continue
        filled = (neg[g] + pos[g]) > 0  # bins are shared by all groups; skip those this group leaves empty
        fpr = np.concatenate([[0.0], np.cumsum(neg[g][filled][::-1]) / n_neg])
        tpr = np.concatenate([[0.0], np.cumsum(pos[g][filled][::-1]) / n_pos])
        curves[g] = (fpr, tpr)
    return curves


def roc_figure(audit: Audit) -> dict[str, Any] | None:
    """ROC curve per reported group (needs scores)."""
    stats = audit.stats
    curves = roc_curves(stats)
    traces: list[dict[str, Any]] = []
    for g, (fpr, tpr) in curves.items():
        if audit.summary.suppressed[g]:
            continue
        x, y = _thin(fpr, tpr)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": _short_label(stats, g),
                "x": x.round(5).tolist(),
                "y": y.round(5).tolist(),
                "line": {"shape": "linear", "width": 2},
            }
        )
    if not traces:
        return None
    traces.append(_diagonal("chance"))
    layout = _layout(
        "ROC curve by group",
        height=420,
        xaxis={"title": {"text": "false positive rate"}, "range": [0, 1]},
        yaxis={"title": {"text": "true positive rate"}, "range": [0, 1]},
    )
    return {"id": "roc", "data": traces, "layout": layout}


def _diagonal(name: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": [0, 1],
        "y": [0, 1],
        "line": {"dash": "dash", "color": "#999", "width": 1},
        "hoverinfo": "skip",
    }


def calibration_figure(audit: Audit) -> dict[str, Any] | None:
    """Observed positive rate against mean score in ten score bins, per reported group."""
    stats = audit.stats
    if stats.scores is None:
        return None
    edges = stats.scores.edges
    if edges[0] < 0.0 or edges[-1] > 1.0:  # not probabilities: calibration is not defined
        return None
    table = calibration_table(stats)
    traces: list[dict[str, Any]] = []
    for g in range(stats.n_groups):
        if audit.summary.suppressed[g]:
            continue
        filled = table["weight"][g] > 0
        if not filled.any():
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _short_label(stats, g),
                "x": table["mean_score"][g][filled].round(5).tolist(),
                "y": table["positive_rate"][g][filled].round(5).tolist(),
                "customdata": table["weight"][g][filled].round(3).tolist(),
                "hovertemplate": "mean score %{x:.3f}<br>observed rate %{y:.3f}<br>weight %{customdata}",
            }
        )
    if not traces:
        return None
    traces.append(_diagonal("perfectly calibrated"))
    layout = _layout(
        "Calibration by group (10 score bins)",
        height=420,
        xaxis={"title": {"text": "mean predicted score"}, "range": [0, 1]},
        yaxis={"title": {"text": "observed positive rate"}, "range": [0, 1]},
    )
    return {"id": "calibration", "data": traces, "layout": layout}
