"""One rule for missing sensitive values (issue 22, item 5).

A missing value (null, NaN, or text that is empty or only spaces — what a CSV reader gives for an
empty cell) is not a group. Every audit refuses it with one message, whatever holds the data:
arrays, pandas, Polars, pyarrow, a lazy frame aggregated in its engine, or a file read by the
``audit``, ``compare`` or ``audit-model`` command. The NYC LL144 tables of ``impact-ratio`` count the
same values as "unknown" and leave them out of the rates, as those rules ask.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import fairwatch as fw
from fairwatch.cli import main
from fairwatch.exceptions import MissingValueError

N = 60
Y = np.tile([0, 1], N // 2)
P = np.tile([1, 1, 0, 0], N // 4)
RACE = np.array(["A", "B", "C"] * (N // 3), dtype=object)
MESSAGE = (
    "sensitive feature 'race' has 2 missing value(s) (empty, null or NaN) in 60 rows; a missing value is not a "
    "group. Fill them with an explicit category such as 'unknown', or drop those rows, before auditing"
)


def _race(*missing: Any) -> np.ndarray:
    values = RACE.copy()
    values[[3, 10]] = missing
    return values


def _frame(*missing: Any) -> pd.DataFrame:
    return pd.DataFrame({"label": Y, "pred": P, "race": _race(*missing)})


@pytest.mark.parametrize(
    "missing",
    [(None, None), (np.nan, np.nan), ("", ""), ("  ", None), ("", np.nan)],
    ids=["null", "nan", "empty", "spaces+null", "empty+nan"],
)
@pytest.mark.parametrize("kind", ["array", "pandas", "polars", "pyarrow", "polars-lazy", "duckdb"])
def test_every_input_gives_the_same_message(kind: str, missing: tuple[Any, Any]) -> None:
    frame = _frame(*missing)
    if kind == "array":
        call: dict[str, Any] = {"y_true": Y, "y_pred": P, "sensitive_features": {"race": frame["race"].to_numpy()}}
    else:
        data: Any = frame
        if kind in ("polars", "polars-lazy"):
            pl = pytest.importorskip("polars")
            data = pl.from_pandas(frame)
            data = data.lazy() if kind == "polars-lazy" else data
        elif kind == "pyarrow":
            pa = pytest.importorskip("pyarrow")
            data = pa.Table.from_pandas(frame)
        elif kind == "duckdb":
            duckdb = pytest.importorskip("duckdb")
            data = duckdb.from_df(frame)
        call = {"y_true": "label", "y_pred": "pred", "sensitive_features": "race", "data": data}
    with pytest.raises(MissingValueError) as raised:
        fw.audit(**call)
    assert str(raised.value) == MESSAGE


def test_numeric_sensitive_column_with_nan() -> None:
    band = np.tile([1.0, 2.0, 3.0], N // 3)
    band[[0, 5]] = np.nan
    with pytest.raises(MissingValueError) as raised:
        fw.audit(Y, P, sensitive_features={"race": band})
    assert str(raised.value) == MESSAGE


def test_the_fix_the_message_names_works() -> None:
    frame = _frame(None, "")
    frame["race"] = frame["race"].replace("", None).fillna("unknown")
    audit = fw.audit("label", "pred", sensitive_features="race", data=frame, min_group_size=0)
    assert ("unknown",) in audit.stats.groups


def test_audit_model_refuses_before_running_the_model() -> None:
    calls = []

    def model(rows: Any) -> np.ndarray:
        calls.append(len(rows))
        return np.full(len(rows), 0.7)

    with pytest.raises(MissingValueError) as raised:
        fw.audit_model(model, np.zeros((N, 1)), Y, sensitive_features={"race": _race("", None)})
    assert str(raised.value) == MESSAGE
    assert calls == []


def test_compare_models_refuses_too() -> None:
    from fairwatch.mitigation import compare_models

    with pytest.raises(MissingValueError) as raised:
        compare_models({"a": P, "b": Y}, None, Y, sensitive_features={"race": _race("", None)})
    assert str(raised.value) == MESSAGE


# -- the command line: one file, one message ------------------------------------------------------------
@pytest.fixture(scope="module")
def blank_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = _frame("", "")
    frame["x"] = np.linspace(0, 1, N)
    path = tmp_path_factory.mktemp("blank") / "blank.csv"
    frame.to_csv(path, index=False)
    text = path.read_text(encoding="utf-8")
    assert text.count(",,") == 2  # the sensitive cells really are empty in the file
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    _, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), err


@pytest.mark.parametrize("engine", ["duckdb", "polars", "numpy"])
def test_cli_audit_refuses(blank_csv: Path, engine: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["audit", str(blank_csv), "--y-true", "label", "--y-pred", "pred", "--sensitive", "race"]
    code, err = _run([*argv, "--engine", engine], capsys)
    assert code == 2
    assert err.strip() == f"error: {MESSAGE}"


def test_cli_compare_refuses(blank_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "compare",
        str(blank_csv),
        "--y-true",
        "label",
        "--sensitive",
        "race",
        "--pred",
        "a=pred",
        "--pred",
        "b=label",
    ]
    code, err = _run(argv, capsys)
    assert code == 2
    assert err.strip() == f"error: {MESSAGE}"


def test_cli_audit_model_refuses(blank_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import joblib
    from sklearn.linear_model import LogisticRegression

    model_path = tmp_path / "model.joblib"
    joblib.dump(LogisticRegression().fit(pd.read_csv(blank_csv)[["x"]], Y), model_path)
    argv = ["audit-model", str(model_path), str(blank_csv), "--label", "label", "--sensitive", "race", "--drop", "pred"]
    code, err = _run(argv, capsys)
    assert code == 2
    assert err.strip() == f"error: {MESSAGE}"


def test_impact_ratio_counts_the_same_values_as_unknown(blank_csv: Path) -> None:
    from fairwatch.report import impact_ratio

    for missing in [("", ""), (None, np.nan), ("  ", None)]:
        table = impact_ratio(_frame(*missing), selected="pred", categories="race").tables[0]
        assert table.unknown == 2
        assert [row.group for row in table.rows] == ["A", "B", "C"]
    pl = pytest.importorskip("polars")
    numeric = pl.DataFrame({"pred": P, "race": np.where(np.arange(N) % 2 == 0, 1.0, 2.0)}).with_columns(
        pl.when(pl.int_range(pl.len()) < 2).then(float("nan")).otherwise(pl.col("race")).alias("race")
    )
    assert impact_ratio(numeric, selected="pred", categories="race").tables[0].unknown == 2
