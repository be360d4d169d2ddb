"""Alert rules and their evaluation on windows of stored events.

A rule says which statistic to watch (a fairness disparity, a feature's drift or the label
coverage), on which windows, and when it is breached. Evaluation turns one window's GroupStats into
one verdict per compared group (or group pair), with the evidence behind it.

Decisions and the statistics behind them
----------------------------------------
Without ``significance`` a comparison fires on its point value. With ``significance=α`` it fires
only when the confidence bound lies wholly beyond the threshold. Every comparison is treated as one
or two *one-sided* tests:

- a **directed** comparison (one group against the ``reference`` group, or a group's own value) is
  one test: ``group - reference > t`` fires when the one-sided ``1 - α`` lower bound exceeds ``t``
  (the lower end of a two-sided ``1 - 2α`` interval). A level-α test of ``H0: d <= t`` needs
  exactly that; a two-sided ``1 - α`` interval would be a level-α/2 test and lose power
  (a true 0.1 gap at n=500 per group: 88% instead of 94% detection);
- an **undirected** pair (``|a - b| > t``, or a min/max ratio below ``t``) can be breached in either
  direction, so it counts as two one-sided tests (equivalently a two-sided ``1 - α`` interval);
  ``|a - b| < t`` needs both directions at once (two one-sided tests, TOST) and counts as one;
- with several comparisons in one window (groups, pairs, the parts of ``equalized_odds``) the
  ``m`` one-sided tests share ``α`` (Bonferroni: each at ``α / m``), so a window with many groups
  does not fire more often by chance than a window with two.

Proportions use continuity-corrected Wilson limits (a group's value), Newcombe's hybrid score
interval built from them (differences) and the MOVER-R interval (ratios, Donner & Zou 2012); score
metrics use the bootstrap on statistics. The continuity correction keeps the false-alarm rate at or
below ``α`` for the small discrete counts of a window (uncorrected limits reach 5.2-5.8 % at
α = 0.05 in ``benchmarks/false_alarms.py``). ``lo`` and ``hi`` are the bounds the decision used.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import combinations
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    StrictBool,
    Tag,
    TypeAdapter,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from fairwatch._typing import FloatArray, GroupKey
from fairwatch.exceptions import InvalidInputError, UndefinedMetricWarning, UnknownMetricError, UnknownModelError
from fairwatch.metrics import GroupStats
from fairwatch.metrics._intervals import (
    bootstrap_replicates,
    mover_ratio_interval,
    newcombe_cc_interval,
    percentile_interval,
    wilson_cc_interval,
)
from fairwatch.metrics._registry import get_metric, list_metrics, metric_values
from fairwatch.metrics._summary import COMPOSITES
from fairwatch.monitor._cells import _codes_of, count_rows, group_map, make_grid
from fairwatch.monitor._durations import DURATION_PATTERN, parse_duration
from fairwatch.monitor._events import ATTRIBUTE_LIST, ATTRIBUTE_NAME, MODEL_NAME, NO_NUL
from fairwatch.monitor._rollup import BASE_SECONDS
from fairwatch.monitor._store import Store
from fairwatch.monitor._windows import _check_sensitive, _labelled_view

_ATTRIBUTE_RE = re.compile(ATTRIBUTE_NAME)
__all__ = [
    "Comparison",
    "DriftRule",
    "FairnessRule",
    "LabelCoverageRule",
    "Rule",
    "WindowEvaluation",
    "assess_stats",
    "evaluate_rule",
    "parse_rule",
    "rule_metrics",
]

#: Longest window (and delay) a rule may use.
MAX_WINDOW = timedelta(days=366)
#: Bootstrap replicates for score metrics (enough for the far tails Bonferroni asks for).
N_BOOT = 2000
DRIFT_STATISTICS = ("psi", "js", "ks", "chi2")


# -- rule models ------------------------------------------------------------------------------------
def _no_nul(value: Any, where: str = "rule") -> None:
    """Reject NUL characters anywhere in the input (PostgreSQL text cannot hold them)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(f"{where}: text must not contain NUL characters")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key, where)
            _no_nul(item, f"{key}" if where == "rule" else f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            _no_nul(item, where)


# What the validators below check of one field, the JSON Schema says too (``json_schema_extra``): the
# validators keep their messages. What depends on other fields (a threshold's range on the disparity,
# the groups on the sensitive attributes) or on the service (configured notifiers) the schema cannot say.
#: Texts: no NUL character (``_no_nul``).
_TEXT = Field(json_schema_extra={"pattern": NO_NUL})
#: Durations: their syntax (``_duration`` checks the value: a whole number of 5 minutes, at most 366 days).
_DURATION: dict[str, JsonValue] = {"pattern": DURATION_PATTERN}
#: A group: a value (text) per sensitive attribute.
GroupValues = Annotated[
    dict[str, Annotated[str, _TEXT]], Field(json_schema_extra={"propertyNames": {"pattern": ATTRIBUTE_NAME}})
]


def _kind_required(schema: dict[str, Any]) -> None:
    """A rule without ``kind`` is a fairness rule: other kinds must say theirs."""
    schema["required"] = [*schema.get("required", []), "kind"]


class _RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, _TEXT] = Field(min_length=1, max_length=200, description="A name for people")
    model: str = Field(pattern=MODEL_NAME, description="The monitored model")
    model_version: Annotated[str, _TEXT] | None = Field(
        default=None, max_length=64, description="Only this model version (default: all)"
    )
    window: str = Field(
        default="1d",
        description="Window length: <integer><unit>, unit s, m, h, d or w (a whole number of 5 minutes)",
        json_schema_extra=_DURATION,
    )
    delay: Annotated[str, Field(json_schema_extra=_DURATION)] | None = Field(
        default=None,
        description="Evaluate a window only this long after it closed (late events and labels), e.g. 2d",
    )
    op: Literal[">", "<"] = Field(default=">", description="Fire when the statistic is above (>) or below (<)")
    threshold: float = Field(strict=True, description="The limit the statistic is compared with")
    # strict: a JSON false is not a group size, nor a 0 a boolean (the schema documents the types)
    min_group_size: int = Field(default=30, ge=0, strict=True, description="Groups with fewer rows never fire")
    significance: float | None = Field(
        default=None,
        gt=0,
        lt=0.5,
        description="Fire only when the confidence bound clears the threshold, at this level (e.g. 0.05)",
    )
    notify: list[Annotated[str, _TEXT]] = Field(default_factory=list, description="Names of configured notifiers")
    enabled: StrictBool = True

    @model_validator(mode="before")
    @classmethod
    def _text(cls, data: Any) -> Any:
        _no_nul(data)
        return data

    @field_validator("window", "delay")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            width = parse_duration(value)
        except (InvalidInputError, OverflowError) as exc:
            raise ValueError(str(exc) if isinstance(exc, InvalidInputError) else f"{value!r} is too long") from None
        if width > MAX_WINDOW:
            raise ValueError(f"at most {MAX_WINDOW.days} days (e.g. 1d, 1w, 52w); got {value!r}")
        if width.total_seconds() % BASE_SECONDS:
            raise ValueError(
                f"a whole number of {BASE_SECONDS // 60} minutes (the store keeps statistics per "
                f"{BASE_SECONDS // 60}-minute bucket), e.g. 15m, 1h, 1d; got {value!r}"
            )
        return value.strip()

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"threshold must be a finite number; got {value}")
        return value

    @property
    def width(self) -> timedelta:
        return parse_duration(self.window)

    @property
    def lag(self) -> timedelta:
        return parse_duration(self.delay) if self.delay else timedelta(0)


def _sensitive_list(value: Any) -> Any:
    names = [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value
    for name in names if isinstance(names, list) else []:
        if isinstance(name, str) and not _ATTRIBUTE_RE.match(name):
            raise ValueError(f"sensitive attribute name {name!r} is not an identifier (letters, digits, _)")
    return names


def _names_schema(*, some: bool) -> WithJsonSchema:
    """Attribute names: a list, or one comma-separated string (documented as both); ``some``: at least one."""
    names: dict[str, Any] = {"type": "array", "items": {"type": "string", "pattern": ATTRIBUTE_NAME}}
    text: list[dict[str, Any]] = [{"type": "string", "pattern": ATTRIBUTE_LIST}]
    if some:
        names["minItems"] = 1
    else:
        text.append({"const": ""})
    return WithJsonSchema({"anyOf": [names, *text], "title": "Sensitive"})


SensitiveNames = Annotated[list[str], _names_schema(some=False)]
#: At least one attribute name.
SomeSensitiveNames = Annotated[list[str], _names_schema(some=True)]


class FairnessRule(_RuleBase):
    """A disparity between groups (or a group's own value) crossing a threshold.

    Examples
    --------
    >>> rule = FairnessRule(name="dp", model="credit", metric="selection_rate", disparity="difference",
    ...                     threshold=0.1, sensitive=["sex"], significance=0.05)
    >>> rule.directed, rule.metrics
    (False, ('selection_rate',))
    """

    kind: Literal["fairness"] = "fairness"
    metric: str = Field(
        description="A metric name (selection_rate, true_positive_rate, ...) or demographic_parity, ..."
    )
    disparity: Literal["difference", "ratio", "value"] = "difference"
    sensitive: SomeSensitiveNames = Field(min_length=1, description="Sensitive attributes defining the groups")
    groups: list[GroupValues] | None = Field(
        default=None, description="Compare only these groups (all pairs among them); default: every group"
    )
    reference: GroupValues | None = Field(
        default=None, description="Compare every group with this one (directed: group minus/over reference)"
    )

    _normalize_sensitive = field_validator("sensitive", mode="before")(_sensitive_list)

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        key = value.strip().lower()
        if key in COMPOSITES:
            return key
        accepted = ", ".join(sorted(list_metrics("confusion")) + sorted(list_metrics("scores")))
        try:
            spec = get_metric(value)
        except UnknownMetricError:
            raise ValueError(f"unknown metric {value!r}; accepted: {accepted}, or {', '.join(COMPOSITES)}") from None
        if spec.block not in ("confusion", "scores"):
            raise ValueError(
                f"metric {spec.name!r} needs {spec.block} statistics, which the monitor does not keep; "
                f"accepted: {accepted}, or {', '.join(COMPOSITES)}"
            )
        return spec.name

    @model_validator(mode="after")
    def _consistent(self) -> FairnessRule:
        names = {s.lower() for s in self.sensitive}
        for field_name, specs in (
            ("groups", self.groups or []),
            ("reference", [self.reference] if self.reference else []),
        ):
            for group in specs:
                if {k.lower() for k in group} != names:
                    raise ValueError(
                        f"{field_name}: each group must give a value for exactly the sensitive attributes "
                        f"{self.sensitive}; got {group}"
                    )
        if self.groups is not None and len(self.groups) < (1 if self.disparity == "value" or self.reference else 2):
            raise ValueError("groups: list at least two groups to compare (or set reference)")
        if self.disparity == "value" and self.reference is not None:
            raise ValueError("reference: a 'value' rule checks each group's own value; remove reference")
        if self.disparity == "ratio" and self.threshold <= 0:
            raise ValueError(f"threshold: a ratio threshold must be > 0 (e.g. 0.8); got {self.threshold}")
        if self.disparity == "ratio" and not self.directed and self.threshold > 1:
            raise ValueError(
                f"threshold: the ratio between two groups without a reference is min/max, in [0, 1]; "
                f"got {self.threshold} (set reference for a directed ratio)"
            )
        if self.disparity == "difference" and not self.directed and self.threshold < 0:
            raise ValueError(
                f"threshold: the difference between two groups without a reference is |a - b| >= 0; "
                f"got {self.threshold} (set reference for a signed difference)"
            )
        proportions = all(get_metric(m).interval == "wilson" for m in self.metrics)
        if self.disparity == "value" and proportions and not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold: {self.metric} is a proportion in [0, 1]; got {self.threshold}")
        return self

    @property
    def directed(self) -> bool:
        """True for one-sided comparisons (against a reference group, or a group's own value)."""
        return self.reference is not None or self.disparity == "value"

    @property
    def metrics(self) -> tuple[str, ...]:
        return COMPOSITES.get(self.metric, (self.metric,))

    @property
    def tests_per_comparison(self) -> int:
        """One-sided tests a comparison stands for (2 when either direction breaches the rule)."""
        if self.directed:
            return 1
        union = (self.disparity == "difference" and self.op == ">") or (self.disparity == "ratio" and self.op == "<")
        return 2 if union else 1


class DriftRule(_RuleBase):
    """A feature's distribution drifting from a baseline: the previous window or a fixed period."""

    model_config = ConfigDict(json_schema_extra=_kind_required)

    kind: Literal["drift"] = "drift"
    threshold: float = Field(
        strict=True, description="The limit the statistic is compared with", json_schema_extra={"minimum": 0}
    )
    feature: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    statistic: Literal["psi", "js", "ks", "chi2"] = "psi"
    sensitive: SensitiveNames = Field(default_factory=list, description="Also per group of these attributes")
    baseline_start: datetime | None = Field(
        default=None, description="Fixed reference period (default: previous window)"
    )
    baseline_end: datetime | None = None
    bins: int = Field(default=10, ge=2, le=100, strict=True)

    _normalize_sensitive = field_validator("sensitive", mode="before")(_sensitive_list)

    @model_validator(mode="after")
    def _consistent(self) -> DriftRule:
        if (self.baseline_start is None) != (self.baseline_end is None):
            raise ValueError("baseline_start and baseline_end: give both (a fixed reference period) or neither")
        for name, value in (("baseline_start", self.baseline_start), ("baseline_end", self.baseline_end)):
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must include a timezone (e.g. 2024-05-01T00:00:00Z)")
        if self.baseline_start and self.baseline_end and self.baseline_end <= self.baseline_start:
            raise ValueError("baseline_end must be after baseline_start")
        for name, value in (("baseline_start", self.baseline_start), ("baseline_end", self.baseline_end)):
            if value is not None and (value.timestamp() % 3600 or value.microsecond):
                raise ValueError(f"{name} must fall on a whole hour (drift is kept per hour); got {value.isoformat()}")
        if self.width.total_seconds() % 3600:
            raise ValueError(f"window: drift rules need whole hours (drift is kept per hour); got {self.window!r}")
        if self.significance is not None and self.statistic in ("psi", "js"):
            raise ValueError(
                f"significance: {self.statistic} has no sampling distribution here; use statistic 'ks' "
                f"(numbers) or 'chi2' (categories) with significance, or drop significance"
            )
        if self.threshold < 0:
            raise ValueError(f"threshold: drift statistics are >= 0; got {self.threshold}")
        return self


class LabelCoverageRule(_RuleBase):
    """The share of predictions with an outcome (overall or per group) falling below a threshold."""

    model_config = ConfigDict(json_schema_extra=_kind_required)

    kind: Literal["label_coverage"] = "label_coverage"
    op: Literal[">", "<"] = "<"
    threshold: float = Field(
        strict=True,
        description="The share of predictions with an outcome the coverage is compared with",
        json_schema_extra={"minimum": 0, "maximum": 1},
    )
    sensitive: SensitiveNames = Field(
        default_factory=list, description="Per group of these attributes (default: overall)"
    )

    _normalize_sensitive = field_validator("sensitive", mode="before")(_sensitive_list)

    @field_validator("threshold")
    @classmethod
    def _share(cls, value: float) -> float:
        if not 0 <= value <= 1:
            raise ValueError(f"threshold: label coverage is a share in [0, 1]; got {value}")
        return value


def _rule_kind(value: Any) -> str:
    kind = value.get("kind", "fairness") if isinstance(value, dict) else getattr(value, "kind", "fairness")
    return str(kind)


Rule = Annotated[
    Union[
        Annotated[FairnessRule, Tag("fairness")],
        Annotated[DriftRule, Tag("drift")],
        Annotated[LabelCoverageRule, Tag("label_coverage")],
    ],
    Discriminator(
        _rule_kind,
        custom_error_type="rule_kind",
        custom_error_message="kind must be one of: fairness, drift, label_coverage",
    ),
]
_RULE = TypeAdapter(Rule)
AnyRule = Union[FairnessRule, DriftRule, LabelCoverageRule]


def parse_rule(data: dict[str, Any] | str) -> AnyRule:
    """A rule from its JSON form (``kind`` defaults to ``"fairness"``).

    Examples
    --------
    >>> parse_rule({"name": "cov", "model": "m", "kind": "label_coverage", "threshold": 0.5}).op
    '<'
    """
    from pydantic import ValidationError

    try:
        return _RULE.validate_json(data) if isinstance(data, str) else _RULE.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p not in ("fairness", "drift", "label_coverage"))
        raise InvalidInputError(f"invalid rule: {where or 'rule'}: {first['msg']}") from None


def rule_metrics(rule: AnyRule) -> tuple[str, ...]:
    """Metric names a rule reads from the windows."""
    return rule.metrics if isinstance(rule, FairnessRule) else ()


# -- verdicts ---------------------------------------------------------------------------------------
@dataclass
class Comparison:
    """One verdict of a rule on one window: a group, a group pair or the whole window."""

    key: str
    groups: list[dict[str, Any]]
    metric: str
    value: float | None
    lo: float | None
    hi: float | None
    firing: bool
    reason: str
    n: list[int] = field(default_factory=list)
    group_values: list[float | None] = field(default_factory=list)
    evaluated: bool = True
    statistic: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "groups": self.groups,
            "metric": self.metric,
            "value": self.value,
            "lo": self.lo,
            "hi": self.hi,
            "firing": self.firing,
            "reason": self.reason,
            "n": self.n,
            "group_values": self.group_values,
            "evaluated": self.evaluated,
            "statistic": self.statistic or self.metric,
        }


@dataclass
class WindowEvaluation:
    """The verdicts of one rule on one window ``[start, end)``."""

    start: datetime
    end: datetime
    comparisons: list[Comparison]
    note: str | None = None

    @property
    def firing(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.firing]

    def rows(self) -> list[dict[str, Any]]:
        """One row per comparison (or one for an empty window), the back-test response format."""
        times = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if not self.comparisons:
            return [{**times, "value": None, "lo": None, "hi": None, "firing": False, "reason": self.note or ""}]
        return [{**times, **c.to_dict()} for c in self.comparisons]


def _num(x: Any) -> float | None:
    value = float(x)
    return value if math.isfinite(value) else None


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"


# -- the statistics of one comparison family --------------------------------------------------------
def _fold(kind: str, lo: FloatArray, hi: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Interval of ``|d|`` (difference) or ``min(R, 1/R)`` (ratio) from the signed interval."""
    if kind == "difference":
        return (
            np.where(lo >= 0, lo, np.where(hi <= 0, -hi, 0.0)),
            np.where(lo >= 0, hi, np.where(hi <= 0, -lo, np.maximum(-lo, hi))),
        )
    with np.errstate(divide="ignore"):
        inv_lo, inv_hi = 1.0 / hi, 1.0 / lo
    return (
        np.where(hi <= 1, lo, np.where(lo >= 1, inv_lo, np.minimum(lo, inv_lo))),
        np.where(hi <= 1, hi, np.where(lo >= 1, inv_hi, 1.0)),
    )


@dataclass
class Assessment:
    """Every comparison of a fairness rule over one or many windows (arrays ``(W, C)``)."""

    rule: FairnessRule
    stats: GroupStats
    plan: list[tuple[str, int, int | None]]
    value: FloatArray
    lo: FloatArray
    hi: FloatArray
    eligible: np.ndarray
    firing: np.ndarray
    tests: np.ndarray  # (W,) one-sided tests sharing alpha
    group_values: dict[str, FloatArray]
    group_n: dict[str, FloatArray]
    method: dict[str, str]

    def comparisons(self, w: int = 0) -> list[Comparison]:
        """The verdicts of window ``w`` with their reasons."""
        return [self._comparison(w, c) for c in range(len(self.plan))]

    def _label(self, g: int) -> dict[str, Any]:
        return dict(zip(self.rule.sensitive, self.stats.groups[g]))

    def _comparison(self, w: int, c: int) -> Comparison:
        rule = self.rule
        metric, a, b = self.plan[c]
        members = [a] if b is None else [a, b]
        n = [int(self.group_n[metric][w, g]) for g in members]
        values = [_num(self.group_values[metric][w, g]) for g in members]
        labels = [self._label(g) for g in members]
        key = metric + "|" + "|".join(json.dumps(lab, sort_keys=True) for lab in labels)
        common: dict[str, Any] = {
            "key": key,
            "groups": labels,
            "metric": metric,
            "n": n,
            "group_values": values,
            "statistic": self._statistic_name(metric),
        }
        spec = get_metric(metric)
        small = [lab for lab, size in zip(labels, n) if size < rule.min_group_size]
        if small:
            what = "labelled rows" if not spec.label_free else "rows"
            reason = "; ".join(
                f"group {lab} has {size} {what}, fewer than min_group_size={rule.min_group_size}"
                for lab, size in zip(labels, n)
                if size < rule.min_group_size
            )
            return Comparison(
                value=None, lo=None, hi=None, firing=False, evaluated=False, reason=f"not evaluated: {reason}", **common
            )
        if not self.eligible[w, c]:
            undefined = [lab for lab, v in zip(labels, values) if v is None]
            why = (
                f"{metric} is undefined for {undefined} ({spec.undefined})"
                if undefined
                else (f"the ratio is undefined ({metric} of the denominator group is 0)")
            )
            return Comparison(
                value=None, lo=None, hi=None, firing=False, evaluated=False, reason=f"not evaluated: {why}", **common
            )
        value, lo, hi = (_num(x[w, c]) for x in (self.value, self.lo, self.hi))
        statistic = self._statistic_name(metric)
        if rule.significance is None:
            verdict = "fires" if self.firing[w, c] else "does not fire"
            reason = (
                f"{statistic} = {_fmt(value)} {rule.op} {rule.threshold}? point value {verdict} (no significance set)"
            )
        else:
            m = int(self.tests[w])
            level = 1 - rule.significance / m
            side = "lower" if rule.op == ">" else "upper"
            bound = lo if rule.op == ">" else hi
            clears = "clears" if self.firing[w, c] else "does not clear"
            reason = (
                f"{statistic} = {_fmt(value)}, one-sided {level:.4g} {side} bound {_fmt(bound)} "
                f"({self.method[metric]}, significance {rule.significance} shared by {m} one-sided test"
                f"{'s' if m != 1 else ''}) {clears} the threshold {rule.op} {rule.threshold}"
            )
        return Comparison(value=value, lo=lo, hi=hi, firing=bool(self.firing[w, c]), reason=reason, **common)

    def _statistic_name(self, metric: str) -> str:
        rule = self.rule
        if rule.disparity == "value":
            return metric
        if rule.directed:
            return f"{metric} {rule.disparity} (group {'-' if rule.disparity == 'difference' else '/'} reference)"
        return f"|{metric} difference|" if rule.disparity == "difference" else f"{metric} ratio (min/max)"


def _plan(rule: FairnessRule, stats: GroupStats) -> tuple[list[tuple[str, int, int | None]], str | None]:
    """(metric, a, b) triples to compare, or a note when the reference group is missing."""
    keys = {tuple(str(v) for v in key): i for i, key in enumerate(stats.groups)}

    def index(group: dict[str, str]) -> int | None:
        lowered = {k.lower(): v for k, v in group.items()}
        return keys.get(tuple(lowered[s.lower()] for s in rule.sensitive))

    if rule.groups is not None:
        chosen = sorted({i for g in rule.groups if (i := index(g)) is not None})
    else:
        chosen = list(range(stats.n_groups))
    plan: list[tuple[str, int, int | None]] = []
    if rule.reference is not None:
        ref = index(rule.reference)
        if ref is None:
            return [], f"the reference group {rule.reference} has no predictions in this window"
        for metric in rule.metrics:
            plan.extend((metric, g, ref) for g in chosen if g != ref)
    elif rule.disparity == "value":
        for metric in rule.metrics:
            plan.extend((metric, g, None) for g in chosen)
    else:
        for metric in rule.metrics:
            plan.extend((metric, a, b) for a, b in combinations(chosen, 2))
    return plan, None


def assess_stats(rule: FairnessRule, stats: GroupStats, *, random_state: int = 0) -> Assessment:
    """Evaluate a fairness rule on GroupStats; arrays may carry a leading window axis ``(W, G)``.

    Examples
    --------
    >>> import numpy as np
    >>> from fairwatch.metrics import GroupStats
    >>> pred = np.array([[240., 160.], [320., 80.]])   # 400 per group: selection rates 0.4 and 0.2
    >>> stats = GroupStats(sensitive_names=("sex",), groups=(("F",), ("M",)), n=pred.sum(1), weight=pred.sum(1),
    ...                    confusion=np.zeros((2, 2, 2)), confusion_n=np.zeros((2, 2, 2)),
    ...                    predictions=pred, predictions_n=pred)
    >>> rule = FairnessRule(name="dp", model="m", metric="selection_rate", threshold=0.1, sensitive=["sex"],
    ...                     significance=0.05)
    >>> bool(assess_stats(rule, stats).firing[0, 0])
    True
    """
    replicated = stats.is_replicated
    plan, _ = _plan(rule, stats)
    shape = (int(np.shape(stats.n)[0]) if replicated else 1, len(plan))
    value, lo, hi = (np.full(shape, np.nan) for _ in range(3))
    eligible = np.zeros(shape, dtype=bool)
    group_values: dict[str, FloatArray] = {}
    group_n: dict[str, FloatArray] = {}
    method: dict[str, str] = {}
    proportions: dict[str, tuple[FloatArray, FloatArray]] = {}
    for metric in rule.metrics:
        spec = get_metric(metric)
        view = stats if spec.label_free else _labelled_view(stats)
        size = np.asarray(view.n, dtype=np.float64).reshape(shape[0], -1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            values = np.asarray(metric_values(view, spec, warn=False), dtype=np.float64).reshape(shape[0], -1)
        group_values[metric], group_n[metric] = values, size
        if spec.cells is not None:
            _, den_n = spec.proportion(view, weighted=False)
            proportions[metric] = (values, np.asarray(den_n, dtype=np.float64).reshape(shape[0], -1))
            method[metric] = {"value": "Wilson-cc", "difference": "Newcombe-cc", "ratio": "MOVER-R"}[rule.disparity]
        else:
            method[metric] = "bootstrap"
    for c, (metric, a, b) in enumerate(plan):
        v, size = group_values[metric], group_n[metric]
        ok = (size[:, a] >= rule.min_group_size) & ~np.isnan(v[:, a])
        if b is not None:
            ok &= (size[:, b] >= rule.min_group_size) & ~np.isnan(v[:, b])
            if rule.disparity == "ratio":
                ok &= (v[:, b] > 0) if rule.directed else (np.maximum(v[:, a], v[:, b]) > 0)
        eligible[:, c] = ok
    tests = eligible.sum(axis=1) * rule.tests_per_comparison
    for c, (metric, a, b) in enumerate(plan):
        value[:, c] = _point(rule, group_values[metric], a, b)
    if rule.significance is not None:
        for m in np.unique(tests[tests > 0]).tolist():
            rows = np.flatnonzero(tests == m)
            ci = 1.0 - 2.0 * rule.significance / m
            for c, (metric, a, b) in enumerate(plan):
                if metric in proportions:
                    p, den = proportions[metric]
                    lo[rows, c], hi[rows, c] = _proportion_interval(rule, p[rows], den[rows], a, b, ci)
                elif not replicated:
                    lo[rows, c], hi[rows, c] = _bootstrap_interval(rule, stats, metric, a, b, ci, random_state)
                else:
                    raise InvalidInputError(f"{metric}: stacked windows are only supported for proportion metrics")
        bound = lo if rule.op == ">" else hi
    else:
        bound = value
    with np.errstate(invalid="ignore"):
        beyond = bound > rule.threshold if rule.op == ">" else bound < rule.threshold
    firing = eligible & beyond & ~np.isnan(bound)
    return Assessment(rule, stats, plan, value, lo, hi, eligible, firing, tests, group_values, group_n, method)


def _signed(rule: FairnessRule, va: FloatArray, vb: FloatArray | None) -> FloatArray:
    if vb is None:
        return va
    with np.errstate(divide="ignore", invalid="ignore"):
        return va - vb if rule.disparity == "difference" else va / vb


def _point(rule: FairnessRule, values: FloatArray, a: int, b: int | None) -> FloatArray:
    signed = _signed(rule, values[:, a], None if b is None else values[:, b])
    if rule.directed:
        return signed
    if rule.disparity == "difference":
        return np.abs(signed)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.minimum(signed, 1.0 / signed)


def _proportion_interval(
    rule: FairnessRule, p: FloatArray, n: FloatArray, a: int, b: int | None, ci: float
) -> tuple[FloatArray, FloatArray]:
    if b is None:
        return wilson_cc_interval(p[:, a], n[:, a], ci)
    if rule.disparity == "difference":
        lo, hi = newcombe_cc_interval(p[:, a], n[:, a], p[:, b], n[:, b], ci)
    else:
        lo, hi = mover_ratio_interval(p[:, a], n[:, a], p[:, b], n[:, b], ci)
    return (lo, hi) if rule.directed else _fold(rule.disparity, lo, hi)


def _bootstrap_interval(
    rule: FairnessRule, stats: GroupStats, metric: str, a: int, b: int | None, ci: float, seed: int
) -> tuple[float, float]:
    spec = get_metric(metric)
    view = stats if spec.label_free else _labelled_view(stats)
    reps, _ = bootstrap_replicates(view, N_BOOT, np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        values = metric_values(reps, spec, warn=False)
    signed = _signed(rule, values[:, a], None if b is None else values[:, b])
    lo, hi = percentile_interval(signed[:, None], ci)
    lo_a, hi_a = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    if rule.directed or b is None:
        return float(lo_a[0]), float(hi_a[0])
    f_lo, f_hi = _fold(rule.disparity, lo_a, hi_a)
    return float(f_lo[0]), float(f_hi[0])


# -- evaluating rules on stored windows --------------------------------------------------------------
def window_grid(start: datetime, end: datetime, width: timedelta) -> tuple[datetime, datetime]:
    """``start`` floored and ``end`` ceiled to multiples of ``width`` since the epoch (UTC)."""
    seconds = int(width.total_seconds())
    lo = math.floor(start.timestamp() / seconds) * seconds
    hi = math.ceil(end.timestamp() / seconds) * seconds
    try:
        return (
            datetime.fromtimestamp(lo, tz=timezone.utc),
            datetime.fromtimestamp(max(hi, lo + seconds), tz=timezone.utc),
        )
    except (OverflowError, ValueError, OSError):
        raise InvalidInputError(
            f"start..end ({start.isoformat()} .. {end.isoformat()}) aligned to {width} windows leaves the "
            f"supported date range (years 1-9999)"
        ) from None


def evaluate_rule(store: Store, rule: AnyRule, start: datetime, end: datetime) -> list[WindowEvaluation]:
    """Evaluate ``rule`` on every window between ``start`` and ``end`` (aligned to the window grid).

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> from fairwatch.monitor import PredictionEvent, open_store
    >>> t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    >>> store = open_store("duckdb://:memory:")
    >>> _ = store.insert_predictions([
    ...     PredictionEvent(prediction_id=str(i), model="credit", timestamp=t0 + timedelta(minutes=i),
    ...                     prediction=int(i % 5 < (3 if i % 2 else 1)), sensitive={"sex": "FM"[i % 2]})
    ...     for i in range(800)])
    >>> rule = parse_rule({"name": "dp", "model": "credit", "metric": "selection_rate", "threshold": 0.1,
    ...                    "sensitive": ["sex"], "window": "1d", "significance": 0.05})
    >>> (window,) = evaluate_rule(store, rule, t0, t0 + timedelta(days=1))
    >>> comparison = window.comparisons[0]
    >>> round(comparison.value, 2), comparison.firing
    (0.4, True)

    Raises
    ------
    fairwatch.exceptions.UnknownModelError
        When the store has no predictions for the rule's model.
    fairwatch.exceptions.InvalidInputError
        For an unknown sensitive attribute or feature, or bad times.
    """
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise InvalidInputError(f"{name} must include a timezone (e.g. 2024-05-01T00:00:00Z); got {value}")
    if end <= start:
        raise InvalidInputError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    start, end = window_grid(start, end, rule.width)
    if store.time_range(rule.model) is None:
        raise UnknownModelError(f"unknown model {rule.model!r}: no predictions stored for it")
    if isinstance(rule, FairnessRule):
        return _evaluate_fairness(store, rule, start, end)
    if isinstance(rule, LabelCoverageRule):
        return _evaluate_coverage(store, rule, start, end)
    return _evaluate_drift(store, rule, start, end)


def _evaluate_fairness(store: Store, rule: FairnessRule, start: datetime, end: datetime) -> list[WindowEvaluation]:
    from fairwatch.monitor._windows import window_metrics

    results = window_metrics(
        store,
        rule.model,
        sensitive=rule.sensitive,
        window=rule.window,
        start=start,
        end=end,
        metrics=list(rule.metrics),
        model_version=rule.model_version,
    )
    out = []
    for result in results:
        if result.stats is None:
            out.append(WindowEvaluation(result.start, result.end, [], "no predictions in this window"))
            continue
        plan, note = _plan(rule, result.stats)
        if not plan:
            note = note or "fewer than two of the rule's groups have predictions in this window"
            out.append(WindowEvaluation(result.start, result.end, [], note))
            continue
        assessment = assess_stats(rule, result.stats)
        out.append(WindowEvaluation(result.start, result.end, assessment.comparisons(0)))
    return out


def _coverage_cells(
    store: Store, rule: LabelCoverageRule, start: datetime, end: datetime
) -> dict[tuple[int, GroupKey], list[int]]:
    _check_sensitive(store, rule.model, rule.sensitive, allow_empty=True)  # none: the coverage of all predictions
    grid = make_grid(start, end, rule.width)
    mapping = group_map(store, rule.model, rule.sensitive)
    cells: dict[tuple[int, GroupKey], list[int]] = {}
    rows = count_rows(store, store.series_ids(rule.model, rule.model_version), grid)
    if not rows:
        return cells
    codes = _codes_of(mapping, np.asarray([r[1] for r in rows], np.int64)).tolist()
    for row, code in zip(rows, codes):
        counts = cells.setdefault((int(row[0]), mapping.keys[code]), [0, 0])
        counts[0] += int(row[-1])
        counts[1] += int(row[-1]) if row[3] != 0 else 0
    return cells


def _evaluate_coverage(store: Store, rule: LabelCoverageRule, start: datetime, end: datetime) -> list[WindowEvaluation]:
    from fairwatch.frames._encode import group_sort_key

    cells = _coverage_cells(store, rule, start, end)
    width = rule.width
    out = []
    for index in range(math.ceil((end - start) / width)):
        w_start = start + index * width
        keys = sorted((key for w, key in cells if w == index), key=group_sort_key)
        if not keys:
            out.append(WindowEvaluation(w_start, w_start + width, [], "no predictions in this window"))
            continue
        n = np.array([cells[(index, key)][0] for key in keys], dtype=np.float64)
        labelled = np.array([cells[(index, key)][1] for key in keys], dtype=np.float64)
        eligible = n >= max(rule.min_group_size, 1)
        m = int(eligible.sum())
        share = labelled / n
        if rule.significance is not None and m:
            lo, hi = wilson_cc_interval(labelled / n, n, 1 - 2 * rule.significance / m)
            bound = lo if rule.op == ">" else hi
        else:
            lo = hi = np.full(len(keys), np.nan)
            bound = share
        beyond = bound > rule.threshold if rule.op == ">" else bound < rule.threshold
        comparisons = []
        for i, key in enumerate(keys):
            group = dict(zip(rule.sensitive, key))
            common: dict[str, Any] = {
                "key": "label_coverage|" + json.dumps(group, sort_keys=True),
                "groups": [group] if group else [],
                "metric": "label_coverage",
                "n": [int(n[i])],
                "group_values": [_num(share[i])],
            }
            if not eligible[i]:
                reason = f"not evaluated: {int(n[i])} predictions, fewer than min_group_size={rule.min_group_size}"
                comparisons.append(
                    Comparison(value=None, lo=None, hi=None, firing=False, reason=reason, evaluated=False, **common)
                )
                continue
            fires = bool(beyond[i])
            if rule.significance is None:
                verdict = "fires" if fires else "does not fire"
                reason = f"label coverage {share[i]:.4g} {rule.op} {rule.threshold}? point value {verdict}"
            else:
                side = "lower" if rule.op == ">" else "upper"
                reason = (
                    f"label coverage {share[i]:.4g}, one-sided {1 - rule.significance / m:.4g} {side} bound "
                    f"{bound[i]:.4g} (Wilson-cc, significance shared by {m} test{'s' if m != 1 else ''}) "
                    f"{'clears' if fires else 'does not clear'} the threshold {rule.op} {rule.threshold}"
                )
            comparisons.append(
                Comparison(value=_num(share[i]), lo=_num(lo[i]), hi=_num(hi[i]), firing=fires, reason=reason, **common)
            )
        out.append(WindowEvaluation(w_start, min(w_start + width, end), comparisons))
    return out


def _evaluate_drift(store: Store, rule: DriftRule, start: datetime, end: datetime) -> list[WindowEvaluation]:
    from fairwatch.monitor._drift import drift

    width = rule.width
    out = []
    for index in range(math.ceil((end - start) / width)):
        w_start = start + index * width
        w_end = w_start + width
        ref = (
            (rule.baseline_start, rule.baseline_end)
            if rule.baseline_start and rule.baseline_end
            else (w_start - width, w_start)
        )
        results = drift(
            store,
            rule.model,
            reference_start=ref[0],
            reference_end=ref[1],
            start=w_start,
            end=w_end,
            sensitive=rule.sensitive,
            features=[rule.feature],
            bins=rule.bins,
            model_version=rule.model_version,
        )
        rows = [r for r in results if r.n_current > 0 or r.n_reference > 0]
        if not any(r.n_current for r in rows):
            out.append(WindowEvaluation(w_start, w_end, [], "no values of the feature in this window"))
            continue
        sizes_ok = [min(r.n_reference, r.n_current) >= max(rule.min_group_size, 1) for r in rows]
        m = sum(sizes_ok)
        comparisons = []
        for r, ok in zip(rows, sizes_ok):
            group = r.group or {}
            common: dict[str, Any] = {
                "key": f"{rule.feature}|{rule.statistic}|" + json.dumps(group, sort_keys=True),
                "groups": [group] if group else [],
                "metric": f"{rule.statistic}:{rule.feature}",
                "n": [r.n_reference, r.n_current],
            }
            value = getattr(r, rule.statistic)
            if not ok or value is None:
                why = (
                    (
                        f"{r.n_reference} reference and {r.n_current} current values, fewer than "
                        f"min_group_size={rule.min_group_size}"
                    )
                    if not ok
                    else f"{rule.statistic} does not apply to a {r.kind} feature"
                )
                comparisons.append(
                    Comparison(
                        value=None,
                        lo=None,
                        hi=None,
                        firing=False,
                        evaluated=False,
                        reason=f"not evaluated: {why}",
                        **common,
                    )
                )
                continue
            beyond = value > rule.threshold if rule.op == ">" else value < rule.threshold
            reason = f"{rule.statistic} = {value:.4g} {rule.op} {rule.threshold}: {'yes' if beyond else 'no'}"
            fires = beyond
            if rule.significance is not None:
                pvalue = getattr(r, f"{rule.statistic}_pvalue")
                level = rule.significance / max(m, 1)
                significant = pvalue is not None and pvalue < level
                fires = beyond and significant
                relation = "<" if significant else ">="
                plural = "s" if m != 1 else ""
                reason += f"; p-value {_fmt(pvalue)} {relation} {level:.4g} (significance shared by {m} test{plural})"
            comparisons.append(
                Comparison(value=_num(value), lo=None, hi=None, firing=bool(fires), reason=reason, **common)
            )
        out.append(WindowEvaluation(w_start, w_end, comparisons))
    return out
