"""Benchmark: fairwatch's group metrics against fairlearn's MetricFrame and a bare numpy floor.

What is measured, per data size (100k, 1M and 10M rows by default), in one process:

* **fairwatch**: ``fairwatch.audit(y_true, y_pred, sensitive_features=df[["sex", "race"]],
  metrics=METRICS)`` (eight metrics, no interval), and ``fairwatch.metrics.group_stats(...)``
  alone (encoding and counting, without the summary);
* **fairlearn**: ``MetricFrame(metrics={...8 equivalent functions...}, ...)`` followed by
  ``.by_group`` and ``.difference()`` (only up to ``--fairlearn-max-rows``, it is slow);
* **numpy floor**: the same numbers by hand: factorise both string columns (pandas.factorize and
  pyarrow's dictionary_encode are both timed; the faster is the floor), combine the group codes,
  one ``np.bincount`` of ``group * 4 + y_true * 2 + y_pred``, the eight metrics and their
  max - min differences from the resulting ``(G, 2, 2)`` array.

Every timing is the best of N wall-clock runs (N = 3 up to 1M rows, 2 above; see ``--repeats``);
fairwatch and the floors run in turn in each round, so the ratios between them are measured under
the same machine load. The data is a pandas DataFrame with 0/1 integer labels, a probability score
and two string columns, ``sex`` (2 values) and ``race`` (5 values), i.e. 10 intersectional groups
of unequal sizes.

Also measured: a 1,000-replicate bootstrap (``audit(..., ci=0.95, n_boot=1000)``) over 1M rows,
next to the same audit without interval and to ``fairwatch.metrics.summarize`` on the statistics
with and without the bootstrap (the bootstrap alone); and, for comparison, fairlearn's own
bootstrap (``MetricFrame(..., n_boot=100, ci_quantiles=...)``, which recomputes every metric on
resampled rows) once at 100k rows next to fairwatch with the same number of replicates. fairwatch
resamples the per-group statistics (a multinomial draw per group) instead of rows, so the two
bootstraps are not the same procedure; the timings show the cost of each route to an interval.

Before anything is reported, fairwatch's per-group values and differences are checked against
fairlearn's and against the numpy floor (to 1e-9).

Run it from the repository root::

    python benchmarks/metrics_vs_fairlearn.py                             # 100k, 1M, 10M rows
    python benchmarks/metrics_vs_fairlearn.py --sizes 100000,1000000      # a quicker run
    python benchmarks/metrics_vs_fairlearn.py --skip-fairlearn-bootstrap  # saves about 5 minutes

Results are printed as a table and written to ``benchmarks/results/metrics_vs_fairlearn.json``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import _machine
import fairwatch
from fairwatch.metrics import group_stats, summarize

T = TypeVar("T")
#: A string column to (integer codes, distinct values).
Factorizer = Callable[[pd.Series], tuple[np.ndarray, list[Any]]]
#: What the numpy floor returns: group keys, per-group metric values, max - min differences.
FloorResult = tuple[list[tuple[Any, ...]], dict[str, np.ndarray], dict[str, float]]

METRICS: tuple[str, ...] = (
    "selection_rate",
    "accuracy",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "precision",
    "balanced_accuracy",
    "count",
)
SENSITIVE = ["sex", "race"]
SEX_VALUES = ("Female", "Male")
RACE_VALUES = ("Asian", "Black", "Hispanic", "Other", "White")
RACE_SHARES = (0.06, 0.13, 0.18, 0.03, 0.60)
DEFAULT_SIZES = (100_000, 1_000_000, 10_000_000)
FAIRLEARN_MAX_ROWS = 1_000_000
BOOTSTRAP_ROWS = 1_000_000
BOOTSTRAP_REPLICATES = 1_000
FAIRLEARN_BOOT_ROWS = 100_000
FAIRLEARN_BOOT_REPLICATES = 100
TOLERANCE = 1e-9
TARGET_SPEEDUP = 100.0
TARGET_FLOOR_RATIO = 2.0
TARGET_BOOTSTRAP_SECONDS = 1.0
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "metrics_vs_fairlearn.json"


# -- data -------------------------------------------------------------------------------------------
def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic predictions whose base rates and errors differ by sex and race."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, len(SEX_VALUES), n)
    race = rng.choice(len(RACE_VALUES), size=n, p=RACE_SHARES)
    shift = np.array([-0.3, 0.2])[sex] + np.array([0.1, -0.4, -0.2, 0.0, 0.3])[race]
    latent = rng.standard_normal(n) + shift
    y_true = (rng.random(n) < 1.0 / (1.0 + np.exp(-latent))).astype(np.int64)
    score = 1.0 / (1.0 + np.exp(-(latent + 0.8 * rng.standard_normal(n))))
    return pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": (score >= 0.5).astype(np.int64),
            "score": score,
            # object arrays: pandas picks its default string dtype, as for data read from a file
            "sex": np.asarray(SEX_VALUES, dtype=object)[sex],
            "race": np.asarray(RACE_VALUES, dtype=object)[race],
        }
    )


# -- timing -----------------------------------------------------------------------------------------
def best_of(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Smallest wall time of ``repeats`` calls (garbage collected before each) and the last result."""
    best = float("inf")
    result: Any = None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def best_of_each(fns: dict[str, Callable[[], Any]], repeats: int) -> tuple[dict[str, float], dict[str, Any]]:
    """:func:`best_of` for several functions run in turn each round, so that all of them see the same
    machine load (the ratios between them are what the benchmark reports)."""
    best = dict.fromkeys(fns, float("inf"))
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            seconds, results[name] = best_of(fn, 1)
            best[name] = min(best[name], seconds)
    return best, results


def repeats_for(n: int, small: int = 3) -> int:
    """Best-of-N count: ``small`` up to 1M rows, one fewer (at least 1) above."""
    return small if n <= 1_000_000 else max(1, small - 1)


# -- the three contenders ---------------------------------------------------------------------------
def run_fairwatch(df: pd.DataFrame, **options: Any) -> fairwatch.Audit:
    # min_group_size=0: the numbers are checked against fairlearn's, which compares groups of any size
    return fairwatch.audit(
        df["y_true"], df["y_pred"], sensitive_features=df[SENSITIVE], metrics=list(METRICS), min_group_size=0, **options
    )


def run_group_stats(df: pd.DataFrame) -> fairwatch.metrics.GroupStats:
    return group_stats(df["y_true"], df["y_pred"], sensitive_features=df[SENSITIVE], metrics=list(METRICS))


def fairlearn_metrics() -> dict[str, Callable[..., Any]]:
    """fairlearn/scikit-learn functions equivalent to :data:`METRICS`."""
    from fairlearn import metrics as flm
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, precision_score

    return {
        "selection_rate": flm.selection_rate,
        "accuracy": accuracy_score,
        "true_positive_rate": flm.true_positive_rate,
        "false_positive_rate": flm.false_positive_rate,
        "false_negative_rate": flm.false_negative_rate,
        "precision": functools.partial(precision_score, zero_division=0),
        "balanced_accuracy": balanced_accuracy_score,
        "count": flm.count,
    }


def run_fairlearn(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    from fairlearn.metrics import MetricFrame

    frame = MetricFrame(
        metrics=fairlearn_metrics(),
        y_true=df["y_true"],
        y_pred=df["y_pred"],
        sensitive_features=df[SENSITIVE],
    )
    return frame.by_group, frame.difference()


def factorize_pandas(column: pd.Series) -> tuple[np.ndarray, list[Any]]:
    codes, uniques = pd.factorize(column)
    return codes, list(uniques)


def factorize_arrow(column: pd.Series) -> tuple[np.ndarray, list[Any]]:
    encoded = pc.dictionary_encode(pa.array(column.array))
    return encoded.indices.to_numpy(), encoded.dictionary.to_pylist()


def floor_metrics(cells: np.ndarray) -> dict[str, np.ndarray]:
    """The eight metrics from confusion counts of shape ``(G, 2, 2)`` = ``[group, y_true, y_pred]``."""
    tn, fp, fn, tp = (cells[:, i, j] for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))
    total = tn + fp + fn + tp
    tpr = tp / (tp + fn)
    tnr = tn / (tn + fp)
    return {
        "selection_rate": (tp + fp) / total,
        "accuracy": (tp + tn) / total,
        "true_positive_rate": tpr,
        "false_positive_rate": fp / (fp + tn),
        "false_negative_rate": fn / (fn + tp),
        "precision": tp / (tp + fp),
        "balanced_accuracy": (tpr + tnr) / 2.0,
        "count": total,
    }


def numpy_floor(df: pd.DataFrame, factorize: Factorizer) -> FloorResult:
    """Group keys, per-group metrics and max - min differences with as little work as possible."""
    sex_codes, sex_values = factorize(df["sex"])
    race_codes, race_values = factorize(df["race"])
    n_race = len(race_values)
    group = sex_codes.astype(np.int64) * n_race + race_codes
    key = group * 4 + df["y_true"].to_numpy() * 2 + df["y_pred"].to_numpy()
    n_groups = len(sex_values) * n_race
    cells = np.bincount(key, minlength=4 * n_groups).reshape(n_groups, 2, 2).astype(np.float64)
    observed = cells.sum(axis=(1, 2)) > 0
    values = {name: v[observed] for name, v in floor_metrics(cells).items()}
    differences = {name: float(v.max() - v.min()) for name, v in values.items()}
    keys = [(sex_values[g // n_race], race_values[g % n_race]) for g in np.flatnonzero(observed).tolist()]
    return keys, values, differences


FLOORS: dict[str, Factorizer] = {
    "pandas.factorize": factorize_pandas,
    "pyarrow.dictionary_encode": factorize_arrow,
}


# -- agreement --------------------------------------------------------------------------------------
def _gap(a: Any, b: Any) -> float:
    """``|a - b|``; 0 when both are nan, infinite when only one is (so a nan never hides a mismatch)."""
    a, b = float(a), float(b)
    if np.isnan(a) or np.isnan(b):
        return 0.0 if np.isnan(a) and np.isnan(b) else float("inf")
    return abs(a - b)


def fairlearn_gap(audit: fairwatch.Audit, by_group: pd.DataFrame, difference: pd.Series) -> float:
    """Largest absolute gap between fairwatch's and fairlearn's per-group values and differences."""
    assert len(by_group) == audit.stats.n_groups, "fairlearn and fairwatch found different groups"
    values = audit.summary.values
    gaps = [_gap(values[m][g], by_group.loc[key, m]) for g, key in enumerate(audit.stats.groups) for m in METRICS]
    gaps.extend(_gap(audit.summary.disparities[m].difference, difference[m]) for m in METRICS if m != "count")
    return max(gaps)


def floor_gap(audit: fairwatch.Audit, floor: FloorResult) -> float:
    """Largest absolute gap between fairwatch's per-group values and differences and the numpy floor's."""
    keys, values, differences = floor
    assert sorted(keys) == list(audit.stats.groups), "the numpy floor and fairwatch found different groups"
    position = [audit.stats.index_of(key) for key in keys]
    gaps = [_gap(audit.summary.values[m][g], values[m][i]) for i, g in enumerate(position) for m in METRICS]
    gaps.extend(_gap(audit.summary.disparities[m].difference, differences[m]) for m in METRICS if m != "count")
    return max(gaps)


def check(label: str, gap: float) -> None:
    print(f"  check {label}: max |difference| = {gap:.2e} (tolerance {TOLERANCE:g})")
    assert gap <= TOLERANCE, f"{label}: values differ by {gap:g} > {TOLERANCE:g}"


# -- per-size run -----------------------------------------------------------------------------------
@dataclass
class SizeResult:
    rows: int
    repeats: int
    groups: int
    fairwatch_audit_s: float
    fairwatch_group_stats_s: float
    floor_s: float
    floor_method: str
    floor_variants_s: dict[str, float]
    fairlearn_s: float | None = None
    speedup_vs_fairlearn: float | None = None
    fairwatch_over_floor: float = field(init=False)
    max_gap_vs_fairlearn: float | None = None
    max_gap_vs_floor: float = 0.0

    def __post_init__(self) -> None:
        self.fairwatch_over_floor = self.fairwatch_audit_s / self.floor_s
        if self.fairlearn_s is not None:
            self.speedup_vs_fairlearn = self.fairlearn_s / self.fairwatch_audit_s


def _line(label: str, seconds: float) -> None:
    print(f"  {label:<40} {seconds:9.4f} s")


def bench_size(df: pd.DataFrame, fairlearn_max_rows: int, repeats: int) -> SizeResult:
    n = len(df)
    print(f"\n{n:,} rows (best of {repeats})")
    fns: dict[str, Callable[[], Any]] = {
        "fairwatch.audit": lambda: run_fairwatch(df),
        "fairwatch.metrics.group_stats": lambda: run_group_stats(df),
    }
    fns.update({f"numpy floor ({label})": functools.partial(numpy_floor, df, f) for label, f in FLOORS.items()})
    times, outputs = best_of_each(fns, repeats)
    for label, seconds in times.items():
        _line(label, seconds)
    audit = outputs["fairwatch.audit"]
    floor_times = {label: times[f"numpy floor ({label})"] for label in FLOORS}
    floor_gaps = [floor_gap(audit, outputs[f"numpy floor ({label})"]) for label in FLOORS]
    check("fairwatch vs numpy floor", max(floor_gaps))
    floor_method = min(floor_times, key=floor_times.__getitem__)
    fw_time, gs_time = times["fairwatch.audit"], times["fairwatch.metrics.group_stats"]
    fl_time = gap = None
    if n <= fairlearn_max_rows:
        fl_time, (by_group, difference) = best_of(lambda: run_fairlearn(df), repeats)
        _line("fairlearn MetricFrame", fl_time)
        gap = fairlearn_gap(audit, by_group, difference)
        check("fairwatch vs fairlearn", gap)
    return SizeResult(
        rows=n,
        repeats=repeats,
        groups=audit.stats.n_groups,
        fairwatch_audit_s=fw_time,
        fairwatch_group_stats_s=gs_time,
        floor_s=floor_times[floor_method],
        floor_method=floor_method,
        floor_variants_s=floor_times,
        fairlearn_s=fl_time,
        max_gap_vs_fairlearn=gap,
        max_gap_vs_floor=max(floor_gaps),
    )


# -- bootstrap --------------------------------------------------------------------------------------
def bench_bootstrap(rows: int, repeats: int = 5) -> dict[str, Any]:
    """fairwatch's 1,000-replicate bootstrap over ``rows`` rows, next to the plain audit; and the
    summary step alone (from the statistics) with and without the bootstrap."""
    df = make_data(rows, seed=1)
    stats = run_group_stats(df)
    fns: dict[str, Callable[[], Any]] = {
        "fairwatch.audit (no ci)": lambda: run_fairwatch(df),
        f"fairwatch.audit(ci=0.95, n_boot={BOOTSTRAP_REPLICATES})": lambda: run_fairwatch(
            df, ci=0.95, n_boot=BOOTSTRAP_REPLICATES
        ),
        "summarize(stats) (no ci)": lambda: summarize(stats, METRICS),
        f"summarize(stats, ci=0.95, n_boot={BOOTSTRAP_REPLICATES})": lambda: summarize(
            stats, METRICS, ci=0.95, n_boot=BOOTSTRAP_REPLICATES, random_state=0
        ),
    }
    print(f"\nbootstrap over {rows:,} rows (best of {repeats})")
    times, outputs = best_of_each(fns, repeats)
    for label, seconds in times.items():
        _line(label, seconds)
    plain, with_ci, summary_plain, summary_ci = times.values()
    dp = list(outputs.values())[1].summary.disparities["demographic_parity"]
    print(
        f"  demographic parity difference {dp.difference:.4f}, 95% interval "
        f"[{dp.difference_lo:.4f}, {dp.difference_hi:.4f}]"
    )
    return {
        "rows": rows,
        "replicates": BOOTSTRAP_REPLICATES,
        "fairwatch_audit_ci_s": with_ci,
        "fairwatch_audit_plain_s": plain,
        "fairwatch_bootstrap_extra_s": with_ci - plain,
        "summarize_plain_s": summary_plain,
        "summarize_ci_s": summary_ci,
        "summarize_bootstrap_extra_s": summary_ci - summary_plain,
    }


def fairlearn_supports_bootstrap() -> bool:
    import inspect

    from fairlearn.metrics import MetricFrame

    parameters = inspect.signature(MetricFrame.__init__).parameters
    return "n_boot" in parameters and "ci_quantiles" in parameters


def bench_fairlearn_bootstrap(rows: int, replicates: int) -> dict[str, Any]:
    """fairlearn's row bootstrap (run once, it is slow) against fairwatch with as many replicates."""
    df = make_data(rows, seed=2)
    print(f"\nfairlearn bootstrap, {replicates} replicates over {rows:,} rows (one run; this takes minutes) ...")
    options = {"n_boot": replicates, "ci_quantiles": [0.025, 0.975], "random_state": 0}

    def fairlearn_ci() -> tuple[Any, Any]:
        from fairlearn.metrics import MetricFrame

        frame = MetricFrame(
            metrics=fairlearn_metrics(),
            y_true=df["y_true"],
            y_pred=df["y_pred"],
            sensitive_features=df[SENSITIVE],
            **options,
        )
        return frame.by_group_ci, frame.difference_ci()

    fl_time, _ = best_of(fairlearn_ci, 1)
    fw_time, _ = best_of(lambda: run_fairwatch(df, ci=0.95, n_boot=replicates), 3)
    _line(f"fairlearn MetricFrame(n_boot={replicates})", fl_time)
    _line(f"fairwatch.audit(ci=0.95, n_boot={replicates})", fw_time)
    return {
        "rows": rows,
        "replicates": replicates,
        "fairlearn_s": fl_time,
        "fairwatch_s": fw_time,
        "speedup": fl_time / fw_time,
    }


# -- report -----------------------------------------------------------------------------------------
def _cell(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def print_table(results: Sequence[SizeResult]) -> None:
    header = (
        f"{'rows':>12} {'fairwatch s':>12} {'group_stats s':>14} {'fairlearn s':>12} {'floor s':>10} "
        f"{'fairlearn/fw':>13} {'fw/floor':>9}"
    )
    print("\n" + header)
    print("-" * len(header))
    for r in results:
        speedup = "—" if r.speedup_vs_fairlearn is None else f"{r.speedup_vs_fairlearn:,.0f}×"
        print(
            f"{r.rows:>12,} {r.fairwatch_audit_s:>12.4f} {r.fairwatch_group_stats_s:>14.4f} "
            f"{_cell(r.fairlearn_s, '.3f'):>12} {r.floor_s:>10.4f} {speedup:>13} "
            f"{r.fairwatch_over_floor:>8.2f}×"
        )


def evaluate_targets(results: Sequence[SizeResult], bootstrap: dict[str, Any] | None) -> dict[str, Any]:
    """Each target of the issue: the measured value and whether it is met."""
    targets: dict[str, Any] = {}
    at_1m = [r for r in results if r.rows == 1_000_000 and r.speedup_vs_fairlearn is not None]
    if at_1m:
        speedup = at_1m[0].speedup_vs_fairlearn
        targets["speedup_vs_fairlearn_at_1M"] = {"goal": f">= {TARGET_SPEEDUP:g}", "value": speedup}
        targets["speedup_vs_fairlearn_at_1M"]["met"] = bool(speedup is not None and speedup >= TARGET_SPEEDUP)
    ratios = {str(r.rows): r.fairwatch_over_floor for r in results}
    targets["fairwatch_over_floor"] = {
        "goal": f"<= {TARGET_FLOOR_RATIO:g} at every size",
        "value": ratios,
        "met": all(v <= TARGET_FLOOR_RATIO for v in ratios.values()),
    }
    if bootstrap is not None:
        seconds = bootstrap["fairwatch_audit_ci_s"]
        targets["bootstrap_1000_over_1M_s"] = {
            "goal": f"< {TARGET_BOOTSTRAP_SECONDS:g} s (whole audit with ci)",
            "value": seconds,
            "met": bool(seconds < TARGET_BOOTSTRAP_SECONDS),
        }
    print("\ntargets:")
    for name, t in targets.items():
        print(f"  {name}: goal {t['goal']}, measured {_describe(t['value'])} -> {'MET' if t['met'] else 'MISSED'}")
    return targets


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v:.2f}" for k, v in value.items())
    return f"{value:,.3f}"


def machine_info() -> dict[str, Any]:
    return _machine.machine_info("numpy", "pandas", "pyarrow", "scikit-learn", "fairlearn")


# -- main -------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(x) for x in text.replace("_", "").split(",") if x],
        default=list(DEFAULT_SIZES),
        help="comma-separated row counts (default: 100000,1000000,10000000)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="best of N up to 1M rows (N - 1 above; default 3)")
    parser.add_argument("--fairlearn-max-rows", type=int, default=FAIRLEARN_MAX_ROWS)
    parser.add_argument(
        "--fairlearn-boot-replicates",
        type=int,
        default=FAIRLEARN_BOOT_REPLICATES,
        help="replicates of fairlearn's bootstrap at 100k rows (default 100; about 3 s each)",
    )
    parser.add_argument("--skip-bootstrap", action="store_true", help="skip the 1,000-replicate bootstrap")
    parser.add_argument("--skip-fairlearn-bootstrap", action="store_true", help="skip fairlearn's (slow) bootstrap")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results")
    return parser.parse_args(argv)


def warm_up() -> None:
    """Import and run everything once on a small frame, so first-call costs are not timed."""
    df = make_data(2_000, seed=3)
    run_fairwatch(df)
    run_fairwatch(df, ci=0.95, n_boot=10)
    run_group_stats(df)
    run_fairlearn(df)
    for factorize in FLOORS.values():
        numpy_floor(df, factorize)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    warm_up()
    results: list[SizeResult] = []
    for n in args.sizes:
        df = make_data(n)
        results.append(bench_size(df, args.fairlearn_max_rows, repeats_for(n, args.repeats)))
        del df
    bootstrap = None if args.skip_bootstrap else bench_bootstrap(BOOTSTRAP_ROWS)
    fairlearn_boot: dict[str, Any] | None = None
    if not args.skip_fairlearn_bootstrap:
        if fairlearn_supports_bootstrap():
            fairlearn_boot = bench_fairlearn_bootstrap(FAIRLEARN_BOOT_ROWS, args.fairlearn_boot_replicates)
        else:
            print("fairlearn bootstrap: this fairlearn's MetricFrame has no n_boot/ci_quantiles; skipped")
    print_table(results)
    if bootstrap is not None:
        print(
            f"\nbootstrap ({bootstrap['replicates']:,} replicates, {bootstrap['rows']:,} rows): "
            f"{bootstrap['fairwatch_audit_ci_s']:.4f} s for the whole audit with ci "
            f"(audit without ci {bootstrap['fairwatch_audit_plain_s']:.4f} s); the bootstrap alone, from the "
            f"statistics: {bootstrap['summarize_bootstrap_extra_s']:.4f} s"
        )
    if fairlearn_boot is not None:
        print(
            f"fairlearn bootstrap ({fairlearn_boot['replicates']} replicates, {fairlearn_boot['rows']:,} rows): "
            f"{fairlearn_boot['fairlearn_s']:.2f} s vs fairwatch {fairlearn_boot['fairwatch_s']:.4f} s "
            f"({fairlearn_boot['speedup']:,.0f}× faster)"
        )
    targets = evaluate_targets(results, bootstrap)
    info["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    report = {
        "benchmark": "metrics_vs_fairlearn",
        "machine": info,
        "config": {
            "metrics": list(METRICS),
            "sensitive_features": {"sex": list(SEX_VALUES), "race": list(RACE_VALUES)},
            "race_shares": list(RACE_SHARES),
            "column_dtypes": {name: str(dtype) for name, dtype in make_data(10).dtypes.items()},
            "fairlearn_max_rows": args.fairlearn_max_rows,
            "timing": "best of N wall-clock runs (time.perf_counter), gc.collect() before each",
            "tolerance": TOLERANCE,
        },
        "sizes": [asdict(r) for r in results],
        "bootstrap": bootstrap,
        "fairlearn_bootstrap": fairlearn_boot,
        "targets": targets,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
