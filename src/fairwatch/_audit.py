"""``fairwatch.audit``: per-group metrics, disparities and policy checks in one call."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw
import numpy as np

from fairwatch._checks import CheckResult, evaluate_check, parse_check
from fairwatch._typing import ArrayLike, FrameLike, GroupKey, SensitiveLike
from fairwatch._version import __version__
from fairwatch.exceptions import InvalidInputError
from fairwatch.frames._columns import make_table
from fairwatch.frames._encode import python_scalar
from fairwatch.metrics import DEFAULT_MIN_GROUP_SIZE, GroupStats, Summary, summarize
from fairwatch.metrics._calls import stats_for_call

__all__ = ["Audit", "audit"]

_RESERVED = ("metric", "value", "lo", "hi", "n", "suppressed")


class Audit:
    """The result of :func:`audit`: per-group metrics, disparities and checks.

    Attributes
    ----------
    stats : GroupStats
        The statistics everything is computed from (mergeable, serialisable).
    summary : fairwatch.metrics.Summary
        Per-group values, intervals, suppression and disparities as numpy arrays.
    checks : list of CheckResult
        Verdicts of every :meth:`check` call so far.
    """

    def __init__(
        self, stats: GroupStats, summary: Summary, *, backend: nw.Implementation, options: Mapping[str, Any]
    ) -> None:
        self.stats = stats
        self.summary = summary
        self.checks: list[CheckResult] = []
        self._backend = backend
        self._options = dict(options)

    # -- views ---------------------------------------------------------------------------------
    @property
    def metrics(self) -> tuple[str, ...]:
        """Canonical names of the audited metrics."""
        return tuple(m.name for m in self.summary.metrics)

    @property
    def sensitive_features(self) -> tuple[str, ...]:
        return self.stats.sensitive_names

    def _column_names(self) -> list[str]:
        return [f"{n}_" if n in _RESERVED else n for n in self.stats.sensitive_names]

    @property
    def by_group(self) -> Any:
        """Tidy table, one row per group and metric: sensitive columns, ``metric``, ``value``,
        ``lo``, ``hi``, ``n``, ``suppressed`` (values of suppressed groups are null).

        The table is a dataframe of the library the data came in (pandas for arrays and lists).
        """
        s = self.summary
        names = self._column_names()
        columns: dict[str, list[Any]] = {name: [] for name in names}
        columns.update({key: [] for key in _RESERVED})
        for g, key in enumerate(self.stats.groups):
            for spec in s.metrics:
                for name, value in zip(names, key):
                    columns[name].append(value)
                hidden = bool(s.suppressed[g])
                columns["metric"].append(spec.name)
                columns["value"].append(None if hidden else _float(s.values[spec.name][g]))
                columns["lo"].append(None if hidden else _float(s.lo[spec.name][g]))
                columns["hi"].append(None if hidden else _float(s.hi[spec.name][g]))
                columns["n"].append(int(self.stats.n[g]))
                columns["suppressed"].append(hidden)
        return make_table(columns, self._backend)

    def wide(self) -> Any:
        """One row per group and one column per metric (values only; suppressed groups null)."""
        s = self.summary
        columns: dict[str, list[Any]] = {name: [] for name in self._column_names()}
        columns["n"] = []
        columns["suppressed"] = []
        for spec in s.metrics:
            columns[spec.name] = []
        for g, key in enumerate(self.stats.groups):
            for name, value in zip(self._column_names(), key):
                columns[name].append(value)
            hidden = bool(s.suppressed[g])
            columns["n"].append(int(self.stats.n[g]))
            columns["suppressed"].append(hidden)
            for spec in s.metrics:
                columns[spec.name].append(None if hidden else _float(s.values[spec.name][g]))
        return make_table(columns, self._backend)

    def disparities(self) -> Any:
        """Table of disparities: one row per metric (and per named disparity such as
        ``demographic_parity``) with difference, ratio, their intervals and the extreme groups.

        Between groups the ratio is lowest over highest (``min_group`` / ``max_group``). Against a
        ``reference`` it keeps its direction: the smallest ``group / reference`` ratio, named in
        ``ratio_group`` (above 1 when every group's value exceeds the reference's).
        """
        rows: dict[str, list[Any]] = {
            key: []
            for key in (
                "disparity",
                "difference",
                "difference_lo",
                "difference_hi",
                "ratio",
                "ratio_lo",
                "ratio_hi",
                "ratio_group",
                "max_group",
                "max_value",
                "min_group",
                "min_value",
                "groups_compared",
            )
        }
        for name, d in self.summary.disparities.items():
            rows["disparity"].append(name)
            for key in (
                "difference",
                "difference_lo",
                "difference_hi",
                "ratio",
                "ratio_lo",
                "ratio_hi",
                "max_value",
                "min_value",
            ):
                rows[key].append(_float(getattr(d, key)))
            rows["ratio_group"].append(self._label(d.ratio_group))
            rows["max_group"].append(self._label(d.max_group))
            rows["min_group"].append(self._label(d.min_group))
            rows["groups_compared"].append(d.groups_compared)
        return make_table(rows, self._backend)

    def _label(self, key: GroupKey | None) -> str | None:
        if key is None:
            return None
        return ", ".join(f"{n}={v}" for n, v in zip(self.stats.sensitive_names, key))

    # -- checks --------------------------------------------------------------------------------
    def check(self, *expressions: str) -> list[CheckResult]:
        """Evaluate policy checks such as ``"demographic_parity_ratio >= 0.8"``.

        Returns one :class:`CheckResult` per expression (``passed`` is the condition on the point
        value; ``conclusive`` tells whether the confidence interval agrees). Results are also kept
        in :attr:`checks` and in :meth:`to_dict`.
        """
        if not expressions:
            raise InvalidInputError("check() needs at least one expression, e.g. 'demographic_parity_ratio >= 0.8'")
        results = [evaluate_check(parse_check(expr), self.summary) for expr in expressions]
        self.checks.extend(results)
        return results

    def passed(self) -> bool:
        """True when every check evaluated so far passed."""
        return all(c.passed for c in self.checks)

    # -- other views ---------------------------------------------------------------------------
    def marginal(self, *names: str) -> Audit:
        """The same audit over fewer sensitive features (e.g. ``audit.marginal("sex")``)."""
        if not names:
            raise InvalidInputError(f"marginal() needs sensitive feature names among {list(self.sensitive_features)}")
        stats = self.stats.rollup(list(names))
        opts = {k: v for k, v in self._options.items() if k != "reference"}
        if opts.get("method") == "reference":  # the reference group may not exist in the marginal view
            opts["method"] = "between_groups"
        summary = summarize(stats, self.metrics, **opts)
        return Audit(stats, summary, backend=self._backend, options=opts)

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-serialisable Python values."""
        s = self.summary
        groups = []
        for g, key in enumerate(self.stats.groups):
            hidden = bool(s.suppressed[g])
            groups.append(
                {
                    "group": {n: python_scalar(v) for n, v in zip(self.stats.sensitive_names, key)},
                    "n": int(self.stats.n[g]),
                    "weight": float(self.stats.weight[g]),
                    "suppressed": hidden,
                    "metrics": {
                        spec.name: {
                            "value": None if hidden else _float(s.values[spec.name][g]),
                            "lo": None if hidden else _float(s.lo[spec.name][g]),
                            "hi": None if hidden else _float(s.hi[spec.name][g]),
                        }
                        for spec in s.metrics
                    },
                }
            )
        return {
            "fairwatch_version": __version__,
            "n": self.stats.n_rows,
            "sensitive_features": list(self.stats.sensitive_names),
            "metrics": list(self.metrics),
            "pos_label": python_scalar(self.stats.pos_label),
            "ci": s.ci,
            "min_group_size": s.min_group_size,
            "method": s.method,
            "reference": None if s.reference is None else dict(zip(self.stats.sensitive_names, s.reference)),
            "groups": groups,
            "overall": {name: _float(v) for name, v in s.overall.items()},
            "disparities": {name: d.to_dict(self.stats.sensitive_names) for name, d in s.disparities.items()},
            "checks": [c.to_dict() for c in self.checks],
            "suppressed_share": s.suppressed_share,
        }

    def to_html(self, path: str | os.PathLike[str] | None = None, **options: Any) -> str:
        """The self-contained HTML audit report (see :func:`fairwatch.report.audit_html` for
        ``options``: ``title``, ``checks``, ``explanations``, ``input_hash``, ``parameters``).

        Written atomically to ``path`` when given; the HTML text is returned either way. Needs
        ``pip install 'fairwatch[report]'``.
        """
        from fairwatch.report import audit_html

        return audit_html(self, path, **options)

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"Audit(rows={self.stats.n_rows}, groups={self.stats.n_groups} over {list(self.sensitive_features)}, "
            f"suppressed={int(s.suppressed.sum())}, metrics={list(self.metrics)})"
        )


def _float(x: Any) -> float | None:
    value = float(x)
    return value if np.isfinite(value) else None


def audit(
    y_true: ArrayLike | None,
    y_pred: ArrayLike | None = None,
    *,
    sensitive_features: SensitiveLike,
    scores: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    metrics: Sequence[str] | None = None,
    ci: float | None = None,
    min_group_size: int | None = DEFAULT_MIN_GROUP_SIZE,
    data: FrameLike | None = None,
    pos_label: Any = None,
    method: str = "between_groups",
    reference: Any = None,
    agg: str = "worst_case",
    score_bins: Any = "auto",
    n_boot: int = 1000,
    random_state: int | None = 0,
    engine: str | None = None,
) -> Audit:
    """Audit a model's predictions across groups.

    Parameters
    ----------
    y_true : array-like or column name
        True labels (binary, or numbers for regression).
    y_pred : array-like or column name, optional
        Predictions. May be omitted when only score metrics are wanted.
    sensitive_features : array-like, dataframe, dict, or column name(s)
        One or several sensitive columns; groups are their intersections (``marginal()`` gives
        the single-feature views). A missing value — null, NaN, or text that is empty or only
        spaces (what a CSV reader gives for an empty cell) — is not a group: it raises
        ``MissingValueError`` naming the column and the count; fill those cells with an explicit
        category such as ``"unknown"`` or drop the rows.
    scores : array-like or column name, optional
        Probability (or score) of the positive class; enables ROC-AUC, Brier score and calibration.
    sample_weight : array-like or column name, optional
        Non-negative row weights.
    metrics : list of str, optional
        Metric names or aliases (see :func:`fairwatch.metrics.list_metrics`). Defaults to the usual
        classification metrics (plus score metrics when ``scores`` are given), or regression
        metrics for non-binary numeric predictions.
    ci : float, optional
        Confidence level (e.g. 0.95) for intervals: Wilson for proportions, Newcombe for
        differences of proportions, bootstrap on the statistics otherwise.
    min_group_size : int or None, default=30 (:data:`fairwatch.DEFAULT_MIN_GROUP_SIZE`)
        Groups with fewer rows are suppressed: reported with their size, values withheld,
        excluded from disparities; the share of rows they hold is in ``to_dict()``
        (``suppressed_share``). ``0`` or ``None`` compares groups of any size (fairlearn's
        behaviour); a larger value when intervals show 30 rows are not enough.
    data : dataframe, optional
        pandas, Polars, pyarrow, ... When given, the other arguments may be column names, and
        tables come back in the same library. A lazy frame (Polars ``LazyFrame``, DuckDB
        relation, PySpark ``DataFrame``) is aggregated in its engine, so only per-group counts
        and score bins leave it; every input is then a column name, and tables come back as
        Polars (for a ``LazyFrame``) or pandas (DuckDB, PySpark).
    pos_label : object, optional
        Positive label; inferred for 0/1, -1/1 and boolean labels.
    method : {"between_groups", "to_overall", "reference"}
        How disparities compare groups. ``reference=<group>`` implies ``"reference"``.
    reference : group, optional
        Reference group (a value, a tuple, or a ``{feature: value}`` mapping).
    agg : {"worst_case", "mean"}
        How equalized odds combines its true/false positive rate parts.
    score_bins : "auto", int or array of edges
        Score histogram bins (see :func:`fairwatch.metrics.group_stats`).
    n_boot : int
        Bootstrap replicates for intervals that need them.
    random_state : int, optional
        Seed of the bootstrap (fixed by default, so reports are reproducible).
    engine : {None, "numpy", "polars", "duckdb", "spark"}
        Where rows are aggregated into statistics. ``None``: a lazy frame in its own engine,
        everything else with numpy. ``"numpy"`` collects a lazy frame's named columns first;
        ``"polars"`` or ``"duckdb"`` aggregate ``data`` in that engine; ``"spark"`` needs ``data``
        to be a PySpark DataFrame. Results agree across engines to floating-point precision.

    Returns
    -------
    Audit

    Raises
    ------
    fairwatch.exceptions.InvalidInputError
        On mismatched lengths, empty input, missing values, non-binary labels for binary metrics,
        a single group, unknown columns (``UnknownColumnError``) or metrics (``UnknownMetricError``).

    Notes
    -----
    Data that does not fit in memory stays in its engine: pass ``pl.scan_parquet(...)``,
    ``duckdb.read_parquet(...)`` or ``spark.read.parquet(...)`` as ``data`` with column names,
    and only per-group counts and score bins leave the engine. The same call runs on a Spark
    cluster when the session is built against it
    (``SparkSession.builder.master("spark://host:7077").getOrCreate()``, or ``yarn``/``k8s://``);
    from the command line, ``fairwatch audit --engine spark 'path/*.parquet' ...`` takes the
    master from ``spark-submit``, ``spark-defaults.conf`` or
    ``PYSPARK_SUBMIT_ARGS="--master spark://host:7077 pyspark-shell"``.

    Examples
    --------
    >>> import fairwatch as fw
    >>> y_true = [1, 0, 1, 0, 1, 1] * 10
    >>> y_pred = [1, 0, 0, 0, 1, 1] * 10
    >>> group = ["a", "a", "a", "b", "b", "b"] * 10   # 30 rows per group
    >>> a = fw.audit(y_true, y_pred, sensitive_features=group, metrics=["selection_rate", "tpr"])
    >>> round(a.summary.disparities["demographic_parity"].difference, 4)
    0.3333
    >>> a.check("demographic_parity_ratio >= 0.8")[0].passed
    False

    Groups under 30 rows are suppressed by default: reported with their size, values withheld,
    left out of disparities (here every group, so the disparity is undefined and a warning says so).

    >>> tiny = fw.audit(y_true[:12], y_pred[:12], sensitive_features=group[:12], metrics=["selection_rate"])
    >>> tiny.wide()[["sensitive_feature_0", "n", "suppressed"]].values.tolist()
    [['a', 6, True], ['b', 6, True]]
    >>> tiny.to_dict()["suppressed_share"]
    1.0
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    if metrics is not None and not metrics:
        raise InvalidInputError("metrics is empty; name at least one metric or pass metrics=None for the defaults")
    stats, specs, backend = stats_for_call(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        scores=scores,
        sample_weight=sample_weight,
        metrics=metrics,
        pos_label=pos_label,
        score_bins=score_bins,
        data=data,
        engine=engine,
    )
    if stats.n_groups < 2:
        raise InvalidInputError(
            f"sensitive_features {list(stats.sensitive_names)} hold a single group ({stats.group_label(0)}); "
            f"a fairness audit compares at least two groups. Check the column is the right one "
            f"(it is constant here) or add another sensitive feature"
        )
    options = {
        "ci": ci,
        "min_group_size": min_group_size,
        "method": method,
        "reference": reference,
        "agg": agg,
        "n_boot": n_boot,
        "random_state": random_state,
    }
    summary = summarize(stats, specs, **options)
    return Audit(stats, summary, backend=backend, options=options)
