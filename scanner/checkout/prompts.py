"""The question on the citizen's phone, in the citizen's language (French or English).

    >>> sentence(
    ...     [Indicator("employee_satisfaction", "Satisfaction des employés", "Employee satisfaction",
    ...                64, "%", "attested", True, True)],
    ...     "en",
    ... )
    'Employee satisfaction at this company is 64%. Confirm the payment?'

French follows French typography: a no-break space before ``%``, ``?`` and ``:``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, format_decimal

from scanner.checkout.parties import Indicator

NBSP = "\u00a0"
LANGUAGES = ("fr", "en")

#: Sentences written for an indicator, disclosed and not; others use the generic form with their label.
_TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "employee_satisfaction": {
        "fr": (
            "Le taux de satisfaction des employés de cette entreprise est de {value}.",
            f"Taux de satisfaction des employés de cette entreprise{NBSP}: non communiqué.",
        ),
        "en": (
            "Employee satisfaction at this company is {value}.",
            "Employee satisfaction at this company: not disclosed.",
        ),
    },
}
_GENERIC = {
    "fr": (f"{{label}}{NBSP}: {{value}}.", f"{{label}}{NBSP}: non communiqué."),
    "en": ("{label}: {value}.", "{label}: not disclosed."),
}
_QUESTION = {"fr": f"Voulez-vous valider votre paiement{NBSP}?", "en": "Confirm the payment?"}
_SELF_DECLARED = {"fr": "auto-déclaré", "en": "self-declared"}
_LOCALES = {"fr": "fr_FR", "en": "en_GB"}
#: Units of the indicator catalogue, in French; the others read the same in both languages.
_UNITS_FR = {"persons": "personnes", "days": "jours", "hours": "heures", "years": "ans"}


def language_of(preferred: str | None) -> str:
    """``fr`` for any French tag (``fr``, ``fr-BE``), ``en`` otherwise."""
    tag = (preferred or "fr").strip().lower().replace("_", "-")
    return "fr" if tag.split("-", 1)[0] == "fr" else "en"


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def format_value(value: object, unit: str | None, language: str) -> str:
    number = _number(value)
    text = str(value) if number is None else format_decimal(number, locale=_LOCALES[language])
    if not unit:
        return text
    if unit == "%":
        return f"{text}{NBSP}%" if language == "fr" else f"{text}%"
    if unit == "ratio":
        return text
    if language == "fr":
        unit = _UNITS_FR.get(unit, unit)
    return f"{text}{NBSP}{unit}"


def indicator_sentence(indicator: Indicator, language: str) -> str:
    disclosed_form, hidden_form = _TEMPLATES.get(indicator.key, _GENERIC)[language]
    label = indicator.label_fr if language == "fr" else indicator.label_en
    if not indicator.disclosed or indicator.value is None:
        return hidden_form.format(label=label)
    text = disclosed_form.format(label=label, value=format_value(indicator.value, indicator.unit, language))
    if not indicator.verified:
        text = f"{text[:-1]} ({_SELF_DECLARED[language]})."
    return text


def sentence(indicators: Sequence[Indicator], language: str) -> str:
    """Every highlighted indicator, then the question."""
    language = language_of(language)
    parts = [indicator_sentence(indicator, language) for indicator in indicators]
    parts.append(_QUESTION[language])
    return " ".join(parts)


def format_amount(amount: Decimal, currency: str, language: str) -> str:
    return format_currency(amount, currency, locale=_LOCALES[language_of(language)])
