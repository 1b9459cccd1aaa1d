"""Tables of company_profiles. Other packages never read them: they call ``company_profiles.services``.

A civil status is append-only: each filing adds a ``CivilStatusVersion`` and a full set of
``IndicatorRecord`` rows for it; nothing is updated in place except the ``Company`` row's denormalised
identity (name, sector...), which always mirrors the current version for listing and search.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from sesame.models import utc_field


class Company(SQLModel, table=True):
    __tablename__ = "companies"
    __table_args__ = (UniqueConstraint("registration_scheme", "registration_number"),)

    id: int | None = Field(default=None, primary_key=True)
    #: One company per company account.
    account_id: int = Field(foreign_key="accounts.id", unique=True)
    legal_name: str = Field(max_length=200)
    #: Lower-case, accent-free legal name, for search.
    search_name: str = Field(max_length=200, index=True)
    country: str = Field(max_length=2)
    registration_scheme: str = Field(max_length=8)
    registration_number: str = Field(max_length=32)
    founding_date: date
    tax_residence: str = Field(max_length=2)
    nace_sector: str = Field(max_length=5, index=True)
    registered_address: str = Field(max_length=300)
    current_version: int = Field(default=0)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class CivilStatusVersion(SQLModel, table=True):
    """One filing of a company's civil status; never changed once written (``ledger_index`` aside)."""

    __tablename__ = "civil_status_versions"
    __table_args__ = (UniqueConstraint("company_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="companies.id", index=True)
    version: int
    filed_at: datetime = utc_field()
    filed_by: int | None = Field(default=None, foreign_key="accounts.id")
    #: Hex SHA-256 of the RFC 8785 canonical JSON of ``{company_id, version, indicators}``.
    content_hash: str = Field(max_length=64)
    ledger_index: int | None = Field(default=None)


class IndicatorRecord(SQLModel, table=True):
    """One indicator value in one version."""

    __tablename__ = "civil_status_indicators"
    __table_args__ = (UniqueConstraint("version_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="civil_status_versions.id", index=True)
    key: str = Field(max_length=64)
    #: The normalised value as canonical JSON (a number or a string).
    value_json: str = Field(sa_type=Text)
    unit: str | None = Field(default=None, max_length=32)
    period: str | None = Field(default=None, max_length=40)
    method: str | None = Field(default=None, max_length=500)
    source: str | None = Field(default=None, max_length=500)
    #: First version since which value, unit, period and method are unchanged: attestations of any version
    #: from ``since_version`` on still apply to this record.
    since_version: int
    since_at: datetime = Field(sa_type=DateTime(timezone=True))


class Verifier(SQLModel, table=True):
    """A registry, tax office, auditor or survey institute trusted for the indicators in ``scope``."""

    __tablename__ = "verifiers"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", unique=True)
    name: str = Field(max_length=200)
    #: The trust policy: indicator keys this verifier may attest.
    scope: list[str] = Field(default_factory=list, sa_type=JSON)
    active: bool = Field(default=True)
    created_at: datetime = utc_field()


class VerifierKey(SQLModel, table=True):
    """A verifier's Ed25519 key: the private part only wrapped by the master KEK (``kek_id``)."""

    __tablename__ = "verifier_keys"

    id: int | None = Field(default=None, primary_key=True)
    verifier_id: int = Field(foreign_key="verifiers.id", index=True)
    kid: str = Field(max_length=64, unique=True)
    #: Base64url raw public key (32 bytes).
    public_key: str = Field(max_length=64)
    kek_id: str = Field(max_length=64, index=True)
    wrapped_private: bytes
    created_at: datetime = utc_field()
    retired_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True), nullable=True)


class Attestation(SQLModel, table=True):
    """A verifier's signed statement that a company's disclosed value is true."""

    __tablename__ = "attestations"
    __table_args__ = (Index("ix_attestations_company_indicator", "company_id", "indicator"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="companies.id")
    verifier_id: int = Field(foreign_key="verifiers.id", index=True)
    kid: str = Field(max_length=64)
    indicator: str = Field(max_length=64)
    value_json: str = Field(sa_type=Text)
    #: The civil-status version the verifier checked.
    version: int
    issued_at: datetime = Field(sa_type=DateTime(timezone=True))
    valid_until: datetime = Field(sa_type=DateTime(timezone=True))
    #: Compact JWS (EdDSA) over the claims; empty only between insert and signing in one transaction.
    jws: str = Field(default="", sa_type=Text)
    ledger_index: int | None = Field(default=None)
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True), nullable=True)
    revocation_reason: str | None = Field(default=None, max_length=200)
    revocation_ledger_index: int | None = Field(default=None)


class AttestationRefusal(SQLModel, table=True):
    """A verifier's refusal to attest a disclosed value, with its reason (public, like an attestation).

    It applies to the indicator while its record stays unchanged since ``version`` (like an attestation): a
    company that files a corrected value is awaiting attestation again.
    """

    __tablename__ = "attestation_refusals"
    __table_args__ = (Index("ix_attestation_refusals_company_indicator", "company_id", "indicator"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="companies.id")
    verifier_id: int = Field(foreign_key="verifiers.id", index=True)
    indicator: str = Field(max_length=64)
    value_json: str = Field(sa_type=Text)
    #: The civil-status version the verifier checked.
    version: int
    reason: str = Field(max_length=200)
    refused_at: datetime = Field(sa_type=DateTime(timezone=True))
    ledger_index: int | None = Field(default=None)
