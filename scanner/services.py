"""The product catalogue: registration, versioned card changes, lookups and the card's two halves. No HTTP here.

Writes own their transaction: the product rows, the ``product.registered`` / ``product.card_changed`` ledger leaf
and the card-cache generation bump commit together or not at all.

Functions other packages may call (stable names and signatures):

* ``card_for_gtin(session, gtin, public_url=...)`` — the assembled card (product, lot-free) as a dict, uncached;
  ``None`` for an unknown GTIN. Web pages and checkout prompts use it; the resolver uses ``scanner.cards``.
* ``product_ref(session, gtin)`` — ``ProductRef(product_id, gtin, company_id, version)`` or ``None``.
* ``profile_changed(session, company_id)`` — registered in ``company_profiles.services.profile_changed_hooks``
  by ``scanner.wiring``: runs inside every filing, attestation and revocation, so every worker's cached cards
  are revalidated once it commits.

Example::

    registered = await register_product(session, principal=p, company_id=3, data=ProductIn(...),
                                        public_url="https://sesame.example")
    card = await card_for_gtin(session, registered.gtin, public_url="https://sesame.example")
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
from sqlalchemy import event, func, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select

from company_profiles import services as company_profiles
from company_profiles.schemas import CompanyProfile, IndicatorView
from scanner import gs1
from scanner._signal import counter_for
from scanner.errors import GS1SyntaxError, GtinTaken, NotProductOwner, ProductNotFound, UnreadableCode
from scanner.models import Product, ProductGtin, ProductVersion
from scanner.schemas import (
    ProductIn,
    ProductList,
    ProductRegistered,
    ProductSummary,
    ProductUpdate,
    ProductVersionDetail,
    ProductVersionSummary,
)
from sesame import transparency
from sesame.accounts.services import Principal
from sesame.db import MAX_ID
from sesame.errors import Conflict, NotFound
from sesame.models import utcnow

__all__ = [
    "HIGHLIGHT_KEYS",
    "PRODUCT_PART_SQL",
    "PRODUCT_REF_SQL",
    "ProductRef",
    "bump_generation",
    "card_for_gtin",
    "import_products",
    "list_products",
    "product_part",
    "product_part_from_row",
    "product_ref",
    "product_version_detail",
    "product_versions",
    "profile_changed",
    "read_generation",
    "ref_from_row",
    "register_product",
    "seller_part",
    "update_product",
]

#: The seller's figures a card shows, in this order (``seniority`` is derived from ``founding_date``).
HIGHLIGHT_KEYS = (
    "employee_satisfaction",
    "carbon_footprint_per_employee",
    "seniority",
    "tax_residence",
    "after_sales_staff_share",
)

_BUMP = text(
    "INSERT INTO scanner_cache_generation (id, generation) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET generation = scanner_cache_generation.generation + 1 "
    "RETURNING generation"
)
_READ = text("SELECT generation FROM scanner_cache_generation WHERE id = 1")


@dataclass(frozen=True, slots=True)
class ProductRef:
    """Where a GTIN (the product's own or a variant's) leads, and the product's current card version."""

    product_id: int
    gtin: str
    company_id: int
    version: int


# -- the card-cache generation -----------------------------------------------------------------------------------


async def bump_generation(session: AsyncSession) -> int:
    """Increase the card-cache generation inside the caller's transaction; returns the new value.

    On SQLite, also bump the workers' shared change counter once the transaction commits (``scanner._signal``).
    """
    generation = int((await session.execute(_BUMP)).scalar_one())
    url = session.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        counter = counter_for(url.database)
        event.listen(session.sync_session, "after_commit", lambda _session: counter.bump(), once=True)
    return generation


async def read_generation(session: AsyncSession) -> int:
    return int(await session.scalar(_READ) or 0)


async def profile_changed(session: AsyncSession, company_id: int) -> None:
    """A company's public profile changed in this transaction: cached cards are revalidated by every worker."""
    del company_id  # one generation for the whole catalogue: revalidation is per card, and cheap
    await bump_generation(session)


# -- writes --------------------------------------------------------------------------------------------------------


async def _owned_company(session: AsyncSession, principal: Principal, company_id: int) -> None:
    principal.require("company")
    if not 0 < company_id <= MAX_ID or not await company_profiles.company_exists(session, company_id):
        raise NotFound("no such company")
    ref = await company_profiles.company_for_account(session, principal.id)
    if ref is None or ref.id != company_id:
        raise NotProductOwner("only the company's own account may manage its products")


def _digest(gtin: str, version: int, name: str, variants: list[str], card: dict[str, Any]) -> str:
    document: dict[str, Any] = {
        "gtin": gtin,
        "version": version,
        "name": name,
        "variants": variants,
        "card": card,
    }
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()


async def _check_free(
    session: AsyncSession, company_id: int, gtins: list[str], product_id: int | None
) -> None:
    """409 when any of ``gtins`` already leads to another product (of another company, or of this one)."""
    rows = (
        await session.execute(
            select(ProductGtin.gtin, ProductGtin.product_id, Product.company_id)
            .join(Product, col(Product.id) == col(ProductGtin.product_id))
            .where(col(ProductGtin.gtin).in_(gtins))
        )
    ).all()
    for gtin, owner_product, owner_company in rows:
        if owner_product == product_id:
            continue
        if owner_company != company_id:
            raise GtinTaken(f"GTIN {gtin} is registered by another company", gtin=gtin)
        raise GtinTaken(
            f"GTIN {gtin} is already one of this company's products; change it with PUT", gtin=gtin
        )


async def register_product(
    session: AsyncSession, *, principal: Principal, company_id: int, data: ProductIn, public_url: str
) -> ProductRegistered:
    """Register a product and its card version 1 (ledger: ``product.registered``); commits."""
    await _owned_company(session, principal, company_id)
    gtins = [data.gtin, *data.variants]
    await _check_free(session, company_id, gtins, None)
    card = data.identity_card.model_dump(mode="json", exclude_none=True)
    digest = _digest(data.gtin, 1, data.name, data.variants, card)
    try:
        product = Product(gtin=data.gtin, company_id=company_id, name=data.name, version=1)
        session.add(product)
        await session.flush()
        product_id = product.id or 0
        session.add_all(
            [ProductGtin(gtin=g, product_id=product_id, is_primary=g == data.gtin) for g in gtins]
        )
        row = ProductVersion(
            product_id=product_id,
            version=1,
            name=data.name,
            variants=data.variants,
            card=card,
            card_sha256=digest,
            created_by=principal.id,
        )
        session.add(row)
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise GtinTaken("one of these GTINs was registered at the same moment; try again") from exc
    row.ledger_index = await transparency.record(
        session,
        "product.registered",
        {
            "gtin": data.gtin,
            "company_id": company_id,
            "version": 1,
            "variants": data.variants,
            "card_sha256": digest,
        },
    )
    await bump_generation(session)
    await session.commit()
    return ProductRegistered(
        gtin=data.gtin,
        digital_link=gs1.digital_link(public_url, data.gtin),
        version=1,
        ledger_index=row.ledger_index,
    )


async def import_products(
    session: AsyncSession, *, company_id: int, products: list[ProductIn], created_by: int | None = None
) -> list[int | None]:
    """Register many products of one company in one transaction (catalogue import, demo and bench seeding).

    The caller has checked that the company exists and may do this. One ``product.registered`` leaf per product,
    appended in one batch; returns their ledger indexes. Raises ``GtinTaken`` (409) for any GTIN taken; commits.
    """
    gtins = [g for data in products for g in (data.gtin, *data.variants)]
    if len(set(gtins)) != len(gtins):
        raise GtinTaken("the import lists a GTIN twice")
    for start in range(0, len(gtins), 500):
        await _check_free(session, company_id, gtins[start : start + 500], None)
    rows: list[ProductVersion] = []
    events: list[tuple[str, dict[str, Any]]] = []
    try:
        created = [
            Product(gtin=data.gtin, company_id=company_id, name=data.name, version=1) for data in products
        ]
        session.add_all(created)
        await session.flush()  # one batched INSERT ... RETURNING for the ids
        for data, product in zip(products, created, strict=True):
            product_id = product.id or 0
            card = data.identity_card.model_dump(mode="json", exclude_none=True)
            digest = _digest(data.gtin, 1, data.name, data.variants, card)
            session.add_all(
                [
                    ProductGtin(gtin=g, product_id=product_id, is_primary=g == data.gtin)
                    for g in (data.gtin, *data.variants)
                ]
            )
            rows.append(
                ProductVersion(
                    product_id=product_id,
                    version=1,
                    name=data.name,
                    variants=data.variants,
                    card=card,
                    card_sha256=digest,
                    created_by=created_by,
                )
            )
            events.append(
                (
                    "product.registered",
                    {
                        "gtin": data.gtin,
                        "company_id": company_id,
                        "version": 1,
                        "variants": data.variants,
                        "card_sha256": digest,
                    },
                )
            )
        session.add_all(rows)
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise GtinTaken("one of these GTINs was registered at the same moment; try again") from exc
    indexes = await transparency.record_many(session, events)
    for row, index in zip(rows, indexes, strict=True):
        row.ledger_index = index
    await bump_generation(session)
    await session.commit()
    return [row.ledger_index for row in rows]


def path_gtin(value: str) -> str:
    """A GTIN from a URL path parameter, normalised; 422 with the GS1 reason."""
    try:
        return gs1.normalise_gtin(value)
    except GS1SyntaxError as exc:
        raise UnreadableCode("path.gtin", exc.reason) from exc


async def update_product(
    session: AsyncSession,
    *,
    principal: Principal,
    company_id: int,
    gtin: str,
    data: ProductUpdate,
    public_url: str,
) -> ProductRegistered:
    """File a new version of a product's card (ledger: ``product.card_changed``); commits.

    Sending the current card again changes nothing and returns the current version.
    """
    await _owned_company(session, principal, company_id)
    gtin14 = path_gtin(gtin)
    product = await session.scalar(
        select(Product).where(col(Product.gtin) == gtin14, col(Product.company_id) == company_id)
    )
    if product is None or product.id is None:
        raise ProductNotFound(gtin14)
    if gtin14 in data.variants:
        raise UnreadableCode("body.variants", "a product's own GTIN cannot also be its variant")
    current = await session.scalar(
        select(ProductVersion).where(
            col(ProductVersion.product_id) == product.id, col(ProductVersion.version) == product.version
        )
    )
    card = data.identity_card.model_dump(mode="json", exclude_none=True)
    if current is not None and current.card_sha256 == _digest(
        gtin14, current.version, data.name, data.variants, card
    ):
        return ProductRegistered(
            gtin=gtin14,
            digital_link=gs1.digital_link(public_url, gtin14),
            version=current.version,
            ledger_index=current.ledger_index,
        )
    await _check_free(session, company_id, data.variants, product.id)
    version = product.version + 1
    digest = _digest(gtin14, version, data.name, data.variants, card)
    old_variants = set(current.variants if current is not None else [])
    try:
        released = old_variants - set(data.variants)
        if released:
            await session.execute(
                delete(ProductGtin).where(
                    col(ProductGtin.product_id) == product.id, col(ProductGtin.gtin).in_(sorted(released))
                )
            )
        session.add_all(
            [
                ProductGtin(gtin=g, product_id=product.id, is_primary=False)
                for g in data.variants
                if g not in old_variants
            ]
        )
        row = ProductVersion(
            product_id=product.id,
            version=version,
            name=data.name,
            variants=data.variants,
            card=card,
            card_sha256=digest,
            created_by=principal.id,
        )
        session.add(row)
        product.version = version
        product.name = data.name
        product.updated_at = utcnow()
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict("the card was changed at the same moment by another request; try again") from exc
    row.ledger_index = await transparency.record(
        session,
        "product.card_changed",
        {
            "gtin": gtin14,
            "company_id": company_id,
            "version": version,
            "variants": data.variants,
            "card_sha256": digest,
        },
    )
    await bump_generation(session)
    await session.commit()
    return ProductRegistered(
        gtin=gtin14,
        digital_link=gs1.digital_link(public_url, gtin14),
        version=version,
        ledger_index=row.ledger_index,
    )


# -- reads ---------------------------------------------------------------------------------------------------------


async def list_products(
    session: AsyncSession, company_id: int, *, public_url: str, limit: int = 100, offset: int = 0
) -> ProductList:
    """A company's catalogue, newest first (public: anyone can scan these products)."""
    if not 0 < company_id <= MAX_ID or not await company_profiles.company_exists(session, company_id):
        raise NotFound("no such company")
    total = await session.scalar(
        select(func.count()).select_from(Product).where(col(Product.company_id) == company_id)
    )
    rows = (
        await session.execute(
            select(Product, ProductVersion.variants)
            .join(
                ProductVersion,
                (col(ProductVersion.product_id) == col(Product.id))
                & (col(ProductVersion.version) == col(Product.version)),
            )
            .where(col(Product.company_id) == company_id)
            .order_by(col(Product.id).desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    items = [
        ProductSummary(
            gtin=product.gtin,
            name=product.name,
            version=product.version,
            variants=list(variants),
            digital_link=gs1.digital_link(public_url, product.gtin),
            updated_at=product.updated_at,
        )
        for product, variants in rows
    ]
    return ProductList(company_id=company_id, total=int(total or 0), items=items)


#: Where a GTIN leads: ``(product_id, primary gtin, company_id, current version)``. Plain SQL, so the card cache
#: can also run it on SQLite without a thread hop (``scanner.cards``).
PRODUCT_REF_SQL = (
    "SELECT p.id, p.gtin, p.company_id, p.version FROM scanner_product_gtins g "
    "JOIN scanner_products p ON p.id = g.product_id WHERE g.gtin = :gtin"
)
#: The product half of a card in one indexed join: ref columns, then the current version's.
PRODUCT_PART_SQL = (
    "SELECT p.id, p.gtin, p.company_id, p.version, v.name, v.variants, v.card, v.card_sha256, v.ledger_index, "
    "v.created_at FROM scanner_product_gtins g JOIN scanner_products p ON p.id = g.product_id "
    "JOIN scanner_product_versions v ON v.product_id = p.id AND v.version = p.version WHERE g.gtin = :gtin"
)


def ref_from_row(row: Sequence[Any]) -> ProductRef:
    return ProductRef(product_id=int(row[0]), gtin=str(row[1]), company_id=int(row[2]), version=int(row[3]))


async def product_ref(session: AsyncSession, gtin14: str) -> ProductRef | None:
    row = (await session.execute(text(PRODUCT_REF_SQL), {"gtin": gtin14})).first()
    return ref_from_row(row) if row is not None else None


async def _version_rows(session: AsyncSession, gtin14: str) -> tuple[ProductRef, list[ProductVersion]]:
    ref = await product_ref(session, gtin14)
    if ref is None:
        raise ProductNotFound(gtin14)
    rows = (
        await session.scalars(
            select(ProductVersion)
            .where(col(ProductVersion.product_id) == ref.product_id)
            .order_by(col(ProductVersion.version))
        )
    ).all()
    return ref, list(rows)


async def product_versions(session: AsyncSession, gtin14: str) -> list[ProductVersionSummary]:
    """Every version of a product's card, with its digest and ledger index (for auditors)."""
    _, rows = await _version_rows(session, gtin14)
    return [
        ProductVersionSummary(
            version=r.version,
            name=r.name,
            card_sha256=r.card_sha256,
            ledger_index=r.ledger_index,
            created_at=r.created_at,
        )
        for r in rows
    ]


async def product_version_detail(session: AsyncSession, gtin14: str, version: int) -> ProductVersionDetail:
    ref, rows = await _version_rows(session, gtin14)
    row = next((r for r in rows if r.version == version), None)
    if row is None:
        raise NotFound(f"GTIN {ref.gtin} has no card version {version}")
    return ProductVersionDetail(
        gtin=ref.gtin,
        company_id=ref.company_id,
        version=row.version,
        name=row.name,
        variants=list(row.variants),
        identity_card=dict(row.card),
        card_sha256=row.card_sha256,
        ledger_index=row.ledger_index,
        created_at=row.created_at,
    )


# -- the card's two halves ---------------------------------------------------------------------------------------


async def product_part(
    session: AsyncSession, gtin14: str, *, public_url: str
) -> tuple[ProductRef, dict[str, Any]] | None:
    """The product half of a card (identity card, lots, links) for a GTIN or a variant's GTIN."""
    row = (await session.execute(text(PRODUCT_PART_SQL), {"gtin": gtin14})).first()
    return product_part_from_row(row, gtin14, public_url=public_url) if row is not None else None


def _json(value: Any) -> Any:
    """A JSON column as read: already decoded by the ORM driver, or text from a raw SQLite cursor."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def product_part_from_row(
    row: Sequence[Any], gtin14: str, *, public_url: str
) -> tuple[ProductRef, dict[str, Any]]:
    """Build the product half from a ``PRODUCT_PART_SQL`` row (async session or stdlib sqlite3 alike)."""
    ref = ref_from_row(row)
    name, variants, card, digest, ledger_index, created_at = row[4:10]
    if isinstance(created_at, str):  # SQLite keeps timestamps as text
        created_at = datetime.fromisoformat(created_at)
    base = public_url.rstrip("/")
    api = f"{base}/api/v1/products/{ref.gtin}"
    link = gs1.digital_link(base, ref.gtin)
    part: dict[str, Any] = {"gtin": ref.gtin}
    if gtin14 != ref.gtin:
        part["scanned_gtin"] = gtin14
    part.update(
        {
            "name": name,
            "digital_link": link,
            "version": ref.version,
            "card_sha256": digest,
            "ledger_index": ledger_index,
            "updated_at": _iso(created_at),
            "variants": list(_json(variants)),
            "identity_card": dict(_json(card)),
            "links": {
                "self": api,
                "linkset": f"{link}?linkType=linkset",
                "qr_svg": f"{api}/qr.svg",
                "qr_png": f"{api}/qr.png",
                "versions": f"{api}/versions",
            },
        }
    )
    return ref, part


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _highlight(view: IndicatorView, **override: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": view.key,
        "label_fr": view.label_fr,
        "label_en": view.label_en,
        "disclosed": view.disclosed,
        "value": view.value,
        "unit": view.unit,
        "period": view.period,
        "state": str(view.state.value),
        "attested_by": view.attested_by,
        "attested_at": _iso(view.attested_at),
        "valid_until": _iso(view.valid_until),
        "disclosed_at": _iso(view.disclosed_at),
        "age_days": view.age_days,
    }
    out.update(override)
    return out


def _highlights(profile: CompanyProfile) -> list[dict[str, Any]]:
    views = {view.key: view for view in profile.indicators}
    out: list[dict[str, Any]] = []
    for key in HIGHLIGHT_KEYS:
        if key == "seniority":
            founding = views.get("founding_date")
            if founding is not None:
                out.append(
                    _highlight(
                        founding,
                        key="seniority",
                        label_fr="Ancienneté",
                        label_en="Seniority",
                        value=profile.seniority_years,
                        unit="years",
                        founding_date=profile.founding_date.isoformat(),
                    )
                )
        elif key in views:
            out.append(_highlight(views[key]))
    return out


async def seller_part(
    session: AsyncSession, company_id: int, *, public_url: str
) -> tuple[int, dict[str, Any]]:
    """``(profile_cache_token, the seller half of a card)``: the company and its highlighted, verified figures.

    The token is read first, so a profile changing meanwhile makes the token stale, never the content.
    """
    token = await company_profiles.profile_cache_token(session, company_id)
    profile = await company_profiles.public_profile(session, company_id)
    base = public_url.rstrip("/")
    part = {
        "company": {
            "id": profile.id,
            "legal_name": profile.legal_name,
            "country": profile.country,
            "tax_residence": profile.tax_residence,
            "seniority_years": profile.seniority_years,
            "transparency_score": profile.transparency_score,
            "civil_status_version": profile.version,
            "civil_status_ledger_index": profile.ledger_index,
            "profile_url": f"{base}/api/v1/companies/{profile.id}",
        },
        "transparency_score": profile.transparency_score,
        "highlights": _highlights(profile),
    }
    return token, part


async def card_for_gtin(session: AsyncSession, gtin: str, *, public_url: str) -> dict[str, Any] | None:
    """The assembled card of a GTIN (any of the 8/12/13/14-digit forms), uncached; ``None`` when unknown."""
    try:
        gtin14 = gs1.normalise_gtin(gtin)
    except GS1SyntaxError:
        return None
    found = await product_part(session, gtin14, public_url=public_url)
    if found is None:
        return None
    ref, part = found
    _, seller = await seller_part(session, ref.company_id, public_url=public_url)
    return {**part, **seller}
