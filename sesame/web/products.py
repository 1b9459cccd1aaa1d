"""The product's identity card: the product page, the shopper's scanner page, and the resolver's HTML.

The card is the dict ``scanner.services.card_for_gtin`` returns (and ``POST /api/v1/scan`` answers); one
template (``partials/card.html``) shows it everywhere.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import MediaType
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from scanner import gs1, qr
from scanner import services as catalogue
from sesame.accounts.services import Principal
from sesame.errors import NotFound, SesameError
from sesame.modules import optional_module
from sesame.settings import Settings
from sesame.uploads import UploadController
from sesame.web.i18n import N_, translator_for
from sesame.web.indicators import badge_for, show_value
from sesame.web.rendering import base_context, page, render_to_string, request_locale
from sesame.web.session import csrf_token

__all__ = ["PhotoScanPage", "ProductPages", "card_context", "render_product_page"]

UNKNOWN_PRODUCT = N_("No product is registered under this code yet.")
NOT_A_CODE = N_("This is not a product code. Type the 8 to 14 digits under the barcode.")
NO_CODE_IN_PHOTO = N_("No barcode or QR code was found in this photo. Try closer, with more light.")
UNREADABLE_PHOTO = N_("This file could not be read as a photo.")
DURATION_UNITS = {"min": N_("minutes"), "h": N_("hours"), "d": N_("days"), "week": N_("weeks")}
PER = {"unit": N_("per unit"), "kg": N_("per kg"), "l": N_("per litre")}
NUTRIENTS = (
    ("energy_kcal", N_("Energy"), "kcal"),
    ("fat_g", N_("Fat"), "g"),
    ("saturated_fat_g", N_("of which saturates"), "g"),
    ("carbohydrates_g", N_("Carbohydrate"), "g"),
    ("sugars_g", N_("of which sugars"), "g"),
    ("fibre_g", N_("Fibre"), "g"),
    ("protein_g", N_("Protein"), "g"),
    ("salt_g", N_("Salt"), "g"),
)
YEARS = N_("years")


def _highlight_rows(card: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    t = translator_for(lang)
    rows = []
    for item in card.get("highlights") or []:
        key = str(item.get("key", ""))
        style, text = badge_for(str(item.get("state", "self_declared")))
        unit = item.get("unit")
        rows.append(
            {
                "key": key,
                "label": item.get("label_fr") if lang == "fr" else item.get("label_en"),
                "disclosed": bool(item.get("disclosed", True)),
                "shown": show_value(key, item.get("value"), unit, lang),
                "badge_style": style,
                "badge_text": t.gettext(text),
                "attested_by": item.get("attested_by"),
            }
        )
    return rows


def card_context(card: dict[str, Any], lang: str, *, lot: str | None = None) -> dict[str, Any]:
    """What ``partials/card.html`` needs: the card as given, plus its figures ready to read."""
    identity = card.get("identity_card") or {}
    lots = identity.get("lots") or []
    card_lot = card.get("lot")
    wanted_lot = lot or (card_lot.get("batch") if isinstance(card_lot, dict) else None)
    scanned_lot = (
        next((item for item in lots if item.get("batch") == wanted_lot), None) if wanted_lot else None
    )
    nutrition = identity.get("nutrition_per_100g") or {}
    return {
        "card": card,
        "identity": identity,
        "highlights": _highlight_rows(card, lang),
        "scanned_lot": scanned_lot,
        "lot_code": wanted_lot,
        "nutrients": [
            (label, nutrition[key], unit) for key, label, unit in NUTRIENTS if nutrition.get(key) is not None
        ],
        "duration_units": DURATION_UNITS,
        "per": PER,
    }


def render_product_page(card: dict[str, Any], lang: str, *, lot: str | None = None) -> str:
    """The product page for the resolver (``GET /01/{gtin}`` from a browser), without a web request."""
    context = base_context(lang, path=f"/01/{card.get('gtin', '')}")
    context.update(card_context(card, lang, lot=lot))
    return render_to_string("pages/product.html", context)


async def _card(db: AsyncSession, settings: Settings, gtin: str) -> dict[str, Any]:
    card = await catalogue.card_for_gtin(db, gtin, public_url=settings.public_url)
    if card is None:
        raise NotFound(UNKNOWN_PRODUCT)
    return card


class ProductPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/products/{gtin:str}")
    async def product(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        gtin: Annotated[str, Parameter(max_length=20)],
        lot: Annotated[str | None, Parameter(max_length=20)] = None,
        fragment: bool = False,
    ) -> Response[str]:
        """The card; ``?fragment=1`` gives only the card's HTML, for the scanner page to insert."""
        card = await _card(db, settings, gtin)
        lang = request_locale(request)
        if fragment:
            context = base_context(lang, viewer=viewer, csrf=csrf_token(request))
            context.update(card_context(card, lang, lot=lot))
            body = render_to_string("partials/card.html", context)
            return Response(
                body,
                media_type=MediaType.HTML,
                headers={"Content-Language": lang, "Vary": "Accept-Language, Cookie"},
            )
        return page(request, "pages/product.html", viewer=viewer, **card_context(card, lang, lot=lot))

    @get("/scan")
    async def scan(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
        code: Annotated[str | None, Parameter(max_length=4096)] = None,
    ) -> Response[str]:
        """The scanner; with ``?code=`` (typed digits, no JavaScript needed) the card shows below it."""
        return await _scan_result(request, db, settings, viewer, code)


async def _scan_result(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    settings: Settings,
    viewer: Principal | None,
    code: str | None,
) -> Response[str]:
    if not code or not code.strip():
        return page(request, "pages/scan.html", viewer=viewer, code="", error=None)
    lang = request_locale(request)
    try:
        link = gs1.parse_scanned(code)
    except SesameError:
        return page(request, "pages/scan.html", viewer=viewer, status_code=422, code=code, error=NOT_A_CODE)
    card = await catalogue.card_for_gtin(db, link.gtin, public_url=settings.public_url) if link.gtin else None
    if card is None:
        return page(
            request, "pages/scan.html", viewer=viewer, status_code=404, code=code, error=UNKNOWN_PRODUCT
        )
    return page(
        request,
        "pages/scan.html",
        viewer=viewer,
        code=code,
        error=None,
        **card_context(card, lang, lot=link.lot),
    )


class PhotoScanPage(UploadController):
    """The scanner's no-JavaScript photo upload: a phone photo is several MB, so this route takes uploads."""

    path = "/"
    include_in_schema = False

    @post("/scan/photo")
    async def scan_photo(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        settings: Settings,
        viewer: Principal | None,
    ) -> Response[str]:
        """The photo fallback without JavaScript: decoded on the server, answered with the scanner page."""
        form = await request.form()
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            return page(
                request, "pages/scan.html", viewer=viewer, status_code=422, code="", error=UNREADABLE_PHOTO
            )
        content = await upload.read()
        try:
            codes = await anyio.to_thread.run_sync(qr.decode_image, content)
        except SesameError:
            return page(
                request, "pages/scan.html", viewer=viewer, status_code=422, code="", error=UNREADABLE_PHOTO
            )
        if not codes:
            return page(
                request, "pages/scan.html", viewer=viewer, status_code=422, code="", error=NO_CODE_IN_PHOTO
            )
        return await _scan_result(request, db, settings, viewer, codes[0])


def _resolver_page(card: Any, base: str, link: gs1.DigitalLink | None, lang: str) -> str:
    """``scanner.resolver.PAGE_RENDERER`` signature: the resolver's cached card → this site's product page."""
    del base  # links in the page are relative to this site
    return render_product_page(card.data, lang, lot=link.lot if link is not None else None)


def install_resolver_page() -> None:
    """Make the GS1 resolver (``GET /01/{gtin}`` from a browser) answer with this site's product page."""
    resolver = optional_module("scanner.resolver")
    if resolver is not None and hasattr(resolver, "PAGE_RENDERER"):
        resolver.PAGE_RENDERER[:] = [_resolver_page]
