"""Who may call the service: API keys, scopes, per-model grants, rate limits and CORS."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fairwatch.exceptions import UnknownModelError
from fairwatch.monitor import Store
from fairwatch.monitor._store import SCOPES, hash_key
from fairwatch.server._params import ModelName
from fairwatch.server._ratelimit import FailedAuthLimiter, RateLimiter
from fairwatch.server._settings import Settings, match_env_key, parse_key_grants

__all__ = ["Authenticator", "Principal", "add_cors", "client_address", "unknown_model"]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


def unknown_model(model: str) -> UnknownModelError:
    """The 404 of a model that has no predictions — and of one the key is not granted (same words)."""
    return UnknownModelError(f"unknown model {model!r}: no predictions stored for it")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    ``models`` are the models it may see (None: every model); ``identity`` keys its rate limit and is
    a digest of the key, never the key.
    """

    scopes: tuple[str, ...]
    models: frozenset[str] | None = None
    identity: str = "anonymous"

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def sees(self, model: str) -> bool:
        return self.models is None or model in self.models

    def check_writes(self, models: Iterable[str | None]) -> None:
        """403 unless every event names a model this caller is granted."""
        if self.models is None:
            return
        for model in set(models):
            if model is None:
                raise HTTPException(
                    403, "this API key is limited to some models: every outcome must name its model ('model')"
                )
            if model not in self.models:
                raise HTTPException(
                    403, f"this API key may not write events of model {model!r} (it is limited to some models)"
                )


#: The caller when ``FAIRWATCH_AUTH_DISABLED`` is set: every scope, every model.
OPEN = Principal(SCOPES)


class Authenticator:
    """Checks ``Authorization: Bearer <key>`` against environment keys and keys in the store.

    Keys are never logged nor kept: environment keys are compared by SHA-256 digest in constant time,
    stored keys are looked up by their SHA-256 digest, on every request (no cache: a revoked key is
    refused at once). With a rate limit configured, each key gets a token bucket; a request beyond it
    gets 429 with ``Retry-After``. Failed authentications are limited per client address
    (``FAIRWATCH_AUTH_FAILURES_PER_MINUTE``, see :class:`FailedAuthLimiter`).
    """

    def __init__(self, settings: Settings, store: Store) -> None:
        self.disabled = settings.auth_disabled
        self.env_keys = parse_key_grants(settings.api_keys)
        self.store = store
        self.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.failures = FailedAuthLimiter(settings.auth_failures_per_minute)

    def principal(self, presented: str) -> Principal | None:
        """The caller a key stands for, or None for an unknown or revoked key."""
        identity = hash_key(presented)
        grant = match_env_key(self.env_keys, presented)
        if grant is not None:
            return Principal(grant.scopes, grant.models, identity)
        if presented.startswith("fw_"):
            stored = self.store.key_grant(presented)
            if stored is not None:
                scopes, models = stored
                return Principal(scopes, None if models is None else frozenset(models), identity)
        return None

    def scopes(self, presented: str) -> tuple[str, ...] | None:
        """Scopes of a key, or None for an unknown or revoked key."""
        principal = self.principal(presented)
        return None if principal is None else principal.scopes

    def _too_many_failures(self, wait: float) -> HTTPException:
        return HTTPException(
            429,
            f"too many failed authentications from this address: at most {self.failures.per_minute} per minute "
            f"(FAIRWATCH_AUTH_FAILURES_PER_MINUTE); retry in {RateLimiter.retry_after(wait)} s",
            headers={"Retry-After": RateLimiter.retry_after(wait)},
        )

    def authenticate(
        self, credentials: HTTPAuthorizationCredentials | None, scope: str, client: str = "unknown"
    ) -> Principal:
        """The caller, if its key is valid, has ``scope`` and is within its rate limit; else 401/403/429.

        ``client`` is the caller's address, which failed authentications are counted by.
        """
        if self.disabled:
            principal = OPEN
        else:
            if credentials is None or not credentials.credentials:
                raise HTTPException(
                    401, "missing API key: send 'Authorization: Bearer <key>'", headers={"WWW-Authenticate": "Bearer"}
                )
            identity = hash_key(credentials.credentials)
            wait = self.failures.blocked(client, identity)
            if wait > 0:  # the key is not even looked up: the address cannot go on guessing
                raise self._too_many_failures(wait)
            found = self.principal(credentials.credentials)
            if found is None:
                wait = self.failures.failed(client)
                if wait > 0:
                    raise self._too_many_failures(wait)
                raise HTTPException(401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
            self.failures.succeeded(client, identity)
            if not found.allows(scope):
                raise HTTPException(403, f"this API key lacks the {scope!r} scope (it has: {', '.join(found.scopes)})")
            principal = found
        wait = self.limiter.acquire(principal.identity)
        if wait > 0:
            raise HTTPException(
                429,
                f"rate limit exceeded: this API key may make {self.limiter.rate:g} requests per second "
                f"(bursts of {self.limiter.burst:g}); retry in {wait:.2f} s",
                headers={"Retry-After": self.limiter.retry_after(wait)},
            )
        return principal

    def require(self, scope: str) -> Callable[..., Principal]:
        """A dependency: the authenticated caller with ``scope``."""

        def check(
            request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
        ) -> Principal:
            return self.authenticate(credentials, scope, client_address(request))

        return check

    def require_model(self, scope: str) -> Callable[..., Principal]:
        """A dependency for routes with a ``{model}`` path parameter: 404 for a model the key is not granted.

        The 404 is the one of a model without predictions, word for word: a key cannot tell a model it
        may not see from one that does not exist.
        """

        def check(
            model: ModelName,
            request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        ) -> Principal:
            principal = self.authenticate(credentials, scope, client_address(request))
            if not principal.sees(model):
                raise unknown_model(model)
            return principal

        return check


def client_address(request: Request) -> str:
    """The caller's address (the forwarded one behind a trusted proxy: uvicorn's ``--forwarded-allow-ips``)."""
    return request.client.host if request.client is not None else "unknown"


def add_cors(app: FastAPI, settings: Settings) -> None:
    """Allow the configured browser origins (``FAIRWATCH_CORS_ORIGINS``); none by default, no headers then."""
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if not origins:
        return
    from fastapi.middleware.cors import CORSMiddleware

    options: dict[str, Any] = {
        "allow_origins": origins,
        "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE"],
        "allow_headers": ["Authorization", "Content-Type"],
        "expose_headers": ["Retry-After"],
        # keys travel in the Authorization header, never in cookies: no credentials mode needed
        "allow_credentials": False,
        "max_age": 600,
    }
    app.add_middleware(CORSMiddleware, **options)
