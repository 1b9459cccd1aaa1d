"""Requests and responses of the catalogue and the scanner: the product identity card and its validation.

Units are fixed by the field name (``labour_cost_share_pct``, ``nutrition_per_100g.fat_g``) or given with the
value from a closed list (``manufacturing_time.unit``, ``carbon_footprint.unit``); every range is checked, and a
bad field answers 422 with its path (``body.identity_card.nutrition_per_100g.sugars_g``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from scanner import gs1
from scanner.errors import GS1SyntaxError
from sesame.models import UtcDatetime

__all__ = [
    "LOT_PATTERN",
    "CarbonFootprint",
    "Duration",
    "Gtin",
    "IdentityCard",
    "Lot",
    "Nutrition",
    "Place",
    "ProductIn",
    "ProductList",
    "ProductRegistered",
    "ProductSummary",
    "ProductUpdate",
    "ProductVersionDetail",
    "ProductVersionSummary",
    "ScanRequest",
    "TraceabilityStep",
]

#: GS1 AI (10) batch/lot: 1 to 20 characters of GS1 character set 82 (no spaces, no accents).
LOT_PATTERN = r"^[!%-?A-Z_a-z\x22]{1,20}$"
_EARLIEST = date(1900, 1, 1)
_LATEST = date(2200, 12, 31)


def _gtin(value: str) -> str:
    try:
        gtin = gs1.normalise_gtin(value)
    except GS1SyntaxError as exc:
        raise PydanticCustomError("gtin", "{reason}", {"reason": exc.reason}) from exc
    problem = gs1.registration_problem(gtin)
    if problem:
        raise PydanticCustomError("gtin", "{reason}", {"reason": problem})
    return gtin


#: A GTIN-8/12/13/14 with a right check digit, normalised to 14 digits; not a restricted-circulation number.
Gtin = Annotated[str, Field(min_length=8, max_length=14, examples=["09520123456788"]), AfterValidator(_gtin)]


def _in_range(value: date | None) -> date | None:
    if value is not None and not _EARLIEST <= value <= _LATEST:
        raise PydanticCustomError("date_range", "dates must lie between 1900 and 2200")
    return value


Day = Annotated[date, AfterValidator(_in_range)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Place(_Strict):
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    region: str | None = Field(default=None, max_length=100)
    city: str | None = Field(default=None, max_length=100)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates(self) -> Place:
        if (self.latitude is None) != (self.longitude is None):
            raise PydanticCustomError("coordinates", "give both latitude and longitude, or neither")
        return self


class TraceabilityStep(_Strict):
    step: str = Field(min_length=1, max_length=100, examples=["harvest", "milling", "packing"])
    description: str | None = Field(default=None, max_length=500)
    place: Place
    started_on: Day | None = None
    ended_on: Day | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TraceabilityStep:
        if self.started_on and self.ended_on and self.ended_on < self.started_on:
            raise PydanticCustomError("date_order", "ended_on is before started_on")
        return self


_HOURS = {"min": 1 / 60, "h": 1.0, "d": 24.0, "week": 168.0}
_KG = {"g CO2e": 0.001, "kg CO2e": 1.0, "t CO2e": 1000.0}


class Duration(BaseModel):
    # Extra keys are ignored so a card read back (with its computed ``hours``) can be sent again.
    model_config = ConfigDict(extra="ignore")

    value: float = Field(gt=0, le=1_000_000)
    unit: Literal["min", "h", "d", "week"]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hours(self) -> float:
        return round(self.value * _HOURS[self.unit], 4)

    @model_validator(mode="after")
    def _at_most_ten_years(self) -> Duration:
        if self.value * _HOURS[self.unit] > 87_600:
            raise PydanticCustomError(
                "duration_range", "a manufacturing time above ten years is not plausible"
            )
        return self


class CarbonFootprint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    value: float = Field(ge=0, le=1_000_000)
    unit: Literal["g CO2e", "kg CO2e", "t CO2e"] = "kg CO2e"
    #: What the footprint is for: one sold unit, or one kilogram / litre of product.
    per: Literal["unit", "kg", "l"] = "unit"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kg_co2e(self) -> float:
        return round(self.value * _KG[self.unit], 6)

    @model_validator(mode="after")
    def _plausible(self) -> CarbonFootprint:
        if self.value * _KG[self.unit] > 1_000_000:
            raise PydanticCustomError(
                "footprint_range", "a footprint above 1,000 t CO2e per item is not plausible"
            )
        return self


_Grams = Annotated[float, Field(ge=0, le=100)]


class Nutrition(_Strict):
    """Per 100 g of product (EU Regulation 1169/2011 order)."""

    energy_kj: float | None = Field(default=None, ge=0, le=4000)
    energy_kcal: float | None = Field(default=None, ge=0, le=950)
    fat_g: _Grams | None = None
    saturated_fat_g: _Grams | None = None
    carbohydrates_g: _Grams | None = None
    sugars_g: _Grams | None = None
    fibre_g: _Grams | None = None
    protein_g: _Grams | None = None
    salt_g: _Grams | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Nutrition:
        if self.fat_g is not None and self.saturated_fat_g is not None and self.saturated_fat_g > self.fat_g:
            raise PydanticCustomError("nutrition", "saturated_fat_g cannot exceed fat_g")
        if (
            self.carbohydrates_g is not None
            and self.sugars_g is not None
            and self.sugars_g > self.carbohydrates_g
        ):
            raise PydanticCustomError("nutrition", "sugars_g cannot exceed carbohydrates_g")
        parts = (self.fat_g, self.carbohydrates_g, self.fibre_g, self.protein_g, self.salt_g)
        if sum(p for p in parts if p is not None) > 100.5:
            raise PydanticCustomError(
                "nutrition", "fat, carbohydrates, fibre, protein and salt exceed 100 g per 100 g"
            )
        if self.energy_kj is not None and self.energy_kcal is not None:
            expected = self.energy_kcal * 4.184
            if abs(self.energy_kj - expected) > max(10.0, 0.1 * expected):
                raise PydanticCustomError(
                    "nutrition", "energy_kj and energy_kcal disagree (1 kcal = 4.184 kJ)"
                )
        return self


class Lot(_Strict):
    batch: str = Field(pattern=LOT_PATTERN, description="GS1 AI (10): 1-20 characters of GS1 set 82")
    produced_on: Day | None = None
    best_before: Day | None = None
    use_by: Day | None = None
    production_place: Place | None = None
    quantity: int | None = Field(default=None, ge=0, le=1_000_000_000)

    @model_validator(mode="after")
    def _ordered(self) -> Lot:
        for name in ("best_before", "use_by"):
            end = getattr(self, name)
            if self.produced_on and end and end < self.produced_on:
                raise PydanticCustomError("date_order", f"{name} is before produced_on")
        return self


class IdentityCard(_Strict):
    """What a shopper sees about the product itself."""

    brand: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    traceability: list[TraceabilityStep] = Field(default_factory=list, max_length=50)
    production_places: list[Place] = Field(default_factory=list, max_length=50)
    manufacturing_time: Duration | None = None
    labour_cost_share_pct: float | None = Field(default=None, ge=0, le=100)
    carbon_footprint: CarbonFootprint | None = None
    nutrition_per_100g: Nutrition | None = None
    stock: int | None = Field(default=None, ge=0, le=1_000_000_000, description="units in stock")
    lots: list[Lot] = Field(default_factory=list, max_length=1000)

    @field_validator("lots")
    @classmethod
    def _unique_lots(cls, lots: list[Lot]) -> list[Lot]:
        batches = [lot.batch for lot in lots]
        if len(set(batches)) != len(batches):
            raise PydanticCustomError("lots", "each lot's batch must be unique")
        return lots


def _unique_variants(variants: list[str]) -> list[str]:
    if len(set(variants)) != len(variants):
        raise PydanticCustomError("variants", "a variant GTIN is listed twice")
    return variants


Variants = Annotated[list[Gtin], AfterValidator(_unique_variants), Field(max_length=50)]


class ProductUpdate(_Strict):
    """A new version of a product's card (a full replacement; the old version stays readable)."""

    name: str = Field(min_length=1, max_length=200)
    variants: Variants = Field(
        default_factory=list, description="other GTINs of the product (pack sizes ...)"
    )
    identity_card: IdentityCard = Field(default_factory=IdentityCard)


class ProductIn(_Strict):
    """A product to register: its GTIN (any of the 8/12/13/14-digit forms), name, variants and card."""

    gtin: Gtin
    name: str = Field(min_length=1, max_length=200)
    variants: Variants = Field(
        default_factory=list, description="other GTINs of the product (pack sizes ...)"
    )
    identity_card: IdentityCard = Field(default_factory=IdentityCard)

    @field_validator("variants")
    @classmethod
    def _variant_is_not_self(cls, variants: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("gtin") in variants:
            raise PydanticCustomError("variants", "a product's own GTIN cannot also be its variant")
        return variants


class ProductRegistered(BaseModel):
    gtin: str
    digital_link: str
    version: int
    ledger_index: int | None


class ProductSummary(BaseModel):
    gtin: str
    name: str
    version: int
    variants: list[str]
    digital_link: str
    updated_at: UtcDatetime


class ProductList(BaseModel):
    company_id: int
    total: int
    items: list[ProductSummary]


class ProductVersionSummary(BaseModel):
    version: int
    name: str
    card_sha256: str
    ledger_index: int | None
    created_at: UtcDatetime


class ProductVersionDetail(ProductVersionSummary):
    gtin: str
    company_id: int
    variants: list[str]
    identity_card: dict[str, Any]


class ScanRequest(msgspec.Struct, forbid_unknown_fields=True):
    """What a scanner read: a Digital Link URI, a GS1 element string or a GTIN's digits.

    A msgspec struct, Litestar's native type: this is the scan hot path, decoded and checked in one pass.
    """

    code: Annotated[
        str,
        msgspec.Meta(
            max_length=4096,
            examples=[
                "https://id.gs1.org/01/09520123456788/10/ABC1",
                "4006381333931",
                "(01)09520123456788(10)ABC1",
            ],
        ),
    ]
