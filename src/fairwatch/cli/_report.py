"""Report commands of the CLI: ``impact-ratio`` (NYC LL144-shaped bias-audit tables), and the HTML
rendering behind ``fairwatch audit --format html``."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from fairwatch._text import comma_list
from fairwatch.cli._input import read_table
from fairwatch.cli._output import OutputOption
from fairwatch.exceptions import InvalidInputError

__all__ = ["audit_report_html", "register"]

IMPACT_FORMATS = ("table", "json", "csv", "html")


#: The policy a ``--fail-if`` gate protects: the negation of its condition.
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def audit_report_html(
    result: Any, paths: Sequence[str], columns: Mapping[str, str | None], fail_if: Sequence[str] = ()
) -> str:
    """The HTML report of ``fairwatch audit --format html``: input files hashed for the footer.

    A ``--fail-if`` condition describes a failure; the report states the policy it protects
    (``--fail-if 'demographic_parity_ratio < 0.8'`` is shown as ``demographic_parity_ratio >= 0.8``),
    so PASS always means the policy holds.
    """
    from fairwatch._checks import parse_check
    from fairwatch.report._io import file_digest

    gates = [parse_check(expression) for expression in fail_if]
    gate_expressions = {gate.expression for gate in gates}
    result.checks = [c for c in result.checks if c.expression not in gate_expressions]
    policies = [f"{gate.name} {_NEGATED[gate.op]} {gate.threshold:g}" for gate in gates]

    parameters: dict[str, Any] = {
        "input": ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    }
    parameters.update({k: v for k, v in columns.items() if v is not None})
    return str(result.to_html(checks=policies, input_hash=file_digest(paths), parameters=parameters))


def positive_label(raw: str | None) -> Any:
    """``--pos-label`` as the value a CSV reader gives: an integer, a boolean or the text."""
    if raw is None:
        return None
    text = raw.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return int(text)
    except ValueError:
        return text


def impact_ratio_command(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file with one row per person assessed.")],
    categories: Annotated[str, typer.Option("--categories", help="Category columns, comma-separated (sex,race).")],
    selected: Annotated[
        Optional[str], typer.Option("--selected", help="Yes/no column: the person was selected (selection rates).")
    ] = None,
    score: Annotated[
        Optional[str],
        typer.Option("--score", help="Numeric score column (scoring rates: share above the sample's median)."),
    ] = None,
    pos_label: Annotated[
        Optional[str], typer.Option("--pos-label", help="Value of --selected meaning selected (default 1/true).")
    ] = None,
    min_share: Annotated[
        float, typer.Option("--min-share", help="Exclude groups under this share of the data from impact ratios.")
    ] = 0.02,
    threshold: Annotated[float, typer.Option("--threshold", help="Flag impact ratios below this.")] = 0.8,
    intersection: Annotated[
        bool, typer.Option("--intersection/--no-intersection", help="Add the intersection of the categories.")
    ] = True,
    output_format: Annotated[str, typer.Option("--format", help="table, json, csv or html.")] = "table",
    output: OutputOption = None,
) -> None:
    """Impact ratios per category and intersection, shaped like a NYC Local Law 144 bias audit."""
    from fairwatch.report import impact_ratio
    from fairwatch.report._io import file_digest, write_text_atomic

    if output_format not in IMPACT_FORMATS:
        raise InvalidInputError(f"--format must be table, json, csv or html; got {output_format!r}")
    if (selected is None) == (score is None):
        raise InvalidInputError("pass exactly one of --selected COL (selection rates) or --score COL (scoring rates)")
    if output is not None and not output.parent.is_dir():
        raise InvalidInputError(
            f"cannot write --output {str(output)!r}: directory {str(output.parent)!r} does not exist; create it first"
        )
    table = read_table(file)
    result = impact_ratio(
        table,
        categories=comma_list(categories),
        selected=selected,
        score=score,
        pos_label=positive_label(pos_label),
        min_share=min_share,
        threshold=threshold,
        intersection=intersection,
    )
    if output_format == "json":
        text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    elif output_format == "csv":
        text = result.to_csv()
    elif output_format == "html":
        text = result.to_html(input_hash=file_digest([file]))
    else:
        if output is None:
            from fairwatch.cli._render import make_console

            _render_impact(make_console(), result)
            return
        console = Console(record=True, width=200, file=io.StringIO())
        _render_impact(console, result)
        text = console.export_text()
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_text_atomic(output, text, option="--output")
        Console(stderr=True, highlight=False).print(f"wrote {output}", markup=False)


def _num(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _render_impact(console: Console, result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    rate = result.rate_label
    intro = f"{result.n:,} people assessed; impact ratio = {rate} / highest {rate}"
    if result.median_score is not None:
        intro += f" ({rate}: share scoring above the median score {result.median_score:.4g})"
    console.print(escape(intro))
    for table in result.tables:
        out = Table(title=escape(table.category), title_justify="left", header_style="bold")
        out.add_column(escape(" × ".join(table.categories)))
        for name in ("n", "share", "selected", rate, "impact ratio"):
            out.add_column(name, justify="right")
        out.add_column("note")
        for row in table.rows:
            if row.excluded:
                note = f"excluded (< {result.min_share:.0%} of data)"
            elif row.below_threshold:
                note = f"[red]below {result.threshold:g}[/red]"
            else:
                note = "highest" if row.group == table.highest_group else ""
            out.add_row(
                escape(row.group),
                f"{row.n:,}",
                f"{row.share:.1%}",
                f"{row.selected:,}",
                _num(row.selection_rate),
                _num(row.impact_ratio),
                note,
            )
        console.print(out)
        info = table.to_dict()
        if info["excluded_groups"]:
            groups = "; ".join(info["excluded_groups"])
            console.print(
                escape(
                    f"Excluded from impact ratios: {groups} ({info['excluded_n']:,} people, "
                    f"{info['excluded_share']:.2%} of the data)."
                )
            )
        if table.unknown:
            console.print(escape(f"{table.unknown:,} people with an unknown {table.category} are not in this table."))


def register(app: typer.Typer) -> None:
    """Add the report commands to the ``fairwatch`` CLI."""
    app.command("impact-ratio")(impact_ratio_command)
