"""Pages anyone may read: home, companies and their profiles, the ledger explorer."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from company_profiles import services as profiles
from sesame.accounts.services import Principal
from sesame.settings import Settings
from sesame.web.indicators import history, indicator_rows
from sesame.web.opinions import CRITERIA, summary
from sesame.web.rendering import page, request_locale
from sesame.web.session import home_for

__all__ = ["PublicPages"]

PAGE_SIZE = 20


class PublicPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def home(self, request: Request[Any, Any, Any], viewer: Principal | None) -> Response[str]:
        return page(request, "pages/home.html", viewer=viewer, home=home_for(viewer.kind) if viewer else "/")

    @get("/companies")
    async def companies(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000)] = 0,
    ) -> Response[str]:
        found = await profiles.list_companies(db, query=q, limit=PAGE_SIZE, offset=offset)
        return page(
            request, "pages/companies.html", viewer=viewer, found=found, q=q or "", page_size=PAGE_SIZE
        )

    @get("/companies/{company_id:int}")
    async def company(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        company_id: Annotated[int, Parameter(ge=1, le=2_147_483_647)],
    ) -> Response[str]:
        lang = request_locale(request)
        profile = await profiles.public_profile(db, company_id)
        past = await history(db, company_id)
        rows = indicator_rows(profile.indicators, past, lang)
        versions = await profiles.versions(db, company_id)
        opinions = await summary(db, company_id, settings.k_anonymity)
        return page(
            request,
            "pages/company.html",
            viewer=viewer,
            profile=profile,
            mandatory=[r for r in rows if r.view.mandatory],
            optional=[r for r in rows if not r.view.mandatory and r.view.disclosed],
            undisclosed=[r for r in rows if not r.view.mandatory and not r.view.disclosed],
            versions=list(reversed(versions)),
            opinions=opinions,
            criteria=CRITERIA,
        )

    @get("/erased")
    async def erased(self, request: Request[Any, Any, Any]) -> Response[str]:
        return page(request, "pages/erased.html")

    @get("/s/{sesame_id:str}")
    async def sesame_card(
        self,
        request: Request[Any, Any, Any],
        viewer: Principal | None,
        sesame_id: Annotated[str, Parameter(max_length=64)],
    ) -> Response[str]:
        """What a phone shows when it scans a citizen's Sésame card: nothing about the person."""
        return page(request, "pages/sesame_card.html", viewer=viewer, sesame_id=sesame_id)

    @get("/ledger")
    async def ledger(
        self,
        request: Request[Any, Any, Any],
        viewer: Principal | None,
        index: Annotated[int | None, Parameter(ge=0, le=2**53)] = None,
    ) -> Response[str]:
        return page(request, "pages/ledger.html", viewer=viewer, index=index)
