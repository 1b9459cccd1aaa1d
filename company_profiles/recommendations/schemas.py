"""Requests and responses of recommendations, company summaries and the zone portal."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Criteria",
    "RecommendationIn",
    "RecommendationOut",
    "RecommendationSummary",
    "Tally",
    "TrendPoint",
    "ZoneList",
    "ZoneStats",
    "ZoneView",
]


class Criteria(BaseModel):
    """Recommend or not on each criterion; leave one out (null) for no opinion."""

    model_config = ConfigDict(extra="forbid")

    financial: bool | None = None
    ethical: bool | None = None
    quality: bool | None = None
    commercial: bool | None = None
    service: bool | None = None


class RecommendationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recommend: bool
    criteria: Criteria = Field(default_factory=Criteria)
    text: str | None = Field(default=None, max_length=280, description="at most 280 characters, only for you")
    zone: str | None = Field(
        default=None, max_length=12, description="geohash of precision exactly 5 (about 5 km), never finer"
    )


class RecommendationOut(BaseModel):
    company_id: int
    recommend: bool
    criteria: Criteria
    text: str | None
    zone: str | None
    created_at: datetime
    updated_at: datetime


class Tally(BaseModel):
    """How many said yes and no; ``ratio`` is yes / (yes + no), null when nobody answered."""

    yes: int
    no: int
    ratio: float | None


class TrendPoint(BaseModel):
    """Recommendations last given or updated in ``month`` (``YYYY-MM``); months under k citizens are not shown."""

    month: str
    citizens: int
    recommendations: int
    recommend: Tally


class RecommendationSummary(BaseModel):
    """What citizens think of a company, once at least ``k`` of them have said it."""

    company_id: int
    k: int
    published: bool
    #: Distinct recommending citizens; null (and ``fewer_than_k``) while fewer than ``k``.
    citizens: int | None
    fewer_than_k: bool
    recommend: Tally | None
    criteria: dict[str, Tally] | None
    trend: list[TrendPoint]


class ZoneStats(BaseModel):
    zone: str
    precision: int
    #: NACE code or prefix, or null for all sectors.
    sector: str | None
    citizens: int
    recommendations: int
    recommend: Tally
    criteria: dict[str, Tally]
    trend: list[TrendPoint]
    #: Published precision-5 cells inside a precision-4 zone (same sector).
    cells: list[str] = Field(default_factory=list)


class ZoneList(BaseModel):
    k: int
    precision: int
    sector: str | None
    zones: list[ZoneStats]


class ZoneView(BaseModel):
    """One zone; ``published`` is false alike for an empty zone and a withheld one (never told apart)."""

    zone: str
    precision: int
    sector: str | None
    k: int
    published: bool
    stats: ZoneStats | None
