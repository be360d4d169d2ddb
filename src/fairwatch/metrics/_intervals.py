"""Confidence intervals: Wilson, Newcombe, normal, and the bootstrap on statistics.

The bootstrap never touches rows: each group's cells (confusion cells, score-histogram cells) are
resampled as one multinomial draw of the group's size, vectorised over replicates and groups.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fairwatch._typing import FloatArray
from fairwatch.exceptions import InvalidInputError
from fairwatch.metrics._group_stats import REGRESSION_FIELDS, GroupStats, ScoreHistogram
from fairwatch.metrics._registry import CALIBRATION_BINS, Metric, metric_values

__all__ = [
    "bootstrap_replicates",
    "metric_interval",
    "mover_ratio_interval",
    "newcombe_cc_interval",
    "newcombe_interval",
    "percentile_interval",
    "wilson_cc_interval",
    "wilson_interval",
    "z_value",
]

#: Score histograms are merged to at most this many bins per label before resampling.
BOOTSTRAP_SCORE_BINS = 200


def z_value(ci: float) -> float:
    """The two-sided standard normal quantile for confidence level ``ci``."""
    if not isinstance(ci, (float, int)) or isinstance(ci, bool) or not 0.0 < float(ci) < 1.0:
        raise InvalidInputError(f"ci must be a confidence level strictly between 0 and 1 (e.g. 0.95); got {ci!r}")
    # scipy.special costs ~0.2 s to import; load it on first use so `import fairwatch` stays light.
    from scipy.special import ndtri

    return float(ndtri(0.5 + float(ci) / 2.0))


def wilson_interval(
    successes: FloatArray, n: FloatArray, ci: float = 0.95, *, p: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a proportion (``nan`` where ``n == 0``).

    ``p`` overrides ``successes / n`` (used with sample weights, where ``p`` is the weighted
    proportion and ``n`` the number of rows behind it).
    """
    z = z_value(ci)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        phat = np.asarray(successes, dtype=np.float64) / n if p is None else np.asarray(p, dtype=np.float64)
        denom = 1.0 + z * z / n
        centre = (phat + z * z / (2.0 * n)) / denom
        half = z * np.sqrt(np.clip(phat * (1.0 - phat), 0.0, None) / n + z * z / (4.0 * n * n)) / denom
    lo = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return lo, hi


def newcombe_interval(
    p1: FloatArray, n1: FloatArray, p2: FloatArray, n2: FloatArray, ci: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Newcombe's hybrid score interval for ``p1 - p2`` (method 10 of Newcombe 1998)."""
    l1, u1 = wilson_interval(np.asarray(p1) * n1, n1, ci, p=p1)
    l2, u2 = wilson_interval(np.asarray(p2) * n2, n2, ci, p=p2)
    d = np.asarray(p1, dtype=np.float64) - np.asarray(p2, dtype=np.float64)
    lo = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return lo, hi


def wilson_cc_interval(p: FloatArray, n: FloatArray, ci: float) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval with continuity correction (Newcombe 1998, method 4).

    The correction keeps the one-sided error rate at or below its nominal level for the small,
    discrete counts of monitoring windows, where the uncorrected limits exceed it slightly.
    """
    z = z_value(ci)
    p = np.asarray(p, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        root_lo = np.sqrt(np.clip(z * z - 2 - 1 / n + 4 * p * (n * (1 - p) + 1), 0, None))
        root_hi = np.sqrt(np.clip(z * z + 2 - 1 / n + 4 * p * (n * (1 - p) - 1), 0, None))
        lo = (2 * n * p + z * z - 1 - z * root_lo) / (2 * (n + z * z))
        hi = (2 * n * p + z * z + 1 + z * root_hi) / (2 * (n + z * z))
    lo = np.where(p <= 0, 0.0, np.clip(lo, 0.0, 1.0))
    hi = np.where(p >= 1, 1.0, np.clip(hi, 0.0, 1.0))
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def newcombe_cc_interval(
    p1: FloatArray, n1: FloatArray, p2: FloatArray, n2: FloatArray, ci: float
) -> tuple[FloatArray, FloatArray]:
    """Newcombe's hybrid score interval for ``p1 - p2`` from continuity-corrected Wilson limits
    (Newcombe 1998, method 11)."""
    l1, u1 = wilson_cc_interval(p1, n1, ci)
    l2, u2 = wilson_cc_interval(p2, n2, ci)
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def mover_ratio_interval(
    p1: FloatArray, n1: FloatArray, p2: FloatArray, n2: FloatArray, ci: float, *, continuity: bool = True
) -> tuple[FloatArray, FloatArray]:
    """MOVER-R interval for ``p1 / p2`` from Wilson limits of each proportion (Donner & Zou 2012),
    continuity-corrected by default; the upper limit is ``inf`` when ``p2``'s lower limit is 0."""
    if continuity:
        l1, u1 = wilson_cc_interval(p1, n1, ci)
        l2, u2 = wilson_cc_interval(p2, n2, ci)
    else:
        l1, u1 = wilson_interval(np.asarray(p1) * n1, n1, ci, p=p1)
        l2, u2 = wilson_interval(np.asarray(p2) * n2, n2, ci, p=p2)
    with np.errstate(divide="ignore", invalid="ignore"):
        prod = p1 * p2
        lower = (prod - np.sqrt(np.clip(prod**2 - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2), 0, None))) / (
            u2 * (2 * p2 - u2)
        )
        upper = (prod + np.sqrt(np.clip(prod**2 - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2), 0, None))) / (
            l2 * (2 * p2 - l2)
        )
    upper = np.where(l2 <= 0, np.inf, upper)
    return np.clip(lower, 0, None), upper


def _resample_cells(
    counts: FloatArray, arrays: dict[str, FloatArray], n_boot: int, rng: np.random.Generator
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Multinomial resampling of each group's cells; cell totals scale with the resampled counts.

    ``counts`` has shape ``(G, C)`` (unweighted counts per cell); every array in ``arrays`` has the
    same shape and is rescaled by (resampled count / original count) cell by cell.
    """
    totals = counts.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pvals = np.where(totals[:, None] > 0, counts / np.where(totals > 0, totals, 1.0)[:, None], 0.0)
    pvals = pvals / np.maximum(pvals.sum(axis=-1, keepdims=True), 1.0)
    drawn = rng.multinomial(totals.astype(np.int64), pvals, size=(n_boot, counts.shape[0])).astype(np.float64)
    scaled: dict[str, FloatArray] = {}
    for name, values in arrays.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            per_row = np.where(counts > 0, values / np.where(counts > 0, counts, 1.0), 0.0)
        scaled[name] = drawn * per_row
    return drawn, scaled


def _coarsen_scores(hist: ScoreHistogram, max_bins: int) -> ScoreHistogram:
    """Merge adjacent bins (never across a calibration bin) to at most about ``max_bins`` bins."""
    calibration = hist.coarse_index(CALIBRATION_BINS)
    if hist.n_bins <= max_bins:
        return replace(hist, calibration_index=calibration)
    mass = hist.n.sum(axis=(0, 1))
    cumulative = np.cumsum(mass) / max(mass.sum(), 1.0)
    target = np.minimum((cumulative * max_bins).astype(np.int64), max_bins - 1)
    # A new coarse bin starts where the quantile slot or the calibration bin changes.
    starts = np.ones(hist.n_bins, dtype=bool)
    starts[1:] = (np.diff(target) != 0) | (np.diff(calibration) != 0)
    coarse_of = np.cumsum(starts) - 1
    n_coarse = int(coarse_of[-1]) + 1
    first = np.flatnonzero(starts)

    def fold(values: FloatArray) -> FloatArray:
        out = np.zeros(values.shape[:-1] + (n_coarse,), dtype=np.float64)
        moved = np.moveaxis(out, -1, 0)
        np.add.at(moved, coarse_of, np.moveaxis(values, -1, 0))
        return out

    edges = np.append(hist.edges[first], hist.edges[-1])
    return ScoreHistogram(
        edges=edges,
        binning="distinct",
        w=fold(hist.w),
        n=fold(hist.n),
        ws=fold(hist.ws),
        wss=fold(hist.wss),
        calibration_index=calibration[first],
    )


def bootstrap_replicates(stats: GroupStats, n_boot: int, rng: np.random.Generator) -> tuple[GroupStats, GroupStats]:
    """``n_boot`` bootstrap replicates of ``stats`` (leading axis) and the point statistics they
    were drawn from (identical to ``stats`` except for coarsened score histograms).

    Regression moments are not resampled (their intervals are normal approximations).
    """
    if n_boot < 2:
        raise InvalidInputError(f"n_boot must be at least 2; got {n_boot}")
    g = stats.n_groups
    n_rep = np.zeros((n_boot, g))
    w_rep = np.zeros((n_boot, g))
    confusion = confusion_n = None
    if stats.confusion is not None and stats.confusion_n is not None:
        drawn, scaled = _resample_cells(
            stats.confusion_n.reshape(g, 4), {"w": stats.confusion.reshape(g, 4)}, n_boot, rng
        )
        confusion_n = drawn.reshape(n_boot, g, 2, 2)
        confusion = scaled["w"].reshape(n_boot, g, 2, 2)
        n_rep, w_rep = drawn.sum(axis=-1), scaled["w"].sum(axis=-1)
    predictions = predictions_n = None
    if stats.predictions is not None and stats.predictions_n is not None:
        # unlabelled rows: their predictions are resampled on their own
        predictions_n, scaled = _resample_cells(stats.predictions_n, {"w": stats.predictions}, n_boot, rng)
        predictions = scaled["w"]
    point = stats
    scores = None
    if stats.scores is not None:
        hist = _coarsen_scores(stats.scores, BOOTSTRAP_SCORE_BINS)
        point = replace(stats, scores=hist)
        b = hist.n_bins
        drawn, scaled = _resample_cells(
            hist.n.reshape(g, 2 * b),
            {k: v.reshape(g, 2 * b) for k, v in hist.arrays().items() if k != "n"},
            n_boot,
            rng,
        )
        scores = replace(
            hist,
            n=drawn.reshape(n_boot, g, 2, b),
            w=scaled["w"].reshape(n_boot, g, 2, b),
            ws=scaled["ws"].reshape(n_boot, g, 2, b),
            wss=scaled["wss"].reshape(n_boot, g, 2, b),
        )
        if confusion is None:
            n_rep, w_rep = drawn.sum(axis=-1), scaled["w"].sum(axis=-1)
    replicates = GroupStats(
        sensitive_names=stats.sensitive_names,
        groups=stats.groups,
        n=n_rep,
        weight=w_rep,
        confusion=confusion,
        confusion_n=confusion_n,
        predictions=predictions,
        predictions_n=predictions_n,
        scores=scores,
        regression=None,
        pos_label=stats.pos_label,
        weighted=stats.weighted,
    )
    return replicates, point


def percentile_interval(replicates: FloatArray, ci: float) -> tuple[FloatArray, FloatArray]:
    """Percentile interval over the first axis, ignoring ``nan`` replicates."""
    z_value(ci)
    alpha = (1.0 - ci) / 2.0
    reps = np.asarray(replicates, dtype=np.float64)
    defined = ~np.isnan(reps)
    lo = np.full(reps.shape[1:], np.nan)
    hi = np.full(reps.shape[1:], np.nan)
    ok = defined.sum(axis=0) >= 2
    if ok.any():
        safe = np.where(defined, reps, np.nan)[:, ok]
        lo[ok] = np.nanquantile(safe, alpha, axis=0)
        hi[ok] = np.nanquantile(safe, 1.0 - alpha, axis=0)
    return lo, hi


def _normal_interval(stats: GroupStats, metric: Metric, values: FloatArray, ci: float) -> tuple[FloatArray, FloatArray]:
    z = z_value(ci)
    n = np.asarray(stats.n, dtype=np.float64)
    if metric.name == "count":
        return values.copy(), values.copy()
    if stats.regression is None:
        nan = np.full(values.shape, np.nan)
        return nan, nan.copy()
    r = {name: stats.regression[..., i] for i, name in enumerate(REGRESSION_FIELDS)}
    with np.errstate(divide="ignore", invalid="ignore"):
        w = r["w"]
        first, second = {
            "mean_absolute_error": ("wae", "wee"),
            "mean_prediction": ("wp", "wpp"),
            "mean_label": ("wy", "wyy"),
            "mean_error": ("we", "wee"),
            "mean_squared_error": ("wee", "we4"),
            "root_mean_squared_error": ("wee", "we4"),
        }[metric.name]
        mean = r[first] / w
        var = np.clip(r[second] / w - mean**2, 0.0, None)
        half = z * np.sqrt(var / n)
        lo, hi = mean - half, mean + half
        if metric.name == "root_mean_squared_error":
            lo, hi = np.sqrt(np.clip(lo, 0.0, None)), np.sqrt(hi)
        elif metric.name in ("mean_absolute_error", "mean_squared_error"):
            lo = np.clip(lo, 0.0, None)
    invalid = n < 2
    return np.where(invalid, np.nan, lo), np.where(invalid, np.nan, hi)


def metric_interval(
    stats: GroupStats, metric: Metric, values: FloatArray, ci: float, replicates: tuple[GroupStats, GroupStats] | None
) -> tuple[FloatArray, FloatArray]:
    """Per-group interval for ``metric`` using the method the metric declares."""
    if metric.interval == "wilson":
        num, den = metric.proportion(stats)
        _, den_n = metric.proportion(stats, weighted=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        return wilson_interval(p * den_n, den_n, ci, p=p)
    if metric.interval == "normal":
        return _normal_interval(stats, metric, values, ci)
    if replicates is None:
        raise InvalidInputError(f"{metric.name} needs bootstrap replicates for its interval")
    reps, point = replicates
    rep_values = metric_values(reps, metric, warn=False)
    lo, hi = percentile_interval(rep_values, ci)
    if point is not stats:  # histograms were coarsened: recentre on the exact point value
        shift = values - metric_values(point, metric, warn=False)
        lo, hi = lo + shift, hi + shift
    return lo, hi
