"""The citizen's own vault over HTTP: fields and versions, the overview, settings, the card, SD-JWT."""

from __future__ import annotations

import io

import segno

from tests.vault.conftest import FIVE_FIELDS, World
from vault import services


async def test_set_read_version_delete(world: World) -> None:
    citizen = await world.citizen()
    client, h = world.client, citizen.headers
    assert (await client.get("/api/v1/vault/fields", headers=h)).json() == []
    first = await client.put("/api/v1/vault/fields/email", json={"value": "one-1@exemple.fr"}, headers=h)
    assert first.status_code == 200 and first.json()["version"] == 1
    second = await client.put("/api/v1/vault/fields/email", json={"value": "two-2@exemple.fr"}, headers=h)
    assert second.json()["version"] == 2
    assert (await client.get("/api/v1/vault/fields/email", headers=h)).json()["value"] == "two-2@exemple.fr"
    history = (await client.get("/api/v1/vault/fields/email/versions", headers=h)).json()
    assert [(v["version"], v["value"]) for v in history] == [(2, "two-2@exemple.fr"), (1, "one-1@exemple.fr")]
    custom = await client.put(
        "/api/v1/vault/fields/custom.loyalty-card", json={"value": "LC-0042"}, headers=h
    )
    assert custom.status_code == 200
    listed = (await client.get("/api/v1/vault/fields", headers=h)).json()
    assert [(f["name"], f["value"]) for f in listed] == [
        ("custom.loyalty-card", "LC-0042"),
        ("email", "two-2@exemple.fr"),
    ]
    overview = (await client.get("/api/v1/vault", headers=h)).json()
    assert overview["sesame_id"] == citizen.sesame_id and overview["fields"] == [
        "custom.loyalty-card",
        "email",
    ]
    assert overview["card_url"] == f"http://sesame.test/s/{citizen.sesame_id}"
    assert (await client.delete("/api/v1/vault/fields/email", headers=h)).status_code == 204
    assert (await client.get("/api/v1/vault/fields/email", headers=h)).status_code == 404
    assert (await client.get("/api/v1/vault/fields/email/versions", headers=h)).status_code == 404
    assert (await client.delete("/api/v1/vault/fields/email", headers=h)).status_code == 404
    again = await client.put("/api/v1/vault/fields/email", json={"value": "three-3@exemple.fr"}, headers=h)
    assert again.status_code == 200


INVALID_FIELDS: list[tuple[str, dict[str, object], int]] = [
    ("birth_date", {"value": "1990-02-30"}, 422),
    ("email", {"value": "nope"}, 422),
    ("phone", {"value": "06 12 34 56 78"}, 422),
    ("postal_address", {"value": {"street": "1 rue X"}}, 422),
    ("ssn", {"value": "1 23 45"}, 422),
    ("custom.Bad", {"value": "x"}, 422),
    ("email", {"val": "a@b.fr"}, 422),
    ("email", {}, 422),
]


async def test_invalid_fields_are_refused_with_a_reason(world: World) -> None:
    citizen = await world.citizen()
    for name, body, status in INVALID_FIELDS:
        response = await world.client.put(f"/api/v1/vault/fields/{name}", json=body, headers=citizen.headers)
        assert response.status_code in (400, status), (name, body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        if response.status_code == 422:
            assert response.json()["errors"], (name, body)
    assert (await world.client.get("/api/v1/vault/fields", headers=citizen.headers)).json() == []


async def test_settings(world: World) -> None:
    citizen = await world.citizen()
    client, h = world.client, citizen.headers
    assert (await client.get("/api/v1/vault/settings", headers=h)).json() == {
        "contactless": False,
        "highlights": ["employee_satisfaction"],
        "language": "fr",
    }
    changed = {
        "contactless": True,
        "highlights": ["carbon_footprint", "employee_satisfaction"],
        "language": "en",
    }
    assert (await client.put("/api/v1/vault/settings", json=changed, headers=h)).json() == changed
    assert (await client.get("/api/v1/vault/settings", headers=h)).json() == changed
    for bad in (
        {"language": "de"},
        {"highlights": ["Not A Key"]},
        {"highlights": ["a1"] * 6},
        {"contactless": "maybe"},
    ):
        response = await client.put("/api/v1/vault/settings", json=bad, headers=h)
        assert response.status_code in (400, 422), bad
    async with world.session() as session:
        settings = await services.citizen_settings(session, citizen.account_id)
        assert settings.contactless and settings.language == "en"
        assert settings.highlights == ["carbon_footprint", "employee_satisfaction"]


async def test_card_is_a_qr_of_the_sesame_link(world: World) -> None:
    citizen = await world.citizen()
    response = await world.client.get("/api/v1/vault/qr.svg", headers=citizen.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["cache-control"] == "no-store"
    expected = io.BytesIO()
    segno.make(f"http://sesame.test/s/{citizen.sesame_id}", error="m").save(
        expected, kind="svg", scale=6, border=2, title="Sésame"
    )
    assert response.content == expected.getvalue()
    assert b"<svg" in response.content


async def test_presentation_issued_and_verified_by_anyone(world: World) -> None:
    citizen = await world.citizen(FIVE_FIELDS)
    client = world.client
    body = {
        "fields": ["given_name", "postal_address"],
        "audience": "https://shop.example",
        "nonce": "nonce-77-abc",
    }
    issued = await client.post("/api/v1/vault/presentations", json=body, headers=citizen.headers)
    assert issued.status_code == 201, issued.text
    token = issued.json()["presentation"]
    assert token.count("~") == 3
    verified = await client.post(
        "/api/v1/presentations/verify",
        json={"presentation": token, "audience": "https://shop.example", "nonce": "nonce-77-abc"},
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["claims"] == {
        "given_name": FIVE_FIELDS["given_name"],
        "postal_address": FIVE_FIELDS["postal_address"],
    }
    assert verified.json()["issuer"] == "http://sesame.test"
    # The same holder key every time (it is kept, sealed, in the vault).
    again = await client.post("/api/v1/vault/presentations", json=body, headers=citizen.headers)
    again_verified = await client.post(
        "/api/v1/presentations/verify",
        json={
            "presentation": again.json()["presentation"],
            "audience": "https://shop.example",
            "nonce": "nonce-77-abc",
        },
    )
    assert again_verified.json()["holder_jwk"] == verified.json()["holder_jwk"]
    replay = await client.post(
        "/api/v1/presentations/verify",
        json={"presentation": token, "audience": "https://other.example", "nonce": "nonce-77-abc"},
    )
    assert replay.status_code == 422 and replay.json()["type"].endswith("invalid-presentation")
    garbage = await client.post(
        "/api/v1/presentations/verify", json={"presentation": "a.b.c~d~e.f.g", "audience": "x", "nonce": "y"}
    )
    assert garbage.status_code == 422
    missing = await client.post(
        "/api/v1/vault/presentations", json={**body, "fields": ["birth_date"]}, headers=citizen.headers
    )
    assert missing.status_code == 422


async def test_service_functions_for_other_packages(world: World) -> None:
    citizen = await world.citizen()
    company = await world.company()
    async with world.session() as session:
        ref = await services.vault_for_sesame_id(session, citizen.sesame_id or "")
        assert ref is not None and ref.account_id == citizen.account_id and ref.sesame_id == citizen.sesame_id
        assert await services.vault_for_sesame_id(session, "nope") is None
        assert (
            await services.open_account_between(session, citizen.sesame_id or "", company.company_id or 0)
            is None
        )
    account_id = await world.open_account(company, citizen)
    async with world.session() as session:
        account = await services.open_account_between(
            session, citizen.sesame_id or "", company.company_id or 0
        )
        assert account is not None and account.id == account_id and account.civil_status_version is not None
        assert await services.sesame_id_for_account(session, citizen.account_id) == citizen.sesame_id
