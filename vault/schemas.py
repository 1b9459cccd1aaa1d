"""Request and response bodies of the vault's API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, field_validator

INDICATOR_KEY = r"^[a-z][a-z0-9_]{1,63}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldIn(_In):
    value: Any = Field(
        description="text, or for postal_address an object {street, postal_code, city, country}"
    )


class FieldOut(BaseModel):
    name: str
    value: Any
    version: int
    updated_at: datetime


class CompanyAccountOut(BaseModel):
    id: int
    company_id: int
    state: Literal["requested", "open", "declined", "closed"]
    civil_status_version: int | None
    civil_status_ledger_index: int | None
    requested_at: datetime
    decided_at: datetime | None
    closed_at: datetime | None
    opened_ledger_index: int | None
    closed_ledger_index: int | None


class AcceptIn(_In):
    civil_status_version: int | None = Field(
        default=None, description="the version the citizen was shown; refused with 409 if no longer current"
    )


class GrantIn(_In):
    company_account_id: int
    fields: list[str] = Field(min_length=1, max_length=50)
    purpose: str = Field(min_length=3, max_length=500)
    expires_at: datetime


class GrantOut(BaseModel):
    id: int
    company_account_id: int
    company_id: int
    fields: list[str]
    purpose: str
    state: Literal["given", "withdrawn", "expired"]
    given_at: datetime
    expires_at: datetime
    withdrawn_at: datetime | None
    request_id: int | None
    ledger_index: int | None


class RequestIn(_In):
    fields: list[str] = Field(min_length=1, max_length=50)
    purpose: str = Field(min_length=3, max_length=500)
    expires_at: datetime | None = None


class RequestOut(BaseModel):
    id: int
    company_account_id: int
    company_id: int
    fields: list[str]
    purpose: str
    expires_at: datetime | None
    state: Literal["requested", "given", "refused"]
    created_at: datetime
    decided_at: datetime | None
    approved: list[str]
    grant_id: int | None


class DecisionIn(_In):
    approve: list[str] = Field(
        default_factory=list, max_length=50, description="the fields approved; [] refuses"
    )
    expires_at: datetime | None = None


class DecisionOut(BaseModel):
    request: RequestOut
    grant: GrantOut | None


class ReceiptOut(BaseModel):
    id: int
    company_id: int
    company_account_id: int | None
    outcome: Literal["granted", "denied"]
    reason: str | None
    fields: list[str]
    grant_ids: list[int]
    purpose: str
    at: datetime
    ledger_index: int | None


class SettingsIO(_In):
    contactless: bool = False
    highlights: list[str] = Field(
        default_factory=lambda: ["employee_satisfaction"],
        max_length=5,
        description="indicator keys shown at checkout",
    )
    language: Literal["fr", "en"] = "fr"

    @field_validator("highlights")
    @classmethod
    def _indicator_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if not re.fullmatch(INDICATOR_KEY, key):
                raise ValueError(f"{key[:64]!r} is not an indicator key")
        return list(dict.fromkeys(value))


class VaultOut(BaseModel):
    sesame_id: str
    card_url: str
    fields: list[str]
    accounts: list[CompanyAccountOut]
    grants: list[GrantOut]
    settings: SettingsIO


class PresentationIn(_In):
    fields: list[str] = Field(min_length=1, max_length=50)
    audience: str = Field(min_length=1, max_length=500)
    nonce: str = Field(min_length=8, max_length=200)


class PresentationOut(BaseModel):
    presentation: str
    media_type: str = "application/sd-jwt"


class VerifyIn(_In):
    presentation: str = Field(min_length=10, max_length=64_000)
    audience: str = Field(min_length=1, max_length=500)
    nonce: str = Field(min_length=1, max_length=200)


class VerifyOut(BaseModel):
    valid: bool
    issuer: str
    claims: dict[str, Any]
    holder_jwk: dict[str, Any]
    disclosed: list[str]


class CompanyReadOut(msgspec.Struct):
    """A company's read (the hot path, serialised by msgspec directly)."""

    sesame_id: str
    fields: dict[str, Any]
    read_at: datetime
