"""``fairwatch demo``: the end-to-end tour on the bundled Adult data (no network, ends by itself)."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule

from fairwatch.exceptions import MissingDependencyError, UndefinedMetricWarning

__all__ = ["run_demo", "train_baseline", "write_demo_reports"]

SENSITIVE = ["sex", "race"]
CHECKS = ("demographic_parity_ratio >= 0.8", "equalized_odds_difference <= 0.1")
METRICS = ("count", "selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy", "roc_auc")
MIN_GROUP_SIZE = 50


def train_baseline(seed: int = 0) -> dict[str, Any]:
    """Train a logistic-regression baseline on Adult; return the test split with predictions."""
    try:
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler
    except ImportError as exc:
        raise MissingDependencyError(
            "the demo trains a scikit-learn model; install it with: pip install 'fairwatch[mitigation]'"
        ) from exc
    from fairwatch.datasets import load_adult

    frame = load_adult(missing="unknown")
    y = (frame["income"] == ">50K").astype(int)
    features = frame.drop(columns=["income", "fnlwgt"])
    categorical = [c for c in features.columns if features[c].dtype == object or str(features[c].dtype) == "str"]
    numeric = [c for c in features.columns if c not in categorical]
    model = make_pipeline(
        ColumnTransformer(
            [
                ("categorical", OneHotEncoder(handle_unknown="ignore", min_frequency=20), categorical),
                ("numeric", StandardScaler(), numeric),
            ]
        ),
        LogisticRegression(max_iter=2000),
    )
    x_train, x_test, y_train, y_test = train_test_split(features, y, test_size=0.3, random_state=seed, stratify=y)
    model.fit(x_train, y_train)
    return {
        "model": model,
        "test": x_test.assign(
            y_true=y_test.to_numpy(), y_pred=model.predict(x_test), score=model.predict_proba(x_test)[:, 1]
        ),
        "n_train": len(x_train),
        "x_train": x_train,
        "y_train": y_train,
    }


def run_demo(console: Console, *, seed: int = 0, output_dir: str | os.PathLike[str] | None = None) -> None:
    """Train, audit by sex × race with 95 % intervals, check two policies, print everything.

    With ``output_dir``, the HTML audit reports of the baseline and the mitigated model are written
    there and their paths printed.
    """
    import fairwatch as fw
    from fairwatch.cli._render import render_audit, render_checks

    console.print(Rule("fairwatch demo: auditing a credit-style classifier on UCI Adult"))
    started = time.perf_counter()
    with console.status("Training a logistic-regression baseline on Adult…"):
        trained = train_baseline(seed)
    test = trained["test"]
    console.print(
        f"Trained on {trained['n_train']:,} rows; auditing {len(test):,} held-out rows "
        f"({time.perf_counter() - started:.1f} s)."
    )
    audit_started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedMetricWarning)
        audit = fw.audit(
            "y_true",
            "y_pred",
            scores="score",
            sensitive_features=SENSITIVE,
            data=test,
            metrics=METRICS,
            ci=0.95,
            min_group_size=MIN_GROUP_SIZE,
            random_state=seed,
        )
    elapsed = time.perf_counter() - audit_started
    for warning in caught:
        console.print(f"[yellow]note:[/yellow] {warning.message}")
    render_audit(console, audit, title="Baseline by sex × race (95% intervals)")
    render_audit(console, audit.marginal("sex"), title="Marginal view: by sex")
    console.print(Rule("Policy checks"))
    render_checks(console, audit.check(*CHECKS))
    console.print(
        f"[dim]Audit with intervals computed in {elapsed * 1000:.0f} ms from "
        f"{audit.stats.n_groups} groups' statistics.[/dim]"
    )
    mitigated = run_mitigation_demo(console, trained, seed=seed)
    from fairwatch.cli._demo_monitor import run_monitor_demo

    run_monitor_demo(console, test, seed=seed)
    if output_dir is not None:  # last, so the paths are on screen when the demo ends
        write_demo_reports(console, audit, test, mitigated, Path(output_dir), seed=seed)
    console.print("Done. Try: fairwatch audit FILE --y-true COL --y-pred COL --sensitive sex,race --ci 0.95")


def run_mitigation_demo(console: Console, trained: dict[str, Any], *, seed: int = 0) -> Any:
    """Post-process the baseline for demographic parity by sex and compare the two models.

    Returns the mitigated model's test-set predictions.
    """
    from rich.table import Table

    from fairwatch.mitigation import ThresholdOptimizer, compare_models

    console.print(Rule("Mitigation: baseline against a demographic-parity threshold optimizer"))
    test, x_train = trained["test"], trained["x_train"]
    features = test.drop(columns=["y_true", "y_pred", "score"])
    optimizer = ThresholdOptimizer(trained["model"], constraints="demographic_parity", prefit=True)
    optimizer.fit(x_train, trained["y_train"], sensitive_features=x_train["sex"])
    mitigated = optimizer.predict(features, sensitive_features=features["sex"], random_state=seed)
    comparison = compare_models(
        {"baseline": test["y_pred"].to_numpy(), "threshold optimizer (DP)": mitigated},
        None,
        test["y_true"].to_numpy(),
        sensitive_features=test["sex"].to_numpy(),
        objectives=("accuracy", "demographic_parity_difference", "equalized_odds_difference"),
        ci=0.95,
        random_state=seed,
    )
    table = Table(title="Held-out test set, by sex (95% intervals)", title_justify="left", header_style="bold")
    objectives = list(dict.fromkeys(comparison.table["objective"]))
    table.add_column("model")
    for name in objectives:
        table.add_column(name.replace("_", " "), justify="right")
    table.add_column("Pareto front", justify="center")
    for model, rows in comparison.table.groupby("model", sort=False):
        cells = []
        for name in objectives:
            row = rows[rows["objective"] == name].iloc[0]
            cells.append(f"{row['value']:.3f} [{row['lo']:.3f}, {row['hi']:.3f}]")
        table.add_row(str(model), *cells, "✓" if bool(rows["on_front"].iloc[0]) else "")
    console.print(table)
    return mitigated


def write_demo_reports(
    console: Console, baseline: Any, test: Any, mitigated: Any, output_dir: Path, *, seed: int = 0
) -> list[Path]:
    """Write the HTML audit reports of the baseline and the mitigated model; print their paths."""
    from rich.markup import escape

    import fairwatch as fw
    from fairwatch.exceptions import FairwatchError, InvalidInputError

    console.print(Rule("Audit reports"))
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot create --output-dir {str(output_dir)!r}: {exc.strerror}; choose a writable directory"
        ) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        after = fw.audit(
            test["y_true"].to_numpy(),
            mitigated,
            sensitive_features=test[SENSITIVE],
            metrics=[m for m in METRICS if m != "roc_auc"],  # the post-processed model outputs labels only
            ci=0.95,
            min_group_size=MIN_GROUP_SIZE,
            random_state=seed,
        )
    after.check(*CHECKS)
    written = []
    try:
        for name, audit, title in (
            ("baseline", baseline, "Baseline logistic regression on Adult, by sex × race"),
            ("mitigated", after, "Threshold optimizer (demographic parity by sex) on Adult, by sex × race"),
        ):
            path = output_dir / f"fairwatch-report-{name}.html"
            audit.to_html(path, title=title, parameters={"data": "UCI Adult (bundled), held-out 30%", "seed": seed})
            written.append(path)
    except FairwatchError as exc:  # e.g. the report extra is not installed: the rest of the demo still runs
        console.print(f"[yellow]note:[/yellow] no HTML report: {escape(str(exc))}", highlight=False)
        return written
    for path in written:
        console.print(f"Wrote [bold]{escape(str(path))}[/bold]", highlight=False)
    console.print("[dim]Open them in a browser: self-contained, nothing loads from the network; they print well.[/dim]")
    return written
