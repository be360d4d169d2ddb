"""Monitoring commands of the CLI: ``serve``, ``ingest``, ``windows`` and ``keys``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from fairwatch._text import comma_list
from fairwatch.cli._input import read_table
from fairwatch.exceptions import InvalidInputError, MissingDependencyError

__all__ = ["register"]

keys_app = typer.Typer(
    help="Manage API keys stored (hashed) in the store, directly or through a running service (--url).",
    no_args_is_help=True,
)

StoreOption = Annotated[
    Optional[str],
    typer.Option("--store", envvar="FAIRWATCH_STORE", help="Store URL: duckdb:///path.duckdb or postgresql://..."),
]
ServiceOption = Annotated[
    Optional[str],
    typer.Option(
        "--url",
        envvar="FAIRWATCH_URL",
        help="A running service (e.g. http://127.0.0.1:8000) to manage keys through; needs an admin --api-key.",
    ),
]
ApiKeyOption = Annotated[Optional[str], typer.Option("--api-key", envvar="FAIRWATCH_API_KEY")]

#: What to do when a running service holds the DuckDB file, per command.
KEYS_THROUGH_SERVICE = (
    "manage keys through the running service instead: add --url http://HOST:PORT --api-key <an admin key> "
    "(or set FAIRWATCH_URL and FAIRWATCH_API_KEY)"
)
INGEST_THROUGH_SERVICE = "send the events through the running service instead: add --url http://HOST:PORT --api-key"


def _open(
    store: str | None, through_service: str = "stop the process holding it, or use its API", progress: Any = None
) -> Any:
    """Open the store (an earlier release's store is upgraded first, reporting to ``progress``)."""
    try:
        from fairwatch.monitor import open_store
        from fairwatch.server._settings import Settings
    except ImportError as exc:
        raise MissingDependencyError("monitoring needs the server extra: pip install 'fairwatch[server]'") from exc
    from fairwatch.exceptions import StoreUnavailableError
    from fairwatch.server._settings import store_options

    settings = Settings() if store is None else Settings(store=store)
    url = settings.store
    try:
        return open_store(url, **store_options(settings), progress=progress)
    except StoreUnavailableError as exc:
        # DuckDB lets one process open the file: here, most likely a running `fairwatch serve`
        if url.startswith("duckdb://") and "lock" in str(exc).lower():
            raise StoreUnavailableError(
                f"the DuckDB store {url!r} is in use by another process (a running 'fairwatch serve'?); "
                f"{through_service}"
            ) from None
        raise


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"{option} must be an ISO 8601 time such as 2024-05-01T00:00:00Z; got {value!r}"
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInputError(f"{option} must include a timezone (e.g. 2024-05-01T00:00:00Z); got {value!r}")
    return parsed


def serve_command(
    store: StoreOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes (PostgreSQL stores only): reads and ingest then run on separate "
            "interpreters, so heavy ingest does not slow reads down. One per core is a good start.",
        ),
    ] = 1,
) -> None:
    """Run the monitoring service (API, metrics) on the given store."""
    try:
        import uvicorn

        from fairwatch.server import Settings, create_app
    except ImportError as exc:
        raise MissingDependencyError("serve needs the server extra: pip install 'fairwatch[server]'") from exc
    from fairwatch.server._http import server_config

    settings = Settings() if store is None else Settings(store=store)
    # header, body and keep-alive timeouts and the connection cap come from the settings (FAIRWATCH_*)
    if workers == 1:
        uvicorn.Server(server_config(create_app(settings), settings, host=host, port=port)).run()
        return
    if not settings.store.startswith(("postgresql://", "postgres://")):
        raise InvalidInputError(
            f"--workers {workers} needs a PostgreSQL store: a DuckDB file is opened by one process at a time "
            f"(got {settings.store!r}); run one worker, or store in PostgreSQL (--store postgresql://...)"
        )
    from uvicorn.supervisors import Multiprocess

    os.environ["FAIRWATCH_STORE"] = settings.store  # the workers build their settings from the environment
    config = server_config("fairwatch.server:create_app", settings, host=host, port=port, workers=workers)
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def _rows(path: Path) -> tuple[list[dict[str, Any]], bool]:
    """Rows of a CSV, Parquet or JSON-lines file; True when rows are already events (JSONL)."""
    if not path.exists():
        raise InvalidInputError(f"FILE {str(path)!r} does not exist")
    suffix = "".join(path.suffixes).lower()
    if suffix.endswith((".jsonl", ".ndjson")):
        rows = []
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise InvalidInputError(f"{path.name} line {number} is not JSON: {exc.msg}") from None
        return rows, True

    return read_table(path).to_pylist(), False


def _event_dicts(
    rows: list[dict[str, Any]], *, kind: str, model: str | None, columns: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    wanted = [columns["id"], columns["timestamp"], *columns["sensitive"], *columns["features"]]
    wanted += [columns["label"]] if kind == "outcomes" else [columns["prediction"], columns["score"]]
    for row in rows[:1]:
        for name in [c for c in wanted if c]:
            if name not in row:
                raise InvalidInputError(f"column {name!r} is not in the file; columns: {', '.join(row)}")
    for row in rows:
        timestamp = row[columns["timestamp"]]
        if isinstance(timestamp, datetime) and timestamp.tzinfo is None and columns["timezone"]:
            from zoneinfo import ZoneInfo

            timestamp = timestamp.replace(tzinfo=ZoneInfo(columns["timezone"]))
        if kind == "outcomes":
            yield {
                "prediction_id": str(row[columns["id"]]),
                "label": row[columns["label"]],
                "timestamp": timestamp,
                **({"model": model} if model else {}),
            }
            continue
        yield {
            "prediction_id": str(row[columns["id"]]),
            "model": model,
            "model_version": columns["version"],
            "timestamp": timestamp,
            "prediction": row[columns["prediction"]],
            "score": row.get(columns["score"]) if columns["score"] else None,
            "sensitive": {name: row[name] for name in columns["sensitive"]},
            "features": {name: row[name] for name in columns["features"]} or None,
        }


def _validate(dicts: Iterator[dict[str, Any]], kind: str) -> list[Any]:
    from pydantic import ValidationError

    from fairwatch.monitor import OutcomeEvent, PredictionEvent

    cls = OutcomeEvent if kind == "outcomes" else PredictionEvent
    events = []
    for index, data in enumerate(dicts):
        try:
            events.append(cls.model_validate(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInputError(f"row {index}: {where}: {first['msg']}") from None
    return events


def ingest_command(
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON-lines file of events.")],
    model: Annotated[Optional[str], typer.Option("--model", help="Model name (required for predictions).")] = None,
    kind: Annotated[str, typer.Option("--kind", help="predictions or outcomes.")] = "predictions",
    store: StoreOption = None,
    url: Annotated[Optional[str], typer.Option("--url", help="Send to a running service instead of a store.")] = None,
    api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="FAIRWATCH_API_KEY")] = None,
    id_column: Annotated[str, typer.Option("--id")] = "prediction_id",
    timestamp_column: Annotated[str, typer.Option("--timestamp")] = "timestamp",
    prediction_column: Annotated[str, typer.Option("--prediction")] = "prediction",
    label_column: Annotated[str, typer.Option("--label")] = "label",
    score_column: Annotated[Optional[str], typer.Option("--score")] = None,
    sensitive: Annotated[Optional[str], typer.Option("--sensitive", help="Sensitive columns, comma-separated.")] = None,
    features: Annotated[Optional[str], typer.Option("--features", help="Feature columns, comma-separated.")] = None,
    model_version: Annotated[Optional[str], typer.Option("--model-version")] = None,
    timezone_name: Annotated[
        Optional[str], typer.Option("--assume-timezone", help="Zone for timestamps without one, e.g. UTC.")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 5000,
) -> None:
    """Load events from FILE into a store (or a running service), in idempotent batches."""
    if kind not in ("predictions", "outcomes"):
        raise InvalidInputError(f"--kind must be predictions or outcomes; got {kind!r}")
    if kind == "predictions" and model is None:
        raise InvalidInputError("--model is required when ingesting predictions")
    rows, are_events = _rows(file)
    columns = {
        "id": id_column,
        "timestamp": timestamp_column,
        "prediction": prediction_column,
        "label": label_column,
        "score": score_column,
        "sensitive": comma_list(sensitive),
        "features": comma_list(features),
        "version": model_version,
        "timezone": timezone_name,
    }
    dicts = iter(rows) if are_events else _event_dicts(rows, kind=kind, model=model, columns=columns)
    events = _validate(dicts, kind)
    accepted, duplicates = _send(events, kind, store=store, url=url, api_key=api_key, batch_size=batch_size)
    Console(stderr=True).print(f"{kind}: {accepted:,} stored, {duplicates:,} duplicates ignored", highlight=False)


def _send(
    events: Sequence[Any], kind: str, *, store: str | None, url: str | None, api_key: str | None, batch_size: int
) -> tuple[int, int]:
    from rich.progress import Progress

    if url is not None:
        from fairwatch.client import Client

        with Client(url, api_key, batch_size=batch_size) as client:
            summary = (
                client.log_predictions(list(events)) if kind == "predictions" else client.log_outcomes(list(events))
            )
        return summary.accepted, summary.duplicates
    target = _open(store, INGEST_THROUGH_SERVICE)
    accepted = duplicates = 0
    try:
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(f"Storing {kind}", total=len(events))
            for start in range(0, len(events), batch_size):
                batch = events[start : start + batch_size]
                insert = target.insert_predictions if kind == "predictions" else target.insert_outcomes
                result = insert(batch)
                accepted += result.accepted
                duplicates += result.duplicates
                progress.advance(task, len(batch))
    finally:
        target.close()
    return accepted, duplicates


def windows_command(
    model: Annotated[str, typer.Option("--model", help="Model name.")],
    sensitive: Annotated[str, typer.Option("--sensitive", help="Sensitive attributes, comma-separated.")],
    store: StoreOption = None,
    window: Annotated[str, typer.Option("--window", help="15m, 1h, 1d, 1w, ...")] = "1d",
    start: Annotated[Optional[str], typer.Option("--start", help="ISO 8601 with zone.")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="ISO 8601 with zone.")] = None,
    metrics: Annotated[Optional[str], typer.Option("--metrics", help="Comma-separated metric names.")] = None,
    ci: Annotated[Optional[float], typer.Option("--ci")] = None,
    min_group_size: Annotated[Optional[int], typer.Option("--min-group-size")] = None,
    model_version: Annotated[Optional[str], typer.Option("--model-version")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Windowed fairness metrics of a model, straight from a store."""
    from fairwatch.monitor import window_metrics

    if output_format not in ("table", "json"):
        raise InvalidInputError(f"--format must be table or json; got {output_format!r}")
    target = _open(store)
    try:
        results = window_metrics(
            target,
            model,
            sensitive=comma_list(sensitive),
            window=window,
            start=_parse_time(start, "--start"),
            end=_parse_time(end, "--end"),
            metrics=comma_list(metrics) or None,
            ci=ci,
            min_group_size=min_group_size,
            model_version=model_version,
        )
    finally:
        target.close()
    if output_format == "json":
        sys.stdout.write(json.dumps({"windows": [w.to_dict() for w in results]}, indent=2) + "\n")
        return
    _print_windows(results)


def _print_windows(results: Sequence[Any]) -> None:
    from rich.table import Table

    from fairwatch.cli._render import make_console

    table = Table(header_style="bold")
    for column in ("start", "n", "label coverage", "disparity", "difference", "ratio"):
        table.add_column(column, justify="left" if column in ("start", "disparity") else "right")
    for window in results:
        data = window.to_dict()
        coverage = "—" if data["label_coverage"] is None else f"{data['label_coverage']:.0%}"
        first = True
        for name, d in data["disparities"].items():
            diff = "—" if d["difference"] is None else f"{d['difference']:.3f}"
            ratio = "—" if d["ratio"] is None else f"{d['ratio']:.3f}"
            table.add_row(
                data["start"] if first else "",
                str(data["n"]) if first else "",
                coverage if first else "",
                name,
                diff,
                ratio,
            )
            first = False
        if first:
            table.add_row(data["start"], str(data["n"]), coverage, "—", "—", "—")
    make_console().print(table)


def _service(url: str, api_key: str | None) -> Any:
    from fairwatch.client import Client

    return Client(url, api_key, max_retries=2)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="What the key is for.")],
    scopes: Annotated[str, typer.Option("--scopes", "--scope", help="Comma-separated: ingest, read, admin.")],
    models: Annotated[
        Optional[str],
        typer.Option("--models", help="Comma-separated models the key is limited to (default: every model)."),
    ] = None,
    store: StoreOption = None,
    url: ServiceOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Create a key; it is printed once and stored only as a hash."""
    granted = None if models is None else comma_list(models)
    if url is not None:
        with _service(url, api_key) as service:
            created = service.create_key(name, comma_list(scopes), models=granted)
        plain, key_id, key_scopes, key_models = created["key"], created["key_id"], created["scopes"], created["models"]
    else:
        target = _open(store, KEYS_THROUGH_SERVICE)
        try:
            key = target.create_key(name, comma_list(scopes), models=granted)
        finally:
            target.close()
        plain, key_id, key_scopes, key_models = key.plain, key.key_id, key.scopes, key.models
    typer.echo(plain)
    limited = "" if key_models is None else f" for models {', '.join(key_models)}"
    Console(stderr=True).print(
        f"created key {key_id} ({', '.join(key_scopes)}){limited}; store it now, it is not shown again",
        highlight=False,
    )


@keys_app.command("list")
def keys_list(store: StoreOption = None, url: ServiceOption = None, api_key: ApiKeyOption = None) -> None:
    """List keys (ids, names, scopes; never the keys)."""
    if url is not None:
        with _service(url, api_key) as service:
            rows = [
                (k["key_id"], k["name"], k["scopes"], k["revoked"], k["created"], k["models"])
                for k in service.list_keys()
            ]
    else:
        target = _open(store, KEYS_THROUGH_SERVICE)
        try:
            rows = [
                (k.key_id, k.name, k.scopes, k.revoked, k.created.isoformat(), k.models) for k in target.list_keys()
            ]
        finally:
            target.close()
    for key_id, name, key_scopes, revoked, created, models in rows:
        state = "revoked" if revoked else "active"
        limited = "" if models is None else f"\tmodels={','.join(models)}"
        typer.echo(f"{key_id}\t{name}\t{'|'.join(key_scopes)}\t{state}\t{created}{limited}")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="Key id from `fairwatch keys list`.")],
    store: StoreOption = None,
    url: ServiceOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Revoke a key by id; a running service refuses it from its next request on."""
    if url is not None:
        with _service(url, api_key) as service:
            service.revoke_key(key_id)
    else:
        target = _open(store, KEYS_THROUGH_SERVICE)
        try:
            if not target.revoke_key(key_id):
                raise InvalidInputError(f"no active key with id {key_id!r} (see 'fairwatch keys list')")
        finally:
            target.close()
    typer.echo(f"revoked {key_id}")


def register(app: typer.Typer) -> None:
    """Add the monitoring commands to the main app."""
    app.command("serve")(serve_command)
    app.command("ingest")(ingest_command)
    app.command("windows")(windows_command)
    app.add_typer(keys_app, name="keys")
