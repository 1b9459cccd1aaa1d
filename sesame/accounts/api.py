"""Thin controllers: sign-up, tokens, who am I."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from sesame.accounts import services
from sesame.accounts.schemas import AccountOut, Credentials, SignUp, TokenOut
from sesame.accounts.services import Principal
from sesame.errors import NotFound
from sesame.keys import KeyRing
from sesame.settings import Settings

#: Set by the wiring so /me can show the citizen's sesame_id without this package knowing the vault.
sesame_id_lookup: list[Any] = []


class AccountController(Controller):
    path = "/api/v1"
    tags = ["accounts"]

    @post("/accounts", status_code=201, summary="Sign up as a citizen or a company")
    async def sign_up(self, data: SignUp, db: AsyncSession) -> AccountOut:
        account = await services.create_account(
            db, kind=data.kind, email=data.email, password=data.password, display_name=data.display_name
        )
        return await _account_out(db, account.id or 0)

    @post("/auth/token", status_code=200, summary="Exchange email and password for an access token")
    async def token(
        self,
        request: Request[Any, Any, Any],
        data: Credentials,
        db: AsyncSession,
        keys: KeyRing,
        settings: Settings,
    ) -> TokenOut:
        address = request.client.host if request.client else "unknown"
        account = await services.authenticate_password(
            db, settings, email=data.email, password=data.password, address=address
        )
        return TokenOut(
            access_token=services.issue_token(keys, settings, account), expires_in=settings.token_ttl_seconds
        )

    @get("/accounts/me", summary="The calling account")
    async def me(self, principal: Principal, db: AsyncSession) -> AccountOut:
        return await _account_out(db, principal.id)


async def _account_out(db: AsyncSession, account_id: int) -> AccountOut:
    account = await services.get_account(db, account_id)
    if account is None or account.id is None:
        raise NotFound()
    sesame_id = None
    for lookup in sesame_id_lookup:
        sesame_id = await lookup(db, account.id) or sesame_id
    return AccountOut(
        id=account.id,
        kind=account.kind,
        email=account.email,
        display_name=account.display_name,
        created_at=account.created_at,
        sesame_id=sesame_id,
    )
