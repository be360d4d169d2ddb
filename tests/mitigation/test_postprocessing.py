"""Post-processing: ThresholdOptimizer against fairlearn, RejectOptionClassifier and
CalibratedEqualizedOdds against AIF360, randomisation, weights, and bad input."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC

from fairwatch.exceptions import (
    FairwatchWarning,
    InvalidInputError,
    LabelError,
    LengthMismatchError,
    NotFittedError,
)
from fairwatch.metrics import (
    demographic_parity_difference,
    equal_opportunity_difference,
    equalized_odds_difference,
)
from fairwatch.mitigation import CalibratedEqualizedOdds, RejectOptionClassifier, ThresholdOptimizer
from fairwatch.mitigation._postprocessing import _upper_hull

# ---------------------------------------------------------------------------------------------
# ThresholdOptimizer against fairlearn
# ---------------------------------------------------------------------------------------------


def _fairlearn(**params: Any) -> Any:
    from fairlearn.postprocessing import ThresholdOptimizer as FairlearnThresholdOptimizer

    return FairlearnThresholdOptimizer(**params)


def _violation(constraints: str, y: np.ndarray, y_pred: np.ndarray, sensitive: Any) -> float:
    if constraints == "equalized_odds":
        return float(equalized_odds_difference(y, y_pred, sensitive_features=sensitive))
    return float(demographic_parity_difference(y, y_pred, sensitive_features=sensitive))


def _expected_rates(y: np.ndarray, positive: np.ndarray, groups: np.ndarray) -> dict[str, np.ndarray]:
    """Per-group expected selection rate, TPR and FPR of randomised predictions."""
    keys = np.unique(groups)
    return {
        "selection_rate": np.array([positive[groups == g].mean() for g in keys]),
        "true_positive_rate": np.array([positive[(groups == g) & (y == 1)].mean() for g in keys]),
        "false_positive_rate": np.array([positive[(groups == g) & (y == 0)].mean() for g in keys]),
    }


@pytest.mark.parametrize("constraints", ["demographic_parity", "equalized_odds"])
@pytest.mark.parametrize("objective", ["accuracy_score", "balanced_accuracy_score"])
def test_threshold_optimizer_matches_fairlearn_on_adult(
    adult: Any, adult_model: Any, constraints: str, objective: str
) -> None:
    """Sex as the sensitive feature, a shared logistic regression (prefit) as the base model.

    The acceptance margins: fairwatch's violation on the training data is at most fairlearn's
    + 0.01 and its accuracy at least fairlearn's - 0.005. Both implement the same algorithm, so in
    fact the probabilities agree to the last bit and, with the same random_state, the predictions
    are identical; both are asserted.
    """
    params = {"constraints": constraints, "objective": objective, "prefit": True, "predict_method": "predict_proba"}
    ours = ThresholdOptimizer(adult_model, **params).fit(adult.X, adult.y, sensitive_features=adult.sex)
    theirs = _fairlearn(estimator=adult_model, **params).fit(adult.X, adult.y, sensitive_features=adult.sex)
    pred_ours = ours.predict(adult.X, sensitive_features=adult.sex, random_state=0)
    pred_theirs = theirs.predict(adult.X, sensitive_features=adult.sex, random_state=0)

    assert _violation(constraints, adult.y, pred_ours, adult.sex) <= (
        _violation(constraints, adult.y, pred_theirs, adult.sex) + 0.01
    )
    assert (pred_ours == adult.y).mean() >= (pred_theirs == adult.y).mean() - 0.005

    pmf_ours = ours._pmf_predict(adult.X, sensitive_features=adult.sex)
    np.testing.assert_allclose(pmf_ours, theirs._pmf_predict(adult.X, sensitive_features=adult.sex), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(pred_ours, pred_theirs)

    # The constraint holds exactly in expectation on the training data.
    rates = _expected_rates(adult.y, pmf_ours[:, 1], adult.sex)
    metrics = (
        ["selection_rate"] if constraints == "demographic_parity" else ["true_positive_rate", "false_positive_rate"]
    )
    for metric in metrics:
        assert np.ptp(rates[metric]) < 1e-3, metric


@pytest.mark.parametrize(
    ("constraints", "objective"),
    [
        ("true_positive_rate_parity", "accuracy_score"),
        ("false_positive_rate_parity", "balanced_accuracy_score"),
        ("true_negative_rate_parity", "selection_rate"),
        ("false_negative_rate_parity", "true_positive_rate"),
        ("selection_rate_parity", "true_negative_rate"),
        ("equalized_odds", "accuracy_score"),
    ],
)
@pytest.mark.parametrize("flip", [False, True])
def test_threshold_optimizer_matches_fairlearn_on_synthetic(
    synthetic: Any, constraints: str, objective: str, flip: bool
) -> None:
    """Three groups, every constraint, several objectives, with and without flipping."""
    params = {"constraints": constraints, "objective": objective, "flip": flip, "grid_size": 400}
    ours = ThresholdOptimizer(LogisticRegression(), **params).fit(
        synthetic.X, synthetic.y, sensitive_features=synthetic.sex
    )
    theirs = _fairlearn(estimator=LogisticRegression(), **params).fit(
        synthetic.X, synthetic.y, sensitive_features=synthetic.sex
    )
    np.testing.assert_allclose(
        ours._pmf_predict(synthetic.X, sensitive_features=synthetic.sex),
        theirs._pmf_predict(synthetic.X, sensitive_features=synthetic.sex),
        rtol=0,
        atol=1e-12,
    )


@pytest.mark.parametrize("predict_method", ["decision_function", "predict", "auto"])
def test_threshold_optimizer_predict_methods_match_fairlearn(synthetic: Any, predict_method: str) -> None:
    model = LogisticRegression().fit(synthetic.X, synthetic.y)
    params = {"constraints": "equalized_odds", "prefit": True, "predict_method": predict_method}
    ours = ThresholdOptimizer(model, **params).fit(synthetic.X, synthetic.y, sensitive_features=synthetic.sex)
    theirs = _fairlearn(estimator=model, **params).fit(synthetic.X, synthetic.y, sensitive_features=synthetic.sex)
    np.testing.assert_allclose(
        ours._pmf_predict(synthetic.X, sensitive_features=synthetic.sex),
        theirs._pmf_predict(synthetic.X, sensitive_features=synthetic.sex),
        rtol=0,
        atol=1e-12,
    )
    assert ours.predict_method_ == ("predict_proba" if predict_method == "auto" else predict_method)


def test_threshold_optimizer_intersectional_groups_match_fairlearn(synthetic: Any) -> None:
    sensitive = pd.DataFrame({"g": synthetic.sex, "r": synthetic.race})
    ours = ThresholdOptimizer(LogisticRegression(), constraints="demographic_parity").fit(
        synthetic.X, synthetic.y, sensitive_features=sensitive
    )
    theirs = _fairlearn(estimator=LogisticRegression(), constraints="demographic_parity").fit(
        synthetic.X, synthetic.y, sensitive_features=sensitive
    )
    assert len(ours.groups_) == 6
    np.testing.assert_allclose(
        ours._pmf_predict(synthetic.X, sensitive_features=sensitive),
        theirs._pmf_predict(synthetic.X, sensitive_features=sensitive),
        rtol=0,
        atol=1e-12,
    )


@pytest.mark.parametrize("tol", [0.02, 0.1])
def test_threshold_optimizer_tolerance(synthetic: Any, tol: float) -> None:
    """A relaxed constraint: rates within tol of each other, and at least fairlearn's objective.

    fairlearn's sliding window drops a grid point whose distance is ``tol`` up to rounding
    (e.g. 0.020000000000000018 > 0.02); fairwatch keeps it, so it may find a slightly better
    solution, never a worse one.
    """
    model = LogisticRegression().fit(synthetic.X, synthetic.y)
    params = {"constraints": "demographic_parity", "prefit": True, "tol": tol, "grid_size": 500}
    ours = ThresholdOptimizer(model, **params).fit(synthetic.X, synthetic.y, sensitive_features=synthetic.sex)
    theirs = _fairlearn(estimator=model, **params).fit(synthetic.X, synthetic.y, sensitive_features=synthetic.sex)
    pmf_ours = ours._pmf_predict(synthetic.X, sensitive_features=synthetic.sex)[:, 1]
    pmf_theirs = theirs._pmf_predict(synthetic.X, sensitive_features=synthetic.sex)[:, 1]
    rates = _expected_rates(synthetic.y, pmf_ours, synthetic.sex)["selection_rate"]
    assert np.ptp(rates) <= tol + 1e-9
    accuracy_ours = np.mean(np.where(synthetic.y == 1, pmf_ours, 1 - pmf_ours))
    accuracy_theirs = np.mean(np.where(synthetic.y == 1, pmf_theirs, 1 - pmf_theirs))
    assert accuracy_ours >= accuracy_theirs - 1e-12
    strict = ThresholdOptimizer(model, constraints="demographic_parity", prefit=True, grid_size=500)
    strict.fit(synthetic.X, synthetic.y, sensitive_features=synthetic.sex)
    pmf_strict = strict._pmf_predict(synthetic.X, sensitive_features=synthetic.sex)[:, 1]
    assert accuracy_ours >= np.mean(np.where(synthetic.y == 1, pmf_strict, 1 - pmf_strict)) - 1e-12


def test_threshold_optimizer_is_reproducible(synthetic: Any) -> None:
    model = ThresholdOptimizer(LogisticRegression(), constraints="equalized_odds").fit(
        synthetic.X, synthetic.y, sensitive_features=synthetic.sex
    )
    a = model.predict(synthetic.X, sensitive_features=synthetic.sex, random_state=7)
    b = model.predict(synthetic.X, sensitive_features=synthetic.sex, random_state=7)
    c = model.predict(synthetic.X, sensitive_features=synthetic.sex, random_state=8)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()  # the rule is randomised for some rows
    g1 = model.predict(synthetic.X, sensitive_features=synthetic.sex, random_state=np.random.default_rng(1))
    g2 = model.predict(synthetic.X, sensitive_features=synthetic.sex, random_state=np.random.default_rng(1))
    np.testing.assert_array_equal(g1, g2)
    refit = ThresholdOptimizer(LogisticRegression(), constraints="equalized_odds").fit(
        synthetic.X, synthetic.y, sensitive_features=synthetic.sex
    )
    np.testing.assert_array_equal(refit.predict(synthetic.X, sensitive_features=synthetic.sex, random_state=7), a)


def test_threshold_optimizer_sample_weight_equals_repeated_rows(synthetic: Any) -> None:
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 3, size=synthetic.y.size)
    repeat = np.repeat(np.arange(synthetic.y.size), counts)
    model = LogisticRegression().fit(synthetic.X, synthetic.y)
    weighted = ThresholdOptimizer(model, constraints="equalized_odds", prefit=True).fit(
        synthetic.X, synthetic.y, sensitive_features=synthetic.sex, sample_weight=counts
    )
    repeated = ThresholdOptimizer(model, constraints="equalized_odds", prefit=True).fit(
        synthetic.X[repeat], synthetic.y[repeat], sensitive_features=synthetic.sex[repeat]
    )
    np.testing.assert_allclose(
        weighted._pmf_predict(synthetic.X, sensitive_features=synthetic.sex),
        repeated._pmf_predict(synthetic.X, sensitive_features=synthetic.sex),
        rtol=0,
        atol=1e-9,
    )


def test_threshold_optimizer_string_labels_and_attributes(synthetic: Any) -> None:
    labels = np.where(synthetic.y == 1, "yes", "no")
    model = ThresholdOptimizer(LogisticRegression(), constraints="true_positive_rate_parity").fit(
        synthetic.X, labels, sensitive_features=synthetic.sex
    )
    assert model.classes_.tolist() == ["no", "yes"]
    assert set(model.predict(synthetic.X, sensitive_features=synthetic.sex, random_state=0)) <= {"no", "yes"}
    assert model.thresholds_.shape == model.probabilities_.shape == (3, 2)
    np.testing.assert_allclose(model.probabilities_.sum(axis=1), 1.0)
    assert model.tradeoff_curves_.shape == (3, 1001)
    assert np.ptp(model.constraint_values_) == 0


@settings(max_examples=50, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.integers(0, 12), st.integers(0, 12)),
        min_size=2,
        max_size=400,
    ),
    repeat=st.integers(1, 4),
)
def test_upper_hull_equals_the_plain_monotone_chain(points: list[tuple[int, int]], repeat: int) -> None:
    """The vectorised pruning never changes the hull (ties and repeated points included)."""
    xy = np.repeat(np.asarray(points, dtype=float) / 12, repeat, axis=0)
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    x, y = xy[order, 0], xy[order, 1]
    chain: list[int] = []
    for i2 in range(x.size):
        while len(chain) >= 2:
            i0, i1 = chain[-2], chain[-1]
            if (y[i1] - y[i0]) * (x[i2] - x[i0]) <= (y[i2] - y[i0]) * (x[i1] - x[i0]):
                chain.pop()
            else:
                break
        chain.append(i2)
    assert _upper_hull(x, y).tolist() == chain


# ---------------------------------------------------------------------------------------------
# ThresholdOptimizer: bad input
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    group = rng.choice(np.array(["a", "b"]), size=200)
    X = rng.normal(size=(200, 2)) + (group == "a")[:, None]
    y = (X[:, 0] + rng.normal(size=200) > 0.5).astype(int)
    return X, y, group


def test_missing_sensitive_features(toy: Any) -> None:
    X, y, group = toy
    with pytest.raises(InvalidInputError, match=r"sensitive_features is required: pass fit\(X, y, sensitive_features"):
        ThresholdOptimizer(LogisticRegression()).fit(X, y)
    model = ThresholdOptimizer(LogisticRegression()).fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match="sensitive_features is required"):
        model.predict(X)
    with pytest.raises(
        InvalidInputError, match=r"sensitive_features holds group \('c',\), which was not seen during fit"
    ):
        model.predict(X[:3], sensitive_features=["a", "b", "c"])
    with pytest.raises(LengthMismatchError, match="one value per row"):
        model.predict(X, sensitive_features=group[:10])


@pytest.mark.parametrize("cls", [ThresholdOptimizer, RejectOptionClassifier, CalibratedEqualizedOdds])
def test_single_group_single_class_and_multiclass(toy: Any, cls: Any) -> None:
    X, y, group = toy
    with pytest.raises(InvalidInputError, match=r"single group \(\('a',\)\); mitigation needs at least two groups"):
        cls(LogisticRegression()).fit(X, y, sensitive_features=["a"] * len(y))
    with pytest.raises(LabelError, match=rf"y holds one class only \(1\); {cls.__name__} needs both classes"):
        cls(LogisticRegression()).fit(X, np.ones_like(y), sensitive_features=group)
    with pytest.raises(LabelError, match=r"Only binary classification is supported.*3 classes"):
        cls(LogisticRegression()).fit(X, np.arange(len(y)) % 3, sensitive_features=group)
    with pytest.raises(LabelError, match="continuous values"):
        cls(LogisticRegression()).fit(X, X[:, 0], sensitive_features=group)
    with pytest.raises(InvalidInputError, match="estimator is None; pass a scikit-learn classifier"):
        cls().fit(X, y, sensitive_features=group)
    with pytest.raises(LengthMismatchError, match="X and y must have the same number of rows"):
        cls(LogisticRegression()).fit(X[:-1], y, sensitive_features=group)


@pytest.mark.parametrize("cls", [RejectOptionClassifier, CalibratedEqualizedOdds])
def test_estimator_without_predict_proba(toy: Any, cls: Any) -> None:
    X, y, group = toy
    with pytest.raises(InvalidInputError, match=r"needs probabilities, but LinearSVC has no predict_proba; wrap it in"):
        cls(LinearSVC()).fit(X, y, sensitive_features=group)


def test_threshold_optimizer_bad_parameters(toy: Any) -> None:
    X, y, group = toy

    def fit(**params: Any) -> Any:
        return ThresholdOptimizer(LogisticRegression(), **params).fit(X, y, sensitive_features=group)

    with pytest.raises(InvalidInputError, match=r"constraints must be one of .*'equalized_odds'; got 'parity'"):
        fit(constraints="parity")
    with pytest.raises(
        InvalidInputError, match="objective='selection_rate' is not supported with constraints='equalized_odds'"
    ):
        fit(constraints="equalized_odds", objective="selection_rate")
    with pytest.raises(InvalidInputError, match=r"tol .* not supported with constraints='equalized_odds'"):
        fit(constraints="equalized_odds", tol=0.05)
    with pytest.raises(InvalidInputError, match="grid_size must be an integer >= 1; got 0"):
        fit(grid_size=0)
    with pytest.raises(InvalidInputError, match="predict_method='predict_proba', but LinearSVC has no predict_proba"):
        ThresholdOptimizer(LinearSVC(), predict_method="predict_proba").fit(X, y, sensitive_features=group)
    with pytest.raises(
        InvalidInputError, match=r"sample_weight was given but KNeighborsClassifier.fit does not accept"
    ):
        ThresholdOptimizer(KNeighborsClassifier()).fit(X, y, sensitive_features=group, sample_weight=np.ones(len(y)))
    with pytest.raises(InvalidInputError, match="sample_weight must be finite and non-negative"):
        ThresholdOptimizer(LogisticRegression()).fit(X, y, sensitive_features=group, sample_weight=-np.ones(len(y)))


def test_threshold_optimizer_infeasible_constraint_names_the_group(toy: Any) -> None:
    """A group without positive labels has no true positive rate: equalised odds cannot hold."""
    X, y, group = toy
    y = np.where(group == "b", 0, y)
    with pytest.raises(
        InvalidInputError, match=r"group sensitive_feature_0='b' has no positive labels.*equalized_odds"
    ):
        ThresholdOptimizer(LogisticRegression(), constraints="equalized_odds").fit(X, y, sensitive_features=group)
    # Demographic parity with accuracy needs no positives in a group: it works.
    ThresholdOptimizer(LogisticRegression(), constraints="demographic_parity").fit(X, y, sensitive_features=group)


def test_prefit_unfitted_estimator_warns(toy: Any) -> None:
    X, y, group = toy
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    with (
        pytest.warns(FairwatchWarning, match="prefit=True but LogisticRegression does not look fitted"),
        pytest.raises(SklearnNotFittedError),
    ):
        ThresholdOptimizer(LogisticRegression(), prefit=True).fit(X, y, sensitive_features=group)


def test_regressor_scores_with_predict(toy: Any) -> None:
    """predict_method='predict' takes a regressor's output as the score (Hardt et al.'s setting)."""
    X, y, group = toy
    model = ThresholdOptimizer(LinearRegression(), constraints="equalized_odds", predict_method="predict")
    model.fit(X, y, sensitive_features=group)
    assert model.predict(X, sensitive_features=group, random_state=0).shape == y.shape
    with pytest.raises(NotFittedError):
        ThresholdOptimizer(LinearRegression())._pmf_predict(X, sensitive_features=group)


# ---------------------------------------------------------------------------------------------
# RejectOptionClassifier against AIF360
# ---------------------------------------------------------------------------------------------


def _aif360_datasets(y: np.ndarray, privileged: np.ndarray, scores: np.ndarray) -> tuple[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from aif360.datasets import BinaryLabelDataset

    frame = pd.DataFrame({"priv": privileged.astype(float), "label": y.astype(float)})
    truth = BinaryLabelDataset(
        df=frame, label_names=["label"], protected_attribute_names=["priv"], favorable_label=1.0, unfavorable_label=0.0
    )
    predicted = truth.copy(deepcopy=True)
    predicted.scores = scores.reshape(-1, 1)
    return truth, predicted


@pytest.fixture(scope="module")
def adult_half(adult: Any, adult_model: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every other row of Adult (AIF360's reject option search is slow) and the model's scores."""
    X, y, sex = adult.X[::2], adult.y[::2], adult.sex[::2]
    return X, y, sex, adult_model.predict_proba(X)[:, 1]


@pytest.mark.parametrize(
    ("constraints", "aif360_name"),
    [
        ("demographic_parity", "Statistical parity difference"),
        ("average_odds", "Average odds difference"),
        ("equal_opportunity", "Equal opportunity difference"),
    ],
)
def test_reject_option_matches_aif360_on_adult(
    adult_half: Any, adult_model: Any, constraints: str, aif360_name: str
) -> None:
    """Same grid, same rule: the same threshold and margin, hence the same predictions.

    AIF360's search scores each grid point with its metric classes (slow), so the grid is small
    here; fairwatch scores the whole grid at once from sorted scores.
    """
    from aif360.algorithms.postprocessing import RejectOptionClassification

    X, y, sex, scores = adult_half
    truth, predicted = _aif360_datasets(y, sex == "Male", scores)
    theirs = RejectOptionClassification(
        unprivileged_groups=[{"priv": 0.0}],
        privileged_groups=[{"priv": 1.0}],
        num_class_thresh=12,
        num_ROC_margin=8,
        metric_name=aif360_name,
    ).fit(truth, predicted)
    ours = RejectOptionClassifier(adult_model, constraints=constraints, prefit=True, n_thresholds=12, n_margins=8)
    ours.fit(X, y, sensitive_features=sex)
    assert ours.privileged_group_ == ("Male",)
    assert ours.threshold_ == pytest.approx(theirs.classification_threshold, abs=1e-12)
    assert ours.margin_ == pytest.approx(theirs.ROC_margin, abs=1e-12)
    np.testing.assert_array_equal(
        ours.predict(X, sensitive_features=sex), theirs.predict(predicted).labels.ravel().astype(int)
    )
    assert -0.05 <= ours.metric_value_ <= 0.05


def test_reject_option_reduces_disparity_on_adult(adult: Any, adult_model: Any) -> None:
    model = RejectOptionClassifier(adult_model, prefit=True).fit(adult.X, adult.y, sensitive_features=adult.sex)
    before = demographic_parity_difference(adult.y, adult_model.predict(adult.X), sensitive_features=adult.sex)
    after = demographic_parity_difference(
        adult.y, model.predict(adult.X, sensitive_features=adult.sex), sensitive_features=adult.sex
    )
    assert before > 0.15
    assert after <= 0.05 + 1e-12
    eo = RejectOptionClassifier(adult_model, constraints="equal_opportunity", prefit=True)
    eo.fit(adult.X, adult.y, sensitive_features=adult.sex)
    before_eo = equal_opportunity_difference(adult.y, adult_model.predict(adult.X), sensitive_features=adult.sex)
    after_eo = equal_opportunity_difference(
        adult.y, eo.predict(adult.X, sensitive_features=adult.sex), sensitive_features=adult.sex
    )
    assert after_eo < before_eo


def test_reject_option_privileged_group_and_bounds(toy: Any) -> None:
    X, y, group = toy
    chosen = RejectOptionClassifier(LogisticRegression(), privileged_group="b", metric_lb=-1, metric_ub=1)
    assert chosen.fit(X, y, sensitive_features=group).privileged_group_ == ("b",)
    with pytest.raises(InvalidInputError, match="privileged_group='z' is not one of the groups"):
        RejectOptionClassifier(LogisticRegression(), privileged_group="z").fit(X, y, sensitive_features=group)
    with pytest.raises(
        InvalidInputError, match=r"no threshold and margin bring the demographic_parity difference within"
    ):
        RejectOptionClassifier(LogisticRegression(), metric_lb=-1.0, metric_ub=-0.9).fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match="metric_lb must not exceed metric_ub"):
        RejectOptionClassifier(LogisticRegression(), metric_lb=0.1, metric_ub=0.0).fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match=r"threshold_range must satisfy 0 <= low < high <= 1"):
        RejectOptionClassifier(LogisticRegression(), threshold_range=(0.6, 0.4)).fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match="constraints must be one of"):
        RejectOptionClassifier(LogisticRegression(), constraints="equalized_odds").fit(X, y, sensitive_features=group)


# ---------------------------------------------------------------------------------------------
# CalibratedEqualizedOdds against AIF360
# ---------------------------------------------------------------------------------------------


def _aif360_mix_rates(y: np.ndarray, privileged: np.ndarray, scores: np.ndarray, cost: str) -> tuple[float, float]:
    from aif360.algorithms.postprocessing import CalibratedEqOddsPostprocessing

    truth, predicted = _aif360_datasets(y, privileged, scores)
    model = CalibratedEqOddsPostprocessing(
        unprivileged_groups=[{"priv": 0.0}], privileged_groups=[{"priv": 1.0}], cost_constraint=cost, seed=0
    ).fit(truth, predicted)
    return float(model.unpriv_mix_rate), float(model.priv_mix_rate)


def test_calibrated_equalized_odds_matches_aif360_on_adult(adult: Any, adult_model: Any) -> None:
    """The mixing rates agree with AIF360's to 1e-9 where the equalisation is feasible ("fnr").

    For "fpr" and "weighted" on Adult the cheaper group (women) cannot reach the men's cost even
    at its base rate: AIF360 returns a "mixing rate" above 1 (every score replaced, costs still
    unequal); fairwatch raises an error that says so. Both facts are asserted.
    """
    scores = adult_model.predict_proba(adult.X)[:, 1]
    model = CalibratedEqualizedOdds(adult_model, cost_constraint="fnr", prefit=True)
    model.fit(adult.X, adult.y, sensitive_features=adult.sex)
    unpriv, priv = _aif360_mix_rates(adult.y, adult.sex == "Male", scores, "fnr")
    assert model.groups_ == [("Female",), ("Male",)]
    np.testing.assert_allclose(model.mix_rates_, [unpriv, priv], rtol=0, atol=1e-9)
    for cost in ("fpr", "weighted"):
        assert max(_aif360_mix_rates(adult.y, adult.sex == "Male", scores, cost)) > 1
        with pytest.raises(InvalidInputError, match=rf"cost_constraint='{cost}' cannot be equalised: group .*'Female'"):
            CalibratedEqualizedOdds(adult_model, cost_constraint=cost, prefit=True).fit(
                adult.X, adult.y, sensitive_features=adult.sex
            )


def _generalized_fnr(y: np.ndarray, scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    return np.array([np.mean(1 - scores[(groups == g) & (y == 1)]) for g in np.unique(groups)])


def test_calibrated_equalized_odds_reduces_the_cost_gap_on_adult(adult: Any, adult_model: Any) -> None:
    model = CalibratedEqualizedOdds(adult_model, cost_constraint="fnr", prefit=True)
    model.fit(adult.X, adult.y, sensitive_features=adult.sex)
    before = np.ptp(_generalized_fnr(adult.y, adult_model.predict_proba(adult.X)[:, 1], adult.sex))
    mixed = model.predict_proba(adult.X, sensitive_features=adult.sex, random_state=0)[:, 1]
    after = np.ptp(_generalized_fnr(adult.y, mixed, adult.sex))
    assert before > 0.05
    assert after < 0.01
    assert np.ptp(model.trivial_costs_ * model.mix_rates_ + model.costs_ * (1 - model.mix_rates_)) < 1e-12
    # Randomised but reproducible; predict thresholds the mixed scores.
    again = model.predict_proba(adult.X, sensitive_features=adult.sex, random_state=0)[:, 1]
    np.testing.assert_array_equal(mixed, again)
    labels = model.predict(adult.X, sensitive_features=adult.sex, random_state=0)
    np.testing.assert_array_equal(labels, (mixed >= 0.5).astype(int))
    pmf = model._pmf_predict(adult.X, sensitive_features=adult.sex)[:, 1]
    assert abs(pmf.mean() - labels.mean()) < 0.01


def test_calibrated_equalized_odds_three_groups(synthetic: Any) -> None:
    """Every group but the costliest is mixed up to the highest cost."""
    model = CalibratedEqualizedOdds(LogisticRegression(), cost_constraint="weighted")
    model.fit(synthetic.X, synthetic.y, sensitive_features=synthetic.sex)
    expected = model.costs_ * (1 - model.mix_rates_) + model.trivial_costs_ * model.mix_rates_
    np.testing.assert_allclose(expected, model.costs_.max(), rtol=0, atol=1e-12)
    assert (model.mix_rates_ == 0).sum() == 1


def test_calibrated_equalized_odds_bad_parameters(toy: Any) -> None:
    X, y, group = toy
    with pytest.raises(InvalidInputError, match="cost_constraint must be one of 'weighted', 'fpr', 'fnr'; got 'tpr'"):
        CalibratedEqualizedOdds(LogisticRegression(), cost_constraint="tpr").fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match=r"threshold must be in \[0, 1\]"):
        CalibratedEqualizedOdds(LogisticRegression(), threshold=2).fit(X, y, sensitive_features=group)
    y_no_negatives_in_b = np.where(group == "b", 1, y)
    with pytest.raises(InvalidInputError, match="group sensitive_feature_0='b' has no negative labels"):
        CalibratedEqualizedOdds(LogisticRegression()).fit(X, y_no_negatives_in_b, sensitive_features=group)
