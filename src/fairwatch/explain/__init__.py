"""Explanations of disparity: which features drive a gap, and where it is worst.

* :func:`disparity_importance`: permutation importance of each feature for a disparity metric;
* :func:`partial_dependence_by_group`: partial dependence curves, one per group;
* :func:`shap_by_group`: SHAP values summarised per group (needs ``pip install 'fairwatch[explain]'``);
* :func:`find_subgroups`: the intersections of columns with the largest significant gap.

Every result has ``title``, ``description``, ``to_frame()`` and ``to_dict()``, so it can be
printed, saved as JSON or added to the HTML audit report as a section.
"""

from fairwatch.explain._dependence import GroupPartialDependence, partial_dependence_by_group
from fairwatch.explain._importance import DisparityImportance, disparity_importance
from fairwatch.explain._result import ExplanationResult
from fairwatch.explain._shap import GroupShap, shap_by_group
from fairwatch.explain._subgroups import SubgroupReport, find_subgroups

__all__ = [
    "DisparityImportance",
    "ExplanationResult",
    "GroupPartialDependence",
    "GroupShap",
    "SubgroupReport",
    "disparity_importance",
    "find_subgroups",
    "partial_dependence_by_group",
    "shap_by_group",
]
