"""French and English: negotiation, the switch, and catalogues that are complete and compiled."""

from __future__ import annotations

import io

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from sesame.web.i18n import LOCALE_DIR, compile_catalogues, negotiate, translator_for
from tests.web.conftest import Browser


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "fr"),
        (None, "en-GB,en;q=0.9", "en"),
        (None, "de-DE,de;q=0.9,en;q=0.5", "en"),
        (None, "de-DE", "fr"),
        (None, "fr;q=0.4,en;q=0.8", "en"),
        (None, "en;q=0", "fr"),
        ("en", "fr-FR", "en"),
        ("xx", "en", "en"),
    ],
)
def test_language_negotiation(cookie: str | None, header: str | None, expected: str) -> None:
    assert negotiate(cookie=cookie, accept_language=header) == expected


async def test_pages_speak_the_negotiated_language_and_the_switch_sticks(browser: Browser) -> None:
    english = await browser.get("/", headers={"Accept-Language": "en-US"})
    assert '<html lang="en">' in english.text and "Your data, your rules" in english.text
    assert english.headers["content-language"] == "en"
    switched = await browser.get("/lang/fr?next=/login", headers={"Accept-Language": "en-US"})
    assert str(switched.url).endswith("/login") and "Se connecter" in switched.text
    again = await browser.get("/", headers={"Accept-Language": "en-US"})
    assert '<html lang="fr">' in again.text


def _extracted() -> set[str | tuple[str, ...]]:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    method_map = [("sesame/web/**.py", "python"), ("sesame/templates/**.html", "jinja2")]
    ids: set[str | tuple[str, ...]] = set()
    for _, _, message, _, _ in extract_from_dir(
        str(root),
        method_map=method_map,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
    ):
        ids.add(message)
    return ids


def test_every_message_is_in_the_template_and_translated_to_french() -> None:
    pot = {m.id for m in read_po((LOCALE_DIR / "messages.pot").open("rb")) if m.id}
    missing = _extracted() - pot
    assert not missing, f"run the extraction (see sesame/locales/babel.cfg): {sorted(map(str, missing))[:10]}"
    french = read_po((LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po").open("rb"), locale="fr")
    untranslated = [
        m.id for m in french if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    assert not untranslated, untranslated[:10]
    assert {m.id for m in french if m.id} >= pot


def test_compiled_catalogues_match_their_sources() -> None:
    """Each ``.mo`` answers every message exactly as its ``.po`` does (else: run ``compile_catalogues()``)."""
    from babel.support import Translations

    from sesame.web.i18n import _mo_bytes

    for locale in ("fr", "en"):
        po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} is missing: run sesame.web.i18n.compile_catalogues()"
        shipped = Translations(io.BytesIO(mo.read_bytes()))
        fresh = Translations(io.BytesIO(_mo_bytes(po)))
        for message in read_po(po.open("rb"), locale=locale):
            if not message.id:
                continue
            if isinstance(message.id, tuple):
                for n in (1, 2):
                    assert shipped.ngettext(*message.id[:2], n) == fresh.ngettext(*message.id[:2], n), (
                        f"{mo} is stale"
                    )
            else:
                assert shipped.gettext(message.id) == fresh.gettext(message.id), f"{mo} is stale"
    assert compile_catalogues  # the one function that writes them


def test_placeholders_survive_translation() -> None:
    french = read_po((LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po").open("rb"), locale="fr")
    import re

    for message in french:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\((\w+)\)s", " ".join(ids)))
        for string in strings:
            assert set(re.findall(r"%\((\w+)\)s", string)) == wanted, message.id


def test_plurals_follow_french_rules() -> None:
    t = translator_for("fr")
    assert t.ngettext("%(n)s year", "%(n)s years", 0) == "0 an"
    assert t.ngettext("%(n)s year", "%(n)s years", 2) == "2 ans"
