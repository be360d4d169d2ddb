"""The self-contained HTML audit report of an :class:`~fairwatch.Audit`."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import narwhals as nw

from fairwatch._checks import CheckResult, evaluate_check, parse_check
from fairwatch._version import __version__
from fairwatch.exceptions import InvalidInputError
from fairwatch.frames._encode import python_scalar
from fairwatch.report._figures import bar_figures, calibration_figure, roc_figure
from fairwatch.report._io import stats_digest, write_text_atomic
from fairwatch.report._sections import ReportSection
from fairwatch.report._templates import fmt, plotly_js, render, script_json

if TYPE_CHECKING:  # the report is drawn for an Audit, which imports the report for to_html
    from fairwatch._audit import Audit

__all__ = ["DEFAULT_CHECKS", "audit_html"]

#: Checks shown when neither the audit nor the caller evaluated any: the four-fifths rule on
#: selection rates and a 10-point equalized-odds gap (labelled as defaults in the report).
DEFAULT_CHECKS = ("demographic_parity_ratio >= 0.8", "equalized_odds_difference <= 0.1")
#: Disparities whose single-metric twin is already shown under the fairlearn name.
_TWINS = {
    "selection_rate": "demographic_parity",
    "true_positive_rate": "equal_opportunity",
    "precision": "predictive_parity",
    "error_rate": "error_rate_parity",
    "expected_calibration_error": "calibration_gap",
}


def audit_html(
    audit: Audit,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    checks: Sequence[str] | None = None,
    explanations: Sequence[ReportSection] = (),
    input_hash: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> str:
    """Render ``audit`` as one self-contained HTML file (CSS, JS and plotly.js inlined).

    Parameters
    ----------
    audit : Audit
        The audit to report.
    path : path-like, optional
        Where to write the report (atomically: a failed write leaves no file behind).
    title : str, optional
        Report title (default: "Fairness audit").
    checks : list of str, optional
        Policy checks to evaluate for the report (``"demographic_parity_ratio >= 0.8"``), in
        addition to those already evaluated with :meth:`Audit.check`. When there are none at all,
        :data:`DEFAULT_CHECKS` are shown, marked as defaults.
    explanations : list of ReportSection
        Extra sections (``fairwatch.explain`` results, probes, ...): each one's ``title``,
        ``description`` and ``to_frame()`` table.
    input_hash : str, optional
        Digest of the input data for the reproducibility footer (the CLI hashes the input files).
        The digest of the statistics the numbers come from is always shown.
    parameters : mapping, optional
        Extra parameters to record in the footer (e.g. the command line's column names).

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    fairwatch.exceptions.MissingDependencyError
        When jinja2 or plotly is missing (``pip install 'fairwatch[report]'``).
    fairwatch.exceptions.InvalidInputError
        On an explanation that is not a ReportSection, a bad check, or an unwritable path.

    Examples
    --------
    >>> import fairwatch as fw
    >>> a = fw.audit([1, 0, 1, 0, 1, 1], [1, 0, 0, 0, 1, 1], sensitive_features=["a", "a", "a", "b", "b", "b"])
    >>> html = a.to_html()
    >>> html.startswith("<!DOCTYPE html>") and "Per-group metrics" in html
    True
    """
    results = _checks(audit, checks)
    sections = [_section(s, i) for i, s in enumerate(explanations)]
    figures = bar_figures(audit)
    curves = [f for f in (roc_figure(audit), calibration_figure(audit)) if f is not None]
    html = render(
        "audit.html.j2",
        title=title or "Fairness audit",
        overview=_overview(audit),
        groups=_group_rows(audit),
        metrics=[m.name for m in audit.summary.metrics if m.name != "count"],
        ci=audit.summary.ci,
        disparities=_disparity_rows(audit, results),
        checks=results,
        figures=figures,
        curves=curves,
        figures_json=script_json(figures + curves),
        sections=sections,
        footer=_footer(audit, input_hash, parameters),
        plotly_js=plotly_js(),
    )
    if path is not None:
        write_text_atomic(path, html, option="path")
    return html


def _checks(audit: Audit, extra: Sequence[str] | None) -> list[dict[str, Any]]:
    if isinstance(extra, str):
        extra = [extra]
    evaluated: list[tuple[CheckResult, str]] = [(c, "audit") for c in audit.checks]
    for expression in extra or ():
        evaluated.append((evaluate_check(parse_check(expression), audit.summary), "report"))
    if not evaluated:
        for expression in DEFAULT_CHECKS:
            check = parse_check(expression)
            if check.subject in audit.summary.disparities:
                evaluated.append((evaluate_check(check, audit.summary), "default"))
    rows = []
    seen: set[str] = set()
    for result, source in evaluated:
        if result.expression in seen:
            continue
        seen.add(result.expression)
        rows.append({**result.to_dict(), "source": source, "subject": parse_check(result.expression).subject})
    return rows


def _overview(audit: Audit) -> dict[str, Any]:
    stats, summary = audit.stats, audit.summary
    total = float(stats.n.sum())
    suppressed = [
        {"label": stats.group_label(g), "n": int(stats.n[g]), "share": float(stats.n[g]) / total if total else 0.0}
        for g in range(stats.n_groups)
        if summary.suppressed[g]
    ]
    return {
        "n": stats.n_rows,
        "sensitive_features": list(stats.sensitive_names),
        "n_groups": stats.n_groups,
        "reported": stats.n_groups - len(suppressed),
        "suppressed": suppressed,
        "suppressed_share": summary.suppressed_share,
        "min_group_size": summary.min_group_size,
        "ci": summary.ci,
        "pos_label": python_scalar(stats.pos_label),
        "weighted": stats.weighted,
        "has_scores": stats.scores is not None,
        "metrics": [m.name for m in summary.metrics],
        "method": summary.method,
        "reference": None if summary.reference is None else ", ".join(map(str, summary.reference)),
    }


def _group_rows(audit: Audit) -> list[dict[str, Any]]:
    data = audit.to_dict()
    rows = []
    total = max(data["n"], 1)
    for group in data["groups"]:
        rows.append(
            {
                "labels": [str(v) for v in group["group"].values()],
                "n": group["n"],
                "share": group["n"] / total,
                "suppressed": group["suppressed"],
                "metrics": group["metrics"],
            }
        )
    return rows


def _disparity_rows(audit: Audit, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = audit.stats.sensitive_names
    present = set(audit.summary.disparities)
    rows = []
    for name, d in audit.summary.disparities.items():
        if _TWINS.get(name) in present:
            continue
        info = d.to_dict(names)
        verdicts = [c for c in checks if c["subject"] == name]
        rows.append(
            {
                **info,
                "name": name,
                "metrics": ", ".join(d.metrics),
                "max_label": audit._label(d.max_group),
                "min_label": audit._label(d.min_group),
                "ratio_label": audit._label(d.ratio_group),
                "checks": verdicts,
            }
        )
    return rows


def _section(section: Any, index: int) -> dict[str, Any]:
    if not isinstance(section, ReportSection):
        raise InvalidInputError(
            f"explanations[{index}] is a {type(section).__name__}, not a report section; pass objects with "
            f"'title' and 'description' attributes and a 'to_frame()' method returning a pandas DataFrame"
        )
    frame = section.to_frame()
    try:  # pandas by the protocol; any eager dataframe narwhals reads works too
        table = nw.from_native(frame, eager_only=True)
    except TypeError:
        raise InvalidInputError(
            f"explanations[{index}].to_frame() returned a {type(frame).__name__}; it must return a pandas DataFrame"
        ) from None
    columns = [str(c) for c in table.columns]
    rows = [[_cell(v) for v in record] for record in table.rows()]
    return {"title": str(section.title), "description": str(section.description), "columns": columns, "rows": rows}


def _cell(value: Any) -> str:
    value = python_scalar(value)
    if isinstance(value, float):
        return fmt(value, 4)
    return "—" if value is None else str(value)


def _footer(audit: Audit, input_hash: str | None, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    summary = audit.summary
    options = dict(getattr(audit, "_options", {}))
    params: dict[str, Any] = {
        "sensitive_features": ", ".join(audit.stats.sensitive_names),
        "metrics": ", ".join(audit.metrics),
        "pos_label": python_scalar(audit.stats.pos_label),
        "ci": summary.ci,
        "min_group_size": summary.min_group_size,
        "method": summary.method,
        "reference": None if summary.reference is None else ", ".join(map(str, summary.reference)),
        "agg": options.get("agg"),
        "n_boot": options.get("n_boot") if summary.ci is not None else None,
        "random_state": options.get("random_state"),
        "weighted": audit.stats.weighted,
    }
    if audit.stats.scores is not None:
        s = audit.stats.scores
        params["score_bins"] = f"{s.n_bins} {s.binning} bins"
    params.update(dict(parameters or {}))
    return {
        "version": __version__,
        "python": platform.python_version(),
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "input_hash": input_hash,
        "stats_hash": stats_digest(audit.stats),
        "parameters": [(k, "—" if v is None else str(v)) for k, v in params.items()],
    }
