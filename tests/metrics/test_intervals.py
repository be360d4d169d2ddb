"""Confidence intervals: known values, coverage by simulation, and bootstrap behaviour."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fairwatch as fw
from fairwatch.exceptions import InvalidInputError
from fairwatch.metrics import group_stats, newcombe_interval, summarize, wilson_interval


def test_wilson_known_values() -> None:
    lo, hi = wilson_interval(np.array([0.0, 5.0]), np.array([10.0, 10.0]), 0.95)
    np.testing.assert_allclose(lo, [0.0, 0.236593], atol=1e-6)
    np.testing.assert_allclose(hi, [0.277533, 0.763407], atol=1e-6)


def test_wilson_empty_group_is_nan() -> None:
    lo, hi = wilson_interval(np.array([0.0]), np.array([0.0]), 0.95)
    assert np.isnan(lo[0]) and np.isnan(hi[0])


def test_newcombe_matches_the_published_example() -> None:
    # Newcombe (1998), method 10: 56/70 - 48/80 = 0.2 with 95% interval 0.0524 to 0.3339.
    lo, hi = newcombe_interval(np.array(56 / 70), np.array(70.0), np.array(48 / 80), np.array(80.0), 0.95)
    assert float(lo) == pytest.approx(0.0524, abs=5e-5)
    assert float(hi) == pytest.approx(0.3339, abs=5e-5)


@pytest.mark.parametrize(("n", "p"), [(100, 0.3), (40, 0.5), (250, 0.08), (1000, 0.9)])
def test_wilson_coverage_by_simulation(n: int, p: float) -> None:
    rng = np.random.default_rng(1234 + n)
    successes = rng.binomial(n, p, size=2000).astype(float)
    lo, hi = wilson_interval(successes, np.full(2000, float(n)), 0.95)
    coverage = np.mean((lo <= p) & (p <= hi))
    assert 0.93 <= coverage <= 0.97, coverage


@pytest.mark.parametrize(("n1", "p1", "n2", "p2"), [(80, 0.3, 120, 0.45), (200, 0.6, 60, 0.55), (500, 0.1, 500, 0.15)])
def test_newcombe_coverage_by_simulation(n1: int, p1: float, n2: int, p2: float) -> None:
    rng = np.random.default_rng(99 + n1 + n2)
    x1 = rng.binomial(n1, p1, size=2000) / n1
    x2 = rng.binomial(n2, p2, size=2000) / n2
    lo, hi = newcombe_interval(x1, np.full(2000, float(n1)), x2, np.full(2000, float(n2)), 0.95)
    truth = p1 - p2
    coverage = np.mean((lo <= truth) & (truth <= hi))
    assert 0.93 <= coverage <= 0.97, coverage


def test_audit_difference_interval_for_proportions_is_newcombe() -> None:
    y_pred = np.r_[np.ones(56), np.zeros(14), np.ones(48), np.zeros(32)].astype(int)
    groups = np.r_[np.full(70, "a"), np.full(80, "b")]
    audit = fw.audit(y_pred, y_pred, sensitive_features=groups, metrics=["selection_rate"], ci=0.95)
    d = audit.summary.disparities["demographic_parity"]
    assert d.difference == pytest.approx(0.2)
    assert d.difference_lo == pytest.approx(0.0524, abs=5e-5)
    assert d.difference_hi == pytest.approx(0.3339, abs=5e-5)
    assert d.max_group == ("a",) and d.min_group == ("b",)


def test_group_intervals_are_wilson() -> None:
    audit = fw.audit(
        [1, 1, 0, 0] * 5, [1, 0, 0, 0] * 5, sensitive_features=["a", "b"] * 10, metrics=["selection_rate"], ci=0.95
    )
    lo, hi = wilson_interval(np.array([5.0, 0.0]), np.array([10.0, 10.0]), 0.95)
    np.testing.assert_allclose(audit.summary.lo["selection_rate"], lo)
    np.testing.assert_allclose(audit.summary.hi["selection_rate"], hi)


def _synthetic(n: int = 3000, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = rng.choice(np.array(["a", "b", "c"]), n)
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + rng.uniform(0, 0.7, n), 0, 1)
    return {"y": y, "pred": (score > 0.5).astype(int), "score": score, "group": group}


def test_bootstrap_intervals_are_reproducible_and_bracket_the_value() -> None:
    d = _synthetic()
    kwargs = dict(
        sensitive_features=d["group"],
        scores=d["score"],
        ci=0.95,
        random_state=7,
        metrics=["balanced_accuracy", "f1", "roc_auc", "brier_score", "expected_calibration_error"],
    )
    a = fw.audit(d["y"], d["pred"], **kwargs)  # type: ignore[arg-type]
    b = fw.audit(d["y"], d["pred"], **kwargs)  # type: ignore[arg-type]
    for name in a.metrics:
        np.testing.assert_array_equal(a.summary.lo[name], b.summary.lo[name])
        v, lo, hi = a.summary.values[name], a.summary.lo[name], a.summary.hi[name]
        assert np.all(lo <= v + 1e-9) and np.all(v <= hi + 1e-9), name
        assert np.all(hi - lo > 0), name


def test_bootstrap_auc_interval_width_matches_the_analytic_standard_error() -> None:
    # Hanley & McNeil's standard error of AUC; the bootstrap half-width should be close to 1.96 SE.
    d = _synthetic(n=6000, seed=3)
    audit = fw.audit(d["y"], None, scores=d["score"], sensitive_features=d["group"], metrics=["roc_auc"], ci=0.95)
    stats = audit.stats
    assert stats.scores is not None
    for g in range(stats.n_groups):
        auc = audit.summary.values["roc_auc"][g]
        n_pos = stats.scores.n[g, 1].sum()
        n_neg = stats.scores.n[g, 0].sum()
        q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
        se = np.sqrt((auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg))
        half = (audit.summary.hi["roc_auc"][g] - audit.summary.lo["roc_auc"][g]) / 2
        assert half == pytest.approx(1.96 * se, rel=0.25)


def test_regression_intervals_are_normal_approximations() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=4000)
    p = y + rng.normal(scale=0.5, size=4000)
    g = rng.choice(np.array(["a", "b"]), 4000)
    audit = fw.audit(y, p, sensitive_features=g, metrics=["mean_error", "mean_absolute_error", "rmse"], ci=0.95)
    for i, key in enumerate(("a", "b")):
        e = (y - p)[g == key]
        se = e.std() / np.sqrt(e.size)
        assert audit.summary.lo["mean_error"][i] == pytest.approx(e.mean() - 1.959964 * se, abs=1e-5)
        assert audit.summary.hi["mean_error"][i] == pytest.approx(e.mean() + 1.959964 * se, abs=1e-5)


@pytest.mark.parametrize("ci", [0, 1, 1.5, -0.1, "0.95", True])
def test_bad_confidence_level(ci: object) -> None:
    with pytest.raises(InvalidInputError, match=r"ci must be a confidence level strictly between 0 and 1"):
        fw.audit([1, 0], [1, 0], sensitive_features=["a", "b"], ci=ci)  # type: ignore[arg-type]


def test_weighted_wilson_uses_weighted_rate_and_row_count() -> None:
    stats = group_stats(
        [1, 1, 0, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"], sample_weight=[3.0, 1.0, 1.0, 1.0]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = summarize(stats, ["selection_rate"], ci=0.95)
    lo, hi = wilson_interval(np.array([0.75 * 2]), np.array([2.0]), 0.95, p=np.array([0.75]))
    assert summary.lo["selection_rate"][0] == pytest.approx(float(lo[0]))
    assert summary.hi["selection_rate"][0] == pytest.approx(float(hi[0]))
