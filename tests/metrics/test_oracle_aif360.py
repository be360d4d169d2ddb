"""Oracle tests: fairwatch's numbers against AIF360 on real and synthetic data.

AIF360 compares an unprivileged group with a privileged one (``unprivileged - privileged`` and
``unprivileged / privileged``). Its numbers map onto fairwatch's per-group values
(``audit.summary.values``) and onto disparities with ``reference=<privileged group>``: for two
groups the reference difference is ``|aif360 difference|`` and the ratio is AIF360's own ratio
(``unprivileged / privileged``: a ratio against a reference keeps its direction); for more groups
they are the largest gap and the smallest ratio over the pairwise comparisons with the reference.
Between groups the ratio is ``min(r, 1/r)``.

The audits pass ``min_group_size=0``: AIF360 compares groups of any size, and so must the oracle.

Both the scikit-learn style API (``aif360.sklearn.metrics``) and the classic
``ClassificationMetric`` over ``BinaryLabelDataset`` are used, with and without sample weights.
AIF360 is a test-only dependency; every comparison is exact up to ``atol=1e-9``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pytest

import fairwatch as fw
from fairwatch.exceptions import UndefinedMetricWarning


def _import_quietly(name: str) -> Any:
    """Import an AIF360 module without its import-time noise (it logs every missing optional
    dependency — tensorflow, inFairness, ot — on the root logger and emits deprecation warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            return pytest.importorskip(name)
        finally:
            logging.disable(logging.NOTSET)


am = _import_quietly("aif360.sklearn.metrics")
aif_datasets = _import_quietly("aif360.datasets")
aif_metrics = _import_quietly("aif360.metrics")
skm = pytest.importorskip("sklearn.metrics")

ATOL = 1e-9
#: Every metric the audits compute (canonical names).
METRICS = (
    "selection_rate",
    "accuracy",
    "balanced_accuracy",
    "error_rate",
    "true_positive_rate",
    "false_positive_rate",
    "true_negative_rate",
    "false_negative_rate",
    "precision",
    "negative_predictive_value",
    "false_discovery_rate",
    "false_omission_rate",
    "prevalence",
    "f1",
    "roc_auc",
    "brier_score",
)


def _min_ratio(r: float) -> float:
    """A ratio folded into [0, 1] (fairwatch's ratios are the smaller of ``r`` and ``1/r``)."""
    return min(r, 1.0 / r) if r > 0 else 0.0


def _audit(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    scores: np.ndarray,
    sensitive: Any,
    weight: np.ndarray | None,
    **options: Any,
) -> fw.Audit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return fw.audit(
            y_true,
            y_pred,
            scores=scores,
            sensitive_features=sensitive,
            sample_weight=weight,
            metrics=list(METRICS),
            min_group_size=0,
            **options,
        )


def _binary_label_datasets(
    protected: Mapping[str, np.ndarray], y_true: np.ndarray, y_pred: np.ndarray, weight: np.ndarray | None
) -> tuple[Any, Any]:
    """Ground-truth and predicted BinaryLabelDatasets (AIF360 wants numeric protected attributes)."""
    frame = pd.DataFrame({name: np.asarray(values, dtype=float) for name, values in protected.items()})
    frame["label"] = y_true.astype(float)
    if weight is not None:
        frame["weight"] = weight
    truth = aif_datasets.BinaryLabelDataset(
        df=frame,
        label_names=["label"],
        protected_attribute_names=list(protected),
        favorable_label=1.0,
        unfavorable_label=0.0,
        instance_weights_name="weight" if weight is not None else None,
    )
    predicted = truth.copy(deepcopy=True)
    predicted.labels = y_pred.reshape(-1, 1).astype(float)
    return truth, predicted


# -- two groups: privileged and unprivileged --------------------------------------------------------------
@dataclass
class BinaryCase:
    """One binary protected attribute, with fairwatch's audits and AIF360's inputs."""

    name: str
    attribute: np.ndarray  # what AIF360 sees (may hold more than two values: one-vs-rest)
    privileged: Any
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: np.ndarray
    weight: np.ndarray | None
    unprivileged: Any = None  # fairwatch's label of the pooled other values
    audit: fw.Audit = field(init=False)
    reference_audit: fw.Audit = field(init=False)
    reference_mean_audit: fw.Audit = field(init=False)
    classification_metric: Any = field(init=False)

    def __post_init__(self) -> None:
        is_privileged = self.attribute == self.privileged
        if self.unprivileged is None:
            others = np.unique(self.attribute[~is_privileged])
            assert others.size == 1, "pass unprivileged= when AIF360 pools several values"
            self.unprivileged = others[0].item() if isinstance(others[0], np.generic) else others[0]
        labels = np.where(is_privileged, self.privileged, self.unprivileged)
        sensitive = pd.Series(labels, name="attribute")
        args = (self.y_true, self.y_pred, self.scores, sensitive, self.weight)
        self.audit = _audit(*args)
        self.reference_audit = _audit(*args, reference=self.privileged)
        self.reference_mean_audit = _audit(*args, reference=self.privileged, agg="mean")
        truth, predicted = _binary_label_datasets(
            {"attribute": is_privileged.astype(float)}, self.y_true, self.y_pred, self.weight
        )
        self.classification_metric = aif_metrics.ClassificationMetric(
            truth, predicted, unprivileged_groups=[{"attribute": 0.0}], privileged_groups=[{"attribute": 1.0}]
        )

    # fairwatch's side
    def value(self, metric: str, privileged: bool) -> float:
        group = self.privileged if privileged else self.unprivileged
        index = self.audit.stats.index_of(group)
        return float(self.audit.summary.values[fw.metrics.get_metric(metric).name][index])

    def weight_of(self, privileged: bool) -> float:
        group = self.privileged if privileged else self.unprivileged
        return float(self.audit.stats.weight[self.audit.stats.index_of(group)])

    def diff(self, metric: str) -> float:
        return self.value(metric, privileged=False) - self.value(metric, privileged=True)

    def ratio(self, metric: str) -> float:
        return self.value(metric, privileged=False) / self.value(metric, privileged=True)

    # AIF360's side
    def aif_kwargs(self) -> dict[str, Any]:
        return {"prot_attr": self.attribute, "priv_group": self.privileged, "sample_weight": self.weight}


_BINARY_SOURCES = [
    ("adult", "sex", "Male", None),
    ("adult", "race", "White", "non-White"),  # one-vs-rest: AIF360 pools every other race
    ("synthetic1", "flag", 1, None),
]
BINARY_PARAMS = [
    pytest.param((*source, weighted), id=f"{source[0]}-{source[1]}-{'w' if weighted else 'unw'}")
    for source in _BINARY_SOURCES
    for weighted in (False, True)
]


def _source(name: str, adult: pd.DataFrame, synthetic: Callable[[int], pd.DataFrame]) -> pd.DataFrame:
    return adult if name == "adult" else synthetic(int(name.removeprefix("synthetic")))


@pytest.fixture(scope="module", params=BINARY_PARAMS)
def binary_case(
    request: pytest.FixtureRequest,
    adult_predictions: pd.DataFrame,
    synthetic_binary: Callable[[int], pd.DataFrame],
) -> BinaryCase:
    source, column, privileged, unprivileged, weighted = request.param
    data = _source(source, adult_predictions, synthetic_binary)
    return BinaryCase(
        name=f"{source}-{column}",
        attribute=data[column].to_numpy(),
        privileged=privileged,
        unprivileged=unprivileged,
        y_true=data["y_true"].to_numpy(),
        y_pred=data["y_pred"].to_numpy(),
        scores=data["score"].to_numpy(),
        weight=data["weight"].to_numpy() if weighted else None,
    )


@dataclass(frozen=True)
class Correspondence:
    """An AIF360 number and the fairwatch number it maps to."""

    id: str
    aif360: Callable[[BinaryCase], float]
    fairwatch: Callable[[BinaryCase], float]


def _avg(*values: float) -> float:
    return float(np.mean(values))


SKLEARN_API = [
    Correspondence(
        "statistical_parity_difference",
        lambda c: am.statistical_parity_difference(c.y_true, c.y_pred, **c.aif_kwargs()),
        lambda c: c.diff("selection_rate"),
    ),
    Correspondence(
        "statistical_parity_difference-base_rate",
        lambda c: am.statistical_parity_difference(c.y_true, None, **c.aif_kwargs()),
        lambda c: c.diff("prevalence"),
    ),
    Correspondence(
        "mean_difference",
        lambda c: am.mean_difference(c.y_true, c.y_pred, **c.aif_kwargs()),
        lambda c: c.diff("selection_rate"),
    ),
    Correspondence(
        "disparate_impact_ratio",
        lambda c: am.disparate_impact_ratio(c.y_true, c.y_pred, **c.aif_kwargs()),
        lambda c: c.ratio("selection_rate"),
    ),
    Correspondence(
        "disparate_impact_ratio-base_rate",
        lambda c: am.disparate_impact_ratio(c.y_true, None, **c.aif_kwargs()),
        lambda c: c.ratio("prevalence"),
    ),
    Correspondence(
        "equal_opportunity_difference",
        lambda c: am.equal_opportunity_difference(c.y_true, c.y_pred, **c.aif_kwargs()),
        lambda c: c.diff("true_positive_rate"),
    ),
    Correspondence(
        "average_odds_difference",
        lambda c: am.average_odds_difference(c.y_true, c.y_pred, **c.aif_kwargs()),
        lambda c: _avg(c.diff("false_positive_rate"), c.diff("true_positive_rate")),
    ),
    Correspondence(
        "average_odds_error",
        lambda c: am.average_odds_error(c.y_true, c.y_pred, **c.aif_kwargs()),
        lambda c: _avg(abs(c.diff("false_positive_rate")), abs(c.diff("true_positive_rate"))),
    ),
    Correspondence(
        "average_odds_error-vs-equalized_odds_mean",
        lambda c: am.average_odds_error(c.y_true, c.y_pred, **c.aif_kwargs()),
        lambda c: c.reference_mean_audit.summary.disparities["equalized_odds"].difference,
    ),
    Correspondence(
        "average_predictive_value_difference",
        lambda c: am.average_predictive_value_difference(c.y_true, c.y_pred, **c.aif_kwargs()),
        lambda c: _avg(c.diff("precision"), c.diff("false_omission_rate")),
    ),
    Correspondence(
        "class_imbalance",
        lambda c: am.class_imbalance(c.y_true, c.y_pred, **c.aif_kwargs()),
        lambda c: (c.weight_of(False) - c.weight_of(True)) / (c.weight_of(False) + c.weight_of(True)),
    ),
    Correspondence(
        "demographic_parity-reference-difference",
        lambda c: abs(am.statistical_parity_difference(c.y_true, c.y_pred, **c.aif_kwargs())),
        lambda c: c.reference_audit.summary.disparities["demographic_parity"].difference,
    ),
    Correspondence(
        "demographic_parity-reference-ratio",
        lambda c: am.disparate_impact_ratio(c.y_true, c.y_pred, **c.aif_kwargs()),
        lambda c: c.reference_audit.summary.disparities["demographic_parity"].ratio,
    ),
    Correspondence(
        "demographic_parity-between_groups-ratio",
        lambda c: _min_ratio(am.disparate_impact_ratio(c.y_true, c.y_pred, **c.aif_kwargs())),
        lambda c: c.audit.summary.disparities["demographic_parity"].ratio,
    ),
    Correspondence(
        "equal_opportunity-reference-difference",
        lambda c: abs(am.equal_opportunity_difference(c.y_true, c.y_pred, **c.aif_kwargs())),
        lambda c: c.reference_audit.summary.disparities["equal_opportunity"].difference,
    ),
]


@pytest.mark.parametrize("mapping", SKLEARN_API, ids=lambda m: m.id)
def test_sklearn_api_metric(binary_case: BinaryCase, mapping: Correspondence) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = float(mapping.aif360(binary_case))
    assert mapping.fairwatch(binary_case) == pytest.approx(expected, abs=ATOL)


#: AIF360's generic ``difference(func, ...)``/``ratio(func, ...)`` over scikit-learn and AIF360 metric
#: functions: (function, fairwatch metric, whether it takes scores).
GENERIC: dict[str, tuple[Callable[..., float], str, bool]] = {
    "accuracy_score": (skm.accuracy_score, "accuracy", False),
    "balanced_accuracy_score": (skm.balanced_accuracy_score, "balanced_accuracy", False),
    "precision_score": (skm.precision_score, "precision", False),
    "recall_score": (skm.recall_score, "true_positive_rate", False),
    "f1_score": (skm.f1_score, "f1", False),
    "sensitivity_score": (am.sensitivity_score, "true_positive_rate", False),
    "specificity_score": (am.specificity_score, "true_negative_rate", False),
    "false_negative_rate_error": (am.false_negative_rate_error, "false_negative_rate", False),
    "false_positive_rate_error": (am.false_positive_rate_error, "false_positive_rate", False),
    "false_omission_rate_error": (am.false_omission_rate_error, "false_omission_rate", False),
    "base_rate": (am.base_rate, "prevalence", False),
    "selection_rate": (am.selection_rate, "selection_rate", False),
    "roc_auc_score": (skm.roc_auc_score, "roc_auc", True),
    "brier_score_loss": (skm.brier_score_loss, "brier_score", True),
}


@pytest.mark.parametrize("name", list(GENERIC))
def test_generic_difference_and_ratio(binary_case: BinaryCase, name: str) -> None:
    """``aif360.sklearn.metrics.difference``/``ratio`` of a metric function against fairwatch's
    per-group values, its between-groups disparity and its reference disparity."""
    func, metric, on_scores = GENERIC[name]
    c = binary_case
    y_pred = c.scores if on_scores else c.y_pred
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        difference = float(am.difference(func, c.y_true, y_pred, **c.aif_kwargs()))
        ratio = float(am.ratio(func, c.y_true, y_pred, **c.aif_kwargs()))
    assert c.diff(metric) == pytest.approx(difference, abs=ATOL)
    assert c.ratio(metric) == pytest.approx(ratio, abs=ATOL)
    for audit in (c.audit, c.reference_audit):
        disparity = audit.summary.disparities[metric]
        assert disparity.difference == pytest.approx(abs(difference), abs=ATOL)
    assert c.audit.summary.disparities[metric].ratio == pytest.approx(_min_ratio(ratio), abs=ATOL)
    assert c.reference_audit.summary.disparities[metric].ratio == pytest.approx(ratio, abs=ATOL)


Counts = Mapping[str, float]


def _total(c: Counts) -> float:
    return c["TP"] + c["FP"] + c["TN"] + c["FN"]


def _positives(c: Counts) -> float:
    return c["TP"] + c["FN"]


def _negatives(c: Counts) -> float:
    return c["TN"] + c["FP"]


def _predicted_positives(c: Counts) -> float:
    return c["TP"] + c["FP"]


def _predicted_negatives(c: Counts) -> float:
    return c["TN"] + c["FN"]


#: ``ClassificationMetric`` per-group methods: the fairwatch metric each equals, and the
#: denominator (from AIF360's weighted confusion counts) that must be positive for it to be defined.
CLASSIC: dict[str, tuple[str, Callable[[Counts], float]]] = {
    "selection_rate": ("selection_rate", _total),
    "base_rate": ("prevalence", _total),
    "accuracy": ("accuracy", _total),
    "error_rate": ("error_rate", _total),
    "true_positive_rate": ("true_positive_rate", _positives),
    "false_negative_rate": ("false_negative_rate", _positives),
    "false_positive_rate": ("false_positive_rate", _negatives),
    "true_negative_rate": ("true_negative_rate", _negatives),
    "positive_predictive_value": ("precision", _predicted_positives),
    "false_discovery_rate": ("false_discovery_rate", _predicted_positives),
    "negative_predictive_value": ("negative_predictive_value", _predicted_negatives),
    "false_omission_rate": ("false_omission_rate", _predicted_negatives),
}


def _classic_defined(cm: Any, method: str, privileged: bool) -> bool:
    """Whether ``method`` has a non-zero denominator for one side of ``cm``. AIF360 then reports 0
    (predictive values, accuracy) or nan (rates); fairwatch reports nan."""
    return CLASSIC[method][1](cm.binary_confusion_matrix(privileged=privileged)) > 0


@pytest.mark.parametrize("privileged", [True, False], ids=["privileged", "unprivileged"])
@pytest.mark.parametrize("method", list(CLASSIC))
def test_classification_metric_per_group(binary_case: BinaryCase, method: str, privileged: bool) -> None:
    cm = binary_case.classification_metric
    got = binary_case.value(CLASSIC[method][0], privileged)
    if not _classic_defined(cm, method, privileged):
        assert np.isnan(got)
        return
    assert got == pytest.approx(float(getattr(cm, method)(privileged=privileged)), abs=ATOL)


def test_classification_metric_group_weights(binary_case: BinaryCase) -> None:
    """``num_instances`` is the (weighted) group size: fairwatch's ``stats.weight``."""
    cm = binary_case.classification_metric
    for privileged in (True, False):
        assert binary_case.weight_of(privileged) == pytest.approx(cm.num_instances(privileged=privileged), abs=ATOL)


CLASSIC_DISPARITIES = [
    Correspondence(
        "statistical_parity_difference",
        lambda c: c.classification_metric.statistical_parity_difference(),
        lambda c: c.diff("selection_rate"),
    ),
    Correspondence(
        "disparate_impact",
        lambda c: c.classification_metric.disparate_impact(),
        lambda c: c.ratio("selection_rate"),
    ),
    Correspondence(
        "equal_opportunity_difference",
        lambda c: c.classification_metric.equal_opportunity_difference(),
        lambda c: c.diff("true_positive_rate"),
    ),
    Correspondence(
        "average_odds_difference",
        lambda c: c.classification_metric.average_odds_difference(),
        lambda c: _avg(c.diff("false_positive_rate"), c.diff("true_positive_rate")),
    ),
    Correspondence(
        "average_abs_odds_difference",
        lambda c: c.classification_metric.average_abs_odds_difference(),
        lambda c: c.reference_mean_audit.summary.disparities["equalized_odds"].difference,
    ),
    Correspondence(
        "equalized_odds_difference",
        lambda c: c.classification_metric.equalized_odds_difference(),
        lambda c: c.reference_audit.summary.disparities["equalized_odds"].difference,
    ),
    Correspondence(
        "average_predictive_value_difference",
        lambda c: c.classification_metric.average_predictive_value_difference(),
        lambda c: _avg(c.diff("precision"), c.diff("false_omission_rate")),
    ),
    Correspondence(
        "error_rate_difference",
        lambda c: abs(c.classification_metric.error_rate_difference()),
        lambda c: c.reference_audit.summary.disparities["error_rate_parity"].difference,
    ),
    Correspondence(
        "error_rate_ratio",
        lambda c: c.classification_metric.error_rate_ratio(),
        lambda c: c.reference_audit.summary.disparities["error_rate_parity"].ratio,
    ),
    Correspondence(
        "true_positive_rate_difference",
        lambda c: c.classification_metric.true_positive_rate_difference(),
        lambda c: c.diff("true_positive_rate"),
    ),
    Correspondence(
        "false_positive_rate_difference",
        lambda c: c.classification_metric.false_positive_rate_difference(),
        lambda c: c.diff("false_positive_rate"),
    ),
    Correspondence(
        "false_positive_rate_ratio",
        lambda c: c.classification_metric.false_positive_rate_ratio(),
        lambda c: c.ratio("false_positive_rate"),
    ),
    Correspondence(
        "false_negative_rate_difference",
        lambda c: c.classification_metric.false_negative_rate_difference(),
        lambda c: c.diff("false_negative_rate"),
    ),
    Correspondence(
        "false_negative_rate_ratio",
        lambda c: c.classification_metric.false_negative_rate_ratio(),
        lambda c: c.ratio("false_negative_rate"),
    ),
    Correspondence(
        "false_discovery_rate_difference",
        lambda c: c.classification_metric.false_discovery_rate_difference(),
        lambda c: c.diff("false_discovery_rate"),
    ),
    Correspondence(
        "false_discovery_rate_ratio",
        lambda c: c.classification_metric.false_discovery_rate_ratio(),
        lambda c: c.ratio("false_discovery_rate"),
    ),
    Correspondence(
        "false_omission_rate_difference",
        lambda c: c.classification_metric.false_omission_rate_difference(),
        lambda c: c.diff("false_omission_rate"),
    ),
    Correspondence(
        "false_omission_rate_ratio",
        lambda c: c.classification_metric.false_omission_rate_ratio(),
        lambda c: c.ratio("false_omission_rate"),
    ),
]


@pytest.mark.parametrize("mapping", CLASSIC_DISPARITIES, ids=lambda m: m.id)
def test_classification_metric_disparity(binary_case: BinaryCase, mapping: Correspondence) -> None:
    expected = float(mapping.aif360(binary_case))
    assert mapping.fairwatch(binary_case) == pytest.approx(expected, abs=ATOL)


# -- several groups: pairwise comparisons with a reference group, and intersectional groups ---------------
@dataclass
class MultiCase:
    """Several (possibly intersectional) groups and a reference group."""

    name: str
    sensitive: pd.DataFrame
    reference: tuple[Any, ...]
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: np.ndarray
    weight: np.ndarray | None
    audit: fw.Audit = field(init=False)
    reference_audit: fw.Audit = field(init=False)
    #: ClassificationMetric of each non-reference group (unprivileged) against the reference.
    pairwise: dict[tuple[Any, ...], Any] = field(init=False)

    def __post_init__(self) -> None:
        args = (self.y_true, self.y_pred, self.scores, self.sensitive, self.weight)
        self.audit = _audit(*args)
        self.reference_audit = _audit(*args, reference=self.reference)
        codes = {name: pd.Categorical(self.sensitive[name]) for name in self.sensitive.columns}
        truth, predicted = _binary_label_datasets(
            {name: cat.codes for name, cat in codes.items()}, self.y_true, self.y_pred, self.weight
        )

        def condition(group: tuple[Any, ...]) -> list[dict[str, float]]:
            return [{name: float(codes[name].categories.get_loc(v)) for name, v in zip(self.sensitive.columns, group)}]

        self.pairwise = {
            group: aif_metrics.ClassificationMetric(
                truth, predicted, unprivileged_groups=condition(group), privileged_groups=condition(self.reference)
            )
            for group in self.audit.stats.groups
            if group != self.reference
        }

    def values(self, metric: str) -> dict[tuple[Any, ...], float]:
        values = self.audit.summary.values[fw.metrics.get_metric(metric).name]
        return {g: float(v) for g, v in zip(self.audit.stats.groups, values)}


_MULTI_SOURCES = [
    ("adult", ("sex", "race"), ("Male", "White")),
    ("synthetic0", ("group", "flag"), ("a", 0)),
]
MULTI_PARAMS = [
    pytest.param((*source, weighted), id=f"{source[0]}-{'+'.join(source[1])}-{'w' if weighted else 'unw'}")
    for source in _MULTI_SOURCES
    for weighted in (False, True)
]


@pytest.fixture(scope="module", params=MULTI_PARAMS)
def multi_case(
    request: pytest.FixtureRequest,
    adult_predictions: pd.DataFrame,
    synthetic_binary: Callable[[int], pd.DataFrame],
) -> MultiCase:
    source, columns, reference, weighted = request.param
    data = _source(source, adult_predictions, synthetic_binary)
    return MultiCase(
        name=source,
        sensitive=data[list(columns)],
        reference=reference,
        y_true=data["y_true"].to_numpy(),
        y_pred=data["y_pred"].to_numpy(),
        scores=data["score"].to_numpy(),
        weight=data["weight"].to_numpy() if weighted else None,
    )


@pytest.mark.parametrize("method", list(CLASSIC))
def test_reference_disparity_matches_pairwise_classification_metric(multi_case: MultiCase, method: str) -> None:
    """``reference=`` disparities against AIF360's pairwise comparisons of every other group
    (unprivileged) with the reference (privileged): difference = max ``|v_g - v_ref|``, ratio = min
    ``v_g / v_ref`` (AIF360's ratio, directional), skipping groups where the metric is undefined
    (fairwatch gives them nan)."""
    metric = CLASSIC[method][0]
    values = multi_case.values(metric)
    differences, ratios = [], []
    for group, cm in multi_case.pairwise.items():
        assert _classic_defined(cm, method, privileged=True), "the reference group must have a value"
        assert values[multi_case.reference] == pytest.approx(float(getattr(cm, method)(privileged=True)), abs=ATOL)
        if not _classic_defined(cm, method, privileged=False):
            assert np.isnan(values[group]), group
            continue
        assert values[group] == pytest.approx(float(getattr(cm, method)(privileged=False)), abs=ATOL)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = float(cm.ratio(getattr(cm, method)))
        differences.append(abs(float(cm.difference(getattr(cm, method)))))
        ratios.append(ratio)
    disparity = multi_case.reference_audit.summary.disparities[metric]
    assert disparity.reference == multi_case.reference
    assert disparity.difference == pytest.approx(max(differences), abs=ATOL)
    assert disparity.ratio == pytest.approx(min(ratios), abs=ATOL)


def test_reference_equalized_odds_matches_pairwise_classification_metric(multi_case: MultiCase) -> None:
    """Worst case over the pairs of AIF360's equalized odds difference (the larger of the |TPR| and
    |FPR| gaps) is fairwatch's worst-case equalized odds against the reference."""
    expected = max(cm.equalized_odds_difference() for cm in multi_case.pairwise.values())
    got = multi_case.reference_audit.summary.disparities["equalized_odds"].difference
    assert got == pytest.approx(float(expected), abs=ATOL)


#: Per-group functions for ``aif360.sklearn.metrics.intersection``: (function, fairwatch metric,
#: whether it takes scores). Zero denominators give nan on both sides.
INTERSECTION: dict[str, tuple[Callable[..., float], str, bool]] = {
    "selection_rate": (am.selection_rate, "selection_rate", False),
    "base_rate": (am.base_rate, "prevalence", False),
    "accuracy_score": (skm.accuracy_score, "accuracy", False),
    "recall_score": (partial(skm.recall_score, zero_division=np.nan), "true_positive_rate", False),
    "precision_score": (partial(skm.precision_score, zero_division=np.nan), "precision", False),
    "specificity_score": (partial(am.specificity_score, zero_division=np.nan), "true_negative_rate", False),
    "false_omission_rate_error": (
        partial(am.false_omission_rate_error, zero_division=np.nan),
        "false_omission_rate",
        False,
    ),
    "roc_auc_score": (skm.roc_auc_score, "roc_auc", True),
    "brier_score_loss": (skm.brier_score_loss, "brier_score", True),
}


@pytest.mark.parametrize("name", list(INTERSECTION))
def test_intersection_per_group(multi_case: MultiCase, name: str) -> None:
    func, metric, on_scores = INTERSECTION[name]
    c = multi_case
    prot_attr = [c.sensitive[col].to_numpy() for col in c.sensitive.columns]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values, groups = am.intersection(
            func,
            c.y_true,
            c.scores if on_scores else c.y_pred,
            prot_attr=prot_attr,
            sample_weight=c.weight,
            return_groups=True,
        )
    expected = {tuple(g) if isinstance(g, tuple) else (g,): float(v) for g, v in zip(groups, values)}
    got = c.values(metric)
    assert set(expected) == set(got)
    groups_sorted: Sequence[tuple[Any, ...]] = c.audit.stats.groups
    np.testing.assert_allclose(
        [got[g] for g in groups_sorted],
        [expected[g] for g in groups_sorted],
        atol=ATOL,
        rtol=0,
        equal_nan=True,
        err_msg=name,
    )


def test_intersection_group_weights(multi_case: MultiCase) -> None:
    c = multi_case
    prot_attr = [c.sensitive[col].to_numpy() for col in c.sensitive.columns]
    values, groups = am.intersection(
        am.num_samples, c.y_true, c.y_pred, prot_attr=prot_attr, sample_weight=c.weight, return_groups=True
    )
    expected = {tuple(g) if isinstance(g, tuple) else (g,): float(v) for g, v in zip(groups, values)}
    got = dict(zip(c.audit.stats.groups, c.audit.stats.weight.tolist()))
    assert got == pytest.approx(expected, abs=ATOL)
