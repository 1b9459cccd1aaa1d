"""Who may do what: citizen A vs citizen B, every role on the vault's endpoints, and a company's read in
every state of its relationship with the citizen (none, requested, open, granted, expired, withdrawn, closed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from tests.vault.conftest import FIVE_FIELDS, Actor, World, later
from vault import services
from vault.models import Grant

CITIZEN_ENDPOINTS = [
    ("GET", "/api/v1/vault"),
    ("GET", "/api/v1/vault/fields"),
    ("GET", "/api/v1/vault/fields/email"),
    ("PUT", "/api/v1/vault/fields/email"),
    ("DELETE", "/api/v1/vault/fields/email"),
    ("GET", "/api/v1/vault/company-accounts"),
    ("POST", "/api/v1/vault/company-accounts/1/accept"),
    ("POST", "/api/v1/vault/company-accounts/1/decline"),
    ("POST", "/api/v1/vault/company-accounts/1/close"),
    ("GET", "/api/v1/vault/grants"),
    ("POST", "/api/v1/vault/grants"),
    ("DELETE", "/api/v1/vault/grants/1"),
    ("GET", "/api/v1/vault/requests"),
    ("POST", "/api/v1/vault/requests/1/decision"),
    ("GET", "/api/v1/vault/receipts"),
    ("GET", "/api/v1/vault/receipts/1/proof"),
    ("GET", "/api/v1/vault/export"),
    ("GET", "/api/v1/vault/qr.svg"),
    ("GET", "/api/v1/vault/settings"),
    ("PUT", "/api/v1/vault/settings"),
    ("POST", "/api/v1/vault/presentations"),
    ("DELETE", "/api/v1/vault"),
]
COMPANY_ENDPOINTS = [
    ("POST", "/api/v1/sesames/{sid}/company-accounts"),
    ("GET", "/api/v1/sesames/{sid}/company-account"),
    ("POST", "/api/v1/sesames/{sid}/requests"),
    ("GET", "/api/v1/sesames/{sid}/requests/1"),
    ("GET", "/api/v1/sesames/{sid}/fields"),
]


async def call(world: World, method: str, path: str, actor: Actor | None) -> int:
    headers = actor.headers if actor else {}
    body = {"value": "x"} if method in ("PUT", "POST") else None
    response = await world.client.request(method, path, headers=headers, json=body)
    return response.status_code


async def test_roles_on_every_endpoint(world: World) -> None:
    citizen = await world.citizen()
    company = await world.company()
    verifier = await world.verifier()
    admin = await world.account("admin")
    for method, path in CITIZEN_ENDPOINTS:
        assert await call(world, method, path, None) == 401, (method, path)
        for other in (company, verifier, admin):
            assert await call(world, method, path, other) == 403, (method, path, other.kind)
    for method, template in COMPANY_ENDPOINTS:
        path = template.format(sid=citizen.sesame_id)
        assert await call(world, method, path, None) == 401, (method, path)
        for other in (citizen, verifier, admin):
            assert await call(world, method, path, other) == 403, (method, path, other.kind)


async def test_citizen_b_never_sees_citizen_a(world: World) -> None:
    a = await world.citizen(FIVE_FIELDS)
    b = await world.citizen()
    company = await world.company()
    account_id = await world.open_account(company, a)
    grant = await world.grant(a, account_id, ["email"])
    await world.read(company, a)
    request = await world.client.post(
        f"/api/v1/sesames/{a.sesame_id}/requests",
        json={"fields": ["phone"], "purpose": "calls"},
        headers=company.headers,
    )
    receipts = (await world.client.get("/api/v1/vault/receipts", headers=a.headers)).json()
    client, h = world.client, b.headers
    for path in ("accept", "decline", "close"):
        assert (
            await client.post(f"/api/v1/vault/company-accounts/{account_id}/{path}", headers=h)
        ).status_code == 404
    assert (await client.delete(f"/api/v1/vault/grants/{grant['id']}", headers=h)).status_code == 404
    decision = await client.post(
        f"/api/v1/vault/requests/{request.json()['id']}/decision", json={"approve": ["phone"]}, headers=h
    )
    assert decision.status_code == 404
    assert (
        await client.get(f"/api/v1/vault/receipts/{receipts[0]['id']}/proof", headers=h)
    ).status_code == 404
    given = await client.post(
        "/api/v1/vault/grants",
        json={
            "company_account_id": account_id,
            "fields": ["email"],
            "purpose": "steal",
            "expires_at": later(30),
        },
        headers=h,
    )
    assert given.status_code == 404
    assert (await client.get("/api/v1/vault/fields", headers=h)).json() == []
    assert (await client.get("/api/v1/vault/receipts", headers=h)).json() == []
    assert (await client.get("/api/v1/vault/grants", headers=h)).json() == []
    assert (await client.get("/api/v1/vault/company-accounts", headers=h)).json() == []
    # A's things are untouched.
    assert (await client.get("/api/v1/vault/grants", headers=a.headers)).json()[0]["state"] == "given"


async def test_opening_needs_attested_indicators_and_a_real_sesame(world: World) -> None:
    citizen = await world.citizen()
    unattested = await world.company(attested=False)
    response = await world.client.post(
        f"/api/v1/sesames/{citizen.sesame_id}/company-accounts", headers=unattested.headers
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"].endswith("attestations-missing") and "legal_name" in problem["missing"]
    assert response.headers["content-type"].startswith("application/problem+json")

    no_company = await world.account("company")
    response = await world.client.post(
        f"/api/v1/sesames/{citizen.sesame_id}/company-accounts", headers=no_company.headers
    )
    assert response.status_code == 409 and response.json()["type"].endswith("no-company")

    attested = await world.company()
    for sid in ("unknown-sesame-id-xxxxxxx", "x" * 200):
        response = await world.client.post(
            f"/api/v1/sesames/{sid}/company-accounts", headers=attested.headers
        )
        assert response.status_code == 404
    first = await world.client.post(
        f"/api/v1/sesames/{citizen.sesame_id}/company-accounts", headers=attested.headers
    )
    assert first.status_code == 201
    again = await world.client.post(
        f"/api/v1/sesames/{citizen.sesame_id}/company-accounts", headers=attested.headers
    )
    assert again.status_code == 409


async def test_company_read_in_every_state(world: World) -> None:
    citizen = await world.citizen(FIVE_FIELDS)
    company = await world.company()
    other = await world.company()
    client = world.client

    # No account at all: 404, and the citizen sees a denied attempt.
    assert (await world.read(company, citizen)).status_code == 404
    assert (
        await client.post(
            f"/api/v1/sesames/{citizen.sesame_id}/requests",
            json={"fields": ["email"], "purpose": "spam"},
            headers=company.headers,
        )
    ).status_code == 404
    receipts = (await client.get("/api/v1/vault/receipts", headers=citizen.headers)).json()
    assert receipts[0]["outcome"] == "denied" and receipts[0]["reason"] == "no_account"
    assert receipts[0]["ledger_index"] is None

    # Requested but not accepted: still 404. Declined: 404.
    asked = (
        await client.post(f"/api/v1/sesames/{citizen.sesame_id}/company-accounts", headers=company.headers)
    ).json()
    assert (await world.read(company, citizen)).status_code == 404
    grant_on_requested = await client.post(
        "/api/v1/vault/grants",
        json={
            "company_account_id": asked["id"],
            "fields": ["email"],
            "purpose": "x" * 5,
            "expires_at": later(30),
        },
        headers=citizen.headers,
    )
    assert grant_on_requested.status_code == 409
    declined = await client.post(
        f"/api/v1/vault/company-accounts/{asked['id']}/decline", headers=citizen.headers
    )
    assert declined.json()["state"] == "declined"
    assert (await world.read(company, citizen)).status_code == 404

    # Open, nothing granted: an empty set (and a denied receipt).
    account_id = await world.open_account(company, citizen)
    response = await world.read(company, citizen)
    assert response.status_code == 200 and response.json()["fields"] == {}

    # Granted: exactly those fields; another company with its own account still sees nothing.
    grant = await world.grant(citizen, account_id, ["email", "postal_address"])
    response = await world.read(company, citizen)
    assert response.json()["fields"] == {
        "email": FIVE_FIELDS["email"],
        "postal_address": FIVE_FIELDS["postal_address"],
    }
    await world.open_account(other, citizen)
    assert (await world.read(other, citizen)).json()["fields"] == {}

    # Expired (time passes): an empty set, the grant reads as expired.
    async with world.session() as session:
        result = await services.read_granted_fields(
            session,
            world.app.state.keyring,
            principal_id=company.account_id,
            sesame_id=citizen.sesame_id or "",
            now=datetime.now(UTC) + timedelta(days=31),
        )
        assert result.fields == {}
        await session.execute(
            update(Grant)
            .where(Grant.id == grant["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))  # type: ignore[arg-type]
        )
        await session.commit()
    assert (await world.read(company, citizen)).json()["fields"] == {}
    grants = (await client.get("/api/v1/vault/grants", headers=citizen.headers)).json()
    assert grants[0]["state"] == "expired"
    assert (
        await client.delete(f"/api/v1/vault/grants/{grant['id']}", headers=citizen.headers)
    ).status_code == 409

    # Withdrawn: an empty set.
    second = await world.grant(citizen, account_id, ["phone"])
    assert (await world.read(company, citizen)).json()["fields"] == {"phone": FIVE_FIELDS["phone"]}
    assert (
        await client.delete(f"/api/v1/vault/grants/{second['id']}", headers=citizen.headers)
    ).status_code == 200
    assert (await world.read(company, citizen)).json()["fields"] == {}

    # Closed: 404 again, and live grants are withdrawn with it.
    third = await world.grant(citizen, account_id, ["given_name"])
    closed = await client.post(f"/api/v1/vault/company-accounts/{account_id}/close", headers=citizen.headers)
    assert closed.status_code == 200 and closed.json()["closed_ledger_index"] is not None
    assert (await world.read(company, citizen)).status_code == 404
    states = {
        g["id"]: g["state"]
        for g in (await client.get("/api/v1/vault/grants", headers=citizen.headers)).json()
    }
    assert states[third["id"]] == "withdrawn"
    assert (
        await client.post(f"/api/v1/vault/company-accounts/{account_id}/close", headers=citizen.headers)
    ).status_code == 409

    outcomes = [
        (r["outcome"], r["reason"])
        for r in (await client.get("/api/v1/vault/receipts", headers=citizen.headers)).json()
    ]
    assert ("denied", "no_account") in outcomes and ("denied", "nothing_granted") in outcomes
    assert ("granted", None) in outcomes


async def test_acceptance_refused_when_the_shown_version_is_stale(world: World) -> None:
    citizen = await world.citizen()
    company = await world.company()
    asked = (
        await world.client.post(
            f"/api/v1/sesames/{citizen.sesame_id}/company-accounts", headers=company.headers
        )
    ).json()
    stale = await world.client.post(
        f"/api/v1/vault/company-accounts/{asked['id']}/accept",
        json={"civil_status_version": asked["civil_status_version"] + 5},
        headers=citizen.headers,
    )
    assert stale.status_code == 409


INVALID_GRANTS: list[dict[str, object]] = [
    {"fields": [], "purpose": "delivery", "expires_at": later(30)},
    {"fields": ["ssn"], "purpose": "delivery", "expires_at": later(30)},
    {"fields": ["email"], "purpose": "delivery", "expires_at": "2001-01-01T00:00:00Z"},
    {"fields": ["email"], "purpose": "delivery", "expires_at": later(365 * 11)},
    {"fields": ["email"], "purpose": "", "expires_at": later(30)},
    {"fields": ["email"], "purpose": "delivery"},
    {"fields": ["email"], "purpose": "delivery", "expires_at": "soon"},
]


async def test_invalid_grants_are_422(world: World) -> None:
    citizen = await world.citizen()
    company = await world.company()
    account_id = await world.open_account(company, citizen)
    for body in INVALID_GRANTS:
        response = await world.client.post(
            "/api/v1/vault/grants", json={"company_account_id": account_id, **body}, headers=citizen.headers
        )
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"], body
    assert (await world.client.get("/api/v1/vault/grants", headers=citizen.headers)).json() == []
