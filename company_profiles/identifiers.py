"""Company identifiers, validated with python-stdnum: SIREN, SIRET, EU VAT, LEI; NACE rev. 2; ISO 3166 countries.

Every function returns the identifier's one normal form or raises ``InvalidIdentifier`` whose message is the
reason shown to the caller ("wrong check digit"). A registration identifier is written ``scheme:number``
(``siren:552100554``) wherever it is a single value: in civil-status indicators, attestations and the ledger.

Example::

    validate_registration("siren", "552 100 554")          # RegistrationId(scheme="siren", number="552100554")
    validate_registration("vat", "40303265045", country="FR")  # vat:FR40303265045
    validate_nace("4711")                                   # "47.11"
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from stdnum import lei
from stdnum.eu import nace, vat
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength, ValidationError
from stdnum.fr import siren, siret

__all__ = [
    "COUNTRIES",
    "SCHEMES",
    "InvalidIdentifier",
    "RegistrationId",
    "nace_label",
    "parse_registration",
    "validate_country",
    "validate_nace",
    "validate_registration",
]

SCHEMES = ("siren", "siret", "vat", "lei")
NACE_REVISIONS = ("2.1", "2.0")
_MAX_INPUT = 64

#: ISO 3166-1 alpha-2, officially assigned codes.
_ISO_3166_ALPHA_2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
    BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM
    FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT
    JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN
    MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT
    PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL
    TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRIES = frozenset(_ISO_3166_ALPHA_2.split())
#: Where SIREN and SIRET numbers are issued: metropolitan France and the overseas departments and collectivities
#: that use the French business register.
_SIRENE_COUNTRIES = frozenset({"FR", "GF", "GP", "MQ", "RE", "YT", "PM", "BL", "MF"})
#: VAT prefixes that are not the ISO code of their country.
_VAT_PREFIX_COUNTRY = {"EL": "GR", "XI": "GB"}
_COUNTRY_VAT_PREFIX = {"GR": "EL"}


class InvalidIdentifier(ValueError):
    """An identifier that fails its format or check digits; the message says which."""


@dataclass(frozen=True, slots=True)
class RegistrationId:
    scheme: str
    number: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.number}"

    def display(self) -> str:
        """The number as people write it (``SIREN 552 100 554``)."""
        if self.scheme == "siren":
            return f"SIREN {siren.format(self.number)}"
        if self.scheme == "siret":
            return f"SIRET {siret.format(self.number)}"
        if self.scheme == "vat":
            return f"TVA {self.number}"
        return f"LEI {self.number}"


def _reason(exc: ValidationError) -> str:
    if isinstance(exc, InvalidChecksum):
        return "wrong check digit"
    if isinstance(exc, InvalidLength):
        return "has the wrong length"
    if isinstance(exc, InvalidComponent):
        return "has an unknown component"
    return "has an invalid format"


def validate_registration(scheme: str, number: str, *, country: str | None = None) -> RegistrationId:
    """Check a registration number of ``scheme``; with ``country``, also that the number belongs there."""
    scheme = scheme.strip().lower()
    if scheme not in SCHEMES:
        raise InvalidIdentifier(f"unknown scheme {scheme[:16]!r}; expected one of {', '.join(SCHEMES)}")
    if not isinstance(number, str) or not number.strip() or len(number) > _MAX_INPUT:
        raise InvalidIdentifier("has an invalid format")
    country = country.upper() if country else None
    try:
        if scheme == "siren":
            compact = siren.validate(number)
        elif scheme == "siret":
            compact = siret.validate(number)
        elif scheme == "lei":
            compact = lei.validate(number)
        else:
            raw = "".join(number.split()).upper()
            if raw[:2].isdigit():
                if country is None:
                    raise InvalidIdentifier("must start with its country prefix, e.g. FR")
                raw = _COUNTRY_VAT_PREFIX.get(country, country) + raw
            compact = vat.validate(raw)
    except ValidationError as exc:
        raise InvalidIdentifier(_reason(exc)) from None
    if scheme in ("siren", "siret") and country is not None and country not in _SIRENE_COUNTRIES:
        raise InvalidIdentifier(f"a {scheme.upper()} number is issued in France only, not in {country}")
    if scheme == "vat" and country is not None:
        prefix = compact[:2]
        if _VAT_PREFIX_COUNTRY.get(prefix, prefix) != country:
            raise InvalidIdentifier(f"is a VAT number of {prefix}, not of {country}")
    return RegistrationId(scheme=scheme, number=compact)


def parse_registration(text: str) -> RegistrationId:
    """Read ``scheme:number`` (the indicator form) and validate it."""
    scheme, sep, number = text.strip().partition(":")
    if not sep:
        raise InvalidIdentifier("must be written scheme:number, e.g. siren:552100554")
    return validate_registration(scheme, number)


def validate_country(code: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper case."""
    normal = code.strip().upper() if isinstance(code, str) else ""
    if normal not in COUNTRIES:
        raise InvalidIdentifier("must be an ISO 3166-1 alpha-2 country code, e.g. FR")
    return normal


@lru_cache(maxsize=2048)
def _nace_revision(compact: str) -> str | None:
    """The newest NACE revision (2.1, then 2.0) in which ``compact`` is a code, or ``None``."""
    for revision in NACE_REVISIONS:
        try:
            nace.validate(compact, revision=revision)
        except ValidationError:
            continue
        return revision
    return None


def validate_nace(code: str) -> str:
    """A NACE rev. 2 division, group or class (``47``, ``47.1``, ``47.11``), written with its dot.

    Codes of NACE Rev. 2.1 (EU statistics since 2025) and of Rev. 2 (still on French registrations, NAF rev. 2)
    are both accepted during the transition.
    """
    if not isinstance(code, str) or len(code) > 16:
        raise InvalidIdentifier("must be a NACE rev. 2 code such as 47.11")
    try:
        compact = nace.compact(code)
    except ValidationError:
        raise InvalidIdentifier("must be a NACE rev. 2 code such as 47.11") from None
    if not compact.isdigit() or not 2 <= len(compact) <= 4:
        raise InvalidIdentifier("must be a NACE rev. 2 division, group or class such as 47.11")
    if _nace_revision(compact) is None:
        raise InvalidIdentifier("is not a NACE rev. 2 code")
    return compact if len(compact) == 2 else f"{compact[:2]}.{compact[2:]}"


@lru_cache(maxsize=2048)
def nace_label(code: str) -> str | None:
    """The English label of a NACE code (from the newest revision that has it), or ``None``."""
    compact = nace.compact(code)
    revision = _nace_revision(compact)
    if revision is None:
        return None
    label: str = nace.get_label(compact, revision=revision)
    return label
