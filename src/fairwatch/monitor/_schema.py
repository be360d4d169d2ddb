"""The store's tables, written once for DuckDB and PostgreSQL, and the schema version they record.

Version 1 (this release) keeps events in one table keyed by ``(prediction_id, model)``, sensitive
attributes as dictionary entries (no column per attribute) and the roll-up tables. A store written by
an earlier release (version 0: ``predictions`` with one ``s_<attribute>`` column per attribute, and
``outcomes``) is upgraded when it is opened: see :mod:`fairwatch.monitor._rebuild`.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["ALERT_SCHEMA", "SCHEMA_VERSION", "schema_statements"]

#: The schema version this release writes (``store_meta`` row ``schema_version``).
SCHEMA_VERSION = 1

Dialect = Literal["duckdb", "postgres"]

_TYPES = {
    "duckdb": {"text": "VARCHAR", "double": "DOUBLE"},
    "postgres": {"text": "TEXT", "double": "DOUBLE PRECISION"},
}


def schema_statements(dialect: Dialect) -> list[str]:
    """``CREATE ... IF NOT EXISTS`` statements of every table of version :data:`SCHEMA_VERSION`."""
    t = _TYPES[dialect]["text"]
    d = _TYPES[dialect]["double"]
    statements = [
        f"CREATE TABLE IF NOT EXISTS store_meta (key {t} PRIMARY KEY, value {t} NOT NULL)",
        # one row per (prediction_id, model): the prediction (ts NULL while only an outcome has arrived)
        # and its latest outcome; prev_label is scratch space for the upsert that replaces a label
        f"""CREATE TABLE IF NOT EXISTS events (
            prediction_id {t} NOT NULL,
            model {t} NOT NULL,
            model_version {t} NOT NULL DEFAULT '',
            ts TIMESTAMPTZ,
            prediction {t},
            score {d},
            features {t},
            group_id BIGINT,
            label {t},
            label_ts TIMESTAMPTZ,
            prev_label {t},
            PRIMARY KEY (prediction_id, model))""",
        f"""CREATE TABLE IF NOT EXISTS pending_outcomes (
            prediction_id {t} PRIMARY KEY,
            label {t} NOT NULL,
            label_ts TIMESTAMPTZ NOT NULL,
            prev_label {t})""",
        f"""CREATE TABLE IF NOT EXISTS dictionary (
            id BIGINT PRIMARY KEY,
            kind {t} NOT NULL,
            model {t} NOT NULL,
            name {t} NOT NULL,
            value {t} NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS rollup_counts (
            series BIGINT NOT NULL,
            level SMALLINT NOT NULL,
            bucket BIGINT NOT NULL,
            group_id BIGINT NOT NULL,
            prediction BIGINT NOT NULL,
            label BIGINT NOT NULL,
            n BIGINT NOT NULL,
            first_ts BIGINT NOT NULL,
            last_ts BIGINT NOT NULL,
            PRIMARY KEY (series, level, bucket, group_id, prediction, label))""",
        """CREATE TABLE IF NOT EXISTS rollup_scores (
            series BIGINT NOT NULL,
            level SMALLINT NOT NULL,
            bucket BIGINT NOT NULL,
            group_id BIGINT NOT NULL,
            prediction BIGINT NOT NULL,
            label BIGINT NOT NULL,
            bin SMALLINT NOT NULL,
            n BIGINT NOT NULL,
            s1 BIGINT NOT NULL,
            s2 BIGINT NOT NULL,
            PRIMARY KEY (series, level, bucket, group_id, prediction, label, bin))""",
        """CREATE TABLE IF NOT EXISTS rollup_features (
            series BIGINT NOT NULL,
            level SMALLINT NOT NULL,
            bucket BIGINT NOT NULL,
            group_id BIGINT NOT NULL,
            feature BIGINT NOT NULL,
            code BIGINT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (series, level, bucket, group_id, feature, code))""",
        # events an upgrade could not keep (a timestamp outside the supported range, a label that is
        # not a finite number): set aside with the reason, never silently dropped
        f"""CREATE TABLE IF NOT EXISTS quarantine (
            model {t} NOT NULL,
            prediction_id {t} NOT NULL,
            reason {t} NOT NULL,
            event {t} NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS api_keys (
            key_id {t} PRIMARY KEY,
            key_hash {t} NOT NULL UNIQUE,
            name {t} NOT NULL,
            scopes {t} NOT NULL,
            created TIMESTAMPTZ NOT NULL,
            revoked TIMESTAMPTZ,
            models {t})""",
        "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS models " + t,
    ]
    if dialect == "postgres":
        # roll-up rows are updated in place batch after batch: room on each page lets PostgreSQL keep
        # the new row version there without touching the index (a HOT update)
        statements += [f"ALTER TABLE rollup_{t} SET (fillfactor = 70)" for t in ("counts", "scores", "features")]
        statements += [
            # retention and rebuilds read a model's events by time; outcomes without a model find
            # their predictions through the primary key's first column
            "CREATE INDEX IF NOT EXISTS events_model_ts ON events (model, ts)",
            "CREATE INDEX IF NOT EXISTS dictionary_model ON dictionary (model)",
        ]
    return statements


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
