"""Jinja2 rendering of the pages: one environment, the per-request context, static URLs with a content hash.

Pages are rendered here rather than through Litestar's ``Template`` response so the resolver of ``scanner`` can
render the product page without a web request (``render_product_page``), with the same templates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal
from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response
from litestar.enums import MediaType

from sesame.accounts.services import Principal
from sesame.web.i18n import LANG_COOKIE, LOCALES, negotiate, translator_for
from sesame.web.session import csrf_token

__all__ = ["STATIC_DIR", "TEMPLATE_DIR", "environment", "page", "render_to_string", "request_locale"]

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
#: Times are shown in the platform's time zone (a server-rendered page cannot know the reader's).
DISPLAY_TZ = ZoneInfo("Europe/Paris")


@cache
def _static_version(name: str) -> str:
    path = (STATIC_DIR / name).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise FileNotFoundError(name)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """``/static/<name>?v=<hash>``: safe to cache for a year, changes when the file does."""
    return f"/static/{name}?v={_static_version(name)}"


def _number(value: Any, locale: str, digits: int = 2) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=locale)


def _date(value: Any, locale: str, style: str = "medium") -> str:
    if isinstance(value, str):
        text = value
        try:
            value = (
                datetime.fromisoformat(text.replace("Z", "+00:00"))
                if "T" in text
                else date.fromisoformat(text)
            )
        except ValueError:
            return text
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        if style == "medium":  # day and minute, no seconds: "23 nov. 2026, 15:48"
            day = format_date(moment.astimezone(DISPLAY_TZ).date(), format="medium", locale=locale)
            return f"{day}, {format_time(moment, format='short', tzinfo=DISPLAY_TZ, locale=locale)}"
        return format_datetime(moment, format=style, tzinfo=DISPLAY_TZ, locale=locale)
    if isinstance(value, date):
        return format_date(value, format=style, locale=locale)
    return "" if value is None else str(value)


def _day(value: Any) -> Any:
    """The calendar day of a datetime (or of its ISO text), for places where the time is noise."""
    if isinstance(value, str) and "T" in value:
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(DISPLAY_TZ).date()
    return value


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "svg", "xml"], default_for_string=True),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    env.globals["LOCALES"] = LOCALES
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    return env


def base_context(
    lang: str, *, path: str = "/", viewer: Principal | None = None, csrf: str = ""
) -> dict[str, Any]:
    translator = translator_for(lang)
    return {
        "lang": translator.locale,
        "_": translator.gettext,
        "gettext": translator.gettext,
        "ngettext": translator.ngettext,
        "number": lambda value, digits=2: _number(value, translator.locale, digits),
        "fmt_date": lambda value, style="medium": _date(value, translator.locale, style),
        "fmt_day": lambda value, style="medium": _date(_day(value), translator.locale, style),
        "viewer": viewer,
        "csrf_token": csrf,
        "path": path,
    }


def render_to_string(template: str, context: Mapping[str, Any]) -> str:
    return environment().get_template(template).render(**context)


def request_locale(request: Request[Any, Any, Any]) -> str:
    return negotiate(
        cookie=request.cookies.get(LANG_COOKIE), accept_language=request.headers.get("accept-language")
    )


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    viewer: Principal | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response[str]:
    """An HTML page in the viewer's language; private (never cached by a shared cache) once signed in."""
    lang = request_locale(request)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    full = base_context(lang, path=path, viewer=viewer, csrf=csrf_token(request))
    full.update(context)
    body = render_to_string(template, full)
    headers = {"Content-Language": lang, "Vary": "Cookie, Accept-Language"}
    headers["Cache-Control"] = "private, no-store" if viewer is not None else "no-cache"
    return Response(body, status_code=status_code, media_type=MediaType.HTML, headers=headers)
