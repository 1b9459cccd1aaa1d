"""Verifiers and attestations: trust scope, value equality, JWS, revocation, expiry, carry-over across versions."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from company_profiles import services
from company_profiles.schemas import VerificationState
from sesame.errors import InvalidInput
from sesame.keys import b64url_decode
from sesame.models import utcnow
from tests.company_profiles.conftest import World, indicator

REGISTRY_SCOPE = ["legal_name", "registration_id", "founding_date", "registered_address", "nace_sector"]


async def test_attestation_is_an_eddsa_jws_checkable_with_the_jwks(world: World) -> None:
    owner = await world.company()
    survey = await world.verifier(["employee_satisfaction"], name="Institut Baromètre")
    assert (await world.file(owner, {"employee_satisfaction": {"value": 64}})).status_code == 200

    response = await world.attest(survey, owner.company_id, "employee_satisfaction", 64.0)
    assert response.status_code == 201, response.text
    attestation = response.json()
    assert attestation["value"] == 64 and attestation["version"] == 2
    assert attestation["verifier_name"] == "Institut Baromètre"
    assert isinstance(attestation["ledger_index"], int)

    header = jwt.get_unverified_header(attestation["jws"])
    assert header["alg"] == "EdDSA" and header["kid"] == attestation["kid"]
    jwks = (await world.client.get("/.well-known/jwks.json")).json()["keys"]
    jwk = next(k for k in jwks if k["kid"] == attestation["kid"])
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and len(b64url_decode(jwk["x"])) == 32
    claims = jwt.decode(attestation["jws"], jwt.PyJWK(jwk).key, algorithms=["EdDSA"])
    assert claims["company_id"] == owner.company_id
    assert claims["indicator"] == "employee_satisfaction" and claims["value"] == 64 and claims["version"] == 2
    assert claims["exp"] > claims["iat"] and claims["jti"] == str(attestation["id"])

    profile = await world.profile(owner.company_id)
    satisfaction = indicator(profile, "employee_satisfaction")
    assert satisfaction["state"] == "attested"
    assert (
        satisfaction["attested_by"] == "Institut Baromètre"
        and satisfaction["attestation_id"] == attestation["id"]
    )
    assert satisfaction["valid_until"] and satisfaction["attested_at"]

    check = await world.client.post("/api/v1/attestations/verify", json={"jws": attestation["jws"]})
    assert check.status_code == 200 and check.json()["valid"] is True, check.text
    listed = (await world.client.get(f"/api/v1/companies/{owner.company_id}/attestations")).json()
    assert [a["id"] for a in listed] == [attestation["id"]]
    assert (await world.client.get(f"/api/v1/attestations/{attestation['id']}")).json()["jws"] == attestation[
        "jws"
    ]


async def test_verifier_outside_its_scope_gets_403(world: World) -> None:
    owner = await world.company()
    tax_office = await world.verifier(["tax_residence", "registration_id"])
    response = await world.attest(
        tax_office, owner.company_id, "legal_name", (await world.profile(owner.company_id))["legal_name"]
    )
    assert response.status_code == 403
    assert response.json()["type"].endswith("outside-trust-scope")


async def test_only_verifiers_attest(world: World) -> None:
    owner = await world.company()
    citizen = await world.account("citizen")
    body = {"indicator": "tax_residence", "value": "FR"}
    url = f"/api/v1/companies/{owner.company_id}/attestations"
    assert (await world.client.post(url, json=body)).status_code == 401
    assert (await world.client.post(url, json=body, headers=citizen.headers)).status_code == 403
    assert (await world.client.post(url, json=body, headers=owner.headers)).status_code == 403
    unregistered = await world.account("verifier")  # an account of kind verifier without a verifier record
    assert (await world.client.post(url, json=body, headers=unregistered.headers)).status_code == 403


async def test_value_differing_from_the_disclosed_one_is_409(world: World) -> None:
    owner = await world.company()
    survey = await world.verifier(["employee_satisfaction", "headcount"])
    await world.file(owner, {"employee_satisfaction": {"value": 64}})
    mismatch = await world.attest(survey, owner.company_id, "employee_satisfaction", 65)
    assert mismatch.status_code == 409
    assert mismatch.json()["disclosed"] == 64
    undisclosed = await world.attest(survey, owner.company_id, "headcount", 10)
    assert undisclosed.status_code == 409
    out_of_range = await world.attest(survey, owner.company_id, "employee_satisfaction", 640)
    assert out_of_range.status_code == 422
    assert out_of_range.json()["errors"][0]["field"] == "body.value"
    future = await world.attest(survey, owner.company_id, "employee_satisfaction", 64, version=9)
    assert future.status_code == 422
    unknown = await world.attest(survey, owner.company_id, "favourite_colour", "blue")
    assert unknown.status_code == 422
    missing = await world.attest(survey, 999_999, "employee_satisfaction", 64)
    assert missing.status_code == 404


async def test_older_version_can_be_attested_when_its_value_matches(world: World) -> None:
    owner = await world.company()
    survey = await world.verifier(["employee_satisfaction"])
    await world.file(owner, {"employee_satisfaction": {"value": 64, "period": "2024"}})
    await world.file(owner, {"employee_satisfaction": {"value": 70, "period": "2025"}})
    old = await world.attest(survey, owner.company_id, "employee_satisfaction", 64, version=2)
    assert old.status_code == 201
    # It attests version 2's figure, not the current one: the profile stays self-declared.
    assert (
        indicator(await world.profile(owner.company_id), "employee_satisfaction")["state"] == "self_declared"
    )


async def test_attestations_survive_filings_that_leave_the_indicator_unchanged(world: World) -> None:
    owner = await world.company()
    registry = await world.verifier(REGISTRY_SCOPE)
    survey = await world.verifier(["employee_satisfaction"])
    await world.file(owner, {"employee_satisfaction": {"value": 64, "period": "2024"}})
    profile = await world.profile(owner.company_id)
    assert (
        await world.attest(registry, owner.company_id, "legal_name", profile["legal_name"])
    ).status_code == 201
    assert (await world.attest(survey, owner.company_id, "employee_satisfaction", 64)).status_code == 201

    # Version 3 re-states satisfaction identically and adds headcount: both attestations still apply.
    await world.file(
        owner, {"employee_satisfaction": {"value": 64, "period": "2024"}, "headcount": {"value": 12}}
    )
    profile = await world.profile(owner.company_id)
    assert indicator(profile, "legal_name")["state"] == "attested"
    assert indicator(profile, "employee_satisfaction")["state"] == "attested"
    assert indicator(profile, "employee_satisfaction")["attested_version"] == 2

    # Same value for a new period is a new fact: self-declared until attested again.
    await world.file(owner, {"employee_satisfaction": {"value": 64, "period": "2025"}})
    profile = await world.profile(owner.company_id)
    assert indicator(profile, "employee_satisfaction")["state"] == "self_declared"
    assert indicator(profile, "legal_name")["state"] == "attested"


async def test_revocation_by_the_issuer_only(world: World) -> None:
    owner = await world.company()
    tax_office = await world.verifier(["tax_residence"])
    other = await world.verifier(["tax_residence"])
    issued = (await world.attest(tax_office, owner.company_id, "tax_residence", "FR")).json()
    url = f"/api/v1/attestations/{issued['id']}/revoke"

    assert (await world.client.post(url, json={})).status_code == 401
    assert (await world.client.post(url, json={}, headers=owner.headers)).status_code == 403
    assert (await world.client.post(url, json={}, headers=other.headers)).status_code == 403
    revoked = await world.client.post(url, json={"reason": "issued in error"}, headers=tax_office.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] and revoked.json()["revocation_reason"] == "issued in error"
    assert isinstance(revoked.json()["revocation_ledger_index"], int)
    assert (await world.client.post(url, json={}, headers=tax_office.headers)).status_code == 409
    missing = await world.client.post(
        "/api/v1/attestations/424242/revoke", json={}, headers=tax_office.headers
    )
    assert missing.status_code == 404

    residence = indicator(await world.profile(owner.company_id), "tax_residence")
    assert residence["state"] == "revoked"
    check = (await world.client.post("/api/v1/attestations/verify", json={"jws": issued["jws"]})).json()
    assert check["valid"] is False and "revoked" in check["problems"]


async def test_verification_states_over_time_and_trust(world: World) -> None:
    owner = await world.company()
    tax_office = await world.verifier(["tax_residence"])
    await world.attest(tax_office, owner.company_id, "tax_residence", "FR", valid_days=30)
    async with world.session() as session:
        now = utcnow()
        (view,) = await services.highlights(session, owner.company_id or 0, ["tax_residence"], now=now)
        assert view.state is VerificationState.attested
        (later,) = await services.highlights(
            session, owner.company_id or 0, ["tax_residence"], now=now + timedelta(days=31)
        )
        assert later.state is VerificationState.expired
        assert "tax_residence" in await services.mandatory_attestation_gaps(
            session, owner.company_id or 0, now=now + timedelta(days=31)
        )


async def test_tampered_or_foreign_jws_does_not_verify(world: World) -> None:
    owner = await world.company()
    tax_office = await world.verifier(["tax_residence"])
    issued = (await world.attest(tax_office, owner.company_id, "tax_residence", "FR")).json()
    header, payload, signature = issued["jws"].split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"FR"', b'"DE"')
    ).decode()
    for token in (f"{header}.{forged_payload}.{signature}", "not.a.jws", "x" * 100):
        result = await world.client.post("/api/v1/attestations/verify", json={"jws": token})
        assert result.status_code == 200 and result.json()["valid"] is False
    async with world.session() as session:
        check = await services.verify_attestation(session, issued["jws"], now=utcnow() + timedelta(days=3650))
        assert check.valid is False and "expired" in check.problems


async def test_register_verifier_validates_scope(world: World) -> None:
    account = await world.account("verifier")
    async with world.session() as session:
        with pytest.raises(InvalidInput) as caught:
            await services.register_verifier(
                session, account_id=account.account_id, name="X", scope=["nope"], keys=world.app.state.keyring
            )
        assert caught.value.errors[0].field == "scope"
        citizen = await world.account("citizen")
        with pytest.raises(InvalidInput):
            await services.register_verifier(
                session,
                account_id=citizen.account_id,
                name="X",
                scope=["legal_name"],
                keys=world.app.state.keyring,
            )
    verifiers = (await world.client.get("/api/v1/verifiers")).json()
    assert verifiers == []


async def test_verifier_keys_are_stored_wrapped_and_rewrapped_on_rotation(world: World) -> None:
    from sqlmodel import select

    from company_profiles.models import VerifierKey

    survey = await world.verifier(["employee_satisfaction"])
    keys = world.app.state.keyring
    async with world.session() as session:
        stored = (await session.scalars(select(VerifierKey))).one()
        assert stored.kek_id == keys.current_kek_id and len(stored.wrapped_private) == 40  # RFC 3394: 32 + 8
        assert await services.verifier_keys_pending(session, keys) == 0
        keys.rotate_kek()
        assert await services.verifier_keys_pending(session, keys) == 1
        advanced: list[int] = []
        assert await services.rewrap_verifier_keys(session, keys, advanced.append) == 1
        assert advanced == [1] and await services.verifier_keys_pending(session, keys) == 0
    # The re-wrapped key still signs.
    owner = await world.company()
    await world.file(owner, {"employee_satisfaction": {"value": 50}})
    assert (await world.attest(survey, owner.company_id, "employee_satisfaction", 50)).status_code == 201
