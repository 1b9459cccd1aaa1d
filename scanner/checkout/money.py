"""Amounts as integer minor units, currencies from ISO 4217 with their minor-unit exponent.

>>> to_minor("12.5", "EUR"), to_minor("1500", "JPY"), to_decimal_string(1250, "EUR")
(1250, 1500, '12.50')
"""

from __future__ import annotations

import re
from decimal import Decimal

#: Active ISO 4217 currencies usable for a payment (no funds, precious metals or test codes).
_TWO_DECIMALS = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF "
    "CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL "
    "HTG HUF ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU "
    "MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR "
    "SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED "
    "VES WST XCD XCG YER ZAR ZMW ZWG"
)
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"

CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMALS.split(), 2),
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
}

#: Up to 12 integer digits (a trillion in any currency is not a till's business).
_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,11})(?:\.([0-9]{1,3}))?$")


class AmountError(ValueError):
    pass


def is_currency(code: str) -> bool:
    return code in CURRENCY_EXPONENTS


def to_minor(text: str, currency: str) -> int:
    """``"12.50"`` EUR → ``1250``; more decimals than the currency has, a sign or an exponent → error."""
    exponent = CURRENCY_EXPONENTS.get(currency)
    if exponent is None:
        raise AmountError(f"{currency!r} is not an ISO 4217 currency code")
    match = _AMOUNT.match(text)
    if match is None:
        raise AmountError("must be a non-negative decimal number such as 12.50")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > exponent:
        raise AmountError(f"{currency} has {exponent} decimal place{'s' if exponent != 1 else ''} at most")
    minor: int = int(whole) * 10**exponent + (int(fraction.ljust(exponent, "0")) if exponent else 0)
    return minor


def to_decimal(minor: int, currency: str) -> Decimal:
    exponent = CURRENCY_EXPONENTS[currency]
    return Decimal(minor).scaleb(-exponent)


def to_decimal_string(minor: int, currency: str) -> str:
    exponent = CURRENCY_EXPONENTS[currency]
    return f"{to_decimal(minor, currency):.{exponent}f}"
