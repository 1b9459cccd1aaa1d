"""A verifier refuses to attest a value awaiting attestation, with a reason: kept, public, in the ledger; the
company sees "refused" until a trusted verifier attests the value or the company files a changed one."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.company_profiles.conftest import Actor, World, indicator


async def _refuse(
    world: World, verifier: Actor, company_id: int, key: str, reason: str = "chiffre non étayé"
) -> Any:
    return await world.client.post(
        f"/api/v1/companies/{company_id}/refusals",
        json={"indicator": key, "reason": reason},
        headers=verifier.headers,
    )


async def test_refusal_is_kept_public_and_in_the_ledger(world: World) -> None:
    owner = await world.company()
    survey = await world.verifier(["employee_satisfaction"], name="Institut Baromètre")
    assert (await world.file(owner, {"employee_satisfaction": {"value": 64}})).status_code == 200

    refused = await _refuse(
        world, survey, owner.company_id, "employee_satisfaction", "  enquête   introuvable "
    )
    assert refused.status_code == 201, refused.text
    body = refused.json()
    assert body["reason"] == "enquête introuvable" and body["value"] == 64 and body["version"] == 2
    assert body["verifier_name"] == "Institut Baromètre" and isinstance(body["ledger_index"], int)

    view = indicator(await world.profile(owner.company_id), "employee_satisfaction")
    assert view["state"] == "refused"
    assert view["refusal_reason"] == "enquête introuvable" and view["refused_by"] == "Institut Baromètre"
    listed = (await world.client.get(f"/api/v1/companies/{owner.company_id}/refusals")).json()
    assert [r["id"] for r in listed] == [body["id"]]

    entry = (await world.client.get(f"/api/v1/ledger/entries/{body['ledger_index']}")).json()
    leaf = json.loads(base64.b64decode(entry["data"]))
    assert leaf["kind"] == "attestation.refused" and leaf["reason"] == "enquête introuvable"
    assert leaf["company_id"] == owner.company_id and leaf["indicator"] == "employee_satisfaction"

    # The verifier changes its mind: an attestation after the refusal wins.
    assert (await world.attest(survey, owner.company_id, "employee_satisfaction", 64)).status_code == 201
    assert indicator(await world.profile(owner.company_id), "employee_satisfaction")["state"] == "attested"
    # ... and an attested value awaits nothing: refusing it is a conflict (revoke instead).
    again = await _refuse(world, survey, owner.company_id, "employee_satisfaction")
    assert again.status_code == 409 and again.json()["type"].endswith("already-attested")


async def test_a_changed_value_awaits_attestation_again(world: World) -> None:
    owner = await world.company()
    survey = await world.verifier(["employee_satisfaction"])
    await world.file(owner, {"employee_satisfaction": {"value": 64}})
    assert (await _refuse(world, survey, owner.company_id, "employee_satisfaction")).status_code == 201
    await world.file(owner, {"employee_satisfaction": {"value": 66}})
    assert (
        indicator(await world.profile(owner.company_id), "employee_satisfaction")["state"] == "self_declared"
    )


async def test_refusal_rules(world: World) -> None:
    owner = await world.company()
    survey = await world.verifier(["employee_satisfaction"])
    tax_office = await world.verifier(["tax_residence"])
    citizen = await world.account("citizen")
    url = f"/api/v1/companies/{owner.company_id}/refusals"
    body = {"indicator": "employee_satisfaction", "reason": "non"}
    assert (await world.client.post(url, json=body)).status_code == 401
    assert (await world.client.post(url, json=body, headers=citizen.headers)).status_code == 403
    assert (await world.client.post(url, json=body, headers=owner.headers)).status_code == 403
    outside = await _refuse(world, tax_office, owner.company_id, "employee_satisfaction")
    assert outside.status_code == 403 and outside.json()["type"].endswith("outside-trust-scope")
    undisclosed = await _refuse(world, survey, owner.company_id, "employee_satisfaction")
    assert undisclosed.status_code == 409 and undisclosed.json()["type"].endswith("value-mismatch")
    await world.file(owner, {"employee_satisfaction": {"value": 64}})
    blank = await _refuse(world, survey, owner.company_id, "employee_satisfaction", "   ")
    assert blank.status_code == 422
    assert (await world.client.get("/api/v1/companies/999999/refusals")).status_code == 404
