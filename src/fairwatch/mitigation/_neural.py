"""In-training mitigation for neural networks (PyTorch) with a scikit-learn interface.

* :class:`FairnessRegularizedClassifier`: a small MLP trained on the log loss plus a weighted
  differentiable fairness penalty (:func:`demographic_parity_penalty` or
  :func:`equalized_odds_penalty`) computed on every mini-batch;
* :class:`AdversarialDebiasingClassifier` (Zhang, Lemoine & Mitchell, 2018): the same MLP (the
  predictor) against an adversary that predicts the sensitive group from the predictor's output
  (and the label, for equalised odds); the predictor's gradient has its component along the
  adversary's gradient removed and is pushed against it.

Both standardise the features, train with Adam on mini-batches, are deterministic for a given
``random_state`` on CPU, and use CUDA when ``device="auto"`` finds it. After ``fit`` the network
is kept on the CPU, so fitted models pickle and predict anywhere.

Needs the ``torch`` extra (``pip install 'fairwatch[torch]'``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import column_or_1d, validate_data

from fairwatch._torch_adapter import require_torch
from fairwatch._typing import FloatArray, IntArray, SensitiveLike
from fairwatch.exceptions import InvalidInputError, LengthMismatchError
from fairwatch.mitigation._base import check_fitted, check_sample_weight, encode_sensitive
from fairwatch.mitigation._penalties import demographic_parity_penalty, equalized_odds_penalty
from fairwatch.mitigation._postprocessing import _binary_target, _check_choice, _check_int, _check_number

torch = require_torch("fairwatch's neural mitigation estimators")

__all__ = ["AdversarialDebiasingClassifier", "FairnessRegularizedClassifier"]

PENALTIES = ("demographic_parity", "equalized_odds")
_PREDICT_BATCH = 16_384


def _resolve_device(device: Any) -> Any:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidInputError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError(f"device={device!r} but CUDA is not available here; pass device='auto' or 'cpu'")
    return resolved


def _check_layers(value: Any, argument: str, *, allow_empty: bool) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,)
    try:
        layers = tuple(value)
    except TypeError:
        raise InvalidInputError(f"{argument} must be a tuple of layer widths such as (64,); got {value!r}") from None
    if (not layers and not allow_empty) or any(
        isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in layers
    ):
        raise InvalidInputError(f"{argument} must be a tuple of positive layer widths such as (64,); got {value!r}")
    return tuple(int(w) for w in layers)


def _mlp(n_inputs: int, hidden: Sequence[int], n_outputs: int) -> Any:
    layers: list[Any] = []
    width = n_inputs
    for size in hidden:
        layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
        width = size
    layers.append(torch.nn.Linear(width, n_outputs))
    return torch.nn.Sequential(*layers)


def _seed(random_state: Any) -> int:
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


class _TorchClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Validation, standardisation, the predictor network and prediction shared by both estimators."""

    hidden_layer_sizes: Any
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    random_state: Any
    device: Any

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags

        tags = super().__sklearn_tags__()
        tags.classifier_tags = ClassifierTags(multi_class=False)
        tags.target_tags.required = True
        tags.non_deterministic = False
        return tags

    def _check_common(self) -> tuple[tuple[int, ...], int, int, float, float]:
        hidden = _check_layers(self.hidden_layer_sizes, "hidden_layer_sizes", allow_empty=True)
        epochs = _check_int(self.epochs, "epochs", 1)
        batch_size = _check_int(self.batch_size, "batch_size", 1)
        lr = _check_number(self.lr, "lr")
        if lr <= 0:
            raise InvalidInputError(f"lr (the Adam learning rate) must be positive; got {self.lr!r}")
        weight_decay = _check_number(self.weight_decay, "weight_decay")
        if weight_decay < 0:
            raise InvalidInputError(f"weight_decay must be >= 0; got {self.weight_decay!r}")
        return hidden, epochs, batch_size, lr, weight_decay

    def _prepare(
        self, X: Any, y: Any, sensitive_features: SensitiveLike, sample_weight: Any, *, needs_groups: bool
    ) -> tuple[FloatArray, IntArray, IntArray | None, FloatArray]:
        """Validate the fit inputs; set ``classes_``, ``n_features_in_``, the scaling and ``groups_``."""
        name = type(self).__name__
        if y is None:
            raise InvalidInputError(f"{name} requires y to be passed, but the target y is None")
        features = validate_data(self, X, y="no_validation", reset=True, dtype=np.float64, ensure_min_samples=1)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # a column vector: warn as scikit-learn does
        y01, classes = _binary_target(y, name)
        if y01.size != features.shape[0]:
            raise LengthMismatchError(
                f"X and y must have the same number of rows: X has {features.shape[0]}, y has {y01.size}"
            )
        weights = check_sample_weight(sample_weight, y01.size)
        codes: IntArray | None = None
        if needs_groups or sensitive_features is not None:
            sens = encode_sensitive(sensitive_features, y01.size)
            codes = sens.codes
            self.groups_ = list(sens.groups)
            self.sensitive_feature_names_ = list(sens.names)
        self.classes_ = classes
        self.mean_ = features.mean(axis=0)
        scale = features.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return (features - self.mean_) / self.scale_, y01, codes, weights

    def _network(self, n_features: int, hidden: Sequence[int], seed: int) -> Any:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return _mlp(n_features, hidden, 1)

    def _logits(self, X: Any) -> FloatArray:
        check_fitted(self, "module_")
        features = validate_data(self, X, reset=False, dtype=np.float64)
        scaled = (features - self.mean_) / self.scale_
        self.module_.eval()
        out: list[np.ndarray] = []
        with torch.no_grad():
            for start in range(0, scaled.shape[0], _PREDICT_BATCH):
                batch = torch.from_numpy(scaled[start : start + _PREDICT_BATCH])
                out.append(self.module_(batch)[:, 0].numpy())
        return np.concatenate(out) if out else np.empty(0, dtype=np.float64)

    def decision_function(self, X: Any) -> FloatArray:
        """The network's logit of the positive class ``classes_[1]``, shape (n_samples,)."""
        return self._logits(X)

    def predict_proba(self, X: Any) -> FloatArray:
        """Probabilities of ``classes_[0]`` and ``classes_[1]``, shape (n_samples, 2)."""
        positive = 1.0 / (1.0 + np.exp(-self._logits(X)))
        return np.column_stack((1.0 - positive, positive))

    def predict(self, X: Any) -> np.ndarray:
        """Labels from ``classes_``: the positive class where its probability is at least 0.5."""
        logits = self._logits(X)  # checks the model is fitted first
        labels: np.ndarray = self.classes_[(logits >= 0.0).astype(np.int64)]
        return labels

    def _tensors(
        self, features: FloatArray, y01: IntArray, codes: IntArray | None, weights: FloatArray, device: Any
    ) -> tuple[Any, Any, Any, Any]:
        x = torch.as_tensor(features, dtype=torch.float32, device=device)
        y = torch.as_tensor(y01, dtype=torch.float32, device=device)
        g = None if codes is None else torch.as_tensor(codes, dtype=torch.long, device=device)
        w = torch.as_tensor(weights, dtype=torch.float32, device=device)
        return x, y, g, w

    def _finish(self, module: Any, losses: list[float], epochs: int) -> None:
        module.eval()
        # Predictions run in float64 on the CPU: a row's output does not depend on its batch.
        self.module_ = module.to(device="cpu", dtype=torch.float64)
        self.loss_curve_ = losses
        self.n_iter_ = epochs


def _weighted_bce(logits: Any, y: Any, w: Any) -> Any:
    losses = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return (losses * w).sum() / w.sum().clamp_min(1e-12)


class FairnessRegularizedClassifier(_TorchClassifier):
    """An MLP trained on the log loss plus a weighted differentiable fairness penalty.

    Each mini-batch's loss is ``log_loss + penalty_weight * gap``, where ``gap`` is the soft
    demographic-parity or equalised-odds gap of the batch (see
    :func:`demographic_parity_penalty`, :func:`equalized_odds_penalty`). ``penalty_weight=0``
    trains the plain network (and needs no sensitive features), the baseline of a sweep.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(64,)
        Widths of the hidden ReLU layers (``()`` gives logistic regression).
    penalty : {"demographic_parity", "equalized_odds"}, default="demographic_parity"
    penalty_weight : float, default=1.0
        Weight of the penalty in the loss; larger trades accuracy for a smaller gap.
    epochs : int, default=20
        Passes over the training data.
    batch_size : int, default=256
        Rows per mini-batch (each group should appear in most batches).
    lr : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=0.0
        L2 penalty (Adam's weight decay).
    random_state : int, RandomState or None, default=None
        Seeds the initial weights and the batch order; an int makes fits reproducible on CPU.
    device : {"auto", "cpu", "cuda", ...}, default="auto"
        Where to train; ``"auto"`` uses CUDA when available. The fitted network lives on the CPU.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    module_ : torch.nn.Sequential
        The trained network (one logit output).
    mean_, scale_ : ndarray of shape (n_features,)
        The standardisation learned in fit.
    groups_ : list of tuple
        Groups seen in fit (when sensitive features were given).
    loss_curve_ : list of float
        Mean training loss (log loss plus weighted penalty) per epoch.
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray
        Only when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from fairwatch.mitigation import FairnessRegularizedClassifier
    >>> rng = np.random.default_rng(0)
    >>> group = rng.choice(["a", "b"], size=400)
    >>> X = rng.normal(size=(400, 3)) + (group == "a")[:, None]
    >>> y = (X[:, 0] + rng.normal(size=400) > 0.5).astype(int)
    >>> model = FairnessRegularizedClassifier(hidden_layer_sizes=(8,), penalty_weight=2.0, epochs=5, random_state=0)
    >>> model.fit(X, y, sensitive_features=group).predict_proba(X).shape
    (400, 2)
    """

    def __init__(
        self,
        hidden_layer_sizes: Any = (64,),
        *,
        penalty: str = "demographic_parity",
        penalty_weight: float = 1.0,
        epochs: int = 20,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        random_state: Any = None,
        device: Any = "auto",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.penalty = penalty
        self.penalty_weight = penalty_weight
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.device = device

    def fit(
        self, X: Any, y: Any, *, sensitive_features: SensitiveLike = None, sample_weight: Any = None
    ) -> FairnessRegularizedClassifier:
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features (standardised internally).
        y : array-like of shape (n_samples,)
            Binary labels (the greater one is the positive class).
        sensitive_features : array-like, dataframe or dict
            Groups the penalty equalises (intersections of several columns). Required unless
            ``penalty_weight=0``.
        sample_weight : array-like of shape (n_samples,), optional
            Row weights for the loss and the penalty's group statistics.

        Returns
        -------
        self

        Raises
        ------
        InvalidInputError
            For bad parameters, missing sensitive features, or a single group.
        LabelError
            If ``y`` is not binary.
        """
        hidden, epochs, batch_size, lr, weight_decay = self._check_common()
        penalty = _check_choice(self.penalty, "penalty", PENALTIES)
        weight = _check_number(self.penalty_weight, "penalty_weight")
        if weight < 0:
            raise InvalidInputError(f"penalty_weight must be >= 0; got {self.penalty_weight!r}")
        device = _resolve_device(self.device)
        features, y01, codes, weights = self._prepare(X, y, sensitive_features, sample_weight, needs_groups=weight > 0)
        seed = _seed(self.random_state)
        module = self._network(features.shape[1], hidden, seed).to(device)
        x, yt, g, w = self._tensors(features, y01, codes, weights, device)
        optimizer = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)
        generator = torch.Generator().manual_seed(seed)
        losses: list[float] = []
        module.train()
        for _ in range(epochs):
            order = torch.randperm(x.shape[0], generator=generator).to(device)
            total, batches = 0.0, 0
            for start in range(0, x.shape[0], batch_size):
                idx = order[start : start + batch_size]
                logits = module(x[idx])[:, 0]
                loss = _weighted_bce(logits, yt[idx], w[idx])
                if weight > 0 and g is not None:
                    probs = torch.sigmoid(logits)
                    if penalty == "demographic_parity":
                        gap = demographic_parity_penalty(probs, g[idx], sample_weight=w[idx])
                    else:
                        gap = equalized_odds_penalty(probs, yt[idx], g[idx], sample_weight=w[idx])
                    loss = loss + weight * gap
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach())
                batches += 1
            losses.append(total / max(batches, 1))
        self._finish(module, losses, epochs)
        return self


class AdversarialDebiasingClassifier(_TorchClassifier):
    """Adversarial debiasing (Zhang, Lemoine & Mitchell, 2018) with a scikit-learn interface.

    A predictor MLP outputs a logit ``z``. An adversary sees ``s = sigmoid((1 + |c|) z)`` (with a
    learned ``c``; for equalised odds also ``s * y`` and ``s * (1 - y)``) and predicts the
    sensitive group. On every mini-batch the adversary takes a step to predict the group better,
    and the predictor takes a step along ``g_P - proj_{g_A} g_P - alpha * g_A``, where ``g_P``
    and ``g_A`` are the gradients of the predictor's and the adversary's losses with respect to
    the predictor's weights: no step helps the adversary, and part of each step hurts it.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(64,)
        Hidden ReLU layers of the predictor.
    criterion : {"demographic_parity", "equalized_odds"}, default="demographic_parity"
        What the adversary is given: the output only (demographic parity) or the output and the
        label (equalised odds).
    adversary_loss_weight : float, default=0.1
        ``alpha``: how hard the predictor pushes against the adversary (larger: smaller gap, lower
        accuracy; 0.1 as in AIF360).
    adversary_hidden_layer_sizes : tuple of int, default=()
        Hidden layers of the adversary (``()``: logistic, as in the paper).
    epochs : int, default=20
    batch_size : int, default=256
    lr : float, default=1e-3
        Adam learning rate of the predictor.
    adversary_lr : float, optional
        Adam learning rate of the adversary (default: ``lr``).
    adversary_steps : int, default=5
        Adversary updates per mini-batch. An adversary that keeps up with the predictor is what
        makes "hurt the adversary" mean "hide the group": with a lagging adversary the predictor
        can raise the adversary's loss by shifting all its scores, without closing the gap.
    weight_decay : float, default=0.0
    pretrain_epochs : int, default=2
        Epochs of plain training (predictor, then adversary) before the adversarial game.
    random_state : int, RandomState or None, default=None
    device : {"auto", "cpu", "cuda", ...}, default="auto"

    Attributes
    ----------
    classes_, module_, mean_, scale_, groups_, loss_curve_, n_iter_, n_features_in_
        As in :class:`FairnessRegularizedClassifier` (``loss_curve_``: predictor log loss).
    adversary_ : torch.nn.Module
        The trained adversary.
    adversary_loss_curve_ : list of float
        The adversary's mean loss per epoch (rising toward its no-information level as the
        predictor hides the group).

    References
    ----------
    B. H. Zhang, B. Lemoine, M. Mitchell. "Mitigating Unwanted Biases with Adversarial
    Learning", AIES 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from fairwatch.mitigation import AdversarialDebiasingClassifier
    >>> rng = np.random.default_rng(0)
    >>> group = rng.choice(["a", "b"], size=400)
    >>> X = rng.normal(size=(400, 3)) + (group == "a")[:, None]
    >>> y = (X[:, 0] + rng.normal(size=400) > 0.5).astype(int)
    >>> model = AdversarialDebiasingClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=0)
    >>> model.fit(X, y, sensitive_features=group).predict(X).shape
    (400,)
    """

    def __init__(
        self,
        hidden_layer_sizes: Any = (64,),
        *,
        criterion: str = "demographic_parity",
        adversary_loss_weight: float = 0.1,
        adversary_hidden_layer_sizes: Any = (),
        epochs: int = 20,
        batch_size: int = 256,
        lr: float = 1e-3,
        adversary_lr: float | None = None,
        adversary_steps: int = 5,
        weight_decay: float = 0.0,
        pretrain_epochs: int = 2,
        random_state: Any = None,
        device: Any = "auto",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.criterion = criterion
        self.adversary_loss_weight = adversary_loss_weight
        self.adversary_hidden_layer_sizes = adversary_hidden_layer_sizes
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.adversary_lr = adversary_lr
        self.adversary_steps = adversary_steps
        self.weight_decay = weight_decay
        self.pretrain_epochs = pretrain_epochs
        self.random_state = random_state
        self.device = device

    def fit(
        self, X: Any, y: Any, *, sensitive_features: SensitiveLike = None, sample_weight: Any = None
    ) -> AdversarialDebiasingClassifier:
        """Train the predictor against the adversary.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Binary labels.
        sensitive_features : array-like, dataframe or dict
            The groups the adversary tries to recover (required).
        sample_weight : array-like of shape (n_samples,), optional
            Row weights of both losses.

        Returns
        -------
        self

        Raises
        ------
        InvalidInputError
            For bad parameters, missing sensitive features, or a single group.
        LabelError
            If ``y`` is not binary.
        """
        hidden, epochs, batch_size, lr, weight_decay = self._check_common()
        criterion = _check_choice(self.criterion, "criterion", PENALTIES)
        alpha = _check_number(self.adversary_loss_weight, "adversary_loss_weight")
        if alpha < 0:
            raise InvalidInputError(f"adversary_loss_weight must be >= 0; got {self.adversary_loss_weight!r}")
        adversary_hidden = _check_layers(
            self.adversary_hidden_layer_sizes, "adversary_hidden_layer_sizes", allow_empty=True
        )
        pretrain = _check_int(self.pretrain_epochs, "pretrain_epochs", 0)
        steps = _check_int(self.adversary_steps, "adversary_steps", 1)
        adversary_lr = lr if self.adversary_lr is None else _check_number(self.adversary_lr, "adversary_lr")
        if adversary_lr <= 0:
            raise InvalidInputError(f"adversary_lr must be positive (or None for lr); got {self.adversary_lr!r}")
        device = _resolve_device(self.device)
        features, y01, codes, weights = self._prepare(X, y, sensitive_features, sample_weight, needs_groups=True)
        assert codes is not None
        n_groups = len(self.groups_)
        seed = _seed(self.random_state)
        predictor = self._network(features.shape[1], hidden, seed).to(device)
        adversary = _Adversary(3 if criterion == "equalized_odds" else 1, adversary_hidden, n_groups, seed + 1)
        adversary = adversary.to(device)
        x, yt, g, w = self._tensors(features, y01, codes, weights, device)
        p_opt = torch.optim.Adam(predictor.parameters(), lr=lr, weight_decay=weight_decay)
        a_opt = torch.optim.Adam(adversary.parameters(), lr=adversary_lr, weight_decay=weight_decay)
        generator = torch.Generator().manual_seed(seed)
        p_params = list(predictor.parameters())
        losses: list[float] = []
        adversary_losses: list[float] = []
        predictor.train()
        for epoch in range(pretrain + epochs):
            order = torch.randperm(x.shape[0], generator=generator).to(device)
            p_total, a_total, batches = 0.0, 0.0, 0
            for start in range(0, x.shape[0], batch_size):
                idx = order[start : start + batch_size]
                xb, yb, gb, wb = x[idx], yt[idx], g[idx], w[idx]
                logits = predictor(xb)[:, 0]
                p_loss = _weighted_bce(logits, yb, wb)
                detached = logits.detach()
                for _ in range(steps):  # the adversary learns throughout, on the predictor's detached output
                    a_opt.zero_grad()
                    a_loss = adversary.loss(detached, yb, gb, wb)
                    a_loss.backward()
                    a_opt.step()
                a_total += float(a_loss.detach())
                p_opt.zero_grad()
                if epoch < pretrain or alpha == 0:
                    p_loss.backward()
                else:
                    a_loss_p = adversary.loss(logits, yb, gb, wb)
                    _project_gradients(p_params, p_loss, a_loss_p, alpha)
                p_opt.step()
                p_total += float(p_loss.detach())
                batches += 1
            if epoch >= pretrain:
                losses.append(p_total / max(batches, 1))
                adversary_losses.append(a_total / max(batches, 1))
        self.adversary_ = adversary.to("cpu")
        self.adversary_loss_curve_ = adversary_losses
        self._finish(predictor, losses, epochs)
        return self


def _project_gradients(params: list[Any], p_loss: Any, a_loss: Any, alpha: float) -> None:
    """Set ``.grad`` of ``params`` to ``g_P - proj_{g_A} g_P - alpha * g_A`` (Zhang et al., eq. 1)."""
    g_p = torch.autograd.grad(p_loss, params, retain_graph=True, allow_unused=True)
    g_a = torch.autograd.grad(a_loss, params, allow_unused=True)
    g_p = [torch.zeros_like(p) if g is None else g for p, g in zip(params, g_p)]
    g_a = [torch.zeros_like(p) if g is None else g for p, g in zip(params, g_a)]
    flat_p = torch.cat([g.reshape(-1) for g in g_p])
    flat_a = torch.cat([g.reshape(-1) for g in g_a])
    unit = flat_a / flat_a.norm().clamp_min(1e-12)
    flat = flat_p - (flat_p @ unit) * unit - alpha * flat_a
    offset = 0
    for param in params:
        size = param.numel()
        param.grad = flat[offset : offset + size].view_as(param).clone()
        offset += size


_Module: Any = torch.nn.Module


class _Adversary(_Module):  # type: ignore[misc]
    """Predicts the group from ``s = sigmoid((1 + |c|) z)`` (and ``s*y``, ``s*(1-y)`` for equalised odds)."""

    def __init__(self, n_inputs: int, hidden: Sequence[int], n_groups: int, seed: int) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.c = torch.nn.Parameter(torch.ones(1))
            self.net = _mlp(n_inputs, hidden, 1 if n_groups == 2 else n_groups)
        self.n_inputs = n_inputs
        self.n_groups = n_groups

    def forward(self, logits: Any, y: Any) -> Any:
        s = torch.sigmoid((1.0 + self.c.abs()) * logits)
        inputs = [s] if self.n_inputs == 1 else [s, s * y, s * (1.0 - y)]
        return self.net(torch.stack(inputs, dim=1))

    def loss(self, logits: Any, y: Any, groups: Any, w: Any) -> Any:
        out = self(logits, y)
        if self.n_groups == 2:
            return _weighted_bce(out[:, 0], groups.to(out.dtype), w)
        losses = torch.nn.functional.cross_entropy(out, groups, reduction="none")
        return (losses * w).sum() / w.sum().clamp_min(1e-12)
