"""The monitoring part of ``fairwatch demo``: replay Adult's test set as two weeks of traffic.

Outcomes arrive three days after each prediction, so the last days have no labels yet; from day 8
an upstream change lowers the scores (and the reported working hours) of women. The demo stores the
stream in the embedded DuckDB store and prints the daily fairness trend and the feature drift.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from fairwatch.exceptions import MissingDependencyError

__all__ = ["replay_stream", "run_monitor_demo"]

START = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
DAYS = 14
SHIFT_DAY = 7
LABEL_DELAY = dt.timedelta(days=3)


def replay_stream(test: Any, *, seed: int = 0) -> tuple[list[Any], list[Any], dt.datetime]:
    """Prediction and outcome events for the test frame, and the replay's "now".

    ``test`` needs the columns ``y_true``, ``score``, ``sex``, ``race``, ``age`` and
    ``hours-per-week``. Only outcomes older than "now" are delivered.
    """
    from fairwatch.monitor import OutcomeEvent, PredictionEvent

    rng = np.random.default_rng(seed)
    n = len(test)
    offsets = np.sort(rng.uniform(0, DAYS * 86400, n))
    order = rng.permutation(n)
    frame = test.iloc[order].reset_index(drop=True)
    score = frame["score"].to_numpy().copy()
    hours = frame["hours-per-week"].to_numpy().astype(float)
    shifted = (offsets >= SHIFT_DAY * 86400) & (frame["sex"].to_numpy() == "Female")
    score[shifted] *= 0.6
    hours[shifted] -= 10
    now = START + dt.timedelta(days=DAYS)
    predictions, outcomes = [], []
    for i in range(n):
        ts = START + dt.timedelta(seconds=float(offsets[i]))
        predictions.append(
            PredictionEvent(
                prediction_id=f"adult-{order[i]}",
                model="adult-income",
                model_version="baseline",
                timestamp=ts,
                prediction=int(score[i] >= 0.5),
                score=float(round(score[i], 6)),
                sensitive={"sex": str(frame["sex"].iat[i]), "race": str(frame["race"].iat[i])},
                features={"age": int(frame["age"].iat[i]), "hours_per_week": float(hours[i])},
            )
        )
        if ts + LABEL_DELAY <= now:
            outcomes.append(
                OutcomeEvent(
                    prediction_id=f"adult-{order[i]}", label=int(frame["y_true"].iat[i]), timestamp=ts + LABEL_DELAY
                )
            )
    return predictions, outcomes, now


def _cell(summary: Any, name: str, statistic: str) -> str:
    if summary is None or name not in summary.disparities:
        return "—"
    d = summary.disparities[name]
    value, lo, hi = (getattr(d, statistic), getattr(d, f"{statistic}_lo"), getattr(d, f"{statistic}_hi"))
    if math.isnan(value):
        return "withheld"
    if not (math.isnan(lo) or math.isnan(hi)):
        return f"{value:.2f} [{lo:.2f}, {hi:.2f}]"
    return f"{value:.2f}"


def _trend_table(windows: list[Any]) -> Table:
    table = Table(
        title="Daily fairness by sex (95% intervals; label metrics need ≥30 labelled rows per group)",
        title_justify="left",
        header_style="bold",
    )
    for column in (
        "day",
        "n",
        "labelled",
        "selection F",
        "selection M",
        "demographic parity ratio",
        "equalized odds difference",
    ):
        table.add_column(column, justify="left" if column == "day" else "right")
    for window in windows:
        free = window.label_free
        rates = {}
        if free is not None:
            for g, key in enumerate(free.stats.groups):
                rates[key[0]] = free.values["selection_rate"][g]
        flag = " ⚠" if window.start >= START + dt.timedelta(days=SHIFT_DAY) else ""
        table.add_row(
            window.start.strftime("%b %d") + flag,
            f"{window.n:,}",
            "—" if window.label_coverage is None else f"{window.label_coverage:.0%}",
            f"{rates.get('Female', float('nan')):.3f}",
            f"{rates.get('Male', float('nan')):.3f}",
            _cell(free, "demographic_parity", "ratio"),
            _cell(window.labelled_summary, "equalized_odds", "difference"),
        )
    return table


def _drift_table(results: list[Any]) -> Table:
    table = Table(title="Feature drift, week 2 against week 1", title_justify="left", header_style="bold")
    for column in ("feature", "group", "PSI", "KS", "KS p-value"):
        table.add_column(column, justify="left" if column in ("feature", "group") else "right")
    for r in results:
        group = "all" if r.group is None else ", ".join(f"{k}={v}" for k, v in r.group.items())
        psi = "—" if r.psi is None else f"{r.psi:.3f}" + (" ⚠" if r.psi > 0.2 else "")
        ks = "—" if r.ks is None else f"{r.ks:.3f}"
        p = "—" if r.ks_pvalue is None else f"{r.ks_pvalue:.2g}"
        table.add_row(r.feature, group, psi, ks, p)
    return table


def run_monitor_demo(console: Console, test: Any, *, seed: int = 0) -> None:
    """Replay, store, window, print. Uses a temporary DuckDB file (the embedded default store)."""
    skipped = "[yellow]Monitoring demo skipped: install the server extra (pip install 'fairwatch\\[server]').[/yellow]"
    try:
        from fairwatch.monitor import drift, open_store, window_metrics
    except ImportError:
        console.print(skipped)
        return
    with tempfile.TemporaryDirectory() as folder:
        try:
            store = open_store(f"duckdb://{Path(folder) / 'fairwatch.duckdb'}")
        except MissingDependencyError:  # the event model imports without duckdb; the store does not
            console.print(skipped)
            return
        console.print(Rule("Monitoring: the same model as a production stream"))
        predictions, outcomes, now = replay_stream(test, seed=seed)
        try:
            for i in range(0, len(predictions), 5000):
                store.insert_predictions(predictions[i : i + 5000])
            store.insert_outcomes(outcomes)
            console.print(
                f"Replayed {len(predictions):,} predictions over {DAYS} days into the embedded DuckDB "
                f"store; {len(outcomes):,} outcomes have arrived (3-day delay), so the last days are "
                f"label-free. From day {SHIFT_DAY + 1} an upstream change lowers women's scores."
            )
            windows = window_metrics(
                store,
                "adult-income",
                sensitive=["sex"],
                window="1d",
                start=START,
                end=now,
                metrics=["selection_rate", "true_positive_rate", "false_positive_rate"],
                ci=0.95,
                min_group_size=30,
                random_state=seed,
            )
            console.print(_trend_table(windows))
            week = dt.timedelta(days=7)
            results = drift(
                store,
                "adult-income",
                reference_start=START,
                reference_end=START + week,
                start=START + week,
                end=now,
                sensitive=["sex"],
            )
            console.print(_drift_table(results))
        finally:
            store.close()
