"""The catalogue of vault fields: names, labels and the validation each value passes before it is sealed.

Catalogue fields have fixed names (``email``, ``postal_address`` ...); a citizen may add custom fields named
``custom.<slug>`` holding short text. ``normalise(name, value)`` returns the value to store or raises
``InvalidField`` with a field-level reason.

Example::

    normalise("phone", "+33 6 12 34 56 78")        # "+33612345678"
    normalise("birth_date", "1990-02-30")          # InvalidField: not a real date
    normalise("custom.loyalty-card", "A-123")      # "A-123"
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from sesame.errors import FieldError
from vault.errors import InvalidField

__all__ = ["CATALOGUE", "CUSTOM_PREFIX", "FieldSpec", "check_name", "is_valid_name", "normalise"]

CUSTOM_PREFIX = "custom."
_CUSTOM_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_POSTAL_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{0,14}[A-Za-z0-9]|[A-Za-z0-9]")
# RFC 5646 language tag, the common subset: language[-script][-region]*(-variant)
_BCP47 = re.compile(
    r"(?P<lang>[a-zA-Z]{2,3})(?:-(?P<script>[a-zA-Z]{4}))?(?:-(?P<region>[a-zA-Z]{2}|[0-9]{3}))?"
    r"(?:-(?:[a-zA-Z0-9]{5,8}|[0-9][a-zA-Z0-9]{3}))*"
)
_NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO"})
MAX_TEXT = 200
MAX_CUSTOM_TEXT = 2000


def _reason(reason: str) -> InvalidField:
    return InvalidField(FieldError("body.value", reason))


@cache
def _countries() -> frozenset[str]:
    from babel import Locale

    codes = [str(k) for k in Locale("en").territories]
    return frozenset(k for k in codes if len(k) == 2 and k.isalpha() and k not in _NOT_COUNTRIES)


@cache
def _languages() -> frozenset[str]:
    from babel import Locale

    codes = [str(k) for k in Locale("en").languages]
    return frozenset(k.lower() for k in codes if "_" not in k and k != "und")


def _text(value: Any, *, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise _reason("must be a string")
    text = " ".join(value.split()) if limit < MAX_CUSTOM_TEXT else value.strip()
    if not text:
        raise _reason("must not be empty")
    if len(text) > limit:
        raise _reason(f"must be at most {limit} characters")
    if _CONTROL.search(text):
        raise _reason("must not contain control characters")
    return text


def _name(value: Any) -> str:
    return _text(value)


def _birth_date(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise _reason("must be a date as YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _reason("is not a real date") from None
    if day > datetime.now(UTC).date():
        raise _reason("must not be in the future")
    if day.year < 1880:
        raise _reason("is too far in the past")
    return day.isoformat()


def _email(value: Any) -> str:
    if not isinstance(value, str):
        raise _reason("must be a string")
    text = value.strip()
    if len(text) > 254 or not _EMAIL.fullmatch(text) or ".." in text:
        raise _reason("is not a well-formed email address")
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def _phone(value: Any) -> str:
    if not isinstance(value, str):
        raise _reason("must be a string")
    compact = _PHONE_SEPARATORS.sub("", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _E164.fullmatch(compact):
        raise _reason("must be an international number in E.164 form, such as +33612345678")
    return compact


def _country(value: Any, where: str = "body.value") -> str:
    if not isinstance(value, str) or value.strip().upper() not in _countries():
        raise InvalidField(FieldError(where, "must be an ISO 3166-1 alpha-2 country code"))
    return value.strip().upper()


def _postal_address(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _reason("must be an object with street, postal_code, city, country")
    allowed = {"street", "postal_code", "city", "country", "region"}
    errors: list[FieldError] = []
    unknown = sorted(set(value) - allowed)
    if unknown:
        errors.append(FieldError("body.value", f"unknown parts: {', '.join(map(str, unknown))}"))
    out: dict[str, str] = {}
    for part in ("street", "postal_code", "city", "country", "region"):
        where = f"body.value.{part}"
        raw = value.get(part)
        if raw is None:
            if part != "region":
                errors.append(FieldError(where, "is required"))
            continue
        try:
            if part == "country":
                out[part] = _country(raw, where)
            elif part == "postal_code":
                code = raw.strip().upper() if isinstance(raw, str) else ""
                if not _POSTAL_CODE.fullmatch(code):
                    raise InvalidField(FieldError(where, "is not a postal code"))
                out[part] = code
            else:
                out[part] = _text(raw, limit=300 if part == "street" else 120)
        except InvalidField as exc:
            errors.extend(FieldError(where, e.reason) for e in exc.errors)
    if errors:
        raise InvalidField(errors)
    return out


def _language(value: Any) -> str:
    if not isinstance(value, str):
        raise _reason("must be a string")
    match = _BCP47.fullmatch(value.strip())
    if match is None or match["lang"].lower() not in _languages():
        raise _reason("must be a BCP 47 language tag, such as fr or fr-CA")
    # Canonical case (RFC 5646 §2.1.1): language lower, script title, region upper.
    parts = value.strip().split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) == 2 and part.isalpha():
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def _iban(value: Any) -> str:
    if not isinstance(value, str):
        raise _reason("must be a string")
    try:
        return str(stdnum_iban.validate(value))
    except StdnumError:
        raise _reason("is not a valid IBAN") from None


def _custom(value: Any) -> str:
    return _text(value, limit=MAX_CUSTOM_TEXT)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    label_en: str
    label_fr: str
    kind: str
    normalise: Callable[[Any], Any]


CATALOGUE: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("given_name", "Given name", "Prénom", "text", _name),
        FieldSpec("family_name", "Family name", "Nom de famille", "text", _name),
        FieldSpec("birth_date", "Date of birth", "Date de naissance", "date", _birth_date),
        FieldSpec("birth_place", "Place of birth", "Lieu de naissance", "text", _name),
        FieldSpec("nationality", "Nationality", "Nationalité", "country", _country),
        FieldSpec("email", "Email", "Courriel", "email", _email),
        FieldSpec("phone", "Phone", "Téléphone", "e164", _phone),
        FieldSpec("postal_address", "Postal address", "Adresse postale", "address", _postal_address),
        FieldSpec("preferred_language", "Preferred language", "Langue préférée", "bcp47", _language),
        FieldSpec("iban", "Bank account (IBAN)", "Compte bancaire (IBAN)", "iban", _iban),
    )
}


def is_valid_name(name: str) -> bool:
    if name in CATALOGUE:
        return True
    return name.startswith(CUSTOM_PREFIX) and bool(_CUSTOM_SLUG.fullmatch(name[len(CUSTOM_PREFIX) :]))


def check_name(name: str, where: str = "path.name") -> str:
    if not is_valid_name(name):
        raise InvalidField(
            FieldError(where, f"unknown field {name[:80]!r}: use a catalogue name or custom.<slug>")
        )
    return name


def normalise(name: str, value: Any) -> Any:
    """The value to store for ``name``, or ``InvalidField`` with a reason."""
    check_name(name)
    spec = CATALOGUE.get(name)
    return spec.normalise(value) if spec is not None else _custom(value)
