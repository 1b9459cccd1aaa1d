"""Tables of the product catalogue. Other packages never read them: they call ``scanner.services``.

A product's identity card is append-only: each change adds a ``ProductVersion`` (its card as JSON, the card's
digest and the ledger index of the ``product.card_changed`` leaf); the ``Product`` row only points at the current
version. ``ProductGtin`` holds every GTIN that resolves to a product (its own and its variants), so a GTIN can
belong to one product of one company only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from sesame.models import utc_field

__all__ = ["CardCacheGeneration", "Product", "ProductGtin", "ProductVersion"]


class Product(SQLModel, table=True):
    __tablename__ = "scanner_products"

    id: int | None = Field(default=None, primary_key=True)
    #: The 14-digit GTIN the product was registered with (its variants are in ``ProductGtin``).
    gtin: str = Field(max_length=14, unique=True)
    #: The owning company (``company_profiles``), referred to by id only.
    company_id: int = Field(index=True)
    name: str = Field(max_length=200)
    #: The current ``ProductVersion.version``.
    version: int = Field(default=1)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class ProductGtin(SQLModel, table=True):
    """Every GTIN that resolves to a product; the primary key makes a GTIN one company's only."""

    __tablename__ = "scanner_product_gtins"

    gtin: str = Field(primary_key=True, max_length=14)
    product_id: int = Field(foreign_key="scanner_products.id", index=True)
    #: False for a variant (another pack size, colour ...).
    is_primary: bool = Field(default=False)


class ProductVersion(SQLModel, table=True):
    """One version of a product's identity card; never changed once written."""

    __tablename__ = "scanner_product_versions"
    __table_args__ = (UniqueConstraint("product_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="scanner_products.id", index=True)
    version: int
    name: str = Field(max_length=200)
    variants: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: The identity card, normalised (``scanner.schemas.IdentityCard``).
    card: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: Hex SHA-256 of the RFC 8785 canonical JSON of ``{gtin, version, name, variants, card}`` (in the ledger leaf).
    card_sha256: str = Field(max_length=64)
    ledger_index: int | None = Field(default=None)
    created_by: int | None = Field(default=None, foreign_key="accounts.id")
    created_at: datetime = utc_field()


class CardCacheGeneration(SQLModel, table=True):
    """One row: a number every catalogue write increases in its own transaction.

    Each worker compares it with the generation its cached cards were checked at, so a change made by any
    worker (or the CLI) is seen by all of them at their next request (``scanner.cards``).
    """

    __tablename__ = "scanner_cache_generation"

    id: int = Field(default=1, primary_key=True)
    generation: int = Field(default=0, sa_type=BigInteger)
