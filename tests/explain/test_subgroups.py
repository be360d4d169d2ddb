"""find_subgroups: the planted subgroup comes first, noise is not significant, rates equal pandas."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairwatch.exceptions import FairwatchWarning
from fairwatch.explain import SubgroupReport, find_subgroups

NOISE_COLUMNS = {"age", "noise", "score"}


def _planted(n: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "sex": rng.choice(np.array(["F", "M"]), n),
            "race": rng.choice(np.array(["A", "B", "C"]), n),
            "age": rng.integers(18, 80, n),
            "noise": rng.choice(np.array(["p", "q", "r", "s"]), n),
            "score": rng.normal(size=n),
        }
    )
    planted = ((df["sex"] == "F") & (df["race"] == "B")).to_numpy()
    y_true = rng.integers(0, 2, n)
    # selection rate 0.5 everywhere but 0.2 in the planted subgroup; there, only negatives are hit
    y_pred = (rng.random(n) < np.where(planted & (y_true == 0), 0.1, 0.5)).astype(int)
    return df, y_true, y_pred


def _mask(df: pd.DataFrame, conditions: dict) -> np.ndarray:
    mask = np.ones(len(df), dtype=bool)
    for column, value in conditions.items():
        mask &= (df[column] == value).to_numpy()
    return mask


def test_planted_subgroup_found_first_and_noise_not_significant() -> None:
    df, y_true, y_pred = _planted()
    report = find_subgroups(y_true, y_pred, features=df, metric="selection_rate", top=None)
    assert isinstance(report, SubgroupReport)
    first = report.rows[0]
    assert first["conditions"] == {"sex": "F", "race": "B"}
    assert first["significant"] and first["gap"] < -0.15
    for row in report.significant:
        # every significant subgroup involves the planted conditions (or a group that excludes them)
        assert set(row["conditions"]) & {"sex", "race"}, row
    noise_only = [r for r in report.rows if set(r["conditions"]) <= NOISE_COLUMNS]
    assert noise_only and not any(r["significant"] for r in noise_only)
    # refinements of the planted subgroup by noise columns are pruned
    assert not any(
        {("sex", "F"), ("race", "B")} < set(r["conditions"].items()) and r["significant"] for r in report.rows
    )
    assert report.bins.keys() == {"age", "score"}
    assert report.n_tested > 100 and report.level == pytest.approx(1 - 0.05 / report.n_tested)


def test_rates_equal_direct_pandas_computation() -> None:
    df, y_true, y_pred = _planted()
    report = find_subgroups(y_true, y_pred, features=df[["sex", "race", "noise"]], metric="false_positive_rate", top=15)
    assert report.rows[0]["conditions"] == {"sex": "F", "race": "B"}
    for row in report.rows:
        mask = _mask(df, row["conditions"])
        negatives = y_true == 0
        assert row["n"] == mask.sum()
        assert row["value"] == pytest.approx(y_pred[mask & negatives].mean(), abs=1e-12)
        assert row["reference_value"] == pytest.approx(y_pred[~mask & negatives].mean(), abs=1e-12)
        assert row["gap"] == pytest.approx(row["value"] - row["reference_value"], abs=1e-12)
        assert row["gap_lo"] <= row["gap"] <= row["gap_hi"]


def test_overall_reference_and_direction() -> None:
    df, _, y_pred = _planted()
    report = find_subgroups(None, y_pred, features=df[["sex", "race"]], reference="overall", direction="higher")
    overall = y_pred.mean()
    assert report.overall_value == pytest.approx(overall)
    assert all(r["reference_value"] == pytest.approx(overall) for r in report.rows)
    assert all(r["gap"] > 0 for r in report.significant)  # only subgroups above the overall rate count
    lower = find_subgroups(None, y_pred, features=df[["sex", "race"]], direction="lower")
    assert lower.rows[0]["conditions"] == {"sex": "F", "race": "B"}


def test_no_false_discoveries_on_pure_noise() -> None:
    rng = np.random.default_rng(7)
    n = 5000
    df = pd.DataFrame({c: rng.choice(np.array(list("abcd")), n) for c in ("u", "v", "w", "z")})
    y_pred = rng.integers(0, 2, n)
    report = find_subgroups(None, y_pred, features=df, top=None, prune=False, min_support=30)
    assert report.n_tested == 4 * 4 + 6 * 16 + 4 * 64
    assert report.significant == []


def test_numeric_bins_match_their_edges() -> None:
    df, _, y_pred = _planted()
    report = find_subgroups(None, y_pred, features=df[["age"]], top=None, min_support=1)
    edges = report.bins["age"]
    assert len(report.rows) == len(edges) - 1 == 4
    for row in report.rows:
        label = row["conditions"]["age"]
        i = [f"{e:.6g}" for e in edges].index(label[1:].split(",")[0])
        upper = df["age"] < edges[i + 1] if label.endswith(")") else df["age"] <= edges[i + 1]
        mask = ((df["age"] >= edges[i]) & upper).to_numpy()
        assert row["n"] == mask.sum()
        assert row["value"] == pytest.approx(y_pred[mask].mean())


def test_polars_features_and_weights() -> None:
    df, y_true, y_pred = _planted(n=2000)
    pandas_report = find_subgroups(y_true, y_pred, features=df[["sex", "race"]], top=None, prune=False)
    polars_report = find_subgroups(y_true, y_pred, features=pl.from_pandas(df[["sex", "race"]]), top=None, prune=False)
    polars_table = polars_report.to_frame()
    assert isinstance(polars_table, pl.DataFrame)  # the table comes back in the caller's library
    assert pandas_report.to_frame().equals(polars_table.to_pandas())
    weights = np.random.default_rng(1).random(len(df))
    weighted = find_subgroups(y_true, y_pred, features=df[["sex"]], sample_weight=weights, top=None, min_support=1)
    for row in weighted.rows:
        mask = _mask(df, row["conditions"])
        assert row["value"] == pytest.approx(np.average(y_pred[mask], weights=weights[mask]))


def test_result_protocol() -> None:
    df, y_true, y_pred = _planted(n=2000)
    report = find_subgroups(y_true, y_pred, features=df[["sex", "race"]], top=3)
    frame = report.to_frame()
    assert list(frame.columns[:10]) == [
        "subgroup",
        "depth",
        "n",
        "support",
        "value",
        "reference_value",
        "gap",
        "gap_lo",
        "gap_hi",
        "significant",
    ]
    assert list(frame.columns[10:]) == ["sex", "race"]
    assert len(frame) == 3
    data = json.loads(json.dumps(report.to_dict()))
    assert data["correction"] == "bonferroni" and data["rows"][0]["subgroup"] == "sex=F & race=B"
    assert "Bonferroni" in report.description and report.title.startswith("Subgroups")
    assert "sex=F & race=B" in repr(report)


def test_min_support_too_high_reports_nothing_clearly() -> None:
    df, y_true, y_pred = _planted(n=1000)
    with pytest.warns(FairwatchWarning, match="no subgroup has at least 990 rows"):
        report = find_subgroups(y_true, y_pred, features=df[["sex", "race"]], min_support=0.99)
    assert report.rows == [] and report.n_tested == 0
    assert "No subgroup has at least 990 rows" in report.description
    assert report.to_frame().empty


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=2, max_value=80),
    seed=st.integers(min_value=0, max_value=2**31),
    metric=st.sampled_from(["selection_rate", "false_positive_rate", "true_positive_rate", "error_rate"]),
    depth=st.integers(min_value=1, max_value=3),
)
def test_rolled_up_stats_equal_direct_stats(n: int, seed: int, metric: str, depth: int) -> None:
    """Every candidate, rolled up from the finest statistics, equals a direct pandas computation."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "a": rng.choice(np.array(["x", "y"]), n),
            "b": rng.choice(np.array(["p", "q", "r"]), n),
            "c": rng.integers(0, 3, n),  # few distinct numbers: kept as categories
        }
    )
    y_true = rng.integers(0, 2, n)
    y_pred = rng.integers(0, 2, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FairwatchWarning)
        report = find_subgroups(
            y_true, y_pred, features=df, metric=metric, max_depth=depth, min_support=1, top=None, prune=False
        )
    rows_by_rule = {
        "selection_rate": (np.ones(n, bool), y_pred == 1),
        "false_positive_rate": (y_true == 0, y_pred == 1),
        "true_positive_rate": (y_true == 1, y_pred == 1),
        "error_rate": (np.ones(n, bool), y_pred != y_true),
    }
    denominator, hit = rows_by_rule[metric]
    expected_tested = 0
    for row in report.rows:
        assert row["depth"] <= depth
        mask = _mask(df, row["conditions"])
        assert row["n"] == mask.sum()
        assert row["value"] == pytest.approx(hit[mask & denominator].mean(), abs=1e-12)
        assert row["reference_value"] == pytest.approx(hit[~mask & denominator].mean(), abs=1e-12)
    # every subgroup with rows on both sides of the comparison was tested
    from itertools import combinations

    for k in range(1, depth + 1):
        for combo in combinations(["a", "b", "c"], k):
            for _, part in df.groupby(list(combo)):
                mask = df.index.isin(part.index)
                if (mask & denominator).any() and (~mask & denominator).any():
                    expected_tested += 1
    assert report.n_tested == expected_tested == len(report.rows)
