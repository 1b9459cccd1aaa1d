"""French and English: Babel catalogues under ``sesame/locales``, chosen from a cookie, else Accept-Language.

Message ids are English; ``en`` has an empty catalogue (ids are shown as they are), ``fr`` translates them.
Catalogues are compiled ``.mo`` files; when a ``.po`` is newer than its ``.mo`` (a translator just edited it),
the ``.po`` is compiled in memory instead, so a stale ``.mo`` never hides a translation.

Example::

    translator = translator_for("fr")
    translator.gettext("Log in")                      # "Se connecter"
    negotiate(cookie=None, accept_language="en-GB,fr;q=0.5")  # "en"
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = [
    "DEFAULT_LOCALE",
    "LANG_COOKIE",
    "LOCALES",
    "LOCALE_DIR",
    "Translator",
    "compile_catalogues",
    "negotiate",
    "translator_for",
]

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locales"
LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
LANG_COOKIE = "sesame_lang"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a message for extraction without translating it now."""
    return message


def _po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def _mo_bytes(po: Path) -> bytes:
    with po.open("rb") as source:
        catalog = read_po(source, locale=po.parent.parent.name)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def compile_catalogues() -> list[Path]:
    """Write each ``.mo`` from its ``.po`` (what ``pybabel compile`` does); returns the files written."""
    written: list[Path] = []
    for locale in LOCALES:
        po = _po_path(locale)
        if po.exists():
            mo = po.with_suffix(".mo")
            mo.write_bytes(_mo_bytes(po))
            written.append(mo)
    return written


class Translator:
    """The translations of one locale, with %-formatting done after translation."""

    __slots__ = ("_translations", "locale")

    def __init__(self, locale: str, translations: NullTranslations) -> None:
        self.locale = locale
        self._translations = translations

    def gettext(self, message: str, /, **values: Any) -> str:
        text = self._translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        text = self._translations.ngettext(singular, plural, n)
        return text % {"n": n, **values}

    __call__ = gettext


@cache
def translator_for(locale: str) -> Translator:
    """The translator of ``locale`` (one of ``LOCALES``; anything else gets the default)."""
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    po = _po_path(locale)
    mo = po.with_suffix(".mo")
    translations: NullTranslations
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            translations = Translations(handle, domain=DOMAIN)
    elif po.exists():
        translations = Translations(io.BytesIO(_mo_bytes(po)), domain=DOMAIN)
    else:
        translations = NullTranslations()
    return Translator(locale, translations)


def _accepted(header: str) -> list[tuple[float, str]]:
    ranked: list[tuple[float, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag:
            # Stable order for equal weights: earlier in the header wins.
            ranked.append((quality - position * 1e-6, tag.strip().lower()))
    return sorted(ranked, reverse=True)


def negotiate(*, cookie: str | None, accept_language: str | None) -> str:
    """The page language: the switch's cookie if valid, else the best Accept-Language match, else French."""
    if cookie in LOCALES:
        return cookie
    for quality, tag in _accepted(accept_language or "")[:20]:
        if quality <= 0:
            continue
        primary = tag.split("-", 1)[0]
        if primary in LOCALES:
            return primary
    return DEFAULT_LOCALE
