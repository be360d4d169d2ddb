"""Feature drift per group: a reference period against a current period, from the roll-ups.

Numeric features are binned at the reference period's deciles (by default) and compared with the
population stability index (PSI), the Jensen–Shannon divergence (base 2, in [0, 1]) and the
Kolmogorov–Smirnov statistic on the binned distributions; categorical features with the χ² test
and the Jensen–Shannon divergence.

The store keeps, per hour and group, each feature's counts on a fixed logarithmic grid of values
(bins about 4% wide) and per category. The deciles are read off the reference period's grid counts,
so a decile edge is within a grid bin of the exact quantile; both periods are binned with the same
edges. Periods are whole hours.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from fairwatch.exceptions import InvalidInputError, UnknownModelError
from fairwatch.monitor._cells import Grid, _codes_of, check_size, feature_rows, group_map, make_grid
from fairwatch.monitor._dictionary import ModelEntries
from fairwatch.monitor._events import EARLIEST, LATEST
from fairwatch.monitor._rollup import OTHER_CATEGORY
from fairwatch.monitor._store import Store

__all__ = ["FeatureDrift", "drift", "drift_statistics"]

_EPS = 1e-4


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one feature, overall (``group is None``) or within one group.

    ``note`` says when the numbers are approximate: text values beyond the store's per-feature limit
    counted together as ``"(other)"``, or a feature with both numbers and text.
    """

    feature: str
    kind: str
    group: dict[str, str | None] | None
    n_reference: int
    n_current: int
    psi: float | None
    js: float | None
    ks: float | None = None
    ks_pvalue: float | None = None
    chi2: float | None = None
    chi2_pvalue: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def drift_statistics(reference: np.ndarray, current: np.ndarray, kind: str) -> dict[str, float | None]:
    """PSI, JS and KS (numeric) or χ² (categorical) from two count vectors over the same bins."""
    n_ref, n_cur = float(reference.sum()), float(current.sum())
    if n_ref == 0 or n_cur == 0:
        return {"psi": None, "js": None}
    p = np.clip(reference / n_ref, _EPS, None)
    q = np.clip(current / n_cur, _EPS, None)
    p, q = p / p.sum(), q / q.sum()
    psi = float(np.sum((q - p) * np.log(q / p)))
    m = 0.5 * (p + q)
    js = float(0.5 * np.sum(p * np.log2(p / m)) + 0.5 * np.sum(q * np.log2(q / m)))
    out: dict[str, float | None] = {"psi": _num(psi), "js": _num(max(js, 0.0))}
    if kind == "number":
        ks = float(np.max(np.abs(np.cumsum(reference) / n_ref - np.cumsum(current) / n_cur)))
        effective = math.sqrt(n_ref * n_cur / (n_ref + n_cur))
        out["ks"] = _num(ks)
        out["ks_pvalue"] = _num(float(scipy_stats.kstwobign.sf(effective * ks)))
    else:
        table = np.vstack([reference, current])
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] >= 2:
            chi2, pvalue, _, _ = scipy_stats.chi2_contingency(table, correction=False)
            out["chi2"], out["chi2_pvalue"] = _num(float(chi2)), _num(float(pvalue))
    return out


def _period_grid(name: str, start: datetime, end: datetime) -> Grid:
    for label, value in ((f"{name}_start" if name else "start", start), (f"{name}_end" if name else "end", end)):
        if value.tzinfo is None:
            raise InvalidInputError(f"{label} must include a timezone; got {value}")
        if not EARLIEST <= value <= LATEST:
            raise InvalidInputError(f"{label} ({value.isoformat()}) is outside the supported range 1970 to 2199")
    if end <= start:
        raise InvalidInputError("each period needs its end after its start")
    return make_grid(start, end, end - start, finest=1, what=f"the {name or 'current'} period")


def drift(
    store: Store,
    model: str,
    *,
    reference_start: datetime,
    reference_end: datetime,
    start: datetime,
    end: datetime,
    sensitive: Sequence[str] = (),
    features: Sequence[str] | None = None,
    bins: int = 10,
    model_version: str | None = None,
) -> list[FeatureDrift]:
    """Drift of each feature between the reference and the current period, overall and per group.

    Periods are whole hours (the store keeps feature histograms per hour and day).
    """
    grids = [_period_grid("reference", reference_start, reference_end), _period_grid("", start, end)]
    if not 2 <= bins <= 100:
        raise InvalidInputError(f"bins must be between 2 and 100; got {bins}")
    if store.time_range(model) is None:
        raise UnknownModelError(f"unknown model {model!r}: no predictions stored for it")
    entries = store.entries(model)
    known = entries.feature_names()
    chosen = list(dict.fromkeys(features)) if features else known
    for feature in chosen:
        if feature not in known:
            raise InvalidInputError(
                f"unknown feature {feature!r} for model {model!r}; known: {', '.join(known) or 'none'}"
            )
    attributes = store.sensitive_attributes(model)
    for attribute in sensitive:
        if attribute.lower() not in attributes:
            raise InvalidInputError(
                f"unknown sensitive attribute {attribute!r} for model {model!r}; known: {', '.join(attributes)}"
            )
    mapping = group_map(store, model, sensitive)
    check_size(2, len(mapping.keys) * max(len(chosen), 1))
    series = store.series_ids(model, model_version)
    # per feature id: rows (period, group code, code, n)
    counts: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    for period, grid in enumerate(grids):
        rows = feature_rows(store, series, grid)
        if not rows:
            continue
        _, group_ids, feature_ids, codes, ns = (np.asarray(c) for c in zip(*rows))
        group_codes = _codes_of(mapping, group_ids.astype(np.int64)).tolist()
        for i, feature_id in enumerate(feature_ids.tolist()):
            counts[int(feature_id)].append((period, group_codes[i], int(codes[i]), int(ns[i])))
    results: list[FeatureDrift] = []
    for feature in chosen:
        results.extend(_feature_drift(feature, entries, counts, mapping.keys, tuple(sensitive), bins))
    return results


def _feature_ids(entries: ModelEntries, feature: str) -> dict[str, int]:
    return {kind: i for i, (name, kind) in entries.features.items() if name == feature}


def _feature_drift(
    feature: str,
    entries: ModelEntries,
    counts: dict[int, list[tuple[int, int, int, int]]],
    keys: Sequence[Any],
    sensitive: tuple[str, ...],
    bins: int,
) -> list[FeatureDrift]:
    ids = _feature_ids(entries, feature)
    numbers = counts.get(ids.get("number", -1), [])
    texts = counts.get(ids.get("category", -1), [])
    if not numbers and not texts:
        return []
    note = None
    if texts:
        kind = "category"
        # numbers of a mixed feature count as categories of their grid bin
        rows = [(p, g, ("c", c), n) for p, g, c, n in texts] + [(p, g, ("n", c), n) for p, g, c, n in numbers]
        if numbers:
            note = "the feature has numbers and text: numbers are counted as categories of their value bin"
        other = {i for i, (name, value) in entries.categories.items() if name == feature and value == OTHER_CATEGORY}
        if any(c in other for _, _, c, _ in texts):
            note = (
                "text values beyond the store's limit of categories per feature are counted together as "
                f"{OTHER_CATEGORY!r}"
            )
    else:
        kind = "number"
        edges = _decile_codes([(c, n) for p, _, c, n in numbers if p == 0], bins)
        rows = [(p, g, ("n", int(np.searchsorted(edges, c, side="right"))), n) for p, g, c, n in numbers]
    return _summaries(feature, kind, sensitive, keys, rows, note)


def _decile_codes(reference: list[tuple[int, int]], bins: int) -> np.ndarray:
    """Grid codes where the reference period's quantiles ``1/bins, 2/bins, ...`` fall: a value goes to
    the bin of the number of edges at or below its code."""
    if not reference:
        return np.zeros(0, np.int64)
    totals: dict[int, int] = defaultdict(int)
    for code, n in reference:
        totals[code] += n
    codes = np.asarray(sorted(totals), np.int64)
    share = np.cumsum([totals[c] for c in codes.tolist()]) / sum(totals.values())
    edges = {
        int(codes[min(np.searchsorted(share, q + 1e-12, side="right"), codes.size - 1)])
        for q in np.arange(1, bins) / bins
    }
    return np.asarray(sorted(edges), np.int64)


def _summaries(
    feature: str,
    kind: str,
    sensitive: tuple[str, ...],
    keys: Sequence[Any],
    rows: Sequence[tuple[int, int, Any, int]],
    note: str | None,
) -> list[FeatureDrift]:
    """Drift per group (and overall) from rows ``(period, group code, bin, count)``."""
    categories = sorted({r[2] for r in rows})  # (kind, bin): numeric bins in value order
    index = {c: i for i, c in enumerate(categories)}
    tables: dict[Any, np.ndarray] = defaultdict(lambda: np.zeros((2, len(categories))))
    for period, group, bucket, n in rows:
        tables[None][period, index[bucket]] += n
        if sensitive:
            tables[keys[group]][period, index[bucket]] += n
    out = []
    for group_key in sorted(tables, key=lambda k: (k is not None, str(k))):
        table = tables[group_key]
        out.append(
            FeatureDrift(
                feature=feature,
                kind=kind,
                group=None if group_key is None else dict(zip(sensitive, group_key)),
                n_reference=int(table[0].sum()),
                n_current=int(table[1].sum()),
                **drift_statistics(table[0], table[1], kind),
                note=note,
            )
        )
    return out
