"""A store written by the previous release (schema version 0) opens with this one: its events move to
the current tables, its roll-ups are built from them, what the current release refuses is set aside
in ``quarantine`` (never lost), and an interrupted upgrade resumes where it stopped.

The version-0 tables are created here with the previous release's own DDL, on a DuckDB file and on a
PostgreSQL schema.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fairwatch.monitor import Store, open_store, window_metrics
from fairwatch.monitor._rebuild import check

from .conftest import POSTGRES_URL, postgres_url

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)

# the previous release's tables (monitor/_duckdb.py and monitor/_postgres.py of release 0.1)
V0_TABLES = {
    "duckdb": [
        """CREATE TABLE predictions (model VARCHAR NOT NULL, prediction_id VARCHAR NOT NULL,
            model_version VARCHAR NOT NULL DEFAULT '', ts TIMESTAMPTZ NOT NULL, prediction VARCHAR NOT NULL,
            score DOUBLE, features VARCHAR, s_race VARCHAR, s_sex VARCHAR, PRIMARY KEY (model, prediction_id))""",
        """CREATE TABLE outcomes (model VARCHAR NOT NULL DEFAULT '', prediction_id VARCHAR NOT NULL,
            label VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL, PRIMARY KEY (model, prediction_id))""",
        "CREATE TABLE labels_seen (model VARCHAR NOT NULL, label VARCHAR NOT NULL, PRIMARY KEY (model, label))",
        """CREATE TABLE api_keys (key_id VARCHAR PRIMARY KEY, key_hash VARCHAR NOT NULL UNIQUE, name VARCHAR NOT NULL,
            scopes VARCHAR NOT NULL, created TIMESTAMPTZ NOT NULL, revoked TIMESTAMPTZ, models VARCHAR)""",
    ],
    "postgres": [
        """CREATE TABLE predictions (model TEXT NOT NULL, prediction_id TEXT NOT NULL,
            model_version TEXT NOT NULL DEFAULT '', ts TIMESTAMPTZ NOT NULL, prediction TEXT NOT NULL,
            score DOUBLE PRECISION, features TEXT, s_race TEXT, s_sex TEXT, PRIMARY KEY (model, prediction_id))""",
        "CREATE INDEX predictions_model_ts ON predictions (model, ts)",
        "CREATE TABLE feature_names (model TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (model, name))",
        """CREATE TABLE outcomes (model TEXT NOT NULL DEFAULT '', prediction_id TEXT NOT NULL, label TEXT NOT NULL,
            ts TIMESTAMPTZ NOT NULL, PRIMARY KEY (prediction_id, model))""",
        "CREATE TABLE labels_seen (model TEXT NOT NULL, label TEXT NOT NULL, PRIMARY KEY (model, label))",
        """CREATE TABLE api_keys (key_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
            scopes TEXT NOT NULL, created TIMESTAMPTZ NOT NULL, revoked TIMESTAMPTZ, models TEXT)""",
    ],
}


def _v0_events() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Predictions ``(model, id, version, ts, prediction, score, features, race, sex)`` over 3 days and
    outcomes ``(model, id, label, ts)`` of every kind the previous release stored."""
    predictions = []
    for i in range(300):
        model = "credit" if i % 5 else "loans"
        predictions.append(
            (
                model,
                f"p{i}",
                "" if i % 3 else "v2",
                T0 + dt.timedelta(minutes=14 * i),
                str(int((i * 7) % 10 < 4)),
                None if i % 11 == 0 else round((i * 37 % 100) / 100, 2),
                None if i % 4 == 0 else json.dumps({"age": 20 + i % 50, "region": "ns"[i % 2]}),
                None if i % 13 == 0 else "abc"[i % 3],
                "FM"[i % 2],
            )
        )
    outcomes = []
    for i in range(0, 300, 2):
        model = "credit" if i % 5 else "loans"
        # a third of the outcomes came without a model, as clients may send them
        outcomes.append(("" if i % 3 == 0 else model, f"p{i}", str(int((i * 3) % 10 < 5)), T0 + dt.timedelta(days=4)))
    # an outcome with and one without a model for the same prediction: the one naming the model wins
    outcomes.append(("credit", "p1", "1", T0 + dt.timedelta(days=4)))
    outcomes.append(("", "p1", "0", T0 + dt.timedelta(days=4)))
    # outcomes whose predictions never arrived
    outcomes.append(("credit", "orphan-1", "1", T0 + dt.timedelta(days=4)))
    outcomes.append(("", "orphan-2", "0", T0 + dt.timedelta(days=4)))
    return predictions, outcomes


#: Rows the previous release accepted and the current one refuses: quarantined on upgrade.
BAD_PREDICTIONS = [
    ("credit", "year-9999", "", "9999-12-31 23:59:59+00", "1", 0.5, None, "a", "F"),
    ("credit", "year-1", "", "0001-01-01 00:00:00+00", "0", 0.5, None, "a", "M"),
    ("credit", "not-a-number", "", "2024-05-01 10:00:00+00", "nan", None, None, "b", "F"),
]
#: DuckDB stored this one as a date before the common era, after which every read failed (PostgreSQL
#: refuses the offset at input).
BC_DATE = ("credit", "bc-date", "", "0001-01-01 00:00:00+23:59", "0", 0.5, None, "a", "M")


def _expected(predictions: list[tuple[Any, ...]], outcomes: list[tuple[Any, ...]]) -> dict[str, Any]:
    labels: dict[tuple[str, str], str] = {}
    for model, pid, label, _ in outcomes:
        if model:
            labels[(model, pid)] = label
    for model, pid, label, _ in outcomes:
        if not model:
            for m in ("credit", "loans"):
                labels.setdefault((m, pid), label)
    out: dict[str, Any] = {}
    for model, pid, _v, _ts, predicted, _s, _f, race, sex in predictions:
        key = (sex, race)
        counts = out.setdefault(model, {}).setdefault(key, [0, 0, 0])
        counts[0] += 1
        counts[1] += (model, pid) in labels
        counts[2] += predicted == "1"
    return out


def _fill_v0(store_kind: str, target: str, schema: str | None = None) -> None:
    predictions, outcomes = _v0_events()
    rows = [*predictions, *BAD_PREDICTIONS]
    if store_kind == "duckdb":
        rows.append(BC_DATE)
        import duckdb

        with duckdb.connect(target) as con:
            for statement in V0_TABLES["duckdb"]:
                con.execute(statement)
            con.executemany("INSERT INTO predictions VALUES (?, ?, ?, CAST(? AS TIMESTAMPTZ), ?, ?, ?, ?, ?)", rows)
            con.executemany("INSERT INTO outcomes VALUES (?, ?, ?, ?)", outcomes)
            con.execute("INSERT INTO api_keys VALUES ('k1', 'hash', 'old key', 'read', now(), NULL, NULL)")
        return
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        for statement in V0_TABLES["postgres"]:
            conn.execute(statement)  # type: ignore[arg-type]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO predictions VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
            cur.executemany("INSERT INTO outcomes VALUES (%s, %s, %s, %s)", outcomes)
        conn.execute("INSERT INTO api_keys VALUES ('k1', 'hash', 'old key', 'read', now(), NULL, NULL)")


@pytest.fixture(params=["duckdb", "postgres"])
def v0_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "duckdb":
        path = tmp_path / "v0.duckdb"
        _fill_v0("duckdb", str(path))
        yield f"duckdb://{path}"
        return
    url = postgres_url("v0_" + uuid.uuid4().hex[:8])
    _fill_v0("postgres", "", url.rsplit("schema=", 1)[1])
    yield url
    from fairwatch.monitor._postgres import PostgresStore

    cleanup = PostgresStore(url)
    cleanup.drop_schema()
    cleanup.close()


def _summary(store: Store) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for info in store.models():
        (window,) = window_metrics(store, info.model, sensitive=["sex", "race"], window="1w", start=T0)
        for g in window.to_dict()["groups"]:
            key = (g["group"]["sex"], g["group"]["race"])
            out.setdefault(info.model, {})[key] = [
                g["n"],
                g["n_labelled"],
                round(g["metrics"]["selection_rate"]["value"] * g["n"]),
            ]
    return out


def test_a_version_0_store_is_upgraded_with_its_rollups(v0_url: str) -> None:
    steps: list[tuple[str, int, int]] = []
    store = open_store(v0_url, progress=lambda stage, done, total: steps.append((stage, done, total)))
    try:
        assert steps[0] == ("upgrade", 0, 300) and steps[-1] == ("upgrade", 300, 300)
        predictions, outcomes = _v0_events()
        assert _summary(store) == _expected(predictions, outcomes)
        for model in ("credit", "loans"):
            assert check(store, model) == []
        quarantined = {r[0] for r in store.query("SELECT prediction_id FROM quarantine")}
        assert quarantined - {"bc-date"} == {"year-9999", "year-1", "not-a-number"}
        assert ("bc-date" in quarantined) == v0_url.startswith("duckdb")
        reasons = dict(store.query("SELECT prediction_id, reason FROM quarantine"))
        assert reasons["not-a-number"] == "prediction is not a finite number"
        assert reasons["year-1"] == "timestamp outside 1970-2199"
        assert not {"predictions", "outcomes", "labels_seen", "feature_names"} & store._tables()
        assert store.query("SELECT value FROM store_meta WHERE key = 'schema_version'") == [("1",)]
        # outcomes whose predictions never came wait for them, with or without a model
        assert store.count("outcomes") == len({(m, p) for m, p, _, _ in outcomes}) - 1  # p1: one wins
        assert [k.name for k in store.list_keys()] == ["old key"]
        assert store.entries("credit").feature_names() == ["age", "region"]
        assert store.sensitive_attributes("credit") == ["race", "sex"]
    finally:
        store.close()
    # opening again is a no-op
    again = open_store(v0_url, progress=lambda *a: pytest.fail("upgraded twice"))
    again.close()


def test_an_interrupted_upgrade_resumes_where_it_stopped(v0_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from fairwatch.monitor import _rebuild

    days_done = []
    real = _rebuild._upgrade_day

    def crash_after_two_days(*args: Any, **kwargs: Any) -> None:
        if len(days_done) == 2:
            raise KeyboardInterrupt("the process was stopped during the upgrade")
        real(*args, **kwargs)
        days_done.append(args[3])

    monkeypatch.setattr(_rebuild, "_upgrade_day", crash_after_two_days)
    with pytest.raises(KeyboardInterrupt):
        open_store(v0_url)
    monkeypatch.setattr(_rebuild, "_upgrade_day", real)
    resumed: list[int] = []
    store = open_store(v0_url, progress=lambda stage, done, total: resumed.append(done))
    try:
        assert resumed[0] > 0  # the two finished days are not read again
        predictions, outcomes = _v0_events()
        assert _summary(store) == _expected(predictions, outcomes)
        assert check(store, "credit") == [] and check(store, "loans") == []
    finally:
        store.close()


# -- stores written by the 0.1.0 release itself (tests/monitor/data/v0, made by make_v0.py there) --------------
RELEASE_0_1 = Path(__file__).parent / "data" / "v0"


def _release_0_1_duckdb(path: Path) -> str:
    import duckdb

    load = (RELEASE_0_1 / "load.sql").read_text().replace("@DIR@", str(RELEASE_0_1))
    with duckdb.connect(str(path)) as con:
        for script in ((RELEASE_0_1 / "schema.sql").read_text(), load):
            for statement in filter(str.strip, script.split(";\n")):
                con.execute(statement)
    return f"duckdb://{path}"


def _release_0_1_postgres(schema: str) -> None:
    """Replay the release's ``pg_dump`` (statements, and ``COPY ... FROM stdin`` blocks)."""
    import psycopg

    lines = (RELEASE_0_1 / "postgres.sql").read_text().replace("@SCHEMA@", schema).splitlines()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        statement: list[str] = []
        rows = iter(lines)
        for line in rows:
            if line.startswith("--") or not line.strip():
                continue
            statement.append(line)
            if not line.rstrip().endswith(";"):
                continue
            sql = "\n".join(statement)
            statement = []
            if sql.startswith("COPY ") and sql.rstrip().endswith("FROM stdin;"):
                with conn.cursor().copy(sql.rstrip()[:-1]) as copy:
                    for data in rows:
                        if data == "\\.":
                            break
                        copy.write(data + "\n")
            else:
                conn.execute(sql)  # type: ignore[arg-type]


def _release_0_1_expected() -> dict[str, dict[str, list[int]]]:
    """Predictions, labelled predictions and predicted positives per model and sex, from the CSVs."""
    import csv

    with (RELEASE_0_1 / "predictions.csv").open() as fh:
        predictions = [r for r in csv.DictReader(fh) if r["prediction_id"] not in ("year-9999", "not-a-number")]
    with (RELEASE_0_1 / "outcomes.csv").open() as fh:
        outcomes = list(csv.DictReader(fh))
    labelled = {(o["model"], o["prediction_id"]) for o in outcomes if o["model"]}
    without_model = {o["prediction_id"] for o in outcomes if not o["model"]}
    out: dict[str, dict[str, list[int]]] = {}
    for p in predictions:
        counts = out.setdefault(p["model"], {}).setdefault(p["s_sex"], [0, 0, 0])
        counts[0] += 1
        counts[1] += (p["model"], p["prediction_id"]) in labelled or p["prediction_id"] in without_model
        counts[2] += p["prediction"] == "1"
    return out


@pytest.fixture(params=["duckdb", "postgres"])
def release_0_1_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "duckdb":
        yield _release_0_1_duckdb(tmp_path / "release-0.1.duckdb")
        return
    url = postgres_url("release01_" + uuid.uuid4().hex[:8])
    _release_0_1_postgres(url.rsplit("schema=", 1)[1])
    yield url
    from fairwatch.monitor._postgres import PostgresStore

    cleanup = PostgresStore(url)
    cleanup.drop_schema()
    cleanup.close()


def test_a_store_written_by_release_0_1_opens_upgraded(release_0_1_url: str) -> None:
    """The 0.1.0 release stored a prediction at year 9999 and a NaN prediction, after which reads of the
    model failed; opened by this release, those go to quarantine and every read works."""
    store = open_store(release_0_1_url)
    try:
        got: dict[str, dict[str, list[int]]] = {}
        for model in ("credit", "loans"):
            (window,) = window_metrics(store, model, sensitive=["sex"], window="1w", start=T0)
            for g in window.to_dict()["groups"]:
                rate = g["metrics"]["selection_rate"]["value"]
                got.setdefault(model, {})[g["group"]["sex"]] = [g["n"], g["n_labelled"], round(rate * g["n"])]
            assert check(store, model) == []
        assert got == _release_0_1_expected()
        quarantined = dict(store.query("SELECT prediction_id, reason FROM quarantine"))
        assert quarantined == {
            "year-9999": "timestamp outside 1970-2199",
            "not-a-number": "prediction is not a finite number",
        }
        assert [k.name for k in store.list_keys()] == ["old reader"]
        assert store.sensitive_attributes("credit") == ["race", "sex"]
        assert store.entries("credit").feature_names() == ["age", "region"]
    finally:
        store.close()
