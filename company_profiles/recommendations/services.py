"""Recommendations: who may give one, one per citizen and company, summaries and the zone portal. No HTTP here.

Every published number goes through ``company_profiles.recommendations.disclosure`` (k distinct citizens, and
every region of the published groups with 0 or at least k citizens: read its docstring for the reasoning).

Functions other packages call (stable names): ``recommendation_summary`` and ``recommendation_summaries`` (the
profile, the product card, the open-data export), ``normalise_zone`` / ``normalise_zone_prefix`` (the offers of
``vault.sharing``), ``forget_citizen`` (erasure).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from company_profiles import services as companies
from company_profiles.errors import CompanyNotFound
from company_profiles.recommendations import disclosure, geohash
from company_profiles.recommendations.disclosure import ALL, CRITERIA, Contribution, Publication
from company_profiles.recommendations.errors import NotEligible, RecommendationNotFound
from company_profiles.recommendations.models import Recommendation
from company_profiles.recommendations.schemas import (
    Criteria,
    RecommendationIn,
    RecommendationOut,
    RecommendationSummary,
    Tally,
    TrendPoint,
    ZoneList,
    ZoneStats,
    ZoneView,
)
from sesame.db import MAX_ID
from sesame.errors import InvalidInput
from sesame.models import utcnow
from sesame.modules import optional_module
from sesame.settings import get_settings

__all__ = [
    "forget_citizen",
    "get_recommendation",
    "is_eligible",
    "list_recommendations",
    "normalise_zone",
    "normalise_zone_prefix",
    "recommend",
    "recommendation_summaries",
    "recommendation_summary",
    "withdraw_recommendation",
    "zone_portal",
    "zone_view",
]

TEXT_MAX = 280
_SECTOR = re.compile(r"\d{2}(?:\.\d{1,2})?")


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored in UTC), PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _month(moment: datetime) -> str:
    moment = _aware(moment)
    return f"{moment.year:04d}-{moment.month:02d}"


def _k(k: int | None) -> int:
    value = get_settings().k_anonymity if k is None else k
    if value < 2:
        raise ValueError("k-anonymity needs k of at least 2")
    return value


def normalise_zone(value: str, field: str = "body.zone") -> str:
    """A geohash of precision exactly 5, lower case; ``InvalidInput`` naming ``field`` otherwise."""
    try:
        return geohash.normalise_cell(value)
    except ValueError as exc:
        raise InvalidInput.one(field, str(exc)) from exc


def normalise_zone_prefix(value: str, field: str = "body.zone") -> str:
    """A geohash prefix of precision 1 to 5, lower case; ``InvalidInput`` naming ``field`` otherwise."""
    try:
        return geohash.normalise_prefix(value)
    except ValueError as exc:
        raise InvalidInput.one(field, str(exc)) from exc


def _normalise_sector(sector: str | None) -> str | None:
    if sector is None or not sector.strip() or sector.strip() == ALL:
        return None
    text = sector.strip()
    if not _SECTOR.fullmatch(text):
        raise InvalidInput.one("query.sector", "must be a NACE code or prefix such as 47, 47.1 or 47.11")
    return text


def _clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in text):
        raise InvalidInput.one("body.text", "must not contain control characters")
    if len(text) > TEXT_MAX:
        raise InvalidInput.one("body.text", f"at most {TEXT_MAX} characters")
    return text or None


def _out(row: Recommendation) -> RecommendationOut:
    return RecommendationOut(
        company_id=row.company_id,
        recommend=row.recommend,
        criteria=Criteria(**{name: getattr(row, name) for name in CRITERIA}),
        text=row.text,
        zone=row.zone,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
    )


# -- eligibility --------------------------------------------------------------------------------------------------
async def is_eligible(session: AsyncSession, citizen_id: int, company_id: int) -> bool:
    """A customer: an open account of the company on the citizen's Sésame, or a confirmed checkout with it."""
    # Imported here: vault.services imports company_profiles.services, which may import this module.
    from vault import services as vault

    sesame_id = await vault.sesame_id_for_account(session, citizen_id)
    if sesame_id is None:  # no live vault (erased, or not a citizen)
        return False
    if await vault.open_account_between(session, sesame_id, company_id) is not None:
        return True
    checkout = optional_module("scanner.checkout.services")
    if checkout is None:
        return False
    confirmed: bool = await checkout.has_confirmed_checkout(session, citizen_id, company_id)
    return confirmed


# -- a citizen's own recommendations -----------------------------------------------------------------------------
async def _own(session: AsyncSession, citizen_id: int, company_id: int) -> Recommendation | None:
    if not 0 < company_id <= MAX_ID:
        return None
    row: Recommendation | None = await session.scalar(
        select(Recommendation).where(
            col(Recommendation.citizen_id) == citizen_id, col(Recommendation.company_id) == company_id
        )
    )
    return row


async def recommend(
    session: AsyncSession,
    *,
    citizen_id: int,
    company_id: int,
    data: RecommendationIn,
    now: datetime | None = None,
) -> tuple[RecommendationOut, bool]:
    """Give or update the citizen's one recommendation of a company; ``(recommendation, created)``. Commits.

    Raises ``CompanyNotFound`` (404), ``NotEligible`` (403) or ``InvalidInput`` (422).
    """
    now = now or utcnow()
    profile = await companies.public_profile(session, company_id, now=now)  # 404 first: profiles are public
    zone = normalise_zone(data.zone) if data.zone is not None else None
    text = _clean_text(data.text)
    if not await is_eligible(session, citizen_id, company_id):
        raise NotEligible()
    row = await _own(session, citizen_id, company_id)
    created = row is None
    if row is None:
        row = Recommendation(
            company_id=company_id, citizen_id=citizen_id, recommend=data.recommend, created_at=now
        )
    row.recommend = data.recommend
    for name in CRITERIA:
        setattr(row, name, getattr(data.criteria, name))
    row.text = text
    row.zone = zone
    row.sector = profile.nace_sector
    row.updated_at = now
    session.add(row)
    await session.commit()
    return _out(row), created


async def get_recommendation(session: AsyncSession, *, citizen_id: int, company_id: int) -> RecommendationOut:
    row = await _own(session, citizen_id, company_id)
    if row is None:
        raise RecommendationNotFound()
    return _out(row)


async def list_recommendations(session: AsyncSession, *, citizen_id: int) -> list[RecommendationOut]:
    rows = await session.scalars(
        select(Recommendation)
        .where(col(Recommendation.citizen_id) == citizen_id)
        .order_by(col(Recommendation.updated_at).desc(), col(Recommendation.id))
    )
    return [_out(r) for r in rows]


async def withdraw_recommendation(session: AsyncSession, *, citizen_id: int, company_id: int) -> None:
    """Delete the citizen's recommendation of a company (nothing of it is kept); commits."""
    row = await _own(session, citizen_id, company_id)
    if row is None:
        raise RecommendationNotFound()
    await session.delete(row)
    await session.commit()


async def forget_citizen(session: AsyncSession, citizen_id: int) -> None:
    """Erasure: delete every recommendation of the citizen. The caller commits (inside its erasure)."""
    await session.execute(delete(Recommendation).where(col(Recommendation.citizen_id) == citizen_id))


# -- publishing -------------------------------------------------------------------------------------------------
def _columns(*names: str) -> list[Any]:
    """The named columns of ``Recommendation``, then the criteria: what the aggregates read, nothing more."""
    return [col(getattr(Recommendation, name)) for name in (*names, *CRITERIA)]


def _criteria_of(row: Any) -> tuple[bool | None, ...]:
    return tuple(getattr(row, name) for name in CRITERIA)


def _tally(yes: int, no: int) -> Tally:
    answered = yes + no
    return Tally(yes=yes, no=no, ratio=round(yes / answered, 4) if answered else None)


def _recommend_tally(t: disclosure.Tally) -> Tally:
    return _tally(t.recommending, t.recommendations - t.recommending)


def _criteria_tallies(t: disclosure.Tally) -> dict[str, Tally]:
    return {name: _tally(yes, no) for name, (yes, no) in zip(CRITERIA, t.criteria, strict=True)}


def _trend(publication: Publication, prefix: tuple[str, ...]) -> list[TrendPoint]:
    """Published months under the group ``prefix + ("*",)``, oldest first."""
    points = []
    for key, t in publication.groups.items():
        if key[:-1] == prefix and key[-1] != ALL:
            points.append(
                TrendPoint(
                    month=key[-1],
                    citizens=t.citizens,
                    recommendations=t.recommendations,
                    recommend=_recommend_tally(t),
                )
            )
    return sorted(points, key=lambda p: p.month)


async def recommendation_summaries(
    session: AsyncSession, company_ids: Sequence[int], *, k: int | None = None
) -> dict[int, RecommendationSummary]:
    """Summaries of many companies in one query (the open-data export); unknown ids get an empty summary.

    ``k`` defaults to the deployment's ``SESAME_K_ANONYMITY``; pass ``settings.k_anonymity`` when you have it.
    """
    k = _k(k)
    ids = sorted({i for i in company_ids if 0 < i <= MAX_ID})
    contributions: dict[int, list[Contribution]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            sa_select(*_columns("company_id", "citizen_id", "recommend", "updated_at")).where(
                col(Recommendation.company_id).in_(ids)
            )
        )
        for row in rows:
            contributions[row.company_id].append(
                Contribution(
                    citizen=row.citizen_id,
                    coordinates=(_month(row.updated_at),),
                    recommend=row.recommend,
                    criteria=_criteria_of(row),
                )
            )
    out: dict[int, RecommendationSummary] = {}
    for company_id in company_ids:
        publication = disclosure.publish(contributions.get(company_id, []), disclosure.SUMMARY_DIMENSIONS, k)
        total = publication.get((ALL,))
        out[company_id] = RecommendationSummary(
            company_id=company_id,
            k=k,
            published=total is not None,
            citizens=total.citizens if total else None,
            fewer_than_k=total is None,
            recommend=_recommend_tally(total) if total else None,
            criteria=_criteria_tallies(total) if total else None,
            trend=_trend(publication, ()),
        )
    return out


async def recommendation_summary(
    session: AsyncSession, company_id: int, *, k: int | None = None
) -> RecommendationSummary:
    """What citizens think of a company: distinct citizens, ratios per criterion, trend by month — only once
    ``k`` citizens have recommended it (or not). Raises ``CompanyNotFound``."""
    if not await companies.company_exists(session, company_id):
        raise CompanyNotFound()
    return (await recommendation_summaries(session, [company_id], k=k))[company_id]


async def _zone_contributions(session: AsyncSession, prefix: str | None = None) -> list[Contribution]:
    query = sa_select(*_columns("citizen_id", "zone", "sector", "recommend", "updated_at")).where(
        col(Recommendation.zone).is_not(None)
    )
    if prefix:
        query = query.where(col(Recommendation.zone).startswith(prefix, autoescape=True))
    rows = await session.execute(query)
    return [
        Contribution(
            citizen=row.citizen_id,
            coordinates=(row.zone, row.sector, _month(row.updated_at)),
            recommend=row.recommend,
            criteria=_criteria_of(row),
        )
        for row in rows
    ]


#: The last full zone publication per k, with the fingerprint of the data it was computed from. Per process;
#: any write to a zoned recommendation changes the fingerprint (count, highest id, latest update).
_publications: dict[tuple[str, int], tuple[tuple[Any, ...], Publication]] = {}


async def _fingerprint(session: AsyncSession) -> tuple[Any, ...]:
    row = (
        await session.execute(
            sa_select(
                func.count(), func.max(col(Recommendation.id)), func.max(col(Recommendation.updated_at))
            ).where(col(Recommendation.zone).is_not(None))
        )
    ).one()
    return tuple(row)


def _cache_key(session: AsyncSession, k: int) -> tuple[str, int]:
    bind = session.get_bind()
    return (str(bind.engine.url), k)


async def _cached_publication(session: AsyncSession, k: int) -> Publication | None:
    cached = _publications.get(_cache_key(session, k))
    if cached is not None and cached[0] == await _fingerprint(session):
        return cached[1]
    return None


async def _zone_publication(session: AsyncSession, k: int) -> Publication:
    """The whole portal's publication, recomputed only when zoned recommendations changed."""
    fingerprint = await _fingerprint(session)
    cached = _publications.get(_cache_key(session, k))
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    publication = disclosure.publish(await _zone_contributions(session), disclosure.ZONE_DIMENSIONS, k)
    _publications[_cache_key(session, k)] = (fingerprint, publication)
    return publication


def _zone_stats(publication: Publication, zone: str, sector_key: str) -> ZoneStats | None:
    key = (zone, sector_key, ALL)
    t = publication.get(key)
    if t is None:
        return None
    cells = [child[0] for child in publication.published_children(key, "zone")]
    return ZoneStats(
        zone=zone,
        precision=len(zone),
        sector=None if sector_key == ALL else sector_key,
        citizens=t.citizens,
        recommendations=t.recommendations,
        recommend=_recommend_tally(t),
        criteria=_criteria_tallies(t),
        trend=_trend(publication, (zone, sector_key)),
        cells=sorted(cells),
    )


def _precision(precision: int) -> int:
    if precision not in (geohash.PARENT_PRECISION, geohash.CELL_PRECISION):
        raise InvalidInput.one("query.precision", "must be 4 or 5")
    return precision


async def zone_portal(
    session: AsyncSession, *, precision: int = 4, sector: str | None = None, k: int | None = None
) -> ZoneList:
    """Every published zone of a precision, for a sector (NACE code or prefix) or all sectors."""
    k = _k(k)
    precision = _precision(precision)
    sector_key = _normalise_sector(sector) or ALL
    publication = await _zone_publication(session, k)
    zones = sorted({key[0] for key in publication.groups if len(key[0]) == precision})
    stats = [s for s in (_zone_stats(publication, z, sector_key) for z in zones) if s is not None]
    return ZoneList(k=k, precision=precision, sector=None if sector_key == ALL else sector_key, zones=stats)


async def zone_view(
    session: AsyncSession, *, zone: str, sector: str | None = None, k: int | None = None
) -> ZoneView:
    """One zone (precision 4 or 5). Only its precision-4 block is read: blocks are decided independently."""
    k = _k(k)
    try:
        cell = geohash.normalise_prefix(zone)
    except ValueError as exc:
        raise InvalidInput.one("path.zone", str(exc)) from exc
    if len(cell) not in (geohash.PARENT_PRECISION, geohash.CELL_PRECISION):
        raise InvalidInput.one("path.zone", "the portal publishes geohash cells of precision 4 or 5")
    sector_key = _normalise_sector(sector) or ALL
    publication = await _cached_publication(session, k)
    if publication is None:  # blocks are decided independently: reading this cell's block is enough
        contributions = await _zone_contributions(session, cell[: geohash.PARENT_PRECISION])
        publication = disclosure.publish(contributions, disclosure.ZONE_DIMENSIONS, k)
    stats = _zone_stats(publication, cell, sector_key)
    return ZoneView(
        zone=cell,
        precision=len(cell),
        sector=None if sector_key == ALL else sector_key,
        k=k,
        published=stats is not None,
        stats=stats,
    )
