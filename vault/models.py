"""The vault's tables. Field values exist here only as AES-256-GCM ciphertexts; the DEK only wrapped.

Other packages never read these tables: they call ``vault.services``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from sesame.models import utc_field

__all__ = [
    "AccessReceipt",
    "AccountState",
    "CompanyAccount",
    "FieldRequest",
    "Grant",
    "LedgerRecord",
    "RequestState",
    "Vault",
    "VaultField",
]

DEFAULT_HIGHLIGHTS = ("employee_satisfaction",)


class AccountState(StrEnum):
    requested = "requested"
    open = "open"
    declined = "declined"
    closed = "closed"


class RequestState(StrEnum):
    """ISO/IEC TS 27560 words: a request is ``requested``, then ``given`` (some fields) or ``refused``."""

    requested = "requested"
    given = "given"
    refused = "refused"


def _json_list() -> Any:
    return Field(default_factory=list, sa_type=JSON)


class Vault(SQLModel, table=True):
    """A citizen's Sésame. ``wrapped_dek`` is NULL until the first secret is sealed, and again after erasure."""

    __tablename__ = "vaults"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", unique=True)
    sesame_id: str = Field(max_length=32, unique=True)
    kek_id: str | None = Field(default=None, max_length=64, index=True)
    wrapped_dek: bytes | None = Field(default=None, sa_type=LargeBinary)
    holder_nonce: bytes | None = Field(default=None, sa_type=LargeBinary)
    holder_key: bytes | None = Field(default=None, sa_type=LargeBinary)
    contactless: bool = Field(default=False)
    highlights: list[str] = Field(default_factory=lambda: list(DEFAULT_HIGHLIGHTS), sa_type=JSON)
    language: str = Field(default="fr", max_length=8)
    created_at: datetime = utc_field()
    erased_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class VaultField(SQLModel, table=True):
    """One version of one field: a new row per version, ``current`` marks the one reads use."""

    __tablename__ = "vault_fields"
    __table_args__ = (
        UniqueConstraint("vault_id", "name", "version"),
        Index("ix_vault_fields_current", "vault_id", "current", "name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vault_id: int = Field(foreign_key="vaults.id")
    name: str = Field(max_length=80)
    version: int
    nonce: bytes = Field(sa_type=LargeBinary)
    ciphertext: bytes = Field(sa_type=LargeBinary)
    current: bool = Field(default=True)
    created_at: datetime = utc_field()


class CompanyAccount(SQLModel, table=True):
    """A company's account on a Sésame, with the civil-status version the citizen was shown."""

    __tablename__ = "vault_company_accounts"
    __table_args__ = (Index("ix_vault_company_accounts_lookup", "vault_id", "company_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    vault_id: int = Field(foreign_key="vaults.id")
    company_id: int = Field(index=True)
    state: str = Field(max_length=16, default=AccountState.requested.value)
    civil_status_version: int | None = None
    civil_status_ledger_index: int | None = None
    requested_at: datetime = utc_field()
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    opened_ledger_index: int | None = None
    closed_ledger_index: int | None = None


class Grant(SQLModel, table=True):
    """Fields granted to a company for a purpose until ``expires_at``; the state is computed from time."""

    __tablename__ = "vault_grants"
    __table_args__ = (Index("ix_vault_grants_account", "company_account_id", "withdrawn_at", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    vault_id: int = Field(foreign_key="vaults.id", index=True)
    company_account_id: int = Field(foreign_key="vault_company_accounts.id")
    company_id: int
    fields: list[str] = _json_list()
    purpose: str = Field(max_length=500)
    given_at: datetime = utc_field()
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    withdrawn_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    request_id: int | None = None
    ledger_index: int | None = None


class FieldRequest(SQLModel, table=True):
    """A company asking for fields with a purpose; the citizen approves field by field."""

    __tablename__ = "vault_requests"

    id: int | None = Field(default=None, primary_key=True)
    vault_id: int = Field(foreign_key="vaults.id", index=True)
    company_account_id: int = Field(foreign_key="vault_company_accounts.id")
    company_id: int = Field(index=True)
    fields: list[str] = _json_list()
    purpose: str = Field(max_length=500)
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    state: str = Field(max_length=16, default=RequestState.requested.value)
    created_at: datetime = utc_field()
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    approved: list[str] = _json_list()
    grant_id: int | None = None


class AccessReceipt(SQLModel, table=True):
    """A company's read of a Sésame, granted or denied; granted ones are committed to the ledger.

    ``committed`` is the exact JSON the ledger leaf commits to and ``salt`` the salt, both kept only here.
    """

    __tablename__ = "vault_access_receipts"

    id: int | None = Field(default=None, primary_key=True)
    vault_id: int = Field(foreign_key="vaults.id", index=True)
    company_id: int
    company_account_id: int | None = None
    outcome: str = Field(max_length=8)  # granted | denied
    reason: str | None = Field(default=None, max_length=32)  # no_account | nothing_granted
    fields: list[str] = _json_list()
    grant_ids: list[int] = _json_list()
    purpose: str = Field(default="", max_length=2000)
    at: datetime = utc_field()
    ledger_index: int | None = None
    salt: str | None = Field(default=None, max_length=64)
    committed: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class LedgerRecord(SQLModel, table=True):
    """The salt and committed JSON of a ledger leaf about this vault (grants, accounts), for later proofs."""

    __tablename__ = "vault_ledger_records"

    id: int | None = Field(default=None, primary_key=True)
    vault_id: int = Field(foreign_key="vaults.id", index=True)
    kind: str = Field(max_length=40)
    subject: str = Field(max_length=60)  # "grant:12", "account:3"
    ledger_index: int
    salt: str = Field(max_length=64)
    committed: dict[str, Any] = Field(sa_type=JSON)
    at: datetime = utc_field()
