"""`fairwatch impact-ratio` and `fairwatch audit --format html`: outputs, one-line errors (exit 2),
no partial file left behind."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairwatch.cli import main
from fairwatch.report import impact_ratio

from .payloads import XSS


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    n = 2000
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(["A", "B", XSS], n, p=[0.6, 0.39, 0.01]),
            "hired": rng.integers(0, 2, n),
            "score": rng.random(n).round(3),
            "label": rng.integers(0, 2, n),
            "country": "US",
        }
    )
    path = tmp_path_factory.mktemp("impact") / "people.csv"
    frame.to_csv(path, index=False)
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_json_equals_the_library(people: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["impact-ratio", str(people), "--score", "score", "--categories", "sex,race", "--format", "json"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    expected = impact_ratio(pd.read_csv(people), score="score", categories=["sex", "race"]).to_dict()
    assert json.loads(out)["tables"] == expected["tables"]


def test_table_and_csv(people: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["impact-ratio", str(people), "--selected", "hired", "--categories", "sex,race"], capsys)
    assert code == 0
    assert "sex × race" in out and "impact ratio" in out and "excluded" in out
    assert XSS in out  # rich markup in group names is printed literally, not interpreted
    code, out, _ = run(
        ["impact-ratio", str(people), "--selected", "hired", "--categories", "sex", "--format", "csv"], capsys
    )
    assert code == 0 and out.splitlines()[0].startswith("category,group,n,")


def test_html_to_file(people: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "bias-audit.html"
    argv = ["impact-ratio", str(people), "--selected", "hired", "--categories", "sex,race", "--format", "html"]
    code, _, err = run([*argv, "--output", str(target)], capsys)
    assert code == 0 and "wrote" in err
    html = target.read_text(encoding="utf-8")
    assert XSS not in html and "&lt;script&gt;" in html
    assert "<script" not in html  # a static page: no script
    assert not re.search(r"https?://|src=|href=", html)  # and no URL or reference to anything outside
    assert "sha256:" + hashlib.sha256(people.read_bytes()).hexdigest() in html


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--selected", "hired", "--categories", "sex,gender"], r"categories column 'gender' is not in the data"),
        (["--selected", "hires", "--categories", "sex"], r"selected column 'hires' is not in the data"),
        (["--score", "race", "--categories", "sex"], r"score column 'race' holds String values, not numbers"),
        (["--selected", "hired", "--categories", "sex,country"], r"category 'country' has a single group"),
        (["--categories", "sex"], r"pass exactly one of --selected COL .* or --score COL"),
        (
            ["--selected", "hired", "--categories", "sex", "--format", "xml"],
            r"--format must be table, json, csv or html",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(
    people: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["impact-ratio", str(people), *argv], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert re.search(message, err), err


def test_unwritable_output_leaves_nothing(people: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["impact-ratio", str(people), "--selected", "hired", "--categories", "sex", "--format", "json"]
    code, _, err = run([*base, "--output", str(tmp_path / "no-such-dir" / "out.json")], capsys)
    assert code == 2 and "directory" in err and "does not exist" in err
    code, _, err = run([*base, "--output", str(tmp_path)], capsys)
    assert code == 2 and "it is a directory" in err
    assert list(tmp_path.iterdir()) == []


def test_audit_format_html(people: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "audit.html"
    argv = [
        "audit",
        str(people),
        "--y-true",
        "label",
        "--y-pred",
        "hired",
        "--score",
        "score",
        "--sensitive",
        "sex",
        "--engine",
        "numpy",
        "--ci",
        "0.9",
        "--check",
        "demographic_parity_ratio >= 0.8",
        "--format",
        "html",
        "--output",
        str(target),
    ]
    code, _, _ = run(argv, capsys)
    assert code == 0
    html = target.read_text(encoding="utf-8")
    assert "<h2>Per-group metrics</h2>" in html and "demographic_parity_ratio &gt;= 0.8" in html
    assert "sha256:" + hashlib.sha256(people.read_bytes()).hexdigest() in html  # the input hash
    assert "<th>y_true</th><td><code>label</code></td>" in html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.html"]


def test_audit_html_states_fail_if_gates_as_policies(
    people: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "gate.html"
    argv = [
        "audit",
        str(people),
        "--y-true",
        "label",
        "--y-pred",
        "hired",
        "--sensitive",
        "sex",
        "--engine",
        "numpy",
        "--fail-if",
        "demographic_parity_ratio < 0.5",
        "--format",
        "html",
        "--output",
        str(target),
    ]
    code, _, _ = run(argv, capsys)
    assert code == 0  # random data: the ratio is near 1, the gate does not fire
    html = target.read_text(encoding="utf-8")
    assert "demographic_parity_ratio &gt;= 0.5" in html and "&lt; 0.5" not in html
    assert "the check passed" in html


def test_new_report_files_get_the_umask_mode_without_touching_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import sys

    from fairwatch.report._io import write_text_atomic

    old = os.umask(0o027)
    try:
        if sys.platform.startswith("linux"):  # read from /proc: other threads never see a changed umask

            def no_umask(mask: int) -> int:
                raise AssertionError("the umask was changed to read it")

            monkeypatch.setattr(os, "umask", no_umask)
        target = write_text_atomic(tmp_path / "report.html", "<html></html>")
        monkeypatch.undo()
        assert target.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
