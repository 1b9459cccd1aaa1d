"""Requests and responses of dossiers, shares, segments and offers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DeliveryReport",
    "DossierEntryIn",
    "DossierEntryOut",
    "DossierIn",
    "DossierOut",
    "DossierSummary",
    "OfferIn",
    "OfferOut",
    "ReceivedOffer",
    "ReceivedShare",
    "SegmentOut",
    "SegmentsIn",
    "SegmentsOut",
    "ShareCreated",
    "ShareIn",
    "ShareOut",
    "SharedDossier",
]


class DossierEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company_id: int
    note: str | None = Field(default=None, max_length=2000)
    recommend: bool | None = None


class DossierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    sector: str | None = Field(
        default=None, max_length=100, description="a sector or a market, in your words"
    )
    companies: list[DossierEntryIn] = Field(default_factory=list, max_length=200)


class DossierEntryOut(BaseModel):
    company_id: int
    note: str | None
    recommend: bool | None
    #: The company's current public profile (``GET /api/v1/companies/{id}``), never a stale copy; null if gone.
    company: dict[str, Any] | None = None
    #: What citizens think of it (``GET /api/v1/companies/{id}/recommendations/summary``); null if gone.
    recommendations: dict[str, Any] | None = None


class DossierSummary(BaseModel):
    id: int
    title: str
    sector: str | None
    companies: int
    created_at: datetime
    updated_at: datetime


class DossierOut(BaseModel):
    id: int
    title: str
    sector: str | None
    created_at: datetime
    updated_at: datetime
    companies: list[DossierEntryOut]


class ShareIn(BaseModel):
    """Share with one citizen (``sesame_id``) or, without it, by a link (and its QR code) that expires."""

    model_config = ConfigDict(extra="forbid")

    sesame_id: str | None = Field(default=None, min_length=1, max_length=64)
    expires_in_hours: int | None = Field(
        default=None,
        ge=1,
        le=2160,
        description="link: 168 (7 days) unless given; citizen: never unless given",
    )


class ShareOut(BaseModel):
    id: int
    dossier_id: int
    kind: Literal["citizen", "link"]
    recipient_sesame_id: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked: bool
    expired: bool


class ShareCreated(ShareOut):
    #: A link share's token and URLs (``url``: the web page a person opens, which the QR code carries; JSON
    #: clients use ``/api/v1/shared-dossiers/{token}``): shown this once, only its hash is kept.
    token: str | None = None
    url: str | None = None
    qr_svg_url: str | None = None


class SharedDossier(BaseModel):
    """A dossier as its recipient sees it, with each company's current verified profile."""

    share_id: int
    title: str
    sector: str | None
    #: The author's display name, if they set one (never their email or sesame_id).
    author: str | None
    shared_at: datetime
    expires_at: datetime | None
    updated_at: datetime
    companies: list[DossierEntryOut]


class ReceivedShare(BaseModel):
    """A dossier another citizen shared with me (the inbox)."""

    share_id: int
    title: str
    sector: str | None
    author: str | None
    companies: int
    shared_at: datetime
    expires_at: datetime | None


class SegmentOut(BaseModel):
    key: str
    label_fr: str
    label_en: str


class SegmentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segments: list[str] = Field(default_factory=list, max_length=50)
    zone: str | None = Field(
        default=None,
        max_length=12,
        description="your zone for offers: a geohash of precision exactly 5, or null",
    )


class SegmentsOut(BaseModel):
    segments: list[str]
    zone: str | None
    muted_companies: list[int]


class OfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment: str = Field(max_length=32)
    zone: str | None = Field(default=None, max_length=12, description="a geohash prefix of precision 1 to 5")
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1, max_length=2000)
    valid_until: datetime


class DeliveryReport(BaseModel):
    """All a company learns of an offer's audience."""

    k: int
    #: How many citizens received it; null when fewer than k, or withheld.
    delivered: int | None
    fewer_than_k: bool
    #: The count is withheld because this audience differs from one of your earlier offers' by fewer than k.
    withheld: bool
    text: str


class OfferOut(BaseModel):
    id: int
    company_id: int
    segment: str
    zone: str | None
    title: str
    body: str
    valid_until: datetime
    created_at: datetime
    delivery: DeliveryReport


class ReceivedOffer(BaseModel):
    id: int
    company_id: int
    company_name: str | None
    segment: str
    zone: str | None
    title: str
    body: str
    valid_until: datetime
    delivered_at: datetime
    expired: bool
