"""Identifier validation (python-stdnum): valid numbers pass, one changed digit never does."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.iso7064 import mod_97_10

from company_profiles import identifiers
from company_profiles.identifiers import InvalidIdentifier

eight_digits = st.integers(min_value=0, max_value=99_999_999)
LA_POSTE = "356000000"  # SIRETs of La Poste use a different checksum (stdnum knows)


def with_luhn(digits: str) -> str:
    return digits + luhn.calc_check_digit(digits)


def change_one_digit(number: str, position: int, delta: int) -> str:
    index = position % len(number)
    changed = (int(number[index]) + delta) % 10
    return number[:index] + str(changed) + number[index + 1 :]


@given(body=eight_digits)
def test_valid_siren_is_accepted(body: int) -> None:
    siren = with_luhn(f"{body:08d}")
    assert identifiers.validate_registration("siren", siren, country="FR").number == siren


@given(body=eight_digits, position=st.integers(0, 8), delta=st.integers(1, 9))
def test_siren_with_a_changed_digit_is_rejected(body: int, position: int, delta: int) -> None:
    changed = change_one_digit(with_luhn(f"{body:08d}"), position, delta)
    with pytest.raises(InvalidIdentifier, match="check digit"):
        identifiers.validate_registration("siren", changed)


@given(body=eight_digits, establishment=st.integers(0, 9999))
def test_valid_siret_is_accepted(body: int, establishment: int) -> None:
    siren = with_luhn(f"{body:08d}")
    assume(siren != LA_POSTE)
    siret = with_luhn(f"{siren}{establishment:04d}")
    assert identifiers.validate_registration("siret", siret).number == siret


@given(
    body=eight_digits,
    establishment=st.integers(0, 9999),
    position=st.integers(0, 13),
    delta=st.integers(1, 9),
)
def test_siret_with_a_changed_digit_is_rejected(
    body: int, establishment: int, position: int, delta: int
) -> None:
    siren = with_luhn(f"{body:08d}")
    siret = with_luhn(f"{siren}{establishment:04d}")
    changed = change_one_digit(siret, position, delta)
    assume(not siret.startswith(LA_POSTE) and not changed.startswith(LA_POSTE))
    with pytest.raises(InvalidIdentifier):
        identifiers.validate_registration("siret", changed)


def french_vat(siren: str) -> str:
    key = (12 + 3 * (int(siren) % 97)) % 97
    return f"FR{key:02d}{siren}"


@given(body=eight_digits)
def test_french_vat_number_is_accepted_with_or_without_prefix(body: int) -> None:
    siren = with_luhn(f"{body:08d}")
    vat = french_vat(siren)
    assert identifiers.validate_registration("vat", vat, country="FR").number == vat
    assert identifiers.validate_registration("vat", vat[2:], country="FR").number == vat


@given(body=eight_digits, position=st.integers(2, 12), delta=st.integers(1, 9))
def test_french_vat_with_a_changed_digit_is_rejected(body: int, position: int, delta: int) -> None:
    vat = french_vat(with_luhn(f"{body:08d}"))
    changed = vat[:2] + change_one_digit(vat[2:], position - 2, delta)
    with pytest.raises(InvalidIdentifier):
        identifiers.validate_registration("vat", changed, country="FR")


@given(prefix=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=18, max_size=18))
def test_lei_with_computed_check_digits_is_accepted(prefix: str) -> None:
    lei = prefix + mod_97_10.calc_check_digits(prefix)
    assert identifiers.validate_registration("lei", lei).number == lei


def test_known_numbers() -> None:
    assert str(identifiers.validate_registration("siren", "552 100 554")) == "siren:552100554"
    assert identifiers.validate_registration("vat", "DE 136 695 976", country="DE").number == "DE136695976"
    assert identifiers.validate_registration("lei", "529900T8BM49AURSDO55").number == "529900T8BM49AURSDO55"
    assert identifiers.RegistrationId("siren", "552100554").display() == "SIREN 552 100 554"


@pytest.mark.parametrize(
    ("scheme", "number", "country", "reason"),
    [
        ("siren", "552100555", None, "check digit"),
        ("siren", "55210055", None, "length"),
        ("siren", "55210055A", None, "format"),
        ("siren", "552100554", "DE", "France only"),
        ("vat", "FR40303265045", "DE", "not of DE"),
        ("vat", "40303265045", None, "country prefix"),
        ("lei", "529900T8BM49AURSDO56", None, "check digit"),
        ("duns", "123456789", None, "unknown scheme"),
    ],
)
def test_invalid_numbers_say_why(scheme: str, number: str, country: str | None, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        identifiers.validate_registration(scheme, number, country=country)


@pytest.mark.parametrize(
    ("given_code", "expected"), [("47.11", "47.11"), ("4711", "47.11"), ("47", "47"), ("10.7", "10.7")]
)
def test_nace_codes_are_normalised(given_code: str, expected: str) -> None:
    assert identifiers.validate_nace(given_code) == expected


@pytest.mark.parametrize("code", ["99.99", "00", "G", "47.111", "", "abc", "4" * 40])
def test_unknown_nace_codes_are_rejected(code: str) -> None:
    with pytest.raises(InvalidIdentifier):
        identifiers.validate_nace(code)


def test_countries() -> None:
    assert identifiers.validate_country("fr") == "FR"
    for bad in ("XX", "EU", "FRA", "", "1F"):
        with pytest.raises(InvalidIdentifier):
            identifiers.validate_country(bad)
    assert len(identifiers.COUNTRIES) == 249
