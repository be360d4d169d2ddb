"""Service configuration from environment variables (``FAIRWATCH_*``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple, TypedDict

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor._durations import parse_duration
from fairwatch.monitor._rollup import Limits
from fairwatch.monitor._store import SCOPES, check_model_grant

__all__ = [
    "KeyGrant",
    "Settings",
    "match_env_key",
    "parse_api_keys",
    "parse_key_grants",
    "raw_retention",
    "store_options",
]


def _default_store() -> str:
    return f"duckdb://{Path.cwd() / 'fairwatch.duckdb'}"


class Settings(BaseSettings):
    """Settings of ``fairwatch serve``.

    Attributes
    ----------
    store : str
        Store URL (``FAIRWATCH_STORE``): ``duckdb:///path.duckdb`` (default ``./fairwatch.duckdb``)
        or ``postgresql://user@host:5432/db``.
    api_keys : str
        Keys from the environment (``FAIRWATCH_API_KEYS``): ``"key1:ingest,key2:read|ingest"``.
        ``key3:read@credit+loans`` grants a key only the models ``credit`` and ``loans``.
        Keys created with ``fairwatch keys create`` live hashed in the store and work as well.
    auth_disabled : bool
        ``FAIRWATCH_AUTH_DISABLED=1`` opens the API to anyone (local experiments only).
    max_body_bytes : int
        Larger request bodies get 413.
    rate_limit_per_second : float
        Requests per second each API key may make on average (``FAIRWATCH_RATE_LIMIT_PER_SECOND``);
        beyond it the service answers 429 with ``Retry-After``. ``0`` (the default) turns the limit off.
    rate_limit_burst : int
        Requests a key may make at once before the average applies (default: twice the rate, at least 1).
    auth_failures_per_minute : int
        Failed authentications (unknown or revoked keys) a client address may make per minute
        (``FAIRWATCH_AUTH_FAILURES_PER_MINUTE``, default 30); beyond it the address gets 429 with
        ``Retry-After`` and its keys are not looked up, except keys that already worked from it.
        ``0`` turns the limit off.
    cors_origins : str
        Comma-separated origins allowed to call the API from a browser (``FAIRWATCH_CORS_ORIGINS``);
        empty (the default) sends no CORS headers at all.
    metrics_require_key : bool
        Ask for an API key with the ``read`` scope on ``GET /metrics`` (``FAIRWATCH_METRICS_REQUIRE_KEY``).
        Off by default, as Prometheus scrapers usually scrape without one: the gauges name models,
        disparities and firing rules (no group values), so keep the port private or turn this on.
    session_cookie_secure : bool or None
        ``Secure`` flag of the dashboard's session cookie (``FAIRWATCH_SESSION_COOKIE_SECURE``); by
        default set when the login request came over HTTPS.
    session_ttl_seconds : int
        A dashboard session ends after this long without a request (default 8 hours).
    evaluation_interval : float
        Seconds between two passes of the alert-rule scheduler (``FAIRWATCH_EVALUATION_INTERVAL``,
        default 60); each pass evaluates the windows that closed since the last one and sends due
        notifications. ``0`` turns the scheduler off (e.g. on all but one replica).
    body_timeout : float
        Seconds within which a request body must arrive in full (``FAIRWATCH_BODY_TIMEOUT``, default
        60); a body that stalls or trickles gets 408 and nothing of it is stored.
    header_timeout : float
        Seconds within which a request's headers must arrive (``FAIRWATCH_HEADER_TIMEOUT``, default 10),
        from the connection opening or the first byte of the next request; else 408 and the
        connection is closed. Applies under ``fairwatch serve``.
    max_header_bytes : int
        Largest request head (``FAIRWATCH_MAX_HEADER_BYTES``, default 64 KiB); larger gets 431 and the
        connection is closed. Applies under ``fairwatch serve``.
    max_connections : int
        Connections open at once (``FAIRWATCH_MAX_CONNECTIONS``, default 1000); more get 503 and are
        closed as they open. Applies under ``fairwatch serve``.
    keep_alive_timeout : int
        Seconds an idle kept-alive connection stays open (``FAIRWATCH_KEEP_ALIVE_TIMEOUT``, default 5).
        Applies under ``fairwatch serve``.
    read_concurrency : int
        Aggregate reads (metrics, drift, estimates, back-tests, the dashboard's charts, the model list)
        computed at once (``FAIRWATCH_READ_CONCURRENCY``, default 4). Health checks and ingest never
        wait for these slots.
    read_queue_limit : int
        Reads waiting for a slot at most (``FAIRWATCH_READ_QUEUE_LIMIT``, default 64); more get 503
        with ``Retry-After`` at once.
    read_queue_timeout : float
        Seconds a read waits for a slot (``FAIRWATCH_READ_QUEUE_TIMEOUT``, default 5) before it gets
        503 with ``Retry-After``.
    read_timeout : float
        Seconds a read may compute (``FAIRWATCH_READ_TIMEOUT``, default 30) before it gets 422 naming
        the limit; the computation ends in the background, keeping its slot.
    read_cache_bytes : int
        Bytes of metrics-read answers kept to be reused while the roll-up cells behind a window are
        unchanged (``FAIRWATCH_READ_CACHE_BYTES``, default 64 MiB; 0 turns reuse off). Reuse never
        changes an answer: every read compares each window's cells with those of the kept answer.
    max_future_skew : str
        How far ahead of the server's clock an event's timestamp may be (``FAIRWATCH_MAX_FUTURE_SKEW``,
        default ``1d``; ``off`` turns the check off). Later timestamps get 422; every timestamp must also
        lie between 1970-01-01 and 2200-01-01.
    raw_retention : str
        How long raw events are kept (``FAIRWATCH_RAW_RETENTION``, e.g. ``30d``; default: forever). The
        roll-ups every read uses are kept; audits, rebuilds and checks need the raw events, and a re-sent
        event older than the retention counts again.
    retention_interval : float
        Seconds between two deletions of expired raw events (default 3600).
    max_attributes, max_attribute_values, max_groups, max_labels, max_versions, max_features, max_categories : int
        Per-model bounds of the roll-ups (``FAIRWATCH_MAX_ATTRIBUTES``...): sensitive attribute names (20),
        distinct values per attribute (1,000), groups (10,000), labels (64), versions (1,000), feature
        names (200); a batch over one gets 422 naming the limit, and nothing of it is stored. Text values
        of a feature beyond ``max_categories`` (1,000) are counted together as ``(other)``.
    notifiers : str
        Named notifier configurations as a JSON object (``FAIRWATCH_NOTIFIERS``), e.g.
        ``{"oncall": {"type": "webhook", "url": "https://...", "secret": "..."}}``; rules list the
        names in ``notify``. ``log`` is always available.
    notifier_allow_private : bool
        Let webhook and Slack notifiers send to loopback, private, link-local and other non-public
        addresses (``FAIRWATCH_NOTIFIER_ALLOW_PRIVATE``; off by default: such URLs are refused when a
        rule names the notifier and at each delivery).
    notifier_allowed_hosts : str
        Comma-separated host names and IP networks notifiers may send to whatever they resolve to
        (``FAIRWATCH_NOTIFIER_ALLOWED_HOSTS``, e.g. ``alerts.internal,10.20.0.0/16``).
    """

    model_config = SettingsConfigDict(env_prefix="FAIRWATCH_", extra="ignore")

    store: str = Field(default_factory=_default_store)
    api_keys: str = ""
    auth_disabled: bool = False
    max_body_bytes: int = 32 * 1024 * 1024
    rate_limit_per_second: float = Field(default=0.0, ge=0.0)
    rate_limit_burst: int = Field(default=0, ge=0)
    auth_failures_per_minute: int = Field(default=30, ge=0)
    cors_origins: str = ""
    metrics_require_key: bool = False
    session_cookie_secure: bool | None = None
    session_ttl_seconds: int = Field(default=8 * 3600, gt=0)
    evaluation_interval: float = Field(default=60.0, ge=0.0)
    body_timeout: float = Field(default=60.0, gt=0.0)
    header_timeout: float = Field(default=10.0, gt=0.0)
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    max_connections: int = Field(default=1000, ge=1)
    keep_alive_timeout: int = Field(default=5, ge=1)
    read_concurrency: int = Field(default=4, ge=1)
    read_queue_limit: int = Field(default=64, ge=0)
    read_queue_timeout: float = Field(default=5.0, ge=0.0)
    read_timeout: float = Field(default=30.0, gt=0.0)
    read_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    max_future_skew: str = "1d"
    raw_retention: str = ""
    retention_interval: float = Field(default=3600.0, gt=0.0)
    max_attributes: int = Field(default=Limits.attributes, ge=1)
    max_attribute_values: int = Field(default=Limits.values, ge=1)
    max_groups: int = Field(default=Limits.groups, ge=1)
    max_labels: int = Field(default=Limits.labels, ge=2)
    max_versions: int = Field(default=Limits.versions, ge=1)
    max_features: int = Field(default=Limits.features, ge=0)
    max_categories: int = Field(default=Limits.categories, ge=1)
    notifiers: str = ""
    notifier_allow_private: bool = False
    notifier_allowed_hosts: str = ""


class StoreOptions(TypedDict):
    limits: Limits
    max_future_skew: timedelta | None


def store_options(settings: Settings) -> StoreOptions:
    """The store's limits and clock-skew allowance from the settings (``open_store`` keyword arguments)."""
    skew = settings.max_future_skew.strip().lower()
    return {
        "limits": Limits(
            attributes=settings.max_attributes,
            values=settings.max_attribute_values,
            groups=settings.max_groups,
            labels=settings.max_labels,
            versions=settings.max_versions,
            features=settings.max_features,
            categories=settings.max_categories,
        ),
        "max_future_skew": None if skew in ("off", "none", "") else parse_duration(skew),
    }


def raw_retention(settings: Settings) -> timedelta | None:
    """How long raw events are kept (None: forever, the default)."""
    text = settings.raw_retention.strip().lower()
    return None if text in ("", "forever", "off") else parse_duration(text)


class KeyGrant(NamedTuple):
    """An environment key: its scopes, and the models it may see (None: every model)."""

    key: str
    scopes: tuple[str, ...]
    models: frozenset[str] | None = None


def parse_key_grants(text: str) -> list[KeyGrant]:
    """Parse ``FAIRWATCH_API_KEYS``: ``"k1:ingest,k2:read|ingest,k3:read@credit+loans"``.

    Each entry is ``key:scope`` or ``key:scope|scope``, optionally followed by ``@model+model`` to
    grant the key only those models.

    Examples
    --------
    >>> grant = parse_key_grants("k1:ingest,k2:read@credit+loans")[1]
    >>> grant.key, grant.scopes, sorted(grant.models or ())
    ('k2', ('read',), ['credit', 'loans'])
    """
    keys: list[KeyGrant] = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        key, sep, grant = entry.rpartition(":")
        if not sep or not key:
            raise InvalidInputError(
                "FAIRWATCH_API_KEYS entries look like key:scope or key:scope|scope (e.g. "
                "'k1:ingest,k2:read|admin'); an entry has no scope"
            )
        scopes, at, model_list = grant.partition("@")
        names = tuple(s.strip() for s in scopes.split("|") if s.strip())
        for scope in names:
            if scope not in SCOPES:
                raise InvalidInputError(f"FAIRWATCH_API_KEYS: unknown scope {scope!r}; scopes are {', '.join(SCOPES)}")
        models = None
        if at:
            models = frozenset(m.strip() for m in model_list.split("+") if m.strip())
            try:
                check_model_grant(names, models)
            except InvalidInputError as exc:
                raise InvalidInputError(f"FAIRWATCH_API_KEYS: {exc}") from None
        keys.append(KeyGrant(key, names, models))
    return keys


def parse_api_keys(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """``"k1:ingest,k2:read|ingest"`` -> ``[("k1", ("ingest",)), ("k2", ("read", "ingest"))]``.

    Keys and scopes only; :func:`parse_key_grants` also gives the models each key is limited to.
    """
    return [(grant.key, grant.scopes) for grant in parse_key_grants(text)]


def match_env_key(keys: Sequence[KeyGrant], presented: str) -> KeyGrant | None:
    """The environment key equal to ``presented``, or None.

    SHA-256 digests are compared with :func:`hmac.compare_digest`, every key each time: the time taken
    does not depend on how much of a key matched, nor on its length.
    """
    digest = hashlib.sha256(presented.encode("utf-8")).digest()
    found: KeyGrant | None = None
    for grant in keys:
        if hmac.compare_digest(hashlib.sha256(grant.key.encode("utf-8")).digest(), digest):
            found = grant
    return found
