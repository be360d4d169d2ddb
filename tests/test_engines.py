"""One audit suite over every backend: numpy arrays, pandas, Polars (eager and lazy), pyarrow,
DuckDB relations and PySpark. Lazy backends aggregate in their engine (``fairwatch.metrics._engines``);
every backend must give the statistics and metrics of the numpy path (to 1e-9), the same errors,
and lazy engines must not pull rows into Python.
"""

from __future__ import annotations

import json
import math
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import fairwatch as fw
import fairwatch.metrics._engines as engines
import fairwatch.metrics._group_stats as group_stats_module
from fairwatch.cli import main
from fairwatch.exceptions import (
    InvalidInputError,
    LabelError,
    MissingValueError,
    UnknownColumnError,
)

pl = pytest.importorskip("polars")
duckdb = pytest.importorskip("duckdb")

RTOL = 1e-9

# -- data ------------------------------------------------------------------------------------------


def make_frame(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    """Unbalanced groups, weights, binary labels of several types, scores and regression targets."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["F", "M"]), n, p=[0.35, 0.65])
    race = rng.choice(np.array(["A", "B", "C", "D"]), n, p=[0.5, 0.3, 0.15, 0.05])
    age_band = rng.integers(0, 3, n)
    y_true = (rng.random(n) < 0.3 + 0.1 * (sex == "M")).astype(np.int64)
    score_raw = np.clip(0.35 * y_true + 0.1 * (race == "A") + rng.uniform(0, 0.6, n), 0, 1)
    y_pred = (score_raw > 0.5).astype(np.int64)
    target = 20.0 + 3.0 * (sex == "M") + rng.gamma(2.0, 2.0, n)
    return pd.DataFrame(
        {
            "sex": sex,
            "race": race,
            "age_band": age_band,
            "y_true": y_true,
            "y_pred": y_pred,
            "y_bool": y_true.astype(bool),
            "p_bool": y_pred.astype(bool),
            "y_float": y_true.astype(np.float64),
            "label_str": np.where(y_true == 1, "yes", "no"),
            "pred_str": np.where(y_pred == 1, "yes", "no"),
            "score": np.round(score_raw, 3),
            "score_raw": score_raw,
            "weight": rng.exponential(1.0, n),
            "target": target,
            "estimate": target + rng.normal(0.5 * (sex == "F"), 2.0, n),
        }
    )


FRAME = make_frame()

# -- backends --------------------------------------------------------------------------------------

BACKENDS = [
    "numpy",
    "pandas",
    "polars",
    "polars_lazy",
    "pyarrow",
    "duckdb",
    pytest.param("pyspark", marks=pytest.mark.spark),
]
LAZY_BACKENDS = ["polars_lazy", "duckdb", pytest.param("pyspark", marks=pytest.mark.spark)]


@pytest.fixture
def to_backend(request: pytest.FixtureRequest) -> Callable[[str, pd.DataFrame], Any]:
    """``(backend, pandas frame) -> native frame`` (None for "numpy": arguments become arrays)."""

    def convert(backend: str, frame: pd.DataFrame) -> Any:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if backend == "numpy":
            return None
        if backend == "pandas":
            return frame
        if backend == "polars":
            return pl.from_arrow(table)
        if backend == "polars_lazy":
            return pl.from_arrow(table).lazy()
        if backend == "pyarrow":
            return table
        if backend == "duckdb":
            return duckdb.connect().from_arrow(table)
        if backend == "pyspark":
            return request.getfixturevalue("spark").createDataFrame(table)
        raise AssertionError(backend)

    return convert


def arrays_for(frame: pd.DataFrame, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The numpy form of column-name arguments: arrays, and a dict of arrays for sensitive features."""
    out = dict(kwargs)
    for key in ("y_true", "y_pred", "scores", "sample_weight"):
        if isinstance(out.get(key), str):
            out[key] = frame[out[key]].to_numpy()
    names = out["sensitive_features"]
    names = [names] if isinstance(names, str) else names
    out["sensitive_features"] = {name: frame[name].to_numpy() for name in names}
    return out


def call(
    func: Callable[..., Any], backend: str, frame: pd.DataFrame, to_backend: Callable[..., Any], **kwargs: Any
) -> Any:
    data = to_backend(backend, frame)
    if data is None:
        return func(**arrays_for(frame, kwargs))
    return func(data=data, **kwargs)


def assert_stats_equal(got: fw.GroupStats, expected: fw.GroupStats) -> None:
    assert got.sensitive_names == expected.sensitive_names
    assert got.groups == expected.groups
    assert [tuple(type(v) for v in k) for k in got.groups] == [tuple(type(v) for v in k) for k in expected.groups]
    assert got.pos_label == expected.pos_label
    assert got.weighted == expected.weighted
    for name in ("n", "weight", "confusion", "confusion_n", "regression"):
        a, b = getattr(got, name), getattr(expected, name)
        assert (a is None) == (b is None), name
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-12, err_msg=name)
    assert (got.scores is None) == (expected.scores is None)
    if got.scores is not None and expected.scores is not None:
        assert got.scores.binning == expected.scores.binning
        np.testing.assert_array_equal(got.scores.edges, expected.scores.edges)
        for name in ("w", "n", "ws", "wss"):
            np.testing.assert_allclose(
                getattr(got.scores, name), getattr(expected.scores, name), rtol=RTOL, atol=1e-12, err_msg=name
            )


def assert_close(got: Any, expected: Any, path: str = "") -> None:
    """Recursive equality of JSON-like values, floats to 1e-9 relative."""
    if isinstance(expected, dict):
        assert set(got) == set(expected), path
        for key in expected:
            assert_close(got[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), path
        for i, (a, b) in enumerate(zip(got, expected)):
            assert_close(a, b, f"{path}[{i}]")
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert isinstance(got, float), path
        assert math.isclose(got, expected, rel_tol=RTOL, abs_tol=1e-12), (path, got, expected)
    else:
        assert got == expected, (path, got, expected)


# -- one suite, every backend ----------------------------------------------------------------------

SCENARIOS: dict[str, dict[str, Any]] = {
    # weights, sex × race, scores at their distinct values ("auto"), intervals
    "weighted-intersectional-scores": {
        "y_true": "y_true",
        "y_pred": "y_pred",
        "sensitive_features": ["sex", "race"],
        "scores": "score",
        "sample_weight": "weight",
    },
    # boolean labels, an integer sensitive column, 20 uniform score bins
    "bool-labels-uniform-bins": {
        "y_true": "y_bool",
        "y_pred": "p_bool",
        "sensitive_features": "age_band",
        "scores": "score_raw",
        "score_bins": 20,
    },
    # string labels with pos_label, unequal bin edges, named metrics
    "string-labels-edges": {
        "y_true": "label_str",
        "y_pred": "pred_str",
        "pos_label": "yes",
        "sensitive_features": ["race"],
        "scores": "score_raw",
        "score_bins": [0.0, 0.2, 0.5, 0.55, 0.9, 1.0],
        "metrics": ["selection_rate", "tpr", "fpr", "roc_auc", "brier_score"],
    },
    # numeric non-binary labels: the regression defaults, weighted, sex × age band
    "regression-weighted": {
        "y_true": "target",
        "y_pred": "estimate",
        "sensitive_features": ["sex", "age_band"],
        "sample_weight": "weight",
    },
    # float 0/1 labels, no predictions: count and score metrics
    "scores-only": {"y_true": "y_float", "y_pred": None, "scores": "score", "sensitive_features": ["sex"]},
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_gives_the_numpy_statistics(backend: str, scenario: str, to_backend: Callable[..., Any]) -> None:
    kwargs = SCENARIOS[scenario]
    stats_kwargs = {k: v for k, v in kwargs.items() if k != "metrics"} | {"metrics": kwargs.get("metrics")}
    expected = call(fw.group_stats, "numpy", FRAME, to_backend, **stats_kwargs)
    got = call(fw.group_stats, backend, FRAME, to_backend, **stats_kwargs)
    assert_stats_equal(got, expected)
    expected_audit = call(fw.audit, "numpy", FRAME, to_backend, ci=0.95, n_boot=100, **kwargs).to_dict()
    got_audit = call(fw.audit, backend, FRAME, to_backend, ci=0.95, n_boot=100, **kwargs).to_dict()
    assert_close(got_audit, expected_audit)


@pytest.fixture
def exact_cell_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], None]]:
    """Set the ``score_bins="auto"`` cell limit of both paths (the real one needs ~1M scores)."""

    def set_limit(limit: int) -> None:
        monkeypatch.setattr(group_stats_module, "AUTO_EXACT_CELL_LIMIT", limit)
        monkeypatch.setattr(engines, "AUTO_EXACT_CELL_LIMIT", limit)

    yield set_limit


AUTO_KWARGS = {"y_true": "y_true", "y_pred": "y_pred", "sensitive_features": ["sex", "race"], "scores": "score_raw"}


@pytest.mark.parametrize("backend", LAZY_BACKENDS)
@pytest.mark.parametrize("where", ["far-over", "at-limit", "just-over"])
def test_auto_bins_choose_as_numpy_does(
    backend: str, where: str, to_backend: Callable[..., Any], exact_cell_limit: Callable[[int], None]
) -> None:
    cells = FRAME["score_raw"].nunique() * 2 * FRAME.groupby(["sex", "race"]).ngroups
    limit = {"far-over": cells // 10, "at-limit": cells, "just-over": cells - 1}[where]
    exact_cell_limit(limit)  # "at-limit"/"just-over" fall in the band where exact counts decide
    expected = call(fw.group_stats, "numpy", FRAME, to_backend, **AUTO_KWARGS)
    got = call(fw.group_stats, backend, FRAME, to_backend, **AUTO_KWARGS)
    assert expected.scores is not None
    assert expected.scores.binning == ("distinct" if where == "at-limit" else "uniform")
    assert_stats_equal(got, expected)


@pytest.mark.parametrize("backend", LAZY_BACKENDS)
def test_numeric_labels_with_a_third_value_become_regression(backend: str, to_backend: Callable[..., Any]) -> None:
    # min 0 and max 1 look binary; the aggregate finds the 0.5 and the audit becomes a regression audit
    frame = FRAME.assign(y_mixed=np.where(np.arange(len(FRAME)) % 97 == 0, 0.5, FRAME["y_float"]))
    kwargs = {"y_true": "y_mixed", "y_pred": "y_pred", "sensitive_features": ["sex"], "scores": "score"}
    expected = call(fw.audit, "numpy", frame, to_backend, **kwargs)
    got = call(fw.audit, backend, frame, to_backend, **kwargs)
    assert got.metrics == expected.metrics == fw.metrics._inputs.REGRESSION_DEFAULTS
    assert_close(got.to_dict(), expected.to_dict())


@pytest.mark.parametrize(
    ("backend", "table_type"),
    [("polars_lazy", "polars.DataFrame"), ("duckdb", "pandas.DataFrame"), ("pandas", "pandas.DataFrame")],
)
def test_tables_of_lazy_audits(backend: str, table_type: str, to_backend: Callable[..., Any]) -> None:
    result = fw.audit("y_true", "y_pred", sensitive_features="sex", data=to_backend(backend, FRAME))
    table = result.by_group
    assert f"{type(table).__module__.split('.')[0]}.{type(table).__name__}" == table_type


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
@pytest.mark.parametrize("backend", ["pandas", "pyarrow", "polars_lazy", "duckdb"])
def test_engine_argument_moves_data_into_an_engine(engine: str, backend: str, to_backend: Callable[..., Any]) -> None:
    kwargs = SCENARIOS["weighted-intersectional-scores"]
    expected = call(fw.group_stats, "numpy", FRAME, to_backend, **kwargs)
    got = fw.group_stats(data=to_backend(backend, FRAME), engine=engine, **kwargs)
    assert_stats_equal(got, expected)


@pytest.mark.parametrize("backend", ["polars_lazy", "duckdb"])
def test_engine_numpy_collects_the_named_columns(backend: str, to_backend: Callable[..., Any]) -> None:
    kwargs = SCENARIOS["weighted-intersectional-scores"]
    lazy = call(fw.group_stats, backend, FRAME, to_backend, **kwargs)
    collected = fw.group_stats(data=to_backend(backend, FRAME), engine="numpy", **kwargs)
    assert_stats_equal(lazy, collected)
    # with engine="numpy" arrays and columns of a lazy frame can be mixed again
    mixed = fw.group_stats(
        "y_true",
        FRAME["y_pred"].to_numpy(),
        sensitive_features="sex",
        data=to_backend(backend, FRAME),
        engine="numpy",
    )
    assert mixed.n_rows == len(FRAME)


# -- lazy engines do not materialise rows ----------------------------------------------------------


@pytest.fixture
def collected_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Heights of every result a lazy audit collects out of its engine."""
    sizes: list[int] = []
    original = engines._collect

    def recording(frame: Any, backend: Any = None) -> Any:
        result = original(frame, backend)
        sizes.append(len(result))
        return result

    monkeypatch.setattr(engines, "_collect", recording)
    return sizes


@pytest.mark.parametrize("backend", LAZY_BACKENDS)
def test_lazy_engines_only_return_aggregates(
    backend: str, to_backend: Callable[..., Any], collected_sizes: list[int]
) -> None:
    n = 60_000
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "g": rng.choice(np.array(["a", "b", "c"]), n),
            "y": rng.integers(0, 2, n),
            "p": rng.integers(0, 2, n),
            "s": np.round(rng.random(n), 2),
            "w": rng.random(n),
        }
    )
    stats = fw.group_stats(
        "y", "p", sensitive_features="g", scores="s", sample_weight="w", data=to_backend(backend, frame)
    )
    assert stats.n_rows == n
    # profile (1 row), then the aggregate: at most groups × labels × predictions × bins rows
    assert collected_sizes and max(collected_sizes) <= 3 * 2 * 2 * 101
    assert sum(collected_sizes) < n / 20


def test_polars_runs_one_group_by_and_returns_only_aggregates() -> None:
    frame = pl.from_pandas(FRAME).lazy()
    roots: list[str] = []
    heights: list[int] = []
    original = pl.LazyFrame.collect

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        roots.append(self.explain().splitlines()[0].split("[")[0].strip())
        result = original(self, *args, **kwargs)
        heights.append(len(result))
        return result

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pl.LazyFrame, "collect", spy)
        stats = fw.group_stats("y_true", "y_pred", sensitive_features=["sex", "race"], scores="score", data=frame)
    assert stats.scores is not None
    # the profile and distinct counts are one-row SELECTs of aggregates; the statistics are one AGGREGATE
    assert roots.count("AGGREGATE") == 1, roots
    assert set(roots) == {"SELECT", "AGGREGATE"}, roots
    assert max(heights) <= stats.n_groups * 4 * stats.scores.n_bins
    assert sorted(heights)[:-1] == [1] * (len(heights) - 1)


@pytest.fixture(scope="module")
def big_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2M rows written by DuckDB (the rows never exist in Python)."""
    path = tmp_path_factory.mktemp("scan") / "predictions.parquet"
    duckdb.sql(
        f"""COPY (SELECT
                (['F', 'M'])[1 + (hash(i) % 2)::INT] AS sex,
                (['A', 'B', 'C'])[1 + (hash(i + 1) % 3)::INT] AS race,
                (hash(i + 2) % 2)::INT AS y_true,
                (hash(i + 3) % 2)::INT AS y_pred,
                round((hash(i + 4) % 1000) / 1000.0, 3) AS score,
                1.0 + (hash(i + 5) % 100) / 100.0 AS weight
            FROM range(2000000) t(i)) TO '{path}' (FORMAT PARQUET)"""
    )
    return path


def test_duckdb_parquet_scan_keeps_rows_out_of_python(big_parquet: Path, collected_sizes: list[int]) -> None:
    relation = duckdb.connect().read_parquet(str(big_parquet))
    kwargs = {"sensitive_features": ["sex", "race"], "scores": "score", "sample_weight": "weight"}
    fw.group_stats("y_true", "y_pred", data=relation, **kwargs)  # warm imports and caches
    tracemalloc.start()
    try:
        stats = fw.group_stats("y_true", "y_pred", data=relation, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stats.n_rows == 2_000_000
    # one float64 column of the rows alone would be 16 MB; the whole audit allocates far less
    assert peak < 8_000_000, f"peak Python allocation {peak / 1e6:.1f} MB"
    assert max(collected_sizes) <= 6 * 4 * 1001


# -- bad input: the numpy path's errors ------------------------------------------------------------


def error_of(func: Callable[[], Any]) -> Exception:
    with pytest.raises(Exception) as info:
        func()
    return info.value


BAD_INPUTS: dict[str, tuple[dict[str, Any], Callable[[pd.DataFrame], pd.DataFrame], type[Exception], str]] = {
    "unknown-column": (
        {"y_true": "y_true", "y_pred": "nope", "sensitive_features": "sex"},
        lambda f: f,
        UnknownColumnError,
        "exact",
    ),
    "unknown-sensitive": (
        {"y_true": "y_true", "y_pred": "y_pred", "sensitive_features": ["sex", "religion"]},
        lambda f: f,
        UnknownColumnError,
        "exact",
    ),
    "null-sensitive": (
        {"y_true": "y_true", "y_pred": "y_pred", "sensitive_features": ["sex", "race"]},
        lambda f: f.assign(race=f["race"].where(f.index % 500 != 3, None)),
        MissingValueError,
        "exact",  # one message for missing sensitive values, whatever holds the data (issue 22, item 5)
    ),
    "null-labels": (
        {"y_true": "y_float", "y_pred": "y_pred", "sensitive_features": "sex", "metrics": ["accuracy"]},
        lambda f: f.assign(y_float=f["y_float"].where(f.index % 1000 != 1, np.nan)),
        MissingValueError,
        "y_true has 3 missing value(s) (NaN/null)",
    ),
    "three-classes": (
        {"y_true": "y_true", "y_pred": "y_pred", "sensitive_features": "sex", "metrics": ["accuracy"]},
        lambda f: f.assign(y_pred=f["y_pred"] + (f.index % 7 == 0)),
        LabelError,
        "exact",
    ),
    "many-classes": (
        {"y_true": "race", "y_pred": "race", "sensitive_features": "sex", "metrics": ["tpr"]},
        lambda f: f.assign(race=f["race"] + (f.index % 5).astype(str)),
        LabelError,
        "exact",
    ),
    "string-labels-without-pos-label": (
        {"y_true": "label_str", "y_pred": "pred_str", "sensitive_features": "sex"},
        lambda f: f,
        LabelError,
        "exact",
    ),
    "pos-label-not-a-label": (
        {"y_true": "label_str", "y_pred": "pred_str", "sensitive_features": "sex", "pos_label": "maybe"},
        lambda f: f,
        LabelError,
        "exact",
    ),
    "labels-differ": (
        {"y_true": "label_str", "y_pred": "y_pred", "sensitive_features": "sex", "metrics": ["accuracy"]},
        lambda f: f,
        LabelError,
        "exact",
    ),
    "scores-not-probabilities": (
        {"y_true": "y_true", "y_pred": "y_pred", "sensitive_features": "sex", "scores": "target"},
        lambda f: f,
        InvalidInputError,
        "exact",
    ),
    "nan-scores": (
        {"y_true": "y_true", "y_pred": "y_pred", "sensitive_features": "sex", "scores": "score"},
        lambda f: f.assign(score=f["score"].where(f.index != 10, np.nan)),
        MissingValueError,
        "scores has 1 missing value(s) (NaN/null)",
    ),
    "negative-weight": (
        {"y_true": "y_true", "y_pred": "y_pred", "sensitive_features": "sex", "sample_weight": "weight"},
        lambda f: f.assign(weight=f["weight"].where(f.index != 4, -1.0)),
        InvalidInputError,
        "sample_weight must be finite and non-negative;",
    ),
    "empty": (
        {"y_true": "y_true", "y_pred": "y_pred", "sensitive_features": "sex"},
        lambda f: f.iloc[:0],
        InvalidInputError,
        "exact",
    ),
    "single-group": (
        {"y_true": "y_true", "y_pred": "y_pred", "sensitive_features": "sex"},
        lambda f: f[f["sex"] == "F"],
        InvalidInputError,
        "exact",
    ),
    "no-predictions": (
        {"y_true": "y_true", "y_pred": None, "sensitive_features": "sex"},
        lambda f: f,
        InvalidInputError,
        "exact",
    ),
}
SPARK_BAD_INPUTS = ("unknown-column", "null-sensitive", "three-classes", "nan-scores")


def _bad_input_params() -> list[Any]:
    params: list[Any] = []
    for name in BAD_INPUTS:
        params += [pytest.param("polars_lazy", name), pytest.param("duckdb", name)]
        if name in SPARK_BAD_INPUTS:
            params.append(pytest.param("pyspark", name, marks=pytest.mark.spark))
    return params


@pytest.mark.parametrize(("backend", "case"), _bad_input_params())
def test_lazy_engines_raise_the_numpy_errors(backend: str, case: str, to_backend: Callable[..., Any]) -> None:
    kwargs, edit, kind, message = BAD_INPUTS[case]
    frame = edit(FRAME).reset_index(drop=True)
    expected = error_of(lambda: call(fw.audit, "pandas", frame, to_backend, **kwargs))
    got = error_of(lambda: call(fw.audit, backend, frame, to_backend, **kwargs))
    assert isinstance(expected, kind), expected
    assert type(got) is type(expected), got
    if message == "exact":
        assert str(got) == str(expected)
    else:
        assert str(expected).startswith(message), expected
        assert str(got).startswith(message), got


@pytest.mark.parametrize("backend", ["polars_lazy", "duckdb"])
def test_arrays_cannot_be_mixed_with_a_lazy_frame(backend: str, to_backend: Callable[..., Any]) -> None:
    with pytest.raises(InvalidInputError, match=r"y_pred must be a column name of data when data is a lazy frame"):
        fw.audit("y_true", FRAME["y_pred"].to_numpy(), sensitive_features="sex", data=to_backend(backend, FRAME))


def test_unknown_engine() -> None:
    with pytest.raises(InvalidInputError, match=r"engine must be None or one of 'numpy', 'polars', 'duckdb', 'spark'"):
        fw.audit("y_true", "y_pred", sensitive_features="sex", data=FRAME, engine="dask")


def test_spark_engine_needs_a_spark_frame() -> None:
    with pytest.raises(InvalidInputError, match=r"engine='spark' needs data= to be a PySpark DataFrame"):
        fw.audit("y_true", "y_pred", sensitive_features="sex", data=FRAME, engine="spark")


# -- the command line on (many) big files ----------------------------------------------------------


@pytest.fixture(scope="module")
def parquet_parts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("parts")
    for i, part in enumerate(np.array_split(np.arange(len(FRAME)), 3)):
        FRAME.iloc[part].to_parquet(folder / f"part-{i}.parquet", index=False)
    FRAME.to_csv(folder.parent / "all.csv", index=False)
    return folder


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


CLI_AUDIT = ["--y-true", "y_true", "--y-pred", "y_pred", "--sensitive", "sex,race", "--score", "score"]
CLI_AUDIT += ["--weight", "weight", "--format", "json", "--metrics", "selection_rate,tpr,roc_auc"]


@pytest.mark.parametrize("engine", ["duckdb", "polars", "numpy", pytest.param("spark", marks=pytest.mark.spark), None])
def test_cli_audits_a_glob_of_parquet_files_in_every_engine(
    engine: str | None, parquet_parts: Path, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    if engine == "spark":
        request.getfixturevalue("spark")  # the CLI reuses the session (getOrCreate)
    option = [] if engine is None else ["--engine", engine]
    code, out, err = run_cli(["audit", str(parquet_parts / "part-*.parquet"), *CLI_AUDIT, *option], capsys)
    assert code == 0, err
    expected = fw.audit(
        "y_true", "y_pred", sensitive_features=["sex", "race"], scores="score", sample_weight="weight",
        metrics=["selection_rate", "tpr", "roc_auc"], data=FRAME,
    )  # fmt: skip
    assert_close(json.loads(out)["groups"], expected.to_dict()["groups"])


def test_cli_reads_a_directory_and_a_csv(parquet_parts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, from_dir, _ = run_cli(["audit", str(parquet_parts), *CLI_AUDIT, "--engine", "polars"], capsys)
    assert code == 0
    code, from_csv, _ = run_cli(["audit", str(parquet_parts.parent / "all.csv"), *CLI_AUDIT], capsys)
    assert code == 0
    assert_close(json.loads(from_dir)["groups"], json.loads(from_csv)["groups"])


@pytest.mark.parametrize(
    ("files", "extra", "message"),
    [
        (["part-*.nope"], [], "error: FILE pattern '{dir}/part-*.nope' matches no file"),
        (
            ["part-*.parquet"],
            ["--engine", "dask"],
            "error: --engine must be duckdb, polars, spark or numpy; got 'dask'",
        ),
        (["part-0.parquet", "../all.csv"], [], "error: FILE arguments mix formats (csv, parquet)"),
        (["part-*.parquet"], ["--y-pred", "nope"], "error: y_pred='nope' is not a column of data"),
        (["part-*.parquet"], ["--engine", "polars", "--sensitive", "zip"], "error: sensitive_features='zip' is not"),
    ],
)
def test_cli_errors_are_one_line(
    files: list[str], extra: list[str], message: str, parquet_parts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [str(parquet_parts / f) for f in files]
    code, _, err = run_cli(["audit", *paths, *CLI_AUDIT, *extra], capsys)
    assert code == 2
    assert err.startswith(message.format(dir=parquet_parts)), err
    assert len(err.strip().splitlines()) == 1


NAN_CASES = {
    # column with a real NaN (not a null) -> the numpy path's message
    "scores": ({"scores": "score"}, "score", "scores has 2 missing value(s) (NaN/null)"),
    "weights": ({"sample_weight": "weight"}, "weight", "sample_weight has 2 missing value(s) (NaN/null)"),
    "float-labels": ({"metrics": ["accuracy"]}, "y_float", "y_true has 2 missing value(s) (NaN/null)"),
    "float-sensitive": ({}, "band", "sensitive feature 'band' has 2 missing value(s) (empty, null or NaN)"),
    "regression": ({"y_true": "target", "y_pred": "estimate"}, "estimate", "y_pred has 2 missing value(s)"),
}


def _nan_params() -> list[Any]:
    params = [pytest.param(s, c) for c in NAN_CASES for s in ("polars_lazy", "duckdb_arrow", "duckdb_parquet")]
    return params + [pytest.param("pyspark", "scores", marks=pytest.mark.spark)]


@pytest.mark.parametrize(("source", "case"), _nan_params())
def test_nan_is_missing_in_every_engine(source: str, case: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    extra, column, message = NAN_CASES[case]
    frame = FRAME.assign(band=FRAME["age_band"].astype(np.float64))
    values = frame[column].to_numpy(dtype=np.float64).copy()
    values[[5, 50]] = np.nan
    table = pa.Table.from_pandas(frame.drop(columns=[column]), preserve_index=False)
    table = table.append_column(column, pa.array(values, from_pandas=False))  # NaN, not null
    assert table.column(column).null_count == 0
    if source == "polars_lazy":
        data = pl.from_arrow(table).lazy()
    elif source == "duckdb_arrow":
        data = duckdb.connect().from_arrow(table)
    elif source == "pyspark":
        data = request.getfixturevalue("spark").createDataFrame(table)
    else:  # Parquet statistics leave NaN out of min/max: the aggregate must find it
        import pyarrow.parquet as pq

        pq.write_table(table, tmp_path / "nan.parquet")
        data = duckdb.connect().read_parquet(str(tmp_path / "nan.parquet"))
    kwargs = {"y_true": "y_float", "y_pred": "y_pred", "sensitive_features": ["sex", "band"]} | extra
    with pytest.raises(MissingValueError) as expected:
        fw.audit(data=table, **kwargs)
    with pytest.raises(MissingValueError) as got:
        fw.audit(data=data, **kwargs)
    assert str(expected.value).startswith(message), expected.value
    assert str(got.value).startswith(message), got.value


@pytest.mark.parametrize("engine", ["numpy", "polars", "duckdb"])
def test_engine_argument_reports_unknown_columns_like_the_numpy_path(
    engine: str, to_backend: Callable[..., Any]
) -> None:
    for backend in ("polars_lazy", "duckdb", "pandas"):
        with pytest.raises(UnknownColumnError, match=r"^y_pred='nope' is not a column of data; available columns"):
            fw.audit("y_true", "nope", sensitive_features="sex", data=to_backend(backend, FRAME), engine=engine)
