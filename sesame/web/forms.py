"""Small helpers for HTML forms: read a posted form, answer with a redirect (post/redirect/get)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie

from sesame.db import MAX_ID

__all__ = ["end_of_day", "first_values", "form_dict", "form_id", "form_lists", "redirect"]

MAX_FIELD = 10_000


async def form_dict(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The posted fields, first value of each, as text (uploads excluded), each cut at ``MAX_FIELD``."""
    form = await request.form()
    return {key: value[:MAX_FIELD] for key, value in form.items() if isinstance(value, str)}


async def form_lists(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    """Every value of every field (checkbox groups), as text."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value[:MAX_FIELD])
    return out


def first_values(lists: dict[str, list[str]]) -> dict[str, str]:
    """The first value of each field read by ``form_lists`` (fields without a value left out)."""
    return {key: values[0] for key, values in lists.items() if values}


def end_of_day(text: str) -> datetime:
    """The last second (UTC) of a day typed in a form as ``YYYY-MM-DD``: valid through that day.

    Raises ``ValueError`` when the text is not a date.
    """
    day = datetime.fromisoformat(text).date()
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def form_id(text: str | None) -> int:
    """A row id typed in a form; anything else (text, a sign, past ``MAX_ID``) is 0, which matches no row."""
    text = (text or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID:
        return int(text)
    return 0


def redirect(location: str, *, cookies: list[Cookie] | None = None) -> Response[Any]:
    """303 See Other: the browser follows with a GET, so a reload never re-posts the form."""
    return Response(content=None, status_code=303, headers={"Location": location}, cookies=cookies)
