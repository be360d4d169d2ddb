"""Explanations appear in the HTML audit report as sections (the ReportSection protocol)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest

import fairwatch as fw
from fairwatch.explain import disparity_importance, find_subgroups, partial_dependence_by_group

report = pytest.importorskip("fairwatch.report")


def test_results_render_as_report_sections(planted) -> None:
    pred = planted.model.predict(planted.X)
    group = pd.Series(planted.group, name="group")
    sections = [
        disparity_importance(planted.model, planted.X, planted.y, sensitive_features=group, n_repeats=1),
        partial_dependence_by_group(planted.model, planted.X, sensitive_features=group, feature="zip_risk"),
        find_subgroups(planted.y, pred, features=pd.DataFrame({"group": planted.group, "noise": planted.X["noise"]})),
    ]
    for section in sections:
        assert isinstance(section, report.ReportSection)
    audit = fw.audit(planted.y, pred, sensitive_features=group)
    page = audit.to_html(explanations=sections)
    for section in sections:
        assert html.escape(section.title) in page
        frame = section.to_frame()
        for column in frame.columns:
            assert html.escape(str(column)) in page
    assert "zip_risk" in page and "group=a" in page
    assert np.isfinite(sections[0].baseline)
