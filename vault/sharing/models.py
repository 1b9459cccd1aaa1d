"""Tables of dossiers, their shares, interest segments and offers.

Companies are referred to by id only (no foreign key leaves the vault for ``company_profiles``); citizens by
their account id. A link share keeps only the SHA-256 of its token, so the database alone opens no dossier.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from sesame.models import utc_field

__all__ = [
    "CompanyMute",
    "Dossier",
    "DossierEntry",
    "DossierShare",
    "Offer",
    "OfferDelivery",
    "OfferPreference",
    "SegmentOptIn",
]


def _optional_time(*, index: bool = False) -> datetime | None:
    return Field(default=None, sa_type=DateTime(timezone=True), index=index, nullable=True)  # type: ignore[no-any-return]


class Dossier(SQLModel, table=True):
    """A citizen's notes on a sector or a market: companies, own notes, recommend flags."""

    __tablename__ = "dossiers"

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="accounts.id", index=True)
    title: str = Field(max_length=200)
    sector: str | None = Field(default=None, max_length=100)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class DossierEntry(SQLModel, table=True):
    __tablename__ = "dossier_entries"
    __table_args__ = (UniqueConstraint("dossier_id", "company_id", name="uq_dossier_entries_company"),)

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossiers.id", index=True, ondelete="CASCADE")
    company_id: int
    position: int = 0
    note: str | None = Field(default=None, max_length=2000)
    recommend: bool | None = None


class DossierShare(SQLModel, table=True):
    """A dossier shared with one citizen (``recipient_id``) or with whoever holds a link (``token_hash``)."""

    __tablename__ = "dossier_shares"

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossiers.id", index=True, ondelete="CASCADE")
    recipient_id: int | None = Field(default=None, foreign_key="accounts.id", index=True)
    #: The ``sesame_id`` the author typed or scanned, shown back to the author only.
    recipient_sesame_id: str | None = Field(default=None, max_length=64)
    #: Hex SHA-256 of a link share's token; the token itself is shown once, at creation.
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = utc_field()
    expires_at: datetime | None = _optional_time()
    revoked_at: datetime | None = _optional_time()


class SegmentOptIn(SQLModel, table=True):
    __tablename__ = "segment_opt_ins"
    __table_args__ = (
        UniqueConstraint("citizen_id", "segment", name="uq_segment_opt_ins"),
        Index("ix_segment_opt_ins_segment", "segment", "citizen_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="accounts.id")
    segment: str = Field(max_length=32)
    created_at: datetime = utc_field()


class OfferPreference(SQLModel, table=True):
    """The zone (geohash of precision 5, never finer) a citizen states for offers, if any."""

    __tablename__ = "offer_preferences"

    citizen_id: int = Field(foreign_key="accounts.id", primary_key=True)
    zone: str | None = Field(default=None, max_length=5, index=True)
    updated_at: datetime = utc_field()


class CompanyMute(SQLModel, table=True):
    __tablename__ = "offer_mutes"
    __table_args__ = (UniqueConstraint("citizen_id", "company_id", name="uq_offer_mutes"),)

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="accounts.id", index=True)
    company_id: int = Field(index=True)
    created_at: datetime = utc_field()


class Offer(SQLModel, table=True):
    __tablename__ = "offers"

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(index=True)
    segment: str = Field(max_length=32)
    #: Geohash prefix of precision 1 to 5, or None for every zone.
    zone: str | None = Field(default=None, max_length=5)
    title: str = Field(max_length=120)
    body: str = Field(max_length=2000)
    valid_until: datetime = Field(sa_type=DateTime(timezone=True))
    created_at: datetime = utc_field()
    #: How many citizens received it (the company sees it only when at least k and not withheld).
    delivered: int = 0
    #: True when the count is withheld because the audience differs from an earlier offer's by fewer than k.
    count_withheld: bool = False


class OfferDelivery(SQLModel, table=True):
    __tablename__ = "offer_deliveries"
    __table_args__ = (UniqueConstraint("offer_id", "citizen_id", name="uq_offer_deliveries"),)

    id: int | None = Field(default=None, primary_key=True)
    offer_id: int = Field(foreign_key="offers.id", index=True, ondelete="CASCADE")
    citizen_id: int = Field(foreign_key="accounts.id", index=True)
    delivered_at: datetime = utc_field()
