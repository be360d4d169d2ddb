"""Oracle tests: fairwatch's numbers against fairlearn (and scikit-learn) on real and synthetic data.

fairlearn and scikit-learn are test-only dependencies; the package never imports them. Every
comparison is exact up to floating-point error (``atol=1e-9``).

Where a group has a zero denominator, fairwatch reports ``nan`` (with an UndefinedMetricWarning)
while scikit-learn / fairlearn usually report 0; those cells are compared against ``nan`` using the
denominators of the oracle's own confusion matrix, so a wrong ``nan`` (or a missing one) still fails.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pytest

import fairwatch as fw
from fairwatch.exceptions import UndefinedMetricWarning

fairlearn_metrics = pytest.importorskip("fairlearn.metrics")
skm = pytest.importorskip("sklearn.metrics")

MetricFrame = fairlearn_metrics.MetricFrame
ATOL = 1e-9
METHODS = ("between_groups", "to_overall")
SYNTHETIC_SEEDS = (0, 1, 2)
Oracle = Callable[..., float]
Denominator = Callable[[np.ndarray], float]


# -- oracle metrics that neither fairlearn nor scikit-learn ship ---------------------------------------
def _confusion(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Weighted 2x2 confusion matrix ``[y_true, y_pred]`` from scikit-learn."""
    return np.asarray(skm.confusion_matrix(y_true, y_pred, labels=[0, 1], sample_weight=sample_weight), dtype=float)


def _safe_ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def _npv(cm: np.ndarray) -> float:
    return _safe_ratio(cm[0, 0], cm[0, 0] + cm[1, 0])


def _fdr(cm: np.ndarray) -> float:
    return _safe_ratio(cm[0, 1], cm[0, 1] + cm[1, 1])


def _for(cm: np.ndarray) -> float:
    return _safe_ratio(cm[1, 0], cm[0, 0] + cm[1, 0])


def _prevalence(cm: np.ndarray) -> float:
    return _safe_ratio(cm[1].sum(), cm.sum())


def _from_confusion(derive: Callable[[np.ndarray], float]) -> Oracle:
    """A metric function ``(y_true, y_pred, sample_weight=None)`` computed from scikit-learn's
    confusion matrix."""

    def metric(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        return derive(_confusion(y_true, y_pred, sample_weight))

    return metric


# -- what is compared ----------------------------------------------------------------------------------
def _total(cm: np.ndarray) -> float:
    return float(cm.sum())


def _positives(cm: np.ndarray) -> float:
    return float(cm[1].sum())


def _negatives(cm: np.ndarray) -> float:
    return float(cm[0].sum())


def _predicted_positives(cm: np.ndarray) -> float:
    return float(cm[:, 1].sum())


def _predicted_negatives(cm: np.ndarray) -> float:
    return float(cm[:, 0].sum())


def _f1_denominator(cm: np.ndarray) -> float:
    return float(2 * cm[1, 1] + cm[0, 1] + cm[1, 0])


def _both_classes(cm: np.ndarray) -> float:
    return float(min(cm[0].sum(), cm[1].sum()))


@dataclass(frozen=True)
class Check:
    """One per-group metric: the name fairwatch is asked for, the oracle, and when it is defined.

    ``denominator`` maps a group's weighted confusion matrix to the quantity that must be positive
    for the metric to be defined (fairwatch reports ``nan`` otherwise).
    """

    name: str
    oracle: Oracle
    denominator: Denominator
    on_scores: bool = False
    weighted: bool = True
    #: For metrics derived from the confusion matrix: the derivation (``oracle`` applies it to
    #: scikit-learn's matrix of the rows; the per-group bundle shares one matrix between them).
    derive: Callable[[np.ndarray], float] | None = None

    @property
    def canonical(self) -> str:
        return fw.metrics.get_metric(self.name).name


CLASSIFICATION_CHECKS = (
    Check("selection_rate", fairlearn_metrics.selection_rate, _total),
    Check("accuracy", skm.accuracy_score, _total),
    Check("balanced_accuracy", skm.balanced_accuracy_score, _total),
    Check("true_positive_rate", fairlearn_metrics.true_positive_rate, _positives),
    Check("false_positive_rate", fairlearn_metrics.false_positive_rate, _negatives),
    Check("true_negative_rate", fairlearn_metrics.true_negative_rate, _negatives),
    Check("false_negative_rate", fairlearn_metrics.false_negative_rate, _positives),
    Check("precision", partial(skm.precision_score, zero_division=np.nan), _predicted_positives),
    # "recall" is an alias of true_positive_rate in fairwatch: checked against scikit-learn's recall.
    Check("recall", partial(skm.recall_score, zero_division=np.nan), _positives),
    Check("f1", partial(skm.f1_score, zero_division=np.nan), _f1_denominator),
    Check("negative_predictive_value", _from_confusion(_npv), _predicted_negatives, derive=_npv),
    Check("false_discovery_rate", _from_confusion(_fdr), _predicted_positives, derive=_fdr),
    Check("false_omission_rate", _from_confusion(_for), _predicted_negatives, derive=_for),
    Check("prevalence", _from_confusion(_prevalence), _total, derive=_prevalence),
    Check("count", fairlearn_metrics.count, _total, weighted=False),
    Check("roc_auc", skm.roc_auc_score, _both_classes, on_scores=True),
    Check("brier_score", skm.brier_score_loss, _total, on_scores=True),
)
REGRESSION_CHECKS = (
    Check("mean_absolute_error", skm.mean_absolute_error, _total),
    Check("mean_squared_error", skm.mean_squared_error, _total),
    Check("root_mean_squared_error", skm.root_mean_squared_error, _total),
    Check("mean_prediction", fairlearn_metrics.mean_prediction, _total),
    Check("count", fairlearn_metrics.count, _total, weighted=False),
)
CLASSIFICATION_IDS = [c.name for c in CLASSIFICATION_CHECKS]
REGRESSION_IDS = [c.name for c in REGRESSION_CHECKS]


# -- cases: data, the oracle's numbers and fairwatch's audits, computed once per module ----------------
@dataclass
class Case:
    """One data set and sensitive-feature choice, with everything the tests compare."""

    name: str
    sensitive: pd.Series | pd.DataFrame
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: np.ndarray | None
    weight: np.ndarray | None
    checks: tuple[Check, ...]
    #: Group keys in fairwatch's order (sorted tuples of sensitive values).
    groups: list[tuple[Any, ...]] = field(default_factory=list)
    #: Oracle per-group values, one column per check name, rows aligned with ``groups``.
    by_group: pd.DataFrame = field(default_factory=pd.DataFrame)
    overall: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    #: Whether each metric is defined for each group (from the oracle's confusion matrices).
    defined: dict[str, np.ndarray] = field(default_factory=dict)
    audits: dict[str, fw.Audit] = field(default_factory=dict)
    reference: tuple[Any, ...] = ()
    undefined_warnings: list[str] = field(default_factory=list)
    #: MetricFrame aggregates, one entry per check name (only for cases built with ``frames=True``).
    group_max: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    group_min: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    difference: dict[str, pd.Series] = field(default_factory=dict)
    ratio: dict[str, pd.Series] = field(default_factory=dict)

    def expected(self, check: Check) -> np.ndarray:
        """Oracle values per group, ``nan`` where the metric is undefined."""
        values = self.by_group[check.name].to_numpy(dtype=float)
        return np.where(self.defined[check.name], values, np.nan)

    def audit_kwargs(self) -> dict[str, Any]:
        return {
            "sensitive_features": self.sensitive,
            "scores": self.scores,
            "sample_weight": self.weight,
            "metrics": [c.name for c in self.checks],
            "min_group_size": 0,  # fairlearn compares groups of any size; so must the oracle
        }


def _key(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _sensitive(data: pd.DataFrame, features: Sequence[str]) -> pd.Series | pd.DataFrame:
    return data[features[0]] if len(features) == 1 else data[list(features)]


def _all_metrics(checks: Sequence[Check]) -> Callable[..., np.ndarray]:
    """One MetricFrame metric computing every check on a group's rows (MetricFrame's cost grows
    with the number of metrics times the number of rows; the values are the same)."""

    def all_metrics(
        y_true: np.ndarray,
        y_pred: np.ndarray,
        scores: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> np.ndarray:
        values = []
        confusion = None
        for check in checks:
            if check.derive is not None:
                if confusion is None:
                    confusion = _confusion(y_true, y_pred, sample_weight)
                values.append(check.derive(confusion))
                continue
            kwargs = {"sample_weight": sample_weight} if check.weighted and sample_weight is not None else {}
            values.append(check.oracle(y_true, scores if check.on_scores else y_pred, **kwargs))
        return np.asarray(values, dtype=float)

    return all_metrics


def _metric_frame(case: Case, checks: Sequence[Check], y_pred: np.ndarray) -> Any:
    """A MetricFrame with one metric per check (what ``difference()``/``ratio()`` need)."""
    params = {c.name: {"sample_weight": case.weight} for c in checks if c.weighted and case.weight is not None}
    return MetricFrame(
        metrics={c.name: c.oracle for c in checks},
        y_true=case.y_true,
        y_pred=y_pred,
        sensitive_features=case.sensitive,
        sample_params=params or None,
    )


def _group_confusions(case: Case) -> dict[tuple[Any, ...], np.ndarray]:
    """Per observed group: the weighted confusion matrix. For regression every row counts as a
    true positive, so the matrix only carries the group's total weight (the one denominator)."""
    frame = case.sensitive.to_frame() if isinstance(case.sensitive, pd.Series) else case.sensitive
    indices = frame.groupby(list(frame.columns), sort=True).indices
    binary_true = case.y_true if case.scores is not None else np.ones_like(case.y_true, dtype=np.int64)
    binary_pred = case.y_pred if case.scores is not None else np.ones_like(case.y_pred, dtype=np.int64)
    out = {}
    for key, rows in indices.items():
        w = None if case.weight is None else case.weight[rows]
        out[_key(key)] = _confusion(binary_true[rows], binary_pred[rows], w)
    return out


def _oracle_values(case: Case, confusions: dict[tuple[Any, ...], np.ndarray]) -> None:
    params = {k: v for k, v in (("scores", case.scores), ("sample_weight", case.weight)) if v is not None}
    frame = MetricFrame(
        metrics=_all_metrics(case.checks),
        y_true=case.y_true,
        y_pred=case.y_pred,
        sensitive_features=case.sensitive,
        sample_params=params or None,
    )
    names = [c.name for c in case.checks]
    observed = {_key(k): v for k, v in frame.by_group.items() if isinstance(v, np.ndarray)}
    # MetricFrame lists every combination of sensitive values; fairwatch only the observed ones.
    assert set(observed) == set(confusions), case.name
    case.by_group = pd.DataFrame([observed[g] for g in case.groups], columns=names)
    case.overall = pd.Series(frame.overall, index=names)


def _oracle_aggregates(case: Case) -> None:
    frames = [_metric_frame(case, [c for c in case.checks if not c.on_scores], case.y_pred)]
    score_checks = [c for c in case.checks if c.on_scores]
    if score_checks:
        assert case.scores is not None
        frames.append(_metric_frame(case, score_checks, case.scores))
    case.group_max = pd.concat([f.group_max() for f in frames])
    case.group_min = pd.concat([f.group_min() for f in frames])
    for method in METHODS:
        case.difference[method] = pd.concat([f.difference(method=method) for f in frames])
        case.ratio[method] = pd.concat([f.ratio(method=method) for f in frames])


def _build(case: Case, *, frames: bool = False) -> Case:
    """Fill in the oracle's numbers (MetricFrame aggregates too when ``frames``) and the audits."""
    confusions = _group_confusions(case)
    case.groups = list(confusions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _oracle_values(case, confusions)
        if frames:
            _oracle_aggregates(case)
    case.defined = {c.name: np.array([c.denominator(confusions[g]) > 0 for g in case.groups]) for c in case.checks}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        case.audits["between_groups"] = fw.audit(case.y_true, case.y_pred, **case.audit_kwargs())
    case.undefined_warnings = [str(w.message) for w in caught if issubclass(w.category, UndefinedMetricWarning)]
    stats = case.audits["between_groups"].stats
    case.reference = stats.groups[int(np.argmax(stats.n))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        case.audits["to_overall"] = fw.audit(case.y_true, case.y_pred, method="to_overall", **case.audit_kwargs())
        case.audits["reference"] = fw.audit(case.y_true, case.y_pred, reference=case.reference, **case.audit_kwargs())
    return case


Source = tuple[str, tuple[str, ...], bool]


def _case_id(source: Source) -> str:
    name, features, weighted = source
    return f"{name}-{'+'.join(features)}-{'w' if weighted else 'unw'}"


def _all_weightings(sources: Sequence[tuple[str, tuple[str, ...]]]) -> list[Source]:
    return [(name, features, weighted) for name, features in sources for weighted in (False, True)]


def _binary_source(source: str, adult: pd.DataFrame, synthetic: Callable[[int], pd.DataFrame]) -> pd.DataFrame:
    return adult if source == "adult" else synthetic(int(source.removeprefix("synthetic")))


_SYNTHETIC = [(f"synthetic{seed}", f) for seed in SYNTHETIC_SEEDS for f in (("group",), ("group", "flag"))]
#: Per-group values: every data set, sensitive-feature choice and weighting.
CLASSIFICATION_SOURCES = _all_weightings([("adult", ("sex",)), ("adult", ("race",)), ("adult", ("sex", "race"))])
CLASSIFICATION_SOURCES += _all_weightings(_SYNTHETIC)
REGRESSION_SOURCES = _all_weightings(_SYNTHETIC)
#: MetricFrame.difference()/ratio() (a MetricFrame per metric is slow): a mix of the above.
CLASSIFICATION_FRAME_SOURCES: list[Source] = [
    ("adult", ("sex", "race"), True),
    ("synthetic0", ("group",), True),
    ("synthetic1", ("group",), False),
]
REGRESSION_FRAME_SOURCES: list[Source] = [("synthetic0", ("group", "flag"), True), ("synthetic2", ("group",), False)]


def _classification_case(source: Source, data: pd.DataFrame, *, frames: bool) -> Case:
    _, features, weighted = source
    case = Case(
        name=_case_id(source),
        sensitive=_sensitive(data, features),
        y_true=data["y_true"].to_numpy(),
        y_pred=data["y_pred"].to_numpy(),
        scores=data["score"].to_numpy(),
        weight=data["weight"].to_numpy() if weighted else None,
        checks=CLASSIFICATION_CHECKS,
    )
    return _build(case, frames=frames)


def _regression_case(source: Source, data: pd.DataFrame, *, frames: bool) -> Case:
    _, features, weighted = source
    case = Case(
        name=_case_id(source),
        sensitive=_sensitive(data, features),
        y_true=data["y_true"].to_numpy(),
        y_pred=data["y_pred"].to_numpy(),
        scores=None,
        weight=data["weight"].to_numpy() if weighted else None,
        checks=REGRESSION_CHECKS,
    )
    return _build(case, frames=frames)


@pytest.fixture(scope="module", params=CLASSIFICATION_SOURCES, ids=_case_id)
def clf_case(
    request: pytest.FixtureRequest,
    adult_predictions: pd.DataFrame,
    synthetic_binary: Callable[[int], pd.DataFrame],
) -> Case:
    data = _binary_source(request.param[0], adult_predictions, synthetic_binary)
    return _classification_case(request.param, data, frames=False)


@pytest.fixture(scope="module", params=CLASSIFICATION_FRAME_SOURCES, ids=_case_id)
def clf_frame_case(
    request: pytest.FixtureRequest,
    adult_predictions: pd.DataFrame,
    synthetic_binary: Callable[[int], pd.DataFrame],
) -> Case:
    data = _binary_source(request.param[0], adult_predictions, synthetic_binary)
    return _classification_case(request.param, data, frames=True)


@pytest.fixture(scope="module", params=REGRESSION_SOURCES, ids=_case_id)
def reg_case(request: pytest.FixtureRequest, synthetic_regression: Callable[[int], pd.DataFrame]) -> Case:
    data = synthetic_regression(int(request.param[0].removeprefix("synthetic")))
    return _regression_case(request.param, data, frames=False)


@pytest.fixture(scope="module", params=REGRESSION_FRAME_SOURCES, ids=_case_id)
def reg_frame_case(request: pytest.FixtureRequest, synthetic_regression: Callable[[int], pd.DataFrame]) -> Case:
    data = synthetic_regression(int(request.param[0].removeprefix("synthetic")))
    return _regression_case(request.param, data, frames=True)


def _check(checks: Sequence[Check], name: str) -> Check:
    return next(c for c in checks if c.name == name)


# -- per-group values, overall values, disparities --------------------------------------------------------
def _assert_per_group(case: Case, check: Check) -> None:
    audit = case.audits["between_groups"]
    assert list(audit.stats.groups) == case.groups
    got = audit.summary.values[check.canonical]
    np.testing.assert_allclose(got, case.expected(check), atol=ATOL, rtol=0, equal_nan=True, err_msg=check.name)


def _assert_overall(case: Case, check: Check) -> None:
    got = case.audits["between_groups"].summary.overall[check.canonical]
    assert got == pytest.approx(float(case.overall[check.name]), abs=ATOL, nan_ok=True)


def _assert_disparity(case: Case, check: Check, method: str) -> None:
    """Audit disparities against ``MetricFrame.difference()``/``ratio()`` (and ``group_max()``/
    ``group_min()`` for the extremes)."""
    defined = case.defined[check.name]
    raw = case.by_group[check.name].to_numpy(dtype=float)
    # Both sides must skip undefined groups for the oracle's aggregates to be comparable.
    assert np.isnan(raw[~defined]).all(), f"the oracle gives numbers for undefined groups of {check.name}"
    d = case.audits[method].summary.disparities[check.canonical]
    assert d.method == method
    assert d.difference == pytest.approx(float(case.difference[method][check.name]), abs=ATOL)
    assert d.ratio == pytest.approx(float(case.ratio[method][check.name]), abs=ATOL)
    if method == "between_groups":
        assert d.max_value == pytest.approx(float(case.group_max[check.name]), abs=ATOL)
        assert d.min_value == pytest.approx(float(case.group_min[check.name]), abs=ATOL)
        assert d.groups_compared == int(defined.sum())


def _assert_reference(case: Case, check: Check) -> None:
    """``reference`` disparities against the oracle's per-group values: difference is the largest
    ``|v_g - v_ref|``, ratio the smallest ``v_g / v_ref`` (directional; undefined when ``v_ref`` is 0)."""
    values = case.expected(check)
    ref = case.groups.index(case.reference)
    v_ref, others = values[ref], np.delete(values, ref)
    others = others[~np.isnan(others)]
    d = case.audits["reference"].summary.disparities[check.canonical]
    assert d.method == "reference"
    assert d.reference == case.reference
    assert d.difference == pytest.approx(float(np.max(np.abs(others - v_ref))), abs=ATOL)
    ratio = float(np.min(others / v_ref)) if v_ref > 0 and others.size else float("nan")
    assert d.ratio == pytest.approx(ratio, abs=ATOL, nan_ok=True)


CLASSIFICATION_DISPARITY_IDS = [name for name in CLASSIFICATION_IDS if name != "count"]
REGRESSION_DISPARITY_IDS = [name for name in REGRESSION_IDS if name != "count"]


@pytest.mark.parametrize("name", CLASSIFICATION_IDS)
def test_classification_per_group_matches_metricframe(clf_case: Case, name: str) -> None:
    _assert_per_group(clf_case, _check(CLASSIFICATION_CHECKS, name))


@pytest.mark.parametrize("name", CLASSIFICATION_IDS)
def test_classification_overall_matches_metricframe(clf_case: Case, name: str) -> None:
    _assert_overall(clf_case, _check(CLASSIFICATION_CHECKS, name))


@pytest.mark.parametrize("name", CLASSIFICATION_DISPARITY_IDS)
def test_classification_reference_disparity(clf_case: Case, name: str) -> None:
    _assert_reference(clf_case, _check(CLASSIFICATION_CHECKS, name))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", CLASSIFICATION_DISPARITY_IDS)
def test_classification_disparity_matches_metricframe(clf_frame_case: Case, name: str, method: str) -> None:
    _assert_disparity(clf_frame_case, _check(CLASSIFICATION_CHECKS, name), method)


def test_undefined_groups_warn_once_each(clf_case: Case) -> None:
    """A zero denominator gives nan plus one UndefinedMetricWarning naming the metric and group."""
    audit = clf_case.audits["between_groups"]
    expected = []
    for check in clf_case.checks:
        for g in np.flatnonzero(~clf_case.defined[check.name]).tolist():
            expected.append(f"{check.canonical} is undefined for group {audit.stats.group_label(g)}:")
    # "recall" and "true_positive_rate" are one metric in fairwatch: it warns once per group.
    expected = sorted(set(expected))
    got = sorted(msg.split(":")[0] + ":" for msg in clf_case.undefined_warnings)
    assert got == expected


@pytest.mark.parametrize("name", REGRESSION_IDS)
def test_regression_per_group_matches_metricframe(reg_case: Case, name: str) -> None:
    _assert_per_group(reg_case, _check(REGRESSION_CHECKS, name))


@pytest.mark.parametrize("name", REGRESSION_IDS)
def test_regression_overall_matches_metricframe(reg_case: Case, name: str) -> None:
    _assert_overall(reg_case, _check(REGRESSION_CHECKS, name))


@pytest.mark.parametrize("name", REGRESSION_DISPARITY_IDS)
def test_regression_reference_disparity(reg_case: Case, name: str) -> None:
    _assert_reference(reg_case, _check(REGRESSION_CHECKS, name))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", REGRESSION_DISPARITY_IDS)
def test_regression_disparity_matches_metricframe(reg_frame_case: Case, name: str, method: str) -> None:
    _assert_disparity(reg_frame_case, _check(REGRESSION_CHECKS, name), method)


#: fairwatch's single-metric disparity functions and the metric they aggregate.
SINGLE_METRIC_FUNCTIONS = {
    "demographic_parity": "selection_rate",
    "equal_opportunity": "true_positive_rate",
    "predictive_parity": "precision",
}


@pytest.mark.parametrize("kind", ["difference", "ratio"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("disparity", list(SINGLE_METRIC_FUNCTIONS))
def test_disparity_functions_match_metricframe(clf_frame_case: Case, disparity: str, method: str, kind: str) -> None:
    """``fairwatch.metrics.<disparity>_<kind>`` against MetricFrame over the metric (the only oracle
    for predictive parity, which fairlearn does not ship)."""
    case = clf_frame_case
    function = getattr(fw.metrics, f"{disparity}_{kind}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        got = function(
            case.y_true, case.y_pred, sensitive_features=case.sensitive, method=method, sample_weight=case.weight
        )
    aggregates = case.difference if kind == "difference" else case.ratio
    assert got == pytest.approx(float(aggregates[method][SINGLE_METRIC_FUNCTIONS[disparity]]), abs=ATOL)


# -- the Audit views carry the same numbers ----------------------------------------------------------------
def _view_value(value: Any) -> float:
    return float("nan") if value is None or pd.isna(value) else float(value)


def test_audit_views_match_oracle(clf_case: Case) -> None:
    """``by_group``, ``wide()`` and ``to_dict()`` report the oracle's numbers (nan as null/None)."""
    audit = clf_case.audits["between_groups"]
    names = list(audit.sensitive_features)
    canonical = {c.canonical: c for c in clf_case.checks}
    tidy = audit.by_group
    wide = audit.wide()
    report = audit.to_dict()
    assert [tuple(g["group"][n] for n in names) for g in report["groups"]] == clf_case.groups
    for metric, check in canonical.items():
        expected = clf_case.expected(check)
        rows = tidy[tidy["metric"] == metric]
        np.testing.assert_allclose(
            [_view_value(v) for v in rows["value"]], expected, atol=ATOL, rtol=0, equal_nan=True, err_msg=metric
        )
        np.testing.assert_allclose(
            [_view_value(v) for v in wide[metric]], expected, atol=ATOL, rtol=0, equal_nan=True, err_msg=metric
        )
        np.testing.assert_allclose(
            [_view_value(g["metrics"][metric]["value"]) for g in report["groups"]],
            expected,
            atol=ATOL,
            rtol=0,
            equal_nan=True,
            err_msg=metric,
        )
        assert report["overall"][metric] == pytest.approx(float(clf_case.overall[check.name]), abs=ATOL)
    assert [int(n) for n in wide["n"]] == [int(g["n"]) for g in report["groups"]]
    np.testing.assert_array_equal(wide["n"].to_numpy(), clf_case.by_group["count"].to_numpy())


# -- label encodings and pos_label --------------------------------------------------------------------------
def _label_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Codes (1 = positive) for y_true and y_pred, scores, groups and weights; group "z" has only
    positive labels, so its false positive and true negative rates are undefined."""
    rng = np.random.default_rng(7)
    n = 1_500
    groups = rng.choice(np.array(["x", "y", "z"]), size=n, p=[0.5, 0.4, 0.1])
    y_true = (rng.random(n) < np.where(groups == "z", 1.0, 0.35)).astype(np.int64)
    scores = np.round(np.clip(0.3 * y_true + rng.normal(0.35, 0.2, n), 0.0, 1.0), 2)
    y_pred = (scores >= 0.5).astype(np.int64)
    return y_true, y_pred, scores, groups, rng.exponential(1.0, n)


def _with_pos_label(function: Callable[..., float], pos_label: Any) -> Oracle:
    return partial(function, pos_label=pos_label)


LABELINGS = [
    pytest.param((0, 1), None, id="0-1"),
    pytest.param((-1, 1), None, id="minus1-1"),
    pytest.param((False, True), None, id="bool"),
    pytest.param(("no", "yes"), "yes", id="str"),
    pytest.param((">50K", "<=50K"), "<=50K", id="str-positive-sorts-first"),
]


@pytest.mark.parametrize(("labels", "pos_label"), LABELINGS)
def test_label_encodings_match_metricframe(labels: tuple[Any, Any], pos_label: Any) -> None:
    """Labels other than 0/1 (with ``pos_label=`` where it cannot be inferred) give the same
    (weighted) numbers as fairlearn/scikit-learn told the same positive label; undefined cells are
    nan."""
    codes_true, codes_pred, scores, groups, weight = _label_data()
    values = np.asarray(labels)
    y_true, y_pred = values[codes_true], values[codes_pred]
    positive = labels[1]
    checks = [
        Check("selection_rate", _with_pos_label(fairlearn_metrics.selection_rate, positive), _total),
        Check("true_positive_rate", _with_pos_label(fairlearn_metrics.true_positive_rate, positive), _positives),
        Check("false_positive_rate", _with_pos_label(fairlearn_metrics.false_positive_rate, positive), _negatives),
        Check("true_negative_rate", _with_pos_label(fairlearn_metrics.true_negative_rate, positive), _negatives),
        Check(
            "precision", partial(skm.precision_score, pos_label=positive, zero_division=np.nan), _predicted_positives
        ),
        Check("f1", partial(skm.f1_score, pos_label=positive, zero_division=np.nan), _f1_denominator),
        Check("accuracy", skm.accuracy_score, _total),
        Check("balanced_accuracy", skm.balanced_accuracy_score, _total),
    ]
    case = Case(
        name=str(labels),
        sensitive=pd.Series(groups, name="group"),
        y_true=codes_true,
        y_pred=codes_pred,
        scores=scores,
        weight=weight,
        checks=tuple(checks),
    )
    confusions = _group_confusions(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = MetricFrame(
            metrics={c.name: c.oracle for c in checks},
            y_true=y_true,
            y_pred=y_pred,
            sensitive_features=case.sensitive,
            sample_params={c.name: {"sample_weight": weight} for c in checks},
        )
        auc = MetricFrame(
            metrics=skm.roc_auc_score,
            y_true=codes_true,
            y_pred=scores,
            sensitive_features=case.sensitive,
            sample_params={"sample_weight": weight},
        )
        audit = fw.audit(
            y_true,
            y_pred,
            scores=scores,
            sensitive_features=case.sensitive,
            sample_weight=weight,
            pos_label=pos_label,
            metrics=[c.name for c in checks] + ["roc_auc"],
        )
    assert audit.stats.pos_label == positive
    assert [g[0] for g in audit.stats.groups] == ["x", "y", "z"]
    for check in checks:
        defined = np.array([check.denominator(confusions[g]) > 0 for g in audit.stats.groups])
        oracle = frame.by_group[check.name].to_numpy(dtype=float)
        np.testing.assert_allclose(
            audit.summary.values[check.name],
            np.where(defined, oracle, np.nan),
            atol=ATOL,
            rtol=0,
            equal_nan=True,
            err_msg=check.name,
        )
    # group "z" has a single class: no AUC on either side
    np.testing.assert_allclose(
        audit.summary.values["roc_auc"], auc.by_group.to_numpy(dtype=float), atol=ATOL, rtol=0, equal_nan=True
    )


# -- fairlearn's disparity functions ------------------------------------------------------------------------
_HAS_AGG = "agg" in inspect.signature(fairlearn_metrics.equalized_odds_difference).parameters


@dataclass(frozen=True)
class DisparityFunction:
    name: str
    composite: str
    metrics: tuple[str, ...]
    agg: str | None = None

    @property
    def field(self) -> str:
        return "ratio" if self.name.endswith("_ratio") else "difference"

    def oracle(self) -> Oracle:
        if not hasattr(fairlearn_metrics, self.name):
            pytest.skip(f"fairlearn {self.name} is not available in this version")
        function: Oracle = getattr(fairlearn_metrics, self.name)
        return function

    def kwargs(self) -> dict[str, Any]:
        return {} if self.agg is None else {"agg": self.agg}


_DP = ("selection_rate",)
_EO = ("true_positive_rate", "false_positive_rate")
_EOP = ("true_positive_rate",)
DISPARITY_FUNCTIONS = [
    DisparityFunction("demographic_parity_difference", "demographic_parity", _DP),
    DisparityFunction("demographic_parity_ratio", "demographic_parity", _DP),
    DisparityFunction("equalized_odds_difference", "equalized_odds", _EO, "worst_case"),
    DisparityFunction("equalized_odds_ratio", "equalized_odds", _EO, "worst_case"),
    DisparityFunction("equalized_odds_difference", "equalized_odds", _EO, "mean"),
    DisparityFunction("equalized_odds_ratio", "equalized_odds", _EO, "mean"),
    DisparityFunction("equal_opportunity_difference", "equal_opportunity", _EOP),
    DisparityFunction("equal_opportunity_ratio", "equal_opportunity", _EOP),
]
#: Adult with its census weights (fnlwgt) only; the synthetic data with and without weights.
DISPARITY_SOURCES: list[Source] = [("adult", ("sex", "race"), True)]
DISPARITY_SOURCES += _all_weightings([("synthetic0", ("group",))])


@dataclass(frozen=True)
class DisparityData:
    sensitive: pd.Series | pd.DataFrame
    y_true: np.ndarray
    y_pred: np.ndarray
    weight: np.ndarray | None


@pytest.fixture(scope="module", params=DISPARITY_SOURCES, ids=_case_id)
def disparity_data(
    request: pytest.FixtureRequest,
    adult_predictions: pd.DataFrame,
    synthetic_binary: Callable[[int], pd.DataFrame],
) -> DisparityData:
    source, features, weighted = request.param
    data = _binary_source(source, adult_predictions, synthetic_binary)
    return DisparityData(
        sensitive=_sensitive(data, features),
        y_true=data["y_true"].to_numpy(),
        y_pred=data["y_pred"].to_numpy(),
        weight=data["weight"].to_numpy() if weighted else None,
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("function", DISPARITY_FUNCTIONS, ids=lambda f: f"{f.name}-{f.agg or 'single'}")
def test_disparity_function_matches_fairlearn(
    disparity_data: DisparityData, function: DisparityFunction, method: str
) -> None:
    if function.agg == "mean" and not _HAS_AGG:
        pytest.skip("this fairlearn has no agg= on equalized odds")
    common = {
        "sensitive_features": disparity_data.sensitive,
        "method": method,
        "sample_weight": disparity_data.weight,
        **function.kwargs(),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = float(function.oracle()(disparity_data.y_true, disparity_data.y_pred, **common))
    got = getattr(fw.metrics, function.name)(disparity_data.y_true, disparity_data.y_pred, **common)
    assert isinstance(got, float)
    assert got == pytest.approx(expected, abs=ATOL)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        audit = fw.audit(
            disparity_data.y_true,
            disparity_data.y_pred,
            sensitive_features=disparity_data.sensitive,
            sample_weight=disparity_data.weight,
            metrics=list(function.metrics),
            method=method,
            agg=function.agg or "worst_case",
        )
    disparity = audit.summary.disparities[function.composite]
    assert getattr(disparity, function.field) == pytest.approx(expected, abs=ATOL)
    if function.agg is not None:
        assert disparity.agg == function.agg
