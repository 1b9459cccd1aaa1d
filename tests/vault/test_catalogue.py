"""vault.catalogue: each field's validation, with a field-level reason when it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from vault import catalogue
from vault.errors import InvalidField


@pytest.mark.parametrize(
    ("name", "given", "stored"),
    [
        ("given_name", "  Jean   Pierre ", "Jean Pierre"),
        ("birth_date", "1990-02-28", "1990-02-28"),
        ("birth_date", "2000-02-29", "2000-02-29"),
        ("email", "Ada.Lovelace+vault@Example.ORG", "Ada.Lovelace+vault@example.org"),
        ("phone", "+33 6 12 34 56 78", "+33612345678"),
        ("phone", "0033 (6) 12-34-56-78", "+33612345678"),
        ("preferred_language", "fr", "fr"),
        ("preferred_language", "FR-ca", "fr-CA"),
        ("preferred_language", "zh-hant-TW", "zh-Hant-TW"),
        ("preferred_language", "gsw", "gsw"),
        ("nationality", "fr", "FR"),
        ("iban", "FR14 2004 1010 0505 0001 3M02 606", "FR1420041010050500013M02606"),
        ("custom.loyalty-card", " A-123 ", "A-123"),
        (
            "postal_address",
            {"street": "1 rue X", "postal_code": "69002", "city": "Lyon", "country": "fr"},
            {"street": "1 rue X", "postal_code": "69002", "city": "Lyon", "country": "FR"},
        ),
    ],
)
def test_accepted(name: str, given: Any, stored: Any) -> None:
    assert catalogue.normalise(name, given) == stored


@pytest.mark.parametrize(
    ("name", "given", "reason"),
    [
        ("given_name", "", "empty"),
        ("given_name", 42, "string"),
        ("given_name", "x" * 201, "at most"),
        ("given_name", "bad\x00name", "control"),
        ("birth_date", "1990-02-30", "real date"),
        ("birth_date", "2001-02-29", "real date"),
        ("birth_date", "30/01/1990", "YYYY-MM-DD"),
        ("birth_date", "2999-01-01", "future"),
        ("email", "not-an-email", "well-formed"),
        ("email", "a@b", "well-formed"),
        ("email", "a..b@example.org", "well-formed"),
        ("phone", "0612345678", "E.164"),
        ("phone", "+0612345678", "E.164"),
        ("phone", "+3361234567890123", "E.164"),
        ("preferred_language", "klingon-xx", "BCP 47"),
        ("preferred_language", "qq", "BCP 47"),
        ("nationality", "ZZ", "ISO 3166"),
        ("iban", "FR1420041010050500013M02607", "IBAN"),
        ("postal_address", "1 rue X, Lyon", "object"),
        ("postal_address", {"street": "1 rue X", "city": "Lyon", "country": "FR"}, "required"),
        (
            "postal_address",
            {"street": "1", "postal_code": "69002", "city": "Lyon", "country": "XX"},
            "ISO 3166",
        ),
        (
            "postal_address",
            {"street": "1", "postal_code": "6900$", "city": "Lyon", "country": "FR"},
            "postal code",
        ),
        (
            "postal_address",
            {"street": "1", "postal_code": "1", "city": "L", "country": "FR", "x": 1},
            "unknown",
        ),
        ("custom.note", "x" * 2001, "at most"),
    ],
)
def test_refused(name: str, given: Any, reason: str) -> None:
    with pytest.raises(InvalidField) as caught:
        catalogue.normalise(name, given)
    assert caught.value.status == 422
    assert any(reason in e.reason for e in caught.value.errors), caught.value.errors
    assert all(e.field.startswith("body.value") for e in caught.value.errors)


@pytest.mark.parametrize(
    "name", ["ssn", "custom.", "custom.UPPER", "custom.a/b", "custom." + "x" * 70, "Email"]
)
def test_unknown_names(name: str) -> None:
    assert not catalogue.is_valid_name(name)
    with pytest.raises(InvalidField):
        catalogue.normalise(name, "x")


def test_catalogue_has_the_required_fields() -> None:
    assert {
        "given_name",
        "family_name",
        "birth_date",
        "email",
        "phone",
        "postal_address",
        "preferred_language",
    } <= set(catalogue.CATALOGUE)
