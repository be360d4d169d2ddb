"""Reports that reviewers and regulators read: the HTML audit report and bias-audit tables.

* :func:`audit_html` (also :meth:`fairwatch.Audit.to_html`): one self-contained HTML file with the
  data summary, per-group metrics with intervals, disparities against policy checks, charts, ROC
  and calibration curves and a reproducibility footer (plotly.js inlined; nothing loads from the
  network);
* :func:`impact_ratio`: NYC Local Law 144-shaped impact-ratio tables (selection or scoring rates
  per category and intersection, impact ratios, small-group exclusions disclosed, four-fifths flags);
* :class:`ReportSection`: the protocol of extra report sections (explanations, probes, ...).

jinja2 and plotly come with the ``report`` extra: ``pip install 'fairwatch[report]'``.
"""

from fairwatch.report._audit_html import DEFAULT_CHECKS, audit_html
from fairwatch.report._impact import ImpactRatio, ImpactRatioRow, ImpactRatioTable, impact_ratio
from fairwatch.report._sections import ReportSection

__all__ = [
    "DEFAULT_CHECKS",
    "ImpactRatio",
    "ImpactRatioRow",
    "ImpactRatioTable",
    "ReportSection",
    "audit_html",
    "impact_ratio",
]
