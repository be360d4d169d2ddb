"""``/v1/keys``: manage the API keys stored in the store through the running service (admin scope).

The DuckDB store belongs to one process: while ``fairwatch serve`` runs, ``fairwatch keys ... --store``
cannot open it. These routes (and ``fairwatch keys ... --url``) manage keys through the service
instead, and work the same on PostgreSQL. Keys are looked up in the store on every request (no
cache), so a revoked key is refused by every replica from the next request on. Keys from
``FAIRWATCH_API_KEYS`` live in the deployment's environment and are neither listed nor revoked here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from fairwatch.monitor._events import MODEL_NAME
from fairwatch.monitor._store import SCOPES, ApiKey
from fairwatch.server._app import ServiceContext

__all__ = ["build_router"]

KeyId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="A key id from GET /v1/keys")]


#: What the store checks of a new key (``check_scopes``, ``check_model_grant``), stated in the JSON
#: Schema: the store's own messages say what was wrong.
_SCOPE = Field(json_schema_extra={"enum": list(SCOPES)})
_GRANTED_MODEL = Field(json_schema_extra={"pattern": MODEL_NAME})
_SOME = Field(json_schema_extra={"minItems": 1})
#: An admin key sees every model: it cannot be limited to some.
_ADMIN_SEES_ALL: dict[str, JsonValue] = {
    "if": {"properties": {"scopes": {"contains": {"const": "admin"}}}, "required": ["scopes"]},
    "then": {"properties": {"models": {"type": "null"}}},
}


class KeyRequest(BaseModel):
    """A key to create: what it is for, its scopes, and optionally the only models it may see."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_ADMIN_SEES_ALL)

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]*$", description="What the key is for")
    scopes: list[Annotated[str, _SCOPE]] = Field(min_length=1, max_length=3, description="Among ingest, read, admin")
    models: Annotated[list[Annotated[str, _GRANTED_MODEL]], _SOME] | None = Field(
        default=None, max_length=1000, description="Only these models (default: every model)"
    )


class KeyOut(BaseModel):
    """A stored key, never the key itself."""

    key_id: str
    name: str
    scopes: list[str]
    models: list[str] | None
    created: datetime
    revoked: datetime | None


class CreatedKey(KeyOut):
    """A new key: ``key`` is the plain key, shown this once and stored only as a hash."""

    key: str


class KeysResponse(BaseModel):
    keys: list[KeyOut]


def _key_out(key: ApiKey) -> KeyOut:
    models = None if key.models is None else list(key.models)
    return KeyOut(
        key_id=key.key_id,
        name=key.name,
        scopes=list(key.scopes),
        models=models,
        created=key.created,
        revoked=key.revoked,
    )


def build_router(ctx: ServiceContext) -> APIRouter:
    store = ctx.store
    router = APIRouter(tags=["keys"], dependencies=[Depends(ctx.auth.require("admin"))])

    @router.post("/v1/keys", response_model=CreatedKey, status_code=201)
    def create_key(request: Annotated[KeyRequest, Body()]) -> CreatedKey:
        """Create a key; the answer holds the plain key, which is never shown again."""
        key = store.create_key(request.name, request.scopes, models=request.models)
        assert key.plain is not None  # set on creation
        return CreatedKey(**_key_out(key).model_dump(), key=key.plain)

    @router.get("/v1/keys", response_model=KeysResponse)
    def list_keys() -> KeysResponse:
        """Every stored key, active or revoked (ids, names, scopes, models; never the keys)."""
        return KeysResponse(keys=[_key_out(k) for k in store.list_keys()])

    @router.delete("/v1/keys/{key_id}", status_code=204)
    def revoke_key(key_id: KeyId) -> Response:
        """Revoke a key: every replica refuses it from the next request on."""
        if not store.revoke_key(key_id):
            raise HTTPException(404, f"no active key with id {key_id!r}; GET /v1/keys lists them")
        return Response(status_code=204)

    return router
