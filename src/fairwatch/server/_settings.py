"""Service configuration from environment variables (``FAIRWATCH_*``)."""

from __future__ import annotations

import hmac
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fairwatch.exceptions import InvalidInputError
from fairwatch.monitor._store import SCOPES

__all__ = ["Settings", "parse_api_keys"]


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
        Keys created with ``fairwatch keys create`` live hashed in the store and work as well.
    auth_disabled : bool
        ``FAIRWATCH_AUTH_DISABLED=1`` opens the API to anyone (local experiments only).
    max_body_bytes : int
        Larger request bodies get 413.
    """

    model_config = SettingsConfigDict(env_prefix="FAIRWATCH_", extra="ignore")

    store: str = Field(default_factory=_default_store)
    api_keys: str = ""
    auth_disabled: bool = False
    max_body_bytes: int = 32 * 1024 * 1024


def parse_api_keys(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """``"k1:ingest,k2:read|ingest"`` -> ``[("k1", ("ingest",)), ("k2", ("read", "ingest"))]``."""
    keys: list[tuple[str, tuple[str, ...]]] = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        key, sep, scopes = entry.rpartition(":")
        if not sep or not key:
            raise InvalidInputError(
                "FAIRWATCH_API_KEYS entries look like key:scope or key:scope|scope (e.g. "
                "'k1:ingest,k2:read|admin'); an entry has no scope"
            )
        names = tuple(s.strip() for s in scopes.split("|") if s.strip())
        for scope in names:
            if scope not in SCOPES:
                raise InvalidInputError(f"FAIRWATCH_API_KEYS: unknown scope {scope!r}; scopes are {', '.join(SCOPES)}")
        keys.append((key, names))
    return keys


def match_env_key(keys: list[tuple[str, tuple[str, ...]]], presented: str) -> tuple[str, ...] | None:
    """Scopes of ``presented`` among environment keys (constant-time comparisons)."""
    found: tuple[str, ...] | None = None
    for key, scopes in keys:
        if hmac.compare_digest(key.encode(), presented.encode()):
            found = scopes
    return found
