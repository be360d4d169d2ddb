"""``fairwatch.audit_model``: audit a model (not a prediction column) on data.

Any object with ``predict_proba`` / ``decision_function`` / ``predict`` (scikit-learn, XGBoost and
LightGBM wrappers, pipelines, fairwatch's own estimators), a PyTorch ``nn.Module`` (through
:class:`TorchModelAdapter`, detected automatically), or any callable returning probabilities (a
remote endpoint wrapped in a function) is run on ``X`` in batches; its decisions and scores then
go through :func:`fairwatch.audit`, so the numbers are exactly those ``audit`` gives on the
model's own predictions. torch is imported only when the model is a torch module.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import narwhals as nw
import numpy as np

from fairwatch._audit import Audit, audit
from fairwatch._model_rows import DEFAULT_BATCH_SIZE, batches, check_batch_size, check_probabilities, n_rows, slice_rows
from fairwatch._torch_adapter import TORCH_BATCH_SIZE, TorchModelAdapter, is_torch_module
from fairwatch._typing import ArrayLike, BoolArray, FloatArray, SensitiveLike
from fairwatch.exceptions import InvalidInputError, LengthMismatchError, UnknownColumnError
from fairwatch.frames._columns import Column, resolve_column, resolve_sensitive
from fairwatch.frames._encode import encode_sensitive, python_scalar

__all__ = ["ModelAudit", "ModelScorer", "audit_model"]

_Part = TypeVar("_Part")


# ---------------------------------------------------------------------------------------------
# One way to get scores and decisions out of any model
# ---------------------------------------------------------------------------------------------


def is_regressor(model: Any) -> bool:
    """True for a model that declares itself a regressor, as scikit-learn's ``is_regressor`` reads it
    (its estimator tags), or by the older ``_estimator_type = "regressor"``; scikit-learn is not imported."""
    sklearn_base = sys.modules.get("sklearn.base")  # a model with sklearn tags implies sklearn is loaded
    if sklearn_base is not None and hasattr(model, "__sklearn_tags__") and sklearn_base.is_regressor(model):
        return True
    return getattr(model, "_estimator_type", None) == "regressor"


@dataclass(frozen=True)
class ModelOutputs:
    """What a model says about some rows.

    ``scores`` is the probability of the positive class (``is_probability``) or a decision
    function value, or None for a label-only model; ``positive`` is the 0/1 decision and
    ``labels`` the decision as class labels.
    """

    scores: FloatArray | None
    is_probability: bool
    positive: BoolArray
    labels: np.ndarray


class ModelScorer:
    """Scores and decisions of any supported model, in batches.

    Parameters
    ----------
    model : object or callable
        See :func:`audit_model`.
    threshold : float, optional
        Decide "positive" where the score is at least ``threshold``; None uses the model's own
        ``predict`` (or 0.5 on probabilities when it has none).
    pos_label : object, optional
        The positive class; default ``classes_[1]`` of the model, or the greater of the labels.
    classes : sequence, optional
        The two labels, for models without ``classes_`` (taken from ``y``).
    batch_size : int
        Rows per model call.
    """

    def __init__(
        self,
        model: Any,
        *,
        threshold: float | None = None,
        pos_label: Any = None,
        classes: Any = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if model is None:
            raise InvalidInputError("model is None; pass a fitted model, a torch module or a function returning scores")
        self.batch_size = check_batch_size(batch_size)
        self.model: Any = (
            TorchModelAdapter(model, batch_size=min(self.batch_size, TORCH_BATCH_SIZE))
            if is_torch_module(model)
            else model
        )
        self.method = self._score_method(self.model)
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)):
                raise InvalidInputError(f"threshold must be a number (a cut on the score); got {threshold!r}")
            if not np.isfinite(threshold):
                raise InvalidInputError(f"threshold must be finite; got {threshold!r}")
            if self.method == "predict":
                raise InvalidInputError(
                    f"threshold={threshold!r} needs scores, but {type(model).__name__} has only predict; drop "
                    f"threshold or pass a model with predict_proba or decision_function"
                )
        self.threshold = None if threshold is None else float(threshold)
        self.classes, self.positive_label = self._classes(classes, pos_label)

    @staticmethod
    def _score_method(model: Any) -> str:
        for method in ("predict_proba", "decision_function", "predict"):
            if callable(getattr(model, method, None)):
                return method
        if callable(model):
            return "call"
        raise InvalidInputError(
            f"the model ({type(model).__name__}) has none of predict_proba, decision_function or predict and is "
            f"not callable; pass a fitted estimator, a torch.nn.Module, or a function X -> probabilities "
            f"(e.g. lambda X: endpoint.score(X))"
        )

    def _classes(self, classes: Any, pos_label: Any) -> tuple[np.ndarray, Any]:
        model_classes = getattr(self.model, "classes_", None)
        if model_classes is not None and self.method != "call" and not isinstance(self.model, TorchModelAdapter):
            labels = np.asarray(model_classes)
            source = f"{type(self.model).__name__}.classes_"
        elif classes is not None:
            labels = np.asarray(classes)
            source = "the labels of y"
        else:
            labels = np.array([0, 1])
            source = "the default labels"
        if labels.ndim != 1 or labels.size != 2:
            raise InvalidInputError(
                f"fairwatch audits binary classifiers; {source} holds {labels.size} classes "
                f"({[python_scalar(v) for v in labels[:6]]})"
            )
        if pos_label is None:
            return labels, labels[1]
        matches = np.flatnonzero(labels == pos_label)
        if matches.size != 1:
            raise InvalidInputError(
                f"pos_label={pos_label!r} is not one of {source} {[python_scalar(v) for v in labels]}; "
                f"pass one of those"
            )
        if matches[0] == 0:
            labels = labels[::-1]
        return labels, labels[1]

    @property
    def score_source(self) -> str:
        """Which method gives the scores: ``predict_proba``, ``decision_function``, ``call`` or ``predict``."""
        return self.method

    @property
    def decision_rule(self) -> str:
        """How decisions are made, as text (recorded in audits)."""
        if self.threshold is not None:
            return f"{self.method} >= {self.threshold:g}"
        if self._uses_predict:
            return "predict"
        return f"{self.method} >= {self._default_cut:g}"

    @property
    def _uses_predict(self) -> bool:
        """Decisions from the model's own ``predict`` (not for torch modules: their labels are the data's)."""
        return (
            self.threshold is None
            and callable(getattr(self.model, "predict", None))
            and not isinstance(self.model, TorchModelAdapter)
        )

    @property
    def _default_cut(self) -> float:
        return self.model.threshold if isinstance(self.model, TorchModelAdapter) else 0.5

    def describe(self) -> str:
        if isinstance(self.model, TorchModelAdapter):
            return f"torch:{type(self.model.module).__name__}"
        if self.method == "call":
            return getattr(self.model, "__qualname__", None) or type(self.model).__name__
        return type(self.model).__name__

    def _positive_column(self, proba: np.ndarray) -> int:
        model_classes = getattr(self.model, "classes_", None)
        if model_classes is None:
            return 1
        matches = np.flatnonzero(np.asarray(model_classes) == self.positive_label)
        return int(matches[0]) if matches.size == 1 else 1

    def _call(self, method: Any, X: Any, groups: Mapping[str, np.ndarray] | None) -> Any:  # noqa: N803
        """``method(X)``; group-aware models (post-processors) also get the rows' sensitive features,
        and randomised ones ``random_state=0`` so an audit is reproducible."""
        try:
            parameters = inspect.signature(method).parameters
        except (TypeError, ValueError):
            return method(X)
        kwargs: dict[str, Any] = {}
        if groups is not None and "sensitive_features" in parameters:
            kwargs["sensitive_features"] = dict(groups)
        if "random_state" in parameters:
            kwargs["random_state"] = 0
        return method(X, **kwargs)

    def _scores(self, X: Any, rows: int, groups: Mapping[str, np.ndarray] | None = None) -> FloatArray | None:  # noqa: N803
        name = type(self.model).__name__
        if self.method == "predict":
            return None
        if self.method == "call":
            raw = _to_numpy(self.model(X))
            source = f"the model function {self.describe()}"
        else:
            raw = _to_numpy(self._call(getattr(self.model, self.method), X, groups))
            source = f"{name}.{self.method}"
        if raw.ndim == 2 and raw.shape[1] == 1:
            raw = raw[:, 0]
        if raw.ndim == 2 and raw.shape[1] == 2:
            raw = raw[:, self._positive_column(raw)] if self.method != "call" else raw[:, 1]
        if raw.ndim != 1:
            raise InvalidInputError(
                f"{source} returned an array of shape {raw.shape}; fairwatch needs one score per row (shape (n,)) "
                f"or two class columns (shape (n, 2)) of a binary classifier"
            )
        if raw.shape[0] != rows:
            raise LengthMismatchError(f"{source} returned {raw.shape[0]} values for {rows} rows of X")
        try:
            values = raw.astype(np.float64)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{source} returned non-numeric values (e.g. {raw[:3].tolist()}); it must return scores"
            ) from None
        if self.method in ("predict_proba", "call"):
            check_probabilities(values, source)
        elif not np.all(np.isfinite(values)):
            raise InvalidInputError(f"{source} returned non-finite scores (NaN or inf); fix the model")
        return values

    def _predict_labels(self, X: Any, rows: int, groups: Mapping[str, np.ndarray] | None) -> np.ndarray:  # noqa: N803
        name = type(self.model).__name__
        labels = _to_numpy(self._call(self.model.predict, X, groups))
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1:
            raise InvalidInputError(f"{name}.predict returned shape {labels.shape}; expected one label per row")
        if labels.shape[0] != rows:
            raise LengthMismatchError(f"{name}.predict returned {labels.shape[0]} labels for {rows} rows of X")
        return labels

    def outputs(self, X: Any, sensitive_features: Mapping[str, np.ndarray] | None = None) -> ModelOutputs:  # noqa: N803
        """Scores and decisions for every row of ``X`` (the model is called once per batch).

        ``sensitive_features`` (one array per feature) is passed, batch by batch, to models whose
        methods take it (group-aware post-processors such as ``ThresholdOptimizer``).
        """
        if is_regressor(self.model):
            raise InvalidInputError(
                f"{type(self.model).__name__} is a regressor, but a binary classifier is needed here (its decisions "
                f"and scores are compared); pass a classifier. fairwatch.audit_model audits a regressor's predictions"
            )
        parts = self._per_batch(X, sensitive_features, self._outputs_one)
        scores = None if parts[0][0] is None else np.concatenate([p[0] for p in parts if p[0] is not None])
        labels = np.concatenate([p[1] for p in parts])
        positive = np.asarray(labels == self.positive_label, dtype=bool)
        return ModelOutputs(scores, self.method in ("predict_proba", "call"), positive, labels)

    def predictions(self, X: Any, sensitive_features: Mapping[str, np.ndarray] | None = None) -> FloatArray:  # noqa: N803
        """The model's ``predict`` for every row of ``X`` as numbers (a regressor's values), in batches."""
        return np.concatenate(self._per_batch(X, sensitive_features, self._predicted_values))

    def _per_batch(
        self,
        X: Any,  # noqa: N803
        sensitive_features: Mapping[str, np.ndarray] | None,
        run: Callable[[Any, int, Mapping[str, np.ndarray] | None], _Part],
    ) -> list[_Part]:
        """``run(rows, n, their sensitive features)`` on each batch of ``X`` (all of ``X`` when it fits one)."""
        total = n_rows(X)
        if total == 0:
            raise InvalidInputError("X is empty (0 rows); pass at least one row")
        if total <= self.batch_size:
            return [run(X, total, sensitive_features)]
        return [
            run(
                slice_rows(X, a, b),
                b - a,
                None if sensitive_features is None else {k: v[a:b] for k, v in sensitive_features.items()},
            )
            for a, b in batches(total, self.batch_size)
        ]

    def _predicted_values(self, X: Any, rows: int, groups: Mapping[str, np.ndarray] | None) -> FloatArray:  # noqa: N803
        name = type(self.model).__name__
        labels = self._predict_labels(X, rows, groups)
        try:
            values = labels.astype(np.float64)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{name}.predict returned non-numeric values (e.g. {labels[:3].tolist()}); a regressor predicts numbers"
            ) from None
        if not np.all(np.isfinite(values)):
            raise InvalidInputError(
                f"{name}.predict returned non-finite predictions (NaN or inf); fix the model, or leave out the rows "
                f"it cannot predict"
            )
        return values

    def _outputs_one(
        self,
        X: Any,  # noqa: N803
        rows: int,
        groups: Mapping[str, np.ndarray] | None,
    ) -> tuple[FloatArray | None, np.ndarray]:
        scores = self._scores(X, rows, groups)
        if self._uses_predict:
            labels = self._predict_labels(X, rows, groups)
            unknown = ~np.isin(labels, self.classes)
            if unknown.any():
                raise InvalidInputError(
                    f"{type(self.model).__name__}.predict returned {python_scalar(labels[unknown][0])!r}, which is "
                    f"not one of the classes {[python_scalar(c) for c in self.classes]}; pass pos_label, or y "
                    f"with the model's labels"
                )
            return scores, labels
        assert scores is not None  # only label-only models have no scores, and they have predict
        cut = self._default_cut if self.threshold is None else self.threshold
        return scores, self.classes[(scores >= cut).astype(np.int64)]


def _to_numpy(values: Any) -> np.ndarray:
    """A numpy array from what a model returned (arrays, lists, series, torch tensors)."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):
        values = values.detach().cpu().numpy()
    elif not isinstance(values, np.ndarray) and hasattr(values, "to_numpy"):
        values = values.to_numpy()
    return np.asarray(values)


# ---------------------------------------------------------------------------------------------
# audit_model
# ---------------------------------------------------------------------------------------------


class ModelAudit(Audit):
    """An :class:`~fairwatch.Audit` that also records the model and the decision rule behind it.

    Attributes
    ----------
    model_info : dict
        ``model`` (class or function name), ``task`` (``"classification"`` or
        ``"regression"``), ``scores_from`` (the method giving scores), ``decision`` (e.g.
        ``"predict"`` or ``"predict_proba >= 0.3"``), ``threshold``, ``pos_label`` (None for a
        regression), ``torch_output`` (for a torch module, what its outputs were read as and why,
        e.g. ``"probabilities (last layer Sigmoid)"``; else None), ``batch_size`` and
        ``n_batches``. Also under ``"model"`` in :meth:`to_dict`.
    """

    def __init__(self, base: Audit, model_info: Mapping[str, Any]) -> None:
        super().__init__(base.stats, base.summary, backend=base._backend, options=base._options)
        self.checks = base.checks
        self.model_info = dict(model_info)

    def marginal(self, *names: str) -> ModelAudit:
        return ModelAudit(super().marginal(*names), self.model_info)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["model"] = dict(self.model_info)
        return out

    def to_html(self, path: Any = None, **options: Any) -> str:
        """The HTML report (see :meth:`Audit.to_html`), with the model and decision rule in its parameters."""
        parameters = {f"model {k}": v for k, v in self.model_info.items() if v is not None}
        parameters.update(options.pop("parameters", None) or {})
        return super().to_html(path, parameters=parameters, **options)

    def __repr__(self) -> str:
        info = self.model_info
        return f"Model{super().__repr__()[:-1]}, model={info['model']!r}, decision={info['decision']!r})"


def _distinct_labels(y: Column) -> np.ndarray | None:
    """The distinct non-missing values of ``y``, sorted; None when they cannot be sorted (mixed types)."""
    values = y.to_numpy()
    try:
        return np.unique(values[~_missing(values)])
    except TypeError:
        return None


def _label_candidates(distinct: np.ndarray | None) -> np.ndarray | None:
    return distinct if distinct is not None and distinct.size == 2 else None


def _is_regression(model: Any, y: Column, distinct: np.ndarray | None) -> bool:
    """A regressor, or a model that only has ``predict`` (no classes, no scores) on a numeric target
    with more than two values: its predictions are values to compare with ``y``, not labels."""
    if is_regressor(model):
        return True
    values_only = (
        not is_torch_module(model)
        and callable(getattr(model, "predict", None))
        and getattr(model, "classes_", None) is None
        and not any(callable(getattr(model, m, None)) for m in ("predict_proba", "decision_function"))
    )
    return values_only and y.is_numeric() and distinct is not None and distinct.size > 2


def _check_regression_arguments(model: Any, threshold: float | None, pos_label: Any) -> None:
    name = type(model).__name__
    if threshold is not None:
        raise InvalidInputError(
            f"threshold={threshold!r} cuts a classifier's scores, but {name} is a regressor: its predictions get "
            f"the regression audit. To audit decisions made by cutting them, audit those decisions: "
            f"fairwatch.audit(y, model.predict(X) >= {threshold!r}, ...) with binary y"
        )
    if pos_label is not None:
        raise InvalidInputError(
            f"pos_label={pos_label!r} names a class, but {name} is a regressor: its predictions get the regression "
            f"audit, which has no positive class; drop pos_label"
        )


def _check_two_labels(distinct: np.ndarray | None, scorer: ModelScorer) -> None:
    """A binary classifier's audit needs binary ``y`` (else ``audit`` would read the labels as numbers)."""
    if distinct is not None and distinct.size > 2:
        raise InvalidInputError(
            f"y holds {distinct.size} distinct values ({', '.join(str(python_scalar(v)) for v in distinct[:4])}"
            f"{', ...' if distinct.size > 4 else ''}), "
            f"but {scorer.describe()} is a binary classifier: its audit needs y with two labels. Pass the labels "
            f"it predicts; for a regression model pass a regressor (scikit-learn regressors are recognised, and "
            f"so is a model with only predict on a numeric target)"
        )


def _missing(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.asarray(np.isnan(values), dtype=bool)
    if values.dtype.kind == "O":
        return np.asarray([v is None or (isinstance(v, float) and np.isnan(v)) for v in values], dtype=bool)
    return np.zeros(values.shape, dtype=bool)


def _frame_or_none(X: Any) -> nw.DataFrame[Any] | None:  # noqa: N803
    if isinstance(X, (np.ndarray, list, tuple)) or hasattr(X, "tocsr"):
        return None
    try:
        frame = nw.from_native(X, eager_only=True)
    except TypeError:
        return None
    return frame if isinstance(frame, nw.DataFrame) else None


def _drop_column(X: Any, name: str) -> Any:  # noqa: N803
    return nw.from_native(X, eager_only=True).drop(name).to_native()


def audit_model(
    model: Any,
    X: Any,  # noqa: N803
    y: ArrayLike | str,
    *,
    sensitive_features: SensitiveLike,
    threshold: float | None = None,
    pos_label: Any = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    sample_weight: ArrayLike | None = None,
    **audit_kwargs: Any,
) -> ModelAudit:
    """Run a model on ``X`` and audit its decisions and scores across groups.

    A classifier's decisions (and probabilities, when it gives them) get the classification
    audit. A regressor's predictions get the regression audit, exactly as
    ``fairwatch.audit(y, model.predict(X), ...)`` gives it: a model is a regressor when it says
    so (scikit-learn's ``is_regressor``: regressors and pipelines ending in one), or when it has
    only ``predict`` (no ``classes_``, ``predict_proba`` or ``decision_function``) and ``y`` is
    numeric with more than two values.

    Parameters
    ----------
    model : estimator, torch.nn.Module or callable
        * an object with ``predict_proba``, ``decision_function`` or ``predict`` (scikit-learn
          classifiers, regressors and pipelines, XGBoost/LightGBM scikit-learn wrappers,
          fairwatch estimators);
        * a PyTorch binary classifier (wrapped in :class:`TorchModelAdapter` with
          ``output="auto"``: logits, probabilities or log-probabilities are read from its last
          layer or its values, and an error asks when they cannot be told apart; wrap it
          yourself to say which, or for another device or batch size);
        * any callable ``X -> scores`` returning the probability of the positive class, shape
          (n,) or (n, 2) — e.g. a function that posts ``X`` to a model server.
    X : array-like or dataframe
        The features, passed to the model as they are (in batches of ``batch_size`` rows).
    y : array-like or str
        True labels, or the name of a column of ``X`` (removed from ``X`` before the model sees it).
    sensitive_features : array-like, dataframe, dict, or column name(s) of ``X``
        Groups to compare (named columns stay in ``X``; pass ``X`` without them if the model
        must not see them).
    threshold : float, optional
        Decide "positive" where the score (probability, or decision function value) is at least
        ``threshold``. None: the model's own ``predict`` (0.5 on the probabilities of a torch
        module or function). Not for a regressor.
    pos_label : object, optional
        The positive class; default ``model.classes_[1]`` or the greater of ``y``'s labels.
        Not for a regressor.
    batch_size : int, default=65536
        Rows per model call.
    sample_weight : array-like, optional
        Row weights for the audit.
    **audit_kwargs
        Passed to :func:`fairwatch.audit` (``metrics``, ``ci``, ``min_group_size``, ``method``,
        ``reference``, ...).

    Returns
    -------
    ModelAudit
        An :class:`~fairwatch.Audit` (probability scores included when the model gives them),
        with ``model_info`` recording the model and decision rule.

    Raises
    ------
    InvalidInputError
        For a model without any prediction method, outputs of the wrong shape or length,
        probabilities outside [0, 1], torch outputs that cannot be told apart, a non-binary
        model, ``y`` with more than two labels for a classifier, an unknown ``pos_label``, or
        ``threshold`` / ``pos_label`` given for a regressor.
    UnknownColumnError
        When ``y`` or ``sensitive_features`` name a column that ``X`` does not have.
    MissingDependencyError
        When a torch feature is asked for without torch installed.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> import fairwatch as fw
    >>> rng = np.random.default_rng(0)
    >>> group = rng.choice(["a", "b"], size=500)
    >>> X = rng.normal(size=(500, 3)) + (group == "a")[:, None]
    >>> y = (X[:, 0] + rng.normal(size=500) > 0.5).astype(int)
    >>> model = LogisticRegression().fit(X, y)
    >>> result = fw.audit_model(model, X, y, sensitive_features=group, metrics=["selection_rate"])
    >>> result.model_info["decision"]
    'predict'
    >>> round(result.summary.disparities["demographic_parity"].difference, 3)
    0.333

    A regressor gets the regression audit:

    >>> from sklearn.linear_model import Ridge
    >>> income = 2.0 * X[:, 0] + rng.normal(size=500)
    >>> by_value = fw.audit_model(Ridge().fit(X, income), X, income, sensitive_features=group)
    >>> by_value.model_info["task"], "mean_absolute_error" in by_value.metrics
    ('regression', True)
    """
    for reserved in ("y_true", "y_pred", "scores", "data"):
        if reserved in audit_kwargs:
            raise InvalidInputError(
                f"audit_model computes {reserved} itself; drop {reserved}= (use fairwatch.audit for given predictions)"
            )
    frame = _frame_or_none(X)
    if isinstance(y, str):
        if frame is None:
            raise InvalidInputError(f"y={y!r} is a column name, but X is not a dataframe; pass the labels themselves")
        if y not in frame.columns:
            raise UnknownColumnError(f"y={y!r} is not a column of X; available columns: {', '.join(frame.columns)}")
        label_column = Column(y, frame.get_column(y))
        X = _drop_column(X, y)  # noqa: N806
        frame = _frame_or_none(X)
    else:
        resolved = resolve_column(y, "y", None)
        if resolved is None:
            raise InvalidInputError("y is required: the true labels of the rows of X")
        label_column = resolved
    by_name = _names_columns(sensitive_features, frame)
    sensitive_frame = frame if by_name else None
    if by_name and frame is None:
        raise InvalidInputError(
            f"sensitive_features={sensitive_features!r} names columns, but X is not a dataframe; pass the "
            f"sensitive values themselves (one per row)"
        )
    sensitive = resolve_sensitive(sensitive_features, sensitive_frame)
    rows = n_rows(X)
    if len(label_column) != rows:
        raise LengthMismatchError(f"y must have one label per row of X: X has {rows} rows, y has {len(label_column)}")
    for column in sensitive:  # refuse missing groups before running the model, not after
        encode_sensitive(column, sort=False)
    distinct = _distinct_labels(label_column)
    groups = {c.name: c.to_numpy() for c in sensitive}
    regression = _is_regression(model, label_column, distinct)
    if regression:  # the predictions go to audit as they are: it gives them the regression audit
        _check_regression_arguments(model, threshold, pos_label)
        scorer = ModelScorer(model, batch_size=batch_size)
        predictions, scores, positive = scorer.predictions(X, groups), None, None
    else:
        scorer = ModelScorer(
            model,
            threshold=threshold,
            pos_label=pos_label,
            classes=_label_candidates(distinct),
            batch_size=batch_size,
        )
        _check_two_labels(distinct, scorer)
        out = scorer.outputs(X, groups)
        predictions, positive = out.labels, python_scalar(scorer.positive_label)
        scores = out.scores if out.is_probability else None
    result = audit(
        label_column.values if isinstance(label_column.values, np.ndarray) else label_column.values.to_native(),
        predictions,
        sensitive_features={
            c.name: c.values if isinstance(c.values, np.ndarray) else c.values.to_native() for c in sensitive
        },
        scores=scores,
        sample_weight=sample_weight,
        pos_label=positive,
        **audit_kwargs,
    )
    return ModelAudit(result, _model_info(scorer, "regression" if regression else "classification", rows))


def _model_info(scorer: ModelScorer, task: str, rows: int) -> dict[str, Any]:
    adapter = scorer.model if isinstance(scorer.model, TorchModelAdapter) else None
    return {
        "model": scorer.describe(),
        "task": task,
        "scores_from": None if scorer.method == "predict" else scorer.method,
        "decision": scorer.decision_rule,
        "threshold": scorer.threshold,
        "pos_label": None if task == "regression" else python_scalar(scorer.positive_label),
        "torch_output": None if adapter is None else f"{adapter.output_} ({adapter.output_reason_})",
        "batch_size": scorer.batch_size,
        "n_batches": -(-rows // scorer.batch_size),
    }


def _names_columns(sensitive_features: Any, frame: nw.DataFrame[Any] | None) -> bool:
    """True when ``sensitive_features`` names columns of ``X`` (a list of strings may also be values)."""
    if isinstance(sensitive_features, str):
        return True
    return (
        frame is not None
        and isinstance(sensitive_features, (list, tuple))
        and bool(sensitive_features)
        and all(isinstance(v, str) and v in frame.columns for v in sensitive_features)
    )
