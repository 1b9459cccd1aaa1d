"""The vault's logic: fields, company accounts, grants, requests, reads and receipts, export, erasure.

No HTTP here. Every function takes the session and owns its transaction: a write commits once at the end,
with its ledger leaf, so a domain change and its leaf exist together or not at all. Time is a parameter
(``now``) so tests are deterministic; grant expiry is computed from it, never by a background job.

Other packages call only the functions in ``__all__`` at the bottom of ``vault`` (``vault_for_sesame_id``,
``citizen_settings``, ``open_account_between``, ``sesame_id_for_account``).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, and_, bindparam, delete, func, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable
from sqlmodel import col, select

from company_profiles import services as companies
from sesame import transparency
from sesame.accounts import services as accounts
from sesame.accounts.models import Account
from sesame.db import MAX_ID, read_rows
from sesame.errors import FieldError, NotFound
from sesame.keys import KeyRing, b64url_decode
from vault import catalogue, crypto, receipts
from vault.errors import (
    AccountNotOpen,
    AttestationsMissing,
    InvalidField,
    NoCompany,
    SesameNotFound,
    StateConflict,
    VaultNotFound,
)
from vault.models import (
    DEFAULT_HIGHLIGHTS,
    AccessReceipt,
    AccountState,
    CompanyAccount,
    FieldRequest,
    Grant,
    LedgerRecord,
    RequestState,
    Vault,
    VaultField,
)

__all__ = [
    "CitizenSettings",
    "CompanyAccountRef",
    "CompanyRead",
    "ErasureHook",
    "FieldValue",
    "Overview",
    "VaultRef",
    "account_json",
    "as_utc",
    "citizen_settings",
    "citizens_with_open_account",
    "commitment_of",
    "company_account_on",
    "company_request",
    "create_vault",
    "decide_company_account",
    "decide_request",
    "delete_field",
    "erase_vault",
    "erasure_hooks",
    "export_vault",
    "field_history",
    "get_field",
    "get_fields",
    "give_grant",
    "grant_json",
    "grant_state",
    "holder_key",
    "issue_presentation",
    "list_company_accounts",
    "list_grants",
    "list_receipts",
    "list_requests",
    "on_account_created",
    "open_account_between",
    "overview",
    "pending_rewrap",
    "read_granted_fields",
    "receipt_json",
    "receipt_proof",
    "request_company_account",
    "request_fields",
    "request_json",
    "rewrap_data_keys",
    "sesame_id_for_account",
    "set_field",
    "update_settings",
    "utcnow",
    "vault_for_account",
    "vault_for_sesame_id",
    "withdraw_grant",
]

log = logging.getLogger("sesame.vault")

DEFAULT_GRANT_DAYS = 365
MAX_GRANT_DAYS = 3650
MAX_FIELDS = 200
ACCESS_RECEIPT = "access.receipt"


# -- small helpers -------------------------------------------------------------------------------------------
def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones. Always aware here."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def grant_state(grant: Grant, now: datetime) -> str:
    """ISO/IEC TS 27560 state of a grant at ``now``: ``given``, ``withdrawn`` or ``expired``."""
    if grant.withdrawn_at is not None:
        return "withdrawn"
    if as_utc(grant.expires_at) <= now:
        return "expired"
    return "given"


@dataclass(frozen=True, slots=True)
class VaultRef:
    """What other packages may know of a vault."""

    id: int
    account_id: int
    sesame_id: str


@dataclass(frozen=True, slots=True)
class CitizenSettings:
    contactless: bool
    highlights: list[str]
    language: str


@dataclass(frozen=True, slots=True)
class CompanyAccountRef:
    id: int
    vault_id: int
    company_id: int
    sesame_id: str
    civil_status_version: int | None
    civil_status_ledger_index: int | None


@dataclass(frozen=True, slots=True)
class FieldValue:
    name: str
    value: Any
    version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CompanyRead:
    """What a company gets from a read: the granted fields now, possibly none."""

    sesame_id: str
    fields: dict[str, Any]
    read_at: datetime


# -- vault lifecycle -----------------------------------------------------------------------------------------
async def create_vault(session: AsyncSession, account_id: int) -> Vault:
    """A new Sésame for a citizen. The DEK is made when the first secret is sealed; the caller commits."""
    vault = Vault(account_id=account_id, sesame_id=crypto.new_sesame_id())
    session.add(vault)
    await session.flush()
    return vault


async def on_account_created(session: AsyncSession, account: Account) -> None:
    """Sign-up hook: every citizen gets a vault in the sign-up transaction."""
    if account.kind == "citizen" and account.id is not None:
        await create_vault(session, account.id)


async def sesame_id_for_account(session: AsyncSession, account_id: int) -> str | None:
    sid: str | None = await session.scalar(
        select(Vault.sesame_id).where(col(Vault.account_id) == account_id, col(Vault.erased_at).is_(None))
    )
    return sid


_VAULT_BY_SESAME = select(Vault.id, Vault.account_id, Vault.sesame_id).where(
    col(Vault.sesame_id) == bindparam("sesame_id"), col(Vault.erased_at).is_(None)
)
_CITIZEN_SETTINGS = select(Vault.contactless, Vault.highlights, Vault.language).where(
    col(Vault.account_id) == bindparam("account_id"), col(Vault.erased_at).is_(None)
)
_OPEN_ACCOUNT = (
    sa_select(
        col(CompanyAccount.id),
        col(CompanyAccount.vault_id),
        col(CompanyAccount.company_id),
        col(Vault.sesame_id),
        col(CompanyAccount.civil_status_version),
        col(CompanyAccount.civil_status_ledger_index),
    )
    .join(Vault, col(Vault.id) == col(CompanyAccount.vault_id))
    .where(
        col(Vault.sesame_id) == bindparam("sesame_id"),
        col(Vault.erased_at).is_(None),
        col(CompanyAccount.company_id) == bindparam("company_id"),
        col(CompanyAccount.state) == AccountState.open.value,
    )
)


async def vault_for_sesame_id(session: AsyncSession, sesame_id: str) -> VaultRef | None:
    """The live vault behind a ``sesame_id`` (scanned at a till), or None (unknown or erased)."""
    if not sesame_id or len(sesame_id) > 64:
        return None
    rows = await read_rows(session, _VAULT_BY_SESAME, {"sesame_id": sesame_id})
    row = rows[0] if rows else None
    return VaultRef(id=row.id, account_id=row.account_id, sesame_id=row.sesame_id) if row else None


async def citizen_settings(session: AsyncSession, account_id: int) -> CitizenSettings:
    """A citizen's checkout preferences; defaults when the account has no live vault."""
    rows = await read_rows(session, _CITIZEN_SETTINGS, {"account_id": account_id})
    if not rows:
        return CitizenSettings(contactless=False, highlights=list(DEFAULT_HIGHLIGHTS), language="fr")
    row = rows[0]
    return CitizenSettings(
        contactless=row.contactless, highlights=list(row.highlights), language=row.language
    )


async def open_account_between(
    session: AsyncSession, sesame_id: str, company_id: int
) -> CompanyAccountRef | None:
    """The open company account of ``company_id`` on that Sésame, or None (no account, or not open)."""
    rows = await read_rows(session, _OPEN_ACCOUNT, {"sesame_id": sesame_id, "company_id": company_id})
    if not rows:
        return None
    row = rows[0]
    return CompanyAccountRef(
        id=row.id or 0,
        vault_id=row.vault_id,
        company_id=row.company_id,
        sesame_id=row.sesame_id,
        civil_status_version=row.civil_status_version,
        civil_status_ledger_index=row.civil_status_ledger_index,
    )


async def vault_for_account(session: AsyncSession, account_id: int) -> Vault:
    """The citizen's live vault; created on the spot for a citizen who signed up before vaults existed."""
    vault = await session.scalar(select(Vault).where(col(Vault.account_id) == account_id))
    if vault is None:
        vault = await create_vault(session, account_id)
        await session.commit()
    elif vault.erased_at is not None:
        raise VaultNotFound()
    return vault


# -- the data key --------------------------------------------------------------------------------------------
async def _data_key(session: AsyncSession, keys: KeyRing, vault: Vault) -> crypto.DataKey:
    """The vault's DEK, made and wrapped on first use (a conditional update settles concurrent first uses)."""
    if vault.wrapped_dek is None:
        dek, raw = crypto.new_data_key()
        kek_id, wrapped = crypto.wrap_data_key(keys=keys, dek=raw)
        del raw
        result = await session.execute(
            update(Vault)
            .where(
                col(Vault.id) == vault.id, col(Vault.wrapped_dek).is_(None), col(Vault.erased_at).is_(None)
            )
            .values(kek_id=kek_id, wrapped_dek=wrapped)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            vault.kek_id, vault.wrapped_dek = kek_id, wrapped
            return dek
        await session.refresh(vault)
        if vault.erased_at is not None:
            raise VaultNotFound()
    return crypto.unwrap_data_key(keys=keys, kek_id=vault.kek_id, wrapped=vault.wrapped_dek)


def _open_field(dek: crypto.DataKey, sesame_id: str, name: str, version: int, nonce: bytes, ct: bytes) -> Any:
    return crypto.open_value(
        dek=dek,
        sesame_id=sesame_id,
        field=name,
        version=version,
        sealed=crypto.Sealed(nonce=nonce, ciphertext=ct),
    )


# -- fields --------------------------------------------------------------------------------------------------
async def set_field(
    session: AsyncSession,
    keys: KeyRing,
    *,
    account_id: int,
    name: str,
    value: Any,
    now: datetime | None = None,
) -> FieldValue:
    """Seal a new version of a field; older versions stay, only the newest is ``current``."""
    value = catalogue.normalise(name, value)
    now = now or utcnow()
    vault = await vault_for_account(session, account_id)
    vault_id = vault.id or 0
    previous = (
        await session.execute(
            select(VaultField.id, VaultField.version).where(
                col(VaultField.vault_id) == vault_id, col(VaultField.name) == name, col(VaultField.current)
            )
        )
    ).first()
    if previous is None:
        count = await session.scalar(
            select(func.count()).where(col(VaultField.vault_id) == vault_id, col(VaultField.current))
        )
        if int(count or 0) >= MAX_FIELDS:
            raise InvalidField(FieldError("path.name", f"a vault holds at most {MAX_FIELDS} fields"))
    latest = await session.scalar(
        select(func.max(VaultField.version)).where(
            col(VaultField.vault_id) == vault_id, col(VaultField.name) == name
        )
    )
    version = int(latest or 0) + 1
    dek = await _data_key(session, keys, vault)
    sealed = crypto.seal_value(dek=dek, sesame_id=vault.sesame_id, field=name, version=version, value=value)
    if previous is not None:
        await session.execute(
            update(VaultField).where(col(VaultField.id) == previous.id).values(current=False)
        )
    session.add(
        VaultField(
            vault_id=vault_id,
            name=name,
            version=version,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
            current=True,
            created_at=now,
        )
    )
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise StateConflict("this field was changed at the same time; try again") from exc
    return FieldValue(name=name, value=value, version=version, updated_at=now)


async def _current_rows(
    session: AsyncSession, vault_id: int, names: Iterable[str] | None = None
) -> list[Any]:
    query = sa_select(
        col(VaultField.name),
        col(VaultField.version),
        col(VaultField.nonce),
        col(VaultField.ciphertext),
        col(VaultField.created_at),
    ).where(col(VaultField.vault_id) == vault_id, col(VaultField.current))
    if names is not None:
        query = query.where(col(VaultField.name).in_(list(names)))
    return list((await session.execute(query.order_by(col(VaultField.name)))).all())


async def get_fields(session: AsyncSession, keys: KeyRing, *, account_id: int) -> list[FieldValue]:
    vault = await vault_for_account(session, account_id)
    rows = await _current_rows(session, vault.id or 0)
    if not rows:
        return []
    dek = await _data_key(session, keys, vault)
    return [
        FieldValue(
            name=r.name,
            value=_open_field(dek, vault.sesame_id, r.name, r.version, r.nonce, r.ciphertext),
            version=r.version,
            updated_at=as_utc(r.created_at),
        )
        for r in rows
    ]


async def get_field(session: AsyncSession, keys: KeyRing, *, account_id: int, name: str) -> FieldValue:
    catalogue.check_name(name)
    vault = await vault_for_account(session, account_id)
    rows = await _current_rows(session, vault.id or 0, [name])
    if not rows:
        raise NotFound("no such field in this vault")
    r = rows[0]
    dek = await _data_key(session, keys, vault)
    value = _open_field(dek, vault.sesame_id, r.name, r.version, r.nonce, r.ciphertext)
    return FieldValue(name=r.name, value=value, version=r.version, updated_at=as_utc(r.created_at))


async def field_history(
    session: AsyncSession, keys: KeyRing, *, account_id: int, name: str
) -> list[FieldValue]:
    """Every kept version of a field, newest first."""
    catalogue.check_name(name)
    vault = await vault_for_account(session, account_id)
    rows = (
        await session.execute(
            select(VaultField)
            .where(col(VaultField.vault_id) == vault.id, col(VaultField.name) == name)
            .order_by(col(VaultField.version).desc())
        )
    ).scalars()
    items = list(rows)
    if not items:
        raise NotFound("no such field in this vault")
    dek = await _data_key(session, keys, vault)
    return [
        FieldValue(
            name=f.name,
            value=_open_field(dek, vault.sesame_id, f.name, f.version, f.nonce, f.ciphertext),
            version=f.version,
            updated_at=as_utc(f.created_at),
        )
        for f in items
    ]


async def _secure_delete(session: AsyncSession) -> None:
    """On SQLite, make deletes on this connection overwrite the freed bytes with zeros."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("PRAGMA secure_delete=ON"))


async def delete_field(session: AsyncSession, *, account_id: int, name: str) -> None:
    """Delete a field and every kept version of it."""
    catalogue.check_name(name)
    vault = await vault_for_account(session, account_id)
    await _secure_delete(session)
    result = await session.execute(
        delete(VaultField).where(col(VaultField.vault_id) == vault.id, col(VaultField.name) == name)
    )
    if not getattr(result, "rowcount", 0):
        await session.rollback()
        raise NotFound("no such field in this vault")
    await session.commit()


# -- company accounts ----------------------------------------------------------------------------------------
#: Per engine, ``company login → (company id, cached at)``. A company login never changes company (the link is
#: unique and never reassigned), so the hot path skips the lookup for a minute; only found companies are cached.
_COMPANY_TTL = 60.0
_company_cache: weakref.WeakKeyDictionary[Any, dict[int, tuple[int, float]]] = weakref.WeakKeyDictionary()


async def _company_id(session: AsyncSession, principal_id: int) -> int:
    cache = _company_cache.get(session.bind)
    if cache is None:
        cache = _company_cache[session.bind] = {}
    cached = cache.get(principal_id)
    if cached is not None and time.monotonic() - cached[1] < _COMPANY_TTL:
        return cached[0]
    company = await companies.company_for_account(session, principal_id)
    if company is None:
        raise NoCompany("this company account has not registered its company yet")
    if len(cache) > 10_000:
        cache.clear()
    cache[principal_id] = (int(company.id), time.monotonic())
    return int(company.id)


async def _live_vault_by_sesame(session: AsyncSession, sesame_id: str) -> Vault:
    if not sesame_id or len(sesame_id) > 64:
        raise SesameNotFound()
    vault = await session.scalar(
        select(Vault).where(col(Vault.sesame_id) == sesame_id, col(Vault.erased_at).is_(None))
    )
    if vault is None:
        raise SesameNotFound()
    return vault


async def _check_attested(session: AsyncSession, company_id: int) -> None:
    missing = await companies.mandatory_attestation_gaps(session, company_id)
    if missing:
        raise AttestationsMissing(list(missing))


async def request_company_account(
    session: AsyncSession, *, principal_id: int, sesame_id: str, now: datetime | None = None
) -> CompanyAccount:
    """A company asks to open an account; refused unless its mandatory indicators are all attested."""
    now = now or utcnow()
    company_id = await _company_id(session, principal_id)
    await _check_attested(session, company_id)
    vault = await _live_vault_by_sesame(session, sesame_id)
    existing = await session.scalar(
        select(CompanyAccount).where(
            col(CompanyAccount.vault_id) == vault.id,
            col(CompanyAccount.company_id) == company_id,
            col(CompanyAccount.state).in_([AccountState.requested.value, AccountState.open.value]),
        )
    )
    if existing is not None:
        raise StateConflict(
            f"an account on this Sésame is already {existing.state}",
            account_id=existing.id,
            state=existing.state,
        )
    version, ledger_index = await companies.current_version_ref(session, company_id)
    account = CompanyAccount(
        vault_id=vault.id or 0,
        company_id=company_id,
        state=AccountState.requested.value,
        civil_status_version=version,
        civil_status_ledger_index=ledger_index,
        requested_at=now,
    )
    session.add(account)
    await session.commit()
    return account


async def company_account_on(session: AsyncSession, *, principal_id: int, sesame_id: str) -> CompanyAccount:
    """The calling company's latest account on a Sésame (to follow the citizen's decision)."""
    company_id = await _company_id(session, principal_id)
    vault = await _live_vault_by_sesame(session, sesame_id)
    account = await session.scalar(
        select(CompanyAccount)
        .where(col(CompanyAccount.vault_id) == vault.id, col(CompanyAccount.company_id) == company_id)
        .order_by(col(CompanyAccount.id).desc())
        .limit(1)
    )
    if account is None:
        raise NotFound()
    return account


async def list_company_accounts(session: AsyncSession, *, account_id: int) -> list[CompanyAccount]:
    vault = await vault_for_account(session, account_id)
    rows = await session.execute(
        select(CompanyAccount)
        .where(col(CompanyAccount.vault_id) == vault.id)
        .order_by(col(CompanyAccount.id))
    )
    return list(rows.scalars())


async def _own_account(session: AsyncSession, vault: Vault, company_account_id: int) -> CompanyAccount:
    account = await session.scalar(
        select(CompanyAccount).where(
            col(CompanyAccount.id) == company_account_id, col(CompanyAccount.vault_id) == vault.id
        )
    )
    if account is None:
        raise NotFound()
    return account


async def _record_account_event(
    session: AsyncSession, vault: Vault, account: CompanyAccount, kind: str, now: datetime
) -> int:
    """A public ``account.opened``/``account.closed`` leaf: the company in clear, the citizen as a commitment."""
    salt = crypto.new_salt()
    committed = {
        "event": kind,
        "sesame_id": vault.sesame_id,
        "company_account_id": account.id,
        "company_id": account.company_id,
        "at": _iso(now),
    }
    payload: dict[str, Any] = {
        "company_id": account.company_id,
        "citizen": crypto.salted_commitment(salt, committed),
    }
    if kind == "account.opened":
        payload["civil_status_version"] = account.civil_status_version
    index = await transparency.record(session, kind, payload)
    session.add(
        LedgerRecord(
            vault_id=vault.id or 0,
            kind=kind,
            subject=f"account:{account.id}",
            ledger_index=index,
            salt=crypto.b64url(salt),
            committed=committed,
            at=now,
        )
    )
    return index


async def decide_company_account(
    session: AsyncSession,
    *,
    account_id: int,
    company_account_id: int,
    action: str,
    shown_version: int | None = None,
    now: datetime | None = None,
) -> CompanyAccount:
    """``accept`` or ``decline`` a requested account, or ``close`` an open one (its grants are withdrawn).

    On ``accept`` the civil-status version recorded is the company's current one; if the citizen says which
    version they were shown (``shown_version``) and it is no longer current, acceptance is refused (409).
    """
    now = now or utcnow()
    vault = await vault_for_account(session, account_id)
    account = await _own_account(session, vault, company_account_id)
    if action == "accept":
        if account.state != AccountState.requested.value:
            raise StateConflict(f"the account is {account.state}, not requested")
        await _check_attested(session, account.company_id)
        version, ledger_index = await companies.current_version_ref(session, account.company_id)
        if shown_version is not None and shown_version != version:
            raise StateConflict(
                "the company filed a new civil status since; review it first",
                civil_status_version=version,
            )
        account.state = AccountState.open.value
        account.civil_status_version, account.civil_status_ledger_index = version, ledger_index
        account.decided_at = now
        account.opened_ledger_index = await _record_account_event(
            session, vault, account, "account.opened", now
        )
    elif action == "decline":
        if account.state != AccountState.requested.value:
            raise StateConflict(f"the account is {account.state}, not requested")
        account.state = AccountState.declined.value
        account.decided_at = now
    elif action == "close":
        if account.state != AccountState.open.value:
            raise StateConflict(f"the account is {account.state}, not open")
        await _close(session, vault, account, now)
    else:  # pragma: no cover - the API offers only the three
        raise StateConflict(f"unknown action {action}")
    await session.commit()
    return account


async def _close(session: AsyncSession, vault: Vault, account: CompanyAccount, now: datetime) -> None:
    account.state = AccountState.closed.value
    account.closed_at = now
    account.closed_ledger_index = await _record_account_event(session, vault, account, "account.closed", now)
    grants = await session.execute(
        select(Grant).where(
            col(Grant.company_account_id) == account.id,
            col(Grant.withdrawn_at).is_(None),
        )
    )
    for grant in grants.scalars():
        if grant_state(grant, now) == "given":
            await _withdraw(session, vault, grant, now)


# -- grants --------------------------------------------------------------------------------------------------
def _check_field_names(names: Sequence[str], where: str) -> list[str]:
    errors = [
        FieldError(f"{where}[{i}]", f"unknown field {n[:80]!r}")
        for i, n in enumerate(names)
        if not catalogue.is_valid_name(n)
    ]
    if errors:
        raise InvalidField(errors)
    unique = list(dict.fromkeys(names))
    if not unique:
        raise InvalidField(FieldError(where, "name at least one field"))
    return unique


def _check_expiry(expires_at: datetime, now: datetime, where: str = "body.expires_at") -> datetime:
    expires_at = as_utc(expires_at)
    if expires_at <= now:
        raise InvalidField(FieldError(where, "must be in the future"))
    if expires_at > now + timedelta(days=MAX_GRANT_DAYS):
        raise InvalidField(FieldError(where, f"must be within {MAX_GRANT_DAYS} days"))
    return expires_at


async def _give(
    session: AsyncSession,
    vault: Vault,
    account: CompanyAccount,
    *,
    fields: list[str],
    purpose: str,
    expires_at: datetime,
    now: datetime,
    request_id: int | None = None,
) -> Grant:
    grant = Grant(
        vault_id=vault.id or 0,
        company_account_id=account.id or 0,
        company_id=account.company_id,
        fields=fields,
        purpose=purpose,
        given_at=now,
        expires_at=expires_at,
        request_id=request_id,
    )
    session.add(grant)
    await session.flush()
    committed = {
        "event": "grant.given",
        "grant_id": grant.id,
        "sesame_id": vault.sesame_id,
        "company_id": account.company_id,
        "fields": fields,
        "purpose": purpose,
        "expires_at": _iso(expires_at),
        "at": _iso(now),
    }
    index, salt = await transparency.record_private(session, "grant.given", committed)
    grant.ledger_index = index
    session.add(
        LedgerRecord(
            vault_id=vault.id or 0,
            kind="grant.given",
            subject=f"grant:{grant.id}",
            ledger_index=index,
            salt=salt,
            committed=committed,
            at=now,
        )
    )
    return grant


async def give_grant(
    session: AsyncSession,
    *,
    account_id: int,
    company_account_id: int,
    fields: list[str],
    purpose: str,
    expires_at: datetime,
    now: datetime | None = None,
) -> Grant:
    now = now or utcnow()
    names = _check_field_names(fields, "body.fields")
    expires = _check_expiry(expires_at, now)
    vault = await vault_for_account(session, account_id)
    account = await _own_account(session, vault, company_account_id)
    if account.state != AccountState.open.value:
        raise AccountNotOpen(f"the account is {account.state}; grants need an open account")
    grant = await _give(session, vault, account, fields=names, purpose=purpose, expires_at=expires, now=now)
    await session.commit()
    return grant


async def _withdraw(session: AsyncSession, vault: Vault, grant: Grant, now: datetime) -> None:
    grant.withdrawn_at = now
    committed = {
        "event": "grant.withdrawn",
        "grant_id": grant.id,
        "sesame_id": vault.sesame_id,
        "company_id": grant.company_id,
        "at": _iso(now),
    }
    index, salt = await transparency.record_private(session, "grant.withdrawn", committed)
    session.add(
        LedgerRecord(
            vault_id=vault.id or 0,
            kind="grant.withdrawn",
            subject=f"grant:{grant.id}",
            ledger_index=index,
            salt=salt,
            committed=committed,
            at=now,
        )
    )


async def withdraw_grant(
    session: AsyncSession, *, account_id: int, grant_id: int, now: datetime | None = None
) -> Grant:
    now = now or utcnow()
    vault = await vault_for_account(session, account_id)
    grant = await session.scalar(
        select(Grant).where(col(Grant.id) == grant_id, col(Grant.vault_id) == vault.id)
    )
    if grant is None:
        raise NotFound()
    state = grant_state(grant, now)
    if state != "given":
        raise StateConflict(f"the grant is already {state}")
    await _withdraw(session, vault, grant, now)
    await session.commit()
    return grant


async def list_grants(session: AsyncSession, *, account_id: int) -> list[Grant]:
    vault = await vault_for_account(session, account_id)
    rows = await session.execute(select(Grant).where(col(Grant.vault_id) == vault.id).order_by(col(Grant.id)))
    return list(rows.scalars())


# -- requests ------------------------------------------------------------------------------------------------
async def request_fields(
    session: AsyncSession,
    *,
    principal_id: int,
    sesame_id: str,
    fields: list[str],
    purpose: str,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> FieldRequest:
    """A company with an open account asks for fields; without one, 404 (nothing is revealed)."""
    now = now or utcnow()
    names = _check_field_names(fields, "body.fields")
    expires = _check_expiry(expires_at, now) if expires_at is not None else None
    company_id = await _company_id(session, principal_id)
    account = await open_account_between(session, sesame_id, company_id)
    if account is None:
        raise SesameNotFound()
    request = FieldRequest(
        vault_id=account.vault_id,
        company_account_id=account.id,
        company_id=company_id,
        fields=names,
        purpose=purpose,
        expires_at=expires,
        created_at=now,
    )
    session.add(request)
    await session.commit()
    return request


async def company_request(
    session: AsyncSession, *, principal_id: int, sesame_id: str, request_id: int
) -> FieldRequest:
    company_id = await _company_id(session, principal_id)
    vault = await _live_vault_by_sesame(session, sesame_id)
    request = await session.scalar(
        select(FieldRequest).where(
            col(FieldRequest.id) == request_id,
            col(FieldRequest.vault_id) == vault.id,
            col(FieldRequest.company_id) == company_id,
        )
    )
    if request is None:
        raise NotFound()
    return request


async def list_requests(session: AsyncSession, *, account_id: int) -> list[FieldRequest]:
    vault = await vault_for_account(session, account_id)
    rows = await session.execute(
        select(FieldRequest)
        .where(col(FieldRequest.vault_id) == vault.id)
        .order_by(col(FieldRequest.id).desc())
    )
    return list(rows.scalars())


async def decide_request(
    session: AsyncSession,
    *,
    account_id: int,
    request_id: int,
    approve: list[str],
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[FieldRequest, Grant | None]:
    """Approve field by field: a grant of the approved fields (for the request's purpose), or a refusal."""
    now = now or utcnow()
    vault = await vault_for_account(session, account_id)
    request = await session.scalar(
        select(FieldRequest).where(col(FieldRequest.id) == request_id, col(FieldRequest.vault_id) == vault.id)
    )
    if request is None:
        raise NotFound()
    if request.state != RequestState.requested.value:
        raise StateConflict(f"the request is already {request.state}")
    outside = [f for f in approve if f not in request.fields]
    if outside:
        raise InvalidField([FieldError("body.approve", f"{f[:80]!r} was not requested") for f in outside])
    approved = list(dict.fromkeys(approve))
    grant: Grant | None = None
    if approved:
        account = await _own_account(session, vault, request.company_account_id)
        if account.state != AccountState.open.value:
            raise AccountNotOpen(f"the account is {account.state}; grants need an open account")
        if expires_at is not None:
            expiry = _check_expiry(expires_at, now)
        elif request.expires_at is not None and as_utc(request.expires_at) > now:
            expiry = as_utc(request.expires_at)
        else:
            expiry = now + timedelta(days=DEFAULT_GRANT_DAYS)
        grant = await _give(
            session,
            vault,
            account,
            fields=approved,
            purpose=request.purpose,
            expires_at=expiry,
            now=now,
            request_id=request.id,
        )
        request.grant_id = grant.id
        request.state = RequestState.given.value
    else:
        request.state = RequestState.refused.value
    request.approved = approved
    request.decided_at = now
    await session.commit()
    return request, grant


_EXPIRES_AT_TYPE = DateTime(timezone=True)  # Grant.expires_at's

#: The whole company read in one round trip: vault, open account, live grants, current field rows. Built once.
_GRANTED_READ: Executable = (
    sa_select(
        col(Vault.id),
        col(Vault.kek_id),
        col(Vault.wrapped_dek),
        col(CompanyAccount.id).label("account_id"),
        col(Grant.id).label("grant_id"),
        col(Grant.fields),
        col(Grant.purpose),
        col(VaultField.name).label("field_name"),
        col(VaultField.version),
        col(VaultField.nonce),
        col(VaultField.ciphertext),
    )
    .select_from(Vault)
    .outerjoin(
        CompanyAccount,
        and_(
            col(CompanyAccount.vault_id) == col(Vault.id),
            col(CompanyAccount.company_id) == bindparam("company_id"),
            col(CompanyAccount.state) == AccountState.open.value,
        ),
    )
    .outerjoin(
        Grant,
        and_(
            col(Grant.company_account_id) == col(CompanyAccount.id),
            col(Grant.withdrawn_at).is_(None),
            col(Grant.expires_at) > bindparam("now", type_=_EXPIRES_AT_TYPE),
        ),
    )
    .outerjoin(  # field rows only when something is granted: one round trip for the whole read
        VaultField,
        and_(
            col(VaultField.vault_id) == col(Vault.id),
            col(VaultField.current),
            col(Grant.id).is_not(None),
        ),
    )
    .where(col(Vault.sesame_id) == bindparam("sesame_id"), col(Vault.erased_at).is_(None))
)


# -- the company read (the hot path) -------------------------------------------------------------------------
async def read_granted_fields(
    session: AsyncSession, keys: KeyRing, *, principal_id: int, sesame_id: str, now: datetime | None = None
) -> CompanyRead:
    """Exactly the fields granted now, decrypted; writes an access receipt and its ledger leaf.

    Denied attempts (no open account, nothing granted) are recorded for the citizen; the company sees 404
    (no account: existence is not revealed) or an empty set. Query budget: one join for vault + open account +
    live grants + current field rows (the company id is cached per login), then the receipt and its leaf
    committed with the other reads of the moment (``vault.receipts``).
    """
    now = now or utcnow()
    company_id = await _company_id(session, principal_id)
    if not sesame_id or len(sesame_id) > 64:
        raise SesameNotFound()
    rows: Sequence[Any] = await read_rows(
        session, _GRANTED_READ, {"sesame_id": sesame_id, "company_id": company_id, "now": now}
    )
    if not rows:
        raise SesameNotFound()
    first = rows[0]
    vault_id: int = first.id
    account_id: int | None = first.account_id
    if account_id is None:
        await _write_receipt(session, _receipt_row(vault_id, company_id, None, "denied", "no_account", now))
        raise SesameNotFound()
    granted: dict[str, list[int]] = {}
    purposes: dict[int, str] = {}
    stored: dict[str, Any] = {}
    for row in rows:
        if row.grant_id is None:
            continue
        if row.grant_id not in purposes:
            purposes[row.grant_id] = row.purpose
            for name in row.fields:
                granted.setdefault(name, []).append(row.grant_id)
        if row.field_name is not None:
            stored[row.field_name] = row
    if not granted:
        row = _receipt_row(vault_id, company_id, account_id, "denied", "nothing_granted", now)
        await _write_receipt(session, row)
        return CompanyRead(sesame_id=sesame_id, fields={}, read_at=now)
    field_rows = [stored[name] for name in sorted(granted) if name in stored]
    values: dict[str, Any] = {}
    if field_rows:
        dek = crypto.unwrap_data_key(keys=keys, kek_id=first.kek_id, wrapped=first.wrapped_dek)
        for r in field_rows:
            values[r.field_name] = _open_field(dek, sesame_id, r.field_name, r.version, r.nonce, r.ciphertext)
    names = sorted(values)
    used = sorted({g for n in names for g in granted[n]}) or sorted(purposes)
    purpose = "; ".join(dict.fromkeys(purposes[g] for g in used))
    committed = {
        "event": ACCESS_RECEIPT,
        "sesame_id": sesame_id,
        "company_id": company_id,
        "fields": names,
        "purpose": purpose,
        "at": _iso(now),
    }
    salt = crypto.new_salt()
    row = _receipt_row(vault_id, company_id, account_id, "granted", None, now)
    row.update(fields=names, grant_ids=used, purpose=purpose, salt=crypto.b64url(salt), committed=committed)
    await _write_receipt(session, row, salt=salt, committed=committed)
    return CompanyRead(sesame_id=sesame_id, fields=values, read_at=now)


def _receipt_row(
    vault_id: int, company_id: int, account_id: int | None, outcome: str, reason: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "vault_id": vault_id,
        "company_id": company_id,
        "company_account_id": account_id,
        "outcome": outcome,
        "reason": reason,
        "fields": [],
        "grant_ids": [],
        "purpose": "",
        "at": now,
        "salt": None,
        "committed": None,
    }


async def _write_receipt(
    session: AsyncSession,
    row: dict[str, Any],
    *,
    salt: bytes | None = None,
    committed: dict[str, Any] | None = None,
) -> int | None:
    """Hand the receipt (and its leaf) to this process's group commit; returns once it is committed.

    The request's session ends its (read-only) transaction first, so its connection goes back to the pool for
    the batch to use; the session stays usable, and its objects stay loaded, for the caller.
    """
    engine = session.bind
    if session.in_transaction():
        await session.commit()
    pending = receipts.PendingReceipt(kind=ACCESS_RECEIPT, row=row, salt=salt, committed=committed)
    return await receipts.write(engine, pending)  # type: ignore[arg-type]


# -- receipts and proofs -------------------------------------------------------------------------------------
async def list_receipts(
    session: AsyncSession, *, account_id: int, limit: int = 100, before: int | None = None
) -> list[AccessReceipt]:
    vault = await vault_for_account(session, account_id)
    query = select(AccessReceipt).where(col(AccessReceipt.vault_id) == vault.id)
    if before is not None and before <= MAX_ID:  # a cursor past every possible id filters nothing out
        query = query.where(col(AccessReceipt.id) < before)
    rows = await session.execute(query.order_by(col(AccessReceipt.id).desc()).limit(limit))
    return list(rows.scalars())


def commitment_of(salt_b64url: str, committed: dict[str, Any]) -> str:
    return crypto.salted_commitment(b64url_decode(salt_b64url), committed)


async def _proof(session: AsyncSession, index: int, salt: str, committed: dict[str, Any]) -> dict[str, Any]:
    bundle = await transparency.inclusion_bundle(session, index)
    return {
        **bundle,
        "index": index,
        "salt": salt,
        "committed": committed,
        "commitment": commitment_of(salt, committed),
    }


async def receipt_proof(session: AsyncSession, *, account_id: int, receipt_id: int) -> dict[str, Any]:
    """Everything a citizen needs to show a receipt is in the log: leaf, salt, committed JSON, proof, note."""
    vault = await vault_for_account(session, account_id)
    receipt = await session.scalar(
        select(AccessReceipt).where(
            col(AccessReceipt.id) == receipt_id, col(AccessReceipt.vault_id) == vault.id
        )
    )
    if receipt is None:
        raise NotFound()
    if receipt.ledger_index is None or receipt.salt is None or receipt.committed is None:
        raise StateConflict("denied attempts are kept in the vault only; they have no ledger proof")
    return await _proof(session, receipt.ledger_index, receipt.salt, receipt.committed)


# -- overview, settings --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Overview:
    vault: Vault
    field_names: list[str]
    accounts: list[CompanyAccount]
    grants: list[Grant]


async def overview(session: AsyncSession, *, account_id: int) -> Overview:
    vault = await vault_for_account(session, account_id)
    names = (
        await session.execute(
            select(VaultField.name)
            .where(col(VaultField.vault_id) == vault.id, col(VaultField.current))
            .order_by(col(VaultField.name))
        )
    ).scalars()
    return Overview(
        vault=vault,
        field_names=list(names),
        accounts=await list_company_accounts(session, account_id=account_id),
        grants=await list_grants(session, account_id=account_id),
    )


async def update_settings(
    session: AsyncSession,
    *,
    account_id: int,
    contactless: bool,
    highlights: list[str],
    language: str,
) -> CitizenSettings:
    vault = await vault_for_account(session, account_id)
    vault.contactless = contactless
    vault.highlights = list(dict.fromkeys(highlights))
    vault.language = language
    await session.commit()
    return CitizenSettings(
        contactless=vault.contactless, highlights=list(vault.highlights), language=vault.language
    )


# -- export and erasure --------------------------------------------------------------------------------------
async def export_vault(
    session: AsyncSession, keys: KeyRing, *, account_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """Everything in the vault, as JSON: every field version in clear, accounts, grants, requests, receipts
    with their inclusion proofs, and the salts of every ledger leaf about the citizen."""
    now = now or utcnow()
    vault = await vault_for_account(session, account_id)
    rows = (
        await session.execute(
            select(VaultField)
            .where(col(VaultField.vault_id) == vault.id)
            .order_by(col(VaultField.name), col(VaultField.version))
        )
    ).scalars()
    versions = list(rows)
    fields: dict[str, dict[str, Any]] = {}
    if versions:
        dek = await _data_key(session, keys, vault)
        for f in versions:
            entry = fields.setdefault(f.name, {"value": None, "version": 0, "history": []})
            value = _open_field(dek, vault.sesame_id, f.name, f.version, f.nonce, f.ciphertext)
            entry["history"].append({"version": f.version, "value": value, "at": _iso(f.created_at)})
            if f.current:
                entry["value"], entry["version"] = value, f.version
    accounts_ = await list_company_accounts(session, account_id=account_id)
    grants = await list_grants(session, account_id=account_id)
    requests = await list_requests(session, account_id=account_id)
    receipts = (
        await session.execute(
            select(AccessReceipt)
            .where(col(AccessReceipt.vault_id) == vault.id)
            .order_by(col(AccessReceipt.id))
        )
    ).scalars()
    receipt_items: list[dict[str, Any]] = []
    for r in receipts:
        item = receipt_json(r)
        if r.ledger_index is not None and r.salt is not None and r.committed is not None:
            item["proof"] = await _proof(session, r.ledger_index, r.salt, r.committed)
        receipt_items.append(item)
    records = (
        await session.execute(
            select(LedgerRecord).where(col(LedgerRecord.vault_id) == vault.id).order_by(col(LedgerRecord.id))
        )
    ).scalars()
    return {
        "format": "sesame-vault-export/1",
        "exported_at": _iso(now),
        "sesame_id": vault.sesame_id,
        "created_at": _iso(vault.created_at),
        "settings": {
            "contactless": vault.contactless,
            "highlights": vault.highlights,
            "language": vault.language,
        },
        "fields": fields,
        "company_accounts": [account_json(a) for a in accounts_],
        "grants": [grant_json(g, now) for g in grants],
        "requests": [request_json(q) for q in requests],
        "receipts": receipt_items,
        "ledger_records": [
            {
                "kind": rec.kind,
                "subject": rec.subject,
                "index": rec.ledger_index,
                "salt": rec.salt,
                "committed": rec.committed,
                "commitment": commitment_of(rec.salt, rec.committed),
            }
            for rec in records
        ],
    }


#: ``async (session, citizen account id, vault id)``, run inside the erasure's transaction before it commits:
#: other packages (dossiers, segments, checkouts ...) delete what they hold about the citizen there.
ErasureHook = Callable[[AsyncSession, int, int], Awaitable[None]]
erasure_hooks: list[ErasureHook] = []


async def erase_vault(session: AsyncSession, *, account_id: int, now: datetime | None = None) -> None:
    """Crypto-shred a vault and close the citizen's login; answers nothing, keeps nothing personal.

    The wrapped DEK and the holder key are destroyed and every ciphertext deleted (on SQLite with
    ``secure_delete`` so the freed bytes are zeroed, then the WAL is checkpointed and truncated), open accounts
    are closed (public ``account.closed`` leaves) and live grants withdrawn; requests, receipts and the salts
    of ledger leaves are deleted, which leaves the ledger's commitments about this citizen unopenable forever.
    """
    now = now or utcnow()
    vault = await vault_for_account(session, account_id)
    await _secure_delete(session)
    # Lock the vault row first (PostgreSQL; SQLite serialises writers anyway): a receipt batch committing at
    # the same time either finishes before (and its rows are deleted below) or sees the vault erased.
    await session.execute(select(Vault.id).where(col(Vault.id) == vault.id).with_for_update())
    accounts_ = await session.execute(
        select(CompanyAccount).where(
            col(CompanyAccount.vault_id) == vault.id,
            col(CompanyAccount.state).in_([AccountState.requested.value, AccountState.open.value]),
        )
    )
    for account in accounts_.scalars():
        if account.state == AccountState.open.value:
            account.state = AccountState.closed.value
            account.closed_at = now
            account.closed_ledger_index = await _record_account_event(
                session, vault, account, "account.closed", now
            )
        else:
            account.state = AccountState.declined.value
            account.decided_at = now
    await session.execute(
        update(Grant)
        .where(col(Grant.vault_id) == vault.id, col(Grant.withdrawn_at).is_(None))
        .values(withdrawn_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    for model in (VaultField, AccessReceipt, FieldRequest, LedgerRecord):
        await session.execute(delete(model).where(col(model.vault_id) == vault.id))  # type: ignore[attr-defined]
    vault.wrapped_dek = None
    vault.kek_id = None
    vault.holder_key = None
    vault.holder_nonce = None
    vault.contactless = False
    vault.highlights = list(DEFAULT_HIGHLIGHTS)
    vault.erased_at = now
    for hook in erasure_hooks:
        await hook(session, account_id, vault.id or 0)
    await accounts.erase_login(session, account_id)
    await session.commit()
    if session.get_bind().dialect.name == "sqlite":
        try:
            await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            await session.commit()
        except Exception:
            log.warning("WAL checkpoint after erasure did not complete; SQLite will checkpoint later")


# -- SD-JWT presentations ------------------------------------------------------------------------------------
async def holder_key(session: AsyncSession, keys: KeyRing, vault: Vault) -> crypto.HolderKey:
    """The vault's Ed25519 holder key (SD-JWT key binding), made on first use, kept sealed under the DEK."""
    dek = await _data_key(session, keys, vault)
    if vault.holder_key is None or vault.holder_nonce is None:
        key = crypto.new_holder_key()
        sealed = crypto.seal_holder_key(dek=dek, sesame_id=vault.sesame_id, key=key)
        vault.holder_nonce, vault.holder_key = sealed.nonce, sealed.ciphertext
        await session.commit()
        return key
    return crypto.open_holder_key(
        dek=dek,
        sesame_id=vault.sesame_id,
        sealed=crypto.Sealed(nonce=vault.holder_nonce, ciphertext=vault.holder_key),
    )


async def issue_presentation(
    session: AsyncSession,
    keys: KeyRing,
    *,
    account_id: int,
    issuer: str,
    fields: list[str],
    audience: str,
    nonce: str,
    now: datetime | None = None,
) -> str:
    """An SD-JWT of the chosen fields, signed by the platform, every one disclosed, bound to the holder key."""
    from vault import sdjwt

    now = now or utcnow()
    names = _check_field_names(fields, "body.fields")
    vault = await vault_for_account(session, account_id)
    rows = await _current_rows(session, vault.id or 0, names)
    missing = sorted(set(names) - {r.name for r in rows})
    if missing:
        raise InvalidField([FieldError("body.fields", f"{m!r} is not set in this vault") for m in missing])
    holder = await holder_key(session, keys, vault)
    dek = await _data_key(session, keys, vault)
    claims = {
        r.name: _open_field(dek, vault.sesame_id, r.name, r.version, r.nonce, r.ciphertext) for r in rows
    }
    issued = sdjwt.issue(
        issuer_key=keys.signing_key("platform"),
        issuer=issuer,
        claims=claims,
        holder_public=holder.public_key(),
        now=int(now.timestamp()),
    )
    return sdjwt.present(issued, holder_key=holder, audience=audience, nonce=nonce, now=int(now.timestamp()))


# -- key rotation --------------------------------------------------------------------------------------------
async def pending_rewrap(session: AsyncSession, keys: KeyRing) -> int:
    count = await session.scalar(
        select(func.count()).where(
            col(Vault.wrapped_dek).is_not(None), col(Vault.kek_id) != keys.current_kek_id
        )
    )
    return int(count or 0)


async def rewrap_data_keys(
    session: AsyncSession, keys: KeyRing, advance: Callable[[int], None], *, batch: int = 500
) -> int:
    """Re-wrap every DEK not under the current KEK, in committed batches; safe to interrupt and rerun.

    Each update is conditional on the old wrapped bytes, so a vault erased meanwhile is never given its DEK
    back. Field ciphertexts are not touched: the DEK itself does not change.
    """
    done = 0
    last_id = 0
    while True:
        rows = (
            await session.execute(
                select(Vault.id, Vault.kek_id, Vault.wrapped_dek)
                .where(
                    col(Vault.id) > last_id,
                    col(Vault.wrapped_dek).is_not(None),
                    col(Vault.kek_id) != keys.current_kek_id,
                )
                .order_by(col(Vault.id))
                .limit(batch)
            )
        ).all()
        if not rows:
            return done
        for row in rows:
            kek_id, wrapped = crypto.rewrap_data_key(keys=keys, kek_id=row.kek_id, wrapped=row.wrapped_dek)
            await session.execute(
                update(Vault)
                .where(col(Vault.id) == row.id, col(Vault.wrapped_dek) == row.wrapped_dek)
                .values(kek_id=kek_id, wrapped_dek=wrapped)
                .execution_options(synchronize_session=False)
            )
        await session.commit()
        done += len(rows)
        last_id = rows[-1].id
        advance(len(rows))


# -- JSON views shared by the API and the export -------------------------------------------------------------
def account_json(a: CompanyAccount) -> dict[str, Any]:
    return {
        "id": a.id,
        "company_id": a.company_id,
        "state": a.state,
        "civil_status_version": a.civil_status_version,
        "civil_status_ledger_index": a.civil_status_ledger_index,
        "requested_at": _iso(a.requested_at),
        "decided_at": _iso(a.decided_at) if a.decided_at else None,
        "closed_at": _iso(a.closed_at) if a.closed_at else None,
        "opened_ledger_index": a.opened_ledger_index,
        "closed_ledger_index": a.closed_ledger_index,
    }


def grant_json(g: Grant, now: datetime) -> dict[str, Any]:
    return {
        "id": g.id,
        "company_account_id": g.company_account_id,
        "company_id": g.company_id,
        "fields": list(g.fields),
        "purpose": g.purpose,
        "state": grant_state(g, now),
        "given_at": _iso(g.given_at),
        "expires_at": _iso(g.expires_at),
        "withdrawn_at": _iso(g.withdrawn_at) if g.withdrawn_at else None,
        "request_id": g.request_id,
        "ledger_index": g.ledger_index,
    }


def request_json(q: FieldRequest) -> dict[str, Any]:
    return {
        "id": q.id,
        "company_account_id": q.company_account_id,
        "company_id": q.company_id,
        "fields": list(q.fields),
        "purpose": q.purpose,
        "expires_at": _iso(q.expires_at) if q.expires_at else None,
        "state": q.state,
        "created_at": _iso(q.created_at),
        "decided_at": _iso(q.decided_at) if q.decided_at else None,
        "approved": list(q.approved),
        "grant_id": q.grant_id,
    }


def receipt_json(r: AccessReceipt) -> dict[str, Any]:
    return {
        "id": r.id,
        "company_id": r.company_id,
        "company_account_id": r.company_account_id,
        "outcome": r.outcome,
        "reason": r.reason,
        "fields": list(r.fields),
        "grant_ids": list(r.grant_ids),
        "purpose": r.purpose,
        "at": _iso(r.at),
        "ledger_index": r.ledger_index,
    }


# -- for vault.sharing (offers) ------------------------------------------------------------------------------
async def citizens_with_open_account(session: AsyncSession, company_id: int) -> list[int]:
    """Account ids of the citizens on whose live Sésame ``company_id`` has an open account, ascending."""
    rows = await session.scalars(
        select(Vault.account_id)
        .join(CompanyAccount, col(CompanyAccount.vault_id) == col(Vault.id))
        .where(
            col(CompanyAccount.company_id) == company_id,
            col(CompanyAccount.state) == AccountState.open.value,
            col(Vault.erased_at).is_(None),
        )
        .distinct()
        .order_by(col(Vault.account_id))
    )
    return list(rows)
