"""The checkout's HTTP rules, on SQLite and PostgreSQL: refusals, idempotency, decisions, expiry, ownership."""

from __future__ import annotations

import jwt
import pytest

from scanner.checkout import services
from scanner.checkout.decisions import JWS_TYPE, verify_decision
from scanner.checkout.streams import NullNotifier
from sesame.models import utcnow
from tests.scanner.checkout.conftest import World

NBSP = "\u00a0"


async def test_no_open_account_is_refused_with_the_reason(world: World) -> None:
    citizen = await world.citizen()
    company = await world.company()
    till = await world.till(company)
    response = await world.start(till, citizen)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["reason"] == "no_open_account"
    assert problem["type"].endswith("/no-open-account")


async def test_unknown_sesame_is_refused_like_no_account(world: World) -> None:
    _, _, till = await world.ready()
    citizen = await world.citizen()
    citizen.sesame_id = "doesnotexist"
    response = await world.start(till, citizen)
    assert response.status_code == 409
    assert response.json()["reason"] == "no_open_account"


async def test_contactless_off_is_refused(world: World) -> None:
    citizen = await world.citizen(contactless=False)
    company = await world.company()
    world.open_account(citizen, company)
    till = await world.till(company)
    response = await world.start(till, citizen)
    assert response.status_code == 409
    assert response.json()["reason"] == "contactless_off"


async def test_prompt_confirm_and_signed_decision(world: World) -> None:
    citizen, company, till = await world.ready()
    started = await world.start(till, citizen, amount="12.5")
    assert started.status_code == 201, started.text
    checkout = started.json()
    assert checkout["status"] == "pending" and checkout["amount"] == "12.50"
    assert checkout["items"] == [{"gtin": "03017620422003", "quantity": 2}]
    assert started.headers["location"] == f"/api/v1/checkouts/{checkout['id']}"

    prompt = (
        await world.client.get(f"/api/v1/vault/checkouts/{checkout['id']}", headers=citizen.auth)
    ).json()
    assert prompt["sentence"] == (
        f"Le taux de satisfaction des employés de cette entreprise est de 64{NBSP}%. "
        f"Voulez-vous valider votre paiement{NBSP}?"
    )
    assert prompt["company"]["name"] == "Boulangerie Dupont"
    assert prompt["indicators"][0]["verified"] is True
    assert prompt["amount_display"] == f"12,50{NBSP}€"
    pending = await world.client.get("/api/v1/vault/checkouts?status=pending", headers=citizen.auth)
    assert [p["id"] for p in pending.json()] == [checkout["id"]]

    decided = await world.decide(citizen, checkout["id"], confirm=True)
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["status"] == "confirmed"
    assert body["payment"]["status"] == "succeeded"
    assert body["ledger_index"] is not None and body["ledger_salt"]
    assert len(world.provider.calls) == 1 and world.provider.calls[0].amount_minor == 1250

    seen = (await world.client.get(f"/api/v1/checkouts/{checkout['id']}", headers=till.auth)).json()
    assert seen["status"] == "confirmed" and seen["payment"]["reference"].startswith("fake_")
    token = seen["decision_jws"]
    assert jwt.get_unverified_header(token)["typ"] == JWS_TYPE
    public = world.app.state.keyring.public_key(jwt.get_unverified_header(token)["kid"])
    claims = verify_decision(public, token, company_id=company.company_id, issuer="sesame")
    assert claims["decision"] == "confirmed" and claims["amount"] == "12.50" and claims["currency"] == "EUR"
    assert claims["checkout_id"] == checkout["id"] and claims["company_id"] == company.company_id


async def test_english_prompt_and_undisclosed_indicator(world: World) -> None:
    citizen = await world.citizen(language="en")
    company = await world.company("Acme", satisfaction_pct=None)
    world.open_account(citizen, company)
    started = await world.start(company, citizen)  # the company's own token works too
    assert started.status_code == 201, started.text
    prompt = (
        await world.client.get(f"/api/v1/vault/checkouts/{started.json()['id']}", headers=citizen.auth)
    ).json()
    assert prompt["sentence"] == "Employee satisfaction at this company: not disclosed. Confirm the payment?"
    assert prompt["indicators"][0]["disclosed"] is False


async def test_decline_then_second_decision_is_409(world: World) -> None:
    citizen, _, till = await world.ready()
    checkout_id = (await world.start(till, citizen)).json()["id"]
    first = await world.decide(citizen, checkout_id, confirm=False)
    assert first.status_code == 200 and first.json()["status"] == "declined"
    again = await world.decide(citizen, checkout_id, confirm=True)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/checkout-already-decided")
    assert world.provider.calls == []
    seen = (await world.client.get(f"/api/v1/checkouts/{checkout_id}", headers=till.auth)).json()
    assert seen["status"] == "declined" and seen["payment"] is None


async def test_expired_checkout_cannot_be_decided(world: World) -> None:
    citizen, _, till = await world.ready()
    checkout_id = (await world.start(till, citizen)).json()["id"]
    await world.age(checkout_id)
    late = await world.decide(citizen, checkout_id)
    assert late.status_code == 409
    assert late.json()["type"].endswith("/checkout-expired")
    seen = await world.client.get(f"/api/v1/checkouts/{checkout_id}", headers=till.auth)
    assert seen.json()["status"] == "expired"
    pending = await world.client.get("/api/v1/vault/checkouts?status=pending", headers=citizen.auth)
    assert pending.json() == []


async def test_the_sweep_expires_unread_checkouts(world: World) -> None:
    citizen, _, till = await world.ready()
    checkout_id = (await world.start(till, citizen)).json()["id"]
    await world.age(checkout_id)
    async with world.sessionmaker() as session:
        await services.expire_due(session, notifier=NullNotifier(), now=utcnow())
    async with world.sessionmaker() as session:
        from scanner.checkout.models import Checkout

        found = await session.get(Checkout, checkout_id)
        assert found is not None and found.status == "expired"


async def test_idempotency_replays_and_conflicts(world: World) -> None:
    citizen, _, till = await world.ready()
    first = await world.start(till, citizen, key="order-42")
    again = await world.start(till, citizen, key="order-42")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    different = await world.start(till, citizen, key="order-42", amount="99.00")
    assert different.status_code == 409
    assert different.json()["type"].endswith("/idempotency-conflict")
    # an equivalent body (GTIN-13 vs its 14-digit form, lower-case currency) is the same request
    same = await world.start(
        till, citizen, key="order-42", currency="eur", items=[{"gtin": "03017620422003", "quantity": 2}]
    )
    assert same.status_code == 201 and same.json()["id"] == first.json()["id"]
    # another till of the same company cannot replay this till's checkout
    sibling = await world.till(till.company)
    assert (await world.start(sibling, citizen, key="order-42")).status_code == 409
    # another company may use the same key for its own checkout
    other_citizen, _, other_till = await world.ready()
    theirs = await world.start(other_till, other_citizen, key="order-42")
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]


async def test_refusals_are_replayed_for_their_key(world: World) -> None:
    citizen = await world.citizen(contactless=False)
    company = await world.company()
    world.open_account(citizen, company)
    till = await world.till(company)
    refused = await world.start(till, citizen, key="k1")
    assert refused.status_code == 409 and refused.json()["reason"] == "contactless_off"
    world.parties.settings[citizen.account_id] = world.parties.settings[citizen.account_id].__class__(
        contactless=True
    )
    replayed = await world.start(till, citizen, key="k1")
    assert replayed.status_code == 409 and replayed.json()["reason"] == "contactless_off"
    fresh = await world.start(till, citizen, key="k2")
    assert fresh.status_code == 201


async def test_idempotency_key_is_required(world: World) -> None:
    citizen, _, till = await world.ready()
    body = {"sesame_id": citizen.sesame_id, "items": [{"gtin": "3017620422003", "quantity": 1}]}
    missing = await world.client.post(
        "/api/v1/checkouts", json={**body, "amount": "1.00", "currency": "EUR"}, headers=till.auth
    )
    assert missing.status_code == 400
    too_long = await world.client.post(
        "/api/v1/checkouts",
        json={**body, "amount": "1.00", "currency": "EUR"},
        headers={**till.auth, "Idempotency-Key": "x" * 256},
    )
    assert too_long.status_code == 422


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        ("12.505", "EUR", "amount"),
        ("-1", "EUR", "amount"),
        ("1e3", "EUR", "amount"),
        ("12.5", "JPY", "amount"),
        ("12.50", "XYZ", "currency"),
        ("12.50", "XAU", "currency"),
    ],
)
async def test_bad_amounts_and_currencies_are_422(
    world: World, amount: str, currency: str, field: str
) -> None:
    citizen, _, till = await world.ready()
    response = await world.start(till, citizen, amount=amount, currency=currency)
    assert response.status_code == 422, response.text
    assert any(field in error["field"] for error in response.json()["errors"])


async def test_bad_gtin_is_422(world: World) -> None:
    citizen, _, till = await world.ready()
    response = await world.start(till, citizen, items=[{"gtin": "3017620422004", "quantity": 1}])
    assert response.status_code == 422


async def test_zero_and_three_decimal_currencies(world: World) -> None:
    citizen, _, till = await world.ready()
    yen = await world.start(till, citizen, amount="1500", currency="JPY")
    assert yen.status_code == 201 and yen.json()["amount"] == "1500"
    dinar = await world.start(till, citizen, amount="1.5", currency="KWD")
    assert dinar.status_code == 201 and dinar.json()["amount"] == "1.500"
    free = await world.start(till, citizen, amount="0", currency="EUR")
    assert free.status_code == 201 and free.json()["amount"] == "0.00"


async def test_another_citizens_checkout_is_404(world: World) -> None:
    citizen, _, till = await world.ready()
    intruder = await world.citizen()
    checkout_id = (await world.start(till, citizen)).json()["id"]
    assert (
        await world.client.get(f"/api/v1/vault/checkouts/{checkout_id}", headers=intruder.auth)
    ).status_code == 404
    assert (await world.decide(intruder, checkout_id)).status_code == 404
    assert (
        await world.client.get("/api/v1/vault/checkouts/chk_nope", headers=intruder.auth)
    ).status_code == 404
    # and it is still pending for its owner
    still = await world.client.get(f"/api/v1/vault/checkouts/{checkout_id}", headers=citizen.auth)
    assert still.json()["status"] == "pending"


async def test_only_the_owning_company_and_till_see_a_checkout(world: World) -> None:
    citizen, company, till = await world.ready()
    checkout_id = (await world.start(till, citizen)).json()["id"]
    other_till = await world.till(company)
    _, other_company, foreign_till = await world.ready()
    assert (
        await world.client.get(f"/api/v1/checkouts/{checkout_id}", headers=company.auth)
    ).status_code == 200
    assert (
        await world.client.get(f"/api/v1/checkouts/{checkout_id}", headers=other_till.auth)
    ).status_code == 404
    assert (
        await world.client.get(f"/api/v1/checkouts/{checkout_id}", headers=foreign_till.auth)
    ).status_code == 404
    assert (
        await world.client.get(f"/api/v1/checkouts/{checkout_id}", headers=other_company.auth)
    ).status_code == 404
    # a citizen's token is not a company's
    assert (
        await world.client.get(f"/api/v1/checkouts/{checkout_id}", headers=citizen.auth)
    ).status_code == 403


async def test_roles_and_authentication(world: World) -> None:
    citizen, company, till = await world.ready()
    anonymous = await world.client.post("/api/v1/checkouts", json={})
    assert anonymous.status_code == 401
    forged = await world.client.get(
        "/api/v1/checkouts/chk_x", headers={"Authorization": "Bearer sk_till_forged"}
    )
    assert forged.status_code == 401
    assert (
        await world.client.post("/api/v1/tills", json={"name": "x"}, headers=citizen.auth)
    ).status_code == 403
    assert (await world.client.get("/api/v1/vault/checkouts", headers=company.auth)).status_code == 403
    # a till key opens checkout endpoints only
    assert (await world.client.get("/api/v1/tills", headers=till.auth)).status_code == 401
    assert (await world.client.get("/api/v1/vault/checkouts", headers=till.auth)).status_code == 401


async def test_revoked_till_key_is_401(world: World) -> None:
    citizen, company, till = await world.ready()
    listed = await world.client.get("/api/v1/tills", headers=company.auth)
    assert [t["id"] for t in listed.json()] == [till.id]
    assert "api_key" not in listed.json()[0]
    _, other_company, _ = await world.ready()
    assert (
        await world.client.delete(f"/api/v1/tills/{till.id}", headers=other_company.auth)
    ).status_code == 404
    assert (await world.client.delete(f"/api/v1/tills/{till.id}", headers=company.auth)).status_code == 204
    assert (await world.start(till, citizen)).status_code == 401


async def test_till_keys_are_stored_hashed(world: World) -> None:
    from sqlmodel import select

    from scanner.checkout.models import Till

    _, _, till = await world.ready()
    async with world.sessionmaker() as session:
        row = (await session.scalars(select(Till).where(Till.id == till.id))).one()  # type: ignore[arg-type]
    assert till.api_key.startswith("sk_till_")
    assert row.key_hash == services.hash_key(till.api_key) and till.api_key not in row.key_hash


async def test_the_decision_is_in_the_ledger_as_a_salted_commitment(world: World) -> None:
    from sesame import transparency

    citizen, _, till = await world.ready()
    checkout_id = (await world.start(till, citizen)).json()["id"]
    decided = (await world.decide(citizen, checkout_id, confirm=True)).json()
    entry = await world.client.get(f"/api/v1/ledger/entries/{decided['ledger_index']}")
    assert entry.status_code == 200, entry.text
    payload = entry.json()["payload"]
    assert payload["kind"] == "checkout.decided"
    assert set(payload) == {"kind", "v", "time", "commitment"}  # nothing in the clear
    assert payload["commitment"] == transparency.commitment_of(
        decided["ledger_salt"], decided["ledger_fields"]
    )
    assert decided["ledger_fields"]["checkout_id"] == checkout_id
    assert decided["ledger_fields"]["decision"] == "confirmed"


async def test_odd_inputs_are_4xx_never_5xx(world: World) -> None:
    citizen, company, till = await world.ready()
    checkout_id = (await world.start(till, citizen)).json()["id"]
    odd = [
        await world.client.delete(f"/api/v1/tills/{2**40}", headers=company.auth),
        await world.client.get(f"/api/v1/checkouts/{'x' * 5000}", headers=till.auth),
        await world.client.get(f"/api/v1/vault/checkouts/{'é' * 300}", headers=citizen.auth),
        await world.client.post(
            f"/api/v1/vault/checkouts/{checkout_id}/decision", json={"confirm": "yes"}, headers=citizen.auth
        ),
        await world.client.post(
            f"/api/v1/vault/checkouts/{checkout_id}/decision", json={}, headers=citizen.auth
        ),
        await world.client.post(
            f"/api/v1/vault/checkouts/{checkout_id}/decision", content=b"{not json", headers=citizen.auth
        ),
        await world.client.get("/api/v1/vault/checkouts?status=nope", headers=citizen.auth),
        await world.client.get(f"/api/v1/checkouts/events?last_event_id={2**70}", headers=till.auth),
        await world.client.post(
            "/api/v1/checkouts",
            json={"sesame_id": "a b", "items": [], "amount": 1, "currency": 7},
            headers={**till.auth, "Idempotency-Key": "k"},
        ),
    ]
    assert all(400 <= r.status_code < 500 for r in odd), [(r.status_code, r.text[:80]) for r in odd]
    # the checkout is still undecided after all that
    assert (await world.client.get(f"/api/v1/vault/checkouts/{checkout_id}", headers=citizen.auth)).json()[
        "status"
    ] == "pending"


async def test_the_openapi_document_describes_the_checkout(world: World) -> None:
    document = await world.client.get("/schema/openapi.json")
    assert document.status_code == 200
    paths = document.json()["paths"]
    for path in (
        "/api/v1/tills",
        "/api/v1/checkouts",
        "/api/v1/checkouts/{checkout_id}",
        "/api/v1/checkouts/events",
        "/api/v1/vault/checkouts/events",
        "/api/v1/vault/checkouts/{checkout_id}/decision",
    ):
        assert path in paths, path
    parameters = {p["name"] for p in paths["/api/v1/checkouts"]["post"].get("parameters", [])}
    assert "Idempotency-Key" in parameters
