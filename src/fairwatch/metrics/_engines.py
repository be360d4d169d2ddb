"""GroupStats computed inside a dataframe engine: only per-group counts and bins leave it.

A Polars ``LazyFrame``, a DuckDB relation or a PySpark ``DataFrame`` (anything narwhals treats as a
lazy frame) is audited where it lives. The rows are never pulled into Python; the engine runs

1. one aggregate ``select`` (the *profile*): row count, null counts of every named column and
   min/max of labels, scores and weights — plain aggregates that DuckDB answers from Parquet
   metadata without reading rows, and no distinct counts (those cost a shuffle per column in
   Spark). NaN values are found in the aggregate of step 3 (NaN propagates through its sums,
   shows as a group key or as a label code 2); only then does a counting query run for the
   error message;
2. with ``scores`` and ``score_bins="auto"`` only: a HyperLogLog count of distinct scores (a
   native query in Polars, DuckDB and Spark; narwhals has no such aggregate), of groups when that
   does not settle it, and exact counts only near the limit;
3. one ``group_by(sensitive columns, y_true, y_pred, score bin).agg(count, sum(w), sum(w*s),
   sum(w*s*s), regression sums)``, whose result (at most ``groups × 4 × bins`` rows) is folded
   into :class:`~fairwatch.metrics.GroupStats` with numpy.

Labels are coded in the aggregate as 0 (the column's minimum), 1 (its maximum) or 2 (anything
else): a 2 means the labels are not binary, and only then do small distinct queries run to build
the error message (or, with ``metrics=None`` and numeric labels, the audit becomes a regression
audit, as in the numpy path).

The statistics equal those of the numpy path (``engine="numpy"``) to floating-point summation
order: the same sorted group keys (observed combinations only), the same ``pos_label`` inference,
the same bins, and the same errors for bad input. Because rows of a lazy frame have no positions,
missing-value errors give a count of rows instead of row numbers.

Score bins: ``score_bins="auto"`` makes the same choice as the numpy path (bins at the distinct
scores while ``distinct scores × 2 × groups`` stays within 2**21 cells, else 1,000 uniform bins).
The approximate counts decide unless the product is within a factor 1.5 of the limit, where exact
counts are taken. An integer ``score_bins`` (or explicit edges) skips those counts. Uniform bins
are computed in the engine as ``floor((s - lo) / (hi - lo) * bins)`` (explicit unequal edges as a
sum of comparisons); distinct bins group by the score itself.

Tables of an :class:`~fairwatch.Audit` of a lazy frame come back as Polars for a Polars
``LazyFrame`` and as pandas for every other lazy engine (DuckDB, PySpark, ...).

Running the same code on a Spark cluster: build the session against the cluster and pass its
``DataFrame``; nothing else changes::

    spark = SparkSession.builder.master("spark://host:7077").getOrCreate()  # or yarn, k8s://...
    fw.audit("label", "pred", sensitive_features=["sex", "race"], scores="score",
             data=spark.read.parquet("s3a://bucket/predictions/"))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import narwhals as nw
import numpy as np

from fairwatch._typing import ArrayLike, FloatArray, FrameLike, GroupKey, IntArray, SensitiveLike
from fairwatch.exceptions import (
    InvalidInputError,
    LabelError,
    MissingDependencyError,
    MissingValueError,
    UnknownColumnError,
)
from fairwatch.frames._columns import Column, is_blank, missing_expr, missing_sensitive_error, table_backend
from fairwatch.frames._encode import encode_groups
from fairwatch.metrics._group_stats import (
    AUTO_EXACT_CELL_LIMIT,
    DEFAULT_UNIFORM_BINS,
    REGRESSION_FIELDS,
    Binning,
    GroupStats,
    ScoreHistogram,
    _edges_for,
)
from fairwatch.metrics._inputs import (
    CLASSIFICATION_DEFAULTS,
    REGRESSION_DEFAULTS,
    SCORE_DEFAULTS,
    check_binary_labels,
)
from fairwatch.metrics._registry import Metric, get_metric

__all__ = ["ENGINES", "engine_group_stats", "named_columns", "result_backend", "route"]

#: Values of the ``engine=`` argument (``None`` picks by input: lazy frames in their engine,
#: everything else through numpy).
ENGINES = ("numpy", "polars", "duckdb", "spark")

_PROBABILITY_METRICS = {"brier_score", "expected_calibration_error"}
_CATEGORY_HINT = "drop those rows or fill them with an explicit category such as 'unknown' before auditing"
_VALUE_HINT = "drop those rows or fill them with an explicit value before auditing"
#: An approximate distinct count this far above the limit is trusted (HyperLogLog errs by ~2%).
_APPROX_MARGIN = 1.5


# -- routing --------------------------------------------------------------------------------------
def named_columns(*arguments: ArrayLike | None, sensitive_features: SensitiveLike = None) -> list[str]:
    """The column names among the arguments of an audit (the columns an engine must read)."""
    names = [x for x in arguments if isinstance(x, str)]
    if isinstance(sensitive_features, str):
        names.append(sensitive_features)
    elif isinstance(sensitive_features, (list, tuple)):
        names.extend(x for x in sensitive_features if isinstance(x, str))
    return list(dict.fromkeys(names))


def _lazy_or_none(data: FrameLike | None) -> nw.LazyFrame[Any] | None:
    if data is None or isinstance(data, nw.DataFrame):
        return None
    if isinstance(data, nw.LazyFrame):
        return data
    try:
        frame = nw.from_native(data)
    except TypeError:
        return None
    return frame if isinstance(frame, nw.LazyFrame) else None


def route(
    data: FrameLike | None, engine: str | None, columns: Sequence[str]
) -> tuple[nw.LazyFrame[Any] | None, FrameLike | None]:
    """Decide where an audit runs: ``(lazy_frame, None)`` in an engine, ``(None, data)`` via numpy.

    ``engine=None`` keeps lazy frames in their engine and sends everything else through numpy;
    ``"numpy"`` collects a lazy frame (only ``columns``); ``"polars"``/``"duckdb"`` move ``data``
    into that engine; ``"spark"`` needs ``data`` to be a PySpark DataFrame already.
    """
    if engine is not None and engine not in ENGINES:
        raise InvalidInputError(f"engine must be None or one of {', '.join(map(repr, ENGINES))}; got {engine!r}")
    lazy = _lazy_or_none(data)
    if engine is None:
        return lazy, (data if lazy is None else None)
    if engine == "numpy":
        if lazy is None:
            return None, data
        library: Literal["polars", "pandas"] = "polars" if lazy.implementation.is_polars() else "pandas"
        return None, _collect(_named(lazy, columns), library).to_native()
    if data is None:
        raise InvalidInputError(
            f"engine={engine!r} aggregates a dataframe where it lives: pass data=<dataframe> and column names"
        )
    if engine == "spark":
        if lazy is None or not lazy.implementation.is_spark_like():
            raise InvalidInputError(
                f"engine='spark' needs data= to be a PySpark DataFrame; got {type(data).__name__} "
                f"(create one with spark.read.parquet(...) or spark.createDataFrame(...))"
            )
        return lazy, None
    _require(engine)
    target: Literal["polars", "duckdb"] = "polars" if engine == "polars" else "duckdb"
    if lazy is not None:
        if lazy.implementation is nw.Implementation.from_backend(target):
            return lazy, None
        eager = _collect(_named(lazy, columns), "pyarrow")
    else:
        try:
            eager = nw.from_native(data, eager_only=True)
        except TypeError as exc:
            raise InvalidInputError(
                f"data must be a dataframe (pandas, Polars, pyarrow, DuckDB, ...); got {type(data).__name__}"
            ) from exc
    return eager.lazy(backend=target), None


def _require(engine: str) -> None:
    module = {"polars": "polars", "duckdb": "duckdb", "spark": "pyspark"}[engine]
    try:
        __import__(module)
    except ImportError as exc:
        raise MissingDependencyError(f"engine={engine!r} needs {module}: pip install {module}") from exc


def result_backend(data: FrameLike | None) -> nw.Implementation:
    """The library of the tables an audit of ``data`` returns.

    The caller's library for eager frames; Polars for a Polars ``LazyFrame``; pandas for every
    other lazy frame (DuckDB relations, PySpark DataFrames, ...).
    """
    lazy = _lazy_or_none(data)
    if lazy is not None:
        return nw.Implementation.POLARS if lazy.implementation.is_polars() else nw.Implementation.PANDAS
    if data is None:
        return nw.Implementation.PANDAS
    try:
        frame = data if isinstance(data, nw.DataFrame) else nw.from_native(data, eager_only=True)
    except TypeError:
        return nw.Implementation.PANDAS
    return table_backend(frame)


def _collect(
    frame: nw.LazyFrame[Any], backend: Literal["polars", "pandas", "pyarrow"] | None = None
) -> nw.DataFrame[Any]:
    """Run a (small, aggregated) query; Polars uses its streaming engine so scans stay bounded."""
    if frame.implementation.is_polars():
        return frame.collect(backend, engine="streaming")
    return frame.collect(backend)


def _named(frame: nw.LazyFrame[Any], columns: Sequence[str]) -> nw.LazyFrame[Any]:
    """Only the named columns that exist (an unknown name is reported later, with its argument)."""
    present = [c for c in columns if c in frame.collect_schema().names()]
    if present:
        return frame.select(*present)
    return frame.head(0) if columns else frame  # every name is unknown: the error needs no rows


# -- the columns of one audit ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Roles:
    """Column names of one audit and their dtypes."""

    y_true: str | None
    y_pred: str | None
    scores: str | None
    weight: str | None
    sensitive: tuple[str, ...]
    schema: dict[str, Any]

    def columns(self) -> list[str]:
        """Every named column, once: sensitive, labels, scores, weights."""
        named = [*self.sensitive, self.y_true, self.y_pred, self.scores, self.weight]
        return list(dict.fromkeys(c for c in named if c is not None))

    def labels(self) -> list[tuple[str, str]]:
        return [(arg, col) for arg, col in (("y_true", self.y_true), ("y_pred", self.y_pred)) if col is not None]

    def is_float(self, column: str) -> bool:
        return bool(self.schema[column].is_float())

    def is_numeric(self, column: str) -> bool:
        dtype = self.schema[column]
        return bool(dtype.is_numeric() or dtype == nw.Boolean)


def _column_name(x: ArrayLike | None, argument: str, frame: nw.LazyFrame[Any]) -> str | None:
    if x is None or isinstance(x, str):
        return x
    raise InvalidInputError(
        f"{argument} must be a column name of data when data is a lazy frame "
        f"({frame.implementation.name.lower()}); got {type(x).__name__}. A lazy frame is aggregated where "
        f"it lives, so every input must be one of its columns (or pass engine='numpy' to collect it first)"
    )


def _roles(
    frame: nw.LazyFrame[Any],
    y_true: ArrayLike | None,
    y_pred: ArrayLike | None,
    scores: ArrayLike | None,
    sample_weight: ArrayLike | None,
    sensitive_features: SensitiveLike,
) -> _Roles:
    names = {
        "y_true": _column_name(y_true, "y_true", frame),
        "y_pred": _column_name(y_pred, "y_pred", frame),
        "scores": _column_name(scores, "scores", frame),
        "sample_weight": _column_name(sample_weight, "sample_weight", frame),
    }
    if sensitive_features is None:
        raise InvalidInputError("sensitive_features is required: pass one or several column names of data")
    if isinstance(sensitive_features, str):
        sensitive = [sensitive_features]
    elif isinstance(sensitive_features, (list, tuple)) and sensitive_features:
        sensitive = [_column_name(x, "sensitive_features", frame) or "" for x in sensitive_features]
    else:
        sensitive = [_column_name(sensitive_features, "sensitive_features", frame) or ""]
    schema = dict(frame.collect_schema().items())
    available = ", ".join(map(repr, schema))
    for argument, name in [*names.items(), *(("sensitive_features", s) for s in sensitive)]:
        if name is not None and name not in schema:
            raise UnknownColumnError(f"{argument}={name!r} is not a column of data; available columns: {available}")
    if len(set(sensitive)) != len(sensitive):
        raise InvalidInputError(f"sensitive feature names must be unique; got {sensitive}")
    return _Roles(
        y_true=names["y_true"],
        y_pred=names["y_pred"],
        scores=names["scores"],
        weight=names["sample_weight"],
        sensitive=tuple(sensitive),
        schema=schema,
    )


# -- the profile: one small aggregate query --------------------------------------------------------
@dataclass
class _Profile:
    """Aggregates over the whole frame, by ``(statistic, column)``."""

    exprs: list[nw.Expr] = field(default_factory=list)
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)
    values: dict[tuple[str, str], Any] = field(default_factory=dict)

    def add(self, stat: str, column: str, expr: nw.Expr) -> None:
        if (stat, column) not in self.aliases:
            alias = f"__fw_p{len(self.exprs)}"
            self.aliases[stat, column] = alias
            self.exprs.append(expr.alias(alias))

    def run(self, frame: nw.LazyFrame[Any]) -> None:
        row = _collect(frame.select(*self.exprs)).rows(named=True)[0]
        self.values = {key: _plain(row[alias]) for key, alias in self.aliases.items()}

    def __getitem__(self, key: tuple[str, str]) -> Any:
        return self.values[key]

    def count(self, stat: str, column: str) -> int:
        """A count (0 when it was not asked for, or the column is all null)."""
        return int(self.values.get((stat, column)) or 0)

    def missing(self, column: str) -> int:
        return self.count("null", column) + self.count("nan", column)


def _plain(value: Any) -> Any:
    """Engine scalars as plain Python values (DuckDB returns sums of integers as Decimal)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _count(expr: nw.Expr) -> nw.Expr:
    return expr.cast(nw.Int64).sum()


def _profile(frame: nw.LazyFrame[Any], roles: _Roles, *, scan_checks: bool) -> _Profile:
    """Row count, missing values, label min/max and score/weight ranges: plain aggregates only
    (no distinct counts, which cost a shuffle per column in Spark).

    Without ``scan_checks`` only counts and min/max are asked for, which DuckDB answers from
    Parquet metadata without reading the rows; NaN counts then come from the aggregate.
    """
    profile = _Profile()
    profile.add("len", "", nw.len())
    for column in roles.columns():
        profile.add("null", column, nw.len() - nw.col(column).count())
    for _, column in roles.labels():
        profile.add("min", column, nw.col(column).min())
        profile.add("max", column, nw.col(column).max())
    for name in (roles.scores, roles.weight):
        if name is not None and roles.is_numeric(name):
            value = _float(roles, name)
            profile.add("min", name, value.min())
            profile.add("max", name, value.max())
    if scan_checks:
        for stat, column, expr in _scan_checks(roles):
            profile.add(stat, column, expr)
    profile.run(frame)
    return profile


def _is_nan(value: nw.Expr) -> nw.Expr:
    """NaN as "not finite and not infinite": DuckDB folds ``isnan`` on Parquet columns from
    statistics that leave NaN out, and would count none."""
    return ~value.is_finite() & (value.abs() != math.inf)


def _scan_checks(roles: _Roles) -> list[tuple[str, str, nw.Expr]]:
    """Counts that need every row read: NaN, non-finite and negative values."""
    checks = [("nan", c, _count(_is_nan(nw.col(c)))) for c in roles.columns() if roles.is_float(c)]
    for name in (roles.scores, roles.weight):
        if name is not None and roles.is_float(name):
            checks.append(("nonfinite", name, _count(~nw.col(name).is_finite())))
    if roles.weight is not None and roles.is_numeric(roles.weight):
        checks.append(("negative", roles.weight, _count(nw.col(roles.weight) < 0)))
    return checks


def _needs_scan_checks(profile: _Profile, roles: _Roles) -> bool:
    """Whether the min/max already show a NaN, an infinity or a negative weight (whose counts the
    error messages need)."""
    for column in (*(c for _, c in roles.labels()), roles.scores, roles.weight):
        if column is None or not roles.is_float(column):
            continue
        for stat in ("min", "max"):
            value = profile.values.get((stat, column))
            if isinstance(value, float) and not math.isfinite(value):
                return True
    low = None if roles.weight is None else profile.values.get(("min", roles.weight))
    return isinstance(low, (int, float)) and low < 0


def _add_scan_checks(frame: nw.LazyFrame[Any], profile: _Profile, roles: _Roles) -> None:
    checks = _scan_checks(roles)
    if checks:
        row = _collect(frame.select(*(expr.alias(f"__fw_c{i}") for i, (_, _, expr) in enumerate(checks)))).row(0)
        profile.values.update({(stat, column): _plain(v) for (stat, column, _), v in zip(checks, row)})


def _missing_error(argument: str, count: int, hint: str) -> MissingValueError:
    return MissingValueError(f"{argument} has {count} missing value(s) (NaN/null); {hint}")


def _check_missing(profile: _Profile, roles: _Roles, column: str, argument: str, hint: str | None = None) -> None:
    count = profile.missing(column)
    if count:
        if hint is None:
            hint = _VALUE_HINT if roles.is_numeric(column) else _CATEGORY_HINT
        raise _missing_error(argument, count, hint)


def _check_numeric(roles: _Roles, column: str, argument: str) -> None:
    if not roles.is_numeric(column):
        raise InvalidInputError(f"{argument} must be numeric; got column {column!r} of type {roles.schema[column]}")


# -- labels ----------------------------------------------------------------------------------------
def _assumed_values(profile: _Profile, column: str) -> list[Any]:
    """The labels of a column if it holds at most two (its min and max); the aggregate checks it."""
    return sorted({profile["min", column], profile["max", column]})


def _exact_label_set(frame: nw.LazyFrame[Any], column: str) -> tuple[int, list[Any]]:
    """Number of distinct values of a column and its sorted values (the first seven)."""
    count = int(_collect(frame.select(nw.col(column).n_unique())).item())
    head = _collect(frame.select(nw.col(column)).unique().sort(column).head(7))
    return count, sorted(_plain(v) for v in head.get_column(column).to_list())


def _more_than_two(frame: nw.LazyFrame[Any], profile: _Profile, roles: _Roles) -> bool:
    """Whether a label column holds a value other than its min and max."""
    others = [
        _count(~nw.col(c).is_in(_assumed_values(profile, c))).alias(f"__fw_o{i}")
        for i, (_, c) in enumerate(roles.labels())
    ]
    row = _collect(frame.select(*others)).rows()[0]
    return any(_plain(v) for v in row)


def _raise_label_error(frame: nw.LazyFrame[Any], label_columns: Sequence[tuple[str, str]], pos_label: Any) -> None:
    """Raise the error the numpy path gives for these label columns (they hold > 2 labels)."""
    check_binary_labels([(arg, *_exact_label_set(frame, column)) for arg, column in label_columns], pos_label)


def _certainly_binary(roles: _Roles, column: str, values: list[Any]) -> bool:
    """Integer or boolean labels whose max - min <= 1 can hold no third value: grouped as they are."""
    dtype = roles.schema[column]
    return bool(dtype == nw.Boolean or (dtype.is_integer() and int(values[-1]) - int(values[0]) <= 1))


def _label_code(column: str, values: list[Any]) -> nw.Expr:
    """0/1 for the first/second of ``values``, 2 for any other value (which makes labels non-binary)."""
    col = nw.col(column)
    if len(values) == 1:
        return nw.when(col == values[0]).then(0).otherwise(2)
    return nw.when(col == values[0]).then(0).otherwise(nw.when(col == values[1]).then(1).otherwise(2))


# -- metrics ---------------------------------------------------------------------------------------
def _default_metrics(profile: _Profile, roles: _Roles) -> tuple[tuple[str, ...], bool]:
    """The numpy path's default metrics, from the profile, and whether the choice is tentative.

    Classification is tentative when the labels are numeric: a third value, found by the
    aggregate, makes it regression (as it does in the numpy path).
    """
    if roles.y_pred is None:
        if roles.scores is None:
            raise InvalidInputError("pass y_pred (predictions) and/or scores= to audit a model")
        return ("count",) + SCORE_DEFAULTS, False
    distinct: set[Any] = set()
    for arg, column in roles.labels():
        _check_missing(profile, roles, column, arg, _CATEGORY_HINT)
        distinct.update(_assumed_values(profile, column))
    numeric = all(roles.is_numeric(c) for _, c in roles.labels())
    if len(distinct) > 2 and numeric:
        return REGRESSION_DEFAULTS, False
    return CLASSIFICATION_DEFAULTS + (SCORE_DEFAULTS if roles.scores is not None else ()), numeric


def _names(specs: Sequence[Metric], blocks: tuple[str, ...]) -> str:
    return ", ".join(m.name for m in specs if m.block in blocks)


# -- score bins ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Bins:
    """How scores are bucketed in the engine."""

    binning: Binning
    edges: FloatArray | None  # None for distinct bins: the edges come from the aggregate
    uniform_formula: bool = False


def _approx_n_unique(frame: nw.LazyFrame[Any], targets: Sequence[Sequence[str]]) -> list[int] | None:
    """HyperLogLog counts of distinct values, one per target (a column, or a tuple of columns), in
    one native query; None where the engine has no such aggregate (narwhals has none)."""
    native = frame.to_native()
    impl = frame.implementation
    if impl.is_polars():
        import polars as pl

        exprs = [
            (pl.col(t[0]) if len(t) == 1 else pl.struct(list(t)).hash()).approx_n_unique().alias(f"c{i}")
            for i, t in enumerate(targets)
        ]
        return [int(v) for v in native.select(exprs).collect(engine="streaming").row(0)]
    if impl.is_duckdb():

        def sql(target: Sequence[str]) -> str:
            quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in target)
            return f"approx_count_distinct({quoted if len(target) == 1 else f'hash({quoted})'})"

        return [int(v) for v in native.aggregate(", ".join(sql(t) for t in targets)).fetchall()[0]]
    if impl.is_pyspark():
        from pyspark.sql import functions as sf

        columns = [sf.col(t[0]) if len(t) == 1 else sf.xxhash64(*t) for t in targets]
        return [int(v) for v in native.agg(*(sf.approx_count_distinct(c) for c in columns)).collect()[0]]
    return None


def _exact_counts(frame: nw.LazyFrame[Any], roles: _Roles) -> tuple[int, int]:
    assert roles.scores is not None
    distinct = int(_collect(frame.select(nw.col(roles.scores).n_unique())).item())
    groups = int(_collect(frame.select(*roles.sensitive).unique().select(nw.len())).item())
    return distinct, groups


def _distinct_fits(frame: nw.LazyFrame[Any], roles: _Roles, n_rows: int) -> bool:
    """Whether ``score_bins="auto"`` bins at distinct scores (``distinct × 2 × groups <= limit``).

    Approximate counts decide unless the product is within a factor 1.5 of the limit. On many
    rows the scores are counted first (they usually settle it alone); on few rows, where they
    cannot (distinct scores <= rows), scores and groups are counted in one query.
    """
    assert roles.scores is not None
    limit = _APPROX_MARGIN * AUTO_EXACT_CELL_LIMIT
    if n_rows * 2 > limit:
        first = _approx_n_unique(frame, [[roles.scores]])
        if first is not None and first[0] * 2 > limit:  # too many scores even for one group
            return False
        counts = None if first is None else _approx_n_unique(frame, [roles.sensitive])
        approx = None if first is None or counts is None else (first[0], counts[0])
    else:
        both = _approx_n_unique(frame, [[roles.scores], roles.sensitive])
        approx = None if both is None else (both[0], both[1])
    if approx is not None:
        cells = approx[0] * 2 * approx[1]
        if cells > limit:
            return False
        if cells * _APPROX_MARGIN < AUTO_EXACT_CELL_LIMIT:
            return True
    distinct, groups = _exact_counts(frame, roles)
    return distinct * 2 * groups <= AUTO_EXACT_CELL_LIMIT


def _score_bins(frame: nw.LazyFrame[Any], profile: _Profile, roles: _Roles, score_bins: Any) -> _Bins:
    assert roles.scores is not None
    if isinstance(score_bins, str) and score_bins == "auto":
        if _distinct_fits(frame, roles, int(profile["len", ""])):
            return _Bins("distinct", None)
        score_bins = DEFAULT_UNIFORM_BINS
    low, high = float(profile["min", roles.scores]), float(profile["max", roles.scores])
    edges, binning = _edges_for(np.asarray([low, high]), score_bins, 1)
    equal = bool(np.allclose(np.diff(edges), edges[1] - edges[0]))
    return _Bins(binning, edges, uniform_formula=equal)


def _bin_expr(score: nw.Expr, bins: _Bins) -> nw.Expr:
    """The bin of each score, as :func:`fairwatch.metrics._group_stats.score_bins_for` computes it.

    Scores lie within the edges (``lo`` is their minimum, or checked against explicit edges), so
    the index is never negative and only the top score needs clipping into the last bin.
    """
    if bins.edges is None:
        return score
    edges = bins.edges
    n_bins = edges.size - 1
    if not bins.uniform_formula:  # searchsorted(edges, s, side="right") - 1 = number of inner edges <= s
        index = nw.lit(0)
        for edge in edges[1:-1].tolist():
            index = index + (score >= edge).cast(nw.Int64)
        return index.cast(nw.Int64)
    low, span = float(edges[0]), float(edges[-1] - edges[0])
    scaled = score if low == 0.0 else score - low  # s - 0.0 == s and s / 1.0 == s exactly
    scaled = scaled if span == 1.0 else scaled / span
    return nw.min_horizontal((scaled * n_bins).floor(), nw.lit(n_bins - 1)).cast(nw.Int64)


# -- the aggregate ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """What the aggregate computes: label codes (with their values), bins, regression sums."""

    label_values: dict[str, list[Any]]  # "y_true"/"y_pred" -> the values coded 0 and 1
    bins: _Bins | None
    regression: bool
    pos_label: Any


def _float(roles: _Roles, column: str) -> nw.Expr:
    return nw.col(column) if roles.schema[column] == nw.Float64 else nw.col(column).cast(nw.Float64)


def _aggregate(frame: nw.LazyFrame[Any], roles: _Roles, plan: _Plan) -> nw.DataFrame[Any]:
    """The one ``group_by().agg()``: counts and weighted sums per group, label, prediction, bin."""
    keys = {f"__fw_g{i}": nw.col(c) for i, c in enumerate(roles.sensitive)}
    for arg, column in roles.labels():
        if arg in plan.label_values:
            certain = _certainly_binary(roles, column, plan.label_values[arg])
            keys[f"__fw_{arg}"] = nw.col(column) if certain else _label_code(column, plan.label_values[arg])
    w = None if roles.weight is None else _float(roles, roles.weight)
    values: dict[str, nw.Expr] = {}
    if w is not None:
        values["__fw_w"] = w
    if plan.bins is not None:
        assert roles.scores is not None
        s = _float(roles, roles.scores)
        keys["__fw_bin"] = _bin_expr(s, plan.bins)
        ws = s if w is None else s * w
        values["__fw_ws"] = ws
        values["__fw_wss"] = ws * s
    if plan.regression:
        assert roles.y_true is not None and roles.y_pred is not None
        y = _float(roles, roles.y_true)
        p = _float(roles, roles.y_pred)
        e = y - p
        terms = [y, y * y, p, p * p, e, e * e, e.abs(), e * e * e * e]
        if w is not None:
            terms = [w * t for t in terms]
        values.update({f"__fw_r{i}": t for i, t in enumerate(terms, start=1)})
    columns = [expr.alias(name) for name, expr in {**keys, **values}.items()]
    sums = [nw.col(name).sum() for name in values]
    query = frame.select(*columns).group_by(*keys).agg(nw.len().alias("__fw_n"), *sums)
    return _collect(query)


def _has_other_labels(result: nw.DataFrame[Any], roles: _Roles, plan: _Plan) -> bool:
    columns = dict(roles.labels())
    return any(
        bool((_ints(result, f"__fw_{arg}") == 2).any())
        for arg, values in plan.label_values.items()
        if not _certainly_binary(roles, columns[arg], values)
    )


def _group_keys(result: nw.DataFrame[Any], roles: _Roles) -> tuple[list[GroupKey], IntArray]:
    """Sorted group keys and each result row's group, by the numpy path's own encoder."""
    columns = [Column(name, result.get_column(f"__fw_g{i}")) for i, name in enumerate(roles.sensitive)]
    codes, keys = encode_groups(columns)
    return keys, codes


def _floats(result: nw.DataFrame[Any], name: str) -> FloatArray:
    return np.asarray(result.get_column(name).to_numpy(), dtype=np.float64)


def _ints(result: nw.DataFrame[Any], name: str) -> IntArray:
    return np.asarray(result.get_column(name).to_numpy(), dtype=np.int64)


def _positive(result: nw.DataFrame[Any], roles: _Roles, plan: _Plan, arg: str) -> IntArray:
    """1 where the label in ``arg``'s column is ``pos_label`` (as the numpy path's lookup)."""
    values = plan.label_values[arg]
    lookup = np.asarray([v == plan.pos_label for v in values], dtype=np.int64)
    codes = _ints(result, f"__fw_{arg}")
    if _certainly_binary(roles, dict(roles.labels())[arg], values):  # raw integers: code = value - min
        codes = codes - int(values[0])
    return lookup[codes]


def _stats_from_aggregate(result: nw.DataFrame[Any], roles: _Roles, plan: _Plan) -> tuple[list[GroupKey], Any]:
    keys, group = _group_keys(result, roles)
    g = len(keys)
    counts = _floats(result, "__fw_n")
    weights = counts if roles.weight is None else _floats(result, "__fw_w")

    def fold(key: IntArray, values: FloatArray, size: int) -> FloatArray:
        return np.bincount(key, weights=values, minlength=size).astype(np.float64, copy=False)

    n = fold(group, counts, g)
    blocks: dict[str, Any] = {"n": n, "weight": n if roles.weight is None else fold(group, weights, g)}
    y_true = _positive(result, roles, plan, "y_true") if "y_true" in plan.label_values else None
    if "y_pred" in plan.label_values and y_true is not None:
        cell = group * 4 + y_true * 2 + _positive(result, roles, plan, "y_pred")
        confusion_n = fold(cell, counts, 4 * g).reshape(g, 2, 2)
        blocks["confusion_n"] = confusion_n
        blocks["confusion"] = confusion_n if roles.weight is None else fold(cell, weights, 4 * g).reshape(g, 2, 2)
    if plan.bins is not None and y_true is not None:
        blocks["scores"] = _histogram(result, plan.bins, group, y_true, g, counts, weights, roles.weight is None)
    if plan.regression:
        first = n if roles.weight is None else blocks["weight"]
        columns = [first] + [fold(group, _floats(result, f"__fw_r{i}"), g) for i in range(1, len(REGRESSION_FIELDS))]
        blocks["regression"] = np.stack(columns, axis=1)
    return keys, blocks


def _histogram(
    result: nw.DataFrame[Any],
    bins: _Bins,
    group: IntArray,
    y_true: IntArray,
    g: int,
    counts: FloatArray,
    weights: FloatArray,
    unweighted: bool,
) -> ScoreHistogram:
    if bins.edges is None:  # distinct bins: the bin key is the score itself
        scores = _floats(result, "__fw_bin")
        values = np.unique(scores)
        edges = np.append(values, values[-1])
        index = np.searchsorted(values, scores).astype(np.int64)
    else:
        edges = bins.edges
        index = _ints(result, "__fw_bin")
    b = edges.size - 1
    cell = (group * 2 + y_true) * b + index

    def fold(values: FloatArray) -> FloatArray:
        return np.bincount(cell, weights=values, minlength=2 * g * b).astype(np.float64, copy=False).reshape(g, 2, b)

    h_n = fold(counts)
    return ScoreHistogram(
        edges=edges,
        binning=bins.binning,
        n=h_n,
        w=h_n if unweighted else fold(weights),
        ws=fold(_floats(result, "__fw_ws")),
        wss=fold(_floats(result, "__fw_wss")),
    )


# -- the entry point -------------------------------------------------------------------------------
def engine_group_stats(
    frame: nw.LazyFrame[Any],
    y_true: ArrayLike | None,
    y_pred: ArrayLike | None,
    *,
    sensitive_features: SensitiveLike,
    scores: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    metrics: Sequence[str] | None = None,
    pos_label: Any = None,
    score_bins: Any = "auto",
) -> tuple[GroupStats, list[Metric]]:
    """GroupStats of a lazy frame, aggregated in its engine, and the metrics they serve.

    Every argument but ``frame`` is a column name of ``frame`` (or None); ``metrics=None`` picks
    the defaults as :func:`fairwatch.audit` does. Raises the errors of the numpy path.
    """
    roles = _roles(frame, y_true, y_pred, scores, sample_weight, sensitive_features)
    specs = None if metrics is None else [get_metric(m) for m in metrics]
    # Where NaN cannot break the aggregate (bins clip it, sums propagate it), NaNs are found there
    # and the profile asks only for counts and min/max (DuckDB answers those from Parquet metadata).
    impl = frame.implementation
    deferred = impl.is_duckdb() or impl.is_polars() or impl.is_pyspark()
    profile = _profile(frame, roles, scan_checks=not deferred)
    if deferred and _needs_scan_checks(profile, roles):
        _add_scan_checks(frame, profile, roles)
        deferred = False
    if profile["len", ""] == 0:
        raise InvalidInputError("the input is empty (0 rows); an audit needs at least one row per group")
    tentative = False
    if specs is None:
        names, tentative = _default_metrics(profile, roles)
        specs = [get_metric(m) for m in names]
    _check_rows(frame, profile, roles)
    try:
        plan = _plan(frame, profile, roles, specs, pos_label, score_bins)
    except InvalidInputError:
        if not (tentative and _more_than_two(frame, profile, roles)):
            raise
        specs, plan = _regression(profile, roles, pos_label)
    result = _aggregate(frame, roles, plan)
    if deferred and _may_hold_nan(result, roles, plan):
        _add_scan_checks(frame, profile, roles)
        _check_rows(frame, profile, roles)
        _plan(None, profile, roles, specs, plan.pos_label, "auto", check_only=True)
    if _has_other_labels(result, roles, plan):
        if not tentative:
            _raise_label_error(frame, _label_columns(roles, specs), plan.pos_label)
        specs, plan = _regression(profile, roles, pos_label)
        result = _aggregate(frame, roles, plan)
    _check_blank_groups(frame, result, profile, roles)
    keys, arrays = _stats_from_aggregate(result, roles, plan)
    stats = GroupStats(
        sensitive_names=roles.sensitive,
        groups=tuple(keys),
        pos_label=1 if plan.pos_label is None else plan.pos_label,
        weighted=roles.weight is not None,
        **arrays,
    )
    return stats, specs


def _check_rows(frame: nw.LazyFrame[Any], profile: _Profile, roles: _Roles) -> None:
    """Missing sensitive values and bad weights, as the numpy path checks them first."""
    for column in roles.sensitive:
        if profile.missing(column):
            _raise_missing_sensitive(frame, profile, roles, column)
    if roles.weight is not None:
        _check_weights(profile, roles)


def _raise_missing_sensitive(frame: nw.LazyFrame[Any], profile: _Profile, roles: _Roles, column: str) -> None:
    """The numpy path's error for a sensitive column with missing values (null, NaN or blank text),
    counted in one query."""
    missing = missing_expr(column, roles.schema[column])
    count = int(_plain(_collect(frame.select(_count(missing).alias("__fw_missing"))).item()) or 0)
    raise missing_sensitive_error(column, count, int(profile["len", ""]))


def _check_blank_groups(frame: nw.LazyFrame[Any], result: nw.DataFrame[Any], profile: _Profile, roles: _Roles) -> None:
    """Blank text is missing too: found among the (few) group keys of the aggregate, then counted."""
    for i, column in enumerate(roles.sensitive):
        if roles.schema[column] != nw.String:
            continue
        keys = result.get_column(f"__fw_g{i}").unique().to_list()
        if any(is_blank(key) for key in keys):
            _raise_missing_sensitive(frame, profile, roles, column)


def _may_hold_nan(result: nw.DataFrame[Any], roles: _Roles, plan: _Plan) -> bool:
    """Whether the aggregate shows a NaN the profile did not count: a NaN sum (NaN propagates
    through sums of scores, weights and regression values), a NaN group key, or an unexpected
    code of a float label."""
    for name in result.columns:
        if name.startswith(("__fw_w", "__fw_r")) and bool(np.isnan(_floats(result, name)).any()):
            return True
    for i, column in enumerate(roles.sensitive):
        if roles.is_float(column) and bool(result.get_column(f"__fw_g{i}").is_nan().any()):
            return True
    return _has_other_labels(result, roles, plan)


def _regression(profile: _Profile, roles: _Roles, pos_label: Any) -> tuple[list[Metric], _Plan]:
    """The regression defaults, when tentative classification found more than two labels."""
    specs = [get_metric(m) for m in REGRESSION_DEFAULTS]
    return specs, _plan(None, profile, roles, specs, pos_label, "auto")


def _label_columns(roles: _Roles, specs: Sequence[Metric]) -> list[tuple[str, str]]:
    """The label columns binary metrics read: y_true, and y_pred for confusion metrics."""
    blocks = {m.block for m in specs}
    if roles.y_true is None:
        raise InvalidInputError(f"{_names(specs, ('confusion', 'scores'))} need y_true")
    columns = [("y_true", roles.y_true)]
    if "confusion" in blocks:
        if roles.y_pred is None:
            raise InvalidInputError(f"{_names(specs, ('confusion',))} need y_pred")
        columns.append(("y_pred", roles.y_pred))
    return columns


def _plan(
    frame: nw.LazyFrame[Any] | None,
    profile: _Profile,
    roles: _Roles,
    specs: Sequence[Metric],
    pos_label: Any,
    score_bins: Any,
    *,
    check_only: bool = False,
) -> _Plan:
    """Validate the inputs ``specs`` need (as the numpy path does, in its order) and plan the aggregate.

    ``check_only`` repeats the missing-value checks only (for NaNs counted by the aggregate).
    """
    blocks = {m.block for m in specs}
    label_values: dict[str, list[Any]] = {}
    if blocks & {"confusion", "scores"}:
        label_columns = _label_columns(roles, specs)
        for arg, column in label_columns:
            _check_missing(profile, roles, column, arg)
            label_values[arg] = _assumed_values(profile, column)
        assumed = [(arg, len(label_values[arg]), label_values[arg]) for arg, _ in label_columns]
        try:
            pos_label = check_binary_labels(assumed, pos_label)
        except LabelError:  # the numpy path reports a column with more than two labels first
            if frame is not None:
                _raise_label_error(frame, label_columns, pos_label)
            raise
    bins = None
    if "scores" in blocks:
        _check_scores(profile, roles, specs)
        if not check_only:
            assert frame is not None
            bins = _score_bins(frame, profile, roles, score_bins)
    if "regression" in blocks:
        if roles.y_true is None or roles.y_pred is None:
            raise InvalidInputError(f"{_names(specs, ('regression',))} need y_true and y_pred")
        for argument, column, hint in (
            ("y_true", roles.y_true, "drop rows without a label"),
            ("y_pred", roles.y_pred, "drop rows without a prediction"),
        ):
            _check_numeric(roles, column, argument)
            _check_missing(profile, roles, column, argument, hint)
    return _Plan(label_values=label_values, bins=bins, regression="regression" in blocks, pos_label=pos_label)


def _check_weights(profile: _Profile, roles: _Roles) -> None:
    column = roles.weight
    assert column is not None
    _check_numeric(roles, column, "sample_weight")
    _check_missing(profile, roles, column, "sample_weight", "give every row a weight")
    bad = profile.count("nonfinite", column) + profile.count("negative", column)
    if bad:
        raise InvalidInputError(
            f"sample_weight must be finite and non-negative; {bad} row(s) are not (weights range over "
            f"[{profile['min', column]!r}, {profile['max', column]!r}])"
        )


def _check_scores(profile: _Profile, roles: _Roles, specs: Sequence[Metric]) -> None:
    column = roles.scores
    if column is None:
        raise InvalidInputError(f"{_names(specs, ('scores',))} need scores= (e.g. predict_proba(X)[:, 1])")
    _check_numeric(roles, column, "scores")
    _check_missing(profile, roles, column, "scores", "every row needs a score")
    if profile.count("nonfinite", column):
        raise InvalidInputError("scores must be finite numbers; found inf")
    low, high = float(profile["min", column]), float(profile["max", column])
    needs_probability = [m.name for m in specs if m.name in _PROBABILITY_METRICS]
    if needs_probability and (low < 0.0 or high > 1.0):
        raise InvalidInputError(
            f"{', '.join(needs_probability)} need scores that are probabilities in [0, 1]; got scores in "
            f"[{low:g}, {high:g}]. Pass predict_proba(...)[:, 1], or drop those metrics"
        )
