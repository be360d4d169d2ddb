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
    """SQL expressions for a feature's text value, numeric value and JSON type class (DuckDB).

    PostgreSQL reads all features of both periods in one scan instead, parsing each row's JSON once
    (:func:`feature_kinds_sql`, :func:`feature_bins_sql`).
    """
    if dialect != "duckdb":
        raise ValueError("feature_value_sql is the DuckDB form; PostgreSQL uses feature_kinds_sql/feature_bins_sql")
    path = "'$.\"" + feature + "\"'"
    text = f"json_extract_string(p.features, {path})"
    number = f"TRY_CAST({text} AS DOUBLE)"
    kind = (
        f"CASE WHEN json_type(p.features, {path}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN 'number' "
        f"WHEN json_type(p.features, {path}) IS NULL OR json_type(p.features, {path}) = 'NULL' THEN NULL "
        f"ELSE 'category' END"
    )
    return text, number, kind


def feature_names_sql(dialect: Dialect) -> str:
    """The feature names of a model (parameter 1), sorted."""
    if dialect == "duckdb":
        return (
            "SELECT DISTINCT unnest(json_keys(features)) AS k FROM predictions "
            "WHERE model = $1 AND features IS NOT NULL ORDER BY k"
        )
    # kept up to date by every ingest batch (see PostgresStore): no scan of the events
    return "SELECT name FROM feature_names WHERE model = %(p1)s ORDER BY name"


def _pg_number(value: str) -> str:
    """A JSONB number as ``double precision``, as in ``(features -> name)::text::double precision``."""
    return f"({value})::text::double precision"


#: ``predictions.features`` (JSON text) as JSONB. JSONB refuses the ``\u0000`` escape (a NUL in a
#: string, which the TEXT column keeps): it is read as U+FFFD instead (``\\u0000`` stays valid too).
PG_FEATURES = (
    "(CASE WHEN strpos(p.features, '\\u0000') > 0 THEN replace(p.features, '\\u0000', '\\ufffd') "
    "ELSE p.features END)::jsonb"
)


def _pg_rows(where: str, sensitive: str) -> str:
    """The rows of both periods with their features parsed once; the ``OFFSET 0`` keeps PostgreSQL
    from inlining the subquery and parsing the JSON again for every feature."""
    return f"(SELECT p.ts{sensitive}, {PG_FEATURES} AS f FROM predictions p WHERE {where} OFFSET 0) AS p"


def feature_kinds_sql(where: str, reference: str, features: list[str], probabilities: str) -> str:
    """PostgreSQL, one scan over both periods, one result row: per feature (a name parameter of
    ``features``) the rows with a number, the rows with another non-null value, and the reference
    period's quantiles of the numbers at ``probabilities`` (a ``double precision[]`` expression).

    ``where`` selects the rows of both periods, ``reference`` those of the reference period.
    """
    columns = []
    for name in features:
        value = f"(p.f -> {name})"
        is_number = f"jsonb_typeof({value}) = 'number'"
        columns += [
            f"count(*) FILTER (WHERE {is_number})",
            f"count(*) FILTER (WHERE jsonb_typeof({value}) NOT IN ('number', 'null'))",
            f"percentile_cont({probabilities}) WITHIN GROUP (ORDER BY {_pg_number(value)}) "
            f"FILTER (WHERE {reference} AND {is_number})",
        ]
    return f"SELECT {', '.join(columns)} FROM {_pg_rows(where, '')}"


def feature_bins_sql(
    where: str, period: str, sensitive: str, n_sensitive: int, numbers: list[tuple[str, str]], categories: list[str]
) -> str:
    """PostgreSQL, one scan over both periods: counts per period, group, feature and bin.

    ``numbers`` pairs each numeric feature's name parameter with its bin edges (a ``double
    precision[]`` expression, ``''`` for a single bin); the bin of a value is the number of edges at or
    below it. ``categories`` are the name parameters of the categorical features, binned by value.
    """
    values = ", ".join(f"({name}::text, p.f -> {name})" for name in [n for n, _ in numbers] + categories)
    cases = " ".join(
        f"WHEN {name} THEN " + (f"width_bucket({_pg_number('e.value')}, {edges})" if edges else "0")
        for name, edges in numbers
    )
    number_keys = "ARRAY[" + ", ".join(f"{name}::text" for name, _ in numbers) + "]::text[]"
    category_keys = "ARRAY[" + ", ".join(f"{name}::text" for name in categories) + "]::text[]"
    keys = ", ".join(str(i + 1) for i in range(4 + n_sensitive))
    return (
        f"SELECT {period} AS period{sensitive}, e.key, "
        f"{f'CASE e.key {cases} END' if numbers else 'NULL::integer'} AS bin, "
        f"CASE WHEN e.key = ANY({category_keys}) THEN e.value #>> '{{}}' END AS category, count(*) "
        f"FROM {_pg_rows(where, sensitive)} CROSS JOIN LATERAL (VALUES {values}) AS e(key, value) "
        f"WHERE ((e.key = ANY({number_keys}) AND jsonb_typeof(e.value) = 'number') OR "
        f"(e.key = ANY({category_keys}) AND jsonb_typeof(e.value) <> 'null')) GROUP BY {keys}"
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
