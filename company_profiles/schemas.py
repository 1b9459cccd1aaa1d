"""Requests and responses of company_profiles; also what its service functions return to other packages."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AttestationCheck",
    "AttestationOut",
    "AttestationRequest",
    "CivilStatusFiling",
    "CompanyList",
    "CompanyProfile",
    "CompanyRef",
    "CompanyRegistered",
    "CompanyRegistration",
    "CompanySummary",
    "FilingReceipt",
    "IndicatorDefinition",
    "IndicatorInput",
    "IndicatorView",
    "JwsIn",
    "OpenDataRecord",
    "RefusalOut",
    "RefusalRequest",
    "Revocation",
    "ScoreComponents",
    "VerificationState",
    "VerifierOut",
    "VersionDetail",
    "VersionSummary",
]

#: A JSON scalar as sent by the caller; the catalogue checks and normalises it (typed errors, 422).
JsonScalar = Any
#: An indicator's value as answered: documented as number or string, since ``oneOf [integer, number]`` (what
#: ``int | float`` gives) is ambiguous for every integer and so rejects them.
IndicatorValue = Annotated[
    int | float | str, Field(json_schema_extra={"one_of": [{"type": "number"}, {"type": "string"}]})
]
OptionalIndicatorValue = Annotated[
    int | float | str | None,
    Field(json_schema_extra={"one_of": [{"type": "number"}, {"type": "string"}, {"type": "null"}]}),
]
Scheme = Literal["siren", "siret", "vat", "lei"]


class VerificationState(StrEnum):
    """How far an indicator's current value can be trusted."""

    attested = "attested"  # a trusted verifier signed this value, not revoked, not expired
    expired = "expired"  # the only matching attestations have passed their valid_until
    revoked = "revoked"  # the only matching attestations were revoked
    refused = "refused"  # a trusted verifier refused to attest this value (and none attests it since)
    self_declared = "self_declared"  # disclosed by the company, attested by no trusted verifier
    undisclosed = "undisclosed"  # not in the current version


# -- requests ----------------------------------------------------------------------------------------------------
class CompanyRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    legal_name: str = Field(min_length=1, max_length=200)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2 country of registration")
    registration_scheme: Scheme
    registration_id: str = Field(min_length=1, max_length=64)
    founding_date: date
    tax_residence: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    sector: str = Field(min_length=2, max_length=16, description="NACE rev. 2 code, e.g. 47.11")
    registered_address: str = Field(min_length=1, max_length=300)


class IndicatorInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: JsonScalar
    unit: str | None = Field(default=None, max_length=32)
    period: str | None = Field(default=None, max_length=40)
    method: str | None = Field(default=None, max_length=500)
    source: str | None = Field(default=None, max_length=500)


class CivilStatusFiling(BaseModel):
    """A new version: mandatory indicators left out are carried over; optional ones left out are withdrawn."""

    model_config = ConfigDict(extra="forbid")

    indicators: dict[str, IndicatorInput] = Field(max_length=64)


class AttestationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicator: str = Field(min_length=1, max_length=64)
    value: JsonScalar
    version: int | None = Field(default=None, ge=1, le=2_147_483_647, description="default: the current one")
    valid_days: int | None = Field(default=None, ge=1, le=1095, description="default: the catalogue's")


class RefusalRequest(BaseModel):
    """A verifier refuses to attest the value disclosed in a version (default: the current one), saying why."""

    model_config = ConfigDict(extra="forbid")

    indicator: str = Field(min_length=1, max_length=64)
    version: int | None = Field(default=None, ge=1, le=2_147_483_647, description="default: the current one")
    reason: str = Field(min_length=1, max_length=200, description="why the value cannot be attested (public)")


class Revocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=200)


class JwsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jws: str = Field(min_length=1, max_length=8192)


# -- responses ---------------------------------------------------------------------------------------------------
class CompanyRef(BaseModel):
    """A company as other packages see it."""

    model_config = ConfigDict(frozen=True)

    id: int
    account_id: int
    legal_name: str
    current_version: int


class CompanyRegistered(BaseModel):
    id: int
    legal_name: str
    registration_id: str
    version: int
    ledger_index: int | None


class FilingReceipt(BaseModel):
    company_id: int
    version: int
    ledger_index: int | None
    content_hash: str
    filed_at: datetime


class IndicatorDefinition(BaseModel):
    key: str
    label_fr: str
    label_en: str
    kind: str
    unit: str | None
    mandatory: bool
    minimum: float | None
    maximum: float | None
    integer: bool
    default_period: str | None
    default_method: str | None
    attestation_days: int
    description: str


class IndicatorView(BaseModel):
    """One indicator of a company's current civil status, with its verification state."""

    key: str
    label_fr: str
    label_en: str
    kind: str
    mandatory: bool
    disclosed: bool
    value: OptionalIndicatorValue = None
    unit: str | None = None
    period: str | None = None
    method: str | None = None
    source: str | None = None
    #: The version shown (the current one) and the first version since which this record is unchanged.
    version: int | None = None
    since_version: int | None = None
    disclosed_at: datetime | None = None
    #: Days since the value was first disclosed unchanged.
    age_days: int | None = None
    state: VerificationState = VerificationState.undisclosed
    attestation_id: int | None = None
    attested_by: str | None = None
    attested_by_id: int | None = None
    attested_at: datetime | None = None
    attested_version: int | None = None
    valid_until: datetime | None = None
    #: When ``state`` is ``refused``: the verifier's refusal (public, like attestations).
    refusal_id: int | None = None
    refused_by: str | None = None
    refused_at: datetime | None = None
    refusal_reason: str | None = None


class ScoreComponents(BaseModel):
    completeness: float
    verified: float
    freshness: float


class CompanyProfile(BaseModel):
    id: int
    legal_name: str
    country: str
    registration_scheme: str
    registration_id: str
    registration_display: str
    founding_date: date
    seniority_years: int
    tax_residence: str
    nace_sector: str
    nace_label: str | None
    registered_address: str
    version: int
    version_filed_at: datetime
    ledger_index: int | None
    indicators: list[IndicatorView]
    mandatory_gaps: list[str]
    transparency_score: int
    score_components: ScoreComponents
    score_formula: str


class CompanySummary(BaseModel):
    id: int
    legal_name: str
    country: str
    nace_sector: str
    nace_label: str | None
    founding_date: date
    seniority_years: int
    version: int


class CompanyList(BaseModel):
    items: list[CompanySummary]
    total: int
    limit: int
    offset: int


class VersionSummary(BaseModel):
    version: int
    filed_at: datetime
    ledger_index: int | None
    content_hash: str
    indicator_count: int


class VersionDetail(VersionSummary):
    company_id: int
    indicators: dict[str, dict[str, Any]]


class AttestationOut(BaseModel):
    id: int
    company_id: int
    indicator: str
    value: IndicatorValue
    version: int
    verifier_id: int
    verifier_name: str
    kid: str
    issued_at: datetime
    valid_until: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    ledger_index: int | None
    revocation_ledger_index: int | None
    jws: str


class RefusalOut(BaseModel):
    id: int
    company_id: int
    indicator: str
    value: IndicatorValue
    version: int
    verifier_id: int
    verifier_name: str
    reason: str
    refused_at: datetime
    ledger_index: int | None


class AttestationCheck(BaseModel):
    """The result of checking an attestation JWS: ``valid`` only when ``problems`` is empty."""

    valid: bool
    problems: list[str]
    attestation_id: int | None = None
    company_id: int | None = None
    indicator: str | None = None
    value: OptionalIndicatorValue = None
    version: int | None = None
    verifier_id: int | None = None
    issued_at: datetime | None = None
    valid_until: datetime | None = None


class VerifierOut(BaseModel):
    id: int
    name: str
    scope: list[str]
    kids: list[str]
    active: bool


class OpenDataRecord(BaseModel):
    """One company's current civil status, as published in the open-data export."""

    company_id: int
    legal_name: str
    country: str
    registration_id: str
    nace_sector: str
    founding_date: date
    version: int
    filed_at: datetime
    ledger_index: int | None
    content_hash: str
    indicators: list[IndicatorView]
    #: Filled by the packages that extend the export (recommendation summaries, k-anonymous).
    recommendations: dict[str, Any] | None = None
