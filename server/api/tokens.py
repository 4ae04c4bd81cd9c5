"""``/api/v1/tokens``: create, list and revoke device and admin tokens."""

from __future__ import annotations

from fastapi import APIRouter

from edgewatch.contract import NewTokenOut, TokenCreate, TokenOut
from edgewatch.server.api.deps import AdminDep, StoreDep
from edgewatch.server.api.routes import AdminFirstRoute
from edgewatch.server.api.schemas import new_token_out, token_out
from edgewatch.server.store import InvalidQueryError

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], route_class=AdminFirstRoute)


@router.get("", response_model=list[TokenOut], summary="List tokens (never their secrets)")
def list_tokens(_: AdminDep, store: StoreDep) -> list[TokenOut]:
    """Every token, newest first."""
    return [token_out(t) for t in store.list_tokens()]


@router.post("", response_model=NewTokenOut, status_code=201, summary="Create a token")
def create_token(_: AdminDep, store: StoreDep, body: TokenCreate) -> NewTokenOut:
    """A device token (bound to ``device_id``) or an admin token; the secret is shown once."""
    if (body.role == "device") != (body.device_id is not None):
        raise InvalidQueryError("a device token needs device_id; an admin token must not have one")
    return new_token_out(
        store.create_token(role=body.role, device_id=body.device_id, name=body.name)
    )


@router.delete("/{token_id}", response_model=TokenOut, summary="Revoke a token")
def revoke_token(_: AdminDep, store: StoreDep, token_id: str) -> TokenOut:
    """Revoke at once; later requests with the token get 401."""
    return token_out(store.revoke_token(token_id))
