"""Dossiers and their shares over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from sesame.models import utcnow
from tests.company_profiles.recommendations.social import Actor, Social
from vault.sharing.models import DossierShare

DOSSIERS = "/api/v1/vault/dossiers"


async def _dossier(
    social: Social, author: Actor, *companies: Actor, title: str = "Marché Saint-Antoine"
) -> dict[str, Any]:
    response = await social.client.post(
        DOSSIERS,
        json={
            "title": title,
            "sector": "alimentation",
            "companies": [
                {"company_id": c.company_id, "note": f"note {i}\nligne 2", "recommend": i % 2 == 0}
                for i, c in enumerate(companies)
            ],
        },
        headers=author.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_crud_and_another_citizens_dossier_is_404(social: Social) -> None:
    company = await social.company()
    author, other = await social.citizen(), await social.citizen()
    dossier = await _dossier(social, author, company)
    assert dossier["companies"][0]["note"] == "note 0\nligne 2"
    assert dossier["companies"][0]["company"]["id"] == company.company_id
    path = f"{DOSSIERS}/{dossier['id']}"

    listed = (await social.client.get(DOSSIERS, headers=author.headers)).json()
    assert [(d["id"], d["companies"]) for d in listed] == [(dossier["id"], 1)]
    assert (await social.client.get(DOSSIERS, headers=other.headers)).json() == []
    for method, url, body in (
        ("GET", path, None),
        ("PUT", path, {"title": "mine now"}),
        ("DELETE", path, None),
        ("GET", f"{path}/shares", None),
        ("POST", f"{path}/shares", {}),
    ):
        response = await social.client.request(method, url, json=body, headers=other.headers)
        assert response.status_code == 404, (method, url, response.text)
    for missing in (999_999, 2**40):
        assert (await social.client.get(f"{DOSSIERS}/{missing}", headers=author.headers)).status_code == 404

    replaced = await social.client.put(
        path, json={"title": "Halles", "companies": []}, headers=author.headers
    )
    assert replaced.status_code == 200 and replaced.json()["companies"] == []
    assert (await social.client.delete(path, headers=author.headers)).status_code == 204
    assert (await social.client.get(path, headers=author.headers)).status_code == 404


async def test_roles_and_validation(social: Social) -> None:
    company = await social.company()
    author = await social.citizen()
    assert (await social.client.get(DOSSIERS)).status_code == 401
    assert (await social.client.get(DOSSIERS, headers=company.headers)).status_code == 403
    for body, field in (
        ({"title": "x", "companies": [{"company_id": 999_999}]}, "body.companies[0].company_id"),
        (
            {
                "title": "x",
                "companies": [{"company_id": company.company_id}, {"company_id": company.company_id}],
            },
            "body.companies[1].company_id",
        ),
        ({"title": "   "}, "body.title"),
        ({"title": "x\u0000y"}, "body.title"),
    ):
        response = await social.client.post(DOSSIERS, json=body, headers=author.headers)
        assert response.status_code == 422, response.text
        assert field in {e["field"] for e in response.json()["errors"]}, response.text


async def test_share_by_sesame_id_shows_the_current_profile_and_imports(social: Social) -> None:
    company = await social.company()
    author = await social.citizen(display_name="Régine")
    recipient, outsider = await social.citizen(), await social.citizen()
    dossier = await _dossier(social, author, company)
    shared = await social.client.post(
        f"{DOSSIERS}/{dossier['id']}/shares", json={"sesame_id": recipient.sesame_id}, headers=author.headers
    )
    assert shared.status_code == 201, shared.text
    share = shared.json()
    assert share["kind"] == "citizen" and share["token"] is None and share["expires_at"] is None

    inbox = (await social.client.get("/api/v1/vault/shared-dossiers", headers=recipient.headers)).json()
    assert [(s["share_id"], s["author"], s["companies"]) for s in inbox] == [(share["id"], "Régine", 1)]
    before = (
        await social.client.get(f"/api/v1/vault/shared-dossiers/{share['id']}", headers=recipient.headers)
    ).json()
    version = before["companies"][0]["company"]["version"]

    # The company files a new civil status: the recipient sees it, not a stale copy.
    profile = (await social.client.get(f"/api/v1/companies/{company.company_id}")).json()
    indicators = {i["key"]: {"value": i["value"]} for i in profile["indicators"] if i["disclosed"]}
    indicators["employee_satisfaction"] = {"value": 71}
    filed = await social.client.put(
        f"/api/v1/companies/{company.company_id}/civil-status",
        json={"indicators": indicators},
        headers=company.headers,
    )
    assert filed.status_code == 200, filed.text
    after = (
        await social.client.get(f"/api/v1/vault/shared-dossiers/{share['id']}", headers=recipient.headers)
    ).json()
    assert after["companies"][0]["company"]["version"] == version + 1
    assert after["companies"][0]["note"] == "note 0\nligne 2"
    assert after["companies"][0]["recommendations"]["company_id"] == company.company_id
    assert "email" not in str(after["author"])

    for viewer in (outsider, author):
        response = await social.client.get(
            f"/api/v1/vault/shared-dossiers/{share['id']}", headers=viewer.headers
        )
        assert response.status_code == 404
    assert (await social.client.get("/api/v1/vault/shared-dossiers", headers=outsider.headers)).json() == []

    imported = await social.client.post(
        f"/api/v1/vault/shared-dossiers/{share['id']}/import", headers=recipient.headers
    )
    assert imported.status_code == 201, imported.text
    copy = imported.json()
    assert copy["id"] != dossier["id"] and copy["title"] == dossier["title"]
    assert [(c["company_id"], c["note"], c["recommend"]) for c in copy["companies"]] == [
        (company.company_id, "note 0\nligne 2", True)
    ]
    # The copy is the recipient's own: editing it leaves the original alone.
    edit = await social.client.put(
        f"{DOSSIERS}/{copy['id']}", json={"title": "À moi"}, headers=recipient.headers
    )
    assert edit.status_code == 200
    original = (await social.client.get(f"{DOSSIERS}/{dossier['id']}", headers=author.headers)).json()
    assert original["title"] == dossier["title"] and len(original["companies"]) == 1


async def test_sharing_needs_a_real_other_sesame(social: Social) -> None:
    author = await social.citizen()
    dossier = await _dossier(social, author)
    shares = f"{DOSSIERS}/{dossier['id']}/shares"
    unknown = await social.client.post(shares, json={"sesame_id": "nobody-here"}, headers=author.headers)
    assert unknown.status_code == 404
    myself = await social.client.post(shares, json={"sesame_id": author.sesame_id}, headers=author.headers)
    assert myself.status_code == 422


async def test_link_share_qr_expiry_and_revocation(social: Social) -> None:
    company = await social.company()
    author, reader = await social.citizen(), await social.citizen()
    dossier = await _dossier(social, author, company)
    shares = f"{DOSSIERS}/{dossier['id']}/shares"
    created = await social.client.post(shares, json={"expires_in_hours": 2}, headers=author.headers)
    assert created.status_code == 201, created.text
    link = created.json()
    assert link["kind"] == "link" and link["token"] and link["url"].endswith(link["token"])
    by_link = f"/api/v1/shared-dossiers/{link['token']}"

    seen = await social.client.get(by_link, headers=reader.headers)
    assert seen.status_code == 200, seen.text
    assert seen.json()["companies"][0]["company"]["id"] == company.company_id
    qr = await social.client.get(f"{by_link}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.text.lstrip().startswith("<svg")
    assert (await social.client.get(by_link, headers=company.headers)).status_code == 403
    assert (await social.client.get(by_link)).status_code == 401
    assert (
        await social.client.get("/api/v1/shared-dossiers/" + "x" * 43, headers=reader.headers)
    ).status_code == 404
    # The author's list never shows the token again.
    listed = (await social.client.get(shares, headers=author.headers)).json()
    assert "token" not in listed[0] and link["token"] not in str(listed)

    imported = await social.client.post(f"{by_link}/import", headers=reader.headers)
    assert imported.status_code == 201

    # Expiry: two hours later the link is dead (moved into the past in the database).
    async with social.session() as session:
        await session.execute(
            update(DossierShare)
            .where(col(DossierShare.id) == link["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert (await social.client.get(by_link, headers=reader.headers)).status_code == 404
    assert (await social.client.get(f"{by_link}/qr.svg")).status_code == 404
    assert (await social.client.post(f"{by_link}/import", headers=reader.headers)).status_code == 404
    assert (await social.client.get(shares, headers=author.headers)).json()[0]["expired"] is True

    # Revocation: a fresh link works, then is revoked, then 404 everywhere.
    fresh = (await social.client.post(shares, json={}, headers=author.headers)).json()
    fresh_path = f"/api/v1/shared-dossiers/{fresh['token']}"
    assert (await social.client.get(fresh_path, headers=reader.headers)).status_code == 200
    revoked = await social.client.delete(f"{shares}/{fresh['id']}", headers=author.headers)
    assert revoked.status_code == 204
    assert (await social.client.get(fresh_path, headers=reader.headers)).status_code == 404
    assert (await social.client.get(f"{fresh_path}/qr.svg")).status_code == 404
    assert (await social.client.delete(f"{shares}/{fresh['id']}", headers=reader.headers)).status_code == 404


async def test_revoking_or_deleting_ends_a_direct_share(social: Social) -> None:
    author, recipient = await social.citizen(), await social.citizen()
    dossier = await _dossier(social, author)
    shares = f"{DOSSIERS}/{dossier['id']}/shares"
    share = (
        await social.client.post(shares, json={"sesame_id": recipient.sesame_id}, headers=author.headers)
    ).json()
    view = f"/api/v1/vault/shared-dossiers/{share['id']}"
    assert (await social.client.get(view, headers=recipient.headers)).status_code == 200
    assert (await social.client.delete(f"{shares}/{share['id']}", headers=author.headers)).status_code == 204
    assert (await social.client.get(view, headers=recipient.headers)).status_code == 404
    assert (await social.client.post(f"{view}/import", headers=recipient.headers)).status_code == 404
    assert (await social.client.get("/api/v1/vault/shared-dossiers", headers=recipient.headers)).json() == []

    again = (
        await social.client.post(shares, json={"sesame_id": recipient.sesame_id}, headers=author.headers)
    ).json()
    assert (
        await social.client.delete(f"{DOSSIERS}/{dossier['id']}", headers=author.headers)
    ).status_code == 204
    gone = await social.client.get(f"/api/v1/vault/shared-dossiers/{again['id']}", headers=recipient.headers)
    assert gone.status_code == 404
