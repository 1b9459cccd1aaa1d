"""Offers and interest segments: the citizen's inbox (read, dismiss, mute a company) and segment opt-in/out with
an optional offers zone; the company's page to send an offer to a segment (and a zone), learning only how many
citizens got it, or "fewer than k".

Thin pages over ``vault.sharing.services``: who is reached and what the company may learn is decided there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from company_profiles import services as profiles
from company_profiles.errors import CompanyNotFound
from sesame.accounts.services import Principal
from sesame.errors import InvalidInput
from sesame.settings import Settings
from sesame.web.forms import end_of_day, first_values, form_lists, redirect
from sesame.web.i18n import N_
from sesame.web.rendering import page, request_locale
from sesame.web.session import require
from vault.sharing import services as sharing
from vault.sharing.schemas import OfferIn, SegmentsIn

__all__ = ["CompanyOfferPages", "OfferPages", "segment_choices"]

Id = Annotated[int, Parameter(ge=1, le=2_147_483_647)]

DONE = {
    "segments": N_("Your interests are saved. Only companies you have an account with can reach you."),
    "dismissed": N_("Offer removed from your list."),
    "muted": N_("Company muted: you will receive no more offers from it."),
    "unmuted": N_("Company unmuted."),
}
OFFER_DATE = N_("Choose a last day in the future, within a year.")
OFFER_REQUIRED = N_("This field is required.")


def segment_choices(lang: str) -> list[tuple[str, str]]:
    return [(s.key, s.label_fr if lang == "fr" else s.label_en) for s in sharing.segment_catalogue()]


def _reasons(exc: InvalidInput) -> dict[str, str]:
    return {error.field.rsplit(".", 1)[-1]: error.reason for error in exc.errors}


async def _names(db: AsyncSession, company_ids: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for company_id in sorted(company_ids):
        try:
            names[company_id] = (await profiles.public_profile(db, company_id)).legal_name
        except CompanyNotFound:
            names[company_id] = f"#{company_id}"
    return names


class OfferPages(Controller):
    path = "/me/offers"
    include_in_schema = False

    @get("/")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        done: str | None = None,
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        return await self._inbox_page(request, db, citizen, done=DONE.get(done or ""))

    async def _inbox_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        citizen: Principal,
        *,
        done: str | None = None,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        mine = await sharing.get_segments(db, citizen_id=citizen.id)
        return page(
            request,
            "citizen/offers.html",
            viewer=citizen,
            status_code=status_code,
            offers=await sharing.received_offers(db, citizen_id=citizen.id),
            mine=mine,
            muted=sorted((await _names(db, set(mine.muted_companies))).items(), key=lambda kv: kv[1]),
            segments=segment_choices(request_locale(request)),
            done=done,
            errors=errors or {},
            values=values or {"segments": mine.segments, "zone": mine.zone or ""},
        )

    @post("/segments")
    async def set_segments(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        form = await form_lists(request)
        chosen = form.get("segments", [])[:50]
        zone = (form.get("zone") or [""])[0].strip()[:12]
        try:
            await sharing.set_segments(
                db, citizen_id=citizen.id, data=SegmentsIn(segments=chosen, zone=zone or None)
            )
        except InvalidInput as exc:
            return await self._inbox_page(
                request,
                db,
                citizen,
                errors=_reasons(exc),
                values={"segments": chosen, "zone": zone},
                status_code=422,
            )
        return redirect("/me/offers?done=segments")

    @post("/{offer_id:int}/dismiss")
    async def dismiss(self, db: AsyncSession, viewer: Principal | None, offer_id: Id) -> Response[Any]:
        citizen = require(viewer, "citizen")
        await sharing.dismiss_offer(db, citizen_id=citizen.id, offer_id=offer_id)
        return redirect("/me/offers?done=dismissed")

    @post("/mutes/{company_id:int}")
    async def mute(self, db: AsyncSession, viewer: Principal | None, company_id: Id) -> Response[Any]:
        citizen = require(viewer, "citizen")
        await sharing.mute_company(db, citizen_id=citizen.id, company_id=company_id)
        return redirect("/me/offers?done=muted")

    @post("/mutes/{company_id:int}/unmute")
    async def unmute(self, db: AsyncSession, viewer: Principal | None, company_id: Id) -> Response[Any]:
        citizen = require(viewer, "citizen")
        await sharing.unmute_company(db, citizen_id=citizen.id, company_id=company_id)
        return redirect("/me/offers?done=unmuted")


class CompanyOfferPages(Controller):
    path = "/company/offers"
    include_in_schema = False

    @get("/")
    async def offers(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        sent: int | None = Parameter(default=None, ge=1, le=2_147_483_647),
    ) -> Response[str]:
        company = require(viewer, "company")
        return await self._offers_page(request, db, settings, company, sent=sent)

    async def _offers_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        company: Principal,
        *,
        sent: int | None = None,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        offers = await sharing.company_offers(db, principal_id=company.id, k=settings.k_anonymity)
        lang = request_locale(request)
        today = datetime.now(UTC).date()
        return page(
            request,
            "company/offers.html",
            viewer=company,
            status_code=status_code,
            offers=offers,
            sent=next((o for o in offers if o.id == sent), None),
            segments=segment_choices(lang),
            segment_names=dict(segment_choices(lang)),
            errors=errors or {},
            values=values or {"valid_until": (today + timedelta(days=14)).isoformat()},
            min_date=(today + timedelta(days=1)).isoformat(),
            k=settings.k_anonymity,
        )

    @post("/")
    async def send(
        self, request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, viewer: Principal | None
    ) -> Response[Any]:
        company = require(viewer, "company")
        form = first_values(await form_lists(request))
        values = {k: form.get(k, "").strip() for k in ("segment", "zone", "title", "body", "valid_until")}
        errors: dict[str, str] = {}
        try:
            valid_until = end_of_day(values["valid_until"])
        except ValueError:
            errors["valid_until"] = OFFER_DATE
        for name in ("segment", "title", "body"):
            if not values[name]:
                errors[name] = OFFER_REQUIRED
        if not errors:
            try:
                offer = await sharing.send_offer(
                    db,
                    principal_id=company.id,
                    data=OfferIn(
                        segment=values["segment"][:32],
                        zone=values["zone"][:12] or None,
                        title=values["title"][:120],
                        body=values["body"][:2000],
                        valid_until=valid_until,
                    ),
                    k=settings.k_anonymity,
                )
                return redirect(f"/company/offers?sent={offer.id}")
            except InvalidInput as exc:
                errors = _reasons(exc)
                if "valid_until" in errors:
                    errors["valid_until"] = OFFER_DATE
            except ValidationError:
                errors["title"] = OFFER_REQUIRED
        return await self._offers_page(
            request, db, settings, company, errors=errors, values=values, status_code=422
        )
