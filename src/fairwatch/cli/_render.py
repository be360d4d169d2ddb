"""Terminal rendering of audits with rich (used by the CLI and the demo)."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from fairwatch._audit import Audit
from fairwatch._checks import CheckResult

__all__ = ["fmt_interval", "make_console", "render_audit", "render_checks"]

#: Width used when output is not a terminal (files, pipes, CI logs): wide enough not to truncate.
PIPE_WIDTH = 200


def make_console(**kwargs: Any) -> Console:
    """A console that uses the terminal's width, or a wide fixed width when piped."""
    console = Console(**kwargs)
    if not console.is_terminal and "width" not in kwargs:
        console = Console(width=PIPE_WIDTH, **kwargs)
    return console


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.{digits}f}"


def fmt_interval(value: float | None, lo: float | None, hi: float | None) -> str:
    """``0.812 [0.790, 0.833]`` (or just the value without an interval)."""
    if value is None:
        return "—"
    if lo is None or hi is None:
        return _fmt(value)
    return f"{_fmt(value)} [{_fmt(lo)}, {_fmt(hi)}]"


def _cell(value: float | None, lo: float | None, hi: float | None) -> str:
    """Value on the first line, interval (dimmed) on the second: keeps columns narrow."""
    if value is None or lo is None or hi is None:
        return _fmt(value)
    return f"{_fmt(value)}\n[dim][{_fmt(lo, 2)}, {_fmt(hi, 2)}][/dim]"


def _group_table(audit: Audit, title: str) -> Table:
    data = audit.to_dict()
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in data["sensitive_features"]:
        table.add_column(name)
    table.add_column("n", justify="right")
    metrics = [m for m in data["metrics"] if m != "count"]
    for name in metrics:
        # "true positive rate" wraps onto two header lines instead of widening the column
        table.add_column(name.replace("_", " "), justify="right", max_width=14)
    for group in data["groups"]:
        cells = [str(v) for v in group["group"].values()] + [str(group["n"])]
        if group["suppressed"]:
            cells += ["suppressed"] + [""] * (len(metrics) - 1)
        else:
            for name in metrics:
                m = group["metrics"][name]
                cells.append(_cell(m["value"], m["lo"], m["hi"]))
        table.add_row(*cells)
    return table


def _disparity_table(audit: Audit) -> Table:
    data = audit.to_dict()
    title = "Disparities"
    if data["method"] == "reference":
        title += " (ratio: the smallest group / reference, group in brackets)"
    table = Table(title=title, title_justify="left", header_style="bold")
    for col in ("disparity", "difference", "ratio", "highest group", "lowest group"):
        table.add_column(col, justify="right" if col in ("difference", "ratio") else "left")
    for name, d in data["disparities"].items():
        if d["metrics"] == [name] and name in ("selection_rate", "true_positive_rate", "precision"):
            continue  # shown under their fairlearn names (demographic_parity, ...)

        def label(group: dict[str, Any] | None) -> str:
            return "—" if group is None else ", ".join(f"{k}={v}" for k, v in group.items())

        ratio = fmt_interval(d["ratio"], d["ratio_lo"], d["ratio_hi"])
        if d["ratio_group"] is not None:
            ratio += f" ({label(d['ratio_group'])})"
        table.add_row(
            name,
            fmt_interval(d["difference"], d["difference_lo"], d["difference_hi"]),
            ratio,
            label(d["max_group"]),
            label(d["min_group"]),
        )
    return table


def render_checks(console: Console, results: list[CheckResult], *, fail_if: bool = False) -> None:
    """One line per check: ✓/✗, the expression, the value (and interval)."""
    for result in results:
        holds = result.passed
        bad = holds if fail_if else not holds
        mark = "[red]✗ FAIL[/red]" if bad else "[green]✓ pass[/green]"
        value = fmt_interval(
            result.value if math.isfinite(result.value) else None,
            result.lo if math.isfinite(result.lo) else None,
            result.hi if math.isfinite(result.hi) else None,
        )
        verb = "fail if" if fail_if else "check"
        note = ""
        if result.conclusive is False:
            note = " [yellow](interval straddles the threshold)[/yellow]"
        console.print(f"{mark}  {verb} {result.expression}: value {value}{note}")


def render_audit(console: Console, audit: Audit, *, title: str = "Audit by group") -> None:
    """Group table, disparity table and the suppression note."""
    data = audit.to_dict()
    console.print(_group_table(audit, title))
    suppressed = [g for g in data["groups"] if g["suppressed"]]
    if suppressed:
        console.print(
            f"[dim]{len(suppressed)} group(s) under min_group_size={data['min_group_size']} suppressed "
            f"({data['suppressed_share']:.2%} of rows); they are excluded from disparities.[/dim]"
        )
    if data["ci"] is not None:
        console.print(
            f"[dim]Intervals: {data['ci']:.0%} (Wilson for rates, Newcombe for rate "
            f"differences, bootstrap on statistics otherwise).[/dim]"
        )
    console.print(_disparity_table(audit))
