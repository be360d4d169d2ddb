"""Messages of the monitoring error paths not covered elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor import PredictionEvent, Store, open_store, window_metrics
from fairwatch.server import parse_api_keys

from .events import T0, make_stream


def test_duckdb_url_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"DuckDB store URLs look like duckdb:///absolute/path.duckdb"):
        open_store("duckdb://relative/path.duckdb")
    with pytest.raises(InvalidInputError, match=r"store directory .* does not exist; create it first"):
        open_store(f"duckdb://{tmp_path / 'missing' / 'events.duckdb'}")


def test_postgres_schema_must_be_an_identifier() -> None:
    with pytest.raises(InvalidInputError, match=r"schema='Bad-Name' must be a lower-case identifier"):
        open_store("postgresql://postgres@127.0.0.1:5432/test?schema=Bad-Name")


def test_unknown_table(store: Store) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown table 'users'"):
        store.count("users")


def test_api_key_entries_need_a_scope() -> None:
    with pytest.raises(InvalidInputError, match=r"FAIRWATCH_API_KEYS entries look like key:scope"):
        parse_api_keys("k1:ingest,lonely")


def test_more_than_two_labels(store: Store) -> None:
    events = [
        PredictionEvent(prediction_id=str(i), model="m", timestamp=T0, prediction=p, sensitive={"g": "a"})
        for i, p in enumerate(["low", "mid", "high"])
    ]
    store.insert_predictions(events)
    with pytest.raises(InvalidInputError, match=r"model 'm' has more than two labels .*binary fairness"):
        window_metrics(store, "m", sensitive=["g"])


def test_cli_ingest_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fairwatch.cli import main

    bad = tmp_path / "events.jsonl"
    bad.write_text(make_stream(1).predictions[0].model_dump_json() + "\n{not json\n")
    store = f"duckdb://{tmp_path / 's.duckdb'}"
    for argv, message in [
        (["ingest", str(bad), "--store", store, "--model", "credit"], "error: events.jsonl line 2 is not JSON"),
        (["ingest", str(bad), "--store", store], "error: --model is required when ingesting predictions"),
    ]:
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        assert capsys.readouterr().err.startswith(message)
