"""GS1 identifiers: GTINs, element strings and Digital Link URIs, read with biip and normalised.

Everything a scanner can hand us comes through :func:`parse_scanned` and leaves as one :class:`DigitalLink`
(a primary key, its key qualifiers in GS1's order, data attributes, and any non-GS1 query parameters):

* a GS1 Digital Link URI on any domain, with any path stem, numeric AIs or the older short names
  (``/gtin/``, ``/lot/``, ``?exp=``);
* a bracketed element string ``(01)09520123456788(10)ABC1``;
* raw GS1 data as a scanner emits it: FNC1 as ASCII GS (0x1D), ``<GS>`` or ``^``, optionally behind a
  symbology identifier (``]d2``, ``]C1``, ``]Q3``);
* GTIN-8/12/13/14 digits, as printed under a barcode (spaces and hyphens allowed).

biip validates every element string (formats, dates, check digits). The Digital Link rules biip leaves out are
checked here, after GS1's own syntax engine: key qualifiers only in the allowed order, no key qualifier in the
query string, no unknown or repeated AI, no empty value. Errors carry GS1's reason; the resolver answers them with
400 and ``/api/v1/scan`` with 422 (:class:`~scanner.errors.GS1SyntaxError` vs a field error).

Example::

    link = parse_scanned("https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426")
    link.gtin, link.lot, link.serial, link.attributes   # '09520123456788', 'ABC1', '12345', (('17', '180426'),)
    digital_link("https://sesame.example", link.gtin, lot="ABC1")
    # 'https://sesame.example/01/09520123456788/10/ABC1'
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, unquote_plus, urlencode, urlsplit

from biip import ParseConfig, ParseError
from biip.gs1_application_identifiers import _GS1_APPLICATION_IDENTIFIERS as _AIS
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin

from scanner.errors import CheckDigitError, GS1SyntaxError

__all__ = [
    "MAX_CODE_LENGTH",
    "PRIMARY_KEYS",
    "DigitalLink",
    "check_value",
    "describe_attribute",
    "digital_link",
    "fast_gtin14",
    "gtin_check_digit",
    "normalise_gtin",
    "parse_digital_link",
    "parse_element_string",
    "parse_resolver_path",
    "parse_scanned",
    "registration_problem",
]

#: Longer input is refused before any parsing (a Digital Link QR code holds far less).
MAX_CODE_LENGTH = 2048

#: GS1 primary keys allowed in a Digital Link path, each with its key-qualifier sequences (GS1 Digital Link URI
#: Syntax 1.4): a path may use any ordered subsequence of one sequence.
PRIMARY_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "01": (("22", "10", "21"), ("235",)),
    "8006": (("22", "10", "21"),),
    "8013": (),
    "8010": (("8011",),),
    "414": (("254",), ("7040",)),
    "415": (("8020",),),
    "417": (("7040",),),
    "8017": (("8019",),),
    "8018": (("8019",),),
    "8004": (("7040",),),
    "255": (),
    "00": (),
    "253": (),
    "401": (),
    "402": (),
    "8003": (),
}

#: The short names of GS1 Digital Link 1.0/1.1 ("convenience alphas"), still printed on packs in the wild.
_PATH_ALPHAS = {
    "gtin": "01",
    "itip": "8006",
    "gmn": "8013",
    "cpid": "8010",
    "gln": "414",
    "payTo": "415",
    "party": "417",
    "gsrnp": "8017",
    "gsrn": "8018",
    "gcn": "255",
    "sscc": "00",
    "gdti": "253",
    "ginc": "401",
    "gsin": "402",
    "grai": "8003",
    "giai": "8004",
    "cpv": "22",
    "lot": "10",
    "ser": "21",
    "tpx": "235",
    "cpsn": "8011",
    "glnx": "254",
    "refNo": "8020",
    "srin": "8019",
}
_QUERY_ALPHAS = {"exp": "17", "bbd": "15", "pkg": "13", "sellBy": "16", "expdt": "7003"}

#: Symbology identifiers (ISO/IEC 15424) whose data is a GS1 element string.
_GS1_SYMBOLOGIES = ("]C1", "]e0", "]e1", "]e2", "]d2", "]Q3", "]J1")
_EAN_SYMBOLOGIES = ("]E0", "]E1", "]E2", "]E3", "]E4", "]X0")
_CONFIG = ParseConfig(separator_chars=("\x1d",))
_HRI = re.compile(r"\((\d{2,4})\)([^()]*)")
_NON_GS1_USAGES = ("Restricted Circulation", "Coupon", "coupon", "Refund receipts")


@dataclass(frozen=True, slots=True)
class DigitalLink:
    """One GS1 identification: a primary key, its key qualifiers, data attributes and other query parameters."""

    primary_ai: str
    primary_value: str
    qualifiers: tuple[tuple[str, str], ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    #: Query parameters that are not GS1 AIs (``linkType``, ``context``, ``lang`` ...).
    extras: tuple[tuple[str, str], ...] = ()

    @property
    def gtin(self) -> str | None:
        return self.primary_value if self.primary_ai == "01" else None

    def qualifier(self, ai: str) -> str | None:
        return next((value for key, value in self.qualifiers if key == ai), None)

    @property
    def cpv(self) -> str | None:
        return self.qualifier("22")

    @property
    def lot(self) -> str | None:
        return self.qualifier("10")

    @property
    def serial(self) -> str | None:
        return self.qualifier("21")

    def query_param(self, name: str) -> str | None:
        return next((value for key, value in self.extras if key == name), None)

    def path(self) -> str:
        """The Digital Link path: ``/01/{gtin}[/22/..][/10/..][/21/..]``, values percent-encoded."""
        parts = [f"/{self.primary_ai}/{quote(self.primary_value, safe='')}"]
        parts.extend(f"/{ai}/{quote(value, safe='')}" for ai, value in self.qualifiers)
        return "".join(parts)

    def uri(self, base: str, *, with_attributes: bool = True) -> str:
        """This identification as a Digital Link URI on ``base`` (attributes sorted, as GS1's canonical form)."""
        uri = base.rstrip("/") + self.path()
        if with_attributes and self.attributes:
            uri += "?" + urlencode(sorted(self.attributes))
        return uri


# --- GTINs -------------------------------------------------------------------------------------------------


def gtin_check_digit(payload: str) -> int:
    """GS1 mod-10 check digit of ``payload`` (the digits before the check digit)."""
    digits = payload.encode("ascii")
    tripled, single = digits[-1::-2], digits[-2::-2]  # weights 3, 1, 3 ... from the right
    return -(3 * (sum(tripled) - 48 * len(tripled)) + sum(single) - 48 * len(single)) % 10


def fast_gtin14(text: str) -> str | None:
    """``text`` if it is exactly 14 ASCII digits with a right check digit, else ``None``; no allocation.

    The resolver's and the scan endpoint's hot path: the common case skips biip entirely.
    """
    if (
        len(text) == 14
        and text.isascii()
        and text.isdigit()
        and gtin_check_digit(text[:13]) == ord(text[13]) - 48
    ):
        return text
    return None


def normalise_gtin(text: str) -> str:
    """A GTIN-8/12/13/14 as its 14-digit form; raises ``CheckDigitError`` or ``GS1SyntaxError`` with the reason."""
    value = text.strip()
    fast = fast_gtin14(value)
    if fast is not None:
        return fast
    if not (value.isascii() and value.isdigit()):
        raise GS1SyntaxError(f"a GTIN is made of digits only, got {_show(value)}")
    if len(value) not in (8, 12, 13, 14):
        raise GS1SyntaxError(f"a GTIN has 8, 12, 13 or 14 digits, got {len(value)}")
    try:
        return Gtin.parse(value, config=_CONFIG).as_gtin_14()
    except ParseError as exc:
        if "check digit" in str(exc):
            raise CheckDigitError(_check_digit_reason(value)) from exc
        raise GS1SyntaxError(str(exc)) from exc


def registration_problem(gtin14: str) -> str | None:
    """Why ``gtin14`` cannot be registered as a trade item (restricted circulation, coupons ...), or ``None``."""
    if set(gtin14) == {"0"}:
        return "an all-zero GTIN identifies nothing"
    try:
        parsed = Gtin.parse(gtin14, config=_CONFIG)
    except ParseError as exc:  # pragma: no cover - callers normalise first
        return str(exc)
    usage = parsed.prefix.usage if parsed.prefix is not None else None
    if usage is None:
        return "this GTIN's GS1 prefix is not allocated"
    if any(word in usage for word in _NON_GS1_USAGES):
        return f"GS1 prefix {parsed.prefix.value if parsed.prefix else ''} is for {usage}, not trade items"
    return None


def _check_digit_reason(digits: str) -> str:
    expected = gtin_check_digit(digits[:-1])
    return f"wrong check digit in GTIN {digits}: the last digit should be {expected}, not {digits[-1]}"


# --- element strings ---------------------------------------------------------------------------------------


def _show(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _element(ai: str, value: str) -> GS1ElementString:
    """Validate one (AI, value) pair with biip; GS1's reason on failure."""
    definition = _AIS.get(ai)
    if definition is None:
        raise GS1SyntaxError(f"unknown GS1 Application Identifier ({ai})")
    if ai == "01" and value.isascii() and value.isdigit() and len(value) in (8, 12, 13):
        value = value.zfill(14)  # zero-suppressed GTINs, allowed in Digital Link paths
    try:
        element = GS1ElementString.parse(ai + value, config=_CONFIG)
    except ParseError as exc:
        message = str(exc)
        if "date" in message or "YYMMDD" in definition.description:
            raise GS1SyntaxError(
                f"AI ({ai}) {definition.data_title}: {_show(value)} is not a valid date (YYMMDD)"
            ) from exc
        raise GS1SyntaxError(
            f"AI ({ai}) {definition.data_title}: {_show(value)} does not match GS1 format {definition.format}"
        ) from exc
    if element.gtin_error:
        raise CheckDigitError(_check_digit_reason(element.value) if ai == "01" else element.gtin_error)
    if element.sscc_error:
        raise CheckDigitError(element.sscc_error)
    if element.gln_error:
        raise CheckDigitError(element.gln_error)
    return element


def check_value(ai: str, value: str) -> str:
    """``value`` if it is valid for AI ``ai`` (format, date, check digit); ``GS1SyntaxError`` otherwise."""
    return _element(ai, value).value


def _assemble(pairs: list[tuple[str, str]], extras: tuple[tuple[str, str], ...] = ()) -> DigitalLink:
    """Arrange validated (AI, value) pairs of an element string around its primary key."""
    seen: set[str] = set()
    for ai, _value in pairs:
        if ai in seen:
            raise GS1SyntaxError(f"AI ({ai}) appears more than once")
        seen.add(ai)
    primaries = [ai for ai, _ in pairs if ai in PRIMARY_KEYS]
    if not primaries:
        raise GS1SyntaxError("no GS1 primary key (such as a GTIN, AI (01)) in the element string")
    primary = "01" if "01" in primaries else primaries[0]
    values = dict(pairs)
    sequences = PRIMARY_KEYS[primary]
    chosen = next(
        (seq for seq in sequences if any(ai in values for ai in seq)), sequences[0] if sequences else ()
    )
    qualifiers = tuple((ai, values[ai]) for ai in chosen if ai in values)
    used = {primary, *(ai for ai, _ in qualifiers)}
    attributes = tuple((ai, value) for ai, value in pairs if ai not in used)
    return DigitalLink(primary, values[primary], qualifiers, attributes, extras)


def parse_element_string(text: str) -> DigitalLink:
    """A bracketed ``(01)…(10)…`` string, or raw GS1 data with FNC1 separators (GS, ``<GS>``, ``^``)."""
    value = text.strip()
    if value.startswith("("):
        compact = "".join(value.split())
        matches: list[tuple[str, str]] = _HRI.findall(compact)
        if not matches or "".join(f"({ai}){v}" for ai, v in matches) != compact:
            raise GS1SyntaxError("expected a bracketed element string such as (01)09520123456788(10)ABC1")
        return _assemble([(ai, _element(ai, v).value) for ai, v in matches])
    if value[:3] in _GS1_SYMBOLOGIES:
        value = value[3:]
    value = value.replace("<GS>", "\x1d").replace("{GS}", "\x1d").replace("{GS1}", "")
    value = value.lstrip("^").replace("^", "\x1d").strip("\x1d")
    if not value:
        raise GS1SyntaxError("empty element string")
    if not value.isprintable() and any(c != "\x1d" and not c.isprintable() for c in value):
        raise GS1SyntaxError("control characters other than the GS separator are not allowed")
    try:
        message = GS1Message.parse(value, config=_CONFIG)
    except ParseError as exc:
        raise GS1SyntaxError(str(exc)) from exc
    return _assemble([(e.ai.ai, _element(e.ai.ai, e.value).value) for e in message.element_strings])


# --- Digital Link URIs -------------------------------------------------------------------------------------


def _path_ai(key: str) -> str | None:
    if key.isascii() and key.isdigit():
        return key if key in _AIS else None
    return _PATH_ALPHAS.get(key)


def _qualifier_sequence(primary: str, qualifiers: list[str]) -> tuple[str, ...]:
    """The allowed sequence that ``qualifiers`` follow in order, or a ``GS1SyntaxError`` saying why not."""
    sequences = PRIMARY_KEYS[primary]
    if not qualifiers:
        return sequences[0] if sequences else ()
    allowed = [ai for seq in sequences for ai in seq]
    for ai in qualifiers:
        if ai not in allowed:
            listed = ", ".join(allowed) if allowed else "none"
            raise GS1SyntaxError(f"({ai}) is not a key qualifier of ({primary}); allowed: {listed}")
    for seq in sequences:
        positions = [seq.index(ai) for ai in qualifiers if ai in seq]
        if len(positions) == len(qualifiers):
            if positions == sorted(positions) and len(set(positions)) == len(positions):
                return seq
            order = ", ".join(seq)
            raise GS1SyntaxError(
                f"key qualifiers of ({primary}) must come in the order {order}, each at most once; "
                f"got {', '.join(qualifiers)}"
            )
    raise GS1SyntaxError(f"key qualifiers {', '.join(qualifiers)} cannot be combined on ({primary})")


def _parse_query(
    query: str, primary: str, reserved: set[str]
) -> tuple[list[tuple[str, str]], tuple[tuple[str, str], ...]]:
    attributes: list[tuple[str, str]] = []
    extras: list[tuple[str, str]] = []
    seen = set(reserved)
    for part in query.split("&"):
        if not part:
            continue
        raw_key, _, raw_value = part.partition("=")
        key, value = unquote_plus(raw_key), unquote_plus(raw_value)
        ai = key if key.isascii() and key.isdigit() else _QUERY_ALPHAS.get(key)
        if ai is None:
            extras.append((key, value))
            continue
        if ai not in _AIS:
            raise GS1SyntaxError(f"unknown GS1 Application Identifier ({ai}) in the query string")
        if ai in reserved:
            where = "is the primary key" if ai == primary else f"is a key qualifier of ({primary})"
            raise GS1SyntaxError(f"AI ({ai}) {where} and belongs in the path, not the query string")
        if ai in seen:
            raise GS1SyntaxError(f"AI ({ai}) appears more than once")
        if not value:
            raise GS1SyntaxError(f"AI ({ai}) has an empty value in the query string")
        seen.add(ai)
        attributes.append((ai, value))
    return attributes, tuple(extras)


def _parse_path(path: str, query: str, *, stem_allowed: bool) -> DigitalLink:
    if len(path) + len(query) > MAX_CODE_LENGTH:
        raise GS1SyntaxError(f"a Digital Link URI is at most {MAX_CODE_LENGTH} characters")
    if not path.startswith("/"):
        raise GS1SyntaxError("expected a path such as /01/{gtin}")
    segments = path[1:].split("/")
    if "" in segments:
        raise GS1SyntaxError("empty path segment (a trailing or doubled slash)")
    # Walk from the end in (key, value) pairs until the primary key: the stem before it may hold anything.
    pairs: list[tuple[str, str]] = []
    end = len(segments)
    primary: str | None = None
    while end >= 2:
        ai = _path_ai(segments[end - 2])
        if ai is None:
            break
        pairs.insert(0, (ai, segments[end - 1]))
        end -= 2
        if ai in PRIMARY_KEYS:
            primary = ai
            break
    if primary is None:
        unknown = next((s for s in segments[::2] if s.isdigit() and s not in _AIS), None)
        if unknown is not None:
            raise GS1SyntaxError(f"unknown GS1 Application Identifier ({unknown}) in the path")
        raise GS1SyntaxError(
            "expected a GS1 primary key and its value in the path, such as /01/{gtin}[/10/{lot}][/21/{serial}]"
        )
    if end and not stem_allowed:
        raise GS1SyntaxError(f"unexpected path segments before the primary key ({primary})")
    decoded = [(ai, unquote(value, errors="strict")) for ai, value in pairs]
    qualifier_ais = [ai for ai, _ in decoded[1:]]
    sequence = _qualifier_sequence(primary, qualifier_ais)
    query_pairs, extras = _parse_query(query, primary, {primary, *sequence, *qualifier_ais})
    elements = [(ai, _element(ai, value).value) for ai, value in decoded]
    attributes = tuple((ai, _element(ai, value).value) for ai, value in query_pairs)
    return DigitalLink(elements[0][0], elements[0][1], tuple(elements[1:]), attributes, extras)


def parse_digital_link(uri: str) -> DigitalLink:
    """A GS1 Digital Link URI on any domain and path stem (``https://id.gs1.org/01/…``, ``https://x.example/p/01/…``)."""
    if len(uri) > MAX_CODE_LENGTH:
        raise GS1SyntaxError(f"a Digital Link URI is at most {MAX_CODE_LENGTH} characters")
    try:
        parts = urlsplit(uri.strip())
    except ValueError as exc:
        raise GS1SyntaxError(f"not a URI: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise GS1SyntaxError("a GS1 Digital Link URI starts with http:// or https://")
    if not parts.netloc:
        raise GS1SyntaxError("a GS1 Digital Link URI needs a domain name")
    try:
        return _parse_path(parts.path, parts.query, stem_allowed=True)
    except UnicodeDecodeError as exc:
        raise GS1SyntaxError("a percent-encoded value is not valid UTF-8") from exc


def parse_resolver_path(path: str, query: str = "") -> DigitalLink:
    """The path and query a request reached the resolver with (``/01/…``, no stem; raw, still percent-encoded)."""
    try:
        return _parse_path(path, query, stem_allowed=False)
    except UnicodeDecodeError as exc:
        raise GS1SyntaxError("a percent-encoded value is not valid UTF-8") from exc


def parse_scanned(code: str) -> DigitalLink:
    """Whatever a scanner, a camera or a person produced: a URI, an element string, or GTIN digits."""
    text = code.strip()
    if not text:
        raise GS1SyntaxError("the code is empty")
    if len(text) > MAX_CODE_LENGTH:
        raise GS1SyntaxError(f"a code is at most {MAX_CODE_LENGTH} characters, got {len(text)}")
    if text[:3] in _EAN_SYMBOLOGIES or text[:3] in ("]Q1", "]d1"):
        text = text[3:]
    head = text[:8].lower()
    if head.startswith(("http://", "https://")):
        return parse_digital_link(text)
    if text.startswith("("):
        return parse_element_string(text)
    compact = text.replace(" ", "").replace("-", "")
    if compact.isascii() and compact.isdigit() and len(compact) <= 14:
        return DigitalLink("01", normalise_gtin(compact))
    if text[:3] in _GS1_SYMBOLOGIES or text[0] in "^\x1d" or (text[:2].isascii() and text[:2].isdigit()):
        return parse_element_string(text)
    raise GS1SyntaxError(
        "not a GS1 code: expected a GS1 Digital Link URI, a GS1 element string or a GTIN's 8 to 14 digits"
    )


def digital_link(
    base: str,
    gtin: str,
    *,
    cpv: str | None = None,
    lot: str | None = None,
    serial: str | None = None,
    attributes: tuple[tuple[str, str], ...] = (),
) -> str:
    """``{base}/01/{gtin14}[/22/{cpv}][/10/{lot}][/21/{serial}][?attributes]``, values percent-encoded."""
    qualifiers = tuple((ai, v) for ai, v in (("22", cpv), ("10", lot), ("21", serial)) if v is not None)
    return DigitalLink("01", gtin, qualifiers, attributes).uri(base)


def describe_attribute(ai: str, value: str) -> dict[str, Any]:
    """A data attribute for people: its GS1 data title, the raw value, and the date when it is one."""
    definition = _AIS.get(ai)
    out: dict[str, Any] = {"ai": ai, "title": definition.data_title if definition else ai, "value": value}
    try:
        element = GS1ElementString.parse(ai + value, config=_CONFIG)
    except ParseError:
        return out
    if isinstance(element.date, dt.date):
        out["date"] = element.date.isoformat()
    if element.decimal is not None:
        out["decimal"] = str(element.decimal)
    return out
