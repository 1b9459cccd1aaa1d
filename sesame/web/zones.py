"""The zone portal as a page: per zone and sector, how many distinct citizens recommend, the recommend ratios by
criterion and the trend by month.

What is published is decided by ``company_profiles.recommendations.services`` (k distinct citizens and
complementary suppression, the same answer as ``GET /api/v1/zones``); this page only shows it, and says that
a zone missing from the list is empty or withheld, never which.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from company_profiles import identifiers
from company_profiles.recommendations import services as recommendations
from sesame.accounts.services import Principal
from sesame.settings import Settings
from sesame.web.opinions import CRITERIA
from sesame.web.rendering import page

__all__ = ["ZonePages"]

Sector = Annotated[str | None, Parameter(max_length=8, description="NACE code or prefix: 47, 47.11")]


def _sector_label(sector: str | None) -> str | None:
    return identifiers.nace_label(sector) if sector else None


class ZonePages(Controller):
    path = "/zones"
    include_in_schema = False

    @get("/")
    async def portal(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        sector: Sector = None,
        precision: Annotated[int, Parameter(ge=4, le=5)] = 4,
    ) -> Response[str]:
        listing = await recommendations.zone_portal(
            db, precision=precision, sector=sector, k=settings.k_anonymity
        )
        return page(
            request,
            "pages/zones.html",
            viewer=viewer,
            listing=listing,
            sector=listing.sector or "",
            sector_label=_sector_label(listing.sector),
            criteria=CRITERIA,
        )

    @get("/{zone:str}")
    async def zone(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        zone: Annotated[str, Parameter(max_length=12)],
        sector: Sector = None,
    ) -> Response[str]:
        view = await recommendations.zone_view(db, zone=zone, sector=sector, k=settings.k_anonymity)
        return page(
            request,
            "pages/zone.html",
            viewer=viewer,
            view=view,
            sector=view.sector or "",
            sector_label=_sector_label(view.sector),
            criteria=CRITERIA,
        )
