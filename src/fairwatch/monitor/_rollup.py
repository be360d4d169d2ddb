"""Roll-ups: the per-bucket statistics every read is computed from, and how a batch changes them.

A store keeps, per model version (a *series*), time bucket and group, the mergeable statistics a window
needs, at three granularities (*levels*): 5-minute, hourly and daily buckets of the prediction's
timestamp. They are maintained in the ingest transaction, so a window of any length is the sum of a
few buckets, whatever the traffic:

* ``rollup_counts``: predictions per predicted label and label state (no outcome yet, or the
  outcome's label): selection rates, confusion matrices, label coverage;
* ``rollup_scores``: the same split by score bin (:data:`SCORE_BINS` uniform bins on [0, 1]) with
  the sums of scores and squared scores, at the hourly and daily levels: ROC-AUC, calibration, Brier
  score, label-free estimates;
* ``rollup_features``: per feature, counts per value bin (numbers, on a fixed logarithmic grid) or
  per category (text and booleans), at the hourly and daily levels: drift.

Everything here is backend-independent arithmetic on numpy arrays: turning a batch of events into
the *deltas* to add to the roll-up rows. An outcome that arrives after its prediction moves the
prediction's contribution from the unlabelled to the labelled cells of the prediction's buckets (a
delta of -1 and +1); a corrected label moves it between labels. Sums of scores are kept as integers
(nanos), so that adding and removing contributions in any order gives exactly the statistics a
recomputation from the raw events gives.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fairwatch._typing import FloatArray, IntArray
from fairwatch.exceptions import InvalidInputError

__all__ = [
    "BASE_SECONDS",
    "COUNT_LEVELS",
    "FEATURE_LEVELS",
    "LEVEL_SECONDS",
    "NANO",
    "OTHER_CATEGORY",
    "SCORE_BINS",
    "SCORE_LEVELS",
    "Deltas",
    "Limits",
    "dictionary_id",
    "group_key_text",
    "number_codes",
    "number_width",
    "score_bins",
]

#: The base bucket: 5 minutes. Windows and read periods are whole multiples of it.
BASE_SECONDS = 300
#: Bucket length of each level: 5 minutes, 1 hour, 1 day (each a multiple of the one before).
LEVEL_SECONDS: tuple[int, ...] = (BASE_SECONDS, 3600, 86400)
#: Levels at which counts and score histograms are kept.
COUNT_LEVELS: tuple[int, ...] = (0, 1, 2)
#: Levels at which score histograms are kept: score metrics and estimates are read per whole hour
#: (a 5-minute level would triple the rows every batch writes, for windows too small to rank scores in).
SCORE_LEVELS: tuple[int, ...] = (1, 2)
#: Levels at which feature histograms are kept (drift periods are whole hours).
FEATURE_LEVELS: tuple[int, ...] = (1, 2)
#: Uniform score bins on [0, 1] (a score of exactly 1 falls in the last bin).
SCORE_BINS = 100
#: Sums of scores are kept in units of 1e-9 (integers: exact in any order of adds and removals).
NANO = 1_000_000_000
#: Dictionary value standing for the categories of a feature beyond the per-feature limit.
OTHER_CATEGORY = "(other)"
#: Numeric feature values are counted per bin of a fixed width, chosen per feature when the store first
#: sees it: the largest of 1, 2 or 5 times a power of ten that is at most a fiftieth of the spread of
#: those first values (the 5th to 95th percentile), so 50 to 125 bins cover it and the deciles of any
#: later period fall within a couple of percent of the spread.
_MAX_CODE = 2**62
_EXPONENTS = (-12, 15)


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a model's roll-ups (and every read) small; a batch over one gets a 422.

    Attributes
    ----------
    attributes : int
        Sensitive attribute names per model.
    values : int
        Distinct values per sensitive attribute and model.
    groups : int
        Distinct combinations of sensitive values (groups) per model.
    labels : int
        Distinct prediction and outcome labels per model (the service monitors classifiers).
    versions : int
        Model versions per model.
    features : int
        Feature names per model.
    categories : int
        Distinct text values kept per feature and model; further values are counted together as
        ``"(other)"`` (drift results say so), never refused.
    """

    attributes: int = 20
    values: int = 1000
    groups: int = 10_000
    labels: int = 64
    versions: int = 1000
    features: int = 200
    categories: int = 1000


def dictionary_id(kind: str, model: str, name: str, value: str) -> int:
    """The 63-bit id of a dictionary entry: a hash, so every process computes the same id without
    asking the database (a collision is detected when the entry is stored). 0 is never an id: it
    stands for "no label" in the roll-ups."""
    digest = hashlib.blake2b(f"{kind}\0{model}\0{name}\0{value}".encode(), digest_size=8).digest()
    found = int.from_bytes(digest, "big") >> 1
    return found or 1


def group_key_text(pairs: Iterable[tuple[str, str]]) -> str:
    """Canonical text of a group: ``name=value`` pairs sorted by name, joined by unit separators.

    Attributes without a value (missing or null) are not part of the key, so a group does not
    depend on which other attributes the batch's events carried.
    """
    return "\x1f".join(f"{name}\x1e{value}" for name, value in sorted(pairs))


def parse_group_key(text: str) -> dict[str, str]:
    """The attribute values of a canonical group key."""
    if not text:
        return {}
    pairs = (part.split("\x1e", 1) for part in text.split("\x1f"))
    return {name: value for name, value in pairs}


def score_bins(scores: FloatArray) -> IntArray:
    """Bin of each score in [0, 1] (``nan``: -1, no score)."""
    bins = np.minimum(np.floor(np.nan_to_num(scores, nan=-1.0) * SCORE_BINS), SCORE_BINS - 1).astype(np.int64)
    return np.where(np.isnan(scores), -1, bins)


def number_width(values: FloatArray) -> str:
    """The bin width of a numeric feature whose first values are ``values``, as text (``"2e3"``)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "1e-2"
    low, high = np.percentile(finite, [5, 95]) if finite.size >= 20 else (finite.min(), finite.max())
    target = float(high - low) / 50
    tiny = 10.0 ** _EXPONENTS[0]
    if target <= tiny:  # one value so far: a hundredth of its size
        magnitude = float(np.abs(finite).max())
        target = magnitude / 100 if magnitude / 100 > tiny else 1e-2
    exponent = min(max(math.floor(math.log10(target)), _EXPONENTS[0]), _EXPONENTS[1])
    mantissa = max((m for m in (1, 2, 5) if m * 10.0**exponent <= target * (1 + 1e-9)), default=1)
    return f"{mantissa}e{exponent}"


def number_codes(values: FloatArray, width: str) -> IntArray:
    """Bin of each number for bins of ``width``: ``floor(value / width)``; codes sort as the values do."""
    scaled = np.floor(values / float(width))
    return np.clip(scaled, -_MAX_CODE, _MAX_CODE).astype(np.int64)


def number_code_bounds(code: int, width: str) -> tuple[float, float]:
    """The value range ``[low, high)`` of a bin."""
    size = float(width)
    return code * size, (code + 1) * size


def bucket_of(ts_us: IntArray, level: int) -> IntArray:
    """Bucket index of microsecond timestamps at ``level`` (floor division: exact for any epoch)."""
    return np.floor_divide(ts_us, LEVEL_SECONDS[level] * 1_000_000)


def score_nanos(scores: FloatArray) -> tuple[IntArray, IntArray]:
    """Scores and squared scores in integer nanos (0 where there is no score)."""
    s = np.nan_to_num(scores, nan=0.0)
    return np.rint(s * NANO).astype(np.int64), np.rint(s * s * NANO).astype(np.int64)


# -- deltas ----------------------------------------------------------------------------------------------
COUNT_KEYS = ("series", "level", "bucket", "group_id", "prediction", "label")
SCORE_KEYS = (*COUNT_KEYS, "bin")
FEATURE_KEYS = ("series", "level", "bucket", "group_id", "feature", "code")


def _aggregate(
    keys: dict[str, IntArray], sums: dict[str, IntArray], mins: dict[str, IntArray] | None = None
) -> dict[str, IntArray]:
    """Rows grouped by ``keys`` with ``sums`` added and ``mins``/maxes kept (``first``/``last``)."""
    names = list(keys)
    if not names or keys[names[0]].size == 0:
        return {**{k: np.zeros(0, np.int64) for k in keys}, **{k: np.zeros(0, np.int64) for k in sums}}
    order = np.lexsort([keys[k] for k in reversed(names)])
    sorted_keys = {k: v[order] for k, v in keys.items()}
    change = np.zeros(order.size, dtype=bool)
    change[0] = True
    for k in names:
        change[1:] |= sorted_keys[k][1:] != sorted_keys[k][:-1]
    starts = np.flatnonzero(change)
    out = {k: v[starts] for k, v in sorted_keys.items()}
    for name, values in sums.items():
        out[name] = np.add.reduceat(values[order], starts)
    for name, values in (mins or {}).items():
        reduce = np.minimum if name == "first" else np.maximum
        out[name] = reduce.reduceat(values[order], starts)
    return out


@dataclass
class Contributions:
    """Predictions to add to (``sign`` +1) or remove from (-1) the roll-ups, one entry each."""

    series: IntArray
    group_id: IntArray
    prediction: IntArray
    label: IntArray
    ts_us: IntArray
    score: FloatArray
    sign: IntArray

    @classmethod
    def empty(cls) -> Contributions:
        z = np.zeros(0, np.int64)
        return cls(z, z, z, z, z, np.zeros(0), z)

    @classmethod
    def concat(cls, parts: Sequence[Contributions]) -> Contributions:
        parts = [p for p in parts if p.series.size]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))


@dataclass
class Deltas:
    """What one batch adds to each roll-up table: rows keyed like the table, with the amounts to add."""

    counts: dict[str, IntArray] = field(default_factory=dict)
    scores: dict[str, IntArray] = field(default_factory=dict)
    features: dict[str, IntArray] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return all(not t or next(iter(t.values())).size == 0 for t in (self.counts, self.scores, self.features))


def contribution_deltas(c: Contributions) -> Deltas:
    """Count and score deltas of ``c`` at every level (rows whose amounts cancel are dropped)."""
    levels = np.asarray(COUNT_LEVELS, dtype=np.int64)
    rep = len(levels)
    level = np.repeat(levels[None, :], c.series.size, axis=0).reshape(-1)
    bucket = np.concatenate([bucket_of(c.ts_us, int(lv))[:, None] for lv in levels], axis=1).reshape(-1)

    def tiled(a: np.ndarray) -> np.ndarray:
        return np.repeat(a, rep)

    keys = {
        "series": tiled(c.series),
        "level": level,
        "bucket": bucket,
        "group_id": tiled(c.group_id),
        "prediction": tiled(c.prediction),
        "label": tiled(c.label),
    }
    sign = tiled(c.sign).astype(np.int64)
    ts = tiled(c.ts_us)
    counts = _aggregate(keys, {"n": sign}, {"first": ts, "last": ts})
    scored = ~np.isnan(tiled(c.score)) & np.isin(level, SCORE_LEVELS)
    s1, s2 = score_nanos(tiled(c.score))
    score_keys = {k: v[scored] for k, v in keys.items()}
    score_keys["bin"] = score_bins(tiled(c.score))[scored]
    scores = _aggregate(score_keys, {"n": sign[scored], "s1": (s1 * sign)[scored], "s2": (s2 * sign)[scored]})
    nonzero = scores["n"] != 0
    nonzero |= (scores["s1"] != 0) | (scores["s2"] != 0)
    scores = {k: v[nonzero] for k, v in scores.items()}
    return Deltas(counts=counts, scores=scores)


def feature_deltas(
    series: IntArray, group_id: IntArray, ts_us: IntArray, feature: IntArray, code: IntArray
) -> dict[str, IntArray]:
    """Feature histogram rows (one entry per event and feature value) at the feature levels."""
    levels = np.asarray(FEATURE_LEVELS, dtype=np.int64)
    rep = len(levels)
    keys = {
        "series": np.repeat(series, rep),
        "level": np.tile(levels, series.size),
        "bucket": np.concatenate([bucket_of(ts_us, int(lv))[:, None] for lv in levels], axis=1).reshape(-1),
        "group_id": np.repeat(group_id, rep),
        "feature": np.repeat(feature, rep),
        "code": np.repeat(code, rep),
    }
    return _aggregate(keys, {"n": np.ones(series.size * rep, dtype=np.int64)})


def merge_deltas(parts: Sequence[Deltas]) -> Deltas:
    """One set of deltas equal to adding ``parts`` one after the other."""
    out = Deltas()
    for table, keys, sums in (
        ("counts", COUNT_KEYS, ("n",)),
        ("scores", SCORE_KEYS, ("n", "s1", "s2")),
        ("features", FEATURE_KEYS, ("n",)),
    ):
        present = [getattr(p, table) for p in parts if getattr(p, table)]
        if not present:
            continue
        joined = {k: np.concatenate([t[k] for t in present]) for k in present[0]}
        bounds = {k: joined[k] for k in ("first", "last") if k in joined}
        setattr(
            out,
            table,
            _aggregate({k: joined[k] for k in keys}, {k: joined[k] for k in sums}, bounds or None),
        )
    return out


# -- limits -------------------------------------------------------------------------------------------------
def over_limit(what: str, model: str, count: int, limit: int, setting: str, fix: str) -> InvalidInputError:
    """The 422 of a batch that would take a model over one of the :class:`Limits`."""
    return InvalidInputError(
        f"model {model!r} would have {count:,} {what}, over the limit of {limit:,} ({setting}); {fix}. "
        f"Nothing of this batch was stored"
    )


def as_text(value: Any) -> str:
    """Attribute and category values as the dictionary keeps them (the ingest normalisation; a NUL
    character, which PostgreSQL's text cannot hold, reads as U+FFFD)."""
    from fairwatch.monitor._events import normalize_attribute

    text = value if value.__class__ is str else normalize_attribute(value)
    return text.replace("\x00", "\ufffd") if "\x00" in text else text
