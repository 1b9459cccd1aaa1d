"""Sign up, log in, log out, and the language switch."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import QueryParameter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from sesame.accounts import services as accounts
from sesame.accounts.errors import BadCredentials, EmailTaken
from sesame.accounts.schemas import SignUp
from sesame.accounts.services import Principal
from sesame.errors import RateLimited
from sesame.keys import KeyRing
from sesame.settings import Settings
from sesame.web.forms import form_dict, redirect
from sesame.web.i18n import LANG_COOKIE, LOCALES, N_
from sesame.web.rendering import page
from sesame.web.session import home_for, is_https, login_cookie, logout_cookie, safe_next

__all__ = ["AuthPages"]

BAD_CREDENTIALS = N_("Wrong email or password.")
TOO_MANY = N_("Too many failed attempts. Wait a few minutes and try again.")
EMAIL_TAKEN = N_("An account with this email already exists. Log in instead?")
SIGNUP_REASONS = {
    "email": N_("Enter a valid email address, like name@example.org."),
    "password": N_("Choose a password of at least 10 characters."),
    "kind": N_("Choose whether you sign up as a person or as a company."),
    "display_name": N_("Keep the name under 200 characters."),
}


def _client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


class AuthPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/login")
    async def login_form(
        self,
        request: Request[Any, Any, Any],
        viewer: Principal | None,
        next_: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Response[Any]:
        return page(
            request, "pages/login.html", viewer=viewer, next=safe_next(next_, ""), email="", error=None
        )

    @post("/login")
    async def login(
        self, request: Request[Any, Any, Any], db: AsyncSession, keys: KeyRing, settings: Settings
    ) -> Response[Any]:
        form = await form_dict(request)
        email, password = form.get("email", "")[:254], form.get("password", "")[:256]
        target = safe_next(form.get("next"), "")
        try:
            account = await accounts.authenticate_password(
                db, settings, email=email, password=password, address=_client_address(request)
            )
        except (BadCredentials, RateLimited) as exc:
            error, status = (TOO_MANY, 429) if isinstance(exc, RateLimited) else (BAD_CREDENTIALS, 401)
            return page(
                request, "pages/login.html", status_code=status, next=target, email=email, error=error
            )
        token = accounts.issue_token(keys, settings, account)
        return redirect(target or home_for(account.kind), cookies=[login_cookie(settings, token)])

    @get("/signup")
    async def signup_form(
        self, request: Request[Any, Any, Any], viewer: Principal | None, kind: str = "citizen"
    ) -> Response[Any]:
        values = {
            "kind": kind if kind in ("citizen", "company") else "citizen",
            "email": "",
            "display_name": "",
        }
        return page(request, "pages/signup.html", viewer=viewer, values=values, errors={}, error=None)

    @post("/signup")
    async def signup(
        self, request: Request[Any, Any, Any], db: AsyncSession, keys: KeyRing, settings: Settings
    ) -> Response[Any]:
        form = await form_dict(request)
        values = {
            "kind": form.get("kind", ""),
            "email": form.get("email", "").strip(),
            "display_name": form.get("display_name", "").strip(),
        }
        errors: dict[str, str] = {}
        try:
            data = SignUp(
                kind=values["kind"],  # type: ignore[arg-type]  # validated by the model
                email=values["email"],
                password=form.get("password", ""),
                display_name=values["display_name"] or None,
            )
        except ValidationError as exc:
            for item in exc.errors():
                name = str(item["loc"][0]) if item["loc"] else "email"
                errors.setdefault(name, SIGNUP_REASONS.get(name, SIGNUP_REASONS["email"]))
            return page(
                request, "pages/signup.html", status_code=422, values=values, errors=errors, error=None
            )
        try:
            account = await accounts.create_account(
                db, kind=data.kind, email=data.email, password=data.password, display_name=data.display_name
            )
        except EmailTaken:
            return page(
                request, "pages/signup.html", status_code=409, values=values, errors={}, error=EMAIL_TAKEN
            )
        token = accounts.issue_token(keys, settings, account)
        return redirect(home_for(account.kind) + "?welcome=1", cookies=[login_cookie(settings, token)])

    @post("/logout")
    async def logout(self, settings: Settings) -> Response[Any]:
        return redirect("/", cookies=[logout_cookie(settings)])

    @get("/lang/{code:str}")
    async def switch_language(
        self, code: str, settings: Settings, next_: Annotated[str | None, QueryParameter(name="next")] = None
    ) -> Response[Any]:
        """Remember the chosen language for a year and go back (a GET link, so it works on every page)."""
        cookie = Cookie(
            key=LANG_COOKIE,
            value=code if code in LOCALES else LOCALES[0],
            path="/",
            max_age=365 * 24 * 3600,
            httponly=True,
            secure=is_https(settings),
            samesite="lax",
        )
        return redirect(safe_next(next_), cookies=[cookie])
