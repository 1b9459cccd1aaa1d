"""Thin controllers: a citizen's recommendations, a company's summary, the zone portal."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, delete, get, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from company_profiles.recommendations import services
from company_profiles.recommendations.schemas import (
    RecommendationIn,
    RecommendationOut,
    RecommendationSummary,
    ZoneList,
    ZoneView,
)
from sesame.accounts.services import Principal
from sesame.settings import Settings

__all__ = ["ROUTES", "RecommendationController", "ZoneController"]


class RecommendationController(Controller):
    path = "/api/v1"
    tags = ["recommendations"]

    @put(
        "/companies/{company_id:int}/recommendations/mine",
        summary="Recommend a company or not (one per citizen and company; a second call updates it)",
        status_code=200,
    )
    async def put_mine(
        self, company_id: int, data: RecommendationIn, db: AsyncSession, principal: Principal
    ) -> Response[RecommendationOut]:
        principal.require("citizen")
        out, created = await services.recommend(db, citizen_id=principal.id, company_id=company_id, data=data)
        return Response(out, status_code=201 if created else 200)

    @get("/companies/{company_id:int}/recommendations/mine", summary="My recommendation of this company")
    async def get_mine(self, company_id: int, db: AsyncSession, principal: Principal) -> RecommendationOut:
        principal.require("citizen")
        return await services.get_recommendation(db, citizen_id=principal.id, company_id=company_id)

    @delete(
        "/companies/{company_id:int}/recommendations/mine",
        summary="Withdraw my recommendation of this company",
        status_code=204,
    )
    async def delete_mine(self, company_id: int, db: AsyncSession, principal: Principal) -> None:
        principal.require("citizen")
        await services.withdraw_recommendation(db, citizen_id=principal.id, company_id=company_id)

    @get("/vault/recommendations", summary="Every recommendation I gave")
    async def list_mine(self, db: AsyncSession, principal: Principal) -> list[RecommendationOut]:
        principal.require("citizen")
        return await services.list_recommendations(db, citizen_id=principal.id)

    @get(
        "/companies/{company_id:int}/recommendations/summary",
        summary="What citizens think of this company (shown once at least k citizens have said it)",
    )
    async def summary(self, company_id: int, db: AsyncSession, settings: Settings) -> RecommendationSummary:
        return await services.recommendation_summary(db, company_id, k=settings.k_anonymity)


class ZoneController(Controller):
    path = "/api/v1/zones"
    tags = ["zones"]

    @get("/", summary="The zone portal: published zones of a precision, for a sector or all")
    async def zones(
        self,
        db: AsyncSession,
        settings: Settings,
        sector: str | None = Parameter(
            default=None, max_length=8, description="NACE code or prefix: 47, 47.11"
        ),
        precision: int = Parameter(default=4, description="4 (about 39 × 20 km) or 5 (about 5 × 5 km)"),
    ) -> ZoneList:
        return await services.zone_portal(db, precision=precision, sector=sector, k=settings.k_anonymity)

    @get("/{zone:str}", summary="One zone (a geohash of precision 4 or 5)")
    async def zone(
        self,
        zone: str,
        db: AsyncSession,
        settings: Settings,
        sector: str | None = Parameter(
            default=None, max_length=8, description="NACE code or prefix: 47, 47.11"
        ),
    ) -> ZoneView:
        return await services.zone_view(db, zone=zone, sector=sector, k=settings.k_anonymity)


ROUTES: list[Any] = [RecommendationController, ZoneController]
