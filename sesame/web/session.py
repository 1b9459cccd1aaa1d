"""The web session: the access token in an HttpOnly cookie, the viewer it names, and the CSRF setup.

The cookie holds the same EdDSA token the JSON API issues; ``sesame.deps.bearer_token`` honours it for safe
methods everywhere and for unsafe methods outside ``/api/``, which is where every form of these pages posts,
each carrying the CSRF token Litestar's middleware checks (double submit: cookie + form field, HMAC-signed).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie, State
from litestar.utils.scope.state import ScopeState
from sqlalchemy.ext.asyncio import AsyncSession

from sesame.accounts.services import Principal, authenticate_token, decode_token
from sesame.deps import TOKEN_COOKIE, bearer_token
from sesame.errors import Forbidden, Unauthenticated
from sesame.keys import KeyRing
from sesame.settings import Settings

__all__ = [
    "CSRF_COOKIE",
    "CSRF_EXCLUDE",
    "LoginRequired",
    "csrf_config",
    "csrf_token",
    "home_for",
    "login_cookie",
    "logout_cookie",
    "provide_viewer",
    "require",
    "safe_next",
    "viewer_from_token",
]

CSRF_COOKIE = "sesame_csrf"
#: Paths that take no form posts: the JSON API (bearer tokens, never the cookie for unsafe methods), the
#: resolver, static files, health and schema. Excluding them also keeps their hot paths free of CSRF work.
CSRF_EXCLUDE = [
    "^/api/",
    "^/01/",
    "^/static/",
    "^/health$",
    "^/schema",
    "^/\\.well-known/",
]


class LoginRequired(Unauthenticated):
    """A page needs a signed-in viewer (of some kinds): the web layer answers with a redirect to /login."""

    def __init__(self, kinds: tuple[str, ...] = ()) -> None:
        super().__init__("sign in to see this page")
        self.kinds = kinds


def csrf_secret(keys: KeyRing) -> str:
    """A CSRF HMAC secret every worker derives alike from the platform key (domain-separated)."""
    seed = keys.signing_key("platform").seed
    return hmac.new(seed, b"sesame web csrf v1", hashlib.sha256).hexdigest()


def is_https(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def csrf_config(settings: Settings, keys: KeyRing) -> CSRFConfig:
    return CSRFConfig(
        secret=csrf_secret(keys),
        cookie_name=CSRF_COOKIE,
        cookie_secure=is_https(settings),
        cookie_httponly=True,
        cookie_samesite="lax",
        exclude=CSRF_EXCLUDE,
    )


def csrf_token(request: Request[Any, Any, Any]) -> str:
    """The token the middleware set for this request (empty where CSRF is excluded)."""
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def login_cookie(settings: Settings, token: str) -> Cookie:
    return Cookie(
        key=TOKEN_COOKIE,
        value=token,
        path="/",
        max_age=settings.token_ttl_seconds,
        httponly=True,
        secure=is_https(settings),
        samesite="lax",
    )


def logout_cookie(settings: Settings) -> Cookie:
    return Cookie(
        key=TOKEN_COOKIE,
        value="",
        path="/",
        max_age=0,
        httponly=True,
        secure=is_https(settings),
        samesite="lax",
    )


async def provide_viewer(request: Request[Any, Any, Any], db: AsyncSession, state: State) -> Principal | None:
    """Who is looking at the page, or None; an expired or foreign token just means "not signed in"."""
    token = bearer_token(request)
    if not token:
        return None
    try:
        return await authenticate_token(db, state.keyring, state.settings, token)
    except Unauthenticated:
        return None


class WrongRole(Forbidden):
    """Signed in, but this page belongs to another kind of account."""

    def __init__(self, kinds: tuple[str, ...]) -> None:
        super().__init__(f"this page is for {' or '.join(kinds)} accounts")
        self.kinds = kinds


def require(viewer: Principal | None, *kinds: str) -> Principal:
    """The viewer; ``LoginRequired`` (a redirect to /login) if nobody, ``WrongRole`` if another kind."""
    if viewer is None:
        raise LoginRequired(kinds)
    if kinds and viewer.kind not in kinds:
        raise WrongRole(kinds)
    return viewer


HOMES = {"citizen": "/me", "company": "/company", "verifier": "/verifier"}


def home_for(kind: str) -> str:
    return HOMES.get(kind, "/")


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site path to go to after logging in (never ``//host`` or ``https://...``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 0x20 for c in target):
        return default
    return target


def login_redirect(request: Request[Any, Any, Any]) -> Response[Any]:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Response(
        content=None,
        status_code=303,
        headers={"Location": "/login?next=" + quote(path, safe="/")},
    )


def viewer_from_token(request: Request[Any, Any, Any]) -> Principal | None:
    """The viewer from the token alone, without the database (for error pages, which must render anyway)."""
    token = bearer_token(request)
    if not token:
        return None
    state = request.app.state
    try:
        claims = decode_token(state.keyring, state.settings, token)
        return Principal(id=int(claims["sub"]), kind=str(claims.get("kind", "")), email="")
    except (Unauthenticated, KeyError, ValueError):
        return None
