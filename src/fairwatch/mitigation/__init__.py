"""Mitigation: scikit-learn estimators that reduce unfairness before, during and after training.

* pre-processing: :func:`reweighing_weights`, :class:`Reweighing`, :class:`CorrelationRemover`;
* reductions (in-training): :class:`ExponentiatedGradient`, :class:`GridSearch` with the
  constraints :class:`DemographicParity`, :class:`EqualizedOdds`, :class:`TruePositiveRateParity`,
  :class:`FalsePositiveRateParity`, :class:`ErrorRateParity`, :class:`BoundedGroupLoss`;
* post-processing: :class:`ThresholdOptimizer`, :class:`RejectOptionClassifier`,
  :class:`CalibratedEqualizedOdds`;
* model selection: :func:`pareto_front`, :func:`compare_models`.

Needs the ``mitigation`` extra (scikit-learn).
"""

from fairwatch.mitigation._constraints import (
    BoundedGroupLoss,
    Constraint,
    DemographicParity,
    EqualizedOdds,
    ErrorRateParity,
    FalsePositiveRateParity,
    TruePositiveRateParity,
)
from fairwatch.mitigation._postprocessing import CalibratedEqualizedOdds, RejectOptionClassifier, ThresholdOptimizer
from fairwatch.mitigation._preprocessing import CorrelationRemover, Reweighing, reweighing_weights
from fairwatch.mitigation._reductions import ExponentiatedGradient, GridSearch
from fairwatch.mitigation._selection import ModelComparison, Objective, ParetoFront, compare_models, pareto_front

__all__ = [
    "BoundedGroupLoss",
    "CalibratedEqualizedOdds",
    "Constraint",
    "CorrelationRemover",
    "DemographicParity",
    "EqualizedOdds",
    "ErrorRateParity",
    "ExponentiatedGradient",
    "FalsePositiveRateParity",
    "GridSearch",
    "ModelComparison",
    "Objective",
    "ParetoFront",
    "RejectOptionClassifier",
    "Reweighing",
    "ThresholdOptimizer",
    "TruePositiveRateParity",
    "compare_models",
    "pareto_front",
    "reweighing_weights",
]
