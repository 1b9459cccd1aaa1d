"""The app factory: all wiring of Sésame sits here (routes, dependencies, hooks, errors)."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, MediaType, get
from litestar.datastructures import ResponseHeader, State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import Message, Scope
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sesame import channels, transparency, wiring
from sesame.accounts.api import AccountController
from sesame.bodies import WholeBodies
from sesame.db import create_engine, create_sessionmaker
from sesame.deps import DEPENDENCIES
from sesame.keys import KeyRing
from sesame.modules import optional_module
from sesame.problems import EXCEPTION_HANDLERS
from sesame.settings import Settings, get_settings
from sesame.web.session import csrf_config

log = logging.getLogger("sesame")


@get("/health", tags=["platform"], summary="Liveness and database reachability")
async def health(db: AsyncSession) -> dict[str, str]:
    await db.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}


@get("/.well-known/jwks.json", tags=["platform"], summary="Public keys of the platform and the verifiers")
async def jwks(state: State, db: AsyncSession) -> dict[str, Any]:
    keys: KeyRing = state.keyring
    found: list[dict[str, str]] = list(keys.jwks())
    for provider in JWKS_PROVIDERS:
        found.extend(await provider(db))
    return {"keys": found}


#: Sent on every response. The CSP allows only our own scripts and styles (vendored, no CDN), the camera for
#: the scanner page, and blob:/data: images for QR codes.
SECURITY_HEADERS = [
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
    ResponseHeader(name="Permissions-Policy", value="camera=(self), geolocation=(), microphone=()"),
    ResponseHeader(
        name="Content-Security-Policy",
        value=(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
            "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
        ),
    ),
]

_SECURITY_HEADER_BYTES = [(h.name.lower().encode(), (h.value or "").encode()) for h in SECURITY_HEADERS]


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Sent before every message: the responses Litestar makes outside a handler (problems from exception
    handlers, the web's error pages and login redirects, unknown routes) skip ``response_headers``."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or ())
    present = {name.lower() for name, _ in headers}
    missing = [(name, value) for name, value in _SECURITY_HEADER_BYTES if name not in present]
    if missing:
        message["headers"] = headers + missing


#: Async callables ``(session) -> list[jwk]`` contributed by domain packages (the verifiers' keys).
JWKS_PROVIDERS: list[Any] = []


#: Modules exposing ``ROUTES`` (a list of controllers/handlers); absent ones are skipped while being built.
ROUTE_MODULES = (
    "sesame.transparency_api",
    "company_profiles.api",
    "vault.api",
    "scanner.api",
    "scanner.checkout.api",
    "company_profiles.recommendations.api",
    "vault.sharing.api",
    "sesame.web",
)


#: Modules exposing ``install(app)``: an ASGI wrapper of the app's router answering a hot path's common case
#: ahead of routing, and handing everything else to it (``scanner.fastpath``).
FAST_PATH_MODULES = ("scanner.fastpath",)


def route_handlers() -> list[Any]:
    """Every controller of every package, in one list."""
    handlers: list[Any] = [health, jwks, AccountController]
    for name in ROUTE_MODULES:
        module = optional_module(name)
        if module is not None:
            handlers.extend(module.ROUTES)
    return handlers


def create_app(settings: Settings | None = None, *, full_collection_every: float | None = None) -> Litestar:
    """The app; ``full_collection_every``: run the collector's full passes on that timer (``app_from_env``)."""
    settings = settings or get_settings()
    wiring.install()
    keys = KeyRing.for_settings(settings)
    transparency.configure(keys=keys, origin=settings.ledger_origin)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        collections = None
        if full_collection_every is not None:
            collections = asyncio.get_running_loop().create_task(full_collections(full_collection_every))
        try:
            yield
        finally:
            if collections is not None:
                collections.cancel()
            await engine.dispose()

    app = Litestar(
        route_handlers=route_handlers(),
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"settings": settings, "keyring": keys, "engine": engine, "sessionmaker": sessionmaker}),
        lifespan=[lifespan],
        plugins=channels.plugins(settings),
        middleware=[DefineMiddleware(WholeBodies, limit=settings.max_body_bytes)],  # read once, to its length
        request_max_body_size=settings.max_body_bytes,  # uploads: sesame.uploads.UploadController
        openapi_config=OpenAPIConfig(
            title="Sésame",
            version="1.0.0",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
            security=[{"bearer": []}],
        ),
        response_headers=SECURITY_HEADERS,
        before_send=[add_security_headers],
        csrf_config=csrf_config(settings, keys),
        debug=settings.debug,
    )
    for name in FAST_PATH_MODULES:
        module = optional_module(name)
        if module is not None:
            module.install(app)
    return app


#: A serving worker runs the collector's full passes on this timer, not by allocation count.
FULL_COLLECTION_SECONDS = 300.0
_NO_AUTOMATIC_FULL_PASS = 1_000_000_000  # young-generation passes before the collector would start a full one


def tune_gc_for_serving() -> None:
    """Keep the cyclic collector's pauses out of requests.

    ``gc.freeze()`` puts the objects alive now (the app, its routes, the ORM's mappers, the catalogues) in a
    permanent generation that no pass walks. What a worker keeps afterwards (each worker's card cache: tens of
    thousands of objects once warm) is in the oldest generation, and a full pass walks all of it: 10-50 ms,
    measured with ``gc.callbacks``, started by allocation count every few hundred requests, so it landed in
    about 1 % of them (``POST /api/v1/scan`` p99 33 ms against p90 9 ms, 10 ms without full passes). So the
    young generations keep their automatic passes (they walk only what requests just allocated), and full
    passes run from a timer in each worker (``full_collections``): one pause every five minutes at most, and
    cyclic garbage that reached the old generation is still reclaimed (requests make little: a pass after a
    minute under load found 10-180 objects).
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, _NO_AUTOMATIC_FULL_PASS)


async def full_collections(every: float) -> None:
    """A full collector pass every ``every`` seconds, on the event loop, until cancelled."""
    while True:
        await asyncio.sleep(every)
        gc.collect()


def app_from_env() -> Litestar:
    """Entry point for Granian (``sesame.app:app_from_env`` with ``--factory``), once in each worker."""
    app = create_app(full_collection_every=FULL_COLLECTION_SECONDS)
    tune_gc_for_serving()
    return app


__all__ = ["MediaType", "app_from_env", "create_app"]
