"""The issue's "done means", end to end over HTTP: ask, accept, grant, read, receipt + proof, withdraw,
nothing more to read, export, erase."""

from __future__ import annotations

import base64

from ledger.merkle import leaf_hash, verify_inclusion
from tests.vault.conftest import FIVE_FIELDS, World, later
from vault.crypto import salted_commitment


async def test_the_whole_story(world: World) -> None:
    client = world.client
    citizen = await world.citizen(FIVE_FIELDS)
    company = await world.company()

    me = await client.get("/api/v1/accounts/me", headers=citizen.headers)
    assert me.json()["sesame_id"] == citizen.sesame_id

    # A company asks; the citizen sees and accepts, with the civil-status version shown.
    asked = await client.post(
        f"/api/v1/sesames/{citizen.sesame_id}/company-accounts", headers=company.headers
    )
    assert asked.status_code == 201, asked.text
    account = asked.json()
    assert account["state"] == "requested" and account["civil_status_version"] >= 1
    accepted = await client.post(
        f"/api/v1/vault/company-accounts/{account['id']}/accept",
        json={"civil_status_version": account["civil_status_version"]},
        headers=citizen.headers,
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "open" and accepted.json()["opened_ledger_index"] is not None

    # The company asks for three fields; the citizen approves two.
    requested = await client.post(
        f"/api/v1/sesames/{citizen.sesame_id}/requests",
        json={"fields": ["email", "given_name", "phone"], "purpose": "delivery notices"},
        headers=company.headers,
    )
    assert requested.status_code == 201, requested.text
    pending = (await client.get("/api/v1/vault/requests", headers=citizen.headers)).json()
    assert [r["state"] for r in pending] == ["requested"]
    decided = await client.post(
        f"/api/v1/vault/requests/{pending[0]['id']}/decision",
        json={"approve": ["email", "given_name"], "expires_at": later(10)},
        headers=citizen.headers,
    )
    assert decided.status_code == 200, decided.text
    grant = decided.json()["grant"]
    assert grant["fields"] == ["email", "given_name"] and grant["state"] == "given"
    seen = await client.get(
        f"/api/v1/sesames/{citizen.sesame_id}/requests/{pending[0]['id']}", headers=company.headers
    )
    assert seen.json()["state"] == "given" and seen.json()["approved"] == ["email", "given_name"]

    # The company reads exactly the two granted fields.
    read = await world.read(company, citizen)
    assert read.status_code == 200, read.text
    assert read.json()["fields"] == {"email": FIVE_FIELDS["email"], "given_name": FIVE_FIELDS["given_name"]}

    # The citizen sees the receipt and checks its proof.
    receipts = (await client.get("/api/v1/vault/receipts", headers=citizen.headers)).json()
    assert receipts[0]["outcome"] == "granted" and receipts[0]["fields"] == ["email", "given_name"]
    assert receipts[0]["purpose"] == "delivery notices" and receipts[0]["company_id"] == company.company_id
    proof = (
        await client.get(f"/api/v1/vault/receipts/{receipts[0]['id']}/proof", headers=citizen.headers)
    ).json()
    leaf = base64.b64decode(proof["leaf"])
    salt = base64.urlsafe_b64decode(proof["salt"] + "==")
    assert proof["commitment"] == salted_commitment(salt, proof["committed"])
    assert proof["commitment"].encode() in leaf
    verify_inclusion(
        leaf_hash(leaf),
        proof["index"],
        proof["tree_size"],
        [base64.b64decode(p) for p in proof["proof"]],
        base64.b64decode(proof["root_hash"]),
    )
    assert proof["checkpoint"]

    # Withdraw: the next read gets nothing (and is recorded as denied).
    withdrawn = await client.delete(f"/api/v1/vault/grants/{grant['id']}", headers=citizen.headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    after = await world.read(company, citizen)
    assert after.status_code == 200 and after.json()["fields"] == {}
    receipts = (await client.get("/api/v1/vault/receipts", headers=citizen.headers)).json()
    assert receipts[0]["outcome"] == "denied" and receipts[0]["reason"] == "nothing_granted"

    # Export everything, then erase.
    export = await client.get("/api/v1/vault/export", headers=citizen.headers)
    assert export.status_code == 200
    body = export.json()
    assert body["fields"]["email"]["value"] == FIVE_FIELDS["email"]
    assert body["fields"]["postal_address"]["value"] == FIVE_FIELDS["postal_address"]
    assert len(body["company_accounts"]) == 1 and len(body["grants"]) == 1
    assert any("proof" in r for r in body["receipts"])
    erased = await client.delete("/api/v1/vault", headers=citizen.headers)
    assert erased.status_code == 204
    assert (await client.get("/api/v1/vault", headers=citizen.headers)).status_code == 401
    assert (await world.read(company, citizen)).status_code == 404
