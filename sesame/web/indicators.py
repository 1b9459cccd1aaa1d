"""How indicators read on a page: labels in the page's language, values with units, badges, history charts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from company_profiles import catalogue, identifiers
from company_profiles import services as profiles
from company_profiles.schemas import IndicatorView
from sesame.web.charts import Chart, line_chart
from sesame.web.i18n import N_, Translator, translator_for

__all__ = [
    "BADGES",
    "HistoryPoint",
    "IndicatorRow",
    "badge_for",
    "history",
    "indicator_rows",
    "label",
    "show_value",
]

#: Verification state → (badge style, badge text).
BADGES = {
    "attested": ("ok", N_("Verified")),
    "expired": ("warn", N_("Attestation expired")),
    "revoked": ("bad", N_("Attestation revoked")),
    "refused": ("bad", N_("Refused by the verifier")),
    "self_declared": ("none", N_("Self-declared, not verified")),
    "undisclosed": ("none", N_("Not disclosed")),
}
#: Units of the catalogue, marked for translation (shown after numbers).
UNITS = (N_("persons"), N_("days"), N_("hours"), N_("points"), N_("ratio"), N_("tCO2e"))
#: How many past versions the history charts read at most.
HISTORY_VERSIONS = 24


def badge_for(state: str) -> tuple[str, str]:
    return BADGES.get(state, BADGES["self_declared"])


def label(key: str, lang: str) -> str:
    indicator = catalogue.get(key)
    if indicator is None:
        return key
    return indicator.label_fr if lang == "fr" else indicator.label_en


@cache
def _territories(lang: str) -> dict[str, str]:
    return dict(Locale.parse(lang).territories)


def show_value(key: str, value: Any, unit: str | None, lang: str) -> str:
    """A value as a person reads it: ``64 %``, ``12,5 tCO2e``, ``France (FR)``, ``47.11 Supermarkets``."""
    if value is None:
        return "—"
    indicator = catalogue.get(key)
    kind = indicator.kind.value if indicator else ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = format_decimal(value, format="#,##0.##", locale=lang)
        if unit == "%":
            return f"{text}\u202f%" if lang == "fr" else f"{text}%"
        unit_text = translator_for(lang).gettext(unit) if unit else ""
        return f"{text} {unit_text}".strip()
    text = str(value)
    if kind == "date":
        try:
            return format_date(date.fromisoformat(text), format="long", locale=lang)
        except ValueError:
            return text
    if indicator is not None and indicator.code_system == "iso3166":
        name = _territories(lang).get(text.upper())
        return f"{name} ({text})" if name else text
    if indicator is not None and indicator.code_system == "nace":
        nace = identifiers.nace_label(text)
        return f"{text} — {nace}" if nace else text
    if indicator is not None and indicator.code_system == "registration":
        try:
            return identifiers.parse_registration(text).display()
        except identifiers.InvalidIdentifier:
            return text
    return text


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    version: int
    filed_at: Any
    value: Any
    shown: str


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    key: str
    label: str
    shown: str
    view: IndicatorView
    badge_style: str
    badge_text: str
    history: list[HistoryPoint]
    chart: Chart | None


async def history(db: AsyncSession, company_id: int) -> dict[str, list[tuple[int, Any, Any]]]:
    """Per indicator key: ``(version, filed_at, value)`` for each of the last versions that disclosed it."""
    summaries = (await profiles.versions(db, company_id))[-HISTORY_VERSIONS:]
    series: dict[str, list[tuple[int, Any, Any]]] = {}
    for summary in summaries:
        detail = await profiles.version_detail(db, company_id, summary.version)
        for key, content in detail.indicators.items():
            series.setdefault(key, []).append((summary.version, summary.filed_at, content.get("value")))
    return series


def _describer(t: Translator, key: str, unit: str | None, lang: str) -> Callable[[int, float], str]:
    def describe(version: int, value: float) -> str:
        return t.gettext(
            "Version %(version)s: %(value)s", version=version, value=show_value(key, value, unit, lang)
        )

    return describe


def indicator_rows(
    views: list[IndicatorView], past: dict[str, list[tuple[int, Any, Any]]], lang: str
) -> list[IndicatorRow]:
    t = translator_for(lang)
    rows: list[IndicatorRow] = []
    for view in views:
        name = label(view.key, lang)
        points = [
            HistoryPoint(
                version=v, filed_at=at, value=value, shown=show_value(view.key, value, view.unit, lang)
            )
            for v, at, value in past.get(view.key, [])
        ]
        numeric = [
            (p.version, float(p.value), f"v{p.version}")
            for p in points
            if isinstance(p.value, int | float) and not isinstance(p.value, bool)
        ]
        chart = None
        if view.kind in ("number", "percent") and numeric:
            chart = line_chart(
                numeric,
                title=t.gettext("%(indicator)s, by civil-status version", indicator=name),
                unit=view.unit,
                chart_id=f"chart-{view.key}",
                describe=_describer(t, view.key, view.unit, lang),
                floor_zero=True,
            )
        style, text = badge_for(view.state.value)
        rows.append(
            IndicatorRow(
                key=view.key,
                label=name,
                shown=show_value(view.key, view.value, view.unit, lang),
                view=view,
                badge_style=style,
                badge_text=t.gettext(text),
                history=points,
                chart=chart,
            )
        )
    return rows
