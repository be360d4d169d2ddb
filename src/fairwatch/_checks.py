"""Policy checks such as ``"demographic_parity_ratio >= 0.8"`` evaluated against a Summary."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fairwatch.exceptions import ExpressionError, UnknownMetricError
from fairwatch.metrics import COMPOSITES, Summary, get_metric

__all__ = ["Check", "CheckResult", "check_names_help", "evaluate_check", "parse_check"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
    "==": operator.eq,
    "!=": operator.ne,
}
_PATTERN = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op><=|>=|==|!=|<|>)\s*"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<pct>%?)\s*$"
)
_SUFFIXES = ("_difference", "_ratio", "_min", "_max")


def check_names_help() -> str:
    return (
        "write '<name> <op> <number>' with op one of <, <=, >, >=, ==, !=, and name one of "
        "<metric>_difference, <metric>_ratio, <metric>_min, <metric>_max (e.g. selection_rate_ratio), "
        "demographic_parity_difference/ratio, equalized_odds_difference/ratio, "
        "equal_opportunity_difference/ratio, predictive_parity_difference/ratio, calibration_gap, "
        "suppressed_share"
    )


@dataclass(frozen=True)
class Check:
    """A parsed check: ``name op threshold``; ``subject`` is the disparity key or metric name."""

    expression: str
    name: str
    subject: str
    statistic: str  # difference | ratio | min | max | share
    op: str
    threshold: float


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check on one summary.

    ``passed`` is the condition on the point value; ``lo``/``hi`` bound the value when intervals
    were computed, and ``conclusive`` says whether the whole interval agrees with the verdict.
    """

    expression: str
    value: float
    passed: bool
    lo: float = math.nan
    hi: float = math.nan
    conclusive: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        return {
            "expression": self.expression,
            "value": num(self.value),
            "lo": num(self.lo),
            "hi": num(self.hi),
            "passed": self.passed,
            "conclusive": self.conclusive,
        }


def parse_check(expression: str) -> Check:
    """Parse ``"<name> <op> <number>"``; raise :class:`ExpressionError` naming what is wrong."""
    if not isinstance(expression, str):
        raise ExpressionError(f"a check must be a string such as 'demographic_parity_ratio >= 0.8'; got {expression!r}")
    match = _PATTERN.match(expression)
    if match is None:
        raise ExpressionError(f"cannot parse check {expression!r}: {check_names_help()}")
    name = match["name"].lower()
    threshold = float(match["value"]) / (100.0 if match["pct"] else 1.0)
    subject, statistic = _split_name(name, expression)
    return Check(expression.strip(), name, subject, statistic, match["op"], threshold)


def _split_name(name: str, expression: str) -> tuple[str, str]:
    if name == "suppressed_share":
        return "suppressed_share", "share"
    if name == "calibration_gap":
        return "calibration_gap", "difference"
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            statistic = suffix[1:]
            if base in COMPOSITES and statistic in ("difference", "ratio"):
                return base, statistic
            try:
                return get_metric(base).name, statistic
            except UnknownMetricError as exc:
                raise ExpressionError(f"in check {expression!r}: {exc}") from None
    raise ExpressionError(f"cannot use {name!r} in check {expression!r}: {check_names_help()}")


def evaluate_check(check: Check, summary: Summary) -> CheckResult:
    """Evaluate ``check`` against ``summary``."""
    lo = hi = math.nan
    if check.statistic == "share":
        value = summary.suppressed_share
    elif check.statistic in ("min", "max"):
        if check.subject not in summary.values:
            raise ExpressionError(
                f"check {check.expression!r} needs metric {check.subject!r}, which was not computed; add it to metrics="
            )
        kept = ~summary.suppressed & ~np.isnan(summary.values[check.subject])
        values = summary.values[check.subject][kept]
        if values.size == 0:
            value = math.nan
        else:
            pick = int(np.argmin(values) if check.statistic == "min" else np.argmax(values))
            value = float(values[pick])
            lo = float(summary.lo[check.subject][kept][pick])
            hi = float(summary.hi[check.subject][kept][pick])
    else:
        key = check.subject
        if key not in summary.disparities:
            available = ", ".join(sorted(summary.disparities))
            raise ExpressionError(
                f"check {check.expression!r} needs the {key} disparity, which was not computed "
                f"(computed: {available}); add the metrics it needs to metrics="
            )
        d = summary.disparities[key]
        value = d.difference if check.statistic == "difference" else d.ratio
        lo = d.difference_lo if check.statistic == "difference" else d.ratio_lo
        hi = d.difference_hi if check.statistic == "difference" else d.ratio_hi
    compare = _OPS[check.op]
    passed = bool(np.isfinite(value) and compare(value, check.threshold))
    conclusive = None
    if np.isfinite(lo) and np.isfinite(hi):
        conclusive = compare(lo, check.threshold) == compare(hi, check.threshold) == passed
    return CheckResult(check.expression, float(value), passed, lo, hi, conclusive)
