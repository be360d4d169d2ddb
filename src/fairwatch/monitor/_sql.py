"""The windowed aggregate queries, written once for DuckDB and PostgreSQL."""

from __future__ import annotations

from typing import Any, Literal

from fairwatch.monitor._store import CellQuery, sensitive_column

__all__ = ["bind", "confusion_sql", "score_sql"]

Dialect = Literal["duckdb", "postgres"]


def _placeholder(dialect: Dialect, index: int) -> str:
    return f"${index}" if dialect == "duckdb" else f"%(p{index})s"


def _common(query: CellQuery, dialect: Dialect) -> tuple[str, str, str, list[Any]]:
    """Window expression, sensitive column list, FROM/WHERE clause and their parameters."""
    epoch = "epoch(p.ts)" if dialect == "duckdb" else "extract(epoch FROM p.ts)"
    sens = "".join(f', p."{sensitive_column(name)}"' for name in query.sensitive)
    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return _placeholder(dialect, len(params))

    window = f"CAST(floor(({epoch} - {param(query.start.timestamp())}) / {param(query.width)}) AS BIGINT)"
    where = (
        "FROM predictions p LEFT JOIN outcomes o "
        "ON o.prediction_id = p.prediction_id AND o.model IN (p.model, '') "
        f"WHERE p.model = {param(query.model)} AND p.ts >= {param(query.start)} AND p.ts < {param(query.end)}"
    )
    if query.model_version is not None:
        where += f" AND p.model_version = {param(query.model_version)}"
    label = f"CAST(coalesce(o.label = {param(query.pos_label)}, false) AS INTEGER)"
    window_and_label = f"{window} AS w{sens}, (o.label IS NOT NULL) AS labelled, {label} AS y"
    return window_and_label, sens, where, params


def _group_by(dialect: Dialect, n_keys: int) -> str:
    return "GROUP BY ALL" if dialect == "duckdb" else "GROUP BY " + ", ".join(str(i + 1) for i in range(n_keys))


def bind(params: list[Any], dialect: Dialect) -> list[Any] | dict[str, Any]:
    """Parameters in the form the driver wants: a list for DuckDB, named for psycopg."""
    return params if dialect == "duckdb" else {f"p{i + 1}": v for i, v in enumerate(params)}


def confusion_sql(query: CellQuery, *, dialect: Dialect) -> tuple[str, list[Any]]:
    """One aggregate: counts per window, group, label state, true label and prediction."""
    head, _, where, params = _common(query, dialect)
    params.append(query.pos_label)
    predicted = f"CAST(p.prediction = {_placeholder(dialect, len(params))} AS INTEGER)"
    keys = 4 + len(query.sensitive)
    sql = f"SELECT {head}, {predicted} AS y_pred, count(*) AS n {where} {_group_by(dialect, keys)}"
    return sql, params


def score_sql(query: CellQuery, *, dialect: Dialect) -> tuple[str, list[Any]]:
    """One aggregate: score histogram cells per window, group, label state and true label."""
    head, _, where, params = _common(query, dialect)
    params.append(query.score_bins)
    bins = _placeholder(dialect, len(params))
    params.append(query.score_bins - 1)
    last = _placeholder(dialect, len(params))
    bucket = f"LEAST(CAST(floor(p.score * {bins}) AS INTEGER), {last})"
    keys = 4 + len(query.sensitive)
    sql = (
        f"SELECT {head}, {bucket} AS bin, count(*) AS n, sum(p.score) AS s1, sum(p.score * p.score) AS s2 "
        f"{where} AND p.score IS NOT NULL {_group_by(dialect, keys)}"
    )
    return sql, params


def feature_value_sql(dialect: Dialect, feature: str) -> tuple[str, str, str]:
    """SQL expressions for a feature's text value, numeric value and JSON type class."""
    if dialect == "duckdb":
        path = "'$.\"" + feature + "\"'"
        text = f"json_extract_string(p.features, {path})"
        number = f"TRY_CAST({text} AS DOUBLE)"
        kind = (
            f"CASE WHEN json_type(p.features, {path}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN 'number' "
            f"WHEN json_type(p.features, {path}) IS NULL OR json_type(p.features, {path}) = 'NULL' THEN NULL "
            f"ELSE 'category' END"
        )
        return text, number, kind
    ref = f"(p.features::jsonb -> '{feature}')"
    text = f"(p.features::jsonb ->> '{feature}')"
    number = f"(CASE WHEN jsonb_typeof({ref}) = 'number' THEN ({ref})::text::double precision END)"
    kind = (
        f"CASE WHEN jsonb_typeof({ref}) = 'number' THEN 'number' "
        f"WHEN {ref} IS NULL OR jsonb_typeof({ref}) = 'null' THEN NULL ELSE 'category' END"
    )
    return text, number, kind


def feature_names_sql(dialect: Dialect) -> str:
    if dialect == "duckdb":
        return (
            "SELECT DISTINCT unnest(json_keys(features)) AS k FROM predictions "
            "WHERE model = $1 AND features IS NOT NULL ORDER BY k"
        )
    return (
        "SELECT DISTINCT k FROM (SELECT jsonb_object_keys(features::jsonb) AS k FROM predictions "
        "WHERE model = %(p1)s AND features IS NOT NULL) t ORDER BY k"
    )


#: Rules, alerts and the notification outbox (the same DDL works in DuckDB and PostgreSQL).
ALERT_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS rules (
        rule_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        model TEXT NOT NULL,
        kind TEXT NOT NULL,
        spec TEXT NOT NULL,
        created TIMESTAMPTZ NOT NULL,
        updated TIMESTAMPTZ NOT NULL,
        evaluated_until TIMESTAMPTZ)""",
    """CREATE TABLE IF NOT EXISTS alerts (
        alert_id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        rule_name TEXT NOT NULL,
        model TEXT NOT NULL,
        pair_key TEXT NOT NULL,
        state TEXT NOT NULL,
        started TIMESTAMPTZ NOT NULL,
        last_window_end TIMESTAMPTZ NOT NULL,
        resolved TIMESTAMPTZ,
        windows_firing BIGINT NOT NULL,
        evidence TEXT NOT NULL,
        acknowledged TIMESTAMPTZ,
        acknowledged_by TEXT,
        silenced_until TIMESTAMPTZ,
        created TIMESTAMPTZ NOT NULL,
        updated TIMESTAMPTZ NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS alerts_rule_state ON alerts (rule_id, state)",
    """CREATE TABLE IF NOT EXISTS alert_deliveries (
        delivery_id TEXT PRIMARY KEY,
        alert_id TEXT NOT NULL,
        notifier TEXT NOT NULL,
        event TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        last_error TEXT,
        next_attempt TIMESTAMPTZ NOT NULL,
        created TIMESTAMPTZ NOT NULL,
        sent TIMESTAMPTZ)""",
)
