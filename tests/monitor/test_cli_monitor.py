"""The monitoring commands of the CLI: ingest, windows and keys, on a DuckDB store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fairwatch.cli import main
from fairwatch.monitor import open_store

from .events import T0, make_stream


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    stream = make_stream(300)
    predictions = pd.DataFrame(
        [
            {
                "prediction_id": e.prediction_id,
                "timestamp": e.timestamp.isoformat(),
                "prediction": e.prediction,
                "score": e.score,
                "sex": e.sensitive["sex"],
                "race": e.sensitive["race"],
            }
            for e in stream.predictions
        ]
    )
    outcomes = pd.DataFrame(
        [
            {"prediction_id": o.prediction_id, "label": o.label, "timestamp": o.timestamp.isoformat()}
            for o in stream.outcomes
        ]
    )
    paths = {
        "predictions": tmp_path / "predictions.csv",
        "outcomes": tmp_path / "outcomes.csv",
        "jsonl": tmp_path / "events.jsonl",
        "store": tmp_path / "store.duckdb",
    }
    predictions.to_csv(paths["predictions"], index=False)
    outcomes.to_csv(paths["outcomes"], index=False)
    paths["jsonl"].write_text("\n".join(e.model_dump_json() for e in stream.predictions[:10]) + "\n")
    return paths


def test_ingest_then_windows(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    store = f"duckdb://{files['store']}"
    code, _, err = run(
        [
            "ingest",
            str(files["predictions"]),
            "--model",
            "credit",
            "--store",
            store,
            "--score",
            "score",
            "--sensitive",
            "sex,race",
        ],
        capsys,
    )
    assert code == 0, err
    assert "predictions: 300 stored, 0 duplicates ignored" in err
    code, _, err = run(
        ["ingest", str(files["predictions"]), "--model", "credit", "--store", store, "--sensitive", "sex,race"], capsys
    )
    assert "0 stored, 300 duplicates ignored" in err
    code, _, err = run(["ingest", str(files["outcomes"]), "--kind", "outcomes", "--store", store], capsys)
    assert code == 0 and "outcomes:" in err
    code, out, _ = run(
        ["windows", "--model", "credit", "--sensitive", "sex", "--window", "1d", "--store", store, "--format", "json"],
        capsys,
    )
    assert code == 0
    windows = json.loads(out)["windows"]
    assert sum(w["n"] for w in windows) == 300
    code, out, _ = run(["windows", "--model", "credit", "--sensitive", "sex", "--store", store], capsys)
    assert code == 0 and "demographic_parity" in out


def test_ingest_jsonl_events(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    store = f"duckdb://{files['store']}"
    code, _, err = run(["ingest", str(files["jsonl"]), "--store", store, "--model", "credit"], capsys)
    assert code == 0 and "10 stored" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sensitive", "religion"], "error: column 'religion' is not in the file; columns: prediction_id"),
        (["--kind", "labels"], "error: --kind must be predictions or outcomes; got 'labels'"),
        (["--timestamp", "when"], "error: column 'when' is not in the file"),
    ],
)
def test_ingest_errors_are_one_line(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    store = f"duckdb://{files['store']}"
    code, _, err = run(["ingest", str(files["predictions"]), "--model", "credit", "--store", store, *extra], capsys)
    assert code == 2
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1


def test_naive_timestamps_are_rejected_with_the_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "naive.csv"
    pd.DataFrame(
        {"prediction_id": ["a"], "timestamp": ["2024-05-01T00:00:00"], "prediction": [1], "sex": ["F"]}
    ).to_csv(path, index=False)
    code, _, err = run(
        ["ingest", str(path), "--model", "m", "--store", f"duckdb://{tmp_path / 's.duckdb'}", "--sensitive", "sex"],
        capsys,
    )
    assert code == 2
    assert err.startswith("error: row 0: timestamp: Input should have timezone info")


def test_windows_unknown_model(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        ["windows", "--model", "nope", "--sensitive", "sex", "--store", f"duckdb://{files['store']}"], capsys
    )
    assert code == 2
    assert err.strip() == "error: unknown model 'nope': no predictions stored for it"


def test_keys_lifecycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = f"duckdb://{tmp_path / 'keys.duckdb'}"
    code, out, err = run(["keys", "create", "--name", "pipeline", "--scopes", "ingest,read", "--store", store], capsys)
    assert code == 0 and out.startswith("fw_")
    plain = out.strip()
    key_id = err.split()[2]
    code, out, _ = run(["keys", "list", "--store", store], capsys)
    assert key_id in out and "active" in out and plain not in out
    s = open_store(store)
    assert s.key_scopes(plain) == ("ingest", "read")
    s.close()
    code, out, _ = run(["keys", "revoke", key_id, "--store", store], capsys)
    assert code == 0
    code, _, err = run(["keys", "revoke", key_id, "--store", store], capsys)
    assert code == 2 and "no active key with id" in err
    code, _, err = run(["keys", "create", "--name", "x", "--scopes", "write", "--store", store], capsys)
    assert code == 2 and "unknown scope 'write'" in err


def test_start_must_have_a_timezone(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        [
            "windows",
            "--model",
            "credit",
            "--sensitive",
            "sex",
            "--start",
            "2024-05-01T00:00:00",
            "--store",
            f"duckdb://{files['store']}",
        ],
        capsys,
    )
    assert code == 2 and "--start must include a timezone" in err
    assert T0.tzinfo is not None
