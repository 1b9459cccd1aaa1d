"""The recommendations table: one row per citizen and company, updated in place (no history is kept).

Keeping only the current recommendation is data minimisation: the trend is read from the month of each
recommendation's last update, so a citizen's past opinions are not stored anywhere.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from sesame.models import utc_field

__all__ = ["Recommendation"]


class Recommendation(SQLModel, table=True):
    __tablename__ = "recommendations"
    __table_args__ = (
        UniqueConstraint("company_id", "citizen_id", name="uq_recommendations_company_citizen"),
        Index("ix_recommendations_zone", "zone"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="companies.id", index=True)
    citizen_id: int = Field(foreign_key="accounts.id", index=True)
    recommend: bool
    #: Per criterion: True (recommend on it), False (do not), None (no opinion).
    financial: bool | None = None
    ethical: bool | None = None
    quality: bool | None = None
    commercial: bool | None = None
    service: bool | None = None
    text: str | None = Field(default=None, max_length=280)
    #: Geohash of precision exactly 5 (about 5 km), or None: never a finer place.
    zone: str | None = Field(default=None, max_length=5)
    #: The company's NACE code when the recommendation was last written (the zone portal's sector).
    sector: str | None = Field(default=None, max_length=5)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
