"""PyTorch mitigation: the differentiable penalties (values, gradients, bad input), the
FairnessRegularizedClassifier and AdversarialDebiasingClassifier (they reduce the gap they target,
are deterministic with a seed, follow scikit-learn's estimator contract). Networks are tiny so the
module runs in seconds on CPU."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from fairwatch.exceptions import InvalidInputError, LabelError, LengthMismatchError, NotFittedError
from fairwatch.metrics import demographic_parity_difference, equalized_odds_difference

torch = pytest.importorskip("torch")

from fairwatch.mitigation import (  # noqa: E402  (after the torch check)
    AdversarialDebiasingClassifier,
    FairnessRegularizedClassifier,
    demographic_parity_penalty,
    equalized_odds_penalty,
)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Any:
    """Tiny networks gain nothing from intra-op threads, and on a shared two-core runner they lose a lot."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = {"hidden_layer_sizes": (8,), "epochs": 8, "batch_size": 128, "lr": 0.01, "random_state": 0, "device": "cpu"}


def _biased(n: int = 1_500, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The label depends on the group directly and through a proxy feature."""
    rng = np.random.default_rng(seed)
    group = rng.choice(np.array(["a", "b"]), size=n, p=[0.6, 0.4])
    g = (group == "a").astype(float)
    X = np.column_stack([rng.normal(size=n) + 1.5 * g, rng.normal(size=n), rng.normal(size=n)])
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=n) > 0.8).astype(np.int64)
    return X, y, group


# ---------------------------------------------------------------------------------------------
# Penalties
# ---------------------------------------------------------------------------------------------


def test_demographic_parity_penalty_is_the_gap_of_group_means_and_has_gradients() -> None:
    logits = torch.tensor([2.0, 0.5, -1.0, 0.0, -2.0, 1.0], requires_grad=True)
    groups = ["x", "x", "y", "y", "z", "z"]
    probs = torch.sigmoid(logits)
    penalty = demographic_parity_penalty(probs, groups)
    p = probs.detach().numpy()
    means = [p[:2].mean(), p[2:4].mean(), p[4:].mean()]
    assert penalty.item() == pytest.approx(max(means) - min(means), rel=1e-6)
    penalty.backward()
    assert logits.grad is not None
    assert torch.count_nonzero(logits.grad) == 4  # only the rows of the two extreme groups move it
    weighted = demographic_parity_penalty(
        probs.detach(), torch.tensor([0, 0, 1, 1, 2, 2]), sample_weight=[3, 1, 1, 1, 1, 1]
    )
    weighted_means = [(3 * p[0] + p[1]) / 4, p[2:4].mean(), p[4:].mean()]
    assert weighted.item() == pytest.approx(max(weighted_means) - min(weighted_means), rel=1e-6)


def test_equalized_odds_penalty_matches_soft_rates() -> None:
    probs = torch.tensor([0.9, 0.4, 0.2, 0.7, 0.6, 0.1, 0.5, 0.3])
    labels = [1, 1, 0, 0, 1, 1, 0, 0]
    groups = ["a"] * 4 + ["b"] * 4
    tpr_gap = abs((0.9 + 0.4) / 2 - (0.6 + 0.1) / 2)
    fpr_gap = abs((0.2 + 0.7) / 2 - (0.5 + 0.3) / 2)
    assert equalized_odds_penalty(probs, labels, groups).item() == pytest.approx(max(tpr_gap, fpr_gap))
    assert equalized_odds_penalty(probs, labels, groups, agg="mean").item() == pytest.approx((tpr_gap + fpr_gap) / 2)


def test_a_batch_with_one_group_gives_zero_and_keeps_the_graph() -> None:
    probs = torch.sigmoid(torch.tensor([0.3, -0.2], requires_grad=True))
    penalty = demographic_parity_penalty(probs, [1, 1])
    assert penalty.item() == 0.0
    penalty.backward()  # no error: still part of the graph


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 3), st.integers(0, 1)), min_size=2, max_size=40),
    st.randoms(use_true_random=False),
)
def test_penalties_agree_with_numpy_and_ignore_row_order(rows: list[tuple[float, int, int]], rnd: Any) -> None:
    p = np.array([r[0] for r in rows])
    g = np.array([r[1] for r in rows])
    y = np.array([r[2] for r in rows])
    means = [p[g == k].mean() for k in np.unique(g)]
    dp = demographic_parity_penalty(torch.tensor(p), g).item()
    assert dp == pytest.approx(max(means) - min(means), abs=1e-12)
    order = list(range(len(rows)))
    rnd.shuffle(order)
    assert demographic_parity_penalty(torch.tensor(p[order]), g[order]).item() == pytest.approx(dp, abs=1e-12)
    gaps = []
    for label in (1, 0):
        rates = [p[(g == k) & (y == label)].mean() for k in np.unique(g) if ((g == k) & (y == label)).any()]
        gaps.append(max(rates) - min(rates) if len(rates) > 1 else 0.0)
    assert equalized_odds_penalty(torch.tensor(p), y, g).item() == pytest.approx(max(gaps), abs=1e-12)


def test_penalty_errors_name_the_fix() -> None:
    with pytest.raises(InvalidInputError, match=r"probabilities in \[0, 1\].*Apply torch.sigmoid to logits"):
        demographic_parity_penalty(torch.tensor([1.5, -0.2]), [0, 1])
    with pytest.raises(InvalidInputError, match=r"must be a torch\.Tensor"):
        demographic_parity_penalty(np.array([0.5, 0.5]), [0, 1])
    with pytest.raises(InvalidInputError, match=r"shape \(n,\) or \(n, 1\).*probs\[:, 1\]"):
        demographic_parity_penalty(torch.full((2, 2), 0.5), [0, 1])
    with pytest.raises(LengthMismatchError, match="probs has 2, groups 3"):
        demographic_parity_penalty(torch.tensor([0.5, 0.5]), [0, 1, 1])
    with pytest.raises(InvalidInputError, match=r"groups\.long\(\)"):
        demographic_parity_penalty(torch.tensor([0.5, 0.5]), torch.tensor([0.0, 1.0]))
    with pytest.raises(InvalidInputError, match="labels must be 0/1"):
        equalized_odds_penalty(torch.tensor([0.5, 0.5]), [0, 2], [0, 1])
    with pytest.raises(LengthMismatchError, match="probs has 2, labels 1"):
        equalized_odds_penalty(torch.tensor([0.5, 0.5]), [0], [0, 1])
    with pytest.raises(InvalidInputError, match="agg must be one of"):
        equalized_odds_penalty(torch.tensor([0.5, 0.5]), [0, 1], [0, 1], agg="max")
    with pytest.raises(LengthMismatchError, match="sample_weight"):
        demographic_parity_penalty(torch.tensor([0.5, 0.5]), [0, 1], sample_weight=[1.0])


def test_penalty_in_a_custom_training_loop_reduces_the_gap() -> None:
    X, y, group = _biased(n=800)
    x = torch.as_tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32)
    gaps = []
    for weight in (0.0, 3.0):
        torch.manual_seed(0)
        net = torch.nn.Linear(3, 1)
        optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
        for _ in range(150):
            probs = torch.sigmoid(net(x)[:, 0])
            loss = torch.nn.functional.binary_cross_entropy(probs, yt) + weight * demographic_parity_penalty(
                probs, group
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        gaps.append(demographic_parity_penalty(torch.sigmoid(net(x)[:, 0]), group).item())
    assert gaps[1] < gaps[0] / 3


# ---------------------------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------------------------


def _dp(model: Any, X: np.ndarray, y: np.ndarray, group: np.ndarray) -> float:  # noqa: N803
    return float(demographic_parity_difference(y, model.predict(X), sensitive_features=group))


def test_regularised_network_reduces_the_gap_it_targets() -> None:
    X, y, group = _biased()
    base = FairnessRegularizedClassifier(**TINY, penalty_weight=0.0).fit(X, y)
    fair = FairnessRegularizedClassifier(**TINY, penalty_weight=3.0).fit(X, y, sensitive_features=group)
    assert _dp(base, X, y, group) > 0.3
    assert _dp(fair, X, y, group) < _dp(base, X, y, group) / 2
    eo = FairnessRegularizedClassifier(**TINY, penalty="equalized_odds", penalty_weight=3.0)
    eo.fit(X, y, sensitive_features=group)
    eo_gap = equalized_odds_difference(y, eo.predict(X), sensitive_features=group)
    assert eo_gap < equalized_odds_difference(y, base.predict(X), sensitive_features=group)
    assert len(fair.loss_curve_) == fair.n_iter_ == TINY["epochs"]
    assert fair.groups_ == [("a",), ("b",)]


def test_adversarial_network_reduces_the_gap() -> None:
    X, y, group = _biased()
    base = FairnessRegularizedClassifier(**TINY, penalty_weight=0.0).fit(X, y)
    adversarial = AdversarialDebiasingClassifier(**TINY, adversary_loss_weight=0.3).fit(X, y, sensitive_features=group)
    assert _dp(adversarial, X, y, group) < _dp(base, X, y, group) / 2
    assert len(adversarial.adversary_loss_curve_) == TINY["epochs"]
    # Equalised odds (the adversary also sees the label) and three groups (a softmax adversary).
    three = np.where(X[:, 1] > 1.0, "c", group)
    eo = AdversarialDebiasingClassifier(**TINY, criterion="equalized_odds", pretrain_epochs=0)
    assert eo.fit(X, y, sensitive_features=three).predict_proba(X).shape == (len(y), 2)


@pytest.mark.parametrize("estimator", [FairnessRegularizedClassifier, AdversarialDebiasingClassifier])
def test_seeded_fits_are_identical_and_models_pickle(estimator: Any) -> None:
    X, y, group = _biased(n=400)
    first = estimator(**TINY).fit(X, y, sensitive_features=group)
    second = clone(first).fit(X, y, sensitive_features=group)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other = clone(first).set_params(random_state=1).fit(X, y, sensitive_features=group)
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.predict_proba(X), first.predict_proba(X))
    proba = first.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(first.predict(X), first.classes_[(proba[:, 1] >= 0.5).astype(int)])


def test_string_labels_dataframes_and_sample_weight() -> None:
    X, y, group = _biased(n=400)
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2"])
    labels = np.where(y == 1, "yes", "no")
    model = FairnessRegularizedClassifier(**TINY).fit(frame, labels, sensitive_features=group)
    assert list(model.classes_) == ["no", "yes"]
    assert list(model.feature_names_in_) == ["f0", "f1", "f2"]
    assert set(model.predict(frame)) <= {"no", "yes"}
    weights = np.where(group == "a", 2.0, 1.0)
    weighted = FairnessRegularizedClassifier(**TINY).fit(X, y, sensitive_features=group, sample_weight=weights)
    assert not np.array_equal(
        weighted.predict_proba(X),
        FairnessRegularizedClassifier(**TINY).fit(X, y, sensitive_features=group).predict_proba(X),
    )


def test_estimator_errors_name_the_fix() -> None:
    X, y, group = _biased(n=100)
    with pytest.raises(InvalidInputError, match=r"sensitive_features is required.*fit\(X, y, sensitive_features"):
        FairnessRegularizedClassifier(**TINY).fit(X, y)
    with pytest.raises(InvalidInputError, match="sensitive_features is required"):
        AdversarialDebiasingClassifier(**TINY).fit(X, y)
    with pytest.raises(InvalidInputError, match="penalty must be one of 'demographic_parity', 'equalized_odds'"):
        FairnessRegularizedClassifier(penalty="dp").fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match="penalty_weight must be >= 0"):
        FairnessRegularizedClassifier(penalty_weight=-1).fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match=r"hidden_layer_sizes must be a tuple of positive layer widths"):
        FairnessRegularizedClassifier(hidden_layer_sizes=(0,)).fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match=r"lr \(the Adam learning rate\) must be positive"):
        FairnessRegularizedClassifier(lr=0.0).fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match="epochs must be an integer >= 1"):
        AdversarialDebiasingClassifier(epochs=0).fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match="adversary_steps must be an integer >= 1"):
        AdversarialDebiasingClassifier(adversary_steps=0).fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match=r"adversary_lr must be positive \(or None for lr\)"):
        AdversarialDebiasingClassifier(adversary_lr=-1.0).fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match="criterion must be one of"):
        AdversarialDebiasingClassifier(criterion="parity").fit(X, y, sensitive_features=group)
    with pytest.raises(InvalidInputError, match="device must be 'auto', 'cpu', 'cuda'"):
        FairnessRegularizedClassifier(device="tpu!").fit(X, y, sensitive_features=group)
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="CUDA is not available here; pass device='auto' or 'cpu'"):
            FairnessRegularizedClassifier(device="cuda").fit(X, y, sensitive_features=group)
    with pytest.raises(LabelError, match="Only binary classification is supported"):
        FairnessRegularizedClassifier(**TINY).fit(X, np.arange(100) % 3, sensitive_features=group)
    with pytest.raises(LengthMismatchError, match="sensitive_features must have one value per row of X"):
        FairnessRegularizedClassifier(**TINY).fit(X, y, sensitive_features=group[:-1])
    with pytest.raises(InvalidInputError, match="mitigation needs at least two groups"):
        FairnessRegularizedClassifier(**TINY).fit(X, y, sensitive_features=np.full(100, "a"))
    with pytest.raises(NotFittedError, match="this AdversarialDebiasingClassifier is not fitted yet"):
        AdversarialDebiasingClassifier().predict(X)


# ---------------------------------------------------------------------------------------------
# scikit-learn's estimator checks
# ---------------------------------------------------------------------------------------------


def _groups_of(X: Any) -> np.ndarray:  # noqa: N803
    """Two groups from the first column's value (a function of the row, as in the post-processing checks)."""
    if sp.issparse(X):
        X = X.toarray()
    values = np.real(np.asarray(X)).astype(float)
    if values.ndim != 2 or values.shape[1] == 0:
        return np.arange(len(values)) % 2
    groups = (np.nan_to_num(np.floor(np.abs(values[:, 0]) * 7919)) % 2).astype(int)
    if len(np.unique(groups)) < 2 and len(groups) > 1:
        groups[0] = 1 - groups[0]
    return groups


class FairnessRegularizedOnX(FairnessRegularizedClassifier):
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FairnessRegularizedOnX:  # type: ignore[override]  # noqa: N803
        groups = _groups_of(X) if len(np.unique(_groups_of(X))) > 1 else None
        super().fit(X, y, sensitive_features=groups, sample_weight=sample_weight)
        return self


class AdversarialDebiasingOnX(AdversarialDebiasingClassifier):
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> AdversarialDebiasingOnX:  # type: ignore[override]  # noqa: N803
        super().fit(X, y, sensitive_features=_groups_of(X), sample_weight=sample_weight)
        return self


_STOCHASTIC = "mini-batch SGD: duplicating a row is not the same optimisation path as doubling its weight"
CHECKS = {"hidden_layer_sizes": (16,), "epochs": 30, "batch_size": 64, "lr": 0.04, "device": "cpu", "random_state": 0}


def _expected_failures(estimator: Any) -> dict[str, str]:
    return {"check_sample_weight_equivalence_on_dense_data": _STOCHASTIC}


@parametrize_with_checks(
    [
        FairnessRegularizedOnX(**CHECKS, penalty_weight=0.5),
        AdversarialDebiasingOnX(**CHECKS, adversary_loss_weight=0.1),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)
