"""The ``fairwatch`` command line (typer + rich).

Exit codes: 0 success, 1 a ``--fail-if`` condition holds (a CI gate), 2 a usage or input error
(printed as one line, never a traceback).
"""

from __future__ import annotations

import io
import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from fairwatch._text import MIN_GROUP_SIZE_HELP
from fairwatch._version import __version__
from fairwatch.cli._input import (
    default_engine,
    first_line,
    is_engine_error,
    positive_label,
    read_table,
    resolve_files,
    scan_files,
    split_values,
)
from fairwatch.cli._output import CheckOption, FailIfOption, OutputOption, emit, write_output
from fairwatch.exceptions import FairwatchError, InvalidInputError, MissingDependencyError
from fairwatch.metrics._summary import DEFAULT_MIN_GROUP_SIZE

__all__ = ["COMMAND_MODULES", "app", "main", "read_table"]

app = typer.Typer(
    name="fairwatch",
    help="Measure, mitigate and monitor the fairness of machine-learning models.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"fairwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """fairwatch: fairness infrastructure for machine-learning models."""


#: Where ``fairwatch audit`` aggregates rows (``--engine``).
AUDIT_ENGINES = ("duckdb", "polars", "spark", "numpy")


@app.command("audit")
def audit_command(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE...",
            help="CSV or Parquet file(s) with one row per prediction: files, globs such as 'logs/*.parquet' "
            "or directories of Parquet files, read as one table.",
        ),
    ],
    y_true: Annotated[str, typer.Option("--y-true", help="Column with the true labels.")],
    sensitive: Annotated[list[str], typer.Option("--sensitive", help="Sensitive column(s), comma-separated.")],
    y_pred: Annotated[Optional[str], typer.Option("--y-pred", help="Column with the predictions.")] = None,
    score: Annotated[Optional[str], typer.Option("--score", help="Column with scores/probabilities.")] = None,
    weight: Annotated[Optional[str], typer.Option("--weight", help="Column with sample weights.")] = None,
    metrics: Annotated[Optional[list[str]], typer.Option("--metrics", help="Metrics, comma-separated.")] = None,
    ci: Annotated[Optional[float], typer.Option("--ci", help="Confidence level, e.g. 0.95.")] = None,
    min_group_size: Annotated[int, typer.Option("--min-group-size", help=MIN_GROUP_SIZE_HELP)] = DEFAULT_MIN_GROUP_SIZE,
    pos_label: Annotated[Optional[str], typer.Option("--pos-label", help="The positive label.")] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="table, json, csv or html (the self-contained audit report).")
    ] = "table",
    output: OutputOption = None,
    check: CheckOption = None,
    fail_if: FailIfOption = None,
    engine: Annotated[
        Optional[str],
        typer.Option(
            "--engine",
            help="Where rows are aggregated: duckdb (the default when installed; rows never enter Python), "
            "polars (lazy scan, streaming), spark (a SparkSession; set the master with spark-submit or "
            "PYSPARK_SUBMIT_ARGS='--master URL pyspark-shell') or numpy (reads the file into memory).",
        ),
    ] = None,
) -> None:
    """Audit predictions in FILE(s) across the groups of the sensitive columns."""
    from fairwatch._audit import audit
    from fairwatch._checks import parse_check

    if output_format not in ("table", "json", "csv", "html"):
        raise InvalidInputError(f"--format must be table, json, csv or html; got {output_format!r}")
    engine = engine or default_engine()
    if engine not in AUDIT_ENGINES:
        raise InvalidInputError(
            f"--engine must be {', '.join(AUDIT_ENGINES[:-1])} or {AUDIT_ENGINES[-1]}; got {engine!r}"
        )
    for expression in [*(check or []), *(fail_if or [])]:
        parse_check(expression)  # fail fast, before reading a large file
    paths, file_format = resolve_files(files)
    err = Console(stderr=True)
    label = paths[0] if len(paths) == 1 else f"{len(paths)} files"
    with err.status(f"Auditing {label} with {engine}…", spinner="dots") if err.is_terminal else nullcontext():
        data = scan_files(paths, file_format, engine)
        try:
            result = audit(
                y_true,
                y_pred,
                sensitive_features=split_values(sensitive),
                scores=score,
                sample_weight=weight,
                metrics=split_values(metrics) or None,
                ci=ci,
                min_group_size=min_group_size,
                pos_label=positive_label(data, y_true, pos_label),
                data=data,
            )
        except Exception as exc:
            if not is_engine_error(exc):
                raise
            raise InvalidInputError(f"{engine} failed on {label}: {first_line(exc)}") from None
    checks = result.check(*check) if check else []
    gates = result.check(*fail_if) if fail_if else []
    if output_format == "html":
        from fairwatch.cli._report import audit_report_html

        columns = {"y_true": y_true, "y_pred": y_pred, "score": score, "weight": weight, "engine": engine}
        write_output(output, audit_report_html(result, paths, columns, fail_if or []))
    else:
        emit(result, output_format, output, checks, gates)
    if any(g.passed for g in gates):
        raise typer.Exit(1)


#: Output formats of ``fairwatch compare`` and the file extensions that imply them.
COMPARE_FORMATS = ("html", "json", "csv", "text")
_COMPARE_SUFFIXES = {".html": "html", ".htm": "html", ".json": "json", ".csv": "csv", ".txt": "text", ".text": "text"}
_FORMAT_SUFFIX = {"html": "html", "json": "json", "csv": "csv", "text": "txt"}


def compare_format(output_format: str | None, output: Path | None) -> str:
    """The format ``fairwatch compare`` writes: ``--format``, else the extension of ``--output``,
    else text on the screen. A ``--format`` that contradicts a known extension is refused."""
    if output_format is not None and output_format not in COMPARE_FORMATS:
        raise InvalidInputError(f"--format must be html, json, csv or text; got {output_format!r}")
    if output is None:
        return output_format or "text"
    implied = _COMPARE_SUFFIXES.get(output.suffix.lower())
    if output_format is None:
        if implied is None:
            raise InvalidInputError(
                f"cannot tell the format of --output {str(output)!r} from its extension; name it .html, .json, .csv "
                f"or .txt, or pass --format html|json|csv|text"
            )
        return implied
    if implied is not None and implied != output_format:
        raise InvalidInputError(
            f"--format {output_format} does not match --output {str(output)!r} (a {output.suffix} file); drop "
            f"--format, or name the file .{_FORMAT_SUFFIX[output_format]}"
        )
    return output_format


def _named_columns(table: Any, specs: list[str] | None, option: str, example: str) -> dict[str, Any]:
    """``{name: column values}`` from repeated ``NAME=COLUMN`` options."""
    named: dict[str, Any] = {}
    for spec in split_values(specs):
        name, sep, column = spec.partition("=")
        if not sep or not name or not column:
            raise InvalidInputError(f"{option} must look like NAME=COLUMN (e.g. {example}); got {spec!r}")
        named[name] = _column(table, column, option)
    return named


@app.command("compare")
def compare_command(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file with labels and each model's predictions.")],
    y_true: Annotated[str, typer.Option("--y-true", help="Column with the true labels.")],
    sensitive: Annotated[list[str], typer.Option("--sensitive", help="Sensitive column(s), comma-separated.")],
    pred: Annotated[list[str], typer.Option("--pred", help="NAME=COLUMN of one model's predictions (repeat).")],
    score: Annotated[
        Optional[list[str]],
        typer.Option("--score", help="NAME=COLUMN of one model's scores, for objectives such as roc_auc (repeat)."),
    ] = None,
    objectives: Annotated[
        str, typer.Option("--objectives", help="Comma-separated, e.g. accuracy,demographic_parity_difference.")
    ] = "accuracy,demographic_parity_difference",
    ci: Annotated[Optional[float], typer.Option("--ci", help="Confidence level, e.g. 0.95 (intervals shown).")] = None,
    min_group_size: Annotated[int, typer.Option("--min-group-size", help=MIN_GROUP_SIZE_HELP)] = DEFAULT_MIN_GROUP_SIZE,
    output_format: Annotated[
        Optional[str],
        typer.Option(
            "--format",
            help="html (figure and table), json, csv (tidy table) or text; default: from the --output "
            "extension, else text on the screen.",
        ),
    ] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write the comparison here (the table is shown too).")
    ] = None,
) -> None:
    """Compare models on the accuracy-fairness trade-off and mark the Pareto front."""
    try:
        from fairwatch.mitigation import compare_models
    except ImportError as exc:
        raise MissingDependencyError("compare needs scikit-learn: pip install 'fairwatch[mitigation]'") from exc
    chosen = compare_format(output_format, output)
    table = read_table(file)
    models = _named_columns(table, pred, "--pred", "baseline=pred")
    if len(models) < 2:
        raise InvalidInputError("--pred needs at least two models to compare (repeat --pred NAME=COLUMN)")
    scores = _named_columns(table, score, "--score", "baseline=proba")
    for name in scores:
        if name not in models:
            raise InvalidInputError(f"--score names model {name!r}, which no --pred gives")
    groups = {c: _column(table, c, "--sensitive") for c in split_values(sensitive)}
    comparison = compare_models(
        models,
        None,
        _column(table, y_true, "--y-true"),
        sensitive_features=groups,
        objectives=split_values([objectives]),
        ci=ci,
        min_group_size=min_group_size,
        scores=scores,
    )
    if output is None and chosen != "text":
        write_output(None, _comparison_text(comparison, chosen))
        return
    from fairwatch.cli._render import make_console

    _render_comparison(make_console(), comparison)
    if output is not None:
        write_output(output, _comparison_text(comparison, chosen))
        Console(stderr=True, soft_wrap=True).print(f"wrote {output}", highlight=False, markup=False)


def _comparison_text(comparison: Any, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(comparison.to_dict(), indent=2) + "\n"
    if output_format == "csv":
        return str(comparison.table.to_csv(index=False))
    if output_format == "html":
        return str(comparison.to_html())
    console = Console(record=True, width=200, file=io.StringIO())
    _render_comparison(console, comparison)
    return console.export_text()


def _column(table: Any, name: str, option: str) -> Any:
    if name not in table.column_names:
        raise InvalidInputError(f"{option} column {name!r} is not in FILE; columns: {', '.join(table.column_names)}")
    return table.column(name).to_numpy()


def _render_comparison(console: Console, comparison: Any) -> None:
    """Each model's scores (value and interval), the Pareto front, and the groups left out."""
    from rich.markup import escape
    from rich.table import Table

    data = comparison.to_dict()
    out = Table(header_style="bold")
    out.add_column("model")
    for objective in data["objectives"]:
        out.add_column(escape(f"{objective['name']} ({objective['direction']})"), justify="right")
    out.add_column("Pareto front", justify="center")
    for model in data["models"]:
        cells = []
        for objective in data["objectives"]:
            value = model["scores"][objective["name"]]
            cell = "—" if value["value"] is None else f"{value['value']:.4f}"
            if value["lo"] is not None and value["hi"] is not None:
                cell += f" [{value['lo']:.4f}, {value['hi']:.4f}]"
            cells.append(escape(cell))
        out.add_row(escape(model["model"]), *cells, "✓" if model["on_front"] else "")
    console.print(out)
    if data["ci"] is not None:
        console.print(f"Intervals: {data['ci']:.0%} confidence.", highlight=False)
    if data["suppressed_groups"]:
        groups = "; ".join(f"{label} ({n:,} rows)" for label, n in data["suppressed_groups"].items())
        console.print(
            escape(
                f"{len(data['suppressed_groups'])} group(s) under min_group_size={data['min_group_size']} left out "
                f"of the disparities ({data['suppressed_share']:.2%} of rows): {groups}."
            ),
            highlight=False,
        )


@app.command("metrics")
def metrics_command() -> None:
    """List the metrics fairwatch knows, with their aliases."""
    from rich.table import Table

    from fairwatch.cli._render import make_console
    from fairwatch.metrics import get_metric, list_metrics

    table = Table(header_style="bold")
    for col in ("metric", "aliases", "needs", "interval", "description"):
        table.add_column(col)
    for name, aliases in list_metrics().items():
        m = get_metric(name)
        table.add_row(name, ", ".join(aliases), m.block, m.interval, m.description)
    make_console().print(table)


@app.command("demo")
def demo_command(
    seed: Annotated[int, typer.Option(help="Random seed of the train/test split and bootstrap.")] = 0,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Where to write the HTML audit reports of both models.")
    ] = Path("fairwatch-demo"),
) -> None:
    """Train a baseline classifier on the bundled Adult data and audit it by sex × race."""
    from fairwatch.cli._demo import run_demo
    from fairwatch.cli._render import make_console

    run_demo(make_console(), seed=seed, output_dir=output_dir)


#: Modules that add commands to the CLI, each with ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    "fairwatch.cli._monitor",
    "fairwatch.cli._rollups",
    "fairwatch.cli._stream",
    "fairwatch.cli._report",
    "fairwatch.cli._model",
)


def _register_commands() -> None:
    import importlib

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(app)


_register_commands()


def _is_usage_error(exc: BaseException) -> bool:
    # typer raises click's UsageError family (vendored in recent typer): exit code 2 + a message.
    return getattr(exc, "exit_code", None) == 2 and callable(getattr(exc, "format_message", None))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and ``python -m fairwatch``."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        code = app(args=argv, prog_name="fairwatch", standalone_mode=False)
    except FairwatchError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(2)
    except typer.Abort:
        err.print("aborted", markup=False)
        sys.exit(130)
    except Exception as exc:
        if not _is_usage_error(exc):
            raise
        ctx = getattr(exc, "ctx", None)
        name = getattr(ctx, "info_name", None)
        command = f"fairwatch {name} --help" if name and name != "fairwatch" else "fairwatch --help"
        err.print(f"error: {exc.format_message()} (see '{command}')", markup=False)  # type: ignore[attr-defined]
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
