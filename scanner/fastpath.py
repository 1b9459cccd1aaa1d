"""``POST /api/v1/scan`` answered ahead of Litestar's router when this worker has the card.

The shop's hot path: a code read by a till or a phone, a card already in the worker's cache. Two costs come
before the handler's few microseconds of work:

- the server's: Granian hands an ASGI body over through a future resolved on its Rust runtime, a cross-thread
  round trip with the GIL on both sides that a GET does not make. Measured on a bare ASGI app (2 workers, wrk 64
  connections, this repository's machine), a POST that reads its 24 bytes answers about 68 % as many requests
  as a GET; nothing in the app can take that back;
- the framework's: routing, the route's middleware, the handler's signature model and its response, about
  25 µs in-process, several times the card lookup itself.

``ScanFastPath`` sits in front of the router (it wraps ``Litestar.asgi_handler``, inside the app's ``__call__``,
so the ``before_send`` hooks still see every message). For ``POST /api/v1/scan`` with a declared length within
the app's body limit, it reads the body as ``sesame.bodies.WholeBodies`` would, then answers when the body
decodes as the route's ``ScanRequest`` and the code is a GTIN, or a Digital Link naming nothing but one
(``scanner.api.read_code``): it takes the card from the worker's cache as the route does (``CardCache.fresh``,
else ``CardCache.get``, which loads or revalidates it) and sends the route's own answer, the card's bytes with
the same pre-encoded headers.

Anything else (a lot or serial scanned, bad JSON, a wrong check digit, an unknown key or product, a chunked
body, a client gone mid-body, any error) goes on to Litestar with the body replayed, and is answered there:
errors keep their one mapping to problem JSON (``sesame.problems``), at the price of the route doing the
failed lookup again. ``tests/scanner/test_fastpath.py`` checks that for any body the fast path either passes it
on or answers byte for byte what the route answers.
"""

from __future__ import annotations

import msgspec
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from scanner import gs1
from scanner._response import PreEncoded
from scanner.api import JSON, card_cache, json_headers, read_code
from scanner.schemas import ScanRequest
from sesame.bodies import declared_length, read_whole

__all__ = ["SCAN_PATH", "ScanFastPath", "install"]

SCAN_PATH = "/api/v1/scan"


class ScanFastPath:
    """ASGI wrapper of the app's router: see the module's docstring. ``answered`` and ``passed`` count scans."""

    def __init__(self, app: Litestar, inner: ASGIApp) -> None:
        self.app = app
        self.inner = inner
        self.limit: int = app.state.settings.max_body_bytes
        self.base: str = app.state.settings.public_url
        self._decoder = msgspec.json.Decoder(ScanRequest)
        self.answered = 0
        self.passed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or scope["path"] != SCAN_PATH
            or scope["method"] != "POST"
            or scope.get("root_path")
        ):
            await self.inner(scope, receive, send)
            return
        declared = declared_length(scope["headers"])
        if declared is None or declared > self.limit:
            self.passed += 1
            await self.inner(scope, receive, send)
            return
        body, receive = await read_whole(receive, declared)
        answer = await self.answer(body) if body is not None else None
        if answer is None:
            self.passed += 1
            await self.inner(scope, receive, send)
            return
        self.answered += 1
        await answer(scope, receive, send)

    async def answer(self, body: bytes) -> PreEncoded | None:
        """The route's answer to ``body`` when it asks for a product's plain card, else ``None``."""
        try:
            code = self._decoder.decode(body).code
            gtin, link = read_code(code, "body.code")
            if link is not None and link != gs1.DigitalLink("01", gtin):
                return None  # a lot, a serial, a query: the route adds their context
            cache = card_cache(self.app.state)
            card = cache.fresh(gtin) or await cache.get(gtin)
        except Exception:  # whatever fails here is the route's to answer, with its problem JSON
            return None
        return PreEncoded(
            self.app, card.body, media_type=JSON, encoded=json_headers(card, self.app, self.base)
        )


def install(app: Litestar) -> ScanFastPath:
    """Put the fast path in front of ``app``'s router; returns it."""
    fast = ScanFastPath(app, app.asgi_handler)
    app.asgi_handler = fast
    return fast
