"""Dossiers, offers and segments, the zone portal, the verifier's refusal and HTML 404s, through the pages."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar

from tests.web.conftest import Browser
from tests.web.test_flow import _make_verifier, _register_company, _sesame_id

MANDATORY = [
    "legal_name",
    "registration_id",
    "founding_date",
    "tax_residence",
    "registered_address",
    "nace_sector",
]


def _location(response: Any) -> str:
    return str(response.url)


async def _citizen(browser: Browser, email: str, name: str) -> str:
    await browser.sign_up("citizen", email, name)
    return _sesame_id((await browser.get("/me")).text)


async def _account_id(app: Litestar, email: str) -> int:
    from sqlmodel import col, select

    from sesame.accounts.models import Account

    async with app.state.sessionmaker() as session:
        found = await session.scalar(select(Account.id).where(col(Account.email) == email))
        assert isinstance(found, int)
        return found


async def _company_id(app: Litestar, email: str) -> int:
    from company_profiles import services as profiles

    account_id = await _account_id(app, email)
    async with app.state.sessionmaker() as session:
        ref = await profiles.company_for_account(session, account_id)
        assert ref is not None
        return ref.id


async def _attested_company(company: Browser, app: Litestar) -> int:
    """The bakery, registered through its pages, its mandatory indicators attested by a registry."""
    from company_profiles import services as profiles
    from company_profiles.schemas import AttestationRequest

    await _register_company(company)
    company_id = await _company_id(app, "bonjour@boulangerie.test")
    await _make_verifier(app, "registre@verifier.test", MANDATORY)
    verifier_id = await _account_id(app, "registre@verifier.test")
    async with app.state.sessionmaker() as session:
        profile = await profiles.public_profile(session, company_id)
        for view in profile.indicators:
            if view.key in MANDATORY and view.disclosed:
                await profiles.issue_attestation(
                    session,
                    app.state.keyring,
                    company_id=company_id,
                    account_id=verifier_id,
                    request=AttestationRequest(indicator=view.key, value=view.value, version=profile.version),
                )
    return company_id


async def _open_account(company: Browser, citizen: Browser, sesame_id: str) -> None:
    asked = await company.post(
        "/company/customers/open", {"sesame": sesame_id}, form_page="/company/customers"
    )
    assert "done=account-requested" in _location(asked)
    page = await citizen.get("/me/companies")
    account = re.search(r'action="/me/companies/(\d+)/accept"', page.text)
    shown = re.search(r'name="shown_version" value="(\d+)"', page.text)
    assert account and shown
    opened = await citizen.post(
        f"/me/companies/{account.group(1)}/accept",
        {"shown_version": shown.group(1)},
        form_page="/me/companies",
    )
    assert "done=accepted" in _location(opened)


async def test_a_dossier_passes_from_one_citizen_to_another(
    browser: Browser, other_browser: Browser, web_app: Litestar
) -> None:
    company = Browser(browser.client)
    await _register_company(company)
    company_id = await _company_id(web_app, "bonjour@boulangerie.test")
    camille, karim = browser, other_browser
    await _citizen(camille, "camille@citizen.test", "Camille")
    karim_id = await _citizen(karim, "karim@citizen.test", "Karim")

    empty = await camille.get("/me/dossiers")
    assert empty.status_code == 200 and "Vous n’avez encore aucun dossier." in empty.text
    forged = await camille.request("POST", "/me/dossiers", data={"title": "Sans jeton"})
    assert forged.status_code == 403  # no CSRF token
    blank = await camille.post("/me/dossiers", {"title": "  "}, form_page="/me/dossiers")
    assert blank.status_code == 422 and 'aria-invalid="true"' in blank.text

    created = await camille.post(
        "/me/dossiers", {"title": "Boulangeries de Lyon", "sector": "pain"}, form_page="/me/dossiers"
    )
    assert "done=created" in _location(created)
    found = re.search(r"/me/dossiers/(\d+)", _location(created))
    assert found
    dossier = f"/me/dossiers/{found.group(1)}"
    assert f'<option value="{company_id}">Boulangerie Dupont SARL</option>' in created.text
    saved = await camille.post(
        dossier,
        {
            "title": "Boulangeries de Lyon",
            "sector": "pain",
            "add_company": str(company_id),
            "add_note": "Le meilleur pain de campagne",
            "add_recommend": "yes",
        },
        form_page=dossier,
    )
    assert "done=saved" in _location(saved)
    assert "Le meilleur pain de campagne" in saved.text and "Score de transparence" in saved.text
    assert 'value="yes" selected' in saved.text

    unknown = await camille.post(
        f"{dossier}/shares", {"kind": "citizen", "sesame_id": "nobody-here"}, form_page=dossier
    )
    assert unknown.status_code == 422 and "Aucun Sésame ne porte ce numéro." in unknown.text
    shared = await camille.post(
        f"{dossier}/shares", {"kind": "citizen", "sesame_id": karim_id}, form_page=dossier
    )
    assert "done=shared" in _location(shared) and karim_id in shared.text

    # Karim sees it in his inbox, with the company's current profile; Camille's own dossier stays hers.
    inbox = await karim.get("/me/dossiers")
    share = re.search(r'href="/me/shared/(\d+)">Boulangeries de Lyon</a>', inbox.text)
    assert share, inbox.text[-2000:]
    received = await karim.get(f"/me/shared/{share.group(1)}")
    assert received.status_code == 200
    assert "Boulangerie Dupont SARL" in received.text and "Le meilleur pain de campagne" in received.text
    assert "partagé par Camille" in received.text and "Recommandée par l’auteur" in received.text
    assert "Ses chiffres aujourd’hui" in received.text and "Dénomination sociale" in received.text
    assert (await karim.get(dossier)).status_code == 404
    assert (await karim.post(f"{dossier}/delete", {}, form_page="/me/dossiers")).status_code == 404
    assert (await camille.get(f"/me/shared/{share.group(1)}")).status_code == 404

    imported = await karim.post(f"/me/shared/{share.group(1)}/import", {}, form_page="/me/dossiers")
    assert "done=imported" in _location(imported) and "Le meilleur pain de campagne" in imported.text

    # Revoked: the share no longer opens.
    share_row = re.search(rf'action="{dossier}/shares/(\d+)/revoke"', (await camille.get(dossier)).text)
    assert share_row
    revoked = await camille.post(f"{dossier}/shares/{share_row.group(1)}/revoke", {}, form_page=dossier)
    assert "done=revoked" in _location(revoked)
    assert (await karim.get(f"/me/shared/{share.group(1)}")).status_code == 404

    # By link: shown once with its QR code; a signed-in citizen opens it, nobody else.
    link = await camille.post(
        f"{dossier}/shares", {"kind": "link", "expires_in_hours": "24"}, form_page=dossier
    )
    assert link.status_code == 200 and "/qr.svg" in link.text
    url = re.search(r'value="http://sesame\.test(/shared/[A-Za-z0-9_-]+)"', link.text)
    assert url
    qr = await karim.get(f"/api/v1/shared-dossiers/{url.group(1).rsplit('/', 1)[1]}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert (
        f'src="http://sesame.test/api/v1/shared-dossiers/{url.group(1).rsplit("/", 1)[1]}/qr.svg"'
        in link.text
    )
    opened = await karim.get(url.group(1))
    assert opened.status_code == 200 and "Boulangerie Dupont SARL" in opened.text
    anonymous = Browser(browser.client)
    assert (await anonymous.get(url.group(1))).status_code == 200  # followed to the login page
    assert "/login?next=" in str((await anonymous.get(url.group(1))).url)
    assert (await karim.get("/shared/" + "x" * 43)).status_code == 404

    deleted = await camille.post(f"{dossier}/delete", {}, form_page=dossier)
    assert "done=deleted" in _location(deleted)
    assert (await karim.get(url.group(1))).status_code == 404


async def test_offers_segments_and_mutes(browser: Browser, other_browser: Browser, web_app: Litestar) -> None:
    company, citizen = browser, other_browser
    await _attested_company(company, web_app)
    sesame_id = await _citizen(citizen, "camille@citizen.test", "Camille")
    await _open_account(company, citizen, sesame_id)

    wrong_zone = await citizen.post(
        "/me/offers/segments", {"segments": ["books"], "zone": "u09"}, form_page="/me/offers"
    )
    assert wrong_zone.status_code == 422 and 'aria-invalid="true"' in wrong_zone.text
    saved = await citizen.post(
        "/me/offers/segments", {"segments": ["books", "fine_food"], "zone": "u09tv"}, form_page="/me/offers"
    )
    assert "done=segments" in _location(saved)
    assert 'value="books" checked' in saved.text and 'value="u09tv"' in saved.text

    form = await company.get("/company/offers")
    assert form.status_code == 200 and "Livres" in form.text
    missing = await company.post("/company/offers", {"segment": "books"}, form_page="/company/offers")
    assert missing.status_code == 422
    sent = await company.post(
        "/company/offers",
        {
            "segment": "books",
            "zone": "u09t",
            "title": "Rentrée littéraire",
            "body": "-10 % sur les romans",
            "valid_until": "2099-01-01",
        },
        form_page="/company/offers",
    )
    assert sent.status_code == 422  # more than a year ahead
    sent = await company.post(
        "/company/offers",
        {
            "segment": "books",
            "zone": "u09t",
            "title": "Rentrée littéraire",
            "body": "-10 % sur les romans",
            "valid_until": re.search(r'name="valid_until" value="([0-9-]+)"', form.text).group(1),  # type: ignore[union-attr]
        },
        form_page="/company/offers",
    )
    assert "sent=" in _location(sent)
    # One citizen got it; the company learns only "fewer than k".
    assert "Remis à moins de 5 citoyens." in sent.text
    assert "Remis à 1 citoyen" not in sent.text

    inbox = await citizen.get("/me/offers")
    assert "Rentrée littéraire" in inbox.text and "-10 % sur les romans" in inbox.text
    offer = re.search(r'action="/me/offers/(\d+)/dismiss"', inbox.text)
    mute = re.search(r'action="/me/offers/mutes/(\d+)"', inbox.text)
    assert offer and mute
    muted = await citizen.post(f"/me/offers/mutes/{mute.group(1)}", {}, form_page="/me/offers")
    assert "done=muted" in _location(muted) and "Rentrée littéraire" not in muted.text
    assert "Entreprises mises en sourdine" in muted.text and "Boulangerie Dupont SARL" in muted.text
    unmuted = await citizen.post(f"/me/offers/mutes/{mute.group(1)}/unmute", {}, form_page="/me/offers")
    assert "Rentrée littéraire" in unmuted.text
    dismissed = await citizen.post(f"/me/offers/{offer.group(1)}/dismiss", {}, form_page="/me/offers")
    assert "done=dismissed" in _location(dismissed) and "Rentrée littéraire" not in dismissed.text
    again = await citizen.post(f"/me/offers/{offer.group(1)}/dismiss", {}, form_page="/me/offers")
    assert again.status_code == 404


async def test_the_verifier_refuses_and_the_company_sees_why(browser: Browser, web_app: Litestar) -> None:
    company = browser
    await _register_company(company)
    await _make_verifier(web_app, "registre@verifier.test", MANDATORY)
    verifier = Browser(browser.client)
    await verifier.log_in("registre@verifier.test")
    queue = await verifier.get("/verifier")
    assert 'action="/verifier/refuse"' in queue.text and 'for="refuse-' in queue.text
    company_id = await _company_id(web_app, "bonjour@boulangerie.test")
    form = {"company_id": str(company_id), "indicator": "registered_address", "version": "1"}
    blank = await verifier.post("/verifier/refuse", {**form, "reason": " "}, form_page="/verifier")
    assert blank.status_code == 422
    assert (
        'aria-invalid="true"' in blank.text
        and f'id="refuse-{company_id}-registered_address-error"' in blank.text
    )
    refused = await verifier.post(
        "/verifier/refuse", {**form, "reason": "Adresse absente du registre"}, form_page="/verifier"
    )
    assert "done=refused" in _location(refused)
    assert "Refusées (1)" in refused.text and "Adresse absente du registre" in refused.text
    home = await company.get("/company")
    assert "refusé (Adresse absente du registre)" in home.text
    public = await company.get(f"/companies/{company_id}")
    assert "Adresse absente du registre" in public.text


async def test_zone_portal_page_shows_what_the_api_publishes(browser: Browser, web_app: Litestar) -> None:
    from sesame import seed
    from vault.sharing import demo

    nothing = await browser.get("/zones")
    assert nothing.status_code == 200 and "Aucune zone ne réunit encore assez de citoyens" in nothing.text
    await seed.seed_demo(web_app.state.sessionmaker, web_app.state.keyring, web_app.state.settings)
    await demo.seed_social(web_app.state.sessionmaker, web_app.state.settings)

    for precision in (4, 5):
        api = (await browser.get(f"/api/v1/zones?precision={precision}")).json()
        page = await browser.get(f"/zones?precision={precision}")
        shown = set(re.findall(r'<h3 id="zone-([0-9a-z]+)">', page.text))
        assert shown == {z["zone"] for z in api["zones"]} and shown
    parents = await browser.get("/zones")
    assert "u09t" in parents.text and "u05k" in parents.text and 'id="zone-u09w"' not in parents.text
    paris = await browser.get("/zones/u09t")
    assert 'href="/zones/u09tv"' in paris.text and 'href="/zones/u05kq"' not in paris.text
    hidden = await browser.get("/zones/u05kq")
    assert hidden.status_code == 200 and "Non affichée" in hidden.text and "citizens" not in hidden.text
    assert (await browser.get("/zones/u09t?sector=abc")).status_code == 422
    assert "Zones" in (await browser.get("/")).text


async def test_browsers_get_an_html_404_and_api_clients_problem_json(browser: Browser) -> None:
    page = await browser.get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Rien ici" in page.text
    problem = await browser.get("/no/such/page", headers={"Accept": "application/json"})
    assert problem.status_code == 404 and problem.headers["content-type"] == "application/problem+json"
    api = await browser.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    await browser.sign_up("citizen", "lea@citizen.test")
    missing = await browser.get("/me/dossiers/424242", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and "Rien ici" in missing.text
