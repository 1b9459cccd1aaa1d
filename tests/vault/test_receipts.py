"""Receipts and the ledger: what each leaf carries (never a value, email, name or sesame_id), proofs."""

from __future__ import annotations

import base64
import json

import pytest

from ledger import open_checkpoint, verifier_from_vkey
from ledger.merkle import leaf_hash, verify_inclusion
from tests.vault.conftest import FIVE_FIELDS, World
from tests.vault.test_erasure import needles


async def test_every_vault_leaf_is_free_of_personal_data(world: World) -> None:
    citizen = await world.citizen(FIVE_FIELDS)
    company = await world.company()
    account_id = await world.open_account(company, citizen)
    grant = await world.grant(citizen, account_id, list(FIVE_FIELDS), purpose="loyalty programme")
    for _ in range(3):
        assert (await world.read(company, citizen)).status_code == 200
    request = await world.client.post(
        f"/api/v1/sesames/{citizen.sesame_id}/requests",
        json={"fields": ["birth_date"], "purpose": "age check"},
        headers=company.headers,
    )
    await world.client.post(
        f"/api/v1/vault/requests/{request.json()['id']}/decision",
        json={"approve": ["birth_date"]},
        headers=citizen.headers,
    )
    await world.client.delete(f"/api/v1/vault/grants/{grant['id']}", headers=citizen.headers)
    await world.client.post(f"/api/v1/vault/company-accounts/{account_id}/close", headers=citizen.headers)

    leaves = await world.ledger_leaves()
    kinds = [json.loads(leaf)["kind"] for leaf in leaves]
    for kind in ("account.opened", "grant.given", "access.receipt", "grant.withdrawn", "account.closed"):
        assert kind in kinds
    forbidden = [
        *needles(FIVE_FIELDS),
        citizen.email.encode(),
        (citizen.sesame_id or "").encode(),
        b"loyalty programme",
        b"age check",
    ]
    for leaf in leaves:
        event = json.loads(leaf)
        for needle in forbidden:
            assert needle not in leaf, (event["kind"], needle)
        if event["kind"] in ("grant.given", "grant.withdrawn", "access.receipt"):
            assert set(event) == {"kind", "v", "time", "commitment"}, event
        if event["kind"] in ("account.opened", "account.closed"):
            assert event["company_id"] == company.company_id and len(event["citizen"]) == 64


async def test_receipts_and_their_proofs(world: World) -> None:
    citizen = await world.citizen(FIVE_FIELDS)
    company = await world.company()
    account_id = await world.open_account(company, citizen)
    await world.grant(citizen, account_id, ["email"], purpose="invoices")
    await world.grant(citizen, account_id, ["phone"], purpose="delivery calls")
    await world.read(company, citizen)
    receipts = (await world.client.get("/api/v1/vault/receipts", headers=citizen.headers)).json()
    receipt = receipts[0]
    assert receipt["fields"] == ["email", "phone"] and receipt["purpose"] == "invoices; delivery calls"
    assert len(receipt["grant_ids"]) == 2 and receipt["ledger_index"] is not None

    proof = (
        await world.client.get(f"/api/v1/vault/receipts/{receipt['id']}/proof", headers=citizen.headers)
    ).json()
    assert proof["index"] == receipt["ledger_index"]
    committed = proof["committed"]
    assert committed["fields"] == ["email", "phone"] and committed["sesame_id"] == citizen.sesame_id
    leaf = base64.b64decode(proof["leaf"])
    assert json.loads(leaf)["commitment"] == proof["commitment"]
    verify_inclusion(
        leaf_hash(leaf),
        proof["index"],
        proof["tree_size"],
        [base64.b64decode(p) for p in proof["proof"]],
        base64.b64decode(proof["root_hash"]),
    )
    checkpoint = open_checkpoint(proof["checkpoint"], verifier_from_vkey(proof["log_key"]))
    assert checkpoint.size == proof["tree_size"]
    assert base64.b64encode(checkpoint.root_hash).decode() == proof["root_hash"]
    ledger_key = (await world.client.get("/api/v1/ledger/key")).text.strip()
    assert ledger_key == proof["log_key"]

    # Denied attempts have no ledger proof; other citizens' receipts do not exist.
    await world.client.delete(f"/api/v1/vault/grants/{receipt['grant_ids'][0]}", headers=citizen.headers)
    await world.client.delete(f"/api/v1/vault/grants/{receipt['grant_ids'][1]}", headers=citizen.headers)
    await world.read(company, citizen)
    denied = (await world.client.get("/api/v1/vault/receipts", headers=citizen.headers)).json()[0]
    assert denied["outcome"] == "denied"
    assert (
        await world.client.get(f"/api/v1/vault/receipts/{denied['id']}/proof", headers=citizen.headers)
    ).status_code == 409
    assert (
        await world.client.get("/api/v1/vault/receipts/999999/proof", headers=citizen.headers)
    ).status_code == 404

    # Paging.
    page = (await world.client.get("/api/v1/vault/receipts?limit=1", headers=citizen.headers)).json()
    assert len(page) == 1
    older = (
        await world.client.get(f"/api/v1/vault/receipts?before={page[0]['id']}", headers=citizen.headers)
    ).json()
    assert older and all(r["id"] < page[0]["id"] for r in older)
    assert (
        await world.client.get("/api/v1/vault/receipts?limit=0", headers=citizen.headers)
    ).status_code in (400, 422)


@pytest.mark.parametrize("before", [2_147_483_648, 2**63, 27_222_181_341_825_871_872])
async def test_a_cursor_past_every_possible_id_lists_everything(world: World, before: int) -> None:
    """Found by ``make fuzz``: ``?before=`` past a 64-bit integer reached SQLite's driver and answered 500.
    A cursor past the largest id a table can hold filters nothing out, on every database."""
    citizen = await world.citizen(FIVE_FIELDS)
    company = await world.company()
    account_id = await world.open_account(company, citizen)
    await world.grant(citizen, account_id, ["email"], purpose="invoices")
    await world.read(company, citizen)
    everything = (await world.client.get("/api/v1/vault/receipts", headers=citizen.headers)).json()
    response = await world.client.get(f"/api/v1/vault/receipts?before={before}", headers=citizen.headers)
    assert response.status_code == 200
    assert response.json() == everything and len(everything) == 1
    first = everything[0]["id"]
    older = await world.client.get(f"/api/v1/vault/receipts?before={first}", headers=citizen.headers)
    assert older.json() == []
