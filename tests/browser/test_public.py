"""Public pages, sign-up and log-in in a real browser: language, cookies, CSP, accessibility (axe-core)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import (
    PASSWORD,
    PageProblems,
    Server,
    axe_violations,
    login,
    new_phone,
    screenshot,
    sign_up,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PUBLIC_PAGES = ["/", "/login", "/signup", "/scan", "/ledger", "/companies"]


def test_public_pages_are_accessible_and_clean(browser: Any, server: Server) -> None:
    context = new_phone(browser)
    page = context.new_page()
    problems = PageProblems(page)
    for path in PUBLIC_PAGES:
        page.goto(server.url(path))
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == "fr"
        assert page.locator("h1").count() == 1, path
        violations = axe_violations(page)
        assert not violations, (path, violations)
        name = "home" if path == "/" else path.strip("/")
        screenshot(page, f"public-{name}")
    problems.assert_clean()
    context.close()


def test_language_follows_accept_language_and_the_switch(browser: Any, server: Server) -> None:
    context = new_phone(browser, locale="en-GB")
    page = context.new_page()
    page.goto(server.url("/"))
    assert page.locator("h1").inner_text() == "Your data, your rules"
    page.get_by_role("link", name="Français").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Vos données, vos règles"
    assert page.locator("html").get_attribute("lang") == "fr"
    page.goto(server.url("/login"))
    assert page.get_by_role("heading", name="Se connecter").is_visible()
    cookie = next(c for c in context.cookies() if c["name"] == "sesame_lang")
    assert cookie["value"] == "fr" and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    context.close()


def test_sign_up_log_out_log_in(browser: Any, server: Server) -> None:
    context = new_phone(browser)
    page = context.new_page()
    problems = PageProblems(page)
    sign_up(page, server, kind="citizen", email="alex@citizen.test", name="Alex")
    assert page.url.endswith("/me?welcome=1")
    assert page.get_by_role("heading", name="Mon Sésame").is_visible()
    token = next(c for c in context.cookies() if c["name"] == "sesame_token")
    assert token["httpOnly"] and token["sameSite"] == "Lax" and not token["secure"]
    assert page.evaluate("() => document.cookie").find("sesame_token") == -1
    screenshot(page, "citizen-welcome")

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_load_state()
    assert not any(c["name"] == "sesame_token" for c in context.cookies())

    login(page, server, "alex@citizen.test", "not the password")
    assert page.locator(".notice.bad").inner_text() == "Adresse électronique ou mot de passe incorrect."
    login(page, server, "alex@citizen.test", PASSWORD)
    assert page.url.endswith("/me")

    page.goto(server.url("/company"))  # another role's page: refused, not leaked
    assert page.get_by_role("heading", name="Vous n’avez pas le droit de faire cela").is_visible()
    problems.assert_clean(allow=("401", "403"))
    context.close()


def test_sign_up_errors_are_shown_at_the_field(browser: Any, server: Server) -> None:
    context = new_phone(browser)
    page = context.new_page()
    page.goto(server.url("/signup"))
    page.locator("#f-email").fill("not an email")
    page.locator("#f-password").fill("short")
    page.locator("form[action='/signup'] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#f-email").get_attribute("aria-invalid") == "true"
    assert page.locator("#f-password").get_attribute("aria-invalid") == "true"
    assert "10 caractères" in page.locator("#f-password-error").inner_text()
    assert not axe_violations(page)
    context.close()


def test_pages_of_a_role_send_visitors_to_log_in(browser: Any, server: Server) -> None:
    context = new_phone(browser)
    page = context.new_page()
    page.goto(server.url("/me/fields"))
    assert "/login?next=/me/fields" in page.url
    context.close()
