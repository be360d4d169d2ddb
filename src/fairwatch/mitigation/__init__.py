"""Mitigation: scikit-learn estimators that reduce unfairness before, during and after training.

* pre-processing: :func:`reweighing_weights`, :class:`Reweighing`, :class:`CorrelationRemover`;
* reductions (in-training): :class:`ExponentiatedGradient`, :class:`GridSearch` with the
  constraints :class:`DemographicParity`, :class:`EqualizedOdds`, :class:`TruePositiveRateParity`,
  :class:`FalsePositiveRateParity`, :class:`ErrorRateParity`, :class:`BoundedGroupLoss`;
* post-processing: :class:`ThresholdOptimizer`, :class:`RejectOptionClassifier`,
  :class:`CalibratedEqualizedOdds`;
* model selection: :func:`pareto_front`, :func:`compare_models`;
* neural networks (PyTorch, the ``torch`` extra): :class:`FairnessRegularizedClassifier`,
  :class:`AdversarialDebiasingClassifier` and the differentiable penalties
  :func:`demographic_parity_penalty`, :func:`equalized_odds_penalty` for any training loop. They
  are loaded on first use, so ``import fairwatch.mitigation`` does not import torch.

Needs the ``mitigation`` extra (scikit-learn).
"""

from typing import Any

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

#: Names served lazily (they import torch), and the private module of each.
_TORCH_NAMES = {
    "AdversarialDebiasingClassifier": "fairwatch.mitigation._neural",
    "FairnessRegularizedClassifier": "fairwatch.mitigation._neural",
    "demographic_parity_penalty": "fairwatch.mitigation._penalties",
    "equalized_odds_penalty": "fairwatch.mitigation._penalties",
}


def __getattr__(name: str) -> Any:
    module = _TORCH_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'fairwatch.mitigation' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "AdversarialDebiasingClassifier",
    "BoundedGroupLoss",
    "CalibratedEqualizedOdds",
    "Constraint",
    "CorrelationRemover",
    "DemographicParity",
    "EqualizedOdds",
    "ErrorRateParity",
    "ExponentiatedGradient",
    "FairnessRegularizedClassifier",
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
    "demographic_parity_penalty",
    "equalized_odds_penalty",
    "pareto_front",
    "reweighing_weights",
]
