"""The citizen's dossiers: compile one on a sector or a market (companies, own notes, recommend flags), share it
with another citizen by Sésame number or by an expiring link and its QR code, revoke a share, read the dossiers
received (with each company's *current* verified profile) and import one.

Thin pages over ``vault.sharing.services``: every rule (ownership, expiry, revocation, 404 for another
citizen's dossier) lives there; here forms become ``DossierIn`` / ``ShareIn`` and results become pages.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from company_profiles import services as profiles
from sesame.accounts.services import Principal
from sesame.errors import InvalidInput
from sesame.settings import Settings
from sesame.web.company import sesame_id_from
from sesame.web.forms import first_values, form_id, form_lists, redirect
from sesame.web.i18n import N_, translator_for
from sesame.web.indicators import badge_for, label, show_value
from sesame.web.rendering import page, request_locale
from sesame.web.session import require
from vault.sharing import services as sharing
from vault.sharing.errors import RecipientNotFound
from vault.sharing.schemas import DossierEntryIn, DossierEntryOut, DossierIn, SharedDossier, ShareIn

__all__ = ["DossierPages", "LinkSharePages", "ReceivedDossierPages", "dossier_in_from_form", "entry_views"]

Id = Annotated[int, Parameter(ge=1, le=2_147_483_647)]
Token = Annotated[str, Parameter(min_length=1, max_length=200)]

#: How many companies the "add a company" list offers (by name).
COMPANY_CHOICES = 200
#: Expiry choices of a link share, in hours (the service allows 1 to 2160).
LINK_HOURS = ((24, N_("1 day")), (168, N_("7 days")), (720, N_("30 days")))
DONE = {
    "created": N_("Dossier created. Add companies, your notes and whether you recommend them."),
    "saved": N_("Dossier saved."),
    "deleted": N_("Dossier deleted; its shares ended with it."),
    "shared": N_("Dossier shared. The other citizen finds it under “Shared with me”."),
    "revoked": N_("Share revoked: it no longer opens the dossier."),
    "imported": N_("A copy of the dossier is now among your dossiers."),
}
RECIPIENT_UNKNOWN = N_("No Sésame has this number. Check it with its holder.")
TITLE_REQUIRED = N_("Give the dossier a title (up to 200 characters).")


def _flag(text: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(text or "")


def dossier_in_from_form(form: dict[str, list[str]]) -> DossierIn:
    """The dossier a posted form describes: its entries in order, minus those ticked for removal, plus the
    company picked in "add a company". Raises pydantic's ``ValidationError`` for a blank title."""

    def first(name: str) -> str:
        return (form.get(name) or [""])[0]

    entries: list[DossierEntryIn] = []
    for text in form.get("entry", []):
        company_id = form_id(text)
        if not company_id or first(f"remove-{company_id}") == "on":
            continue
        entries.append(
            DossierEntryIn(
                company_id=company_id,
                note=first(f"note-{company_id}")[:2000] or None,
                recommend=_flag(first(f"recommend-{company_id}")),
            )
        )
    added = form_id(first("add_company"))
    if added and all(e.company_id != added for e in entries):
        entries.append(
            DossierEntryIn(
                company_id=added,
                note=first("add_note")[:2000] or None,
                recommend=_flag(first("add_recommend")),
            )
        )
    return DossierIn(
        title=first("title")[:200], sector=first("sector")[:100] or None, companies=entries[:200]
    )


def _figures(profile: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """The company's disclosed figures as the page shows them: label, value, verification badge."""
    t = translator_for(lang)
    rows = []
    for item in profile.get("indicators", []):
        if not item.get("disclosed"):
            continue
        style, text = badge_for(str(item.get("state", "self_declared")))
        rows.append(
            {
                "label": label(str(item["key"]), lang),
                "shown": show_value(str(item["key"]), item.get("value"), item.get("unit"), lang),
                "badge_style": style,
                "badge_text": t.gettext(text),
            }
        )
    return rows


def entry_views(entries: list[DossierEntryOut], lang: str) -> list[dict[str, Any]]:
    """Each company of a dossier with what the page shows of its current profile and recommendations."""
    rows = []
    for entry in entries:
        profile = entry.company or {}
        figures = _figures(profile, lang)
        rows.append(
            {
                "entry": entry,
                "name": profile.get("legal_name") or f"#{entry.company_id}",
                "exists": entry.company is not None,
                "score": profile.get("transparency_score"),
                "figures": figures,
                "verified": sum(1 for f in figures if f["badge_style"] == "ok"),
                "gaps": len(profile.get("mandatory_gaps") or []),
                "summary": entry.recommendations or {},
            }
        )
    return rows


def _reasons(exc: InvalidInput | ValidationError) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return {"title": TITLE_REQUIRED}
    out: dict[str, str] = {}
    for error in exc.errors:
        parts = error.field.split(".")
        key = "title" if parts[-1] == "title" else parts[-1] if len(parts) < 3 else "companies"
        out.setdefault(key, error.reason)
    return out


async def _company_choices(db: AsyncSession) -> list[tuple[int, str]]:
    listing = await profiles.list_companies(db, limit=COMPANY_CHOICES)
    return [(c.id, c.legal_name) for c in listing.items]


class DossierPages(Controller):
    path = "/me/dossiers"
    include_in_schema = False

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        done: str | None = None,
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        return await self._index_page(request, db, citizen, done=DONE.get(done or ""))

    async def _index_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        citizen: Principal,
        *,
        done: str | None = None,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        return page(
            request,
            "citizen/dossiers.html",
            viewer=citizen,
            status_code=status_code,
            dossiers=await sharing.list_dossiers(db, owner_id=citizen.id),
            received=await sharing.received_shares(db, recipient_id=citizen.id),
            done=done,
            errors=errors or {},
            values=values or {},
        )

    @post("/")
    async def create(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        form = await form_lists(request)
        try:
            created = await sharing.create_dossier(db, owner_id=citizen.id, data=dossier_in_from_form(form))
        except (InvalidInput, ValidationError) as exc:
            values = {k: v[0] for k, v in form.items() if v and k in ("title", "sector")}
            return await self._index_page(
                request, db, citizen, errors=_reasons(exc), values=values, status_code=422
            )
        return redirect(f"/me/dossiers/{created.id}?done=created")

    @get("/{dossier_id:int}")
    async def dossier(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        dossier_id: Id,
        done: str | None = None,
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        return await self._dossier_page(request, db, settings, citizen, dossier_id, done=DONE.get(done or ""))

    async def _dossier_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        citizen: Principal,
        dossier_id: int,
        *,
        done: str | None = None,
        errors: dict[str, str] | None = None,
        link: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        dossier = await sharing.get_dossier(
            db, owner_id=citizen.id, dossier_id=dossier_id, k=settings.k_anonymity
        )
        present = {e.company_id for e in dossier.companies}
        return page(
            request,
            "citizen/dossier.html",
            viewer=citizen,
            status_code=status_code,
            dossier=dossier,
            rows=entry_views(dossier.companies, request_locale(request)),
            shares=await sharing.list_shares(db, owner_id=citizen.id, dossier_id=dossier_id),
            choices=[(i, n) for i, n in await _company_choices(db) if i not in present],
            link_hours=LINK_HOURS,
            done=done,
            errors=errors or {},
            link=link,
        )

    @post("/{dossier_id:int}")
    async def save(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        dossier_id: Id,
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        form = await form_lists(request)
        try:
            await sharing.replace_dossier(
                db, owner_id=citizen.id, dossier_id=dossier_id, data=dossier_in_from_form(form)
            )
        except (InvalidInput, ValidationError) as exc:
            return await self._dossier_page(
                request, db, settings, citizen, dossier_id, errors=_reasons(exc), status_code=422
            )
        return redirect(f"/me/dossiers/{dossier_id}?done=saved")

    @post("/{dossier_id:int}/delete")
    async def delete(self, db: AsyncSession, viewer: Principal | None, dossier_id: Id) -> Response[Any]:
        citizen = require(viewer, "citizen")
        await sharing.delete_dossier(db, owner_id=citizen.id, dossier_id=dossier_id)
        return redirect("/me/dossiers?done=deleted")

    @post("/{dossier_id:int}/shares")
    async def share(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        dossier_id: Id,
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        form = first_values(await form_lists(request))
        if form.get("kind") == "link":
            hours = form_id(form.get("expires_in_hours")) or sharing.LINK_DEFAULT_HOURS
            created = await sharing.share_dossier(
                db,
                settings,
                owner_id=citizen.id,
                dossier_id=dossier_id,
                data=ShareIn(expires_in_hours=min(hours, 2160)),
            )
            # The token is shown this once (only its hash is kept): the page answers the post directly.
            link = {"url": created.url, "qr": created.qr_svg_url, "expires_at": created.expires_at}
            return await self._dossier_page(request, db, settings, citizen, dossier_id, link=link)
        sesame_id = sesame_id_from(form.get("sesame_id", ""))[:64]
        try:
            if not sesame_id:
                raise RecipientNotFound()
            await sharing.share_dossier(
                db, settings, owner_id=citizen.id, dossier_id=dossier_id, data=ShareIn(sesame_id=sesame_id)
            )
        except (RecipientNotFound, InvalidInput) as exc:
            reason = (
                RECIPIENT_UNKNOWN
                if isinstance(exc, RecipientNotFound)
                else next(iter(_reasons(exc).values()))
            )
            return await self._dossier_page(
                request, db, settings, citizen, dossier_id, errors={"sesame_id": reason}, status_code=422
            )
        return redirect(f"/me/dossiers/{dossier_id}?done=shared")

    @post("/{dossier_id:int}/shares/{share_id:int}/revoke")
    async def revoke(
        self, db: AsyncSession, viewer: Principal | None, dossier_id: Id, share_id: Id
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        await sharing.revoke_share(db, owner_id=citizen.id, dossier_id=dossier_id, share_id=share_id)
        return redirect(f"/me/dossiers/{dossier_id}?done=revoked")


def _shared_page(
    request: Request[Any, Any, Any], citizen: Principal, shared: SharedDossier, *, import_action: str
) -> Response[str]:
    """A dossier someone shared with this citizen (by Sésame ID or by link), with its import button."""
    return page(
        request,
        "citizen/shared_dossier.html",
        viewer=citizen,
        shared=shared,
        rows=entry_views(shared.companies, request_locale(request)),
        import_action=import_action,
    )


class ReceivedDossierPages(Controller):
    path = "/me/shared"
    include_in_schema = False

    @get("/{share_id:int}")
    async def read(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        share_id: Id,
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        shared = await sharing.shared_dossier(
            db, viewer_id=citizen.id, share_id=share_id, k=settings.k_anonymity
        )
        return _shared_page(request, citizen, shared, import_action=f"/me/shared/{share_id}/import")

    @post("/{share_id:int}/import")
    async def import_copy(
        self, db: AsyncSession, settings: Settings, viewer: Principal | None, share_id: Id
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        copy = await sharing.import_shared(
            db, viewer_id=citizen.id, share_id=share_id, k=settings.k_anonymity
        )
        return redirect(f"/me/dossiers/{copy.id}?done=imported")


class LinkSharePages(Controller):
    """A dossier shared by link or QR code: whoever holds the link opens it, once signed in as a citizen."""

    path = "/shared"
    include_in_schema = False

    @get("/{token:str}")
    async def read(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        token: Token,
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        shared = await sharing.shared_dossier(db, viewer_id=citizen.id, token=token, k=settings.k_anonymity)
        return _shared_page(request, citizen, shared, import_action=f"/shared/{token}/import")

    @post("/{token:str}/import")
    async def import_copy(
        self, db: AsyncSession, settings: Settings, viewer: Principal | None, token: Token
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        copy = await sharing.import_shared(db, viewer_id=citizen.id, token=token, k=settings.k_anonymity)
        return redirect(f"/me/dossiers/{copy.id}?done=imported")
