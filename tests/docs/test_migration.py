"""The fairlearn / AIF360 migration tables: one source for the documentation and the test.

Every :class:`Pair` below is a row of the tables in ``docs/migration.md``. For metric rows, the
two expressions shown in the table are evaluated as they are written: the fairwatch one in the
namespace of the page's first code block, the peer's in that namespace plus the page's second
code block (fairlearn and AIF360 are test-only oracles). Mitigation and data set rows show a
short form in the table and run a function here that fits both sides on the same data.

The test fails when the tables in the page differ from what :func:`render_tables` makes of
:data:`PAIRS`; ``python tests/docs/test_migration.py`` rewrites them.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "migration.md"
START, END = "<!-- migration-tables:start -->", "<!-- migration-tables:end -->"
ATOL = 1e-9

Namespace = dict[str, Any]


@dataclass(frozen=True)
class Pair:
    """One row: the peer's call, fairwatch's equivalent, and how the test checks they agree.

    ``peer`` and ``ours`` are the table cells. Without ``check``, both are Python expressions that
    are evaluated and compared (to ``ATOL``); with ``check``, the cells are descriptions and
    ``check(namespace)`` fits and compares both sides itself.
    """

    section: str
    peer: str
    ours: str
    note: str = ""
    check: Callable[[Namespace], None] | None = None

    @property
    def id(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.]+", "_", self.peer).strip("_")[:80]


SECTIONS = {
    "fairlearn": ("fairlearn metric functions", "fairlearn.metrics (as `fl`)"),
    "metricframe": ("fairlearn `MetricFrame`", "fairlearn"),
    "aif360": ("AIF360 `ClassificationMetric` and `BinaryLabelDatasetMetric`", "AIF360"),
    "aif360-sklearn": ("AIF360 scikit-learn API (`aif360.sklearn.metrics` as `am`)", "AIF360"),
    "mitigation": ("Mitigation", "fairlearn / AIF360"),
    "datasets": ("Data sets", "fairlearn / AIF360"),
}

SAME = "same signature and numbers"
DIRECTED = "`unprivileged / privileged` in both: against a reference, fairwatch's ratio keeps its direction"
ABSOLUTE = "fairwatch reports the absolute gap to the reference group"


def _fairlearn(name: str, extra: str = "", note: str = SAME) -> Pair:
    call = f"{name}(y, p, sensitive_features=s{extra})"
    return Pair("fairlearn", f"fl.{call}", f"fw.metrics.{call}", note)


def _derived(base: str, stat: str, ours_metric: str, attribute: str) -> Pair:
    op = ">=" if stat in ("ratio", "group_min") else "<="
    return Pair(
        "fairlearn",
        f"fl.{base}_{stat}(y, p, sensitive_features=s)",
        f'audit.summary.disparities["{ours_metric}"].{attribute}',
        f'also usable in checks: `audit.check("{ours_metric}_{stat.removeprefix("group_")} {op} ...")`',
    )


# -- mitigation: each side fitted on the same data -------------------------------------------------------
@cache
def _toy() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A small synthetic task where the groups differ in base rate and feature distribution."""
    rng = np.random.default_rng(0)
    n = 600
    group = rng.choice(np.array(["a", "b", "c"]), n, p=[0.5, 0.3, 0.2])
    shift = (group == "b") * 0.8 - (group == "c") * 0.5
    X = np.column_stack([rng.normal(size=n) + shift, rng.normal(size=n), rng.normal(size=n) * 0.5 + shift])
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=n) > 0.3).astype(int)
    return X, y, group


def _quiet_import(name: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            return pytest.importorskip(name)
        finally:
            logging.disable(logging.NOTSET)


def _check_exponentiated_gradient(ns: Namespace) -> None:
    from sklearn.linear_model import LogisticRegression

    from fairwatch.mitigation import ExponentiatedGradient

    flr = _quiet_import("fairlearn.reductions")
    X, y, group = _toy()
    theirs = flr.ExponentiatedGradient(LogisticRegression(), flr.DemographicParity(), eps=0.01)
    theirs.fit(X, y, sensitive_features=group)
    ours = ExponentiatedGradient(
        LogisticRegression(), "demographic_parity", eps=0.01, gap_check="exact", warm_start=False, progress=False
    ).fit(X, y, sensitive_features=group)
    np.testing.assert_allclose(ours.predict_proba(X), theirs._pmf_predict(X), rtol=0, atol=ATOL)


def _check_grid_search(ns: Namespace) -> None:
    from sklearn.linear_model import LogisticRegression

    from fairwatch.mitigation import GridSearch

    flr = _quiet_import("fairlearn.reductions")
    X, y, group = _toy()
    for theirs_constraint, ours_constraint in [
        (flr.DemographicParity(), "demographic_parity"),
        (flr.EqualizedOdds(), "equalized_odds"),
        (flr.TruePositiveRateParity(), "true_positive_rate_parity"),
        (flr.FalsePositiveRateParity(), "false_positive_rate_parity"),
        (flr.ErrorRateParity(), "error_rate_parity"),
    ]:
        theirs = flr.GridSearch(LogisticRegression(), theirs_constraint, grid_size=7).fit(
            X, y, sensitive_features=group
        )
        ours = GridSearch(LogisticRegression(), ours_constraint, grid_size=7, progress=False).fit(
            X, y, sensitive_features=group
        )
        their_grid = theirs.lambda_vecs_.sort_index()
        np.testing.assert_allclose(ours.lambda_vecs_.to_numpy(), their_grid.to_numpy(), rtol=0, atol=ATOL)
        np.testing.assert_allclose(ours.objectives_, theirs.objectives_, rtol=0, atol=2e-3)


def _check_bounded_group_loss(ns: Namespace) -> None:
    from sklearn.linear_model import LinearRegression

    from fairwatch.mitigation import BoundedGroupLoss, GridSearch

    flr = _quiet_import("fairlearn.reductions")
    X, _, group = _toy()
    rng = np.random.default_rng(1)
    y = np.clip(X @ np.array([0.5, -0.3, 0.2]) + rng.normal(0, np.where(group == "b", 0.6, 0.2)), -1.0, 1.0)
    theirs = flr.GridSearch(
        LinearRegression(), flr.BoundedGroupLoss(flr.ZeroOneLoss(), upper_bound=0.2), grid_size=7
    ).fit(X, y, sensitive_features=group)
    ours = GridSearch(LinearRegression(), BoundedGroupLoss("zero_one", upper_bound=0.2), grid_size=7, progress=False)
    ours.fit(X, y, sensitive_features=group)
    np.testing.assert_allclose(ours.objectives_, theirs.objectives_, rtol=0, atol=ATOL)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=0, atol=ATOL)


def _check_threshold_optimizer(ns: Namespace) -> None:
    from sklearn.linear_model import LogisticRegression

    from fairwatch.mitigation import ThresholdOptimizer

    flp = _quiet_import("fairlearn.postprocessing")
    X, y, group = _toy()
    model = LogisticRegression().fit(X, y)
    for constraints in ("demographic_parity", "equalized_odds"):
        params = {"constraints": constraints, "prefit": True, "predict_method": "predict_proba"}
        ours = ThresholdOptimizer(model, **params).fit(X, y, sensitive_features=group)
        theirs = flp.ThresholdOptimizer(estimator=model, **params).fit(X, y, sensitive_features=group)
        np.testing.assert_allclose(
            ours._pmf_predict(X, sensitive_features=group),
            theirs._pmf_predict(X, sensitive_features=group),
            rtol=0,
            atol=ATOL,
        )
        np.testing.assert_array_equal(
            ours.predict(X, sensitive_features=group, random_state=0),
            theirs.predict(X, sensitive_features=group, random_state=0),
        )


def _check_correlation_remover(ns: Namespace) -> None:
    from fairwatch.mitigation import CorrelationRemover

    flpre = _quiet_import("fairlearn.preprocessing")
    frame = ns["X"].assign(male=(ns["s"] == "Male").astype(float))
    ours = CorrelationRemover(sensitive_feature_ids=["male"], alpha=0.5).fit(frame)
    theirs = flpre.CorrelationRemover(sensitive_feature_ids=["male"], alpha=0.5).fit(frame)
    np.testing.assert_allclose(ours.transform(frame), theirs.transform(frame), rtol=0, atol=ATOL)


def _aif360_truth(y: np.ndarray, privileged: np.ndarray, scores: np.ndarray | None = None) -> tuple[Any, Any]:
    datasets = _quiet_import("aif360.datasets")
    frame = pd.DataFrame({"priv": privileged.astype(float), "label": y.astype(float)})
    truth = datasets.BinaryLabelDataset(df=frame, label_names=["label"], protected_attribute_names=["priv"])
    predicted = truth.copy(deepcopy=True)
    if scores is not None:
        predicted.scores = scores.reshape(-1, 1)
    return truth, predicted


_AIF_GROUPS = {"unprivileged_groups": [{"priv": 0.0}], "privileged_groups": [{"priv": 1.0}]}


def _check_reweighing(ns: Namespace) -> None:
    from sklearn.linear_model import LogisticRegression

    from fairwatch.mitigation import Reweighing, reweighing_weights

    pre = _quiet_import("aif360.algorithms.preprocessing")
    y, s = ns["y"], ns["s"]
    truth, _ = _aif360_truth(y, (s == "Male").to_numpy())
    theirs = pre.Reweighing(**_AIF_GROUPS).fit_transform(truth).instance_weights
    ours = reweighing_weights(y, sensitive_features=s)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=ATOL)
    # the scikit-learn form of AIF360 reads the groups from the index
    sk_pre = _quiet_import("aif360.sklearn.preprocessing")
    index = pd.Index(s.to_numpy(), name="sex")
    _, sk_weights = sk_pre.Reweighing(prot_attr="sex").fit_transform(
        pd.DataFrame({"x": np.zeros(len(y))}, index=index), pd.Series(y, index=index)
    )
    np.testing.assert_allclose(ours, np.asarray(sk_weights), rtol=0, atol=ATOL)
    # the estimator form trains its estimator with exactly these weights
    fitted = Reweighing(LogisticRegression(max_iter=1000)).fit(ns["X"], y, sensitive_features=s)
    direct = LogisticRegression(max_iter=1000).fit(ns["X"], y, sample_weight=ours)
    np.testing.assert_allclose(fitted.predict_proba(ns["X"]), direct.predict_proba(ns["X"]), rtol=0, atol=1e-9)


def _check_reject_option(ns: Namespace) -> None:
    from sklearn.linear_model import LogisticRegression

    from fairwatch.mitigation import RejectOptionClassifier

    post = _quiet_import("aif360.algorithms.postprocessing")
    X, y, s = ns["X"].iloc[:3000], ns["y"][:3000], ns["s"].iloc[:3000]
    model = LogisticRegression(max_iter=1000).fit(X, y)
    scores = model.predict_proba(X)[:, 1]
    truth, predicted = _aif360_truth(y, (s == "Male").to_numpy(), scores)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = post.RejectOptionClassification(
            **_AIF_GROUPS, num_class_thresh=10, num_ROC_margin=6, metric_name="Statistical parity difference"
        ).fit(truth, predicted)
    ours = RejectOptionClassifier(model, prefit=True, n_thresholds=10, n_margins=6).fit(X, y, sensitive_features=s)
    assert ours.threshold_ == pytest.approx(theirs.classification_threshold, abs=1e-12)
    assert ours.margin_ == pytest.approx(theirs.ROC_margin, abs=1e-12)
    np.testing.assert_array_equal(
        ours.predict(X, sensitive_features=s), theirs.predict(predicted).labels.ravel().astype(int)
    )


def _check_calibrated_equalized_odds(ns: Namespace) -> None:
    from sklearn.linear_model import LogisticRegression

    from fairwatch.mitigation import CalibratedEqualizedOdds

    post = _quiet_import("aif360.algorithms.postprocessing")
    X, y, s = ns["X"], ns["y"], ns["s"]
    model = LogisticRegression(max_iter=1000).fit(X, y)
    truth, predicted = _aif360_truth(y, (s == "Male").to_numpy(), model.predict_proba(X)[:, 1])
    theirs = post.CalibratedEqOddsPostprocessing(**_AIF_GROUPS, cost_constraint="fnr", seed=0).fit(truth, predicted)
    ours = CalibratedEqualizedOdds(model, cost_constraint="fnr", prefit=True).fit(X, y, sensitive_features=s)
    assert ours.groups_ == [("Female",), ("Male",)]
    np.testing.assert_allclose(ours.mix_rates_, [theirs.unpriv_mix_rate, theirs.priv_mix_rate], rtol=0, atol=ATOL)


def _check_load_adult(ns: Namespace) -> None:
    """The peers download Adult at run time (fairlearn from OpenML, AIF360 from files you place by
    hand), which a test must not do; the bundled file is checked against the published facts of the
    UCI training split instead."""
    from fairwatch.datasets import ADULT_COLUMNS, load_adult

    frame = load_adult()
    assert frame.shape == (32_561, 15)
    assert tuple(frame.columns) == ADULT_COLUMNS
    assert int((frame["income"] == ">50K").sum()) == 7_841
    assert int((frame["sex"] == "Female").sum()) == 10_771


PAIRS: tuple[Pair, ...] = (
    # -- fairlearn.metrics ---------------------------------------------------------------------------
    _fairlearn("demographic_parity_difference"),
    _fairlearn("demographic_parity_difference", ', method="to_overall"'),
    _fairlearn("demographic_parity_difference", ", sample_weight=w"),
    _fairlearn("demographic_parity_ratio"),
    _fairlearn("equalized_odds_difference"),
    _fairlearn("equalized_odds_difference", ', agg="mean"'),
    _fairlearn("equalized_odds_ratio"),
    _fairlearn("equalized_odds_ratio", ', method="to_overall", agg="mean"'),
    _fairlearn("equal_opportunity_difference"),
    _fairlearn("equal_opportunity_ratio"),
    _derived("selection_rate", "difference", "selection_rate", "difference"),
    _derived("true_positive_rate", "ratio", "true_positive_rate", "ratio"),
    _derived("false_positive_rate", "difference", "false_positive_rate", "difference"),
    _derived("false_negative_rate", "ratio", "false_negative_rate", "ratio"),
    _derived("accuracy_score", "difference", "accuracy", "difference"),
    _derived("accuracy_score", "group_min", "accuracy", "min_value"),
    _derived("zero_one_loss", "group_max", "error_rate", "max_value"),
    Pair(
        "fairlearn",
        "fl.roc_auc_score_group_min(y, proba, sensitive_features=s)",
        'audit.summary.disparities["roc_auc"].min_value',
        "scores go in `scores=` of `fw.audit`",
    ),
    Pair("fairlearn", "fl.selection_rate(y, p)", 'audit.summary.overall["selection_rate"]', "overall value"),
    Pair("fairlearn", "fl.true_positive_rate(y, p)", 'audit.summary.overall["true_positive_rate"]', "overall value"),
    Pair("fairlearn", "fl.true_negative_rate(y, p)", 'audit.summary.overall["true_negative_rate"]', "overall value"),
    Pair("fairlearn", "fl.false_negative_rate(y, p)", 'audit.summary.overall["false_negative_rate"]', "overall value"),
    Pair(
        "fairlearn",
        "fl.false_positive_rate(y, p)",
        'audit.summary.overall["false_positive_rate"]',
        "overall value",
    ),
    Pair("fairlearn", "fl.count(y, p)", "audit.stats.n_rows", "overall value"),
    Pair(
        "fairlearn",
        "fl.mean_prediction(y, proba)",
        'fw.audit(y, proba, sensitive_features=s, metrics=["mean_prediction"]).summary.overall["mean_prediction"]',
        "regression metrics: `mean_prediction`, `mean_absolute_error`, `root_mean_squared_error`, ...",
    ),
    # -- MetricFrame ---------------------------------------------------------------------------------
    Pair("metricframe", 'mf.by_group["selection_rate"]', 'g["selection_rate"]', "`audit.by_group` is the tidy form"),
    Pair("metricframe", 'mf.by_group["true_positive_rate"]', 'g["true_positive_rate"]'),
    Pair("metricframe", 'mf.by_group["precision"]', 'g["precision"]'),
    Pair("metricframe", 'mf.overall["accuracy"]', 'audit.summary.overall["accuracy"]'),
    Pair(
        "metricframe",
        'mf.difference()["true_positive_rate"]',
        'audit.summary.disparities["true_positive_rate"].difference',
    ),
    Pair(
        "metricframe",
        'mf.difference(method="to_overall")["selection_rate"]',
        'fw.audit(y, p, sensitive_features=s, method="to_overall").summary.disparities["selection_rate"].difference',
    ),
    Pair("metricframe", 'mf.ratio()["false_positive_rate"]', 'audit.summary.disparities["false_positive_rate"].ratio'),
    Pair("metricframe", 'mf.group_min()["accuracy"]', 'audit.summary.disparities["accuracy"].min_value'),
    Pair("metricframe", 'mf.group_max()["selection_rate"]', 'audit.summary.disparities["selection_rate"].max_value'),
    Pair(
        "metricframe",
        'MetricFrame(metrics=fl.selection_rate, y_true=y, y_pred=p, sensitive_features=df[["sex", "race"]]).by_group',
        'fw.audit(y, p, sensitive_features=df[["sex", "race"]], metrics=["selection_rate"], min_group_size=0).wide()'
        '.set_index(["sex", "race"])["selection_rate"]',
        "several sensitive columns: intersectional groups in both; `min_group_size=0` reports every group, as "
        "fairlearn does (fairwatch's own functions suppress groups under 30 rows by default)",
    ),
    # -- AIF360 ClassificationMetric / BinaryLabelDatasetMetric --------------------------------------------
    Pair("aif360", "dm.disparate_impact()", 'ref.summary.disparities["demographic_parity"].ratio', DIRECTED),
    Pair(
        "aif360",
        "dm.statistical_parity_difference()",
        'g.loc["Female", "selection_rate"] - g.loc["Male", "selection_rate"]',
        'signed; `abs(...)` is `ref.summary.disparities["demographic_parity"].difference`',
    ),
    Pair(
        "aif360",
        "abs(cm.statistical_parity_difference())",
        'ref.summary.disparities["demographic_parity"].difference',
        ABSOLUTE,
    ),
    Pair("aif360", "cm.base_rate(privileged=False)", 'g.loc["Female", "prevalence"]'),
    Pair("aif360", "dm.num_instances(privileged=True)", 'g.loc["Male", "count"]'),
    Pair("aif360", "cm.true_positive_rate(privileged=False)", 'g.loc["Female", "true_positive_rate"]'),
    Pair("aif360", "cm.false_omission_rate(privileged=True)", 'g.loc["Male", "false_omission_rate"]'),
    Pair("aif360", "cm.accuracy()", 'audit.summary.overall["accuracy"]'),
    Pair(
        "aif360",
        "abs(cm.equal_opportunity_difference())",
        'ref.summary.disparities["equal_opportunity"].difference',
        ABSOLUTE,
    ),
    Pair(
        "aif360",
        "cm.average_odds_difference()",
        '((g.loc["Female", "true_positive_rate"] - g.loc["Male", "true_positive_rate"])'
        ' + (g.loc["Female", "false_positive_rate"] - g.loc["Male", "false_positive_rate"])) / 2',
        "signed mean of the TPR and FPR gaps",
    ),
    Pair(
        "aif360",
        "cm.average_abs_odds_difference()",
        'fw.audit(y, p, sensitive_features=s, reference="Male", agg="mean")'
        '.summary.disparities["equalized_odds"].difference',
    ),
    Pair("aif360", "cm.equalized_odds_difference()", 'ref.summary.disparities["equalized_odds"].difference'),
    Pair(
        "aif360", "abs(cm.error_rate_difference())", 'ref.summary.disparities["error_rate_parity"].difference', ABSOLUTE
    ),
    Pair(
        "aif360",
        "cm.error_rate_ratio()",
        'ref.summary.disparities["error_rate_parity"].ratio',
        DIRECTED,
    ),
    Pair(
        "aif360",
        "cm.false_positive_rate_ratio()",
        'g.loc["Female", "false_positive_rate"] / g.loc["Male", "false_positive_rate"]',
    ),
    Pair(
        "aif360",
        "abs(cm.false_discovery_rate_difference())",
        'ref.summary.disparities["false_discovery_rate"].difference',
        ABSOLUTE,
    ),
    # -- aif360.sklearn.metrics ----------------------------------------------------------------------------
    Pair(
        "aif360-sklearn",
        "abs(am.statistical_parity_difference(y, p, **sk))",
        'ref.summary.disparities["demographic_parity"].difference',
        ABSOLUTE,
    ),
    Pair(
        "aif360-sklearn",
        "am.disparate_impact_ratio(y, p, **sk)",
        'ref.summary.disparities["demographic_parity"].ratio',
        DIRECTED,
    ),
    Pair(
        "aif360-sklearn",
        "abs(am.equal_opportunity_difference(y, p, **sk))",
        'ref.summary.disparities["equal_opportunity"].difference',
        ABSOLUTE,
    ),
    Pair(
        "aif360-sklearn",
        "am.average_odds_error(y, p, **sk)",
        'fw.audit(y, p, sensitive_features=s, reference="Male", agg="mean")'
        '.summary.disparities["equalized_odds"].difference',
    ),
    Pair(
        "aif360-sklearn",
        "am.disparate_impact_ratio(y, None, **sk)",
        'g.loc["Female", "prevalence"] / g.loc["Male", "prevalence"]',
        "base rates",
    ),
    Pair(
        "aif360-sklearn",
        "am.difference(roc_auc_score, y, proba, **sk)",
        'g.loc["Female", "roc_auc"] - g.loc["Male", "roc_auc"]',
    ),
    # -- mitigation ----------------------------------------------------------------------------------------
    Pair(
        "mitigation",
        "`fairlearn.reductions.ExponentiatedGradient(est, DemographicParity())`",
        '`fairwatch.mitigation.ExponentiatedGradient(est, "demographic_parity")`',
        'the same randomized classifier (`predict_proba` equals fairlearn\'s `_pmf_predict`) with `gap_check="exact", '
        "warm_start=False`; the defaults reach the same accuracy and violation with fewer fits",
        _check_exponentiated_gradient,
    ),
    Pair(
        "mitigation",
        "`fairlearn.reductions.GridSearch(est, EqualizedOdds(), grid_size=...)`; constraints "
        "`DemographicParity`, `EqualizedOdds`, `TruePositiveRateParity`, `FalsePositiveRateParity`, "
        "`ErrorRateParity`",
        '`fairwatch.mitigation.GridSearch(est, "equalized_odds", grid_size=...)`; the same constraints as strings '
        '(`"true_positive_rate_parity"`...) or classes (`DemographicParity(difference_bound=0.02)`)',
        "the same grid of multipliers; objectives within 0.002; `n_jobs=` fits in parallel",
        _check_grid_search,
    ),
    Pair(
        "mitigation",
        "`fairlearn.reductions.GridSearch(reg, BoundedGroupLoss(ZeroOneLoss(), upper_bound=0.2))`",
        '`fairwatch.mitigation.GridSearch(reg, BoundedGroupLoss("zero_one", upper_bound=0.2))`',
        'regression; losses `"square"`, `"absolute"`, `"zero_one"` (fairlearn\'s `SquareLoss`, `AbsoluteLoss`, '
        "`ZeroOneLoss`); the same objectives and predictions",
        _check_bounded_group_loss,
    ),
    Pair(
        "mitigation",
        "`fairlearn.postprocessing.ThresholdOptimizer(estimator=est, constraints=...)`",
        "`fairwatch.mitigation.ThresholdOptimizer(est, constraints=...)`",
        "the same probabilities and, with the same `random_state`, the same predictions",
        _check_threshold_optimizer,
    ),
    Pair(
        "mitigation",
        "`fairlearn.preprocessing.CorrelationRemover(sensitive_feature_ids=..., alpha=...)`",
        "`fairwatch.mitigation.CorrelationRemover(sensitive_feature_ids=..., alpha=...)`",
        "the same transform",
        _check_correlation_remover,
    ),
    Pair(
        "mitigation",
        "`aif360.algorithms.preprocessing.Reweighing(unprivileged_groups=..., privileged_groups=...)`, "
        "`aif360.sklearn.preprocessing.Reweighing`",
        "`fairwatch.mitigation.reweighing_weights(y, sensitive_features=s)`, or "
        "`fairwatch.mitigation.Reweighing(est)` which fits `est` with them",
        "the same weights; any number of groups",
        _check_reweighing,
    ),
    Pair(
        "mitigation",
        "`aif360.algorithms.postprocessing.RejectOptionClassification(...)`",
        '`fairwatch.mitigation.RejectOptionClassifier(est, constraints="demographic_parity")`',
        "the same threshold, margin and predictions on the same grid; the whole grid is scored at once",
        _check_reject_option,
    ),
    Pair(
        "mitigation",
        "`aif360.algorithms.postprocessing.CalibratedEqOddsPostprocessing(cost_constraint=...)`",
        "`fairwatch.mitigation.CalibratedEqualizedOdds(est, cost_constraint=...)`",
        "the same mixing rates; an error (not a rate above 1) when the costs cannot be equalised",
        _check_calibrated_equalized_odds,
    ),
    # -- data sets -----------------------------------------------------------------------------------------
    Pair(
        "datasets",
        "`fairlearn.datasets.fetch_adult()`, `aif360.datasets.AdultDataset()`",
        "`fairwatch.datasets.load_adult()`",
        "bundled in the wheel (the UCI training split, 32,561 rows), never downloaded; fairlearn fetches "
        "OpenML's 48,842 rows (training and test splits), AIF360 needs the raw files placed by hand",
        _check_load_adult,
    ),
)


# -- the tables ------------------------------------------------------------------------------------------
def _cell(text: str, *, code: bool) -> str:
    text = text.replace("|", "\\|")
    return f"`{text}`" if code else text


def render_tables() -> str:
    """The markdown of every table, in the order of :data:`SECTIONS`."""
    parts: list[str] = []
    for key, (title, peer_header) in SECTIONS.items():
        rows = [pair for pair in PAIRS if pair.section == key]
        parts.append(f"## {title}\n")
        parts.append(f"| {peer_header} | fairwatch | notes |")
        parts.append("|---|---|---|")
        for pair in rows:
            code = pair.check is None
            parts.append(
                f"| {_cell(pair.peer, code=code)} | {_cell(pair.ours, code=code)} | {_cell(pair.note, code=False)} |"
            )
        parts.append("")
    return "\n".join(parts)


def _page_tables(text: str) -> str:
    start, end = text.index(START) + len(START), text.index(END)
    return text[start:end].strip("\n")


def write_tables() -> None:
    text = PAGE.read_text(encoding="utf-8")
    start, end = text.index(START) + len(START), text.index(END)
    PAGE.write_text(text[:start] + "\n" + render_tables() + "\n" + text[end:], encoding="utf-8")


def test_page_tables_are_generated_from_the_pairs() -> None:
    assert _page_tables(PAGE.read_text(encoding="utf-8")) == render_tables().strip("\n"), (
        "docs/migration.md is out of date: run `python tests/docs/test_migration.py` to regenerate its tables"
    )


# -- running the rows --------------------------------------------------------------------------------------
def _python_blocks(text: str) -> Iterator[str]:
    yield from (m.group(1) for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M))


@pytest.fixture(scope="module")
def namespaces() -> tuple[Namespace, Namespace]:
    """(fairwatch namespace, peer namespace) built by the page's own two code blocks."""
    pytest.importorskip("fairlearn")
    _quiet_import("aif360.metrics")
    ours_block, peer_block = list(_python_blocks(PAGE.read_text(encoding="utf-8")))[:2]
    ours: Namespace = {}
    exec(compile(ours_block, f"{PAGE}:fairwatch-setup", "exec"), ours)
    peer = dict(ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            exec(compile(peer_block, f"{PAGE}:peer-setup", "exec"), peer)
        finally:
            logging.disable(logging.NOTSET)
    return ours, peer


def _as_comparable(value: Any) -> Any:
    if isinstance(value, pd.DataFrame) and value.shape[1] == 1:
        value = value.iloc[:, 0]
    if isinstance(value, pd.Series):
        series = value.astype(float)
        return series.sort_index()
    return float(value)


def _assert_agree(theirs: Any, ours: Any, pair: Pair) -> None:
    theirs, ours = _as_comparable(theirs), _as_comparable(ours)
    if isinstance(theirs, pd.Series) or isinstance(ours, pd.Series):
        assert isinstance(theirs, pd.Series) and isinstance(ours, pd.Series), pair
        assert [tuple(np.atleast_1d(k)) for k in theirs.index] == [tuple(np.atleast_1d(k)) for k in ours.index]
        np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0, atol=ATOL, err_msg=pair.peer)
    else:
        assert np.isfinite(theirs), f"{pair.peer} is not a number on the page's data: {theirs}"
        assert ours == pytest.approx(theirs, abs=ATOL), pair


@pytest.mark.parametrize("pair", PAIRS, ids=lambda pair: f"{pair.section}-{pair.id}")
def test_pair_agrees(pair: Pair, namespaces: tuple[Namespace, Namespace]) -> None:
    ours_ns, peer_ns = namespaces
    if pair.check is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pair.check(dict(ours_ns))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = eval(pair.peer, dict(peer_ns))
        ours = eval(pair.ours, dict(ours_ns))
    _assert_agree(theirs, ours, pair)


def test_every_section_has_rows() -> None:
    assert {pair.section for pair in PAIRS} == set(SECTIONS)


if __name__ == "__main__":
    write_tables()
    sys.stdout.write(f"rewrote the tables of {PAGE.relative_to(ROOT)}\n")
