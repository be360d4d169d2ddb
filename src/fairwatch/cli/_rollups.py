"""The ``rollups`` commands: recompute a model's roll-ups from its raw events, or compare them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from fairwatch.cli._monitor import StoreOption, _open, _parse_time

__all__ = ["register", "rollups_app"]

rollups_app = typer.Typer(
    help="The per-bucket statistics every read comes from: rebuild them from the raw events, or check them.",
    no_args_is_help=True,
)

STOPPED_SERVICE = "stop 'fairwatch serve' first (a rebuild needs the store to itself on DuckDB)"


@contextmanager
def progress_bar(description: str) -> Iterator[Any]:
    """A rich progress bar on stderr, and the ``progress(stage, done, total)`` callback that moves it."""
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # no bar (nor blank lines) in logs and pipes
    ) as bar:
        task = bar.add_task(description, total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{description}: {stage}", completed=done, total=total)

        yield progress


def _models(store: Any, model: str | None) -> list[str]:
    return [model] if model else [info.model for info in store.models()]


@rollups_app.command("rebuild")
def rebuild_command(
    model: Annotated[str, typer.Option("--model", help="The model whose roll-ups to recompute.")],
    since: Annotated[
        Optional[str], typer.Option(help="First day to recompute (ISO 8601 with zone; default: the first event).")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Recompute a model's roll-ups from its raw events (after a bug, or a change of bins), a day per step.

    Days before --since keep their roll-ups; an interrupted rebuild can simply be run again.
    """
    from fairwatch.monitor._rebuild import rebuild

    start = _parse_time(since, "--since")
    with progress_bar("upgrade") as progress:
        target = _open(store, STOPPED_SERVICE, progress=progress)
    try:
        with progress_bar(f"rebuilding {model}") as progress:
            events = rebuild(target, model, start, progress)
    finally:
        target.close()
    typer.echo(f"rebuilt the roll-ups of {model!r} from {events:,} raw events")


@rollups_app.command("check")
def check_command(
    model: Annotated[Optional[str], typer.Option("--model", help="One model (default: every model).")] = None,
    store: StoreOption = None,
) -> None:
    """Compare roll-ups with a recomputation from the raw events; exits 1 when they differ."""
    from fairwatch.monitor._rebuild import check

    with progress_bar("upgrade") as progress:
        target = _open(store, STOPPED_SERVICE, progress=progress)
    differing = 0
    try:
        for name in _models(target, model):
            with progress_bar(f"checking {name}") as progress:
                differences = check(target, name, progress)
            if not differences:
                typer.echo(f"{name}: roll-ups equal the raw events")
                continue
            for difference in differences:
                differing += len(difference.rows)
                typer.echo(f"{name}: {len(difference.rows):,} rows of rollup_{difference.table} differ", err=True)
                for key, (stored, expected) in list(difference.rows.items())[:5]:
                    typer.echo(f"  {key}: stored {stored}, recomputed {expected}", err=True)
    finally:
        target.close()
    if differing:
        typer.echo(
            f"{differing:,} rows differ: run `fairwatch rollups rebuild --model MODEL` to recompute them", err=True
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``rollups`` command group to the main app."""
    app.add_typer(rollups_app, name="rollups")
