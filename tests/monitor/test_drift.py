"""Feature drift: equals a direct computation and flags a planted shift, on both stores."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from fairwatch.exceptions import InvalidInputError, UnknownModelError
from fairwatch.monitor import PredictionEvent, Store, drift, drift_statistics

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
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
    ref_counts = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1)
    cur_counts = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1)
    expected = drift_statistics(ref_counts.astype(float), cur_counts.astype(float), "number")
    assert result.psi == pytest.approx(expected["psi"], rel=1e-9)
    assert result.ks == pytest.approx(expected["ks"], rel=1e-9)
    assert result.js == pytest.approx(expected["js"], rel=1e-9)


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
