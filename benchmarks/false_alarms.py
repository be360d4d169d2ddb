"""False-alarm study: how often alert rules fire on noise, and how often they catch a real gap.

Windows are simulated as GroupStats (selection counts per group drawn from binomials, 20,000 windows
per scenario, stacked on a leading axis) and judged by the same code the service uses
(``fairwatch.monitor._rules.assess_stats``). Scenarios: two groups of n = 40, 100, 500, 2000 rows
each with no true difference (selection rate 0.5 in both) and with a true gap of 0.1 (0.5 vs 0.4).

Rules compared on the same windows:

* ``naive >0.1`` / ``naive >0.05``: fire when the observed |difference| exceeds the threshold (what a
  dashboard threshold does);
* ``gated ref``: ``group - reference > 0`` with ``significance=0.05`` (one-sided test at 5 %, the
  lower bound of a continuity-corrected Newcombe interval);
* ``gated pair``: ``|a - b| > 0`` with ``significance=0.05`` (either direction: two one-sided tests
  sharing 5 %, i.e. a two-sided 95 % interval);
* ``gated ref, no cc``: the directed rule with uncorrected Wilson limits (to show why the service
  uses the continuity correction);

and, for multiplicity, five groups with no true difference (n = 500): all-pairs rules with and
without the Bonferroni correction the service applies.

Targets (issue 8): gated rules fire in at most 5 % of null windows at significance 0.05, and detect
a 0.1 gap at n = 500 per group in at least 90 % of windows.

Run from the repository root (takes a few seconds)::

    python benchmarks/false_alarms.py [--windows 20000] [--seed 0]

Results are printed and written to ``benchmarks/results/false_alarms.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from fairwatch.metrics import GroupStats
from fairwatch.metrics._intervals import newcombe_interval
from fairwatch.monitor._rules import FairnessRule, assess_stats, newcombe_cc_interval

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "false_alarms.json"
SIZES = (40, 100, 500, 2000)
GAPS = (0.0, 0.1)
BASE = 0.5
ALPHA = 0.05


def stacked(positives: np.ndarray, n: np.ndarray) -> GroupStats:
    """Windows × groups of selection counts as one GroupStats with a leading window axis."""
    pred = np.stack([n - positives, positives], axis=-1).astype(np.float64)
    w, g = positives.shape
    zeros = np.zeros((w, g, 2, 2))
    return GroupStats(
        sensitive_names=("group",),
        groups=tuple((f"g{i}",) for i in range(g)),
        n=n.astype(np.float64),
        weight=n.astype(np.float64),
        confusion=zeros,
        confusion_n=zeros,
        predictions=pred,
        predictions_n=pred,
    )


def rule(**changes: Any) -> FairnessRule:
    spec: dict[str, Any] = {
        "name": "study",
        "model": "m",
        "metric": "selection_rate",
        "sensitive": ["group"],
        "threshold": 0.0,
        "min_group_size": 30,
    }
    return FairnessRule(**(spec | changes))


RULES: dict[str, FairnessRule] = {
    "naive >0.1": rule(threshold=0.1),
    "naive >0.05": rule(threshold=0.05),
    "gated ref": rule(reference={"group": "g1"}, significance=ALPHA),
    "gated pair": rule(significance=ALPHA),
}


def uncorrected_directed(positives: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The directed gated rule with plain (not continuity-corrected) Wilson limits."""
    p = positives / n
    lo, _ = newcombe_interval(p[:, 0], n[:, 0], p[:, 1], n[:, 1], 1 - 2 * ALPHA)
    return np.asarray(lo > 0)


def two_groups(rng: np.random.Generator, windows: int, size: int, gap: float) -> dict[str, float]:
    n = np.full((windows, 2), size)
    positives = np.stack([rng.binomial(size, BASE, windows), rng.binomial(size, BASE - gap, windows)], axis=1)
    stats = stacked(positives, n)
    rates = {name: float(assess_stats(r, stats).firing.any(axis=1).mean()) for name, r in RULES.items()}
    rates["gated ref, no cc"] = float(uncorrected_directed(positives.astype(float), n.astype(float)).mean())
    return rates


def five_groups(rng: np.random.Generator, windows: int, size: int = 500) -> dict[str, float]:
    n = np.full((windows, 5), size)
    positives = rng.binomial(size, BASE, (windows, 5))
    stats = stacked(positives, n)
    out = {
        "naive >0.1": float(assess_stats(RULES["naive >0.1"], stats).firing.any(axis=1).mean()),
        "gated pairs, Bonferroni": float(assess_stats(RULES["gated pair"], stats).firing.any(axis=1).mean()),
    }
    p = positives / n
    fired = np.zeros(windows, dtype=bool)
    for a, b in combinations(range(5), 2):  # every pair on its own two-sided 95% interval
        lo, hi = newcombe_cc_interval(p[:, a], n[:, a].astype(float), p[:, b], n[:, b].astype(float), 1 - ALPHA)
        fired |= (lo > 0) | (hi < 0)
    out["gated pairs, uncorrected"] = float(fired.mean())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=20_000, help="simulated windows per scenario")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    rows = []
    for size in SIZES:
        for gap in GAPS:
            rows.append({"n_per_group": size, "true_gap": gap, "firing_rate": two_groups(rng, args.windows, size, gap)})
    issue_case = two_groups_issue(rng, args.windows)
    multiplicity = five_groups(rng, args.windows)
    elapsed = time.perf_counter() - started

    names = [*RULES, "gated ref, no cc"]
    print(f"share of {args.windows:,} windows that fire (selection rate {BASE} vs {BASE} - gap)")
    print(f"{'n/group':>8} {'gap':>5} " + " ".join(f"{name:>17}" for name in names))
    for row in rows:
        rates = row["firing_rate"]
        print(f"{row['n_per_group']:>8} {row['true_gap']:>5} " + " ".join(f"{rates[name]:>17.3f}" for name in names))
    null_gated = max(r["firing_rate"][k] for r in rows if r["true_gap"] == 0 for k in ("gated ref", "gated pair"))
    power = next(r for r in rows if r["n_per_group"] == 500 and r["true_gap"] == 0.1)["firing_rate"]["gated ref"]
    naive_null = next(r for r in rows if r["n_per_group"] == 40 and r["true_gap"] == 0)["firing_rate"]["naive >0.1"]
    gated_null = next(r for r in rows if r["n_per_group"] == 40 and r["true_gap"] == 0)["firing_rate"]["gated ref"]
    print(f"\nissue's cases: {issue_case}")
    print(f"five groups, no difference, n=500: {multiplicity}")
    print(
        f"\nnull windows at n=40: naive >0.1 fires {naive_null:.1%}, gated {gated_null:.1%} "
        f"(ratio {naive_null / max(gated_null, 1e-9):.1f}x fewer false alarms)"
    )
    passed = null_gated <= 0.05 and power >= 0.90
    print(
        f"targets: gated null rate max {null_gated:.3%} (<= 5%), detection of a 0.1 gap at n=500 {power:.1%} "
        f"(>= 90%): {'PASS' if passed else 'FAIL'}  [{elapsed:.1f} s]"
    )
    result = {
        "benchmark": "false_alarms",
        "windows_per_scenario": args.windows,
        "seed": args.seed,
        "base_rate": BASE,
        "significance": ALPHA,
        "rules": {
            "naive >0.1": "observed |difference| > 0.1",
            "naive >0.05": "observed |difference| > 0.05",
            "gated ref": "group - reference > 0, significance 0.05 (one-sided, Newcombe-cc lower bound)",
            "gated pair": "|a - b| > 0, significance 0.05 (two one-sided tests sharing alpha)",
            "gated ref, no cc": "as gated ref with uncorrected Wilson limits",
        },
        "rows": rows,
        "issue_cases": issue_case,
        "five_groups_null_n500": multiplicity,
        "targets": {"null_rate_max": null_gated, "power_n500_gap01": power, "passed": passed},
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "seconds": round(elapsed, 2),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0 if passed else 1


def two_groups_issue(rng: np.random.Generator, windows: int) -> dict[str, float]:
    """The issue's examples: 0.40 vs 0.30 observed at 40 per group; 0.60 vs 0.20 at 400 per group."""
    gated = rule(threshold=0.05, significance=ALPHA)
    noise = stacked(np.array([[16, 12]]), np.array([[40, 40]]))
    real = stacked(np.array([[240, 80]]), np.array([[400, 400]]))
    simulated = two_groups_generic(rng, windows, 400, 0.6, 0.2, gated)
    return {
        "noise 0.40 vs 0.30 n=40 fires": float(assess_stats(gated, noise).firing.any()),
        "real 0.60 vs 0.20 n=400 fires": float(assess_stats(gated, real).firing.any()),
        "true 0.60 vs 0.20 n=400 detection rate": simulated,
    }


def two_groups_generic(
    rng: np.random.Generator, windows: int, size: int, p1: float, p2: float, judged: FairnessRule
) -> float:
    n = np.full((windows, 2), size)
    positives = np.stack([rng.binomial(size, p1, windows), rng.binomial(size, p2, windows)], axis=1)
    return float(assess_stats(judged, stacked(positives, n)).firing.any(axis=1).mean())


if __name__ == "__main__":
    raise SystemExit(main())
