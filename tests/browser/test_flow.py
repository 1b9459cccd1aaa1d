"""The whole story in Chromium, each role in its own phone-sized browser context.

A company registers and files its civil status (an error shown at the field first); a verifier attests; the
company registers a product; a citizen adds fields, opens the company's account and grants a field; the company
reads it; the citizen verifies the access receipt in the page; a shopper scans the product's real QR code
through Chromium's fake camera; a payment prompt reaches the citizen's phone and is confirmed at the till.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
import segno

from tests.browser.conftest import (
    CHROMIUM_ARGS,
    PHONE,
    PageProblems,
    Server,
    axe_violations,
    login,
    new_phone,
    screenshot,
    sign_up,
)
from tests.browser.y4m import still_video

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

GTIN = "4006381333931"
UNKNOWN_GTIN = "4006381333948"  # a right check digit, no product
COMPANY_EMAIL = "bonjour@boulangerie.test"
CITIZEN_EMAIL = "camille@citizen.test"


def assert_accessible(page: Any, where: str) -> None:
    violations = axe_violations(page)
    assert not violations, (where, violations)


def company_registers_and_files(page: Any, server: Server) -> None:
    sign_up(page, server, kind="company", email=COMPANY_EMAIL, name="Boulangerie Dupont")
    assert page.get_by_role("heading", name="Register your company").is_visible()
    page.locator("#f-legal_name").fill("Boulangerie Dupont SARL")
    page.locator("#f-registration_scheme").select_option("siren")
    page.locator("#f-registration_id").fill("732829320")
    page.locator("#f-founding_date").fill("2001-04-12")
    page.locator("#f-sector").fill("10.71")
    page.locator("#f-registered_address").fill("12 rue des Lilas, 75011 Paris")
    page.get_by_role("button", name="Register", exact=True).click()
    page.wait_for_load_state()
    assert "done=registered" in page.url, page.content()[:2000]

    page.goto(server.url("/company/civil-status"))
    assert_accessible(page, "civil-status form")
    page.locator("#employee_satisfaction-value").fill("140")
    page.locator("#carbon_footprint_per_employee-value").fill("5,2")
    page.locator("#headcount-value").fill("12")
    page.get_by_role("button", name="File this version").click()
    page.wait_for_load_state()
    field = page.locator("#employee_satisfaction-value")
    assert field.get_attribute("aria-invalid") == "true"
    assert "between 0 and 100" in page.locator("#employee_satisfaction-error").inner_text()
    assert page.locator("#headcount-value").input_value() == "12"  # what was typed is kept
    field.fill("64")
    page.get_by_role("button", name="File this version").click()
    page.wait_for_load_state()
    assert "done=filed" in page.url

    page.goto(server.url("/company/products"))
    page.locator("#f-gtin").fill(GTIN)
    page.locator("#f-name").fill("Pain de campagne")
    page.locator("#f-brand").fill("Boulangerie Dupont")
    page.locator("#f-carbon_kg").fill("0.4")
    page.locator("#f-place_name").fill("Fournil de la rue des Lilas")
    page.locator("#f-city").fill("Paris")
    page.locator("#f-lot").fill("L2026A")
    page.get_by_role("button", name="Register the product").click()
    page.wait_for_load_state()
    assert "done=product" in page.url
    assert page.get_by_role("link", name="QR code (PNG)").is_visible()
    screenshot(page, "company-products")


def verifier_attests(page: Any, server: Server) -> None:
    login(page, server, server.verifier_email, server.verifier_password)
    assert page.url.endswith("/verifier")
    assert page.get_by_text("Boulangerie Dupont SARL — Satisfaction des salariés").is_visible()
    assert_accessible(page, "verifier queue")
    screenshot(page, "verifier-queue")
    for _ in range(12):
        button = page.get_by_role("button", name="Attester cette valeur")
        if button.count() == 0:
            break
        button.first.click()
        page.wait_for_load_state()
    assert page.get_by_text("Rien n’attend votre attestation.").is_visible()


def citizen_joins(page: Any, server: Server) -> str:
    sign_up(page, server, kind="citizen", email=CITIZEN_EMAIL, name="Camille")
    page.goto(server.url("/me/fields"))
    page.locator("#f-name").select_option("given_name")
    page.locator("#f-value").fill("Camille")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state()
    page.locator("#f-name").select_option("birth_date")
    page.locator("#f-value").fill("1990-02-30")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state()
    assert (
        page.locator("#f-value").get_attribute("aria-invalid") == "true"
    )  # not a real date, said at the field
    assert_accessible(page, "fields")
    page.goto(server.url("/me/settings"))
    page.get_by_label("Autoriser le paiement sans contact après ma confirmation sur ce téléphone").check()
    page.get_by_label("Satisfaction des salariés").check()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state()
    page.goto(server.url("/me"))
    sesame_id = page.locator("dd.mono").inner_text().strip()
    assert sesame_id
    page.goto(server.url("/me/card"))
    page.wait_for_load_state("networkidle")
    assert page.locator(".qr img").evaluate("img => img.naturalWidth > 0")
    screenshot(page, "citizen-card")
    return sesame_id


def company_asks_for_an_account(page: Any, server: Server, sesame_id: str) -> None:
    page.goto(server.url(f"/company/customers?sesame={sesame_id}"))
    page.get_by_role("button", name="Ask to open an account").click()
    page.wait_for_load_state()
    assert page.get_by_text("Waiting for the customer").is_visible()


def citizen_accepts_and_grants(page: Any, server: Server) -> None:
    page.goto(server.url("/me/companies"))
    pending = page.locator("article.card", has_text="Boulangerie Dupont SARL")
    assert pending.get_by_text("Satisfaction des salariés").is_visible()
    assert pending.get_by_text("64").first.is_visible()
    assert_accessible(page, "account request")
    screenshot(page, "citizen-account-request")
    pending.get_by_role("button", name="Ouvrir le compte").click()
    page.wait_for_load_state()
    assert "done=accepted" in page.url
    page.get_by_label("Prénom").check()
    page.locator("#f-purpose").fill("Commandes et fidélité")
    page.get_by_role("button", name="Autoriser", exact=True).click()
    page.wait_for_load_state()
    assert "done=granted" in page.url
    assert page.get_by_role("button", name="Retirer").is_visible()
    screenshot(page, "citizen-grants")


def company_reads(page: Any, server: Server, sesame_id: str) -> None:
    page.goto(server.url(f"/company/customers?sesame={sesame_id}"))
    page.get_by_role("button", name="Read now").click()
    page.wait_for_load_state()
    assert "Camille" in page.locator("#read-result").inner_text()


def citizen_verifies_the_receipt(page: Any, server: Server) -> None:
    page.goto(server.url("/me/log"))
    page.get_by_role("button", name="Vérifier").first.click()
    status = page.locator("#receipts .status").first
    status.locator("xpath=self::*[@data-verified]").wait_for(timeout=15_000)
    assert status.get_attribute("data-verified") == "true", status.inner_text()
    assert "Inscrit au registre" in status.inner_text()
    assert_accessible(page, "access log")
    screenshot(page, "citizen-access-log")


def camera_browser(playwright_driver: Any, chromium: Path, video: Path) -> Any:
    """A Chromium whose fake camera films ``video`` (a .y4m file, read again each time the camera opens)."""
    return playwright_driver.chromium.launch(
        executable_path=str(chromium),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )


def shopper_scans_with_the_camera(camera: Any, server: Server, png: bytes) -> None:
    """The camera films the product's QR code (made by Sésame); then typed digits, a photo, an unknown code."""
    context = camera.new_context(viewport=PHONE, locale="fr-FR", permissions=["camera"])
    page = context.new_page()
    problems = PageProblems(page)
    page.goto(server.url("/scan"))
    page.get_by_role("button", name="Ouvrir la caméra").click()
    page.locator("#product-name").wait_for(timeout=20_000)
    assert page.locator("#product-name").inner_text() == "Pain de campagne"
    assert page.get_by_role("heading", name="Vendu par Boulangerie Dupont SARL").is_visible()
    assert page.locator("#scanner").get_attribute("data-decoded", timeout=1000).endswith(f"/01/0{GTIN}")
    assert_accessible(page, "scanned card")
    screenshot(page, "shopper-scan-card")

    page.goto(server.url("/scan"))  # typed digits, sent to /api/v1/scan by the page
    page.locator("#code").fill(GTIN)
    page.get_by_role("button", name="Afficher la fiche").click()
    page.locator("#product-name").wait_for(timeout=10_000)
    assert page.url.endswith(f"/scan?code={GTIN}")

    page.goto(server.url("/scan"))  # a photo, decoded by the server (/api/v1/scan/image)
    page.locator("#photo").set_input_files(
        files=[{"name": "code.png", "mimeType": "image/png", "buffer": png}]
    )
    page.get_by_role("button", name="Lire la photo").click()
    page.locator("#product-name").wait_for(timeout=10_000)

    page.goto(server.url("/scan"))  # a well-formed code nobody registered
    page.locator("#code").fill(UNKNOWN_GTIN)
    page.get_by_role("button", name="Afficher la fiche").click()
    page.locator("#result .notice.bad").wait_for(timeout=10_000)
    assert "Aucun produit" in page.locator("#result").inner_text()
    problems.assert_clean(allow=("404",))
    context.close()


def payment_is_confirmed(citizen: Any, company: Any, server: Server, sesame_id: str) -> None:
    """The till reads the customer's Sésame card with its camera, then asks; the citizen's phone confirms."""
    citizen.goto(server.url("/me/pay"))
    citizen.locator("body[data-stream=open]").wait_for(timeout=10_000)
    company.goto(server.url("/company/till"))
    company.get_by_role("button", name="Scan the customer's Sésame card").click()
    company.wait_for_function(
        "() => document.getElementById('f-sesame').value.includes('/s/')", timeout=20_000
    )
    assert company.locator("#f-sesame").input_value().endswith(f"/s/{sesame_id}")
    company.locator("#f-amount").fill("3.20")
    company.get_by_role("button", name="Ask the customer to confirm").click()
    company.wait_for_load_state()
    assert company.locator("#checkout-status").get_attribute("data-status") == "pending"
    screenshot(company, "company-till-waiting")

    prompt = citizen.locator("article.prompt")
    prompt.wait_for(timeout=10_000)
    assert "Boulangerie Dupont SARL" in prompt.inner_text()
    assert "64" in prompt.inner_text()
    assert_accessible(citizen, "payment prompt")
    screenshot(citizen, "citizen-payment-prompt")
    prompt.get_by_role("button", name="Confirmer").click()
    citizen.wait_for_load_state()
    assert "done=confirmed" in citizen.url

    company.locator("#checkout-status[data-status=confirmed]").wait_for(timeout=10_000)
    assert "Confirmed by the customer." in company.locator("#checkout-status").inner_text()
    screenshot(company, "company-till-confirmed")


def _png(server: Server, sesame_id: str) -> bytes:
    """The customer's card as the till's camera sees it: a QR of ``{public_url}/s/{sesame_id}``."""
    buffer = io.BytesIO()
    segno.make(f"{server.base_url}/s/{sesame_id}", error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def test_every_role_does_its_job(
    browser: Any, playwright_driver: Any, chromium_path: Path, server: Server, tmp_path: Path
) -> None:
    company_context = new_phone(browser, locale="en-GB")
    verifier_context = new_phone(browser)
    citizen_context = new_phone(browser)
    company = company_context.new_page()
    verifier = verifier_context.new_page()
    citizen = citizen_context.new_page()
    watchers = [PageProblems(p) for p in (company, verifier, citizen)]

    company_registers_and_files(company, server)
    verifier_attests(verifier, server)
    company.goto(server.url("/company"))
    assert company.get_by_text("Every mandatory indicator is attested").is_visible()
    screenshot(company, "company-home")

    sesame_id = citizen_joins(citizen, server)
    company_asks_for_an_account(company, server, sesame_id)
    citizen_accepts_and_grants(citizen, server)
    company_reads(company, server, sesame_id)
    citizen_verifies_the_receipt(citizen, server)

    company.goto(server.url("/companies"))
    company.get_by_role("link", name="Boulangerie Dupont SARL").click()
    company.wait_for_load_state()
    assert company.get_by_text("Verified").first.is_visible()
    assert_accessible(company, "company profile")
    screenshot(company, "public-company-profile")

    video = tmp_path / "camera.y4m"
    product_qr = httpx.get(server.url(f"/api/v1/products/0{GTIN}/qr.png"), timeout=10).content
    still_video(video, product_qr)
    camera = camera_browser(playwright_driver, chromium_path, video)
    try:
        shopper_scans_with_the_camera(camera, server, product_qr)
        # The till's camera now films the customer's Sésame card (the QR of its card URL).
        still_video(video, _png(server, sesame_id))
        till_context = camera.new_context(viewport=PHONE, locale="en-GB", permissions=["camera"])
        till = till_context.new_page()
        watchers.append(PageProblems(till))
        login(till, server, COMPANY_EMAIL)
        payment_is_confirmed(citizen, till, server, sesame_id)
        till_context.close()
    finally:
        camera.close()

    for watcher in watchers:
        watcher.assert_clean(allow=("422", "401"))
    for context in (company_context, verifier_context, citizen_context):
        context.close()
