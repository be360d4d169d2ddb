"""Feature drift: equals a direct computation and flags a planted shift, on both stores."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from fairwatch.exceptions import InvalidInputError, UnknownModelError
from fairwatch.monitor import PredictionEvent, Store, drift, drift_statistics
from fairwatch.monitor._rollup import number_width

from .events import T0

HOUR = dt.timedelta(hours=1)


def _events(n: int, start: dt.datetime, shift: float, seed: int) -> list[PredictionEvent]:
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["F", "M"]), n)
    income = rng.normal(50, 10, n) + shift * (sex == "F")  # the planted shift hits group F only
    region = rng.choice(np.array(["north", "south", "east"]), n, p=[0.5, 0.3, 0.2] if shift == 0 else [0.2, 0.3, 0.5])
    return [
        PredictionEvent(
            prediction_id=f"{seed}-{i}",
            model="credit",
            timestamp=start + dt.timedelta(seconds=i),
            prediction=int(income[i] > 50),
            sensitive={"sex": str(sex[i])},
            features={"income": round(float(income[i]), 3), "region": str(region[i])},
        )
        for i in range(n)
    ]


@pytest.fixture
def shifted(store: Store) -> Store:
    store.insert_predictions(_events(2000, T0, shift=0.0, seed=1))
    store.insert_predictions(_events(2000, T0 + 2 * HOUR, shift=8.0, seed=2))
    return store


def test_planted_shift_is_flagged_in_the_shifted_group(shifted: Store) -> None:
    results = drift(
        shifted,
        "credit",
        reference_start=T0,
        reference_end=T0 + HOUR,
        start=T0 + 2 * HOUR,
        end=T0 + 3 * HOUR,
        sensitive=["sex"],
    )
    by_key = {(r.feature, None if r.group is None else r.group["sex"]): r for r in results}
    assert by_key[("income", "F")].psi > 0.25 and by_key[("income", "F")].ks_pvalue < 1e-6
    assert by_key[("income", "M")].psi < 0.1 and by_key[("income", "M")].ks_pvalue > 0.001
    assert by_key[("region", None)].chi2_pvalue < 1e-6
    assert by_key[("income", None)].n_reference == 2000


def test_drift_equals_direct_computation(shifted: Store) -> None:
    reference = _events(2000, T0, 0.0, 1)
    current = _events(2000, T0 + 2 * HOUR, 8.0, 2)
    (result,) = [
        r
        for r in drift(
            shifted,
            "credit",
            reference_start=T0,
            reference_end=T0 + HOUR,
            start=T0 + 2 * HOUR,
            end=T0 + 3 * HOUR,
            features=["income"],
        )
    ]
    ref = np.array([e.features["income"] for e in reference if e.features])  # type: ignore[index]
    cur = np.array([e.features["income"] for e in current if e.features])  # type: ignore[index]
    # the store's bins: a width fixed from the first values it saw (the reference batch)
    width = float(number_width(ref))
    edges = _grid_deciles(np.floor(ref / width))
    ref_counts = np.bincount(np.searchsorted(edges, np.floor(ref / width), side="right"), minlength=edges.size + 1)
    cur_counts = np.bincount(np.searchsorted(edges, np.floor(cur / width), side="right"), minlength=edges.size + 1)
    expected = drift_statistics(ref_counts.astype(float), cur_counts.astype(float), "number")
    assert result.psi == pytest.approx(expected["psi"], rel=1e-9)
    assert result.ks == pytest.approx(expected["ks"], rel=1e-9)
    assert result.js == pytest.approx(expected["js"], rel=1e-9)
    # and the binned deciles are close to the exact ones
    exact = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
    exact_stats = drift_statistics(
        np.bincount(np.searchsorted(exact, ref, side="right")).astype(float),
        np.bincount(np.searchsorted(exact, cur, side="right"), minlength=exact.size + 1).astype(float),
        "number",
    )
    assert result.psi == pytest.approx(exact_stats["psi"], abs=0.01)
    assert result.ks == pytest.approx(exact_stats["ks"], abs=0.01)


def _grid_deciles(codes: np.ndarray, bins: int = 10) -> np.ndarray:
    """Decile edges on the store's bins: the first bin whose cumulative share passes each decile."""
    values, counts = np.unique(codes, return_counts=True)
    share = np.cumsum(counts) / counts.sum()
    after = [min(int(np.argmax(share > q + 1e-12)), values.size - 1) for q in np.arange(1, bins) / bins]
    return np.unique(values[after])


def test_drift_statistics_of_identical_distributions() -> None:
    counts = np.array([10.0, 20.0, 30.0])
    stats = drift_statistics(counts, counts * 2, "number")
    assert stats["psi"] == pytest.approx(0.0) and stats["ks"] == pytest.approx(0.0)
    assert stats["js"] == pytest.approx(0.0, abs=1e-12)


def test_drift_bad_requests(shifted: Store) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown feature 'salary' for model 'credit'; known: income, region"):
        drift(
            shifted,
            "credit",
            reference_start=T0,
            reference_end=T0 + HOUR,
            start=T0 + HOUR,
            end=T0 + 2 * HOUR,
            features=["salary"],
        )
    with pytest.raises(InvalidInputError, match=r"each period needs its end after its start"):
        drift(shifted, "credit", reference_start=T0, reference_end=T0, start=T0, end=T0 + HOUR)
    with pytest.raises(UnknownModelError, match=r"unknown model 'nope'"):
        drift(shifted, "nope", reference_start=T0, reference_end=T0 + HOUR, start=T0 + HOUR, end=T0 + 2 * HOUR)


def _direct(
    rows: list[tuple[int, str, object]], kind: str, edges: np.ndarray | None = None, width: float | None = None
) -> dict[str, object]:
    """Drift statistics of (period, group, value) rows, binned as the store does."""
    values = [v for _, _, v in rows]
    if kind == "number":
        assert edges is not None and width is not None
        bins = [int(np.searchsorted(edges, np.floor(float(v) / width), side="right")) for v in values]  # type: ignore[arg-type]
    else:
        bins = [str(v) for v in values]
    labels = sorted(set(bins), key=str)
    table = np.zeros((2, len(labels)))
    for (period, _, _), b in zip(rows, bins):
        table[period, labels.index(b)] += 1
    return {"n": (int(table[0].sum()), int(table[1].sum())), **drift_statistics(table[0], table[1], kind)}


def test_mixed_missing_and_null_features_equal_direct_computation(store: Store) -> None:
    """All features of a period are read together: nulls, absent keys, a feature that is sometimes a
    string (a category) and one that only exists in one period are each handled as on their own."""
    rng = np.random.default_rng(5)
    events, kept = [], []
    for i in range(1200):
        period = int(i >= 600)
        sex = "F" if i % 3 else "M"
        x = None if i % 7 == 0 else round(float(rng.normal(period * 0.5, 1)), 3)
        code: object = int(rng.integers(0, 3)) if i % 5 else "other"
        features: dict[str, object] = {"code": code, **({} if i % 11 == 0 else {"x": x})}
        if period == 1:
            features["late"] = "yes"
        events.append(
            PredictionEvent(
                prediction_id=f"m{i}",
                model="credit",
                timestamp=T0 + period * 2 * HOUR + dt.timedelta(seconds=i % 600),
                prediction=i % 2,
                sensitive={"sex": sex},
                features=features,  # type: ignore[arg-type]
            )
        )
        kept.append((period, sex, features))
    store.insert_predictions(events)
    store.insert_predictions(events[:100])  # re-sent: counted once
    results = drift(
        store,
        "credit",
        reference_start=T0,
        reference_end=T0 + HOUR,
        start=T0 + 2 * HOUR,
        end=T0 + 3 * HOUR,
        sensitive=["sex"],
    )
    got = {(r.feature, None if r.group is None else r.group["sex"]): r for r in results}
    assert {f for f, _ in got} == {"code", "x", "late"}
    x_rows = [(p, s, f["x"]) for p, s, f in kept if f.get("x") is not None]
    width = float(number_width(np.array([v for _, _, v in x_rows], dtype=float)))  # one batch: all values
    edges = _grid_deciles(np.floor(np.array([v for p, _, v in x_rows if p == 0], dtype=float) / width))
    code_rows = [(p, s, f["code"]) for p, s, f in kept]
    for feature, kind, rows in (("x", "number", x_rows), ("code", "category", code_rows)):
        for group in (None, "F", "M"):
            subset = [r for r in rows if group is None or r[1] == group]
            expected = _direct(subset, kind, edges if kind == "number" else None, width)
            result = got[(feature, group)]
            assert result.kind == kind
            assert (result.n_reference, result.n_current) == expected["n"]
            assert result.psi == pytest.approx(expected["psi"], rel=1e-9)
            assert result.js == pytest.approx(expected["js"], rel=1e-9, abs=1e-15)
    assert (got[("late", None)].n_reference, got[("late", None)].n_current) == (0, 600)
    assert got[("late", None)].psi is None


def test_feature_names_come_from_stored_events_only(store: Store) -> None:
    first = PredictionEvent(
        prediction_id="a", model="credit", timestamp=T0, prediction=1, sensitive={"sex": "F"}, features={"x": 1}
    )
    store.insert_predictions([first])
    resent = first.model_copy(update={"features": {"y": 2}})
    assert store.insert_predictions([resent]).duplicates == 1
    with pytest.raises(InvalidInputError, match=r"unknown feature 'y' for model 'credit'; known: x"):
        drift(
            store,
            "credit",
            reference_start=T0,
            reference_end=T0 + HOUR,
            start=T0 + HOUR,
            end=T0 + 2 * HOUR,
            features=["y"],
        )
