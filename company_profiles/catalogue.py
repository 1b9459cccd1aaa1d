"""The indicator catalogue: which indicators a civil status may carry, and how each value is checked.

The catalogue is data (``CATALOGUE_DATA`` below), read once into frozen ``Indicator`` records; adding an
indicator means adding one entry, not code. Values are JSON scalars, normalised so that equal facts compare
equal (``64`` and ``64.0`` are the same percentage, ``"fr"`` and ``"FR"`` the same country).

Kinds:

* ``number``  a finite JSON number within ``[minimum, maximum]`` (``integer`` ones must be whole)
* ``percent`` a number within 0–100, unit ``%``
* ``date``    an ISO 8601 calendar date ``YYYY-MM-DD`` (``founding_date`` may not be in the future)
* ``text``    a single line of at most ``max_length`` characters
* ``code``    a string checked against a code system: ``registration`` (``scheme:number``, see
  ``company_profiles.identifiers``), ``nace`` (NACE rev. 2) or ``iso3166`` (country, alpha-2)
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from company_profiles import identifiers

__all__ = [
    "CATALOGUE",
    "MANDATORY_KEYS",
    "Indicator",
    "IndicatorKind",
    "IndicatorValueError",
    "Value",
    "get",
    "is_known",
    "normalise_value",
]

#: A normalised indicator value: what is stored, signed in attestations and published in the ledger.
Value = int | float | str


class IndicatorKind(StrEnum):
    number = "number"
    percent = "percent"
    date = "date"
    text = "text"
    code = "code"


class IndicatorValueError(ValueError):
    """A value the catalogue refuses; the message is the field-level reason shown to the caller."""


@dataclass(frozen=True, slots=True)
class Indicator:
    key: str
    label_fr: str
    label_en: str
    kind: IndicatorKind
    unit: str | None = None
    mandatory: bool = False
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    max_length: int = 200
    code_system: str | None = None
    default_period: str | None = None
    default_method: str | None = None
    #: How long an attestation of this indicator stays valid unless the verifier says otherwise.
    attestation_days: int = 365
    unit_aliases: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""

    def accepts_unit(self, unit: str) -> bool:
        wanted = unit.strip()
        return wanted == self.unit or wanted.lower() in (a.lower() for a in self.unit_aliases)


# The catalogue itself. Mandatory indicators first, in the order the public profile shows them.
CATALOGUE_DATA: tuple[dict[str, Any], ...] = (
    {
        "key": "legal_name",
        "label_fr": "Dénomination sociale",
        "label_en": "Legal name",
        "kind": "text",
        "mandatory": True,
        "max_length": 200,
        "default_method": "registration record",
        "attestation_days": 730,
    },
    {
        "key": "registration_id",
        "label_fr": "Identifiant d'immatriculation",
        "label_en": "Registration identifier",
        "kind": "code",
        "code_system": "registration",
        "mandatory": True,
        "default_method": "registration record",
        "attestation_days": 730,
        "description": "scheme:number — siren, siret, vat (EU) or lei, check digits verified",
    },
    {
        "key": "founding_date",
        "label_fr": "Date de création",
        "label_en": "Founding date",
        "kind": "date",
        "mandatory": True,
        "default_method": "registration record",
        "attestation_days": 1825,
    },
    {
        "key": "tax_residence",
        "label_fr": "Résidence fiscale",
        "label_en": "Tax residence",
        "kind": "code",
        "code_system": "iso3166",
        "mandatory": True,
        "default_method": "tax registration",
        "attestation_days": 365,
    },
    {
        "key": "registered_address",
        "label_fr": "Adresse du siège",
        "label_en": "Registered address",
        "kind": "text",
        "mandatory": True,
        "max_length": 300,
        "default_method": "registration record",
        "attestation_days": 730,
    },
    {
        "key": "nace_sector",
        "label_fr": "Secteur d'activité (NACE)",
        "label_en": "Sector (NACE rev. 2)",
        "kind": "code",
        "code_system": "nace",
        "mandatory": True,
        "default_method": "registration record",
        "attestation_days": 730,
    },
    {
        "key": "headcount",
        "label_fr": "Effectif",
        "label_en": "Headcount",
        "kind": "number",
        "unit": "persons",
        "unit_aliases": ("people", "employees", "personnes", "salariés"),
        "minimum": 0,
        "maximum": 5_000_000,
        "integer": True,
        "default_period": "year-end",
        "default_method": "payroll count",
    },
    {
        "key": "employee_satisfaction",
        "label_fr": "Satisfaction des salariés",
        "label_en": "Employee satisfaction",
        "kind": "percent",
        "default_period": "annual",
        "default_method": "anonymous employee survey, share satisfied or very satisfied",
    },
    {
        "key": "carbon_footprint_per_employee",
        "label_fr": "Empreinte carbone par salarié",
        "label_en": "Carbon footprint per employee",
        "kind": "number",
        "unit": "tCO2e",
        "unit_aliases": ("tco2e/employee", "t co2e", "tonnes co2e"),
        "minimum": 0,
        "maximum": 100_000,
        "default_period": "annual",
        "default_method": "GHG Protocol, scopes 1–3, divided by average headcount",
    },
    {
        "key": "after_sales_staff_share",
        "label_fr": "Part des salariés au service après-vente",
        "label_en": "Share of staff in after-sales service",
        "kind": "percent",
        "default_period": "year-end",
        "default_method": "after-sales staff / headcount",
    },
    {
        "key": "gender_pay_index",
        "label_fr": "Index de l'égalité professionnelle",
        "label_en": "Gender pay equality index",
        "kind": "number",
        "unit": "points",
        "unit_aliases": ("pts", "/100"),
        "minimum": 0,
        "maximum": 100,
        "integer": True,
        "default_period": "annual",
        "default_method": "French Index de l'égalité professionnelle (Code du travail L1142-8)",
    },
    {
        "key": "local_production_share",
        "label_fr": "Part de la production locale",
        "label_en": "Share of local production",
        "kind": "percent",
        "default_period": "annual",
        "default_method": "production value made within 250 km / total production value",
    },
    {
        "key": "staff_turnover",
        "label_fr": "Taux de rotation du personnel",
        "label_en": "Staff turnover",
        "kind": "percent",
        "default_period": "annual",
        "default_method": "(departures + arrivals) / 2 / average headcount",
    },
    {
        "key": "women_in_management_share",
        "label_fr": "Part de femmes parmi les cadres dirigeants",
        "label_en": "Share of women in management",
        "kind": "percent",
        "default_period": "year-end",
    },
    {
        "key": "pay_ratio",
        "label_fr": "Écart entre la plus haute et la rémunération médiane",
        "label_en": "Highest to median pay ratio",
        "kind": "number",
        "unit": "ratio",
        "unit_aliases": ("x", "times"),
        "minimum": 1,
        "maximum": 10_000,
        "default_period": "annual",
    },
    {
        "key": "renewable_energy_share",
        "label_fr": "Part d'énergie renouvelable",
        "label_en": "Share of renewable energy",
        "kind": "percent",
        "default_period": "annual",
        "default_method": "renewable kWh / total kWh consumed",
    },
    {
        "key": "supplier_payment_days",
        "label_fr": "Délai moyen de paiement des fournisseurs",
        "label_en": "Average supplier payment delay",
        "kind": "number",
        "unit": "days",
        "unit_aliases": ("jours", "d"),
        "minimum": 0,
        "maximum": 365,
        "default_period": "annual",
    },
    {
        "key": "training_hours_per_employee",
        "label_fr": "Heures de formation par salarié",
        "label_en": "Training hours per employee",
        "kind": "number",
        "unit": "hours",
        "unit_aliases": ("h", "heures"),
        "minimum": 0,
        "maximum": 2_000,
        "default_period": "annual",
    },
)


def _load(data: tuple[dict[str, Any], ...]) -> dict[str, Indicator]:
    catalogue: dict[str, Indicator] = {}
    for entry in data:
        values = dict(entry)
        kind = IndicatorKind(values.pop("kind"))
        if kind is IndicatorKind.percent:
            values.setdefault("unit", "%")
            values.setdefault("unit_aliases", ("percent", "pct", "pourcent"))
            values.setdefault("minimum", 0)
            values.setdefault("maximum", 100)
        indicator = Indicator(kind=kind, **values)
        if indicator.key in catalogue:
            raise ValueError(f"duplicate indicator {indicator.key}")
        catalogue[indicator.key] = indicator
    return catalogue


#: Every indicator by key, in display order.
CATALOGUE: dict[str, Indicator] = _load(CATALOGUE_DATA)
MANDATORY_KEYS: tuple[str, ...] = tuple(k for k, i in CATALOGUE.items() if i.mandatory)
MIN_DATE = date(1400, 1, 1)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def is_known(key: str) -> bool:
    return key in CATALOGUE


def get(key: str) -> Indicator | None:
    return CATALOGUE.get(key)


def _number(indicator: Indicator, raw: object) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise IndicatorValueError("must be a number")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise IndicatorValueError("must be a finite number")
    low, high = indicator.minimum, indicator.maximum
    if (low is not None and raw < low) or (high is not None and raw > high):
        raise IndicatorValueError(f"must be between {_show(low)} and {_show(high)}")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if indicator.integer and not isinstance(raw, int):
        raise IndicatorValueError("must be a whole number")
    return raw


def _show(bound: float | None) -> str:
    if bound is None:
        return "∞"
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _text(indicator: Indicator, raw: object) -> str:
    if not isinstance(raw, str):
        raise IndicatorValueError("must be a string")
    text = " ".join(unicodedata.normalize("NFC", raw).split())
    if not text:
        raise IndicatorValueError("must not be empty")
    if len(text) > indicator.max_length:
        raise IndicatorValueError(f"must be at most {indicator.max_length} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in text):
        raise IndicatorValueError("must not contain control characters")
    return text


def _date(indicator: Indicator, raw: object, today: date | None) -> str:
    if not isinstance(raw, str) or not _ISO_DATE.fullmatch(raw.strip()):
        raise IndicatorValueError("must be a date as YYYY-MM-DD")
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        raise IndicatorValueError("is not a calendar date") from None
    if value < MIN_DATE:
        raise IndicatorValueError(f"must not be before {MIN_DATE.isoformat()}")
    if indicator.key == "founding_date" and today is not None and value > today:
        raise IndicatorValueError("must not be in the future")
    return value.isoformat()


def _code(indicator: Indicator, raw: object) -> str:
    if not isinstance(raw, str):
        raise IndicatorValueError("must be a string")
    try:
        if indicator.code_system == "registration":
            return str(identifiers.parse_registration(raw))
        if indicator.code_system == "nace":
            return identifiers.validate_nace(raw)
        if indicator.code_system == "iso3166":
            return identifiers.validate_country(raw)
    except identifiers.InvalidIdentifier as exc:
        raise IndicatorValueError(str(exc)) from None
    raise IndicatorValueError(f"unknown code system {indicator.code_system}")  # pragma: no cover


def normalise_value(indicator: Indicator, raw: object, *, today: date | None = None) -> Value:
    """Check ``raw`` against the indicator and return its one normal form; raises ``IndicatorValueError``."""
    if indicator.kind in (IndicatorKind.number, IndicatorKind.percent):
        return _number(indicator, raw)
    if indicator.kind is IndicatorKind.date:
        return _date(indicator, raw, today)
    if indicator.kind is IndicatorKind.code:
        return _code(indicator, raw)
    return _text(indicator, raw)
