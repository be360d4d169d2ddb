"""Benchmark: label-free fairness estimates against the realised values, by replay with labels withheld.

Two replays, each stored in the embedded DuckDB store exactly as production traffic would be:

* **Adult**: the demo's logistic-regression model (``fairwatch demo``'s ``train_baseline``) scores the
  held-out test split, replayed as a stream in random order. The first ``--adult-reference`` share
  of it is the labelled reference period; the rest is cut into ``--adult-windows`` windows whose
  labels are withheld. Groups: sex (race is also run, to show which groups are refused).
* **Synthetic**: two groups, a feature ``x ~ N(mu_g, 1)``, true ``P(y=1 | x) = sigmoid(1.5 x - 0.5)``
  in both groups, and a model whose score ``sigmoid(x)`` is *miscalibrated* (calibration has work to
  do). Windows of ``--synthetic-per-window`` predictions; the first ``--synthetic-reference``
  windows are labelled. Two shifts are planted in group B from window ``--shift-window`` on:

  - **covariate shift** (visible): B's feature mean moves from -0.4 to +0.6. P(y | x) is unchanged, so
    the calibrated score stays calibrated, B's TPR and FPR change, and the estimate sees it;
  - **concept shift** (invisible to scores): a second run where B's feature distribution is unchanged
    but P(y | x) drops (``sigmoid(1.5 x - 1.5)``). Scores cannot reveal this; we report that the
    estimate is *not* flagged, and that the calibration check on the first 10% of arriving labels is.

For every window with withheld labels the script compares the estimated TPR gap, FPR gap and
equalized-odds gap (largest of the two) with the realised ones (computed from the withheld labels),
and reports the mean absolute error, the coverage of the 95% intervals, and the *noise floor*: the
mean absolute deviation the realised gap would show around a perfect estimate (0.8 x the interval's
standard deviation), since a window's realised rates are themselves random. A naive baseline uses
the raw scores as probabilities (what confidence-based performance estimation does when it trusts the
model's calibration) — the peer measured in the same run.

**Flagged** means: the 95% *population* interval of the estimated equalized-odds gap (``target=
"population"``: it adds the window's own sampling variability, as a test of "has the gap moved"
must) excludes the reference period's gap as the estimator sees it (the same estimate computed on
the reference period with its labels ignored; the reference's realised gap carries its own sampling
noise, which a window's estimate cannot share). The false-alarm rate is the share of unshifted,
unlabelled windows flagged.

Run from the repository root::

    python benchmarks/estimation.py

Results are printed and written to ``benchmarks/results/estimation.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from fairwatch.monitor import OutcomeEvent, PredictionEvent, Store, estimate_windows, open_store

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "estimation.json"
GAPS = ("true_positive_rate", "false_positive_rate")


# -- replaying into the store ---------------------------------------------------------------------------
def store_stream(
    store: Store,
    model: str,
    ts: np.ndarray,
    score: np.ndarray,
    pred: np.ndarray,
    group: dict[str, np.ndarray],
    y: np.ndarray,
    labelled: np.ndarray,
) -> None:
    events = [
        PredictionEvent(
            prediction_id=f"{model}-{i}",
            model=model,
            timestamp=ts[i],
            prediction=int(pred[i]),
            score=float(score[i]),
            sensitive={name: str(values[i]) for name, values in group.items()},
        )
        for i in range(len(ts))
    ]
    for i in range(0, len(events), 10_000):
        store.insert_predictions(events[i : i + 10_000])
    outcomes = [
        OutcomeEvent(prediction_id=f"{model}-{i}", label=int(y[i]), timestamp=ts[i] + 3 * HOUR)
        for i in np.flatnonzero(labelled)
    ]
    for i in range(0, len(outcomes), 10_000):
        store.insert_outcomes(outcomes[i : i + 10_000])


def rates(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "true_positive_rate": float((pred & (y == 1)).sum() / (y == 1).sum()),
            "false_positive_rate": float((pred & (y == 0)).sum() / (y == 0).sum()),
        }


def naive_rates(p: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Raw scores taken as probabilities: expected TP = sum of scores over predicted positives."""
    tp, fn = p[pred].sum(), p[~pred].sum()
    fp, tn = (1 - p[pred]).sum(), (1 - p[~pred]).sum()
    return {"true_positive_rate": float(tp / (tp + fn)), "false_positive_rate": float(fp / (fp + tn))}


def gap(by_group: dict[str, dict[str, float]], metric: str) -> float:
    values = [v[metric] for v in by_group.values()]
    return float(max(values) - min(values))


def compare(
    store: Store,
    model: str,
    attribute: str,
    window: str,
    reference: tuple[dt.datetime, dt.datetime],
    start: dt.datetime,
    end: dt.datetime,
    truth: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Estimate every window and line it up with the realised values of the withheld labels."""
    started = time.perf_counter()
    options: dict[str, Any] = {
        "sensitive": [attribute],
        "reference_start": reference[0],
        "reference_end": reference[1],
        "start": start,
        "end": end,
        "window": window,
    }
    calibration, windows = estimate_windows(store, model, **options)
    seconds = time.perf_counter() - started
    _, population = estimate_windows(store, model, calibration=calibration, target="population", **options)
    rows = []
    for result, real, wide in zip(windows, truth, population):
        data = result.to_dict()
        wide_eo = wide.to_dict()["disparities"].get("equalized_odds", {}).get("difference")
        groups = {g["group"][attribute]: g for g in data["groups"]}
        usable = {k: g for k, g in groups.items() if g["estimate_refused"] is None}
        row: dict[str, Any] = {
            "start": data["start"],
            "n": data["n"],
            "label_coverage": data["label_coverage"],
            "shifted": real.get("shifted", False),
            "refused_groups": sorted(k for k, g in groups.items() if g["estimate_refused"]),
        }
        coverage = []
        for name, g in usable.items():
            for metric in GAPS:
                m = g["metrics"][metric]
                if name in real["groups"] and m["lo"] is not None:
                    coverage.append(m["lo"] <= real["groups"][name][metric] <= m["hi"])
        row["group_interval_hits"] = coverage
        kept_truth = {k: v for k, v in real["groups"].items() if k in usable}
        kept_naive = {k: v for k, v in real["naive"].items() if k in usable}
        for name, parts in (
            ("tpr_gap", ("true_positive_rate",)),
            ("fpr_gap", ("false_positive_rate",)),
            ("eo_gap", GAPS),
        ):
            key = "equalized_odds" if name == "eo_gap" else parts[0]
            d = data["disparities"].get(key, {}).get("difference")
            if d is None or d["value"] is None:
                continue
            realised = max(gap(kept_truth, p) for p in parts)
            naive = max(gap(kept_naive, p) for p in parts)
            sd = (d["hi"] - d["lo"]) / 3.92
            if name == "eo_gap" and wide_eo is not None:
                row["eo_gap_population_interval"] = [wide_eo["lo"], wide_eo["hi"]]
            row[name] = {
                "estimated": d["value"],
                "lo": d["lo"],
                "hi": d["hi"],
                "realised": realised,
                "naive": naive,
                "error": abs(d["value"] - realised),
                "naive_error": abs(naive - realised),
                "covered": d["lo"] <= realised <= d["hi"],
                "noise_floor": 0.8 * sd,
            }
        rows.append(row)
    meta = {
        "seconds": seconds,
        "calibration": calibration.to_dict()["groups"],
    }
    return rows, meta


def expected_reference_gap(
    store: Store, model: str, attribute: str, reference: tuple[dt.datetime, dt.datetime], groups: set[str]
) -> float:
    """The reference period's equalized-odds gap as the estimator sees it (its labels ignored).

    A window is compared with this, not with the reference's realised gap: the realised gap carries
    the reference's own sampling noise, which no label-free estimate of a later window can share.
    """
    span = int((reference[1] - reference[0]).total_seconds())
    _, (window, *_) = estimate_windows(
        store,
        model,
        sensitive=[attribute],
        reference_start=reference[0],
        reference_end=reference[1],
        start=reference[0],
        end=reference[1],
        window=f"{span}s",
        use_labels=False,
    )
    by_group = {
        g["group"][attribute]: g["metrics"] for g in window.to_dict()["groups"] if g["group"][attribute] in groups
    }
    return max(gap({k: {m: v[m]["value"] for m in GAPS} for k, v in by_group.items()}, m) for m in GAPS)


def summarize(rows: list[dict[str, Any]], reference_gap: float) -> dict[str, Any]:
    clean = [r for r in rows if not r["shifted"] and "eo_gap" in r]
    shifted = [r for r in rows if r["shifted"] and "eo_gap" in r]

    def mean(values: list[float]) -> float | None:
        return float(np.mean(values)) if values else None

    def flagged(r: dict[str, Any]) -> bool:
        lo, hi = r["eo_gap_population_interval"]
        return bool(lo > reference_gap or hi < reference_gap)

    hits = [h for r in clean for h in r["group_interval_hits"]]
    out = {
        "windows_compared": len(clean),
        "reference_eo_gap": reference_gap,
        "group_rate_interval_coverage": mean([float(h) for h in hits]),
        "false_alarm_rate": mean([float(flagged(r)) for r in clean]),
    }
    for name in ("tpr_gap", "fpr_gap", "eo_gap"):
        values = [r[name] for r in clean if name in r]
        out[name] = {
            "mae": mean([v["error"] for v in values]),
            "naive_mae": mean([v["naive_error"] for v in values]),
            "noise_floor": mean([v["noise_floor"] for v in values]),
            "interval_coverage": mean([float(v["covered"]) for v in values]),
        }
    if shifted:
        out["shifted_windows"] = len(shifted)
        out["shifted_flagged"] = int(sum(flagged(r) for r in shifted))
        out["shifted_eo_gap_mae"] = mean([r["eo_gap"]["error"] for r in shifted])
    return out


# -- Adult ------------------------------------------------------------------------------------------------
def adult(args: argparse.Namespace) -> dict[str, Any]:
    from fairwatch.cli._demo import train_baseline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trained = train_baseline(seed=args.seed)
    test = trained["test"]
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(test))
    frame = test.iloc[order].reset_index(drop=True)
    n = len(frame)
    ts = np.array([T0 + dt.timedelta(minutes=int(i)) for i in range(n)])
    n_ref = int(n * args.adult_reference)
    per = (n - n_ref) // args.adult_windows
    width = dt.timedelta(minutes=per)
    y = frame["y_true"].to_numpy().astype(int)
    score = frame["score"].to_numpy()
    pred = frame["y_pred"].to_numpy().astype(bool)
    groups = {"sex": frame["sex"].to_numpy().astype(str), "race": frame["race"].to_numpy().astype(str)}
    store = open_store("duckdb://:memory:")
    store_stream(store, "adult", ts, score, pred, groups, y, np.arange(n) < n_ref)
    result: dict[str, Any] = {"rows": n, "reference_rows": n_ref, "window_rows": per}
    for attribute in ("sex", "race"):
        truth = []
        for w in range(args.adult_windows):
            rows = slice(n_ref + w * per, n_ref + (w + 1) * per)
            g = groups[attribute][rows]
            truth.append(
                {
                    "groups": {k: rates(y[rows][g == k], pred[rows][g == k]) for k in np.unique(g)},
                    "naive": {k: naive_rates(score[rows][g == k], pred[rows][g == k]) for k in np.unique(g)},
                }
            )
        ref_g = groups[attribute][:n_ref]
        ref = {k: rates(y[:n_ref][ref_g == k], pred[:n_ref][ref_g == k]) for k in np.unique(ref_g)}
        start = T0 + dt.timedelta(minutes=n_ref)
        rows, meta = compare(
            store, "adult", attribute, f"{per}m", (T0, start), start, start + args.adult_windows * width, truth
        )
        usable = set(ref) - {k for r in rows for k in r["refused_groups"]}
        reference_gap = expected_reference_gap(store, "adult", attribute, (T0, start), usable)
        result[attribute] = {"summary": summarize(rows, reference_gap), "windows": rows, **meta}
    store.close()
    return result


# -- synthetic ------------------------------------------------------------------------------------------
def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def synthetic(args: argparse.Namespace, concept: bool) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed + (1 if concept else 0))
    windows, per, shift_at, n_ref_w = (
        args.synthetic_windows,
        args.synthetic_per_window,
        args.shift_window,
        args.synthetic_reference,
    )
    n = windows * per
    window = np.repeat(np.arange(windows), per)
    group = rng.choice(np.array(["A", "B"]), n, p=[0.6, 0.4])
    shifted = (group == "B") & (window >= shift_at)
    mu = np.where(group == "A", 0.3, -0.4)
    if not concept:
        mu = np.where(shifted, 0.6, mu)
    x = rng.normal(mu, 1.0)
    truth_logit = np.where(shifted & concept, 1.5 * x - 1.5, 1.5 * x - 0.5)
    y = (rng.random(n) < sigmoid(truth_logit)).astype(int)
    score = sigmoid(x).round(6)
    pred = score >= 0.5
    ts = np.array(
        [T0 + HOUR * int(w) + dt.timedelta(seconds=float(s)) for w, s in zip(window, rng.uniform(0, 3599, n))]
    )
    labelled = window < n_ref_w
    early = (window >= n_ref_w) & (rng.random(n) < 0.10)  # the first 10% of labels, for the calibration check
    store = open_store("duckdb://:memory:")
    store_stream(store, "synthetic", ts, score, pred, {"grp": group}, y, labelled)
    truth = []
    for w in range(n_ref_w, windows):
        rows = window == w
        g = group[rows]
        truth.append(
            {
                "shifted": w >= shift_at,
                "groups": {k: rates(y[rows][g == k], pred[rows][g == k]) for k in ("A", "B")},
                "naive": {k: naive_rates(score[rows][g == k], pred[rows][g == k]) for k in ("A", "B")},
            }
        )
    start = T0 + HOUR * n_ref_w
    reference_gap = expected_reference_gap(store, "synthetic", "grp", (T0, start), {"A", "B"})
    rows, meta = compare(store, "synthetic", "grp", "1h", (T0, start), start, T0 + HOUR * windows, truth)
    summary = summarize(rows, reference_gap)
    # the first 10% of labels arrive: does the calibration check see what the scores cannot?
    store.insert_outcomes(
        [
            OutcomeEvent(prediction_id=f"synthetic-{i}", label=int(y[i]), timestamp=ts[i] + 3 * HOUR)
            for i in np.flatnonzero(early)
        ]
    )
    _, with_labels = estimate_windows(
        store,
        "synthetic",
        sensitive=["grp"],
        reference_start=T0,
        reference_end=start,
        start=start,
        end=T0 + HOUR * windows,
        window="1h",
    )
    checks = []
    for result, real in zip(with_labels, truth):
        b = next(g for g in result.to_dict()["groups"] if g["group"]["grp"] == "B")
        z = b["calibration_check"]["z"]
        checks.append({"shifted": real["shifted"], "z": z, "flagged": abs(z) > 3})
    summary["calibration_check_after_10pct_labels"] = {
        "shifted_flagged": sum(c["flagged"] for c in checks if c["shifted"]),
        "shifted_windows": sum(c["shifted"] for c in checks),
        "unshifted_flagged": sum(c["flagged"] for c in checks if not c["shifted"]),
        "unshifted_windows": sum(not c["shifted"] for c in checks),
    }
    store.close()
    return {"summary": summary, "windows": rows, "calibration_checks": checks, **meta}


# -- report -----------------------------------------------------------------------------------------------
def fmt(x: Any, digits: int = 3) -> str:
    return "—" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{digits}f}"


def table(results: dict[str, Any]) -> str:
    lines = [
        "| replay | windows (labels withheld) | EO gap MAE | naive MAE | noise floor | TPR gap MAE | FPR gap MAE "
        "| CI coverage (gap / group rates) | false alarms | shift flagged before labels |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in results.items():
        eo = s["eo_gap"]
        flagged = "—" if "shifted_windows" not in s else f"{s['shifted_flagged']}/{s['shifted_windows']}"
        lines.append(
            f"| {name} | {s['windows_compared']} | {fmt(eo['mae'])} | {fmt(eo['naive_mae'])} "
            f"| {fmt(eo['noise_floor'])} "
            f"| {fmt(s['tpr_gap']['mae'])} | {fmt(s['fpr_gap']['mae'])} "
            f"| {fmt(eo['interval_coverage'], 2)} / {fmt(s['group_rate_interval_coverage'], 2)} "
            f"| {fmt(s['false_alarm_rate'], 2)} | {flagged} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adult-reference", type=float, default=0.4)
    parser.add_argument("--adult-windows", type=int, default=3)
    parser.add_argument("--synthetic-windows", type=int, default=16)
    parser.add_argument("--synthetic-per-window", type=int, default=20_000)
    parser.add_argument("--synthetic-reference", type=int, default=4)
    parser.add_argument("--shift-window", type=int, default=10)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    adult_result = adult(args)
    covariate = synthetic(args, concept=False)
    concept = synthetic(args, concept=True)
    summaries = {
        "Adult, by sex": adult_result["sex"]["summary"],
        "Adult, by race": adult_result["race"]["summary"],
        "synthetic, covariate shift in B": covariate["summary"],
        "synthetic, concept shift in B": concept["summary"],
    }
    print(table(summaries))
    c = concept["summary"]["calibration_check_after_10pct_labels"]
    print(
        f"\nconcept shift: calibration check on the first 10% of labels flags {c['shifted_flagged']}/"
        f"{c['shifted_windows']} shifted windows ({c['unshifted_flagged']}/{c['unshifted_windows']} unshifted)"
    )
    refused = sorted({g for r in adult_result["race"]["windows"] for g in r["refused_groups"]})
    print(f"Adult by race: estimates refused for {', '.join(refused) or 'no group'}")
    output = {
        "benchmark": "estimation",
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
        "config": vars(args) | {"output": str(args.output.name)},
        "summary": summaries,
        "table": table(summaries),
        "adult": adult_result,
        "synthetic_covariate_shift": covariate,
        "synthetic_concept_shift": concept,
        "seconds": time.perf_counter() - started,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(output, indent=1, default=str) + "\n")
    print(f"\nwritten to {args.output} in {output['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
