"""Dependencies shared by every controller: the database session, settings, keys and the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from sesame.accounts.services import Principal, authenticate_token
from sesame.errors import Unauthenticated
from sesame.keys import KeyRing
from sesame.settings import Settings

TOKEN_COOKIE = "sesame_token"  # the cookie's name, not a secret  # nosec B105


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    async with state.sessionmaker() as session:
        try:
            yield session
        finally:
            if session.in_transaction():
                await session.rollback()


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_keys(state: State) -> KeyRing:
    keys: KeyRing = state.keyring
    return keys


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    """The caller's token: the ``Authorization`` header, else the web session cookie.

    The cookie is honoured for safe methods everywhere (an ``EventSource`` cannot send headers) and for unsafe
    methods only outside ``/api/``, where every form is CSRF-protected; so a cross-site form can never spend it
    on the JSON API.
    """
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    if request.method in SAFE_METHODS or not request.url.path.startswith("/api/"):
        return request.cookies.get(TOKEN_COOKIE)
    return None


async def provide_optional_principal(
    request: Request[Any, Any, Any], db: AsyncSession, state: State
) -> Principal | None:
    token = bearer_token(request)
    if token is None:
        if request.headers.get("authorization"):
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
        return None
    return await authenticate_token(db, state.keyring, state.settings, token)


async def provide_principal(principal_or_none: Principal | None) -> Principal:
    if principal_or_none is None:
        raise Unauthenticated()
    return principal_or_none


DEPENDENCIES: dict[str, Provide] = {
    "db": Provide(provide_db),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "keys": Provide(provide_keys, sync_to_thread=False),
    "principal_or_none": Provide(provide_optional_principal),
    "principal": Provide(provide_principal),
}
