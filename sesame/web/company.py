"""The company's pages: registration, the civil-status form driven by the indicator catalogue, attestation
status, products with their QR codes and a label sheet, customers' Sésames, and the till."""

from __future__ import annotations

import math
import secrets
from datetime import UTC, date, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from company_profiles import catalogue
from company_profiles import services as profiles
from company_profiles.catalogue import CATALOGUE, Indicator, IndicatorKind
from company_profiles.schemas import CivilStatusFiling, CompanyRef, CompanyRegistration, IndicatorInput
from scanner import services as products
from scanner.checkout import services as checkouts
from scanner.checkout.schemas import CheckoutCreate, checkout_out
from scanner.checkout.worker import runtime_for
from scanner.schemas import ProductIn
from sesame.accounts.services import Principal
from sesame.errors import InvalidInput, SesameError
from sesame.keys import KeyRing
from sesame.models import utcnow
from sesame.settings import Settings
from sesame.web.citizen import field_label
from sesame.web.forms import form_dict, redirect
from sesame.web.i18n import N_, translator_for
from sesame.web.indicators import badge_for, label, show_value
from sesame.web.rendering import page, request_locale
from sesame.web.session import require
from vault import services as vault
from vault.catalogue import CATALOGUE as FIELDS

__all__ = ["CompanyPages", "sesame_id_from"]

DONE = {
    "registered": N_(
        "Company registered: version 1 of your civil status is filed. Ask a verifier to attest it."
    ),
    "filed": N_("New version filed. It is in the public ledger; previous versions stay readable."),
    "product": N_("Product registered. Download its QR code or print the label sheet."),
    "account-requested": N_("Request sent. The customer decides on their phone."),
    "fields-requested": N_("Request sent. The customer approves field by field."),
}
NOT_A_NUMBER = N_("Enter a number, like 64 or 12.5.")
REQUIRED = N_("This field is required.")
NOT_ATTESTED = N_(
    "Your mandatory indicators must all be attested before you can open accounts on customers' Sésames."
)
SCHEMES = (("siren", "SIREN"), ("siret", "SIRET"), ("vat", N_("EU VAT number")), ("lei", "LEI"))

Id = Annotated[int, Parameter(ge=1, le=2_147_483_647)]


def sesame_id_from(text: str) -> str:
    """A Sésame id from what was typed or scanned: the id itself or its card URL ``.../s/<id>``."""
    value = text.strip()
    if "/s/" in value:
        value = value.rsplit("/s/", 1)[1]
    return value.split("?", 1)[0].split("#", 1)[0].strip("/ ")


def _reasons(exc: InvalidInput) -> dict[str, str]:
    return {error.field: error.reason for error in exc.errors}


def _pydantic_reasons(exc: ValidationError, prefix: str = "body") -> dict[str, str]:
    out: dict[str, str] = {}
    for item in exc.errors():
        path = ".".join(str(p) for p in item["loc"])
        out.setdefault(f"{prefix}.{path}" if path else prefix, str(item["msg"]).removeprefix("Value error, "))
    return out


def _parse_value(indicator: Indicator, text: str) -> Any:
    """A form's text as the JSON scalar the catalogue expects (numbers parsed; ``12,5`` means 12.5)."""
    if indicator.kind in (IndicatorKind.number, IndicatorKind.percent):
        compact = text.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
        number = float(compact)
        if not math.isfinite(number):
            raise ValueError(text)
        return int(number) if number.is_integer() else number
    return text


def _input_attrs(indicator: Indicator) -> dict[str, str]:
    if indicator.kind in (IndicatorKind.number, IndicatorKind.percent):
        attrs = {"inputmode": "decimal"}
        return attrs
    if indicator.kind is IndicatorKind.date:
        return {"type": "date"}
    return {}


async def _own_company(db: AsyncSession, company: Principal) -> CompanyRef | None:
    return await profiles.company_for_account(db, company.id)


async def _registered(db: AsyncSession, company: Principal) -> CompanyRef:
    ref = await _own_company(db, company)
    if ref is None:
        raise SesameError("register your company first")
    return ref


class CompanyPages(Controller):
    path = "/company"
    include_in_schema = False

    # -- dashboard and registration -------------------------------------------------------------------------
    @get("/")
    async def home(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        done: str | None = None,
    ) -> Response[str]:
        company = require(viewer, "company")
        ref = await _own_company(db, company)
        if ref is None:
            return self._register_page(
                request,
                company,
                values={"country": "FR", "tax_residence": "FR", "registration_scheme": "siren"},
            )
        lang = request_locale(request)
        t = translator_for(lang)
        profile = await profiles.public_profile(db, ref.id)
        rows = []
        for view in profile.indicators:
            if not view.disclosed:
                continue
            style, text = badge_for(view.state.value)
            rows.append(
                {
                    "label": label(view.key, lang),
                    "shown": show_value(view.key, view.value, view.unit, lang),
                    "badge_style": style,
                    "badge_text": t.gettext(text),
                    "view": view,
                }
            )
        return page(
            request,
            "company/home.html",
            viewer=company,
            profile=profile,
            rows=rows,
            done=DONE.get(done or ""),
            gaps=[label(k, lang) for k in profile.mandatory_gaps],
        )

    def _register_page(
        self,
        request: Request[Any, Any, Any],
        company: Principal,
        *,
        values: dict[str, str],
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        return page(
            request,
            "company/register.html",
            viewer=company,
            values=values,
            errors=errors or {},
            schemes=SCHEMES,
            status_code=status_code,
        )

    @post("/register")
    async def register(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None
    ) -> Response[Any]:
        company = require(viewer, "company")
        form = await form_dict(request)
        names = (
            "legal_name",
            "country",
            "registration_scheme",
            "registration_id",
            "founding_date",
            "tax_residence",
            "sector",
            "registered_address",
        )
        values = {name: form.get(name, "").strip() for name in names}
        try:
            registration = CompanyRegistration(
                **{
                    **values,
                    "country": values["country"].upper(),
                    "tax_residence": values["tax_residence"].upper(),
                }  # type: ignore[arg-type]
            )
            await profiles.register_company(db, account_id=company.id, registration=registration)
        except ValidationError as exc:
            errors = {k.removeprefix("body."): v for k, v in _pydantic_reasons(exc).items()}
            return self._register_page(request, company, values=values, errors=errors, status_code=422)
        except InvalidInput as exc:
            errors = {k.removeprefix("body."): v for k, v in _reasons(exc).items()}
            return self._register_page(request, company, values=values, errors=errors, status_code=422)
        return redirect("/company?done=registered")

    # -- civil status ---------------------------------------------------------------------------------------------
    @get("/civil-status")
    async def civil_status(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None
    ) -> Response[str]:
        company = require(viewer, "company")
        ref = await _registered(db, company)
        detail = await profiles.version_detail(db, ref.id, ref.current_version)
        values: dict[str, dict[str, str]] = {}
        for key, content in detail.indicators.items():
            values[key] = {
                "value": "" if content.get("value") is None else str(content["value"]),
                "period": str(content.get("period") or ""),
                "method": str(content.get("method") or ""),
                "source": str(content.get("source") or ""),
            }
        return self._civil_status_page(request, company, ref, values=values)

    def _civil_status_page(
        self,
        request: Request[Any, Any, Any],
        company: Principal,
        ref: CompanyRef,
        *,
        values: dict[str, dict[str, str]],
        errors: dict[str, dict[str, str]] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        lang = request_locale(request)
        t = translator_for(lang)
        groups: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
        for key, indicator in CATALOGUE.items():
            hint_parts = []
            if indicator.unit:
                hint_parts.append(t.gettext("Unit: %(unit)s", unit=t.gettext(indicator.unit)))
            if indicator.minimum is not None and indicator.maximum is not None:
                hint_parts.append(
                    t.gettext(
                        "from %(min)s to %(max)s",
                        min=show_value("", indicator.minimum, None, lang),
                        max=show_value("", indicator.maximum, None, lang),
                    )
                )
            if indicator.integer:
                hint_parts.append(t.gettext("whole number"))
            if indicator.description:
                hint_parts.append(indicator.description)
            groups[indicator.mandatory].append(
                {
                    "key": key,
                    "label": label(key, lang),
                    "indicator": indicator,
                    "hint": " · ".join(hint_parts),
                    "attrs": _input_attrs(indicator),
                    "given": values.get(key, {}),
                    "errors": (errors or {}).get(key, {}),
                }
            )
        return page(
            request,
            "company/civil_status.html",
            viewer=company,
            status_code=status_code,
            ref=ref,
            mandatory=groups[True],
            optional=groups[False],
            has_errors=bool(errors),
        )

    @post("/civil-status")
    async def file(
        self, request: Request[Any, Any, Any], db: AsyncSession, viewer: Principal | None
    ) -> Response[Any]:
        company = require(viewer, "company")
        ref = await _registered(db, company)
        form = await form_dict(request)
        values: dict[str, dict[str, str]] = {}
        errors: dict[str, dict[str, str]] = {}
        indicators: dict[str, IndicatorInput] = {}
        for key, indicator in CATALOGUE.items():
            given = {
                part: form.get(f"{key}.{part}", "").strip()
                for part in ("value", "period", "method", "source")
            }
            values[key] = given
            if not given["value"]:
                if indicator.mandatory:
                    errors.setdefault(key, {})["value"] = REQUIRED
                continue
            try:
                value = _parse_value(indicator, given["value"])
            except ValueError:
                errors.setdefault(key, {})["value"] = NOT_A_NUMBER
                continue
            try:  # checked here too, so every field's error shows at once
                catalogue.normalise_value(indicator, value, today=date.today())
            except catalogue.IndicatorValueError as exc:
                errors.setdefault(key, {})["value"] = str(exc)
                continue
            indicators[key] = IndicatorInput(
                value=value,
                period=given["period"] or None,
                method=given["method"] or None,
                source=given["source"] or None,
            )
        if not errors:
            try:
                await profiles.file_civil_status(
                    db,
                    company_id=ref.id,
                    account_id=company.id,
                    filing=CivilStatusFiling(indicators=indicators),
                )
            except InvalidInput as exc:
                for error in exc.errors:
                    parts = error.field.split(".")  # body.indicators.<key>.<part>
                    if len(parts) >= 3 and parts[1] == "indicators":
                        part = parts[3] if len(parts) > 3 else "value"
                        errors.setdefault(parts[2], {})[part] = error.reason
                if not errors:
                    raise
        if errors:
            return self._civil_status_page(
                request, company, ref, values=values, errors=errors, status_code=422
            )
        return redirect("/company?done=filed")

    # -- products -----------------------------------------------------------------------------------------------
    @get("/products")
    async def product_list(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        done: str | None = None,
    ) -> Response[str]:
        company = require(viewer, "company")
        ref = await _registered(db, company)
        return await self._products_page(request, db, settings, company, ref, done=DONE.get(done or ""))

    async def _products_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        company: Principal,
        ref: CompanyRef,
        *,
        done: str | None = None,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        found = await products.list_products(db, ref.id, public_url=settings.public_url)
        return page(
            request,
            "company/products.html",
            viewer=company,
            status_code=status_code,
            items=found.items,
            done=done,
            values=values or {"country": "FR", "time_unit": "h"},
            errors=errors or {},
        )

    @post("/products")
    async def register_product(
        self, request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, viewer: Principal | None
    ) -> Response[Any]:
        company = require(viewer, "company")
        ref = await _registered(db, company)
        form = await form_dict(request)
        values = {k: v.strip() for k, v in form.items() if k != "_csrf_token"}
        card: dict[str, Any] = {}
        for name in ("brand", "description"):
            if values.get(name):
                card[name] = values[name]
        errors: dict[str, str] = {}

        def number(name: str) -> float | None:
            text = values.get(name, "").replace(",", ".")
            if not text:
                return None
            try:
                parsed = float(text)
            except ValueError:
                parsed = math.nan
            if not math.isfinite(parsed):  # "inf" and "nan" parse, but are no quantity
                errors[name] = NOT_A_NUMBER
                return None
            return parsed

        labour = number("labour_cost_share_pct")
        if labour is not None:
            card["labour_cost_share_pct"] = labour
        carbon = number("carbon_kg")
        if carbon is not None:
            card["carbon_footprint"] = {"value": carbon, "unit": "kg CO2e", "per": "unit"}
        hours = number("time_value")
        if hours is not None:
            card["manufacturing_time"] = {"value": hours, "unit": values.get("time_unit") or "h"}
        stock = number("stock")
        if stock is not None:
            card["stock"] = int(stock)
        if values.get("place_name"):
            place = {"name": values["place_name"], "country": (values.get("country") or "").upper()}
            if values.get("city"):
                place["city"] = values["city"]
            card["production_places"] = [place]
        if values.get("lot"):
            card["lots"] = [{"batch": values["lot"]}]
        if not errors:
            try:
                data = ProductIn(gtin=values.get("gtin", ""), name=values.get("name", ""), identity_card=card)  # type: ignore[arg-type]
                await products.register_product(
                    db, principal=company, company_id=ref.id, data=data, public_url=settings.public_url
                )
            except ValidationError as exc:
                errors.update(_form_errors(_pydantic_reasons(exc)))
            except InvalidInput as exc:
                errors.update(_form_errors(_reasons(exc)))
            except SesameError as exc:
                if exc.status != 409:
                    raise
                errors["gtin"] = exc.detail
        if errors:
            return await self._products_page(
                request, db, settings, company, ref, values=values, errors=errors, status_code=422
            )
        return redirect("/company/products?done=product")

    @get("/labels")
    async def labels(
        self, request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, viewer: Principal | None
    ) -> Response[str]:
        company = require(viewer, "company")
        ref = await _registered(db, company)
        found = await products.list_products(db, ref.id, public_url=settings.public_url, limit=200)
        return page(
            request, "company/labels.html", viewer=company, items=found.items, company_name=ref.legal_name
        )

    # -- customers: accounts on Sésames, requests, reads --------------------------------------------------------------
    @get("/customers")
    async def customers(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        sesame: Annotated[str | None, Parameter(max_length=200)] = None,
        done: str | None = None,
    ) -> Response[str]:
        company = require(viewer, "company")
        ref = await _registered(db, company)
        return await self._customers_page(
            request, db, company, ref, sesame_id_from(sesame or ""), done=DONE.get(done or "")
        )

    async def _customers_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        company: Principal,
        ref: CompanyRef,
        sesame_id: str,
        *,
        done: str | None = None,
        error: str | None = None,
        read: Any = None,
        status_code: int = 200,
    ) -> Response[str]:
        account = None
        if sesame_id:
            try:
                account = await vault.company_account_on(db, principal_id=company.id, sesame_id=sesame_id)
            except SesameError:
                account = None
        gaps = await profiles.mandatory_attestation_gaps(db, ref.id)
        lang = request_locale(request)
        return page(
            request,
            "company/customers.html",
            viewer=company,
            status_code=status_code,
            sesame_id=sesame_id,
            account=account,
            done=done,
            error=error,
            read=read,
            read_rows=[(field_label(k, lang), v) for k, v in (read.fields.items() if read else [])],
            can_open=not gaps,
            field_choices=[(name, field_label(name, lang)) for name in FIELDS],
        )

    @post("/customers/{action:str}")
    async def customer_action(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        keys: KeyRing,
        viewer: Principal | None,
        action: str,
    ) -> Response[Any]:
        company = require(viewer, "company")
        ref = await _registered(db, company)
        form = await form_dict(request)
        sesame_id = sesame_id_from(form.get("sesame", ""))
        try:
            if action == "open":
                await vault.request_company_account(db, principal_id=company.id, sesame_id=sesame_id)
                return redirect(f"/company/customers?sesame={sesame_id}&done=account-requested")
            if action == "request":
                lists = await request.form()
                fields = [v for v in lists.getall("fields") if isinstance(v, str)]
                await vault.request_fields(
                    db,
                    principal_id=company.id,
                    sesame_id=sesame_id,
                    fields=fields,
                    purpose=form.get("purpose", ""),
                )
                return redirect(f"/company/customers?sesame={sesame_id}&done=fields-requested")
            if action == "read":
                read = await vault.read_granted_fields(db, keys, principal_id=company.id, sesame_id=sesame_id)
                return await self._customers_page(request, db, company, ref, sesame_id, read=read)
        except SesameError as exc:
            if exc.status >= 500:
                raise
            return await self._customers_page(
                request, db, company, ref, sesame_id, error=exc.detail, status_code=exc.status
            )
        return redirect("/company/customers")

    # -- the till ---------------------------------------------------------------------------------------------------
    @get("/till")
    async def till(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        sesame: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> Response[str]:
        company = require(viewer, "company")
        values = {
            "sesame": sesame_id_from(sesame or ""),
            "amount": "",
            "currency": "EUR",
            "gtin": "",
            "quantity": "1",
        }
        return await self._till_page(request, db, settings, company, values=values)

    async def _till_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        company: Principal,
        *,
        values: dict[str, str],
        errors: dict[str, str] | None = None,
        error: str | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        ref = await _registered(db, company)
        found = await products.list_products(db, ref.id, public_url=settings.public_url, limit=200)
        return page(
            request,
            "company/till.html",
            viewer=company,
            status_code=status_code,
            values=values,
            errors=errors or {},
            error=error,
            items=found.items,
        )

    @post("/till")
    async def start_checkout(
        self, request: Request[Any, Any, Any], db: AsyncSession, settings: Settings, viewer: Principal | None
    ) -> Response[Any]:
        company = require(viewer, "company")
        form = await form_dict(request)
        values = {k: form.get(k, "").strip() for k in ("sesame", "amount", "currency", "gtin", "quantity")}
        runtime = runtime_for(request.app)
        quantity = int(values["quantity"]) if values["quantity"].isdigit() else 1
        try:
            data = CheckoutCreate(
                sesame_id=sesame_id_from(values["sesame"]),
                items=[{"gtin": values["gtin"], "quantity": quantity}],  # type: ignore[list-item]
                currency=values["currency"] or "EUR",
                amount=values["amount"].replace(",", "."),
            )
        except ValidationError as exc:
            errors: dict[str, str] = {}
            for path, reason in _pydantic_reasons(exc).items():
                name = path.removeprefix("body.").split(".")[0]
                errors.setdefault({"sesame_id": "sesame", "items": "gtin"}.get(name, name), reason)
            return await self._till_page(
                request, db, settings, company, values=values, errors=errors, status_code=422
            )
        try:
            caller = await checkouts.company_caller(db, runtime.parties, company.id)
            started = await checkouts.start_checkout(
                db,
                runtime.parties,
                caller,
                data,
                idempotency_key="web-" + secrets.token_urlsafe(16),
                ttl_seconds=settings.checkout_ttl_seconds,
                now=utcnow(),
            )
        except SesameError as exc:
            if exc.status >= 500:
                raise
            return await self._till_page(
                request, db, settings, company, values=values, error=exc.detail, status_code=exc.status
            )
        runtime.notifier.publish(started.events)
        return redirect(f"/company/till/{started.body['id']}")

    @get("/till/{checkout_id:str}")
    async def checkout(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        viewer: Principal | None,
        checkout_id: Annotated[str, Parameter(max_length=100)],
        fragment: bool = False,
    ) -> Response[str]:
        """The checkout as the till follows it; ``?fragment=1`` is the status block htmx polls until decided."""
        company = require(viewer, "company")
        runtime = runtime_for(request.app)
        caller = await checkouts.company_caller(db, runtime.parties, company.id)
        found = await checkouts.company_checkout(
            db, caller, checkout_id, notifier=runtime.notifier, now=utcnow()
        )
        out = checkout_out(found)
        template = "company/checkout_status.html" if fragment else "company/checkout.html"
        return page(request, template, viewer=company, checkout=out, now=datetime.now(UTC))


def _form_errors(reasons: dict[str, str]) -> dict[str, str]:
    """API field paths of a product (``body.identity_card.carbon_footprint.value``) → this form's inputs."""
    names = {
        "gtin": "gtin",
        "name": "name",
        "labour_cost_share_pct": "labour_cost_share_pct",
        "carbon_footprint": "carbon_kg",
        "manufacturing_time": "time_value",
        "stock": "stock",
        "production_places": "place_name",
        "lots": "lot",
        "brand": "brand",
        "description": "description",
    }
    out: dict[str, str] = {}
    for path, reason in reasons.items():
        parts = path.split(".")
        for part in parts:
            if part in names:
                out.setdefault(names[part], reason)
                break
            if part == "country":
                out.setdefault("country", reason)
                break
        else:
            out.setdefault("gtin", reason)
    return out
