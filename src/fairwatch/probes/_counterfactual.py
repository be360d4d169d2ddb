"""Counterfactual flip test: does the decision change when only the sensitive attribute does?"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from fairwatch._audit_model import ModelOutputs, ModelScorer
from fairwatch._model_rows import DEFAULT_BATCH_SIZE, n_rows
from fairwatch._typing import FloatArray
from fairwatch.exceptions import InvalidInputError, LengthMismatchError
from fairwatch.frames._columns import Column, from_pandas
from fairwatch.frames._encode import encode, python_scalar
from fairwatch.metrics._intervals import wilson_interval, z_value
from fairwatch.probes._rows import check_column, column_values, set_columns, take_rows

__all__ = ["CounterfactualFlipResult", "counterfactual_flip"]

ProxyMap = Mapping[Any, Mapping[Any, Any]]
ProxyFunction = Callable[[Any, Any], Any]

_WHY = "The probe changes the column the model reads, so X must hold it (pass the features including it)."
#: A numeric sensitive column with more distinct values than this is continuous: it needs ``bins=``.
MAX_FLIP_VALUES = 20


def _json(value: Any) -> Any:
    value = python_scalar(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _mean_interval(deltas: FloatArray, ci: float) -> tuple[float, float, float]:
    """Mean and Student-t interval of score changes (nan when undefined)."""
    n = deltas.size
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(deltas.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    from scipy.stats import t as student_t

    half = float(student_t.ppf(0.5 + ci / 2.0, n - 1)) * float(deltas.std(ddof=1)) / np.sqrt(n)
    return mean, mean - half, mean + half


@dataclass
class CounterfactualFlipResult:
    """What :func:`counterfactual_flip` found.

    Attributes
    ----------
    sensitive : str or int
        The flipped column.
    pairs : pandas.DataFrame
        One row per (original group, counterfactual group): ``n`` rows, ``flips``,
        ``flip_rate`` with its Wilson interval ``flip_rate_lo``/``flip_rate_hi``,
        ``flips_to_positive``, ``flips_to_negative``, ``mean_score_change`` with a Student-t
        interval, and ``mean_abs_score_change`` (score columns are NaN for a label-only model).
    flip_rate : float
        Flips over all (row, counterfactual value) pairs.
    any_flip_rate : float
        Share of rows whose decision changes for at least one other value.
    row_flips : ndarray of bool, shape (n_rows,)
        Which rows changed decision for some value (for drilling down; not in :meth:`to_dict`).
    bins : list of float or None
        The bin edges of a numeric column given ``bins=``: rows are grouped by bin (``original``
        is the bin, e.g. ``"[17, 28)"``) and set to each other bin's median (``values``).
    backend : narwhals.Implementation
        The library :meth:`to_frame` returns (that of ``X``; pandas for numpy arrays). ``pairs``
        is always pandas.
    """

    sensitive: Any
    values: list[Any]
    pairs: pd.DataFrame
    n_rows: int
    flip_rate: float
    flip_rate_lo: float
    flip_rate_hi: float
    any_flip_rate: float
    row_flips: np.ndarray = field(repr=False)
    ci: float
    decision: str
    model: str
    proxies: list[Any] | str | None
    bins: list[float] | None = None
    backend: nw.Implementation = nw.Implementation.PANDAS

    @property
    def title(self) -> str:
        return f"Counterfactual flip test: {self.sensitive}"

    @property
    def max_flip_rate(self) -> float:
        """The highest flip rate of any (original, counterfactual) pair."""
        return float(self.pairs["flip_rate"].max()) if len(self.pairs) else float("nan")

    @property
    def description(self) -> str:
        changed = f"{self.sensitive}"
        if isinstance(self.proxies, list) and self.proxies:
            changed += " (and the proxies " + ", ".join(map(str, self.proxies)) + ")"
        elif self.proxies == "function":
            changed += " (and its proxies, by the given function)"
        if self.bins is None:
            head = (
                f"Each of the {self.n_rows} rows was re-scored with {changed} set to every other value "
                f"({', '.join(map(str, self.values))}); the decision rule is {self.decision}. "
            )
        else:
            head = (
                f"{self.sensitive} was binned ({len(self.bins) - 1} bins, edges "
                f"{', '.join(f'{e:g}' for e in self.bins)}) and each of the {self.n_rows} rows was re-scored with "
                f"{changed} set to the value of every other bin ({', '.join(map(str, self.values))}); the decision "
                f"rule is {self.decision}. "
            )
        if self.flip_rate == 0:
            return head + (
                "No decision changed: the model's decisions do not depend on this column directly. Proxies left "
                "unchanged can still carry the attribute; add them with proxies=."
            )
        worst = self.pairs.iloc[int(np.argmax(self.pairs["flip_rate"].to_numpy()))]
        return head + (
            f"{self.flip_rate:.1%} of the counterfactuals changed the decision ({self.ci:.0%} CI "
            f"{self.flip_rate_lo:.1%}-{self.flip_rate_hi:.1%}), and {self.any_flip_rate:.1%} of the rows changed "
            f"for at least one value: the model uses the attribute. Largest: {worst['original']} -> "
            f"{worst['counterfactual']}, {worst['flip_rate']:.1%} of {int(worst['n'])} rows "
            f"({int(worst['flips_to_positive'])} to positive, {int(worst['flips_to_negative'])} to negative)."
        )

    def to_frame(self) -> Any:
        """The per-pair table (a copy), in the library ``X`` came in (pandas for numpy arrays)."""
        return from_pandas(self.pairs.copy(), self.backend)

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-safe Python values (NaN becomes None)."""
        return {
            "probe": "counterfactual_flip",
            "title": self.title,
            "description": self.description,
            "sensitive": _json(self.sensitive),
            "values": [_json(v) for v in self.values],
            "proxies": self.proxies if not isinstance(self.proxies, list) else [_json(p) for p in self.proxies],
            "model": self.model,
            "decision": self.decision,
            "ci": self.ci,
            "bins": self.bins,
            "n_rows": self.n_rows,
            "overall": {
                "flip_rate": _json(self.flip_rate),
                "flip_rate_lo": _json(self.flip_rate_lo),
                "flip_rate_hi": _json(self.flip_rate_hi),
                "any_flip_rate": _json(self.any_flip_rate),
                "max_flip_rate": _json(self.max_flip_rate),
            },
            "pairs": [{key: _json(value) for key, value in row.items()} for row in self.pairs.to_dict("records")],
        }


def _proxy_values(proxies: ProxyMap, target: Any) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for column, mapping in proxies.items():
        if not isinstance(mapping, Mapping):
            raise InvalidInputError(
                f"proxies[{column!r}] must map each group value to the proxy's replacement, e.g. "
                f"{{{column!r}: {{'Female': 'Wife', 'Male': 'Husband'}}}}; got {type(mapping).__name__}"
            )
        if target not in mapping:
            raise InvalidInputError(
                f"proxies[{column!r}] has no replacement for group {python_scalar(target)!r}; give one for every "
                f"group value (it has {list(map(python_scalar, mapping))})"
            )
        out[column] = mapping[target]
    return out


def _counterfactual_rows(
    X: Any,  # noqa: N803
    rows: np.ndarray,
    sensitive: Any,
    target: Any,
    proxies: ProxyMap | ProxyFunction | None,
) -> Any:
    changed = set_columns(take_rows(X, rows), {sensitive: target})
    if proxies is None:
        return changed
    if callable(proxies) and not isinstance(proxies, Mapping):
        out = proxies(changed, target)
        if out is None or n_rows(out) != rows.size:
            raise InvalidInputError(
                "proxies(X_rows, target) must return the rows with their proxy columns changed (same number of "
                f"rows: {rows.size}); got {type(out).__name__}"
            )
        return out
    return set_columns(changed, _proxy_values(proxies, target))


def counterfactual_flip(
    model: Any,
    X: Any,  # noqa: N803
    *,
    sensitive: Any,
    proxies: ProxyMap | ProxyFunction | None = None,
    values: Sequence[Any] | None = None,
    threshold: float | None = None,
    pos_label: Any = None,
    ci: float = 0.95,
    batch_size: int = DEFAULT_BATCH_SIZE,
    bins: int | Sequence[float] | None = None,
) -> CounterfactualFlipResult:
    """Flip each row's sensitive attribute to every other value and count changed decisions.

    A model that does not read the attribute (directly) changes no decision; a model that uses it
    changes some, and the per-group flip rates say for whom and in which direction.

    Parameters
    ----------
    model : estimator, torch.nn.Module or callable
        Anything :func:`fairwatch.audit_model` accepts.
    X : dataframe or 2-D array
        The rows, including the sensitive column (and any proxy columns).
    sensitive : str or int
        The sensitive column of ``X`` (its position for a numpy array).
    proxies : dict or callable, optional
        Columns to change together with the attribute: ``{column: {group_value: replacement}}``
        (e.g. ``{"relationship": {"Female": "Wife", "Male": "Husband"}}``), or a function
        ``f(rows, target_value) -> rows`` that edits the counterfactual rows.
    values : sequence, optional
        The group values to flip to (default: every value in the column, or each bin's median).
    bins : int or sequence of float, optional
        For a numeric column (age, income): group the rows into bins — ``bins=4`` quantile bins, or
        the edges, e.g. ``[18, 30, 45, 65, 100]`` — and set each row to the median of every other
        bin (or to ``values``). Required when the column holds more than 20 distinct numbers:
        flipping every row to every other number would make thousands of pairs.
    threshold, pos_label, batch_size
        As in :func:`fairwatch.audit_model`.
    ci : float, default=0.95
        Confidence level: Wilson intervals for flip rates, Student-t for mean score changes.

    Returns
    -------
    CounterfactualFlipResult

    Raises
    ------
    UnknownColumnError
        When ``sensitive`` or a proxy column is not in ``X``.
    InvalidInputError
        For a column with a single value, a numeric column with more than 20 values and no
        ``bins=`` (or ``bins=`` on a text column, or values outside the edges), a proxy mapping
        missing a group, or a model without prediction methods.

    Examples
    --------
    >>> import pandas as pd
    >>> from fairwatch.probes import counterfactual_flip
    >>> X = pd.DataFrame({"income": [1.0, 2.0, 3.0, 4.0], "group": ["a", "b", "a", "b"]})
    >>> def biased(rows):  # approves group "a" whatever the income
    ...     return ((rows["group"] == "a") | (rows["income"] > 3.5)).astype(float).to_numpy()
    >>> result = counterfactual_flip(biased, X, sensitive="group")
    >>> result.flip_rate
    0.75
    >>> for pair in result.to_frame()[["original", "counterfactual", "n", "flips"]].to_dict("records"):
    ...     print(pair)
    {'original': 'a', 'counterfactual': 'b', 'n': 2, 'flips': 2}
    {'original': 'b', 'counterfactual': 'a', 'n': 2, 'flips': 1}
    """
    z_value(ci)  # validates ci
    check_column(X, sensitive, "sensitive", _WHY)
    if isinstance(proxies, Mapping):
        for column in proxies:
            check_column(X, column, "proxies", "Proxy columns must be columns of X.")
            if column == sensitive:
                raise InvalidInputError(f"proxies holds the sensitive column {sensitive!r} itself; list other columns")
    elif proxies is not None and not callable(proxies):
        raise InvalidInputError(
            f"proxies must be a dict {{column: {{group_value: replacement}}}} or a function (rows, target) -> rows; "
            f"got {type(proxies).__name__}"
        )
    original_values = column_values(X, sensitive)
    groups = _groups(original_values, sensitive, values, bins)
    categories, codes, targets = groups.categories, groups.codes, groups.targets
    if groups.edges is None and len(set(categories) | set(targets)) < 2:
        raise InvalidInputError(
            f"sensitive column {sensitive!r} holds a single value ({python_scalar(categories[0])!r}) and no other "
            f"value was given; pass values=[...] with the values to flip to"
        )
    scorer = ModelScorer(model, threshold=threshold, pos_label=pos_label, batch_size=batch_size)
    name = str(sensitive)
    base = scorer.outputs(X, {name: original_values})  # group-aware post-processors get the groups too
    total = base.positive.size
    row_flips = np.zeros(total, dtype=bool)
    records: list[dict[str, Any]] = []
    for target_index, target in enumerate(targets):
        rows = np.flatnonzero(codes != groups.code_of(target))
        if rows.size == 0:
            continue
        counterfactual_groups = {name: np.full(rows.size, target, dtype=object)}
        flipped = scorer.outputs(_counterfactual_rows(X, rows, sensitive, target, proxies), counterfactual_groups)
        if flipped.positive.size != rows.size:
            raise LengthMismatchError(
                f"the model returned {flipped.positive.size} decisions for {rows.size} counterfactual rows"
            )
        row_flips[rows] |= flipped.positive != base.positive[rows]
        for record in _pair_records(base, flipped, rows, codes, categories, target, ci):
            record["_target_index"] = target_index
            records.append(record)
    records.sort(key=lambda r: (r.pop("_origin_code"), r.pop("_target_index")))
    pairs = pd.DataFrame.from_records(records, columns=_PAIR_COLUMNS)
    n_pairs = int(pairs["n"].sum()) if len(pairs) else 0
    n_flips = int(pairs["flips"].sum()) if len(pairs) else 0
    lo, hi = wilson_interval(np.array([n_flips], dtype=np.float64), np.array([n_pairs], dtype=np.float64), ci)
    proxy_names: list[Any] | str | None
    if proxies is None:
        proxy_names = None
    elif isinstance(proxies, Mapping):
        proxy_names = list(proxies)
    else:
        proxy_names = "function"
    return CounterfactualFlipResult(
        sensitive=sensitive,
        values=[python_scalar(v) for v in targets],
        pairs=pairs,
        n_rows=total,
        flip_rate=n_flips / n_pairs if n_pairs else float("nan"),
        flip_rate_lo=float(lo[0]),
        flip_rate_hi=float(hi[0]),
        any_flip_rate=float(row_flips.mean()),
        row_flips=row_flips,
        ci=float(ci),
        decision=scorer.decision_rule,
        model=scorer.describe(),
        proxies=proxy_names,
        bins=None if groups.edges is None else [float(e) for e in groups.edges],
        backend=_backend(X),
    )


def _backend(X: Any) -> nw.Implementation:  # noqa: N803
    """The library of ``X`` (pandas for numpy arrays and anything else)."""
    try:
        frame = nw.from_native(X, eager_only=True)
    except TypeError:
        return nw.Implementation.PANDAS
    impl = frame.implementation
    return impl if impl.is_polars() or impl.is_pyarrow() else nw.Implementation.PANDAS


@dataclass(frozen=True)
class _Groups:
    """The groups rows are flipped from (categories, or bins of a numeric column) and the targets."""

    categories: list[Any]
    codes: np.ndarray
    targets: list[Any]
    edges: np.ndarray | None = None

    def code_of(self, target: Any) -> int:
        """The group a target value belongs to (-1: none, so every row is flipped to it)."""
        if self.edges is None:
            return next((i for i, c in enumerate(self.categories) if c == target), -1)
        number = float(target)
        if not self.edges[0] <= number <= self.edges[-1]:
            return -1
        return int(np.searchsorted(self.edges[1:-1], number, side="right"))


def _groups(values: np.ndarray, sensitive: Any, targets: Sequence[Any] | None, bins: Any) -> _Groups:
    """Categories of a discrete column, or bins of a numeric one (refusing a continuous column
    without ``bins=``)."""
    numeric = values.dtype.kind in "iuf"
    if bins is None:
        encoded = encode(Column(str(sensitive), values), "sensitive")
        distinct = len(encoded.categories)
        if numeric and distinct > MAX_FLIP_VALUES:
            raise InvalidInputError(
                f"sensitive column {sensitive!r} holds {distinct} distinct numbers: flipping every row to every other "
                f"value would make {distinct * (distinct - 1):,} pairs of groups. Pass bins= to group the rows (e.g. "
                f"bins=4 for quartiles, or edges such as bins=[18, 30, 45, 65, 100]): each row is then set to the "
                f"median of every other bin"
            )
        categories = list(encoded.categories)
        return _Groups(categories, encoded.codes, categories if targets is None else list(targets))
    if not numeric:
        raise InvalidInputError(
            f"bins= groups a numeric column, but sensitive column {sensitive!r} holds {values.dtype} values; "
            f"drop bins= (its values are the groups)"
        )
    numbers = values.astype(np.float64)
    if np.isnan(numbers).any():
        raise InvalidInputError(f"sensitive column {sensitive!r} has missing values; drop or fill those rows first")
    edges = _edges(numbers, sensitive, bins)
    codes = np.searchsorted(edges[1:-1], numbers, side="right").astype(np.int64)
    labels = [
        f"[{lo:g}, {hi:g}{']' if i == len(edges) - 2 else ')'}" for i, (lo, hi) in enumerate(itertools.pairwise(edges))
    ]
    present = np.bincount(codes, minlength=len(labels))
    if targets is None:
        # each bin's median row value (an observed value, so integers stay integers)
        targets = [
            python_scalar(np.percentile(values[codes == b], 50, method="nearest")) for b in np.flatnonzero(present)
        ]
    return _Groups(labels, codes, list(targets), edges)


def _edges(numbers: np.ndarray, sensitive: Any, bins: Any) -> np.ndarray:
    """Bin edges: ``bins`` quantile bins, or the given edges (checked to cover the values)."""
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        if bins < 2:
            raise InvalidInputError(f"bins must be at least 2 (or a list of edges); got {bins!r}")
        edges = np.unique(np.quantile(numbers, np.linspace(0.0, 1.0, int(bins) + 1)))
        if edges.size < 3:
            raise InvalidInputError(
                f"sensitive column {sensitive!r} has too few distinct values for {bins} quantile bins; give edges"
            )
        return edges
    try:
        edges = np.asarray(bins, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(f"bins must be a number of bins or a list of edges; got {bins!r}") from None
    if edges.ndim != 1 or edges.size < 3 or not (np.diff(edges) > 0).all():
        raise InvalidInputError(f"bins edges must be at least three increasing numbers (two bins); got {bins!r}")
    outside = int(((numbers < edges[0]) | (numbers > edges[-1])).sum())
    if outside:
        raise InvalidInputError(
            f"{outside} value(s) of sensitive column {sensitive!r} lie outside the bins [{edges[0]:g}, {edges[-1]:g}] "
            f"(values range over [{numbers.min():g}, {numbers.max():g}]); widen the first or last edge"
        )
    return edges


_PAIR_COLUMNS = [
    "original",
    "counterfactual",
    "n",
    "flips",
    "flip_rate",
    "flip_rate_lo",
    "flip_rate_hi",
    "flips_to_positive",
    "flips_to_negative",
    "mean_score_change",
    "mean_score_change_lo",
    "mean_score_change_hi",
    "mean_abs_score_change",
]


def _pair_records(
    base: ModelOutputs,
    flipped: ModelOutputs,
    rows: np.ndarray,
    codes: np.ndarray,
    categories: list[Any],
    target: Any,
    ci: float,
) -> list[dict[str, Any]]:
    before, after = base.positive[rows], flipped.positive
    deltas = None
    if base.scores is not None and flipped.scores is not None:
        deltas = flipped.scores - base.scores[rows]
    records = []
    origin_codes = codes[rows]
    for code, origin in enumerate(categories):
        mask = origin_codes == code
        n = int(mask.sum())
        if n == 0:
            continue
        to_positive = int((~before[mask] & after[mask]).sum())
        to_negative = int((before[mask] & ~after[mask]).sum())
        flips = to_positive + to_negative
        lo, hi = wilson_interval(np.array([flips], dtype=np.float64), np.array([n], dtype=np.float64), ci)
        if deltas is None:
            mean, mean_lo, mean_hi, mean_abs = (float("nan"),) * 4
        else:
            mean, mean_lo, mean_hi = _mean_interval(deltas[mask], ci)
            mean_abs = float(np.abs(deltas[mask]).mean())
        records.append(
            {
                "_origin_code": code,
                "original": python_scalar(origin),
                "counterfactual": python_scalar(target),
                "n": n,
                "flips": flips,
                "flip_rate": flips / n,
                "flip_rate_lo": float(lo[0]),
                "flip_rate_hi": float(hi[0]),
                "flips_to_positive": to_positive,
                "flips_to_negative": to_negative,
                "mean_score_change": mean,
                "mean_score_change_lo": mean_lo,
                "mean_score_change_hi": mean_hi,
                "mean_abs_score_change": mean_abs,
            }
        )
    return records
