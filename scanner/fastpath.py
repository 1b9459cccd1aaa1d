"""The card's two hot paths answered ahead of Litestar's router when this worker has the card.

The shop's moments: a code read by a till or a phone (``POST /api/v1/scan``), or a Digital Link followed by an
app asking for JSON (``GET /01/{gtin}``, ``Accept: application/json``), a card already in the worker's cache.
Around the card lookup's few microseconds, the framework spends several times as much: routing, the route's
middleware, the handler's signature model and its response (about 25 µs for the scan, 50 µs for the
resolver's GET, in-process). And a POST pays the server's cost of a body: Granian hands it over through a
future resolved on its Rust runtime, a cross-thread round trip with the GIL on both sides that a GET does not
make (on a bare ASGI app, 2 workers, wrk 64 connections, a POST reading 24 bytes answers about 68 % as many
requests as a GET); nothing in the app can take that back.

``CardFastPath`` sits between the app's exception handling and its router (inside ``Litestar.__call__``, so the
``before_send`` hooks still see every message), with the route's exception handlers, so whatever it raises is
answered as the route would answer it (problem JSON from ``sesame.problems``). Both branches want a valid
``Host`` and no ``root_path``, and take the card as the routes do (``CardCache.fresh``, else ``CardCache.get``,
which loads or revalidates it, or raises ``ProductNotFound``), then send the routes' own answer: the card's
bytes with the same pre-encoded headers (``scanner.api.card_answer``).

- **Scan**: ``POST /api/v1/scan`` with a declared length within the app's body limit. It reads the body as
  ``sesame.bodies.WholeBodies`` would; when the body decodes as the route's ``ScanRequest`` and the code is a
  GTIN, or a Digital Link naming nothing but one (``scanner.api.read_code``), it answers. Anything else (a lot or
  serial scanned, bad JSON, a wrong check digit, an unknown key, a chunked body, a client gone mid-body) goes on
  to the router with the body replayed.
- **Resolver**: ``GET /01/{gtin14}`` with no qualifier, no query and an ``Accept`` choosing JSON, the very test
  the route makes for its own common case (``scanner.api.plain_json_gtin``). An HTML page, a linkset, a
  redirect, a lot, a short GTIN or ``HEAD`` go on to the router.

``install`` turns a branch on only if that skips nothing its route would do: no guard, hook, cookie, response
header, cache or middleware but ``WholeBodies`` on the route, no CORS, allowed hosts or compression on the app,
the scan outside CSRF's checks; otherwise it logs why and that route answers every request.
``tests/scanner/test_fastpath.py`` checks, for any body and any ``Accept``, that the fast path answers byte for
byte what the routes answer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
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
from scanner.api import ScanController, card_answer, card_cache, plain_json_gtin, read_code, resolve_gtin
from scanner.errors import UnknownIdentifier, UnreadableCode
from scanner.schemas import ScanRequest
from sesame.bodies import WholeBodies, declared_length, read_whole

__all__ = ["RESOLVER", "SCAN", "SCAN_PATH", "CardFastPath", "FastRoute", "install", "what_it_would_skip"]

log = logging.getLogger(__name__)

SCAN_PATH = "/api/v1/scan"
_RESOLVER_PREFIX = "/01/"


@dataclass(frozen=True)
class FastRoute:
    """A route the fast path answers for: how to find it in the app, and the handler it must be."""

    name: str
    method: str
    path: str  # a path the router sends to the route
    fn: Any  # the route handler's function


SCAN = FastRoute("POST /api/v1/scan", "POST", SCAN_PATH, ScanController.scan.fn)
RESOLVER = FastRoute("GET /01/{gtin}", "GET", "/01/09506000134352", resolve_gtin.fn)


def _host_refused(headers: Any) -> bool:
    host = next((value for name, value in headers if name == b"host"), None)
    return host is not None and not is_valid_host(host)


class CardFastPath:
    """ASGI app in front of the router: see the module's docstring. ``exception_handlers`` holds the handlers of
    each route turned on (``SCAN``, ``RESOLVER``); a route absent from it goes to the router every time.

    ``answered`` counts the requests it took to the end (a card sent, or a lookup error raised for the app's
    exception handlers to answer); ``passed``, those for its paths that it handed to the router.
    """

    def __init__(
        self, app: Litestar, inner: ASGIApp, exception_handlers: dict[FastRoute, ExceptionHandlersMap]
    ) -> None:
        self.app = app
        self.inner = inner
        self.settings = app.state.settings  # read once: the body limit and the public URL of every answer
        self.scan_handlers = exception_handlers.get(SCAN)
        self.resolver_handlers = exception_handlers.get(RESOLVER)
        self._decoder = msgspec.json.Decoder(ScanRequest)
        self.answered = 0
        self.passed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and not scope.get("root_path"):
            method = scope["method"]
            if (
                method == "GET"
                and self.resolver_handlers is not None
                and scope["path"].startswith(_RESOLVER_PREFIX)
            ):
                gtin = plain_json_gtin(scope)
                if (
                    gtin is not None
                    and scope["path"] == _RESOLVER_PREFIX + gtin
                    and not _host_refused(scope["headers"])
                ):
                    ScopeState.from_scope(scope).exception_handlers = self.resolver_handlers
                    await self.answer(gtin, scope, receive, send)
                    return
                self.passed += 1
            elif method == "POST" and self.scan_handlers is not None and scope["path"] == SCAN_PATH:
                await self.scan(self.scan_handlers, scope, receive, send)
                return
        await self.inner(scope, receive, send)

    async def scan(self, handlers: ExceptionHandlersMap, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope["headers"]
        declared = declared_length(headers)
        if declared is None or declared > self.settings.max_body_bytes or _host_refused(headers):
            self.passed += 1
            await self.inner(scope, receive, send)
            return
        ScopeState.from_scope(scope).exception_handlers = handlers  # the route's, from here on
        body, receive = await read_whole(receive, declared)
        gtin = self.plain_gtin(body) if body is not None else None
        if gtin is None:
            self.passed += 1
            await self.inner(scope, receive, send)
            return
        await self.answer(gtin, scope, receive, send)

    async def answer(self, gtin: str, scope: Scope, receive: Receive, send: Send) -> None:
        """The card's plain JSON answer, as both routes send it."""
        self.answered += 1
        cache = card_cache(self.app.state)
        card = cache.fresh(gtin) or await cache.get(gtin)
        await card_answer(card, self.app, self.settings.public_url)(scope, receive, send)

    def plain_gtin(self, body: bytes) -> str | None:
        """The GTIN when a scan's ``body`` asks for a product's plain card; ``None`` for anything the route
        answers."""
        try:
            code = self._decoder.decode(body).code
            gtin, link = read_code(code, "body.code")
        except (msgspec.DecodeError, UnreadableCode, UnknownIdentifier):
            return None  # the route reads it again and answers with the field's reason
        if link is not None and link != gs1.DigitalLink("01", gtin):
            return None  # a lot, a serial, a query: the route adds their context
        return gtin


def what_it_would_skip(app: Litestar, route: FastRoute = SCAN) -> list[str]:
    """What ``route`` would do that the fast path does not; empty when nothing."""
    try:
        handler = _handler(app, route)
    except (NotFoundException, MethodNotAllowedException):
        return [f"no route answers {route.method} {route.path}"]
    if (
        not isinstance(handler, HTTPRouteHandler)
        or getattr(handler.fn, "__func__", handler.fn) is not route.fn
    ):
        return [f"{route.method} {route.path} is not answered by {route.fn.__qualname__}"]
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
    if (
        csrf is not None
        and route.method not in csrf.safe_methods
        and not any(re.search(pattern, route.path) for pattern in _patterns(csrf.exclude))
    ):
        skipped.append("CSRF's check of the route")
    if not isinstance(app.asgi_handler, ExceptionHandlerMiddleware):
        skipped.append("a wrapper around the app's exception handling (OpenTelemetry?)")
    return skipped


def _handler(app: Litestar, route: FastRoute) -> Any:
    return app.asgi_router.handle_routing(route.path, route.method)[1]


def _patterns(exclude: Any) -> list[str]:
    if exclude is None:
        return []
    return [exclude] if isinstance(exclude, str) else list(exclude)


def install(app: Litestar) -> CardFastPath | None:
    """Put the fast path between ``app``'s exception handling and its router, for each route it skips nothing
    of; ``None`` (the app left as it is) when that is none."""
    handlers: dict[FastRoute, ExceptionHandlersMap] = {}
    for route in (SCAN, RESOLVER):
        skipped = what_it_would_skip(app, route)
        if skipped:
            log.warning(
                "%s goes through the router: the fast path would skip %s", route.name, "; ".join(skipped)
            )
        else:
            handlers[route] = _handler(app, route).resolve_exception_handlers()
    outer = app.asgi_handler
    if not handlers or not isinstance(outer, ExceptionHandlerMiddleware):
        return None
    fast = CardFastPath(app, outer.app, handlers)
    outer.app = fast
    return fast
