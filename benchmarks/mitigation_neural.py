"""Benchmark: fairness-regularised and adversarial neural networks against reductions, post-processing
and fairlearn's AdversarialFairnessClassifier, on the accuracy / demographic-parity trade-off.

What is measured, in one process, on a held-out test split (70/30, stratified, seed 0):

* **accuracy** and the **demographic-parity gap** (largest difference in selection rate between
  groups, of the hard decisions ``predict`` returns) and the equalised-odds gap, for
  - the unregularised network: ``FairnessRegularizedClassifier(penalty_weight=0)`` (an MLP with one
    hidden layer of 64 ReLU units, Adam, 20 epochs, batches of 256);
  - ``FairnessRegularizedClassifier`` over a sweep of ``penalty_weight`` (demographic-parity penalty);
  - ``AdversarialDebiasingClassifier`` over a sweep of ``adversary_loss_weight`` (5 adversary steps per batch);
  - fairwatch's ``ExponentiatedGradient(LogisticRegression(), "demographic_parity")`` (eps sweep)
    and ``ThresholdOptimizer(LogisticRegression(), "demographic_parity")`` (and on top of the
    unregularised network);
  - fairlearn's ``AdversarialFairnessClassifier`` (torch backend, the same predictor, an alpha sweep);
* **fit time** of each model.

Tasks:

* **adult**: the bundled Adult data (32,561 rows), standardised numeric columns and one-hot
  categoricals (sex and race not among the features), sensitive feature ``sex``;
* **compas_like**: 7,000 synthetic defendants: priors, age, charge degree and juvenile counts whose
  distributions and base rate depend on a binary ``race`` (a COMPAS-shaped task; the real data is
  not bundled).

Acceptance (issue 11): on Adult, the regularised and the adversarial network at their default
weights reduce the demographic-parity gap to at most half that of the unregularised network, with
an accuracy cost under 2 points.

Run it from the repository root (several minutes on two cores)::

    python benchmarks/mitigation_neural.py
    python benchmarks/mitigation_neural.py --quick     # fewer sweep points

Results are printed as a table and written to ``benchmarks/results/mitigation_neural.json``; the
Pareto plot goes to ``benchmarks/results/mitigation_neural.png`` when matplotlib is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

import _machine
from fairwatch.datasets import load_adult
from fairwatch.metrics import demographic_parity_difference, equalized_odds_difference
from fairwatch.mitigation import (
    AdversarialDebiasingClassifier,
    ExponentiatedGradient,
    FairnessRegularizedClassifier,
    ThresholdOptimizer,
)

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_OUTPUT = RESULTS / "mitigation_neural.json"
DEFAULT_PLOT = RESULTS / "mitigation_neural.png"
HIDDEN = (64,)
EPOCHS = 20
BATCH_SIZE = 256
#: Acceptance: the DP gap at most this share of the unregularised network's, accuracy cost under 2 points.
GAP_SHARE = 0.5
ACCURACY_COST = 0.02

Task = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def adult_task() -> Task:
    frame = load_adult(missing="unknown")
    numeric_columns = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    numeric = frame[numeric_columns].to_numpy(dtype=np.float64)
    categorical = ["workclass", "marital-status", "occupation", "relationship"]
    X = np.hstack([numeric, pd.get_dummies(frame[categorical], dtype=np.float64).to_numpy()])
    y = (frame["income"] == ">50K").to_numpy().astype(np.int64)
    sex = frame["sex"].to_numpy(dtype=object)
    return _split(X, y, sex)


def compas_like_task(n: int = 7_000, seed: int = 0) -> Task:
    """Synthetic defendants; ``race`` shifts priors, age and the base rate of re-offending."""
    rng = np.random.default_rng(seed)
    race = np.where(rng.random(n) < 0.51, "African-American", "Caucasian").astype(object)
    black = race == "African-American"
    age = np.clip(rng.normal(34 - 3 * black, 11), 18, 80)
    priors = rng.poisson(np.where(black, 4.2, 2.4))
    felony = (rng.random(n) < np.where(black, 0.68, 0.58)).astype(np.float64)
    juvenile = rng.poisson(np.where(black, 0.35, 0.15))
    logit = -0.6 + 0.22 * priors - 0.045 * (age - 34) + 0.3 * felony + 0.4 * juvenile + 0.25 * black
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    X = np.column_stack([age, priors, felony, juvenile, rng.normal(size=(n, 4))])
    return _split(X, y, race)


def _split(X: np.ndarray, y: np.ndarray, group: np.ndarray) -> Task:
    parts = train_test_split(X, y, group, test_size=0.3, random_state=0, stratify=y)
    return tuple(parts)  # type: ignore[return-value]


def evaluate(pred: np.ndarray, y: np.ndarray, group: np.ndarray) -> dict[str, float]:
    pred = np.asarray(pred).astype(np.int64)
    return {
        "accuracy": float(np.mean(pred == y)),
        "dp_gap": float(demographic_parity_difference(y, pred, sensitive_features=group)),
        "eo_gap": float(equalized_odds_difference(y, pred, sensitive_features=group)),
    }


def timed(fit: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - start


def run_task(name: str, task: Task, sweep: dict[str, list[float]], with_fairlearn: bool) -> dict[str, Any]:
    X_tr, X_te, y_tr, y_te, g_tr, g_te = task
    rows: list[dict[str, Any]] = []

    def record(method: str, parameter: str, value: Any, model: Any, seconds: float, pred: np.ndarray) -> None:
        row = {"method": method, "parameter": parameter, "value": value, "fit_seconds": seconds}
        row.update(evaluate(pred, y_te, g_te))
        rows.append(row)
        print(
            f"{name:<12} {method:<34} {parameter}={value!s:<8} acc {row['accuracy']:.4f}  "
            f"dp {row['dp_gap']:.4f}  eo {row['eo_gap']:.4f}  {seconds:6.1f}s",
            flush=True,
        )

    def network(**params: Any) -> FairnessRegularizedClassifier:
        return FairnessRegularizedClassifier(
            HIDDEN, epochs=EPOCHS, batch_size=BATCH_SIZE, random_state=0, device="auto", **params
        )

    base, seconds = timed(lambda: network(penalty_weight=0.0).fit(X_tr, y_tr))
    record("network (unregularised)", "penalty_weight", 0.0, base, seconds, base.predict(X_te))
    for weight in sweep["penalty_weight"]:
        model, seconds = timed(lambda w=weight: network(penalty_weight=w).fit(X_tr, y_tr, sensitive_features=g_tr))
        record("FairnessRegularizedClassifier (DP)", "penalty_weight", weight, model, seconds, model.predict(X_te))
    for alpha in sweep["adversary_loss_weight"]:
        model, seconds = timed(
            lambda a=alpha: AdversarialDebiasingClassifier(
                HIDDEN, adversary_loss_weight=a, epochs=EPOCHS, batch_size=BATCH_SIZE, random_state=0
            ).fit(X_tr, y_tr, sensitive_features=g_tr)
        )
        record("AdversarialDebiasingClassifier", "adversary_loss_weight", alpha, model, seconds, model.predict(X_te))
    scaler_mean, scaler_std = X_tr.mean(axis=0), np.where(X_tr.std(axis=0) > 0, X_tr.std(axis=0), 1.0)
    Z_tr, Z_te = (X_tr - scaler_mean) / scaler_std, (X_te - scaler_mean) / scaler_std
    for eps in sweep["eps"]:
        model, seconds = timed(
            lambda e=eps: ExponentiatedGradient(
                LogisticRegression(max_iter=500), "demographic_parity", eps=e, progress=False, random_state=0
            ).fit(Z_tr, y_tr, sensitive_features=g_tr)
        )
        record("ExponentiatedGradient (LR, DP)", "eps", eps, model, seconds, model.predict(Z_te, random_state=0))
    model, seconds = timed(
        lambda: ThresholdOptimizer(LogisticRegression(max_iter=500), constraints="demographic_parity").fit(
            Z_tr, y_tr, sensitive_features=g_tr
        )
    )
    record(
        "ThresholdOptimizer (LR, DP)",
        "-",
        "-",
        model,
        seconds,
        model.predict(Z_te, sensitive_features=g_te, random_state=0),
    )
    model, seconds = timed(
        lambda: ThresholdOptimizer(base, constraints="demographic_parity", prefit=True).fit(
            X_tr, y_tr, sensitive_features=g_tr
        )
    )
    record(
        "ThresholdOptimizer (network, DP)",
        "-",
        "-",
        model,
        seconds,
        model.predict(X_te, sensitive_features=g_te, random_state=0),
    )
    if with_fairlearn:
        run_fairlearn(Z_tr, Z_te, y_tr, g_tr, sweep["fairlearn_alpha"], record)
    return {"task": name, "train_rows": len(y_tr), "test_rows": len(y_te), "results": rows}


def run_fairlearn(
    Z_tr: np.ndarray, Z_te: np.ndarray, y_tr: np.ndarray, g_tr: np.ndarray, alphas: list[float], record: Any
) -> None:
    try:
        from fairlearn.adversarial import AdversarialFairnessClassifier
    except ImportError as exc:  # pragma: no cover - fairlearn is a test dependency
        print(f"fairlearn's AdversarialFairnessClassifier does not run here: {exc}")
        return
    for alpha in alphas:
        try:
            model, seconds = timed(
                lambda a=alpha: AdversarialFairnessClassifier(
                    backend="torch",
                    predictor_model=[HIDDEN[0], "relu"],
                    adversary_model=[3, "leaky_relu"],
                    alpha=a,
                    epochs=EPOCHS,
                    batch_size=BATCH_SIZE,
                    shuffle=True,
                    random_state=0,
                ).fit(Z_tr, y_tr, sensitive_features=g_tr)
            )
        except Exception as exc:
            print(f"fairlearn AdversarialFairnessClassifier(alpha={alpha}) failed: {type(exc).__name__}: {exc}")
            continue
        record("fairlearn AdversarialFairnessClassifier", "alpha", alpha, model, seconds, model.predict(Z_te))


def acceptance(task: dict[str, Any]) -> dict[str, Any]:
    """The issue's acceptance at the estimators' default weights, and the sweep points meeting it."""
    rows = task["results"]
    base = next(r for r in rows if r["method"] == "network (unregularised)")
    out: dict[str, Any] = {"baseline": {k: base[k] for k in ("accuracy", "dp_gap")}}
    for method, estimator, parameter in (
        ("FairnessRegularizedClassifier (DP)", FairnessRegularizedClassifier, "penalty_weight"),
        ("AdversarialDebiasingClassifier", AdversarialDebiasingClassifier, "adversary_loss_weight"),
    ):
        default_value = estimator().get_params()[parameter]
        candidates = [r for r in rows if r["method"] == method]

        def meets(r: dict[str, Any]) -> bool:
            return r["dp_gap"] <= GAP_SHARE * base["dp_gap"] and r["accuracy"] > base["accuracy"] - ACCURACY_COST

        default = next((r for r in candidates if r["value"] == default_value), None)
        passing = [r for r in candidates if meets(r)]
        out[method] = {
            "default_weight": None
            if default is None
            else {
                parameter: default_value,
                "accuracy": default["accuracy"],
                "dp_gap": default["dp_gap"],
                "dp_gap_share_of_baseline": default["dp_gap"] / base["dp_gap"],
                "accuracy_cost_points": 100 * (base["accuracy"] - default["accuracy"]),
                "meets_acceptance": meets(default),
            },
            "passing_weights": [r["value"] for r in passing],
            "lowest_gap_passing": None if not passing else min(passing, key=lambda r: r["dp_gap"]),
        }
    return out


def seed_check(task: Task, seeds: list[int]) -> dict[str, Any]:
    """The acceptance at the default weights over several seeds (initial weights and batch order)."""
    X_tr, X_te, y_tr, y_te, g_tr, g_te = task
    rows: dict[str, list[dict[str, float]]] = {"baseline": [], "regularised": [], "adversarial": []}
    for seed in seeds:
        common = {"hidden_layer_sizes": HIDDEN, "epochs": EPOCHS, "batch_size": BATCH_SIZE, "random_state": seed}
        models = {
            "baseline": FairnessRegularizedClassifier(**common, penalty_weight=0.0).fit(X_tr, y_tr),
            "regularised": FairnessRegularizedClassifier(**common).fit(X_tr, y_tr, sensitive_features=g_tr),
            "adversarial": AdversarialDebiasingClassifier(**common).fit(X_tr, y_tr, sensitive_features=g_tr),
        }
        for name, model in models.items():
            rows[name].append(evaluate(model.predict(X_te), y_te, g_te))
    out: dict[str, Any] = {"seeds": seeds}
    for name, values in rows.items():
        out[name] = {
            key: {"mean": float(np.mean([v[key] for v in values])), "values": [v[key] for v in values]}
            for key in ("accuracy", "dp_gap")
        }
    for name in ("regularised", "adversarial"):
        paired = [
            (m["dp_gap"] <= GAP_SHARE * b["dp_gap"]) and (m["accuracy"] > b["accuracy"] - ACCURACY_COST)
            for m, b in zip(rows[name], rows["baseline"])
        ]
        out[name]["meets_acceptance_per_seed"] = paired
    for name in ("baseline", "regularised", "adversarial"):
        r = out[name]
        print(
            f"seeds {seeds} {name:<12} accuracy {r['accuracy']['mean']:.4f} "
            f"({', '.join(f'{v:.4f}' for v in r['accuracy']['values'])})  DP gap {r['dp_gap']['mean']:.4f} "
            f"({', '.join(f'{v:.4f}' for v in r['dp_gap']['values'])})"
            + (f"  meets: {r['meets_acceptance_per_seed']}" if "meets_acceptance_per_seed" in r else "")
        )
    return out


def pareto_plot(tasks: list[dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return False
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 5), squeeze=False)
    markers = dict(zip(sorted({r["method"] for t in tasks for r in t["results"]}), "os^vD<>PXh*"))
    for ax, task in zip(axes[0], tasks):
        rows = task["results"]
        for method, marker in markers.items():
            points = sorted((r["dp_gap"], r["accuracy"]) for r in rows if r["method"] == method)
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker=marker, linestyle="-" if len(points) > 1 else "none", label=method, alpha=0.85)
        front = _front([(r["dp_gap"], r["accuracy"]) for r in rows])
        ax.plot(*zip(*front), color="black", linewidth=0.8, linestyle=":", label="Pareto front")
        ax.set_title(f"{task['task']} (test split)")
        ax.set_xlabel("demographic-parity gap (lower is fairer)")
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")
    return True


def _front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    best = -np.inf
    front = []
    for gap, accuracy in sorted(points):
        if accuracy > best:
            front.append((gap, accuracy))
            best = accuracy
    return front


def machine_info() -> dict[str, Any]:
    return _machine.machine_info("torch", "scikit-learn", "fairlearn", cuda=torch.cuda.is_available())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sweep points")
    parser.add_argument("--no-fairlearn", action="store_true", help="skip fairlearn's AdversarialFairnessClassifier")
    parser.add_argument("--tasks", default="adult,compas_like")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT)
    parser.add_argument("--seeds", default="0,1,2", help="seeds of the default-weight acceptance check on Adult")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: leave torch's default)")
    args = parser.parse_args()
    if args.threads:
        # Tiny networks gain nothing from intra-op threads, and on a shared machine they lose a lot.
        torch.set_num_threads(args.threads)
    sweep = {
        "penalty_weight": [0.25, 1.0, 4.0] if args.quick else [0.25, 0.5, 1.0, 2.0, 4.0],
        "adversary_loss_weight": [0.1, 1.0] if args.quick else [0.03, 0.1, 0.3, 1.0],
        "eps": [0.01] if args.quick else [0.01, 0.05],
        "fairlearn_alpha": [1.0] if args.quick else [0.3, 1.0],
    }
    machine = machine_info()
    machine["torch_threads"] = torch.get_num_threads()
    loaders = {"adult": adult_task, "compas_like": compas_like_task}
    tasks = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fairlearn's and pandas' deprecation warnings
        for name in args.tasks.split(","):
            tasks.append(run_task(name, loaders[name](), sweep, with_fairlearn=not args.no_fairlearn))
        seeds = seed_check(adult_task(), [int(x) for x in args.seeds.split(",")]) if args.seeds else None
    machine["load_average_at_end"] = list(os.getloadavg())
    verdicts = {task["task"]: acceptance(task) for task in tasks}
    for task_name, verdict in verdicts.items():
        base = verdict["baseline"]
        print(f"\n{task_name}: unregularised network accuracy {base['accuracy']:.4f}, DP gap {base['dp_gap']:.4f}")
        for method in ("FairnessRegularizedClassifier (DP)", "AdversarialDebiasingClassifier"):
            d = verdict[method]["default_weight"]
            if d is not None:
                print(
                    f"  {method} at its default weight: DP gap {d['dp_gap']:.4f} "
                    f"({d['dp_gap_share_of_baseline']:.0%} of the baseline), "
                    f"accuracy cost {d['accuracy_cost_points']:.2f} points -> "
                    f"{'meets' if d['meets_acceptance'] else 'MISSES'} the acceptance"
                )
            print(f"  {method}: weights meeting it: {verdict[method]['passing_weights']}")
    plotted = pareto_plot(tasks, args.plot)
    output = {
        "benchmark": "mitigation_neural",
        "machine": machine,
        "config": {
            "network": f"MLP hidden={HIDDEN}, ReLU, Adam lr=1e-3, epochs={EPOCHS}, batch_size={BATCH_SIZE}, seed 0",
            "split": "70/30 stratified train/test, seed 0; every number on the test split",
            "gaps": "of hard decisions: demographic parity = max - min selection rate; equalised odds = max of the "
            "TPR and FPR gaps",
            "sweep": sweep,
            "acceptance": f"DP gap <= {GAP_SHARE} x the unregularised network's, accuracy cost < "
            f"{100 * ACCURACY_COST:.0f} points",
        },
        "tasks": tasks,
        "acceptance": verdicts,
        "acceptance_over_seeds_adult": seeds,
        "plot": str(args.plot.name) if plotted else None,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(output, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
