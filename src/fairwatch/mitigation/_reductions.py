"""The reductions approach to fair classification and regression (Agarwal et al. 2018, 2019).

:class:`ExponentiatedGradient` and :class:`GridSearch` turn a fairness-constrained learning problem
into a sequence of weighted (relabelled) problems that any scikit-learn estimator with
``sample_weight`` solves. They keep fairlearn's semantics (the same game, step sizes, stopping rule,
grid and selection rule) and its fitted attributes, and differ in how the work is done:

* constraint values come from the :class:`~fairwatch.metrics.GroupStats` of each predictor's
  predictions, and the per-row signed weights from one gather of a ``(groups, labels)`` table —
  no per-row pandas;
* each predictor is evaluated on the training data once; identical reduced problems are fitted once;
* a duality-gap check that already fails with the known predictors skips its estimator fits
  (``gap_check="lazy"``; ``"exact"`` is fairlearn's procedure);
* linear models are warm-started from the most similar problem solved so far (``warm_start="auto"``);
* GridSearch fits the grid points in parallel (``n_jobs``), both show a rich progress bar.
"""

from __future__ import annotations

import copy
import time
import types
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Literal

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs  # type: ignore[import-untyped]
from scipy import optimize
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import ClassifierTags, RegressorTags, check_random_state, get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d, validate_data

from fairwatch._typing import FloatArray, SensitiveLike
from fairwatch.exceptions import FairwatchWarning, InvalidInputError, LabelError, LengthMismatchError
from fairwatch.mitigation._base import check_fitted, check_sample_weight, encode_sensitive
from fairwatch.mitigation._constraints import BoundConstraint, Constraint, GridBasis, resolve_constraints

__all__ = ["ExponentiatedGradient", "GridSearch"]

ProgressOption = bool | Literal["auto"]

# fairlearn's constants, so that the two stop at the same point.
_PRECISION = 1e-8
_ACCURACY_MUL = 0.5
_REGRET_CHECK_START_T = 5
_REGRET_CHECK_INCREASE_T = 1.6
_SHRINK_REGRET = 0.8
_SHRINK_ETA = 0.8
_MIN_ITER = 5
_GAP_MULTIPLIERS = (1.0, 2.0, 5.0, 10.0)


#: Estimators whose ``warm_start=True`` starts the optimiser at the previous solution of a convex
#: problem (so the fitted model is the same, only found faster). Others (forests, boosting) would
#: *add* to the previous model, which changes the result, so they are never warm-started.
_WARM_STARTABLE = frozenset({"LogisticRegression", "ElasticNet", "Lasso", "MultiTaskElasticNet", "MultiTaskLasso"})


# -- shared pieces --------------------------------------------------------------------------------
class _ConstantPredictor(BaseEstimator):  # type: ignore[misc]
    """Predicts one constant; used when a reduced problem has a single label (fairlearn's dummy)."""

    def __init__(self, constant: int = 0) -> None:
        self.constant = constant

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> _ConstantPredictor:
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(_n_rows(X), self.constant, dtype=np.int64)

    def predict_proba(self, X: Any) -> FloatArray:
        out = np.zeros((_n_rows(X), 2), dtype=np.float64)
        out[:, self.constant] = 1.0
        return out


def _n_rows(X: Any) -> int:
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    try:
        return len(X)
    except TypeError:  # array-likes that only implement __array__
        return int(np.asarray(X).shape[0])


def _progress(enabled: ProgressOption, description: str, total: int) -> Any:
    """A rich progress bar on stderr (or a no-op): ``with bar: bar.advance(...)``."""
    from rich.console import Console

    console = Console(stderr=True)
    show = (console.is_terminal or console.is_jupyter) if enabled == "auto" else bool(enabled)
    return _Bar(console, description, total) if show else _NoBar()


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def advance(self, steps: int = 1, status: str = "") -> None:
        return None

    def finish(self) -> None:
        return None


class _Bar:
    def __init__(self, console: Any, description: str, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=console,
        )
        self._task = self._progress.add_task(description, total=total, status="")

    def __enter__(self) -> _Bar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def advance(self, steps: int = 1, status: str = "") -> None:
        self._progress.update(self._task, advance=steps, status=status)

    def finish(self) -> None:
        task = self._progress.tasks[0]
        self._progress.update(self._task, completed=task.total)


def _check_positive(name: str, value: Any, *, integer: bool = False, allow_zero: bool = False) -> None:
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    ok = isinstance(value, kinds) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "integer" if integer else "number"
        sign = "non-negative" if allow_zero else "positive"
        raise InvalidInputError(f"{name} must be a {sign} {kind}; got {value!r}")


def _check_n_jobs(n_jobs: Any) -> None:
    if n_jobs is not None and (not isinstance(n_jobs, (int, np.integer)) or isinstance(n_jobs, bool) or n_jobs == 0):
        raise InvalidInputError(f"n_jobs must be None, a positive integer or -1 (all cores); got {n_jobs!r}")


def _check_progress(progress: Any) -> None:
    if progress not in (True, False, "auto"):
        raise InvalidInputError(f"progress must be True, False or 'auto'; got {progress!r}")


def _set_random_states(estimator: Any, seed: int) -> Any:
    """Fix every ``random_state`` parameter of ``estimator`` that is ``None`` (reproducible fits)."""
    get_params = getattr(estimator, "get_params", None)
    if get_params is None:
        return estimator
    unset = {k: seed for k, v in get_params(deep=True).items() if k.endswith("random_state") and v is None}
    if unset:
        estimator.set_params(**unset)
    return estimator


def _warm_start_param(estimator: Any, option: bool | str) -> str | None:
    """The ``warm_start`` parameter to switch on for this estimator (or ``None``)."""
    if option is False or not hasattr(estimator, "get_params"):
        return None
    target, prefix = estimator, ""
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps:  # a Pipeline: its final step
        name, target = steps[-1]
        prefix = f"{name}__"
    params = target.get_params(deep=False) if hasattr(target, "get_params") else {}
    if "warm_start" not in params:
        return None
    if option == "auto" and type(target).__name__ not in _WARM_STARTABLE:
        return None
    return f"{prefix}warm_start"


class _Problem:
    """The validated training data of one fit."""

    def __init__(
        self,
        X: Any,
        y: np.ndarray,
        constraint: BoundConstraint,
        classes: np.ndarray | None,
        sample_weight_name: str,
        sample_weight: FloatArray | None,
    ) -> None:
        self.X = X
        self.sample_weight = sample_weight
        self.y = y
        self.constraint = constraint
        self.classes = classes
        self.sample_weight_name = sample_weight_name

    @property
    def is_classification(self) -> bool:
        return self.constraint.task == "classification"

    @property
    def n_rows(self) -> int:
        return self.constraint.n_rows


def _fit_oracle(
    estimator: Any, X: Any, y: np.ndarray, weights: FloatArray, sample_weight_name: str, classification: bool
) -> tuple[Any, np.ndarray, float]:
    """Fit one reduced problem; return the model, its predictions on ``X`` and the fit time."""
    start = time.perf_counter()
    if classification and int(y.min()) == int(y.max()):
        model: Any = _ConstantPredictor(int(y[0])).fit(X, y)
    else:
        model = estimator
        model.fit(X, y, **{sample_weight_name: weights})
    elapsed = time.perf_counter() - start
    predictions = np.asarray(model.predict(X))
    if predictions.ndim > 1:
        predictions = predictions.reshape(predictions.shape[0], -1)[:, 0]
    if classification:
        predictions = _as_binary_predictions(predictions, model)
    return model, predictions, elapsed


def _as_binary_predictions(predictions: np.ndarray, model: Any) -> np.ndarray:
    if predictions.dtype.kind == "b":
        return predictions.astype(np.int8)
    values = np.asarray(predictions, dtype=np.float64)
    if not np.all((values == 0) | (values == 1)):
        raise LabelError(
            f"estimator {type(model).__name__} predicted values other than 0 and 1 on a reduced "
            f"classification problem; the reductions need a binary classifier (labels 0/1)"
        )
    return values.astype(np.int8)


def _lambda_index(constraint: BoundConstraint) -> Any:
    if constraint.task == "classification":
        return pd.MultiIndex.from_tuples(constraint.index, names=["sign", "event", "group_id"])
    return pd.Index([key[0] for key in constraint.index], name="group_id")


class _Reduction(MetaEstimatorMixin, BaseEstimator):  # type: ignore[misc]
    """What ExponentiatedGradient and GridSearch share: input validation, seeding, tags, score."""

    estimator: Any
    constraints: Any
    sample_weight_name: str
    random_state: Any

    def _task(self) -> str:
        try:
            return resolve_constraints(self.constraints).task
        except InvalidInputError:
            return "classification"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        if self._task() == "regression":
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        else:
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags(multi_class=False)
        tags.target_tags.required = True
        try:
            inner = get_tags(self.estimator)
            tags.input_tags.sparse = inner.input_tags.sparse
            tags.input_tags.allow_nan = inner.input_tags.allow_nan
            tags.input_tags.string = inner.input_tags.string
            tags.input_tags.categorical = inner.input_tags.categorical
        except Exception:  # a non-scikit-learn estimator: keep the defaults
            pass
        return tags

    def _prepare(
        self, X: Any, y: Any, sensitive_features: SensitiveLike, sample_weight: Any
    ) -> tuple[_Problem, Constraint]:
        if self.estimator is None or not hasattr(self.estimator, "fit") or not hasattr(self.estimator, "predict"):
            raise InvalidInputError(
                f"estimator must have fit(X, y, sample_weight=...) and predict(X) (a scikit-learn estimator "
                f"such as LogisticRegression()); got {self.estimator!r}"
            )
        if not isinstance(self.sample_weight_name, str):
            raise InvalidInputError(f"sample_weight_name must be a string; got {self.sample_weight_name!r}")
        spec = resolve_constraints(self.constraints)
        if y is None:
            raise InvalidInputError(
                f"{type(self).__name__} requires y to be passed, but the target y is None; call "
                f"fit(X, y, sensitive_features=...)"
            )
        validate_data(self, X=X, reset=True, skip_check_array=True)
        n_rows = _n_rows(X)
        if n_rows < 2:
            raise InvalidInputError(
                f"{type(self).__name__} needs at least two rows to learn from; got n_samples={n_rows}"
            )
        y_array = np.asarray(y)
        if y_array.ndim == 2 and y_array.shape[1] == 1:
            y_array = column_or_1d(y_array, warn=True)
        if y_array.ndim != 1:
            raise InvalidInputError(f"y must be one label per row (1-D); got an array of shape {y_array.shape}")
        if y_array.shape[0] != n_rows:
            raise LengthMismatchError(f"y must have one value per row of X: X has {n_rows} rows, y has {len(y_array)}")
        classes: np.ndarray | None = None
        if spec.task == "classification":
            check_classification_targets(y_array)
            classes = np.unique(y_array)
            if classes.size < 2:
                raise LabelError(
                    f"y holds one class only ({classes[0]!r}); a fairness-constrained classifier needs rows of "
                    f"both classes in the training data"
                )
            if classes.size > 2:
                raise LabelError(
                    f"Only binary classification is supported: y holds {classes.size} classes "
                    f"({', '.join(map(repr, classes[:5].tolist()))}). Binarise the labels (one class against the "
                    f"rest), or use BoundedGroupLoss for regression"
                )
            y_model = (y_array == classes[1]).astype(np.int64)
        else:
            if np.iscomplexobj(y_array):
                raise InvalidInputError("Complex data not supported: y must be real numbers")
            try:
                y_model = y_array.astype(np.float64)
            except (TypeError, ValueError):
                raise InvalidInputError("BoundedGroupLoss is for regression: y must be numeric") from None
            if not np.all(np.isfinite(y_model)):
                raise InvalidInputError("y must be finite numbers (no NaN or inf)")
        weights = None
        if sample_weight is not None:
            weights = check_sample_weight(sample_weight, n_rows, positive_total=False)
        codes = encode_sensitive(sensitive_features, n_rows)
        constraint = spec.bind(y_model, codes.codes, codes.groups, codes.names, weights)
        self.sensitive_feature_names_ = list(codes.names)
        self.groups_ = list(codes.groups)
        if classes is not None:
            self.classes_ = classes
        return _Problem(X, y_model, constraint, classes, self.sample_weight_name, weights), spec

    def _seed(self) -> int:
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _new_estimator(self, seed: int) -> Any:
        return _set_random_states(clone(self.estimator, safe=False), seed)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy (classification) or R² (regression) of :meth:`predict` on ``X``."""
        predictions = self.predict(X)
        if self._task() == "regression":
            return float(r2_score(y, predictions, sample_weight=sample_weight))
        return float(accuracy_score(y, predictions, sample_weight=sample_weight))

    def _labels(self, reduced: np.ndarray) -> np.ndarray:
        """Reduced 0/1 predictions as the original class labels."""
        return np.asarray(self.classes_[np.asarray(reduced, dtype=np.int64)])


# -- exponentiated gradient ---------------------------------------------------------------------
class _OracleResult:
    __slots__ = ("error", "gamma", "model", "predictions")

    def __init__(self, model: Any, predictions: np.ndarray | None, error: float, gamma: FloatArray) -> None:
        self.model = model
        self.predictions = predictions
        self.error = error
        self.gamma = gamma


class _GapResult:
    """The Lagrangian of a solution (``value``), a lower estimate of the best response to the
    averaged multipliers (``low``) and its value under the worst multipliers (``high``)."""

    def __init__(self, value: float, low: float, high: float, gamma: FloatArray, error: float) -> None:
        self.value = value
        self.low = low
        self.high = high
        self.gamma = gamma
        self.error = error

    def gap(self) -> float:
        return max(self.value - self.low, self.high - self.value)


class _Lagrangian:
    """The two-player game of the exponentiated-gradient reduction, on numpy arrays."""

    def __init__(
        self,
        problem: _Problem,
        make_estimator: Callable[[], Any],
        l1_bound: float,
        warm_param: str | None,
        n_jobs: int | None,
        lazy: bool,
    ) -> None:
        self.problem = problem
        self.constraint = problem.constraint
        self.bound = self.constraint.bound()
        self.make_estimator = make_estimator
        self.l1_bound = l1_bound
        self.warm_param = warm_param
        self.n_jobs = n_jobs
        self.lazy = lazy
        self.predictors: list[Any] = []
        self.errors: list[float] = []
        self.gammas: list[FloatArray] = []
        self.lambdas: list[FloatArray] = []
        self.first_predictions: np.ndarray | None = None
        self.n_oracle_calls = 0
        self.n_oracle_calls_dummy_returned = 0
        self.oracle_execution_times: list[float] = []
        self._cache: dict[bytes, _OracleResult] = {}
        self._pending: dict[bytes, tuple[_OracleResult, float]] = {}
        self._ahead: dict[bytes, tuple[_OracleResult, float]] = {}  # next step's fit, run during a check
        self._workers: ThreadPoolExecutor | None = None  # kept open for the whole search (see workers)
        self._solved: list[tuple[FloatArray, Any]] = []  # (normalised cell table, model) for warm starts
        self._frozen: int | None = None
        self._last_linprog: tuple[int, tuple[FloatArray, FloatArray, _GapResult]] | None = None

    # -- the oracle ------------------------------------------------------------------------------
    def _reduced(self, lambda_vec: FloatArray) -> tuple[bytes, np.ndarray, FloatArray]:
        table = self.constraint.signed_table(lambda_vec)
        signed = self.constraint.row_values(table)
        labels = self.constraint.reduced_labels(signed, self.problem.y)
        # fairlearn rescales the weights to sum to the number of rows (the total row weight here,
        # so that a weight of 2 and a repeated row give the same problem)
        weights = np.abs(signed)
        total = float(weights.sum())
        scale = total / self.constraint.total_weight if total > 0 else 1.0
        weights = weights / scale if total > 0 else np.ones(self.problem.n_rows)
        # The reduced problem depends on the multipliers only through the signed weight of each
        # (group, label) cell, up to a positive factor: equal normalised tables, equal problems.
        key = np.round(np.asarray(table, dtype=np.float64).ravel() / scale, 10).tobytes()
        return key, labels, weights

    def _estimator_for(self, key: bytes, known_count: int | None = None) -> Any:
        """A fresh estimator, warm-started from the model of the most similar problem solved so far.

        Problems are compared by their normalised cell tables (L1 distance); the closer the
        weights, the closer the solutions, so the optimiser starts near its optimum. During a gap
        check only the models known when the check started are candidates (``known_count``, or
        the check's own snapshot), so the starting points (hence the models) do not depend on
        how many of the fits run in parallel.
        """
        if known_count is None:
            known_count = self._frozen
        known = self._solved if known_count is None else self._solved[:known_count]
        if self.warm_param is None or not known:
            return self.make_estimator()
        table = np.frombuffer(key, dtype=np.float64)
        distances = [float(np.abs(other - table).sum()) for other, _ in known]
        estimator = copy.deepcopy(known[int(np.argmin(distances))][1])
        estimator.set_params(**{self.warm_param: True})
        return estimator

    def _run_oracle(self, labels: np.ndarray, weights: FloatArray, estimator: Any) -> tuple[_OracleResult, float]:
        model, predictions, elapsed = _fit_oracle(
            estimator,
            self.problem.X,
            labels,
            weights,
            self.problem.sample_weight_name,
            self.problem.is_classification,
        )
        error, gamma = self.constraint.evaluate(predictions)
        return _OracleResult(model, predictions, error, gamma), elapsed

    def _oracle(self, lambda_vec: FloatArray, known_count: int | None = None) -> _OracleResult:
        key, labels, weights = self._reduced(lambda_vec)
        result = self._cache.get(key)
        if result is None:
            pending = self._pending.pop(key, None) or self._ahead.pop(key, None)
            if pending is None:
                result, elapsed = self._run_oracle(labels, weights, self._estimator_for(key, known_count))
            else:
                result, elapsed = pending
            self.n_oracle_calls += 1
            self.oracle_execution_times.append(elapsed)
            if isinstance(result.model, _ConstantPredictor):
                self.n_oracle_calls_dummy_returned += 1
            elif self.warm_param is not None:
                self._solved.append((np.frombuffer(key, dtype=np.float64), result.model))
            self._cache[key] = result
        return result

    @property
    def parallel(self) -> bool:
        return self.n_jobs is not None and self.n_jobs != 1

    @contextmanager
    def workers(self) -> Iterator[None]:
        """Keep one pool of threads (one BLAS thread each) for all parallel fits of the search.

        A plain thread pool: a round of two fits is dispatched in well under a millisecond, where
        a joblib call costs several (the rounds are short, ~50 ms on 100k rows).
        """
        if not self.parallel:
            yield
            return
        with _blas_limit(self.n_jobs), ThreadPoolExecutor(max_workers=effective_n_jobs(self.n_jobs)) as workers:
            self._workers = workers
            try:
                yield
            finally:
                self._workers = None

    @property
    def n_solved(self) -> int:
        """Models solved so far that later fits may warm-start from."""
        return len(self._solved)

    def prefetch(self, lambda_vecs: Sequence[FloatArray], ahead: FloatArray | None = None) -> None:
        """Fit the reduced problems of several multiplier vectors in parallel (speculatively).

        A result is only used when the sequential algorithm asks for the same problem, and each fit
        starts from the model the sequential algorithm would start from, so the outcome does not
        depend on ``n_jobs``. ``ahead`` is the next step's multiplier vector: its fit is kept
        beyond this gap check, for :meth:`best_h` of the next iteration.
        """
        if not self.parallel:
            return
        todo: dict[bytes, tuple[np.ndarray, FloatArray]] = {}
        ahead_key = None
        for lambda_vec in [*lambda_vecs, *([] if ahead is None else [ahead])]:
            key, labels, weights = self._reduced(lambda_vec)
            ahead_key = key if lambda_vec is ahead else ahead_key
            if key not in self._cache and key not in self._pending and key not in self._ahead:
                todo[key] = (labels, weights)
        if len(todo) < 2:
            return
        estimators = [self._estimator_for(key) for key in todo]
        with nullcontext() if self._workers is not None else self.workers():
            assert self._workers is not None
            futures = [
                self._workers.submit(self._run_oracle, labels, weights, estimator)
                for (labels, weights), estimator in zip(todo.values(), estimators)
            ]
            results = [future.result() for future in futures]
        for key, outcome in zip(todo, results):
            (self._ahead if key == ahead_key else self._pending)[key] = outcome

    def best_h(self, lambda_vec: FloatArray, known_count: int | None = None) -> int:
        """Index of the best response to ``lambda_vec`` (a new predictor is kept if it improves).

        ``known_count``: warm-start only from the first that many models solved (see
        :meth:`_estimator_for`).
        """
        result = self._oracle(lambda_vec, known_count)
        h_value = result.error + float(result.gamma @ lambda_vec)
        if self.predictors:
            values = np.asarray(self.errors) + np.asarray(self.gammas) @ lambda_vec
            best_idx = int(np.argmin(values))
            best_value = float(values[best_idx])
        else:
            best_idx, best_value = -1, np.inf
        if h_value < best_value - _PRECISION:
            if not self.predictors:
                self.first_predictions = result.predictions
            self.predictors.append(result.model)
            self.errors.append(result.error)
            self.gammas.append(result.gamma)
            self.lambdas.append(np.array(lambda_vec, dtype=np.float64))
            best_idx = len(self.predictors) - 1
        return best_idx

    # -- the Lagrangian --------------------------------------------------------------------------
    def evaluate(self, q: FloatArray, lambda_vec: FloatArray) -> tuple[float, float, FloatArray, float]:
        """Lagrangian of the mixture ``q`` at ``lambda_vec``, its value under the worst multipliers,
        the constraint values and the error."""
        k = q.size
        error = float(np.asarray(self.errors[:k]) @ q)
        gamma = np.asarray(self.gammas[:k]).T @ q
        projected = self.constraint.project_lambda(lambda_vec)
        value = error + float(projected @ (gamma - self.bound))
        max_constraint = float((gamma - self.bound).max())
        high = error + (self.l1_bound * max_constraint if max_constraint > 0 else 0.0)
        return value, high, gamma, error

    def eval_gap(self, q: FloatArray, lambda_hat: FloatArray, nu: float, ahead: FloatArray | None = None) -> _GapResult:
        """The duality gap of the mixture ``q`` against the averaged multipliers ``lambda_hat``.

        With ``n_jobs``, ``ahead`` (the next iteration's multipliers) is fitted alongside the
        check's first fit: most checks stop after that fit, so the two run in parallel.
        """
        value, high, gamma, error = self.evaluate(q, lambda_hat)
        result = _GapResult(value, value, high, gamma, error)
        if self.lazy and self._gap_exceeds_without_oracle(result, lambda_hat, nu):
            return result
        width = len(_GAP_MULTIPLIERS) + 1 if self.n_jobs == -1 else max(1, self.n_jobs or 1)
        # rounds of parallel fits: the first shares its width with ``ahead``
        first = max(1, width - (ahead is not None))
        starts = {0: ahead, **{s: None for s in range(first, len(_GAP_MULTIPLIERS), width)}}
        self._frozen = len(self._solved)
        try:
            for start, mul in enumerate(_GAP_MULTIPLIERS):
                if start in starts:
                    end = first if start == 0 else start + width
                    self.prefetch([m * lambda_hat for m in _GAP_MULTIPLIERS[start:end]], starts[start])
                h_idx = self.best_h(mul * lambda_hat)
                one_hot = np.zeros(len(self.predictors))
                one_hot[h_idx] = 1.0
                result.low = min(result.low, self.evaluate(one_hot, lambda_hat)[0])
                if result.gap() > nu + _PRECISION:
                    break
        finally:
            self._frozen = None
            self._pending.clear()
        return result

    def _gap_exceeds_without_oracle(self, result: _GapResult, lambda_hat: FloatArray, nu: float) -> bool:
        """Whether the gap exceeds ``nu`` already with the best responses among the known predictors.

        Then this iteration cannot be the last one on the strength of the known predictors, so the
        oracle fits of the check are skipped and the estimate is recorded as the gap. The search
        only ever stops after a full (oracle) check, as fairlearn's does.
        """
        errors, gammas = np.asarray(self.errors), np.asarray(self.gammas)
        for mul in _GAP_MULTIPLIERS:
            one_hot = np.zeros(len(self.predictors))
            one_hot[int(np.argmin(errors + gammas @ (mul * lambda_hat)))] = 1.0
            result.low = min(result.low, self.evaluate(one_hot, lambda_hat)[0])
            if result.gap() > nu + _PRECISION:
                return True
        result.low = result.value
        return False

    def solve_linprog(
        self, nu: float, ahead: FloatArray | None = None
    ) -> tuple[FloatArray, FloatArray, _GapResult] | None:
        n_hs = len(self.predictors)
        if self._last_linprog is not None and self._last_linprog[0] == n_hs:
            return self._last_linprog[1]
        n_constraints = self.bound.size
        gammas = np.asarray(self.gammas).T  # (K, n_hs)
        c = np.concatenate([np.asarray(self.errors), [self.l1_bound]])
        a_ub = np.concatenate([gammas - self.bound[:, None], -np.ones((n_constraints, 1))], axis=1)
        b_ub = np.zeros(n_constraints)
        a_eq = np.concatenate([np.ones((1, n_hs)), np.zeros((1, 1))], axis=1)
        b_eq = np.ones(1)
        primal = optimize.linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, method="highs-ds")
        dual_bounds = [(None, None) if i == n_constraints else (0, None) for i in range(n_constraints + 1)]
        dual = optimize.linprog(
            np.concatenate([b_ub, -b_eq]),
            A_ub=np.concatenate([-a_ub.T, a_eq.T], axis=1),
            b_ub=c,
            bounds=dual_bounds,
            method="highs-ds",
        )
        if primal.x is None or dual.x is None:
            return None
        q = np.asarray(primal.x[:-1], dtype=np.float64)
        lambda_vec = np.asarray(dual.x[:-1], dtype=np.float64)
        outcome = (q, lambda_vec, self.eval_gap(q, lambda_vec, nu, ahead))
        self._last_linprog = (n_hs, outcome)
        return outcome


class _AvailableIf:
    """A method that exists only when ``check(instance)`` passes (scikit-learn's ``available_if``).

    Unlike scikit-learn's, the ``AttributeError`` keeps the check's message, which says what to do.
    """

    def __init__(self, method: Callable[..., Any], check: Callable[[Any], bool]) -> None:
        self.method = method
        self.check = check
        self.__doc__ = method.__doc__

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self.method
        self.check(instance)  # raises AttributeError naming the fix
        return types.MethodType(self.method, instance)


def _available_if(check: Callable[[Any], bool]) -> Callable[[Callable[..., Any]], Any]:
    return lambda method: _AvailableIf(method, check)


def _has_predict_proba_task(self: Any) -> bool:
    if self._task() == "regression":
        raise AttributeError(
            f"{type(self).__name__} with a regression constraint (BoundedGroupLoss) has no predict_proba; use predict"
        )
    return True


class ExponentiatedGradient(_Reduction):
    """Fairness-constrained classification (or regression) by the exponentiated-gradient reduction.

    Finds a randomized classifier — a weighted mixture of models trained by ``estimator`` on
    reweighted, relabelled copies of the data — with the lowest error subject to ``constraints``
    (Agarwal et al. 2018). fairlearn-compatible: same algorithm, defaults and fitted attributes.

    Parameters
    ----------
    estimator : estimator
        Any estimator with ``fit(X, y, sample_weight=...)`` and ``predict(X)`` (0/1 labels for
        classification, numbers for regression).
    constraints : str or constraint object
        ``"demographic_parity"``, ``"equalized_odds"``, ``"true_positive_rate_parity"``,
        ``"false_positive_rate_parity"``, ``"error_rate_parity"``, or an object such as
        ``DemographicParity(difference_bound=0.02)``; ``BoundedGroupLoss(upper_bound=...)`` for
        regression.
    eps : float, default 0.01
        Sets the bound ``B = 1 / eps`` on the L1 norm of the Lagrange multipliers (the allowed
        violation itself is the constraint's ``difference_bound``).
    max_iter : int, default 50
        Largest number of iterations.
    nu : float, optional
        Convergence threshold on the duality gap; by default ``0.5 · std(|h(X) - y|) / √n`` of
        the first best response (stored in ``nu_``).
    eta0 : float, default 2.0
        Initial learning rate (multiplied by ``eps``).
    run_linprog_step : bool, default True
        After each step, also solve the game over the predictors found so far with a linear
        program and keep whichever solution has the smaller duality gap.
    sample_weight_name : str, default "sample_weight"
        Name of the weight argument of ``estimator.fit``.
    gap_check : {"lazy", "exact"}, default "lazy"
        How the duality gap is checked after each step. ``"exact"`` fits the estimator for the
        best responses to 1, 2, 5 and 10 times the averaged multipliers until the gap exceeds
        ``nu``, as fairlearn does (with ``warm_start=False`` the fitted models are fairlearn's).
        ``"lazy"`` first checks the gap with the predictors found so far: when that already exceeds
        ``nu`` the step is not the last one either way, so the check's fits are skipped and the
        search goes on. The search still stops only after a full check. About a third fewer fits,
        with fairlearn's accuracy and violation (tested on Adult).
    warm_start : bool or "auto", default "auto"
        Start each fit of a linear model at the solution of the most similar reduced problem
        solved so far (same optimum, fewer solver iterations: about 2.5x fewer on Adult).
        ``"auto"``: only for estimators where that is known to be safe (LogisticRegression,
        ElasticNet, Lasso, or a Pipeline ending in one); ``True`` for any estimator with a
        ``warm_start`` parameter (wrong for forests and boosting, which would add to the model).
    n_jobs : int, optional
        Fit best responses in parallel (threads): the next iteration's alongside the first fit of
        the linear program's gap check, and the check's further fits (close to convergence)
        together. The result is identical to ``n_jobs=None``; the last iteration's look-ahead fit
        is wasted, so it pays when cores are idle.
    random_state : int, RandomState or None
        Seeds the ``random_state`` parameters of ``estimator`` that are ``None`` and is the
        default seed of :meth:`predict`'s randomization.
    progress : bool or "auto", default "auto"
        Show a progress bar (``"auto"``: when stderr is a terminal or a notebook).

    Attributes
    ----------
    predictors_ : list of estimators
        The best responses found (fitted to the reduced labels 0/1, 1 meaning ``classes_[1]``).
    weights_ : ndarray of shape (n_predictors,)
        Probability of each predictor in the randomized classifier.
    lambda_vecs_ : pandas.DataFrame
        The Lagrange multipliers each predictor was the best response to (one column each).
    lambda_vecs_EG_, lambda_vecs_LP_ : pandas.DataFrame
        The multipliers of every iteration (exponentiated gradient, linear program).
    errors_, gammas_ : ndarray, pandas.DataFrame
        Training error and constraint values of each predictor.
    best_iter_, best_gap_, last_iter_ : int, float, int
        The iteration of the returned solution, its duality gap, and the last iteration.
    n_iter_ : int
        Number of iterations run (``last_iter_ + 1``).
    nu_ : float
        The convergence threshold used.
    n_oracle_calls_, n_oracle_calls_dummy_returned_, oracle_execution_times_
        Estimator fits (identical reduced problems are fitted once), constant predictors
        returned, and fit times.
    classes_ : ndarray
        The two class labels (classification).
    groups_ : list of tuple
        The sensitive groups seen in fit.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairwatch.mitigation import ExponentiatedGradient
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, 600)
    >>> X = np.column_stack([rng.normal(size=600) + group, rng.normal(size=600)])
    >>> y = (X[:, 0] + rng.normal(size=600) > 0.5).astype(int)
    >>> eg = ExponentiatedGradient(LogisticRegression(), "demographic_parity", random_state=0, progress=False)
    >>> eg = eg.fit(X, y, sensitive_features=group)
    >>> rates = [eg.predict_proba(X)[group == g, 1].mean() for g in (0, 1)]
    >>> bool(abs(rates[0] - rates[1]) < 0.05)
    True
    """

    def __init__(
        self,
        estimator: Any,
        constraints: str | Constraint,
        *,
        eps: float = 0.01,
        max_iter: int = 50,
        nu: float | None = None,
        eta0: float = 2.0,
        run_linprog_step: bool = True,
        sample_weight_name: str = "sample_weight",
        gap_check: Literal["lazy", "exact"] = "lazy",
        warm_start: bool | Literal["auto"] = "auto",
        n_jobs: int | None = None,
        random_state: Any = None,
        progress: ProgressOption = "auto",
    ) -> None:
        self.estimator = estimator
        self.constraints = constraints
        self.eps = eps
        self.max_iter = max_iter
        self.nu = nu
        self.eta0 = eta0
        self.run_linprog_step = run_linprog_step
        self.sample_weight_name = sample_weight_name
        self.gap_check = gap_check
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.progress = progress

    def _validate_params(self) -> None:
        _check_positive("eps", self.eps)
        if self.eps < 1e-6:
            raise InvalidInputError(
                f"eps={self.eps!r} is too small: the multipliers may grow to 1/eps = {1 / self.eps:.3g} and "
                f"the game cannot converge; use eps >= 1e-6 (and tighten the constraint's difference_bound "
                f"instead)"
            )
        _check_positive("max_iter", self.max_iter, integer=True)
        if self.nu is not None:
            _check_positive("nu", self.nu, allow_zero=True)
        _check_positive("eta0", self.eta0)
        if self.gap_check not in ("lazy", "exact"):
            raise InvalidInputError(f"gap_check must be 'lazy' or 'exact'; got {self.gap_check!r}")
        if self.warm_start not in (True, False, "auto"):
            raise InvalidInputError(f"warm_start must be True, False or 'auto'; got {self.warm_start!r}")
        _check_n_jobs(self.n_jobs)
        _check_progress(self.progress)

    def fit(
        self, X: Any, y: Any, *, sensitive_features: SensitiveLike = None, sample_weight: Any = None
    ) -> ExponentiatedGradient:
        """Find the fairness-constrained randomized classifier (or regressor).

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
            Features, passed to ``estimator`` unchanged.
        y : array-like of shape (n_samples,)
            Binary labels (classification) or numbers (regression).
        sensitive_features : array-like, dataframe or dict of columns
            The groups the constraints are about; several columns form intersectional groups.
        sample_weight : array-like of shape (n_samples,), optional
            Row weights (weighted error and weighted group rates).

        Returns
        -------
        self

        Raises
        ------
        fairwatch.exceptions.InvalidInputError
            Missing ``sensitive_features``, a single group or class, a bad parameter.
        """
        self._validate_params()
        problem, spec = self._prepare(X, y, sensitive_features, sample_weight)
        constraint = problem.constraint
        seed = self._seed()
        l1_bound = 1.0 / self.eps
        warm_param = _warm_start_param(self.estimator, self.warm_start)
        lagrangian = _Lagrangian(
            problem, lambda: self._new_estimator(seed), l1_bound, warm_param, self.n_jobs, self.gap_check == "lazy"
        )
        n_constraints = constraint.n_constraints
        theta = np.zeros(n_constraints)
        q_counts: dict[int, float] = {}
        gaps_eg: list[float] = []
        gaps: list[float] = []
        qs: list[FloatArray] = []
        lambdas_eg: list[FloatArray] = []
        lambdas_lp: dict[int, FloatArray] = {}
        lambda_sum = np.zeros(n_constraints)
        last_regret_checked = _REGRET_CHECK_START_T
        last_gap = np.inf
        nu = self.nu
        eta = self.eta0 / l1_bound
        known: int | None = None  # models the next step's fit may warm-start from (see eval_gap's ``ahead``)

        def multipliers(theta: FloatArray) -> FloatArray:
            exp_theta = np.exp(theta)
            return np.asarray(l1_bound * exp_theta / (1.0 + exp_theta.sum()), dtype=np.float64)

        with _progress(self.progress, type(self).__name__, self.max_iter) as bar, lagrangian.workers():
            for t in range(self.max_iter):
                lambda_vec = multipliers(theta)
                lambdas_eg.append(lambda_vec)
                lambda_sum += lambda_vec
                lambda_eg = lambda_sum / (t + 1)
                h_idx = lagrangian.best_h(lambda_vec, known)
                known = None
                if t == 0 and nu is None:
                    nu = self._default_nu(lagrangian, problem)
                assert nu is not None
                q_counts[h_idx] = q_counts.get(h_idx, 0.0) + 1.0
                gamma = lagrangian.gammas[h_idx]
                q_eg = self._q_vector(q_counts, len(lagrangian.predictors))
                result_eg = lagrangian.eval_gap(q_eg, lambda_eg, nu)
                q_eg = self._q_vector(q_counts, len(lagrangian.predictors))
                gap_eg = result_eg.gap()
                gaps_eg.append(gap_eg)
                # the next step's multipliers (used only if this step is not the last), computed
                # before the linear program so that its gap check can fit them alongside
                if t >= last_regret_checked * _REGRET_CHECK_INCREASE_T:
                    best_gap = min(gaps_eg)
                    if best_gap > last_gap * _SHRINK_REGRET:
                        eta *= _SHRINK_ETA
                    last_regret_checked = t
                    last_gap = best_gap
                theta = theta + eta * (gamma - constraint.bound())
                gap_lp, q_lp = np.inf, None
                if t > 0 and self.run_linprog_step:
                    known = lagrangian.n_solved
                    outcome = lagrangian.solve_linprog(nu, multipliers(theta) if lagrangian.parallel else None)
                    if outcome is not None:
                        q_lp, lambda_lp, result_lp = outcome
                        lambdas_lp[t] = lambda_lp
                        gap_lp = result_lp.gap()
                if gap_eg < gap_lp or q_lp is None:
                    qs.append(q_eg)
                    gaps.append(gap_eg)
                else:
                    qs.append(q_lp)
                    gaps.append(gap_lp)
                bar.advance(status=f"gap {gaps[t]:.2e} (target {nu:.1e})")
                if gaps[t] < nu and t >= _MIN_ITER:
                    bar.finish()
                    break

        gaps_array = np.asarray(gaps)
        best_iter = int(np.flatnonzero(gaps_array <= gaps_array.min() + _PRECISION)[-1])
        n_predictors = len(lagrangian.predictors)
        weights = np.zeros(n_predictors)
        best_q = qs[best_iter]
        weights[: best_q.size] = best_q
        index = _lambda_index(constraint)
        self.best_iter_ = best_iter
        self.best_gap_ = float(gaps[best_iter])
        self.last_iter_ = len(qs) - 1
        self.n_iter_ = len(qs)
        self.weights_ = weights
        self.predictors_ = list(lagrangian.predictors)
        self.errors_ = np.asarray(lagrangian.errors)
        self.gammas_ = pd.DataFrame(np.asarray(lagrangian.gammas).T, index=index)
        self.lambda_vecs_ = pd.DataFrame(np.asarray(lagrangian.lambdas).T, index=index)
        self.lambda_vecs_EG_ = pd.DataFrame(np.asarray(lambdas_eg).T, index=index)
        self.lambda_vecs_LP_ = pd.DataFrame(lambdas_lp, index=index)
        self.nu_ = float(nu) if nu is not None else 0.0
        self.n_oracle_calls_ = lagrangian.n_oracle_calls
        self.n_oracle_calls_dummy_returned_ = lagrangian.n_oracle_calls_dummy_returned
        self.oracle_execution_times_ = list(lagrangian.oracle_execution_times)
        self.constraints_ = spec
        self._warn_if_infeasible(constraint, weights)
        return self

    def _warn_if_infeasible(self, constraint: BoundConstraint, weights: FloatArray) -> None:
        """Warn when the solution breaks a constraint by more than the reduction's guarantee allows.

        For feasible constraints the returned mixture violates no bound by more than
        ``(1 + 2·gap) / B = eps·(1 + 2·gap)`` (Agarwal et al. 2018, theorem 1); more than that means
        no mixture of the estimator's models meets the constraints.
        """
        violation = float((np.asarray(self.gammas_.to_numpy()) @ weights - constraint.bound()).max())
        allowed = self.eps * (1.0 + 2.0 * self.best_gap_)
        if violation > allowed + 1e-9:
            warnings.warn(
                f"the constraints look infeasible for this estimator: the best solution exceeds a bound by "
                f"{violation:.3g} (more than eps·(1 + 2·gap) = {allowed:.3g}), e.g. a BoundedGroupLoss upper_bound "
                f"below the smallest loss the estimator reaches for some group. Loosen the bound (or use a more "
                f"flexible estimator); the returned model is the best trade-off found",
                FairwatchWarning,
                stacklevel=3,
            )

    @staticmethod
    def _q_vector(counts: dict[int, float], size: int) -> FloatArray:
        q: FloatArray = np.zeros(size)
        for idx, count in counts.items():
            q[idx] = count
        return q / float(q.sum())

    @staticmethod
    def _default_nu(lagrangian: _Lagrangian, problem: _Problem) -> float:
        predictions = lagrangian.first_predictions
        assert predictions is not None
        residual = np.abs(np.asarray(predictions, dtype=np.float64) - problem.y)
        weights = problem.sample_weight
        if weights is None:
            return float(_ACCURACY_MUL * residual.std(ddof=1) / np.sqrt(problem.n_rows))
        # as if every row were repeated ``weight`` times (the sample standard deviation, ddof=1)
        total = float(weights.sum())
        mean = float(weights @ residual) / total
        variance = float(weights @ (residual - mean) ** 2) / (total - 1.0 if total > 1.0 else total)
        return float(_ACCURACY_MUL * np.sqrt(variance) / np.sqrt(total))

    def _mixture(self, X: Any) -> FloatArray:
        """Predictions of the predictors with positive weight, shape (n_samples, n_used)."""
        check_fitted(self, "predictors_")
        used = np.flatnonzero(self.weights_ > 0)
        columns = [np.asarray(self.predictors_[i].predict(X), dtype=np.float64).ravel() for i in used]
        return np.asarray(np.column_stack(columns) if columns else np.zeros((_n_rows(X), 0)), dtype=np.float64)

    @_available_if(_has_predict_proba_task)
    def predict_proba(self, X: Any) -> FloatArray:
        """Probability that the randomized classifier predicts each class.

        ``P(predict = classes_[1] | x) = Σ_t weights_[t] · h_t(x)``: the mixture of the predictors'
        0/1 predictions (this is what :meth:`predict` samples from; fairlearn's ``_pmf_predict``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        mixture = self._mixture(X)
        used = self.weights_[self.weights_ > 0]
        positive = np.clip(mixture @ used, 0.0, 1.0)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any, *, random_state: Any = None) -> np.ndarray:
        """Randomized predictions: each row's label is drawn from :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        random_state : int, RandomState or None
            Seed of the draw; defaults to the estimator's ``random_state`` (so a seeded estimator
            predicts the same labels every time).

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        rng = check_random_state(self.random_state if random_state is None else random_state)
        if self._task() == "regression":
            mixture = self._mixture(X)
            used = self.weights_[self.weights_ > 0]
            choice = rng.choice(used.size, size=mixture.shape[0], p=used / used.sum())
            return np.asarray(mixture[np.arange(mixture.shape[0]), choice])
        positive = self.predict_proba(X)[:, 1]
        return self._labels((positive >= rng.rand(positive.size)).astype(np.int64))


# -- grid search ---------------------------------------------------------------------------------
def _integer_grid(dims: int, n_units: int, neg_allowed: np.ndarray, force_l1: bool) -> Iterator[list[int]]:
    """Integer points with L1 norm <= n_units (== n_units when ``force_l1``), fairlearn's order."""
    entry = [0] * dims

    def walk(index: int, remaining: int) -> Iterator[list[int]]:
        if index == dims:
            yield list(entry)
            return
        if index == dims - 1 and force_l1:
            values: Sequence[int] = [-remaining, remaining] if neg_allowed[index] and remaining > 0 else [remaining]
        else:
            low = -remaining if neg_allowed[index] else 0
            values = range(low, remaining + 1)
        for value in values:
            entry[index] = value
            yield from walk(index + 1, remaining - abs(value))

    yield from walk(0, n_units)


def make_grid(grid_size: int, grid_limit: float, basis: GridBasis, offset: FloatArray | None = None) -> FloatArray:
    """``grid_size`` multiplier vectors (columns) spread over the basis with L1 norm <= ``grid_limit``."""
    dims = basis.n_dims
    force_l1 = basis.objective_in_span
    true_dim = max(dims - 1 if force_l1 else dims, 1)
    if grid_size < 2**true_dim:
        warnings.warn(
            f"a grid of {grid_size} points over {true_dim} dimensions (groups x events of the constraint) leaves "
            f"most directions unexplored; use grid_size >= {2**true_dim}, fewer groups, or ExponentiatedGradient",
            FairwatchWarning,
            stacklevel=4,  # make_grid <- GridSearch._grid <- GridSearch.fit <- the caller
        )
    n_units = int(np.floor((grid_size / 2.0 ** int(basis.neg_allowed.sum())) ** (1.0 / true_dim) - 1))
    n_units = max(n_units, 0)
    while True:
        points = []
        for point in _integer_grid(dims, n_units, basis.neg_allowed, force_l1):
            points.append(point)
            if len(points) == grid_size:
                break
        if len(points) >= grid_size:
            break
        n_units += 1
    scale = float(grid_limit) / n_units if n_units > 0 else 0.0
    coefs = np.asarray(points, dtype=np.float64).T * scale  # (dims, grid_size)
    grid = basis.pos @ np.clip(coefs, 0.0, None) + basis.neg @ np.clip(-coefs, 0.0, None)
    if offset is not None:
        grid = grid + np.asarray(offset, dtype=np.float64)[:, None]
    return np.asarray(grid, dtype=np.float64)


def _has_predict_proba(self: Any) -> bool:
    _has_predict_proba_task(self)
    if not hasattr(self.estimator, "predict_proba"):
        raise AttributeError(
            f"GridSearch.predict_proba needs an estimator with predict_proba, and "
            f"{type(self.estimator).__name__} has none: pass estimator= a probabilistic classifier (e.g. "
            f"LogisticRegression) or wrap it in sklearn.calibration.CalibratedClassifierCV, or use predict"
        )
    return True


class GridSearch(_Reduction):
    """Fairness-constrained learning by a grid search over Lagrange multipliers.

    Trains one model per grid point on the data reweighted and relabelled by that point's
    multipliers (Agarwal et al. 2018, section 3.4), in parallel, and picks the model with the best
    weighted sum of error and constraint violation. All models stay available in ``predictors_``
    for a trade-off analysis (see :func:`pareto_front`). fairlearn-compatible grid and selection.

    Parameters
    ----------
    estimator : estimator
        Any estimator with ``fit(X, y, sample_weight=...)`` and ``predict(X)``.
    constraints : str or constraint object
        As for :class:`ExponentiatedGradient`.
    selection_rule : {"tradeoff_optimization"}
        How ``best_idx_`` is chosen: the smallest
        ``(1 - constraint_weight) · error + constraint_weight · max(gamma)``.
    constraint_weight : float in [0, 1], default 0.5
        Weight of the constraint violation in the selection.
    grid_size : int, default 10
        Number of grid points (models).
    grid_limit : float, default 2.0
        Largest multiplier (L1 norm of the grid points).
    grid_offset : array-like of shape (n_constraints,), optional
        Shift added to every grid point.
    grid : array-like or DataFrame of shape (n_constraints, n_points), optional
        The exact multiplier vectors to use instead of a generated grid (a DataFrame indexed like
        ``lambda_vecs_``, e.g. fairlearn's, is aligned by its index).
    sample_weight_name : str, default "sample_weight"
        Name of the weight argument of ``estimator.fit``.
    n_jobs : int, optional
        Fit grid points in parallel (joblib; ``-1``: all cores). Same result for any value.
    random_state : int, RandomState or None
        Seeds the ``random_state`` parameters of ``estimator`` that are ``None`` (one seed for all
        grid points), so fits are reproducible and independent of ``n_jobs``.
    progress : bool or "auto", default "auto"
        Show a progress bar (``"auto"``: when stderr is a terminal or a notebook).

    Attributes
    ----------
    predictors_ : list of estimators
        One fitted model per grid point (reduced labels 0/1; 1 means ``classes_[1]``).
    lambda_vecs_ : pandas.DataFrame
        The grid: one column of multipliers per model.
    objectives_ : list of float
        Training error (or mean loss) of each model.
    gammas_ : pandas.DataFrame
        Constraint values of each model (one column per model).
    best_idx_ : int
        The selected model.
    oracle_execution_times_ : list of float
        Fit time of each model.
    classes_ : ndarray
        The two class labels (classification).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairwatch.mitigation import GridSearch
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, 600)
    >>> X = np.column_stack([rng.normal(size=600) + group, rng.normal(size=600)])
    >>> y = (X[:, 0] + rng.normal(size=600) > 0.5).astype(int)
    >>> gs = GridSearch(LogisticRegression(), "demographic_parity", grid_size=7, progress=False)
    >>> gs = gs.fit(X, y, sensitive_features=group)
    >>> len(gs.predictors_), gs.lambda_vecs_.shape
    (7, (4, 7))
    """

    def __init__(
        self,
        estimator: Any,
        constraints: str | Constraint,
        *,
        selection_rule: str = "tradeoff_optimization",
        constraint_weight: float = 0.5,
        grid_size: int = 10,
        grid_limit: float = 2.0,
        grid_offset: Any = None,
        grid: Any = None,
        sample_weight_name: str = "sample_weight",
        n_jobs: int | None = None,
        random_state: Any = None,
        progress: ProgressOption = "auto",
    ) -> None:
        self.estimator = estimator
        self.constraints = constraints
        self.selection_rule = selection_rule
        self.constraint_weight = constraint_weight
        self.grid_size = grid_size
        self.grid_limit = grid_limit
        self.grid_offset = grid_offset
        self.grid = grid
        self.sample_weight_name = sample_weight_name
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.progress = progress

    def _validate_params(self) -> None:
        if self.selection_rule != "tradeoff_optimization":
            raise InvalidInputError(
                f"selection_rule must be 'tradeoff_optimization' (the only rule); got {self.selection_rule!r}"
            )
        weight = self.constraint_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.number)) or not 0.0 <= weight <= 1.0:
            raise InvalidInputError(f"constraint_weight must be a number in [0, 1]; got {weight!r}")
        _check_positive("grid_size", self.grid_size, integer=True)
        _check_positive("grid_limit", self.grid_limit)
        _check_n_jobs(self.n_jobs)
        _check_progress(self.progress)

    def _grid(self, constraint: BoundConstraint) -> FloatArray:
        k = constraint.n_constraints
        if self.grid is not None:
            grid_frame = self.grid
            index = getattr(grid_frame, "index", None)
            if index is not None and hasattr(grid_frame, "reindex"):  # a DataFrame: align its rows by label
                labels = list(_lambda_index(constraint))
                if set(index) == set(labels):
                    grid_frame = grid_frame.reindex(labels)
            grid = np.asarray(grid_frame, dtype=np.float64)
            if grid.ndim != 2 or grid.shape[0] != k:
                raise InvalidInputError(
                    f"grid must have one row per constraint ({k}: {constraint.index[:4]}...) and one column "
                    f"per grid point; got shape {grid.shape}"
                )
            return grid
        offset = None
        if self.grid_offset is not None:
            offset = np.asarray(self.grid_offset, dtype=np.float64).ravel()
            if offset.size != k:
                raise InvalidInputError(f"grid_offset must have one value per constraint ({k}); got {offset.size}")
        return make_grid(int(self.grid_size), float(self.grid_limit), constraint.grid_basis(), offset)

    def fit(self, X: Any, y: Any, *, sensitive_features: SensitiveLike = None, sample_weight: Any = None) -> GridSearch:
        """Fit one model per grid point and select the best trade-off.

        Parameters
        ----------
        X : array-like or dataframe of shape (n_samples, n_features)
            Features, passed to ``estimator`` unchanged.
        y : array-like of shape (n_samples,)
            Binary labels (classification) or numbers (regression).
        sensitive_features : array-like, dataframe or dict of columns
            The groups the constraints are about; several columns form intersectional groups.
        sample_weight : array-like of shape (n_samples,), optional
            Row weights.

        Returns
        -------
        self

        Raises
        ------
        fairwatch.exceptions.InvalidInputError
            Missing ``sensitive_features``, a single group or class, a bad parameter.
        """
        self._validate_params()
        problem, spec = self._prepare(X, y, sensitive_features, sample_weight)
        constraint = problem.constraint
        grid = self._grid(constraint)
        in_span = constraint.grid_basis().objective_in_span
        seed = self._seed()
        classification = problem.is_classification

        def task(column: int) -> tuple[Any, ...]:
            signed = constraint.signed_weights(grid[:, column], with_objective=not in_span)
            labels = constraint.reduced_labels(signed, problem.y)
            weights = np.abs(signed) if classification else signed
            return (self._new_estimator(seed), X, labels, weights, self.sample_weight_name, classification)

        n_points = grid.shape[1]
        parallel = Parallel(n_jobs=self.n_jobs, return_as="generator", prefer="threads")
        predictors: list[Any] = []
        objectives: list[float] = []
        gammas: list[FloatArray] = []
        times: list[float] = []
        with _progress(self.progress, type(self).__name__, n_points) as bar, _blas_limit(self.n_jobs):
            for model, predictions, elapsed in parallel(delayed(_fit_oracle)(*task(i)) for i in range(n_points)):
                error, gamma = constraint.evaluate(predictions)
                predictors.append(model)
                objectives.append(error)
                gammas.append(gamma)
                times.append(elapsed)
                bar.advance()
        index = _lambda_index(constraint)
        gamma_matrix = np.asarray(gammas).T
        weight = float(self.constraint_weight)
        losses = (1.0 - weight) * np.asarray(objectives) + weight * gamma_matrix.max(axis=0)
        self.predictors_ = predictors
        self.objectives_ = objectives
        self.gammas_ = pd.DataFrame(gamma_matrix, index=index)
        self.lambda_vecs_ = pd.DataFrame(grid, index=index)
        self.best_idx_ = int(np.argmin(losses))
        self.oracle_execution_times_ = times
        self.constraints_ = spec
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions of the selected model (``predictors_[best_idx_]``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_fitted(self, "predictors_")
        predictions = np.asarray(self.predictors_[self.best_idx_].predict(X))
        if self._task() == "regression":
            return predictions
        return self._labels(predictions)

    @_available_if(_has_predict_proba)
    def predict_proba(self, X: Any) -> FloatArray:
        """Class probabilities of the selected model (columns follow ``classes_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        check_fitted(self, "predictors_")
        return np.asarray(self.predictors_[self.best_idx_].predict_proba(X), dtype=np.float64)


def _blas_limit(n_jobs: int | None) -> AbstractContextManager[Any]:
    """With several jobs, one BLAS thread per job (threads of joblib times BLAS threads oversubscribe)."""
    if n_jobs is None or n_jobs == 1:
        return nullcontext()
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    return threadpool_limits(limits=1, user_api="blas")  # type: ignore[no-any-return]
