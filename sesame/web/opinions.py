"""Citizens' recommendations of companies (``company_profiles.recommendations``), where that package exists.

The public profile shows the k-anonymous summary; a customer (open account or confirmed checkout) recommends
or not, criterion by criterion, from the company's page in their Sésame.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from sqlalchemy.ext.asyncio import AsyncSession

from sesame.accounts.services import Principal
from sesame.errors import NotFound
from sesame.modules import optional_module
from sesame.web.forms import form_dict, redirect
from sesame.web.i18n import N_
from sesame.web.session import require

__all__ = ["CRITERIA", "OpinionPages", "own_recommendation", "summary"]

#: The criteria a recommendation may judge, with their labels.
CRITERIA = (
    ("quality", N_("Quality")),
    ("service", N_("Service")),
    ("ethical", N_("Ethics")),
    ("financial", N_("Prices")),
    ("commercial", N_("Sales practices")),
)
DONE = {"recommended": N_("Thank you. Your opinion counts once enough citizens have given theirs.")}


def _services() -> Any:
    return optional_module("company_profiles.recommendations.services")


async def summary(db: AsyncSession, company_id: int, k: int) -> Any:
    """The published summary, or None when the package is absent."""
    services = _services()
    if services is None:
        return None
    return await services.recommendation_summary(db, company_id, k=k)


async def own_recommendation(db: AsyncSession, citizen_id: int, company_id: int) -> Any:
    services = _services()
    if services is None:
        return None
    try:
        return await services.get_recommendation(db, citizen_id=citizen_id, company_id=company_id)
    except NotFound:
        return None


def available() -> bool:
    return _services() is not None


class OpinionPages(Controller):
    path = "/me/recommendations"
    include_in_schema = False

    @post("/{company_id:int}")
    async def recommend(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None, company_id: int
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        services = _services()
        if services is None:
            raise NotFound()
        from company_profiles.recommendations.schemas import Criteria, RecommendationIn

        form = await form_dict(request)
        criteria = {
            key: {"yes": True, "no": False}.get(form.get(f"criterion.{key}", "")) for key, _ in CRITERIA
        }
        data = RecommendationIn(
            recommend=form.get("recommend") == "yes",
            criteria=Criteria(**criteria),
            text=(form.get("text") or "").strip()[:280] or None,
        )
        await services.recommend(db, citizen_id=citizen.id, company_id=company_id, data=data)
        back = form.get("back", "")
        target = back if back.startswith("/me/companies/") and back[14:].isdigit() else "/me/companies"
        return redirect(f"{target}?done=recommended")
