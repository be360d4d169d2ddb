"""The HTML audit report: sections, numbers, escaping, no external resources, atomic writes."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fairwatch as fw
from fairwatch import __version__
from fairwatch.exceptions import InvalidInputError, MissingDependencyError
from fairwatch.report import DEFAULT_CHECKS, ReportSection, audit_html
from fairwatch.report._figures import roc_curves
from fairwatch.report._templates import _environment, plotly_js

from .payloads import XSS, XSS_ATTR


def _without_plotly(html: str) -> str:
    """The report minus the inlined plotly.js library (which holds URL strings in its code)."""
    js = plotly_js()
    assert html.count(js) == 1, "plotly.js must be inlined exactly once"
    return html.replace(js, "")


def _figures(html: str) -> list[dict]:
    match = re.search(r'<script type="application/json" id="fairwatch-figures">(.*?)</script>', html, re.S)
    assert match is not None
    return json.loads(match.group(1))


def test_report_has_every_section(scored_audit: fw.Audit) -> None:
    scored_audit.checks.clear()
    html = scored_audit.to_html(checks=["demographic_parity_ratio >= 0.8", "roc_auc_min >= 0.5"])
    assert html.startswith("<!DOCTYPE html>")
    for heading in (
        "Data summary",
        "Suppressed groups",
        "Policy checks",
        "Disparities",
        "Per-group metrics",
        "Charts",
        "ROC and calibration curves",
        "Reproducibility",
    ):
        assert f"<h2>{heading}</h2>" in html or f"<h3>{heading}</h3>" in html, heading
    # data summary: rows, the suppressed group with its size and share of the rows
    n_tiny = int(scored_audit.stats.n[scored_audit.stats.index_of("tiny")])
    assert f"{scored_audit.stats.n_rows:,}" in html
    assert re.search(rf"<td>group=tiny</td><td class=\"num\">{n_tiny}</td><td class=\"num\">", html)
    assert f"{scored_audit.summary.suppressed_share:.2%}" in html
    # per-group values with their intervals, as the audit computed them
    data = scored_audit.to_dict()
    a = next(g for g in data["groups"] if g["group"]["group"] == "A")["metrics"]["selection_rate"]
    assert f'{a["value"]:.3f}<span class="ci">[{a["lo"]:.3f}, {a["hi"]:.3f}]</span>' in html
    # checks with pass/fail verdicts, the failing one also next to its disparity
    assert "demographic_parity_ratio &gt;= 0.8" in html and "roc_auc_min &gt;= 0.5" in html
    assert "PASS" in html and "FAIL" in html
    # charts: a bar chart per metric with error bars, ROC and calibration curves per reported group
    figures = {f["id"]: f for f in _figures(html)}
    assert {"bar-selection_rate", "bar-roc_auc", "roc", "calibration"} <= set(figures)
    bar = figures["bar-selection_rate"]["data"][0]
    assert bar["error_y"]["visible"] and len(bar["x"]) == 4  # the suppressed group is not drawn
    assert len([t for t in figures["roc"]["data"] if t["name"] != "chance"]) == 4
    # footer: version, statistics digest, parameters
    assert f"fairwatch {__version__}" in html and "sha256:" in html
    assert "<th>n_boot</th><td><code>200</code></td>" in html


def test_default_checks_are_marked(scored_audit: fw.Audit) -> None:
    scored_audit.checks.clear()
    html = scored_audit.to_html()
    assert "default policy" in html
    assert DEFAULT_CHECKS[0].replace(">", "&gt;") in html


def test_no_external_resources(scored_audit: fw.Audit) -> None:
    html = scored_audit.to_html()
    # nothing loads from elsewhere: no src/href to a resource, no CSS import, no URL in our own text
    patterns = (
        r"<script[^>]*\ssrc\s*=",
        r"<link[^>]*\shref\s*=",
        r"@import",
        r"<img[^>]*\ssrc\s*=\s*[\"']?https?:",
        r"<iframe",
        r"url\(\s*[\"']?(?:https?:)?//",
    )
    for pattern in patterns:
        assert not re.search(pattern, html, re.I), pattern
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", _without_plotly(html), re.I)
    # and the browser is told to refuse any network access anyway
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert len(html) > 1_000_000  # plotly.js is inlined


def test_group_names_are_escaped(scored_audit: fw.Audit) -> None:
    class Section:
        title = f"Explained {XSS}"
        description = XSS_ATTR

        def to_frame(self) -> pd.DataFrame:
            return pd.DataFrame({XSS: [XSS_ATTR, 1.23456789]})

    html = _without_plotly(scored_audit.to_html(explanations=[Section()]))
    assert XSS not in html and XSS_ATTR not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert html.count("<script") == 3  # figure data, plotly.js, chart code: nothing injected
    assert "<img" not in html
    figures = re.search(r'id="fairwatch-figures">(.*?)</script>', html, re.S)
    assert figures is not None and "<" not in figures.group(1)  # JSON in a script tag is escaped too
    assert "Explained" in html and "1.2346" in html


def test_explanation_sections_follow_the_protocol(scored_audit: fw.Audit) -> None:
    class Importance:
        title = "Which features drive the gap"
        description = "Permutation importance for demographic parity."

        def to_frame(self) -> pd.DataFrame:
            return pd.DataFrame({"feature": ["age", "hours"], "importance": [0.12, 0.03]})

    assert isinstance(Importance(), ReportSection)
    html = scored_audit.to_html(explanations=[Importance()])
    assert "<h2>Which features drive the gap</h2>" in html and "<td>age</td><td>0.1200</td>" in html
    with pytest.raises(InvalidInputError, match=r"explanations\[0\] is a str, not a report section.*to_frame"):
        scored_audit.to_html(explanations=["not a section"])


def test_roc_curves_match_sklearn(scored_audit: fw.Audit, rows: pd.DataFrame) -> None:
    from sklearn.metrics import roc_curve

    curves = roc_curves(scored_audit.stats)
    for g, key in enumerate(scored_audit.stats.groups):
        part = rows[rows["group"] == key[0]]
        if part["y"].nunique() < 2:
            assert g not in curves
            continue
        fpr, tpr, _ = roc_curve(part["y"], part["score"], drop_intermediate=False)
        np.testing.assert_allclose(curves[g][0], fpr)
        np.testing.assert_allclose(curves[g][1], tpr)


def test_writes_atomically(scored_audit: fw.Audit, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    html = scored_audit.to_html(target)
    assert target.read_text(encoding="utf-8") == html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    with pytest.raises(InvalidInputError, match=r"directory .*missing.* does not exist; create it first"):
        scored_audit.to_html(tmp_path / "missing" / "report.html")
    with pytest.raises(InvalidInputError, match=r"it is a directory; give a file name"):
        scored_audit.to_html(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_failed_write_leaves_no_file(scored_audit: fw.Audit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(InvalidInputError, match=r"cannot write path .*report.html.*Permission denied"):
        scored_audit.to_html(tmp_path / "report.html")
    assert list(tmp_path.iterdir()) == []


def test_missing_jinja2_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    audit = fw.audit([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"], metrics=["selection_rate"])
    _environment.cache_clear()
    monkeypatch.setitem(sys.modules, "jinja2", None)
    try:
        with pytest.raises(MissingDependencyError, match=r"pip install 'fairwatch\[report\]'"):
            audit_html(audit)
    finally:
        _environment.cache_clear()


def test_regression_audit_renders_without_curves() -> None:
    audit = fw.audit([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.5, 4.5], sensitive_features=["a", "a", "b", "b"])
    html = audit.to_html()
    assert "mean absolute error" in html and 'id="roc"' not in html


def test_reference_ratio_is_explained_and_names_its_group() -> None:
    """Against a reference the ratio is group / reference (issue 22, item 4): the report says so and
    names the group, and a group selected 4x as often as the reference passes the four-fifths rule."""
    y_pred = [1] * 10 + [0] * 90 + [1] * 40 + [0] * 60
    groups = ["ref"] * 100 + ["other"] * 100
    audit = fw.audit(y_pred, y_pred, sensitive_features={"group": groups}, reference="ref", metrics=["selection_rate"])
    html = audit.to_html(checks=["demographic_parity_ratio >= 0.8"])
    assert "the smallest group / reference ratio" in html
    assert '4.000<span class="ci">group=other</span>' in html
    assert audit.check("demographic_parity_ratio >= 0.8")[0].passed
