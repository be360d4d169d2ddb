"""Pre-processing: reweighing against AIF360, CorrelationRemover against fairlearn, bad input."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from fairwatch.exceptions import InvalidInputError, LabelError, LengthMismatchError, NotFittedError, UnknownColumnError
from fairwatch.mitigation import CorrelationRemover, Reweighing, reweighing_weights

# ---------------------------------------------------------------------------------------------
# AIF360 oracles
# ---------------------------------------------------------------------------------------------


def _aif360_sklearn_weights(y: np.ndarray, groups: dict[str, np.ndarray], sample_weight: Any = None) -> np.ndarray:
    """aif360.sklearn.preprocessing.Reweighing: groups in the index, any number of groups."""
    from aif360.sklearn.preprocessing import Reweighing as AifReweighing

    index = pd.MultiIndex.from_arrays(list(groups.values()), names=list(groups))
    X = pd.DataFrame({"dummy": np.zeros(len(y))}, index=index)
    _, weights = AifReweighing(prot_attr=list(groups)).fit_transform(
        X, pd.Series(y, index=index), sample_weight=sample_weight
    )
    return np.asarray(weights)


def _aif360_dataset_weights(y: np.ndarray, privileged: np.ndarray, sample_weight: Any = None) -> np.ndarray:
    """aif360.algorithms.preprocessing.Reweighing on a BinaryLabelDataset (two groups)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from aif360.algorithms.preprocessing import Reweighing as AifReweighing
        from aif360.datasets import BinaryLabelDataset

    frame = pd.DataFrame({"priv": privileged.astype(float), "label": y.astype(float)})
    dataset = BinaryLabelDataset(
        df=frame,
        label_names=["label"],
        protected_attribute_names=["priv"],
        favorable_label=1.0,
        unfavorable_label=0.0,
    )
    if sample_weight is not None:
        dataset.instance_weights = np.asarray(sample_weight, dtype=float).copy()
    transformer = AifReweighing(unprivileged_groups=[{"priv": 0.0}], privileged_groups=[{"priv": 1.0}])
    return np.asarray(transformer.fit_transform(dataset).instance_weights)


def test_weights_match_aif360_dataset_reweighing_on_adult_sex(adult: Any) -> None:
    ours = reweighing_weights(adult.y, sensitive_features=adult.sex)
    theirs = _aif360_dataset_weights(adult.y, adult.sex == "Male")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


@pytest.mark.parametrize("columns", [("sex",), ("race",), ("sex", "race")])
def test_weights_match_aif360_sklearn_reweighing_on_adult(adult: Any, columns: tuple[str, ...]) -> None:
    groups = {name: getattr(adult, name) for name in columns}
    sensitive = pd.DataFrame(groups) if len(columns) > 1 else groups[columns[0]]
    ours = reweighing_weights(adult.y, sensitive_features=sensitive)
    np.testing.assert_allclose(ours, _aif360_sklearn_weights(adult.y, groups), rtol=0, atol=1e-9)


@pytest.mark.parametrize("weighting", ["none", "exponential", "integer"])
def test_weights_match_aif360_on_synthetic(synthetic: Any, weighting: str) -> None:
    rng = np.random.default_rng(3)
    sample_weight = {
        "none": None,
        "exponential": rng.exponential(size=synthetic.y.size),
        "integer": rng.integers(0, 4, size=synthetic.y.size).astype(float),
    }[weighting]
    groups = {"g": synthetic.sex, "r": synthetic.race}
    ours = reweighing_weights(synthetic.y, sensitive_features=groups, sample_weight=sample_weight)
    theirs = _aif360_sklearn_weights(synthetic.y, groups, sample_weight)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    # Two groups through the dataset API too, with the same weights.
    binary = synthetic.sex == "a"
    ours2 = reweighing_weights(synthetic.y, sensitive_features=binary, sample_weight=sample_weight)
    np.testing.assert_allclose(ours2, _aif360_dataset_weights(synthetic.y, binary, sample_weight), rtol=0, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(st.sampled_from("abc"), min_size=4, max_size=60),
    labels=st.lists(st.sampled_from([0, 1, 2]), min_size=60, max_size=60),
)
def test_weights_make_label_independent_of_group(groups: list[str], labels: list[int]) -> None:
    """Under the weights every (group, class) cell has the mass P(group) P(class)."""
    y = np.asarray(labels[: len(groups)])
    if len(set(groups)) < 2 or len(set(y.tolist())) < 2:
        return
    g = np.asarray(groups)
    w = reweighing_weights(y, sensitive_features=g)
    n = len(y)
    for a in set(groups):
        for c in set(y.tolist()):
            cell = (g == a) & (y == c)
            if cell.any():
                assert w[cell].sum() == pytest.approx((g == a).sum() * (y == c).sum() / n, rel=1e-12)


def test_weights_accept_dataframes_and_string_labels(adult: Any) -> None:
    labels = np.where(adult.y == 1, ">50K", "<=50K")
    a = reweighing_weights(labels, sensitive_features=adult.sex_race)
    b = reweighing_weights(adult.y, sensitive_features={"sex": adult.sex, "race": adult.race})
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Reweighing meta-estimator
# ---------------------------------------------------------------------------------------------


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; records the sample_weight it was fitted with."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> RecordingClassifier:  # noqa: N803
        self.sample_weight_ = None if sample_weight is None else np.asarray(sample_weight).copy()
        self.classes_ = np.unique(y)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return np.full(len(X), self.classes_[0])


def test_reweighing_fits_estimator_with_the_weights(synthetic: Any) -> None:
    base_weight = np.random.default_rng(1).exponential(size=synthetic.y.size)
    model = Reweighing(RecordingClassifier()).fit(
        synthetic.X, synthetic.y, sensitive_features=synthetic.sex, sample_weight=base_weight
    )
    expected = reweighing_weights(synthetic.y, sensitive_features=synthetic.sex, sample_weight=base_weight)
    np.testing.assert_array_equal(model.estimator_.sample_weight_, expected)
    assert model.groups_ == [("a",), ("b",), ("c",)]
    assert model.factors_.shape == (3, 2)
    assert model.estimator_ is not model.estimator  # a clone is fitted
    assert not hasattr(model.estimator, "sample_weight_")
    np.testing.assert_array_equal(model.classes_, [0, 1])
    assert model.n_features_in_ == synthetic.X.shape[1]


def test_reweighing_reduces_the_disparity_of_a_model(adult: Any, adult_model: Any) -> None:
    """The classic use: selection rates move closer together than with the unweighted model."""
    from fairwatch.metrics import demographic_parity_difference

    fair = Reweighing(LogisticRegression(max_iter=500)).fit(adult.X, adult.y, sensitive_features=adult.sex)
    before = demographic_parity_difference(adult.y, adult_model.predict(adult.X), sensitive_features=adult.sex)
    after = demographic_parity_difference(adult.y, fair.predict(adult.X), sensitive_features=adult.sex)
    assert after < before - 0.02
    assert fair.predict_proba(adult.X[:5]).shape == (5, 2)
    assert fair.score(adult.X, adult.y) > 0.8


def test_reweighing_delegates_only_what_the_estimator_has() -> None:
    model = Reweighing(RecordingClassifier())
    assert not hasattr(model, "predict_proba")
    assert hasattr(model, "predict")
    assert hasattr(Reweighing(LogisticRegression()), "decision_function")


def test_reweighing_estimator_without_sample_weight() -> None:
    X = np.arange(8.0).reshape(-1, 1)
    with pytest.raises(InvalidInputError, match=r"KNeighborsClassifier\.fit does not accept sample_weight"):
        Reweighing(KNeighborsClassifier()).fit(X, [0, 1] * 4, sensitive_features=["a"] * 4 + ["b"] * 4)


def test_reweighing_clone_params_and_not_fitted() -> None:
    model = Reweighing(LogisticRegression(C=0.5))
    assert model.get_params()["estimator__C"] == 0.5
    copy = clone(model.set_params(estimator__C=2.0))
    assert copy.estimator.C == 2.0
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.predict(np.zeros((2, 1)))
    with pytest.raises(NotFittedError):
        _ = model.classes_


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_missing_sensitive_features_names_the_argument() -> None:
    with pytest.raises(InvalidInputError, match="sensitive_features is required"):
        reweighing_weights([0, 1, 0, 1], sensitive_features=None)
    with pytest.raises(InvalidInputError, match="sensitive_features is required"):
        Reweighing(LogisticRegression()).fit(np.zeros((4, 1)), [0, 1, 0, 1])


def test_single_group_and_single_class() -> None:
    with pytest.raises(InvalidInputError, match="single group"):
        reweighing_weights([0, 1, 0, 1], sensitive_features=["a"] * 4)
    with pytest.raises(LabelError, match=r"y holds one class only \(1\); reweighing needs at least two classes"):
        reweighing_weights([1, 1, 1, 1], sensitive_features=["a", "b", "a", "b"])


def test_length_mismatch_and_bad_weights() -> None:
    with pytest.raises(LengthMismatchError, match="one value per row"):
        reweighing_weights([0, 1, 0, 1], sensitive_features=["a", "b", "a"])
    with pytest.raises(LengthMismatchError, match="sample_weight"):
        reweighing_weights([0, 1, 0, 1], sensitive_features=["a", "b", "a", "b"], sample_weight=[1.0])
    with pytest.raises(InvalidInputError, match="non-negative"):
        reweighing_weights([0, 1, 0, 1], sensitive_features=["a", "b", "a", "b"], sample_weight=[1, -1, 1, 1])
    with pytest.raises(LengthMismatchError, match="same number of rows"):
        Reweighing(LogisticRegression()).fit(np.zeros((3, 1)), [0, 1, 0, 1], sensitive_features=["a", "b"] * 2)


def test_missing_labels_are_reported() -> None:
    with pytest.raises(InvalidInputError, match="missing value"):
        reweighing_weights([0.0, np.nan, 1.0, 0.0], sensitive_features=["a", "b", "a", "b"])


# ---------------------------------------------------------------------------------------------
# CorrelationRemover against fairlearn
# ---------------------------------------------------------------------------------------------


def _adult_numeric(adult: Any) -> pd.DataFrame:
    frame = pd.DataFrame(adult.X[:, :12], columns=[f"f{i}" for i in range(12)])
    frame.insert(3, "male", (adult.sex == "Male").astype(float))
    frame.insert(0, "white", (adult.race == "White").astype(float))
    return frame


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("as_frame", [False, True])
def test_correlation_remover_matches_fairlearn_on_adult(adult: Any, alpha: float, as_frame: bool) -> None:
    from fairlearn.preprocessing import CorrelationRemover as FairlearnRemover

    frame = _adult_numeric(adult)
    X = frame if as_frame else frame.to_numpy()
    ids: list[Any] = ["male", "white"] if as_frame else [4, 0]
    ours = CorrelationRemover(sensitive_feature_ids=ids, alpha=alpha).fit(X)
    theirs = FairlearnRemover(sensitive_feature_ids=ids, alpha=alpha).fit(X)
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.beta_, theirs.beta_, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(ours.get_feature_names_out(), theirs.get_feature_names_out())


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_correlation_remover_matches_fairlearn_on_synthetic(synthetic: Any, alpha: float) -> None:
    from fairlearn.preprocessing import CorrelationRemover as FairlearnRemover

    X = np.column_stack([synthetic.X, (synthetic.sex == "a").astype(float)])
    ours = CorrelationRemover(sensitive_feature_ids=[5], alpha=alpha).fit_transform(X)
    theirs = FairlearnRemover(sensitive_feature_ids=[5], alpha=alpha).fit_transform(X)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


def test_correlation_remover_removes_the_correlation(synthetic: Any) -> None:
    sensitive = (synthetic.sex == "a").astype(float)
    X = np.column_stack([sensitive, synthetic.X])
    out = CorrelationRemover(sensitive_feature_ids=[0]).fit_transform(X)
    assert out.shape == synthetic.X.shape
    corr = [abs(np.corrcoef(sensitive, out[:, j])[0, 1]) for j in range(out.shape[1])]
    assert max(corr) < 1e-10
    assert abs(np.corrcoef(sensitive, synthetic.X[:, 0])[0, 1]) > 0.2


def test_correlation_remover_bad_input() -> None:
    X = np.arange(12.0).reshape(4, 3)
    with pytest.raises(InvalidInputError, match=r"alpha must be a number in \[0, 1\]; got 1.5"):
        CorrelationRemover(sensitive_feature_ids=[0], alpha=1.5).fit(X)
    with pytest.raises(InvalidInputError, match=r"neither a column name of X nor a position in 0\.\.2"):
        CorrelationRemover(sensitive_feature_ids=[3]).fit(X)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    with pytest.raises(UnknownColumnError, match=r"'sex'.*not in X"):
        CorrelationRemover(sensitive_feature_ids=["sex"]).fit(frame)
    with pytest.raises(InvalidInputError, match="name a column twice"):
        CorrelationRemover(sensitive_feature_ids=["a", 0]).fit(frame)
    text = frame.assign(d=["x", "y", "x", "y"])
    with pytest.raises(InvalidInputError, match="needs numeric features; one-hot encode"):
        CorrelationRemover(sensitive_feature_ids=["a"]).fit(text)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        CorrelationRemover(sensitive_feature_ids=[0]).transform(X)
    fitted = CorrelationRemover(sensitive_feature_ids=[0]).fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but CorrelationRemover is expecting 3"):
        fitted.transform(X[:, :2])


def test_correlation_remover_clone_and_params() -> None:
    remover = CorrelationRemover(sensitive_feature_ids=["sex"], alpha=0.3)
    assert remover.get_params() == {"sensitive_feature_ids": ["sex"], "alpha": 0.3}
    assert clone(remover).get_params() == remover.get_params()
