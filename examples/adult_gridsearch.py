# ruff: noqa: N806  (scikit-learn names: X_train, A_test...)
"""The Adult GridSearch tutorial, reproduced with fairwatch.

The widely copied tutorial trains a decision tree on the UCI Adult data (White and Black people
only, 40 % held out), shows that it selects Black people for the high-income class far less often
than White people, sweeps fairlearn's ``GridSearch`` with a demographic-parity constraint over 100
Lagrange multipliers, keeps the models no other model beats on both accuracy and disparity, and
plots the trade-off. Its hand-written Pareto code no longer runs on current fairlearn; here every
step is one fairwatch call:

1. ``fairwatch.audit``: the baseline's selection rate, accuracy and error rates by sex × race,
   with 95 % confidence intervals;
2. ``fairwatch.mitigation.GridSearch``: the sweep, in parallel (``n_jobs``), with a progress bar;
3. ``fairwatch.mitigation.pareto_front`` / ``compare_models``: the non-dominated models on the
   test data and a self-contained HTML plot (plotly.js inlined, no CDN).

Run it with ``python examples/adult_gridsearch.py`` (about a minute on two cores); the test suite
runs ``main(grid_size=5, ...)``. Needs ``pip install 'fairwatch[mitigation,report]'``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

import fairwatch as fw
from fairwatch.datasets import load_adult
from fairwatch.mitigation import DemographicParity, GridSearch, compare_models

SENSITIVE = ("sex", "race")
AUDIT_METRICS = ("selection_rate", "accuracy", "true_positive_rate", "false_positive_rate")
OBJECTIVES = ("accuracy", "demographic_parity_difference")


def load_data(random_state: int = 0) -> dict[str, Any]:
    """Adult, White and Black rows, one-hot features without the sensitive columns, 60/40 split."""
    frame = load_adult(missing="unknown")
    frame = frame[frame["race"].isin(["White", "Black"])].reset_index(drop=True)
    y = (frame["income"] == ">50K").astype(np.int64)
    features = pd.get_dummies(frame.drop(columns=["income", *SENSITIVE]), dtype=np.float64)
    split = train_test_split(features, y, frame[list(SENSITIVE)], test_size=0.4, random_state=random_state, stratify=y)
    X_train, X_test, y_train, y_test, A_train, A_test = (part.reset_index(drop=True) for part in split)
    return {
        "X_train": X_train,
        "X_test": X_test,
        "y_train": y_train,
        "y_test": y_test,
        "A_train": A_train,
        "A_test": A_test,
    }


def baseline_model(random_state: int = 0) -> DecisionTreeClassifier:
    """The tutorial's fairness-unaware model."""
    return DecisionTreeClassifier(min_samples_leaf=10, max_depth=12, random_state=random_state)


def main(
    grid_size: int = 100,
    output: str | Path = "adult_gridsearch.html",
    *,
    n_jobs: int | None = -1,
    progress: bool | Literal["auto"] = "auto",
    verbose: bool = True,
) -> dict[str, Any]:
    """Train, audit, mitigate, select and plot; return the numbers the steps produced.

    Parameters
    ----------
    grid_size : int
        Number of GridSearch models (the tutorial uses 100).
    output : path
        Where the HTML comparison plot is written.
    n_jobs : int, optional
        Parallel fits of the GridSearch (``-1``: all cores).
    progress : bool or "auto"
        GridSearch progress bar.
    verbose : bool
        Print the audit and the selected models.

    Returns
    -------
    dict
        ``baseline_audit`` (the :class:`fairwatch.Audit` of the baseline), ``sweep`` (the fitted
        GridSearch), ``front`` (the :class:`~fairwatch.mitigation.ParetoFront` on the test data),
        ``comparison`` and ``output`` (the path of the plot).
    """
    data = load_data()
    X_train, X_test = data["X_train"], data["X_test"]
    y_train, y_test = data["y_train"], data["y_test"]
    A_train, A_test = data["A_train"], data["A_test"]

    # 1. The fairness-unaware baseline, audited by sex × race on the held-out data.
    baseline = baseline_model().fit(X_train, y_train)
    audit = fw.audit(y_test, baseline.predict(X_test), sensitive_features=A_test, metrics=list(AUDIT_METRICS), ci=0.95)
    gap = audit.summary.disparity("demographic_parity")
    if verbose:
        print(f"Baseline decision tree: accuracy {baseline.score(X_test, y_test):.3f}")
        print(audit.by_group.pivot_table(index=list(SENSITIVE), columns="metric", values="value").round(3))
        print(
            f"Demographic parity difference (sex × race): {gap.difference:.3f} "
            f"[{gap.difference_lo:.3f}, {gap.difference_hi:.3f}] between {gap.max_group} and {gap.min_group}"
        )

    # 2. The sweep: one tree per Lagrange multiplier of the demographic-parity constraint on race.
    sweep = GridSearch(
        baseline_model(),
        DemographicParity(),
        grid_size=grid_size,
        n_jobs=n_jobs,
        random_state=0,
        progress=progress,
    )
    sweep.fit(X_train, y_train, sensitive_features=A_train["race"])

    # 3. The Pareto front on the test data (baseline included) and the comparison plot.
    models = {"baseline": baseline} | {f"grid_{i:03d}": model for i, model in enumerate(sweep.predictors_)}
    comparison = compare_models(
        models,
        X_test,
        y_test,
        sensitive_features=A_test["race"],
        objectives=OBJECTIVES,
        title=f"Adult: decision trees from GridSearch(DemographicParity, grid_size={grid_size})",
    )
    front = comparison.front
    path = Path(output)
    comparison.to_html(path)
    if verbose:
        print(f"\n{len(front)} of {len(models)} models are Pareto-optimal on the test data:")
        print(front.scores.round(4).to_string())
        print(f"\nComparison plot written to {path.resolve()}")
    return {"baseline_audit": audit, "sweep": sweep, "front": front, "comparison": comparison, "output": path}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid-size", type=int, default=100)
    parser.add_argument("--output", default="adult_gridsearch.html")
    parser.add_argument("--n-jobs", type=int, default=-1)
    args = parser.parse_args()
    main(grid_size=args.grid_size, output=args.output, n_jobs=args.n_jobs)
