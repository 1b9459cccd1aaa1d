"""The hot path's response: bytes encoded once, headers encoded once, sent as two ASGI events.

Litestar's ``Response`` rebuilds a header list for each response and scans it once per header it adds (to
merge the app's security headers, content type and length); with the eight headers a resolver answer carries,
that costs more than finding the card. ``PreEncoded`` sends the same headers, the app-level ones included
(read once from the app), so the resolver and ``POST /api/v1/scan`` answer like any other route, only cheaper.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.types import Receive, Scope, Send

__all__ = ["Headers", "PreEncoded", "app_headers", "encode_headers"]

#: A tuple of byte pairs: the collector stops tracking it after one pass, so the thousands a warm card cache
#: keeps cost its full passes nothing.
Headers = tuple[tuple[bytes, bytes], ...]
_APP_HEADERS: dict[int, list[tuple[bytes, bytes]]] = {}


def app_headers(app: Litestar) -> list[tuple[bytes, bytes]]:
    """The app-level response headers (``response_headers=``: the security headers), encoded once per app."""
    found = _APP_HEADERS.get(id(app))
    if found is None:
        found = [
            (header.name.lower().encode("latin-1"), str(header.value).encode("latin-1"))
            for header in app.response_headers or ()
            if not header.documentation_only and header.value is not None
        ]
        _APP_HEADERS[id(app)] = found
    return found


def encode_headers(
    app: Litestar, body: bytes, media_type: str, headers: dict[str, str] | None = None
) -> Headers:
    """Every header of a response of ``body``: content type and length, the app's, then ``headers``."""
    encoded = [
        (b"content-type", media_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode("latin-1")),
        *app_headers(app),
    ]
    if headers:
        encoded.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
    return tuple(encoded)


class PreEncoded:
    """An ASGI response of ready bytes; the body is left out for ``HEAD``.

    ``encoded`` takes a header list made once by ``encode_headers`` (a cached card keeps its own).
    """

    __slots__ = ("body", "headers", "status")

    def __init__(
        self,
        app: Litestar,
        body: bytes,
        *,
        media_type: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        encoded: Headers | None = None,
    ) -> None:
        self.body = body
        self.status = status
        self.headers = encoded if encoded is not None else encode_headers(app, body, media_type, headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Any = {"type": "http.response.start", "status": self.status, "headers": self.headers}
        await send(start)
        body = b"" if scope.get("method") == "HEAD" else self.body
        message: Any = {"type": "http.response.body", "body": body, "more_body": False}
        await send(message)
