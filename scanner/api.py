"""Thin controllers: the catalogue, QR codes, the scan endpoints and the GS1 Digital Link resolver.

The resolver and ``POST /api/v1/scan`` are the hot path: they take no database session unless the card cache
needs one, and answer with the card's pre-encoded bytes. A scan of a product's plain code is answered the same way
before it reaches Litestar's router (``scanner.fastpath``); this controller answers the rest (lots, errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, HttpMethod, Litestar, Request, Response, get, post, put, route
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_307_TEMPORARY_REDIRECT
from sqlalchemy.ext.asyncio import AsyncSession

from scanner import gs1, qr, resolver, services
from scanner._response import Headers, PreEncoded, encode_headers
from scanner.cards import CachedCard, CardCache, encode
from scanner.errors import CheckDigitError, GS1SyntaxError, NoCodeFound, UnknownIdentifier, UnreadableCode
from scanner.schemas import (
    ProductIn,
    ProductList,
    ProductRegistered,
    ProductUpdate,
    ProductVersionDetail,
    ProductVersionSummary,
    ScanRequest,
)
from sesame.accounts.services import Principal
from sesame.settings import Settings
from sesame.uploads import UploadController

__all__ = ["ROUTES", "card_cache"]

JSON = "application/json"
LINKSET = "application/linkset+json"
HTML = "text/html; charset=utf-8"
_NAMES = {
    "00": "SSCC",
    "253": "GDTI",
    "255": "GCN",
    "401": "GINC",
    "402": "GSIN",
    "414": "GLN",
    "415": "GLN of the invoicing party",
    "417": "party GLN",
    "8003": "GRAI",
    "8004": "GIAI",
    "8006": "ITIP",
    "8010": "CPID",
    "8013": "GMN",
    "8017": "GSRN (provider)",
    "8018": "GSRN (recipient)",
}


#: The JSON these handlers answer with is pre-encoded bytes; this documents it as the object it is.
JSON_OBJECT = {200: ResponseSpec(data_container=dict[str, Any], description="a JSON object")}


def card_cache(state: State) -> CardCache:
    """This worker's card cache (one per app, made on first use)."""
    cache: CardCache | None = getattr(state, "scanner_cards", None)
    if cache is None:
        cache = CardCache(state.sessionmaker, state.settings)
        state.scanner_cards = cache
    return cache


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _raw_path(scope: Any) -> str:
    raw = scope.get("raw_path")
    if isinstance(raw, bytes | bytearray):
        return raw.decode("latin-1").split("?", 1)[0]
    return str(scope["path"])


def plain_json_gtin(scope: Any) -> str | None:
    """The GTIN-14 when a resolver request asks for a product's plain JSON card and nothing else: ``/01/`` and
    14 digits with a right check digit, no qualifier, no query, an ``Accept`` that chooses JSON. The route's
    common case, and the one ``scanner.fastpath`` answers ahead of the router; ``None`` for anything else."""
    if scope.get("query_string"):
        return None
    path = _raw_path(scope)
    if len(path) != 18:
        return None
    gtin = gs1.fast_gtin14(path[4:])
    if gtin is None or resolver.negotiate(_header(scope, b"accept")) != "json":
        return None
    return gtin


def _unknown_key(link: gs1.DigitalLink) -> UnknownIdentifier:
    name = _NAMES.get(link.primary_ai, f"AI ({link.primary_ai})")
    return UnknownIdentifier(
        f"{name} {link.primary_value} is not known here: this resolver answers for products (GTIN, AI 01) only",
        primary_key=link.primary_ai,
    )


async def _card(state: State, gtin14: str) -> CachedCard:
    cache = card_cache(state)
    return cache.fresh(gtin14) or await cache.get(gtin14)


def _json_headers(card: CachedCard, app: Litestar, base: str) -> Headers:
    """The headers of a card's plain JSON answer, encoded once and kept with the card."""
    if card.json_headers is None:
        card.json_headers = encode_headers(
            app,
            card.body,
            JSON,
            {
                "Vary": "Accept",
                "Access-Control-Allow-Origin": "*",
                "Link": f'<{base}/01/{card.gtin}?linkType=linkset>; rel="linkset"; type="{LINKSET}"',
            },
        )
    return card.json_headers


def card_answer(card: CachedCard, app: Litestar, base: str) -> PreEncoded:
    """A card's plain JSON answer: its bytes, with the headers kept with the card."""
    return PreEncoded(app, card.body, media_type=JSON, encoded=_json_headers(card, app, base))


def _quick_gtin(code: str) -> str | None:
    """GTIN-8/12/13/14 digits with a right check digit, as 14 digits, without biip (the scan hot path)."""
    if len(code) in (8, 12, 13, 14) and code.isascii() and code.isdigit():
        return gs1.fast_gtin14(code.zfill(14))
    return None


# -- the resolver --------------------------------------------------------------------------------------------------


@route(
    "/01/{rest:path}",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    tags=["resolver"],
    summary="GS1 Digital Link resolver: /01/{gtin}[/22/{cpv}][/10/{lot}][/21/{serial}][?17=YYMMDD...]",
    description=(
        "HTML product page for browsers (Accept: text/html), the JSON card for application/json, an RFC 9264 "
        "linkset for application/linkset+json or ?linkType=linkset|all, a 307 redirect for ?linkType=gs1:xyz. "
        "Syntax errors answer 400 with GS1's reason."
    ),
)
async def resolve_gtin(request: Request[Any, Any, Any], state: State, rest: str) -> PreEncoded:
    del rest  # the raw path keeps %2F inside values apart from separators
    scope = request.scope
    settings: Settings = state.settings
    gtin = plain_json_gtin(scope)
    if gtin is not None:
        card = await _card(state, gtin)  # the common case: a plain GTIN, JSON, headers ready in the card
        return card_answer(card, request.app, settings.public_url)
    path = _raw_path(scope)
    query: bytes = scope.get("query_string", b"")
    gtin = gs1.fast_gtin14(path[4:]) if not query and len(path) == 18 else None
    link: gs1.DigitalLink | None = None
    if gtin is None:
        link = gs1.parse_resolver_path(path, query.decode("latin-1"))
        if link.gtin is None:  # pragma: no cover - the route only matches /01/
            raise _unknown_key(link)
        gtin = link.gtin
    base = settings.public_url
    link_type = link.query_param("linkType") if link is not None else None
    kind = resolver.negotiate(_header(scope, b"accept"), link_type)
    card = await _card(state, gtin)
    app = request.app
    headers = {
        "Vary": "Accept",
        "Access-Control-Allow-Origin": "*",
        "Link": f'<{base}/01/{gtin}?linkType=linkset>; rel="linkset"; type="{LINKSET}"',
    }
    if link is not None and link_type and kind != "linkset":
        headers["Location"] = resolver.select_link(card, base, link, link_type)
        return PreEncoded(app, b"", media_type=JSON, status=HTTP_307_TEMPORARY_REDIRECT, headers=headers)
    if kind == "json":
        if link is None:
            return card_answer(card, app, base)
        return PreEncoded(app, resolver.with_context(card, base, link), media_type=JSON, headers=headers)
    if kind == "linkset":
        headers["Link"] += (
            f', <{resolver.LINKSET_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
        )
        key = f"linkset:{link.path() if link else ''}"
        body = card.rendering(key, lambda: resolver.linkset(card, base, link))
        return PreEncoded(app, body, media_type=LINKSET, headers=headers)
    lang = resolver.page_language(_header(scope, b"accept-language"))
    headers["Vary"] = "Accept, Accept-Language"
    headers["Content-Language"] = lang
    render = resolver.PAGE_RENDERER[-1]
    key = f"html:{lang}:{link.path() if link else ''}"
    body = card.rendering(key, lambda: render(card, base, link, lang).encode())
    return PreEncoded(app, body, media_type=HTML, headers=headers)


@route(
    [f"/{ai}/{{rest:path}}" for ai in gs1.PRIMARY_KEYS if ai != "01"],
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    tags=["resolver"],
    summary="Other GS1 primary keys: checked for syntax (400), then unknown (404)",
)
async def resolve_other_key(request: Request[Any, Any, Any], rest: str) -> Response[bytes]:
    del rest
    link = gs1.parse_resolver_path(
        _raw_path(request.scope), request.scope.get("query_string", b"").decode("latin-1")
    )
    raise _unknown_key(link)


@get(
    "/.well-known/gs1resolver",
    tags=["resolver"],
    summary="GS1-Conformant resolver description file",
    responses=JSON_OBJECT,
)
async def resolver_description(state: State) -> Response[bytes]:
    settings: Settings = state.settings
    return Response(
        encode(resolver.description_file(settings.public_url)),
        media_type=JSON,
        headers={"Access-Control-Allow-Origin": "*"},
    )


# -- scanning ------------------------------------------------------------------------------------------------------


def read_code(code: str, field: str) -> tuple[str, gs1.DigitalLink | None]:
    """``(gtin14, link or None)`` from scanned text; 422 with GS1's reason, 404 for a non-product key."""
    gtin = _quick_gtin(code)
    if gtin is not None:
        return gtin, None
    try:
        link = gs1.parse_scanned(code)
    except GS1SyntaxError as exc:
        raise UnreadableCode(field, exc.reason, check_digit=isinstance(exc, CheckDigitError)) from exc
    if link.gtin is None:
        raise _unknown_key(link)
    return link.gtin, link


@dataclass
class ImageUpload:
    """A photo of a barcode: QR code, GS1 DataMatrix, EAN-13/8, UPC."""

    file: UploadFile


class ScanController(Controller):
    path = "/api/v1/scan"
    tags = ["scanner"]

    @post(
        "/",
        status_code=200,
        summary="Whatever a scanner read → the product's card",
        description=(
            "A GS1 Digital Link URI on any domain, a bracketed element string (01)…(10)…, raw GS1 data with "
            "FNC1/GS separators, or GTIN-8/12/13/14 digits. A scanned lot adds the lot's record (`lot`) and a "
            "`scan` section. A wrong check digit answers 422 saying so."
        ),
        responses=JSON_OBJECT,
    )
    async def scan(self, request: Request[Any, Any, Any], data: ScanRequest, state: State) -> PreEncoded:
        gtin, link = read_code(data.code, "body.code")
        card = await _card(state, gtin)
        settings: Settings = state.settings
        if link is None or link == gs1.DigitalLink("01", gtin):
            return card_answer(card, request.app, settings.public_url)
        return PreEncoded(
            request.app, resolver.with_context(card, settings.public_url, link), media_type=JSON
        )


class ScanImageController(UploadController):
    """The photo upload, apart: only this route takes bodies up to ``Settings.max_upload_bytes``."""

    path = "/api/v1/scan"
    tags = ["scanner"]

    @post(
        "/image",
        status_code=200,
        summary="A photo of a QR code or barcode → the product's card",
        responses=JSON_OBJECT,
    )
    async def scan_image(
        self,
        data: Annotated[ImageUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        state: State,
    ) -> Response[bytes]:
        content = await data.file.read()
        texts = await anyio.to_thread.run_sync(qr.decode_image, content)
        if not texts:
            raise NoCodeFound()
        first_error: Exception | None = None
        for text in texts:
            try:
                gtin, link = read_code(text, "body.file")
            except (UnreadableCode, UnknownIdentifier) as exc:
                first_error = first_error or exc
                continue
            card = await _card(state, gtin)
            settings: Settings = state.settings
            base = settings.public_url
            context = resolver.scan_context(card, base, link or gs1.DigitalLink("01", gtin))
            context["scan"]["decoded"] = text
            return Response(encode(context)[:-1] + b"," + card.body[1:], media_type=JSON)
        assert first_error is not None
        raise first_error


# -- the catalogue -----------------------------------------------------------------------------------------------


def _qualifiers(lot: str | None, serial: str | None) -> tuple[tuple[str, str], ...]:
    """The lot and serial of a query string, checked against GS1 AI (10) and (21); 422 otherwise."""
    qualifiers: list[tuple[str, str]] = []
    for ai, value, field in (("10", lot, "query.lot"), ("21", serial, "query.serial")):
        if value is None:
            continue
        try:
            qualifiers.append((ai, gs1.check_value(ai, value)))
        except GS1SyntaxError as exc:
            raise UnreadableCode(field, exc.reason) from exc
    return tuple(qualifiers)


LotParam = Annotated[str | None, Parameter(max_length=20, description="GS1 AI (10) batch/lot")]
SerialParam = Annotated[str | None, Parameter(max_length=20, description="GS1 AI (21) serial")]


class ProductController(Controller):
    path = "/api/v1"
    tags = ["products"]

    @post(
        "/companies/{company_id:int}/products",
        status_code=201,
        summary="Register a product (its company only)",
    )
    async def register(
        self, company_id: int, data: ProductIn, db: AsyncSession, principal: Principal, settings: Settings
    ) -> ProductRegistered:
        return await services.register_product(
            db, principal=principal, company_id=company_id, data=data, public_url=settings.public_url
        )

    @put("/companies/{company_id:int}/products/{gtin:str}", summary="File a new version of a product's card")
    async def update(
        self,
        company_id: int,
        gtin: str,
        data: ProductUpdate,
        db: AsyncSession,
        principal: Principal,
        settings: Settings,
    ) -> ProductRegistered:
        return await services.update_product(
            db,
            principal=principal,
            company_id=company_id,
            gtin=gtin,
            data=data,
            public_url=settings.public_url,
        )

    @get("/companies/{company_id:int}/products", summary="A company's products")
    async def list_products(
        self,
        company_id: int,
        db: AsyncSession,
        settings: Settings,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
    ) -> ProductList:
        return await services.list_products(
            db, company_id, public_url=settings.public_url, limit=limit, offset=offset
        )

    @get(
        "/products/{gtin:str}",
        summary="The product's card, with the seller's verified figures",
        responses=JSON_OBJECT,
    )
    async def card(self, gtin: str, state: State, lot: LotParam = None) -> Response[bytes]:
        gtin14 = services.path_gtin(gtin)
        found = await _card(state, gtin14)
        qualifiers = _qualifiers(lot, None)
        settings: Settings = state.settings
        scanned = gs1.DigitalLink("01", gtin14, qualifiers) if qualifiers else None
        return Response(resolver.with_context(found, settings.public_url, scanned), media_type=JSON)

    @get("/products/{gtin:str}/versions", summary="Every version of the product's card, with ledger indexes")
    async def versions(self, gtin: str, db: AsyncSession) -> list[ProductVersionSummary]:
        return await services.product_versions(db, services.path_gtin(gtin))

    @get("/products/{gtin:str}/versions/{version:int}", summary="One version of the product's card")
    async def version(self, gtin: str, version: int, db: AsyncSession) -> ProductVersionDetail:
        return await services.product_version_detail(db, services.path_gtin(gtin), version)

    @get(
        "/products/{gtin:str}/sustainability",
        summary="gs1:sustainabilityInfo: footprint, labour, places",
        responses=JSON_OBJECT,
    )
    async def sustainability(self, gtin: str, state: State) -> Response[bytes]:
        found = await _card(state, services.path_gtin(gtin))
        return Response(encode(resolver.sustainability_view(found)), media_type=JSON)

    @get(
        "/products/{gtin:str}/traceability",
        summary="gs1:traceability: steps, places and lots",
        responses=JSON_OBJECT,
    )
    async def traceability(self, gtin: str, state: State, lot: LotParam = None) -> Response[bytes]:
        found = await _card(state, services.path_gtin(gtin))
        return Response(encode(resolver.traceability_view(found, lot)), media_type=JSON)

    @get(
        "/products/{gtin:str}/certification",
        summary="gs1:certificationInfo: verified figures, ledger entries",
        responses=JSON_OBJECT,
    )
    async def certification(self, gtin: str, state: State) -> Response[bytes]:
        found = await _card(state, services.path_gtin(gtin))
        return Response(encode(resolver.certification_view(found)), media_type=JSON)

    @get(
        "/products/{gtin:str}/qr.svg",
        summary="The product's GS1 Digital Link QR code (SVG)",
        media_type="image/svg+xml",
    )
    async def qr_svg(
        self, gtin: str, state: State, lot: LotParam = None, serial: SerialParam = None
    ) -> Response[bytes]:
        uri = await self._qr_uri(state, gtin, lot, serial)
        return Response(qr.qr_svg(uri, title=uri), media_type="image/svg+xml", headers=_QR_HEADERS)

    @get(
        "/products/{gtin:str}/qr.png",
        summary="The product's GS1 Digital Link QR code (PNG)",
        media_type="image/png",
    )
    async def qr_png(
        self,
        gtin: str,
        state: State,
        lot: LotParam = None,
        serial: SerialParam = None,
        scale: Annotated[int, Parameter(ge=1, le=40, description="pixels per module")] = 8,
    ) -> Response[bytes]:
        uri = await self._qr_uri(state, gtin, lot, serial)
        return Response(qr.qr_png(uri, scale=scale), media_type="image/png", headers=_QR_HEADERS)

    @staticmethod
    async def _qr_uri(state: State, gtin: str, lot: str | None, serial: str | None) -> str:
        gtin14 = services.path_gtin(gtin)
        found = await _card(state, gtin14)
        settings: Settings = state.settings
        link = gs1.DigitalLink("01", found.ref.gtin, _qualifiers(lot, serial))
        return link.uri(settings.public_url)


_QR_HEADERS = {"Cache-Control": "public, max-age=3600"}


# -- the benchmark's yardstick --------------------------------------------------------------------------------


_CONSTANT: dict[int, bytes] = {}


def _constant(size: int) -> bytes:
    body = _CONSTANT.get(size)
    if body is None:
        body = encode({"constant": "x" * (size - len('{"constant":""}'))})
        # the benchmark asks for a few sizes; caching every size anyone asks for would grow without bound
        if len(_CONSTANT) < 8:
            _CONSTANT[size] = body
    return body


ConstantSize = Annotated[int, Parameter(ge=16, le=1_000_000)]


@get("/api/v1/bench/constant", include_in_schema=False)
async def bench_constant(size: ConstantSize = 1024) -> Response[bytes]:
    """A fixed JSON body of about ``size`` bytes: what a card endpoint is measured against."""
    return Response(_constant(size), media_type=JSON)


@post("/api/v1/bench/constant", include_in_schema=False, status_code=200)
async def bench_constant_post(data: ScanRequest, size: ConstantSize = 1024) -> Response[bytes]:
    """The same for a request shaped like ``POST /api/v1/scan`` (its body read and decoded, then ignored)."""
    del data
    return Response(_constant(size), media_type=JSON)


ROUTES: list[Any] = [
    resolve_gtin,
    resolve_other_key,
    resolver_description,
    ScanController,
    ScanImageController,
    ProductController,
    bench_constant,
    bench_constant_post,
]
