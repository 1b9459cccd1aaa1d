"""CSRF, cookies, CSP, redirects and role separation on the web pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from sesame.web.session import safe_next
from tests.conftest import make_settings
from tests.web.conftest import PASSWORD, Browser


async def test_a_form_without_its_csrf_token_is_refused(browser: Browser) -> None:
    await browser.get("/login")  # the CSRF cookie is set
    forged = await browser.request("POST", "/login", data={"email": "a@b.test", "password": PASSWORD})
    assert forged.status_code == 403
    assert "text/html" in forged.headers["content-type"]
    assert "Ce formulaire a expiré" in forged.text


async def test_a_token_from_another_browser_is_refused(browser: Browser, other_browser: Browser) -> None:
    stolen = await other_browser.token("/login")
    await browser.get("/login")
    forged = await browser.request("POST", "/logout", data={"_csrf_token": stolen})
    assert forged.status_code == 403


async def test_session_and_csrf_cookies_are_http_only_and_lax(browser: Browser) -> None:
    page = await browser.get("/login")
    csrf = page.headers["set-cookie"].lower()
    assert "sesame_csrf=" in csrf and "httponly" in csrf and "samesite=lax" in csrf and "secure" not in csrf
    signed_up = await browser.sign_up("citizen", "lea@citizen.test")
    session = next(
        c for c in signed_up.history[0].headers.get_list("set-cookie") if c.startswith("sesame_token=")
    )
    lowered = session.lower()
    assert (
        "httponly" in lowered
        and "samesite=lax" in lowered
        and "path=/" in lowered
        and "secure" not in lowered
    )


@pytest.fixture
def https_app(sqlite_url: str, tmp_path: Path) -> Litestar:
    from sesame import migrate
    from sesame.app import create_app

    settings = make_settings(sqlite_url, tmp_path, public_url="https://sesame.example")
    migrate.upgrade(settings)
    return create_app(settings)


async def test_cookies_are_secure_behind_https(https_app: Litestar) -> None:
    async with AsyncTestClient(app=https_app, base_url="https://sesame.example") as client:
        browser = Browser(client)
        page = await browser.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
        signed_up = await browser.sign_up("citizen", "noa@citizen.test")
        session = next(
            c for c in signed_up.history[0].headers.get_list("set-cookie") if c.startswith("sesame_token=")
        )
        assert "secure" in session.lower()


async def test_pages_carry_a_strict_content_security_policy(browser: Browser) -> None:
    page = await browser.get("/scan")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in policy and "'unsafe-inline'" not in policy
    assert "<script>" not in page.text and " onclick=" not in page.text and " style=" not in page.text


async def test_the_json_api_never_spends_the_session_cookie_on_unsafe_methods(browser: Browser) -> None:
    await browser.sign_up("citizen", "sam@citizen.test")
    assert (await browser.get("/api/v1/vault")).status_code == 200  # a GET may use the cookie
    put = await browser.request(
        "PUT", "/api/v1/vault/settings", json={"contactless": True, "highlights": [], "language": "fr"}
    )
    assert put.status_code == 401


async def test_the_api_needs_no_csrf_token(browser: Browser) -> None:
    created = await browser.request(
        "POST",
        "/api/v1/accounts",
        json={"kind": "citizen", "email": "api@citizen.test", "password": PASSWORD},
    )
    assert created.status_code == 201


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/me", "/me"),
        ("/me?tab=1", "/me?tab=1"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        (None, "/"),
    ],
)
def test_redirects_after_login_stay_on_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


async def test_login_goes_back_to_the_page_asked_for(browser: Browser) -> None:
    await browser.sign_up("citizen", "kim@citizen.test")
    await browser.log_out()
    first = await browser.get("/me/fields", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/login?next=/me/fields"
    back = await browser.post(
        "/login",
        {"email": "kim@citizen.test", "password": PASSWORD, "next": "/me/fields"},
        follow_redirects=False,
    )
    assert back.headers["location"] == "/me/fields"
    away = await browser.post(
        "/login",
        {"email": "kim@citizen.test", "password": PASSWORD, "next": "https://evil.example"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/me"


async def test_each_role_sees_only_its_own_pages(browser: Browser) -> None:
    await browser.sign_up("citizen", "ana@citizen.test")
    for path in ("/company", "/company/till", "/verifier"):
        page = await browser.get(path)
        assert page.status_code == 403, path
    assert (await browser.get("/me")).status_code == 200


async def test_wrong_password_and_rate_limit_are_said_plainly(browser: Browser) -> None:
    await browser.sign_up("citizen", "eli@citizen.test")
    await browser.log_out()
    wrong = await browser.log_in("eli@citizen.test", "not the password")
    assert wrong.status_code == 401 and "Adresse électronique ou mot de passe incorrect." in wrong.text
    for _ in range(12):
        last = await browser.log_in("eli@citizen.test", "not the password")
    assert last.status_code == 429 and "Trop de tentatives" in last.text


async def test_another_citizens_things_are_absent(browser: Browser, other_browser: Browser) -> None:
    await browser.sign_up("citizen", "one@citizen.test")
    await other_browser.sign_up("citizen", "two@citizen.test")
    assert (await other_browser.get("/me/companies/1")).status_code == 404
    refused = await other_browser.post("/me/grants/1/withdraw", {}, form_page="/me")
    assert refused.status_code == 404
