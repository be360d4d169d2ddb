"""Output of the command line: an audit as a table, JSON or CSV, written atomically."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from fairwatch.exceptions import InvalidInputError

__all__ = ["CheckOption", "FailIfOption", "OutputOption", "emit", "render_table", "write_output"]

#: Options shared by the commands that write an audit (``audit``, ``audit-model``, ``audit-report``).
OutputOption = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file.")]
CheckOption = Annotated[Optional[list[str]], typer.Option("--check", help="Policy that must hold (reported).")]
FailIfOption = Annotated[
    Optional[list[str]],
    typer.Option("--fail-if", help="Exit 1 when this condition holds, e.g. 'demographic_parity_ratio < 0.8'."),
]


def emit(result: Any, output_format: str, output: Path | None, checks: list[Any], gates: list[Any]) -> None:
    if output_format == "json":
        write_output(output, json.dumps(result.to_dict(), indent=2) + "\n")
    elif output_format == "csv":
        import narwhals as nw

        write_output(output, nw.from_native(result.by_group, eager_only=True).to_pandas().to_csv(index=False))
    else:
        from fairwatch.cli._render import make_console

        console = make_console() if output is None else Console(record=True, width=200, file=io.StringIO())
        render_table(console, result, checks, gates)
        if output is not None:
            write_output(output, console.export_text())


def render_table(console: Console, result: Any, checks: list[Any], gates: list[Any]) -> None:
    from fairwatch.cli._render import render_audit, render_checks

    render_audit(console, result)
    render_checks(console, checks)
    render_checks(console, gates, fail_if=True)


def write_output(output: Path | None, text: str) -> None:
    """Write ``text`` to ``output`` (stdout when None) atomically: no partial file on failure."""
    if output is None:
        sys.stdout.write(text)
        return
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InvalidInputError(f"cannot write --output {str(output)!r}: {exc.strerror}") from None
