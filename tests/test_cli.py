"""The `fairwatch` command line: formats, the --fail-if gate and one-line usage errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fairwatch as fw
from fairwatch.cli import main


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(5)
    n = 3000
    sex = rng.choice(np.array(["F", "M"]), n)
    race = rng.choice(np.array(["A", "B", "C"]), n)
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + 0.15 * (sex == "M") + rng.uniform(0, 0.55, n), 0, 1).round(4)
    frame = pd.DataFrame({"sex": sex, "race": race, "label": y, "pred": (score > 0.5).astype(int), "score": score})
    path = tmp_path_factory.mktemp("cli") / "predictions.csv"
    frame.to_csv(path, index=False)
    frame.to_parquet(path.with_suffix(".parquet"))
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


def base(path: Path) -> list[str]:
    return ["audit", str(path), "--y-true", "label", "--y-pred", "pred", "--sensitive", "sex,race"]


def test_json_output_equals_the_library(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*base(data_file), "--score", "score", "--format", "json", "--ci", "0.95"], capsys)
    assert code == 0
    data = json.loads(out)
    frame = pd.read_csv(data_file)
    expected = fw.audit("label", "pred", sensitive_features=["sex", "race"], scores="score", data=frame, ci=0.95)
    assert data["groups"] == expected.to_dict()["groups"]
    assert data["disparities"]["demographic_parity"] == expected.to_dict()["disparities"]["demographic_parity"]


def test_parquet_input(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*base(data_file.with_suffix(".parquet")), "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out)["n"] == 3000


def test_table_output(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*base(data_file), "--metrics", "selection_rate,tpr", "--ci", "0.95"], capsys)
    assert code == 0
    assert "selection rate" in out and "Disparities" in out and "demographic_parity" in out


def test_csv_output_to_file(data_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "by_group.csv"
    code, _, _ = run([*base(data_file), "--format", "csv", "--output", str(target)], capsys)
    assert code == 0
    table = pd.read_csv(target)
    assert list(table.columns) == ["sex", "race", "metric", "value", "lo", "hi", "n", "suppressed"]


def test_table_output_to_file(data_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "audit.txt"
    code, out, _ = run([*base(data_file), "--output", str(target), "--check", "accuracy_min >= 0"], capsys)
    assert code == 0
    assert out == ""
    text = target.read_text(encoding="utf-8")
    assert "Disparities" in text and "check accuracy_min >= 0" in text


def test_fail_if_gate(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*base(data_file), "--fail-if", "demographic_parity_ratio < 0.99"], capsys)
    assert code == 1
    assert "FAIL" in out
    code, out, _ = run([*base(data_file), "--fail-if", "demographic_parity_ratio < 0.01"], capsys)
    assert code == 0


def test_min_group_size_suppresses(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*base(data_file), "--min-group-size", "100000", "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out)["suppressed_share"] == 1.0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fail-if", "dp ratio < 0.8"], "error: cannot parse check 'dp ratio < 0.8'"),
        (["--metrics", "nope"], "error: unknown metric 'nope'"),
        (["--format", "xml"], "error: --format must be table, json, csv or html; got 'xml'"),
        (["--sensitive", "religion"], "error: sensitive_features='religion' is not a column of data"),
        (["--ci", "2"], "error: ci must be a confidence level strictly between 0 and 1"),
    ],
)
def test_usage_errors_are_one_line(
    data_file: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, _, err = run([*base(data_file), *extra], capsys)
    assert code == 2
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(base(tmp_path / "nope.csv"), capsys)
    assert code == 2
    assert err.strip() == f"error: FILE {str(tmp_path / 'nope.csv')!r} does not exist"


def test_missing_option(capsys: pytest.CaptureFixture[str], data_file: Path) -> None:
    code, _, err = run(["audit", str(data_file), "--y-true", "label"], capsys)
    assert code == 2
    assert err.strip() == "error: Missing option '--sensitive'. (see 'fairwatch audit --help')"


def test_unwritable_output(data_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing-dir" / "out.json"
    code, _, err = run([*base(data_file), "--format", "json", "--output", str(target)], capsys)
    assert code == 2
    assert err.startswith(f"error: cannot write --output {str(target)!r}")
    assert not target.exists()


def test_metrics_listing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["metrics"], capsys)
    assert code == 0
    assert "true_positive_rate" in out and "tpr" in out


def test_module_entry_point_and_version() -> None:
    out = subprocess.run([sys.executable, "-m", "fairwatch", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"fairwatch {fw.__version__}"


def test_console_script_usage_error_has_no_traceback(data_file: Path) -> None:
    script = Path(sys.executable).with_name("fairwatch")
    if not script.exists():
        pytest.skip("console script not installed next to this interpreter")
    out = subprocess.run([str(script), "audit", str(data_file)], check=False, capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("error: Missing option")


def test_compare_models_from_a_file(data_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(data_file)
    frame["fair"] = frame["label"]  # a perfect model: accurate and as fair as the labels
    path = tmp_path / "models.csv"
    frame.to_csv(path, index=False)
    target = tmp_path / "comparison.html"
    code, out, _ = run(
        [
            "compare",
            str(path),
            "--y-true",
            "label",
            "--sensitive",
            "sex",
            "--pred",
            "baseline=pred",
            "--pred",
            "perfect=fair",
            "--output",
            str(target),
        ],
        capsys,
    )
    assert code == 0
    assert "perfect" in out and "Pareto front" in out
    html = target.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*src=[\"']?https?://", html)  # plotly.js is inlined, not fetched


def test_compare_needs_two_models(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        ["compare", str(data_file), "--y-true", "label", "--sensitive", "sex", "--pred", "a=pred"], capsys
    )
    assert code == 2
    assert err.startswith("error: --pred needs at least two models to compare")
    code, _, err = run(
        ["compare", str(data_file), "--y-true", "label", "--sensitive", "sex", "--pred", "a=nope", "--pred", "b=pred"],
        capsys,
    )
    assert code == 2
    assert err.startswith("error: --pred column 'nope' is not in FILE")


def test_directory_without_data_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(base(tmp_path), capsys)
    assert code == 2
    assert "is a directory without .parquet, .csv or .tsv files" in err


def test_pred_must_name_a_column(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        [
            "compare",
            str(data_file),
            "--y-true",
            "label",
            "--sensitive",
            "sex",
            "--pred",
            "justname",
            "--pred",
            "b=pred",
        ],
        capsys,
    )
    assert code == 2
    assert err.startswith("error: --pred must look like NAME=COLUMN (e.g. baseline=pred); got 'justname'")


# -- the default minimum group size (issue 22, item 3) -----------------------------------------------------
@pytest.fixture(scope="module")
def small_group_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Groups a and b (100 rows each, selected half the time) and a 13-row group always selected."""
    n_small = 13
    frame = pd.DataFrame(
        {
            "x": np.r_[np.tile([0.0, 1.0], 100), np.ones(n_small)],
            "label": np.r_[np.tile([0, 1], 100), np.ones(n_small, dtype=int)],
            "pred": np.r_[np.tile([0, 1], 100), np.ones(n_small, dtype=int)],
            "group": ["a"] * 100 + ["b"] * 100 + ["small"] * n_small,
        }
    )
    frame["other"] = frame["label"]
    path = tmp_path_factory.mktemp("small") / "small.csv"
    frame.to_csv(path, index=False)
    return path


def test_audit_suppresses_small_groups_by_default(small_group_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["audit", str(small_group_file), "--y-true", "label", "--y-pred", "pred", "--sensitive", "group"]
    code, out, _ = run([*argv, "--format", "json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["min_group_size"] == 30
    assert [g["group"]["group"] for g in data["groups"] if g["suppressed"]] == ["small"]
    assert data["suppressed_share"] == pytest.approx(13 / 213)
    assert data["disparities"]["demographic_parity"]["difference"] == pytest.approx(0.0)
    code, out, _ = run([*argv, "--format", "json", "--min-group-size", "0"], capsys)
    assert json.loads(out)["disparities"]["demographic_parity"]["difference"] == pytest.approx(0.5)
    code, out, _ = run(argv, capsys)
    assert "1 group(s) under min_group_size=30 suppressed (6.10% of rows)" in out


def test_audit_model_suppresses_small_groups_by_default(
    small_group_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import joblib
    from sklearn.linear_model import LogisticRegression

    frame = pd.read_csv(small_group_file)
    model_path = tmp_path / "model.joblib"
    joblib.dump(LogisticRegression().fit(frame[["x"]], frame["label"]), model_path)
    argv = ["audit-model", str(model_path), str(small_group_file), "--label", "label", "--sensitive", "group"]
    code, out, _ = run([*argv, "--format", "json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["min_group_size"] == 30
    assert [g["group"]["group"] for g in data["groups"] if g["suppressed"]] == ["small"]


def test_compare_suppresses_small_groups_by_default(small_group_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["compare", str(small_group_file), "--y-true", "label", "--sensitive", "group"]
    code, out, _ = run([*argv, "--pred", "m1=pred", "--pred", "m2=other"], capsys)
    assert code == 0
    m1 = next(line for line in out.splitlines() if "m1" in line)
    assert m1.split("│")[3].strip() == "0.0000"  # demographic_parity_difference without the 13-row group
    code, out, _ = run([*argv, "--pred", "m1=pred", "--pred", "m2=other", "--min-group-size", "0"], capsys)
    m1 = next(line for line in out.splitlines() if "m1" in line)
    assert m1.split("│")[3].strip() == "0.5000"


def test_one_default_minimum_group_size_everywhere() -> None:
    import inspect

    import typer.main

    from fairwatch.cli import app
    from fairwatch.mitigation import compare_models, pareto_front

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for name in ("audit", "audit-model", "compare"):
        option = next(p for p in commands[name].params if p.name == "min_group_size")
        assert option.default == fw.DEFAULT_MIN_GROUP_SIZE, name
    for function in (fw.audit, compare_models, pareto_front):
        assert inspect.signature(function).parameters["min_group_size"].default == fw.DEFAULT_MIN_GROUP_SIZE


# -- compare: formats, scores, intervals (issue 22, item 6) ------------------------------------------------
@pytest.fixture(scope="module")
def models_file(data_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = pd.read_csv(data_file)
    frame["fair"] = frame["label"]  # a perfect model
    frame["fair_score"] = np.where(frame["label"] == 1, 0.9, 0.1)
    path = tmp_path_factory.mktemp("models") / "models.csv"
    frame.to_csv(path, index=False)
    return path


def compare_args(path: Path) -> list[str]:
    return [
        "compare",
        str(path),
        "--y-true",
        "label",
        "--sensitive",
        "sex",
        "--pred",
        "base=pred",
        "--pred",
        "fair=fair",
    ]


def test_compare_output_format_follows_the_extension(
    models_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "t.json"
    code, out, err = run([*compare_args(models_file), "-o", str(target)], capsys)
    assert code == 0
    data = json.loads(target.read_text(encoding="utf-8"))  # JSON, not HTML
    assert data["front"] == ["fair"]
    assert [m["model"] for m in data["models"]] == ["base", "fair"]
    assert data["models"][1]["scores"]["accuracy"]["value"] == 1.0
    assert data["min_group_size"] == 30 and data["objectives"][0]["name"] == "accuracy"
    assert "base" in out and f"wrote {target}" in err  # the table is still shown on screen
    for suffix, check in ((".html", "<!DOCTYPE html>"), (".csv", "model,objective,direction"), (".txt", "Pareto")):
        path = tmp_path / f"t{suffix}"
        assert run([*compare_args(models_file), "-o", str(path)], capsys)[0] == 0
        assert check in path.read_text(encoding="utf-8"), suffix


def test_compare_format_option(models_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*compare_args(models_file), "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out)["front"] == ["fair"]
    code, _, _ = run([*compare_args(models_file), "--format", "text", "-o", str(tmp_path / "t.out")], capsys)
    assert code == 0
    assert "Pareto" in (tmp_path / "t.out").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--format", "html", "-o", "t.json"],
            "error: --format html does not match --output 't.json' (a .json file); drop --format, or name the "
            "file .html",
        ),
        (
            ["-o", "t.out"],
            "error: cannot tell the format of --output 't.out' from its extension; name it .html, .json, .csv "
            "or .txt, or pass --format html|json|csv|text",
        ),
        (["--format", "xml"], "error: --format must be html, json, csv or text; got 'xml'"),
        (
            ["--objectives", "accuracy,roc_auc"],
            "error: objective roc_auc needs scores, but model 'base' is given as predictions; pass its scores "
            "(--score base=COLUMN, or scores={'base': ...} in Python)",
        ),
        (["--score", "nobody=fair_score"], "error: --score names model 'nobody', which no --pred gives"),
        (["--score", "fair"], "error: --score must look like NAME=COLUMN (e.g. baseline=proba); got 'fair'"),
    ],
)
def test_compare_errors(
    models_file: Path, tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = [str(tmp_path / e) if e.startswith("t.") else e for e in extra]
    code, _, err = run([*compare_args(models_file), *extra], capsys)
    assert code == 2
    assert err.strip() == message.replace("'t.", f"'{tmp_path}/t."), err


def test_compare_scores_and_intervals(models_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*compare_args(models_file), "--score", "base=score", "--score", "fair=fair_score"]
    code, out, _ = run(
        [*argv, "--objectives", "accuracy,roc_auc,demographic_parity_difference", "--ci", "0.95"], capsys
    )
    assert code == 0
    fair = next(line for line in out.splitlines() if "fair" in line)
    assert re.search(r"1\.0000 \[\d\.\d{4}, \d\.\d{4}\]", fair), fair  # intervals on screen
    code, out, _ = run([*argv, "--objectives", "roc_auc", "--format", "json", "--ci", "0.9"], capsys)
    data = json.loads(out)
    frame = pd.read_csv(models_file)
    expected = fw.audit(frame["label"], frame["pred"], scores=frame["score"], sensitive_features=frame["sex"])
    base = data["models"][0]["scores"]["roc_auc"]
    assert base["value"] == pytest.approx(expected.summary.overall["roc_auc"])
    assert base["lo"] < base["value"] < base["hi"]
    assert data["ci"] == 0.9
