"""GS1 parsing against GS1's own examples (Digital Link URI Syntax standard, as tested by GS1's Barcode Syntax
Engine, gs1/gs1-syntax-engine ``src/c-lib/dl.c``), element strings, GTINs, and property-based round trips."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner import gs1
from scanner.errors import CheckDigitError, GS1SyntaxError

# (uri, expected (AI, value) pairs in GS1 order: primary, qualifiers, then attributes as given)
SPEC_VALID = [
    ("https://id.gs1.org/01/09520123456788", [("01", "09520123456788")]),
    ("https://brand.example.com/01/9520123456788", [("01", "09520123456788")]),
    ("https://brand.example.com/some-extra/pathinfo/01/9520123456788", [("01", "09520123456788")]),
    ("https://id.gs1.org/01/09520123456788/22/2A", [("01", "09520123456788"), ("22", "2A")]),
    ("https://id.gs1.org/01/09520123456788/10/ABC123", [("01", "09520123456788"), ("10", "ABC123")]),
    ("https://id.gs1.org/01/09520123456788/21/12345", [("01", "09520123456788"), ("21", "12345")]),
    (
        "https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426",
        [("01", "09520123456788"), ("10", "ABC1"), ("21", "12345"), ("17", "180426")],
    ),
    ("https://id.gs1.org/01/09520123456788?3103=000195", [("01", "09520123456788"), ("3103", "000195")]),
    (
        "https://example.com/01/9520123456788?3103=000195&3922=0299&17=201225",
        [("01", "09520123456788"), ("3103", "000195"), ("3922", "0299"), ("17", "201225")],
    ),
    ("https://id.gs1.org/00/952012345678912345", [("00", "952012345678912345")]),
    (
        "https://id.gs1.org/00/952012345678912345?02=09520123456788&37=25&10=ABC123",
        [("00", "952012345678912345"), ("02", "09520123456788"), ("37", "25"), ("10", "ABC123")],
    ),
    ("https://id.gs1.org/414/9520123456788", [("414", "9520123456788")]),
    ("https://id.gs1.org/414/9520123456788/254/32a%2Fb", [("414", "9520123456788"), ("254", "32a/b")]),
    (
        "https://example.com/8004/9520614141234567?01=9520123456788",
        [("8004", "9520614141234567"), ("01", "09520123456788")],
    ),
    (
        "https://id.gs1.org/01/09520123456788/235/XYZ?10=ABC123",
        [("01", "09520123456788"), ("235", "XYZ"), ("10", "ABC123")],
    ),
    # From the engine's own cases: escapes, "+" literal in the path, fragments, non-AI parameters, stems.
    (
        "https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ%2f987",
        [("01", "12312312312333"), ("22", "ABC-123"), ("99", "ABC"), ("98", "XYZ/987")],
    ),
    ("https://a/01/12312312312333/22/ABC+123", [("01", "12312312312333"), ("22", "ABC+123")]),
    (
        "https://a/01/12312312312333/22/test/10/abc/21/xyz#fragment",
        [("01", "12312312312333"), ("22", "test"), ("10", "abc"), ("21", "xyz")],
    ),
    (
        "https://a/01/12312312312333?singleton1&unknown1=555&99=ABC&singleton2&98=XYZ",
        [("01", "12312312312333"), ("99", "ABC"), ("98", "XYZ")],
    ),
    ("https://a/stem/00/006141411234567890?", [("00", "006141411234567890")]),
    ("https://a/8018/123456789012345675/8019/123", [("8018", "123456789012345675"), ("8019", "123")]),
    # GS1 Digital Link 1.0 short names, still printed on packs.
    (
        "https://id.gs1.org/gtin/09520123456788/lot/ABC1/ser/12345?exp=180426",
        [("01", "09520123456788"), ("10", "ABC1"), ("21", "12345"), ("17", "180426")],
    ),
]

SPEC_INVALID = [
    ("https://example.com/01/09520123456788?10=ABC123", "belongs in the path"),
    ("https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&01=09520123456788", "belongs in the path"),
    ("https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&10=ABC123", "belongs in the path"),
    ("https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&99=XYZ789", "more than once"),
    ("https://example.com/01/09520123456788/89/ABC123?99=XYZ", "unknown GS1 Application Identifier (89)"),
    ("https://example.com/01/09520123456788?99=XYZ&89=ABC123", "unknown GS1 Application Identifier (89)"),
    ("https://a/01/12312312312333?99=ABC&999=faux", "unknown GS1 Application Identifier (999)"),
    ("https://a/01/12312312312333?99=", "empty value"),
    ("https://a/stem/00/006141411234567890/", "empty path segment"),
    (
        "https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ+987",
        "does not match",
    ),  # "+" is a space in a query
    ("https://a/253/1231231231232TEST56789012345678", "does not match"),  # N13 X0..17, one too long
    ("https://id.gs1.org/01/09520123456788/21/12345/10/ABC1", "order 22, 10, 21"),
    ("https://id.gs1.org/01/09520123456788/10/A/10/B", "order 22, 10, 21"),
    ("https://id.gs1.org/01/09520123456788/8011/X", "not a key qualifier of (01)"),
    ("https://id.gs1.org/01/09520123456789", "check digit"),
    ("https://id.gs1.org/01/0952012345678A", "does not match"),
    ("https://id.gs1.org/01/09520123456788?17=999999", "not a valid date"),
    ("https://id.gs1.org/01/09520123456788/10/AB%20C", "does not match"),
    ("https://id.gs1.org/nothing/here", "primary key"),
    ("ftp://id.gs1.org/01/09520123456788", "http"),
    ("https:///01/09520123456788", "domain"),
    ("https://id.gs1.org/01/09520123456788/10/%FF", "UTF-8"),
]


def pairs(link: gs1.DigitalLink) -> list[tuple[str, str]]:
    return [(link.primary_ai, link.primary_value), *link.qualifiers, *link.attributes]


@pytest.mark.parametrize(("uri", "expected"), SPEC_VALID)
def test_gs1_specification_examples_parse(uri: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(gs1.parse_digital_link(uri)) == expected
    assert pairs(gs1.parse_scanned(uri)) == expected


@pytest.mark.parametrize(("uri", "reason"), SPEC_INVALID)
def test_gs1_specification_counter_examples_are_refused_with_the_reason(uri: str, reason: str) -> None:
    with pytest.raises(GS1SyntaxError) as raised:
        gs1.parse_digital_link(uri)
    assert reason in raised.value.reason


def test_non_gs1_query_parameters_are_kept_apart() -> None:
    link = gs1.parse_digital_link(
        "https://id.gs1.org/01/09520123456788?linkType=gs1:pip&17=201225&context=fr"
    )
    assert link.attributes == (("17", "201225"),)
    assert link.query_param("linkType") == "gs1:pip" and link.query_param("context") == "fr"


def test_resolver_paths_allow_no_stem() -> None:
    link = gs1.parse_resolver_path("/01/09520123456788/10/ABC1", "17=201225")
    assert (link.gtin, link.lot, link.attributes) == ("09520123456788", "ABC1", (("17", "201225"),))
    with pytest.raises(GS1SyntaxError, match="before the primary key"):
        gs1.parse_resolver_path("/01/09520123456788/414/9520123456788")


@pytest.mark.parametrize(
    ("text", "gtin", "lot", "attributes"),
    [
        ("(01)09520123456788(10)ABC(17)250101", "09520123456788", "ABC", (("17", "250101"),)),
        ("(01) 09520123456788 (17) 250101 (10) ABC", "09520123456788", "ABC", (("17", "250101"),)),
        ("0109520123456788\x1d10ABC123\x1d21XYZ", "09520123456788", "ABC123", ()),
        ("]d20109520123456788\x1d10ABC\x1d17250101", "09520123456788", "ABC", (("17", "250101"),)),
        ("]C1010952012345678817250101", "09520123456788", None, (("17", "250101"),)),
        ("]Q30109520123456788<GS>10L1", "09520123456788", "L1", ()),
        ("^010952012345678810ABC^17250101", "09520123456788", "ABC", (("17", "250101"),)),
        ("0109520123456788", "09520123456788", None, ()),
    ],
)
def test_element_strings(
    text: str, gtin: str, lot: str | None, attributes: tuple[tuple[str, str], ...]
) -> None:
    link = gs1.parse_scanned(text)
    assert (link.gtin, link.lot, link.attributes) == (gtin, lot, attributes)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("(01)09520123456788(23)x", "unknown GS1 Application Identifier (23)"),
        ("0109520123456788230x", "Failed to get GS1 Application Identifier"),
        ("(01)09520123456789", "check digit"),
        ("(01)09520123456788(10)A(10)B", "more than once"),
        ("(17)250101(10)ABC", "no GS1 primary key"),
        ("(01)09520123456788(17)250231", "not a valid date"),
    ],
)
def test_bad_element_strings(text: str, reason: str) -> None:
    with pytest.raises(GS1SyntaxError) as raised:
        gs1.parse_scanned(text)
    assert reason in raised.value.reason


@pytest.mark.parametrize(
    ("text", "gtin14"),
    [
        ("4006381333931", "04006381333931"),  # EAN-13 under a barcode
        ("4 006381 333931", "04006381333931"),  # typed with the printed spaces
        ("400-6381-333931", "04006381333931"),
        ("96385074", "00000096385074"),  # GTIN-8
        ("614141123452", "00614141123452"),  # GTIN-12 (UPC-A)
        ("10614141123459", "10614141123459"),  # GTIN-14 case
        ("]E04006381333931", "04006381333931"),  # EAN-13 with its symbology identifier
    ],
)
def test_gtins_normalise_to_14_digits(text: str, gtin14: str) -> None:
    assert gs1.parse_scanned(text) == gs1.DigitalLink("01", gtin14)


@pytest.mark.parametrize(
    ("text", "error", "reason"),
    [
        ("4006381333932", CheckDigitError, "should be 1, not 2"),
        ("09520123456789", CheckDigitError, "should be 8, not 9"),
        ("12345", GS1SyntaxError, "8, 12, 13 or 14 digits"),
        ("123456789", GS1SyntaxError, "8, 12, 13 or 14 digits"),
        ("hello", GS1SyntaxError, "not a GS1 code"),
        ("", GS1SyntaxError, "empty"),
        ("   ", GS1SyntaxError, "empty"),
        ("4" * 5000, GS1SyntaxError, "at most 2048"),
        ("https://x.example/" + "a/" * 1500 + "01/09520123456788", GS1SyntaxError, "at most 2048"),
        ("０１２３４５６７８９０１２", GS1SyntaxError, "not a GS1 code"),  # full-width digits
    ],
)
def test_bad_codes_say_why(text: str, error: type[GS1SyntaxError], reason: str) -> None:
    with pytest.raises(error) as raised:
        gs1.parse_scanned(text)
    assert reason in raised.value.reason


def test_normalise_gtin_and_fast_path_agree() -> None:
    assert gs1.normalise_gtin("09520123456788") == "09520123456788"
    assert gs1.fast_gtin14("09520123456788") == "09520123456788"
    assert gs1.fast_gtin14("09520123456789") is None
    assert gs1.fast_gtin14("0952012345678") is None
    with pytest.raises(GS1SyntaxError, match="digits only"):
        gs1.normalise_gtin("0952012345678x")


@pytest.mark.parametrize(
    ("gtin", "problem"),
    [
        ("00000000000000", "all-zero"),
        ("02123456789096", "Restricted Circulation"),  # prefix 212: restricted circulation (RCN)
        ("09520123456788", None),
        ("03760000000420", None),
    ],
)
def test_registration_refuses_numbers_that_are_not_trade_items(gtin: str, problem: str | None) -> None:
    found = gs1.registration_problem(gs1.normalise_gtin(gtin))
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_digital_link_builder_percent_encodes_and_orders() -> None:
    uri = gs1.digital_link("https://s.example/", "09520123456788", serial="A/1", lot="L 1", cpv="2A")
    assert uri == "https://s.example/01/09520123456788/22/2A/10/L%201/21/A%2F1"
    link = gs1.DigitalLink("01", "09520123456788", (("10", "X"),), (("3103", "000195"), ("17", "201225")))
    assert link.uri("https://s.example") == "https://s.example/01/09520123456788/10/X?17=201225&3103=000195"


def test_attributes_are_described_for_people() -> None:
    assert gs1.describe_attribute("17", "250200") == {
        "ai": "17",
        "title": "USE BY or EXPIRY",
        "value": "250200",
        "date": "2025-02-28",  # day 00 means the month's last day
    }
    assert gs1.describe_attribute("3103", "000195")["decimal"] == "0.195"


# -- property-based round trips ----------------------------------------------------------------------------------

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


@st.composite
def gtins(draw: st.DrawFn) -> str:
    length = draw(st.sampled_from([8, 12, 13, 14]))
    payload = draw(st.text("0123456789", min_size=length - 1, max_size=length - 1))
    return payload + str(gs1.gtin_check_digit(payload))


lots = st.text(CSET82, min_size=1, max_size=20)


@given(gtin=gtins())
def test_every_form_of_a_gtin_normalises_to_the_same_14_digits(gtin: str) -> None:
    normal = gs1.normalise_gtin(gtin)
    assert len(normal) == 14 and normal.lstrip("0") == gtin.lstrip("0")
    assert gs1.parse_scanned(gtin).gtin == normal
    wrong = gtin[:-1] + str((int(gtin[-1]) + 1) % 10)
    with pytest.raises(CheckDigitError):
        gs1.normalise_gtin(wrong)


@given(
    gtin=gtins(),
    lot=st.none() | lots,
    serial=st.none() | lots,
    expiry=st.none() | st.dates(dt.date(2000, 1, 1), dt.date(2049, 12, 31)),
)
def test_digital_link_and_element_string_round_trips(
    gtin: str, lot: str | None, serial: str | None, expiry: dt.date | None
) -> None:
    attributes = (("17", expiry.strftime("%y%m%d")),) if expiry else ()
    uri = gs1.digital_link(
        "https://any.example/shop", gs1.normalise_gtin(gtin), lot=lot, serial=serial, attributes=attributes
    )
    link = gs1.parse_scanned(uri)
    assert (link.gtin, link.lot, link.serial, link.attributes) == (
        gs1.normalise_gtin(gtin),
        lot,
        serial,
        attributes,
    )
    hri = "".join(
        f"({ai}){value}" for ai, value in (("01", link.gtin or ""), *link.qualifiers, *link.attributes)
    )
    if "(" not in (lot or "") + (serial or "") and ")" not in (lot or "") + (serial or ""):
        again = gs1.parse_scanned(hri)
        assert (again.gtin, again.lot, again.serial) == (link.gtin, lot, serial)
    raw = "\x1d".join(
        f"{ai}{value}" for ai, value in (("01", link.gtin or ""), *link.qualifiers, *link.attributes)
    )
    again = gs1.parse_scanned("]d2" + raw)
    assert (again.gtin, again.lot, again.serial, again.attributes) == (link.gtin, lot, serial, attributes)


@given(text=st.text(max_size=300))
def test_arbitrary_text_either_parses_or_says_why(text: str) -> None:
    try:
        link = gs1.parse_scanned(text)
    except GS1SyntaxError as exc:
        assert exc.reason
    else:
        assert link.primary_ai in gs1.PRIMARY_KEYS
