"""Citizens among themselves in Chromium, over the demo data: a dossier passes from Camille to Karim (by Sésame
number, then by a link and its QR code), and the zone portal shows some zones and cells and hides others,
exactly as ``GET /api/v1/zones`` decides. Every page passes axe-core."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from sesame import seed
from tests.browser.conftest import PageProblems, Server, axe_violations, login, new_phone, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CAMILLE, KARIM = seed.CITIZENS[0].email, seed.CITIZENS[1].email
TITLE = "Pain et viennoiseries à Lyon"
NOTE = "Croissants excellents, accueil chaleureux"


def assert_accessible(page: Any, where: str) -> None:
    violations = axe_violations(page)
    assert not violations, (where, violations)


def test_a_dossier_passes_between_citizens_and_the_zone_portal_hides_small_groups(
    browser: Any, social_server: Server
) -> None:
    server = social_server
    camille_context, karim_context = new_phone(browser), new_phone(browser)
    camille, karim = camille_context.new_page(), karim_context.new_page()
    problems = [PageProblems(camille), PageProblems(karim)]
    login(camille, server, CAMILLE, seed.CITIZEN_PASSWORD)
    login(karim, server, KARIM, seed.CITIZEN_PASSWORD)
    karim.goto(server.url("/me"))
    karim_id = karim.locator("dd.mono").first.inner_text().strip()

    # Camille compiles a dossier: a company, her note, her recommendation.
    camille.goto(server.url("/me"))
    camille.get_by_role("link", name=re.compile("^Dossiers")).click()
    camille.wait_for_load_state()
    assert_accessible(camille, "dossiers")
    camille.locator("#f-title").fill(TITLE)
    camille.locator("#f-sector").fill("boulangeries")
    camille.get_by_role("button", name="Créer le dossier").click()
    camille.wait_for_load_state()
    assert "done=created" in camille.url
    camille.locator("#add_company").select_option(label="Boulangerie Martin & Fils SARL")
    camille.locator("#add_note").fill(NOTE)
    camille.locator("#add_recommend").select_option("yes")
    camille.get_by_role("button", name="Enregistrer le dossier").click()
    camille.wait_for_load_state()
    assert "done=saved" in camille.url
    assert camille.get_by_role("heading", name="Boulangerie Martin & Fils SARL").is_visible()
    assert_accessible(camille, "dossier")
    dossier_url = camille.url.split("?", 1)[0]

    # ... and shares it with Karim by his Sésame number.
    camille.locator("#f-sesame_id").fill(karim_id)
    camille.get_by_role("button", name="Partager avec ce citoyen").click()
    camille.wait_for_load_state()
    assert "done=shared" in camille.url and karim_id in camille.content()

    # Karim finds it, with the company's current verified profile, and imports a copy.
    karim.goto(server.url("/me/dossiers"))
    karim.get_by_role("link", name=TITLE).click()
    karim.wait_for_load_state()
    assert NOTE in karim.content() and "Score de transparence" in karim.content()
    assert karim.get_by_text("Recommandée par l’auteur").is_visible()
    assert_accessible(karim, "received dossier")
    screenshot(karim, "citizen-received-dossier")
    karim.get_by_role("button", name="Importer une copie dans mes dossiers").click()
    karim.wait_for_load_state()
    assert "done=imported" in karim.url and karim.get_by_role("heading", name=TITLE).is_visible()
    assert NOTE in karim.locator("textarea").first.input_value()  # his own copy, editable
    # Camille's dossier itself stays hers.
    assert karim.goto(dossier_url).status == 404

    # By link: shown once with its QR code; Karim opens it.
    camille.goto(dossier_url)
    camille.locator("#expires_in_hours").select_option("24")
    camille.get_by_role("button", name="Créer un lien et un code QR").click()
    camille.wait_for_load_state()
    link = camille.locator("#share-link").input_value()
    assert "/shared/" in link
    assert camille.get_by_role("img", name="Code QR du lien").is_visible()
    assert_accessible(camille, "link share")
    karim.goto(link)
    assert karim.get_by_role("heading", name=TITLE).is_visible()

    # Camille revokes the link: it no longer opens.
    camille.goto(dossier_url)
    camille.locator("form[action*='/revoke'] button").last.click()
    camille.wait_for_load_state()
    assert "done=revoked" in camille.url
    assert karim.goto(link).status == 404

    # Offers and interests (the demo sent Karim an offer), and the company's side: axe-clean too.
    karim.goto(server.url("/me/offers"))
    assert karim.get_by_role("heading", name="Offres et centres d’intérêt").is_visible()
    assert_accessible(karim, "offers")
    shop_context = new_phone(browser)
    shop = shop_context.new_page()
    problems.append(PageProblems(shop))
    login(shop, server, seed.COMPANIES[0].email, seed.COMPANY_PASSWORD)
    shop.goto(server.url("/company/offers"))
    shop.locator("#f-segment").select_option("books")
    shop.locator("#f-title").fill("Galette des rois")
    shop.locator("#f-body").fill("Une fève en or dans chaque galette")
    shop.get_by_role("button", name="Envoyer l’offre").click()
    shop.wait_for_load_state()
    assert "sent=" in shop.url and shop.get_by_text("Offre envoyée.").is_visible()
    assert_accessible(shop, "company offers")
    shop_context.close()

    # The zone portal: the same zones as the JSON API; small groups are not shown.
    visitor_context = new_phone(browser)
    visitor = visitor_context.new_page()
    problems.append(PageProblems(visitor))
    visitor.goto(server.url("/"))
    visitor.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Zones").click()
    visitor.wait_for_load_state()
    assert_accessible(visitor, "zones")
    screenshot(visitor, "public-zones")
    api = httpx.get(server.url("/api/v1/zones?precision=4")).json()
    shown = {h.get_attribute("id")[len("zone-") :] for h in visitor.locator("h3[id^=zone-]").all()}
    assert shown == {z["zone"] for z in api["zones"]}
    assert {"u09t", "u05k"} <= shown and not {"u09w", "spey"} & shown
    visitor.get_by_role("link", name="u09t", exact=True).click()
    visitor.wait_for_load_state()
    assert visitor.get_by_role("link", name="u09tv", exact=True).is_visible()
    assert_accessible(visitor, "zone u09t")
    visitor.goto(server.url("/zones/u05kq"))  # withheld by complementary suppression
    assert visitor.get_by_text("Non affichée").is_visible()
    assert visitor.locator("table").count() == 0
    assert_accessible(visitor, "withheld zone")

    for seen in problems:
        seen.assert_clean(allow=("404",))
    for context in (camille_context, karim_context, visitor_context):
        context.close()
