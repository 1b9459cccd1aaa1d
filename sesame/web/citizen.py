"""The citizen's pages: the Sésame card, fields, companies (accounts, grants, requests), access log, settings,
export and erasure. Every action is a form post (CSRF-checked) that calls ``vault.services`` and redirects."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from company_profiles import catalogue as indicator_catalogue
from company_profiles import services as profiles
from company_profiles.errors import CompanyNotFound
from company_profiles.schemas import CompanyProfile
from sesame.accounts.services import Principal
from sesame.errors import InvalidInput, NotFound
from sesame.keys import KeyRing
from sesame.settings import Settings
from sesame.web.forms import end_of_day, first_values, form_dict, form_id, form_lists, redirect
from sesame.web.i18n import LOCALES, N_, translator_for
from sesame.web.indicators import badge_for, label, show_value
from sesame.web.opinions import CRITERIA, own_recommendation
from sesame.web.opinions import available as opinions_available
from sesame.web.rendering import page, request_locale
from sesame.web.session import logout_cookie, require
from vault import catalogue as field_catalogue
from vault import services as vault

__all__ = ["CitizenPages", "field_label"]

Id = Annotated[int, Parameter(ge=1, le=2_147_483_647)]

DONE = {
    "field-saved": N_("Saved. The previous value is kept in the field's history."),
    "field-deleted": N_("The field and all its versions are deleted."),
    "accepted": N_("Account opened. The company can now ask for fields; it reads only what you grant."),
    "declined": N_("Request declined. The company cannot read anything."),
    "closed": N_("Account closed. Its grants are withdrawn."),
    "granted": N_("Grant given. You can withdraw it at any time."),
    "withdrawn": N_("Grant withdrawn. The company cannot read these fields any more."),
    "request-decided": N_("Your answer was sent to the company."),
    "recommended": N_("Thank you. Your opinion counts once enough citizens have given theirs."),
    "settings": N_("Settings saved."),
}
WELCOME = N_(
    "Welcome! Your Sésame is ready. Add the fields you want to keep here; nothing is shared until you say so."
)
ERASE_MISMATCH = N_("Type your email address exactly to confirm.")
ERASE_UNCHECKED = N_("Tick the box to confirm that you understand.")
GRANT_NO_FIELDS = N_("Choose at least one field to grant.")
GRANT_PURPOSE = N_("Say what the company may use these fields for (3 to 500 characters).")
GRANT_EXPIRY = N_("Choose an end date in the future, within ten years.")


def field_label(name: str, lang: str) -> str:
    spec = field_catalogue.CATALOGUE.get(name)
    if spec is not None:
        return spec.label_fr if lang == "fr" else spec.label_en
    if name.startswith(field_catalogue.CUSTOM_PREFIX):
        return name[len(field_catalogue.CUSTOM_PREFIX) :].replace("-", " ").replace("_", " ").capitalize()
    return name


def show_field(value: Any) -> str:
    if isinstance(value, dict):
        parts = [
            value.get("street"),
            value.get("postal_code"),
            value.get("city"),
            value.get("region"),
            value.get("country"),
        ]
        return ", ".join(str(p) for p in parts if p)
    return "" if value is None else str(value)


def _reasons(exc: InvalidInput) -> dict[str, str]:
    """Field-level reasons keyed by the last part of their path (``body.value.city`` → ``city``)."""
    out: dict[str, str] = {}
    for error in exc.errors:
        out.setdefault(error.field.rsplit(".", 1)[-1], error.reason)
    return out


async def _profiles(db: AsyncSession, company_ids: set[int]) -> dict[int, CompanyProfile]:
    found: dict[int, CompanyProfile] = {}
    for company_id in sorted(company_ids):
        try:
            found[company_id] = await profiles.public_profile(db, company_id)
        except CompanyNotFound:
            continue
    return found


def _company_name(found: dict[int, CompanyProfile], company_id: int) -> str:
    profile = found.get(company_id)
    return profile.legal_name if profile else f"#{company_id}"


def _highlight_views(profile: CompanyProfile, keys: list[str], lang: str) -> list[dict[str, Any]]:
    t = translator_for(lang)
    views = {v.key: v for v in profile.indicators}
    rows = []
    for key in keys:
        view = views.get(key)
        if view is None:
            continue
        style, text = badge_for(view.state.value)
        rows.append(
            {
                "label": label(key, lang),
                "shown": show_value(key, view.value, view.unit, lang) if view.disclosed else None,
                "badge_style": style,
                "badge_text": t.gettext(text),
            }
        )
    return rows


class CitizenPages(Controller):
    path = "/me"
    include_in_schema = False

    # -- overview and card ---------------------------------------------------------------------------------
    @get("/")
    async def overview(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        welcome: bool = False,
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        view = await vault.overview(db, account_id=citizen.id)
        pending_accounts = [a for a in view.accounts if a.state == "requested"]
        pending_requests = [
            q for q in await vault.list_requests(db, account_id=citizen.id) if q.state == "requested"
        ]
        now = datetime.now(UTC)
        live_grants = [g for g in view.grants if vault.grant_state(g, now) == "given"]
        return page(
            request,
            "citizen/overview.html",
            viewer=citizen,
            sesame_id=view.vault.sesame_id,
            field_count=len(view.field_names),
            open_accounts=sum(1 for a in view.accounts if a.state == "open"),
            pending=len(pending_accounts) + len(pending_requests),
            live_grants=len(live_grants),
            welcome=WELCOME if welcome else None,
        )

    @get("/card")
    async def card(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        view = await vault.overview(db, account_id=citizen.id)
        return page(request, "citizen/card.html", viewer=citizen, sesame_id=view.vault.sesame_id)

    # -- fields -----------------------------------------------------------------------------------------------
    @get("/fields")
    async def fields(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        keys: KeyRing,
        viewer: Principal | None,
        done: str | None = None,
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        return await self._fields_page(request, db, keys, citizen, done=DONE.get(done or ""))

    async def _fields_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        keys: KeyRing,
        citizen: Principal,
        *,
        done: str | None = None,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        lang = request_locale(request)
        current = await vault.get_fields(db, keys, account_id=citizen.id)
        rows = [
            {
                "name": f.name,
                "label": field_label(f.name, lang),
                "shown": show_field(f.value),
                "version": f.version,
                "updated_at": f.updated_at,
            }
            for f in current
        ]
        choices = [
            (name, field_label(name, lang), spec.kind) for name, spec in field_catalogue.CATALOGUE.items()
        ]
        return page(
            request,
            "citizen/fields.html",
            viewer=citizen,
            status_code=status_code,
            rows=rows,
            choices=choices,
            done=done,
            errors=errors or {},
            values=values or {},
        )

    @post("/fields")
    async def set_field(
        self, request: Request[Any, Any, Any], db: AsyncSession, keys: KeyRing, viewer: Principal | None
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        form = await form_dict(request)
        name = form.get("name", "")
        if name == "custom":
            slug = form.get("custom_name", "").strip().lower().replace(" ", "-")
            name = field_catalogue.CUSTOM_PREFIX + slug
        value: Any = form.get("value", "")
        if name == "postal_address":
            value = {
                k: form.get(k, "") for k in ("street", "postal_code", "city", "country") if form.get(k, "")
            }
            if form.get("region"):
                value["region"] = form["region"]
        try:
            if not field_catalogue.is_valid_name(name):
                raise InvalidInput.one(
                    "body.name", "choose a field, or give your own field a short name (letters, digits, -)"
                )
            await vault.set_field(db, keys, account_id=citizen.id, name=name, value=value)
        except InvalidInput as exc:
            return await self._fields_page(
                request, db, keys, citizen, errors=_reasons(exc), values=form, status_code=422
            )
        return redirect("/me/fields?done=field-saved")

    @post("/fields/{name:str}/delete")
    async def delete_field(self, db: AsyncSession, viewer: Principal | None, name: str) -> Response[Any]:
        citizen = require(viewer, "citizen")
        await vault.delete_field(db, account_id=citizen.id, name=name)
        return redirect("/me/fields?done=field-deleted")

    # -- companies: accounts, grants, requests ------------------------------------------------------------------
    @get("/companies")
    async def companies(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        done: str | None = None,
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        lang = request_locale(request)
        accounts = await vault.list_company_accounts(db, account_id=citizen.id)
        requests = await vault.list_requests(db, account_id=citizen.id)
        settings = await vault.citizen_settings(db, citizen.id)
        found = await _profiles(db, {a.company_id for a in accounts} | {q.company_id for q in requests})
        highlight_keys = list(
            dict.fromkeys([*settings.highlights, "employee_satisfaction", "carbon_footprint_per_employee"])
        )[:4]
        pending = []
        for account in accounts:
            if account.state != "requested":
                continue
            profile = found.get(account.company_id)
            pending.append(
                {
                    "account": account,
                    "profile": profile,
                    "name": _company_name(found, account.company_id),
                    "highlights": _highlight_views(profile, highlight_keys, lang) if profile else [],
                    "changed": profile is not None and profile.version != account.civil_status_version,
                }
            )
        return page(
            request,
            "citizen/companies.html",
            viewer=citizen,
            pending=pending,
            open_accounts=[(a, _company_name(found, a.company_id)) for a in accounts if a.state == "open"],
            past_accounts=[
                (a, _company_name(found, a.company_id)) for a in accounts if a.state in ("declined", "closed")
            ],
            requests=[
                (q, _company_name(found, q.company_id), [(f, field_label(f, lang)) for f in q.fields])
                for q in requests
                if q.state == "requested"
            ],
            done=DONE.get(done or ""),
        )

    @get("/companies/{account_id:int}")
    async def company(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        account_id: Id,
        done: str | None = None,
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        return await self._company_page(request, db, citizen, account_id, done=DONE.get(done or ""))

    async def _company_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        citizen: Principal,
        account_id: int,
        *,
        done: str | None = None,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        lang = request_locale(request)
        accounts = await vault.list_company_accounts(db, account_id=citizen.id)
        account = next((a for a in accounts if a.id == account_id), None)
        if account is None:
            raise NotFound()
        found = await _profiles(db, {account.company_id})
        profile = found.get(account.company_id)
        now = datetime.now(UTC)
        grants = [
            {
                "grant": g,
                "state": vault.grant_state(g, now),
                "fields": [field_label(f, lang) for f in g.fields],
            }
            for g in await vault.list_grants(db, account_id=citizen.id)
            if g.company_account_id == account_id
        ]
        view = await vault.overview(db, account_id=citizen.id)
        settings = await vault.citizen_settings(db, citizen.id)
        keys = list(dict.fromkeys([*settings.highlights, *indicator_catalogue.MANDATORY_KEYS]))
        default_expiry = (now + timedelta(days=365)).date().isoformat()
        mine = (
            await own_recommendation(db, citizen.id, account.company_id) if account.state == "open" else None
        )
        return page(
            request,
            "citizen/company.html",
            viewer=citizen,
            status_code=status_code,
            account=account,
            profile=profile,
            name=_company_name(found, account.company_id),
            highlights=_highlight_views(profile, keys, lang) if profile else [],
            grants=grants,
            field_choices=[(n, field_label(n, lang)) for n in view.field_names],
            done=done,
            errors=errors or {},
            values=values or {"expires_on": default_expiry, "fields": []},
            min_date=(now + timedelta(days=1)).date().isoformat(),
            can_recommend=account.state == "open" and opinions_available(),
            mine=mine,
            criteria=CRITERIA,
        )

    @post("/companies/{account_id:int}/{action:str}")
    async def decide_account(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        account_id: Id,
        action: str,
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        if action not in ("accept", "decline", "close"):
            raise NotFound()
        form = await form_dict(request)
        shown = form.get("shown_version", "")
        await vault.decide_company_account(
            db,
            account_id=citizen.id,
            company_account_id=account_id,
            action=action,
            shown_version=form_id(shown) or None,
        )
        word = {"accept": "accepted", "decline": "declined", "close": "closed"}[action]
        target = f"/me/companies/{account_id}" if action == "accept" else "/me/companies"
        return redirect(f"{target}?done={word}")

    @post("/grants")
    async def give_grant(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        form = await form_lists(request)
        first = first_values(form)
        account_text = first.get("company_account_id", "")
        account_id = form_id(account_text)
        fields = form.get("fields", [])
        purpose = " ".join(first.get("purpose", "").split())
        errors: dict[str, str] = {}
        if not fields:
            errors["fields"] = GRANT_NO_FIELDS
        if not 3 <= len(purpose) <= 500:
            errors["purpose"] = GRANT_PURPOSE
        try:
            expires = end_of_day(first.get("expires_on", ""))
        except ValueError:
            errors["expires_on"] = GRANT_EXPIRY
        values = {"fields": fields, "purpose": purpose, "expires_on": first.get("expires_on", "")}
        if not errors:
            try:
                await vault.give_grant(
                    db,
                    account_id=citizen.id,
                    company_account_id=account_id,
                    fields=fields,
                    purpose=purpose,
                    expires_at=expires,
                )
            except InvalidInput as exc:
                reasons = _reasons(exc)
                if "expires_at" in reasons:
                    errors["expires_on"] = GRANT_EXPIRY
                if not errors:
                    errors["fields"] = next(iter(reasons.values()))
        if errors:
            return await self._company_page(
                request, db, citizen, account_id, errors=errors, values=values, status_code=422
            )
        return redirect(f"/me/companies/{account_id}?done=granted")

    @post("/grants/{grant_id:int}/withdraw")
    async def withdraw_grant(self, db: AsyncSession, viewer: Principal | None, grant_id: Id) -> Response[Any]:
        citizen = require(viewer, "citizen")
        grant = await vault.withdraw_grant(db, account_id=citizen.id, grant_id=grant_id)
        return redirect(f"/me/companies/{grant.company_account_id}?done=withdrawn")

    @post("/requests/{request_id:int}")
    async def decide_request(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None, request_id: Id
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        form = await form_lists(request)
        approve = form.get("approve", []) if form.get("decision", ["approve"])[0] == "approve" else []
        await vault.decide_request(db, account_id=citizen.id, request_id=request_id, approve=approve)
        return redirect("/me/companies?done=request-decided")

    # -- access log -----------------------------------------------------------------------------------------------
    @get("/log")
    async def log(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        lang = request_locale(request)
        receipts = await vault.list_receipts(db, account_id=citizen.id, limit=100)
        found = await _profiles(db, {r.company_id for r in receipts})
        rows = [
            {
                "receipt": r,
                "company": _company_name(found, r.company_id),
                "fields": [field_label(f, lang) for f in r.fields],
            }
            for r in receipts
        ]
        return page(request, "citizen/log.html", viewer=citizen, rows=rows)

    # -- settings, export, erasure ----------------------------------------------------------------------------
    @get("/settings")
    async def settings_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        done: str | None = None,
    ) -> Response[str]:
        citizen = require(viewer, "citizen")
        lang = request_locale(request)
        current = await vault.citizen_settings(db, citizen.id)
        indicators = [
            (key, label(key, lang))
            for key, ind in indicator_catalogue.CATALOGUE.items()
            if ind.kind.value in ("number", "percent")
        ]
        return page(
            request,
            "citizen/settings.html",
            viewer=citizen,
            current=current,
            indicators=indicators,
            done=DONE.get(done or ""),
        )

    @post("/settings")
    async def save_settings(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        form = await form_lists(request)
        language = (form.get("language") or ["fr"])[0]
        highlights = [k for k in form.get("highlights", []) if indicator_catalogue.is_known(k)][:5]
        await vault.update_settings(
            db,
            account_id=citizen.id,
            contactless=(form.get("contactless") or [""])[0] == "on",
            highlights=highlights,
            language=language if language in LOCALES else "fr",
        )
        return redirect("/me/settings?done=settings")

    @get("/export")
    async def export(self, db: AsyncSession, keys: KeyRing, viewer: Principal | None) -> Response[bytes]:
        citizen = require(viewer, "citizen")
        body = await vault.export_vault(db, keys, account_id=citizen.id)
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        return Response(
            json.dumps(body, indent=2, ensure_ascii=False, default=str).encode(),
            media_type="application/json",
            headers={
                "Cache-Control": "no-store",
                "Content-Disposition": f'attachment; filename="sesame-export-{stamp}.json"',
            },
        )

    @get("/erase")
    async def erase_form(self, request: Request[Any, Any, Any], viewer: Principal | None) -> Response[str]:
        citizen = require(viewer, "citizen")
        return page(request, "citizen/erase.html", viewer=citizen, error=None)

    @post("/erase")
    async def erase(
        self, request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, viewer: Principal | None
    ) -> Response[Any]:
        citizen = require(viewer, "citizen")
        form = await form_dict(request)
        error = None
        if form.get("understood") != "on":
            error = ERASE_UNCHECKED
        elif form.get("email", "").strip().lower() != citizen.email.lower():
            error = ERASE_MISMATCH
        if error:
            return page(request, "citizen/erase.html", viewer=citizen, error=error, status_code=422)
        await vault.erase_vault(db, account_id=citizen.id)
        return redirect("/erased", cookies=[logout_cookie(settings)])
