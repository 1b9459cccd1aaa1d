"""Accounts: sign-up, password checks with rate limits, access tokens. No HTTP here."""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio.to_thread
import jwt
from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from sqlalchemy import bindparam, delete, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from sesame.accounts.errors import BadCredentials, EmailTaken, InvalidToken
from sesame.accounts.models import Account, AccountKind, LoginAttempt
from sesame.db import read_rows
from sesame.errors import Forbidden, RateLimited
from sesame.keys import KeyRing
from sesame.models import utcnow
from sesame.settings import Settings

AccountHook = Callable[[AsyncSession, Account], Awaitable[None]]
#: Called inside the sign-up transaction (the vault creates the citizen's Sésame here).
account_created_hooks: list[AccountHook] = []
#: Called inside the erasure transaction, before the login is closed (packages forget the citizen's data).
account_erased_hooks: list[AccountHook] = []


# OWASP's Argon2id minimum: 19 MiB, 2 iterations, 1 lane.
def _argon2(salt: bytes) -> Argon2id:
    return Argon2id(salt=salt, length=32, iterations=2, lanes=1, memory_cost=19 * 1024)


# Compared against when the email is unknown, so timing does not reveal which accounts exist.
_DUMMY_HASH = _argon2(b"sesame-dummy-salt").derive_phc_encoded(b"not a password")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the account behind a verified token."""

    id: int
    kind: str
    email: str

    def require(self, *kinds: str) -> Principal:
        if self.kind not in kinds:
            raise Forbidden(f"this needs a {' or '.join(kinds)} account")
        return self


def hash_password(password: str) -> str:
    return _argon2(os.urandom(16)).derive_phc_encoded(password.encode())


def password_matches(password: str, encoded: str) -> bool:
    try:
        Argon2id.verify_phc_encoded(password.encode(), encoded)
    except (InvalidKey, ValueError):
        return False
    return True


async def create_account(
    session: AsyncSession,
    *,
    kind: AccountKind | str,
    email: str,
    password: str,
    display_name: str | None = None,
) -> Account:
    """Create an account of any kind (sign-up or admin CLI) and run the creation hooks; commits."""
    email = email.strip().lower()
    existing = await session.scalar(select(Account.id).where(col(Account.email) == email))
    if existing is not None:
        raise EmailTaken()
    password_hash = await anyio.to_thread.run_sync(hash_password, password)
    account = Account(kind=str(kind), email=email, password_hash=password_hash, display_name=display_name)
    session.add(account)
    try:
        await session.flush()
        for hook in account_created_hooks:
            await hook(session, account)
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise EmailTaken() from exc
    return account


async def _recent_failures(session: AsyncSession, scope: str, settings: Settings) -> int:
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    count = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.scope == scope, LoginAttempt.at >= since)
    )
    return int(count or 0)


async def authenticate_password(
    session: AsyncSession, settings: Settings, *, email: str, password: str, address: str
) -> Account:
    """Check a password, limited per account and per client address; raises ``RateLimited`` first."""
    email = email.strip().lower()
    account_scope, address_scope = f"account:{email}", f"address:{address}"
    if await _recent_failures(session, account_scope, settings) >= settings.login_attempts_per_account or (
        await _recent_failures(session, address_scope, settings) >= settings.login_attempts_per_address
    ):
        raise RateLimited(
            "too many failed logins; try again later", retry_after=settings.login_window_seconds
        )
    account = await session.scalar(select(Account).where(col(Account.email) == email))
    encoded = account.password_hash if account is not None and account.active else _DUMMY_HASH
    ok = await anyio.to_thread.run_sync(password_matches, password, encoded)
    if not ok or account is None or not account.active:
        session.add_all([LoginAttempt(scope=account_scope), LoginAttempt(scope=address_scope)])
        await session.commit()
        raise BadCredentials()
    await session.execute(delete(LoginAttempt).where(col(LoginAttempt.scope) == account_scope))
    await session.commit()
    return account


def issue_token(keys: KeyRing, settings: Settings, account: Account, *, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    key = keys.signing_key("platform")
    claims: dict[str, Any] = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "sub": str(account.id),
        "kind": account.kind,
        "iat": issued,
        "exp": issued + settings.token_ttl_seconds,
    }
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})


class _VerifiedTokens:
    """Tokens whose signature, audience and issuer this process has verified, with their claims.

    Verifying an EdDSA JWT costs ~200 µs, more than the rest of an authenticated read; a client sends the same
    token on every request until it expires. The cache is keyed by the token's exact text (any change to a
    byte is a different key and is verified afresh), bounded, and the expiry is checked on every use. The
    account behind the token is still read on every request, so an erased or deactivated login stops at once.
    """

    SIZE = 4096

    def __init__(self) -> None:
        self._claims: OrderedDict[tuple[int, str, str, str], dict[str, Any]] = OrderedDict()

    def get(self, key: tuple[int, str, str, str]) -> dict[str, Any] | None:
        claims = self._claims.get(key)
        if claims is not None:
            self._claims.move_to_end(key)
        return claims

    def put(self, key: tuple[int, str, str, str], claims: dict[str, Any]) -> None:
        self._claims[key] = claims
        if len(self._claims) > self.SIZE:
            self._claims.popitem(last=False)

    def drop(self, key: tuple[int, str, str, str]) -> None:
        self._claims.pop(key, None)


_verified = _VerifiedTokens()


def decode_token(keys: KeyRing, settings: Settings, token: str) -> dict[str, Any]:
    """Verify signature (EdDSA only, by ``kid``), audience, issuer and expiry."""
    cache_key = (id(keys), settings.token_audience, settings.token_issuer, token)
    claims = _verified.get(cache_key)
    if claims is not None:
        if claims["exp"] > time.time():
            return dict(claims)  # a copy: no caller can alter what the next request is told
        _verified.drop(cache_key)
        raise InvalidToken()
    try:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        # Only the platform's own keys sign logins: the ledger's log key signs checkpoints, never a token.
        public = next((k.public for k in keys.signing_keys("platform") if k.kid == kid), None)
        if public is None or header.get("alg") != "EdDSA":
            raise InvalidToken()
        claims = jwt.decode(
            token,
            public,
            algorithms=["EdDSA"],
            audience=settings.token_audience,
            issuer=settings.token_issuer,
            options={"require": ["exp", "sub", "aud", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if isinstance(claims.get("exp"), int | float):
        _verified.put(cache_key, claims)
    return claims


_PRINCIPAL = select(Account.kind, Account.email, Account.active).where(
    col(Account.id) == bindparam("account_id")
)


async def authenticate_token(
    session: AsyncSession, keys: KeyRing, settings: Settings, token: str
) -> Principal:
    claims = decode_token(keys, settings, token)
    try:
        account_id = int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise InvalidToken() from exc
    found = await read_rows(session, _PRINCIPAL, {"account_id": account_id})
    row = found[0] if found else None
    if row is None or not row.active:
        raise InvalidToken()
    return Principal(id=account_id, kind=row.kind, email=row.email)


async def get_account(session: AsyncSession, account_id: int) -> Account | None:
    return await session.get(Account, account_id)


async def erase_login(session: AsyncSession, account_id: int) -> None:
    """Close a login for good and forget its email, name and password (a citizen's erasure); no commit.

    Tokens already issued stop working at once: ``authenticate_token`` refuses inactive accounts.
    """
    account = await session.get(Account, account_id)
    if account is None:
        return
    for hook in account_erased_hooks:
        await hook(session, account)
    await session.execute(delete(LoginAttempt).where(col(LoginAttempt.scope) == f"account:{account.email}"))
    account.email = f"erased-{account_id}-{os.urandom(6).hex()}@erased.invalid"
    account.password_hash = "!"  # nosec B105: not a password, a hash no password can match
    account.display_name = None
    account.active = False
