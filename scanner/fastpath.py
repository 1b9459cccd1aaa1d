"""``POST /api/v1/scan`` answered ahead of Litestar's router when this worker has the card.

The shop's hot path: a code read by a till or a phone, a card already in the worker's cache. Two costs come
before the handler's few microseconds of work:

- the server's: Granian hands an ASGI body over through a future resolved on its Rust runtime, a cross-thread
  round trip with the GIL on both sides that a GET does not make. Measured on a bare ASGI app (2 workers, wrk 64
  connections, this repository's machine), a POST that reads its 24 bytes answers about 68 % as many requests
  as a GET; nothing in the app can take that back;
- the framework's: routing, the route's middleware, the handler's signature model and its response, about
  25 µs in-process, several times the card lookup itself.

``ScanFastPath`` sits between the app's exception handling and its router (inside ``Litestar.__call__``, so the
``before_send`` hooks still see every message, and with the route's exception handlers, so whatever it raises is
answered as the route would answer it: problem JSON from ``sesame.problems``). For ``POST /api/v1/scan`` with a
valid ``Host`` and a declared length within the app's body limit, it reads the body as
``sesame.bodies.WholeBodies`` would. When the body decodes as the route's ``ScanRequest`` and the code is a GTIN,
or a Digital Link naming nothing but one (``scanner.api.read_code``), it takes the card from the worker's cache
as the route does (``CardCache.fresh``, else ``CardCache.get``, which loads or revalidates it, or raises
``ProductNotFound``) and sends the route's own answer: the card's bytes with the same pre-encoded headers.

Anything else (a lot or serial scanned, bad JSON, a wrong check digit, an unknown key, a chunked body, a client
gone mid-body) goes on to the router with the body replayed, and the route answers it. ``install`` puts the fast
path in only if that skips nothing the route would do: no guard, hook, cookie, response header, cache or
middleware but ``WholeBodies`` on the route, no CORS, allowed hosts or compression on the app, the route outside
CSRF's checks; otherwise it logs why and leaves the app as it is. ``tests/scanner/test_fastpath.py`` checks that
for any body the fast path answers byte for byte what the route answers.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Litestar
from litestar._asgi.utils import is_valid_host  # the router's own check, so both refuse the same hosts
from litestar.enums import ScopeType
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware._internal.exceptions.middleware import ExceptionHandlerMiddleware
from litestar.types import ASGIApp, ExceptionHandlersMap, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from scanner import gs1
from scanner.api import ScanController, card_answer, card_cache, read_code
from scanner.errors import UnknownIdentifier, UnreadableCode
from scanner.schemas import ScanRequest
from sesame.bodies import WholeBodies, declared_length, read_whole

__all__ = ["SCAN_PATH", "ScanFastPath", "install", "what_it_would_skip"]

log = logging.getLogger(__name__)

SCAN_PATH = "/api/v1/scan"


class ScanFastPath:
    """ASGI app in front of the router: see the module's docstring.

    ``answered`` counts the scans it took to the end (a card sent, or a lookup error raised for the app's
    exception handlers to answer); ``passed``, those it handed to the router.
    """

    def __init__(self, app: Litestar, inner: ASGIApp, exception_handlers: ExceptionHandlersMap) -> None:
        self.app = app
        self.inner = inner
        self.exception_handlers = exception_handlers
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
        headers = scope["headers"]
        host = next((value for name, value in headers if name == b"host"), None)
        declared = declared_length(headers)
        settings = self.app.state.settings
        if (
            declared is None
            or declared > settings.max_body_bytes
            or (host is not None and not is_valid_host(host))
        ):
            self.passed += 1
            await self.inner(scope, receive, send)
            return
        ScopeState.from_scope(scope).exception_handlers = self.exception_handlers  # the route's, from here on
        body, receive = await read_whole(receive, declared)
        gtin = self.plain_gtin(body) if body is not None else None
        if gtin is None:
            self.passed += 1
            await self.inner(scope, receive, send)
            return
        self.answered += 1
        cache = card_cache(self.app.state)
        card = cache.fresh(gtin) or await cache.get(gtin)
        await card_answer(card, self.app, settings.public_url)(scope, receive, send)

    def plain_gtin(self, body: bytes) -> str | None:
        """The GTIN when ``body`` asks for a product's plain card; ``None`` for anything the route answers."""
        try:
            code = self._decoder.decode(body).code
            gtin, link = read_code(code, "body.code")
        except (msgspec.DecodeError, UnreadableCode, UnknownIdentifier):
            return None  # the route reads it again and answers with the field's reason
        if link is not None and link != gs1.DigitalLink("01", gtin):
            return None  # a lot, a serial, a query: the route adds their context
        return gtin


def what_it_would_skip(app: Litestar) -> list[str]:
    """What the route of ``POST /api/v1/scan`` would do that the fast path does not; empty when nothing."""
    try:
        handler = _scan_route(app)
    except (NotFoundException, MethodNotAllowedException):
        return [f"no route answers POST {SCAN_PATH}"]
    if (
        not isinstance(handler, HTTPRouteHandler)
        or getattr(handler.fn, "__func__", None) is not ScanController.scan.fn
    ):
        return [f"POST {SCAN_PATH} is not ScanController.scan"]
    skipped = []
    middleware = [getattr(m, "middleware", m) for m in handler.resolve_middleware()]
    if middleware != [WholeBodies]:
        skipped.append(f"the route's middleware {middleware}")
    if handler.resolve_guards():
        skipped.append("the route's guards")
    if handler.resolve_before_request() or handler.resolve_after_response():
        skipped.append("the route's before_request or after_response hook")
    if any(layer.after_request for layer in handler.ownership_layers):
        skipped.append("an after_request hook")
    if handler.resolve_response_cookies():
        skipped.append("the route's response cookies")
    app_headers = {header.name.lower() for header in app.response_headers or ()}
    if {header.name.lower() for header in handler.resolve_response_headers()} != app_headers:
        skipped.append("the route's own response headers")
    if handler.cache:
        skipped.append("the route's response cache")
    if app.cors_config or app.allowed_hosts or app.compression_config:
        skipped.append("the app's CORS, allowed hosts or compression")
    csrf = app.csrf_config
    if csrf is not None and not any(re.search(pattern, SCAN_PATH) for pattern in _patterns(csrf.exclude)):
        skipped.append("CSRF's check of the route")
    if not isinstance(app.asgi_handler, ExceptionHandlerMiddleware):
        skipped.append("a wrapper around the app's exception handling (OpenTelemetry?)")
    return skipped


def _scan_route(app: Litestar) -> Any:
    return app.asgi_router.handle_routing(SCAN_PATH, "POST")[1]


def _patterns(exclude: Any) -> list[str]:
    if exclude is None:
        return []
    return [exclude] if isinstance(exclude, str) else list(exclude)


def install(app: Litestar) -> ScanFastPath | None:
    """Put the fast path between ``app``'s exception handling and its router, if it skips nothing."""
    skipped = what_it_would_skip(app)
    if skipped:
        log.warning(
            "POST %s goes through the router: the fast path would skip %s", SCAN_PATH, "; ".join(skipped)
        )
        return None
    outer = app.asgi_handler
    assert isinstance(outer, ExceptionHandlerMiddleware)
    fast = ScanFastPath(app, outer.app, _scan_route(app).resolve_exception_handlers())
    outer.app = fast
    return fast
