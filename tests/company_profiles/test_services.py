"""The service functions other packages call, and the open-data export."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from company_profiles import services
from company_profiles.errors import CompanyNotFound
from company_profiles.schemas import VerificationState
from sesame.models import utcnow
from tests.company_profiles.conftest import World

MANDATORY = [
    "legal_name",
    "registration_id",
    "founding_date",
    "tax_residence",
    "registered_address",
    "nace_sector",
]


async def attest_mandatory(world: World, owner_company_id: int | None, skip: tuple[str, ...] = ()) -> None:
    registry = await world.verifier(
        ["legal_name", "registration_id", "founding_date", "registered_address", "nace_sector"]
    )
    tax_office = await world.verifier(["tax_residence"])
    profile = await world.profile(owner_company_id)
    values = {i["key"]: i["value"] for i in profile["indicators"] if i["mandatory"]}
    for key in MANDATORY:
        if key in skip:
            continue
        verifier = tax_office if key == "tax_residence" else registry
        response = await world.attest(verifier, owner_company_id, key, values[key])
        assert response.status_code == 201, response.text


async def test_mandatory_attestation_gaps_and_version_ref(world: World) -> None:
    owner = await world.company()
    company_id = owner.company_id or 0
    async with world.session() as session:
        assert await services.mandatory_attestation_gaps(session, company_id) == MANDATORY
    await attest_mandatory(world, company_id, skip=("tax_residence",))
    async with world.session() as session:
        assert await services.mandatory_attestation_gaps(session, company_id) == ["tax_residence"]
        version, ledger_index = await services.current_version_ref(session, company_id)
        assert version == 1 and isinstance(ledger_index, int)
    await world.file(owner, {"headcount": {"value": 30}})
    async with world.session() as session:
        assert await services.current_version_ref(session, company_id) == (
            2,
            (await world.profile(company_id))["ledger_index"],
        )
        with pytest.raises(CompanyNotFound):
            await services.mandatory_attestation_gaps(session, 424242)
        with pytest.raises(CompanyNotFound):
            await services.current_version_ref(session, 424242)


async def test_public_profile_highlights_and_refs(world: World) -> None:
    owner = await world.company(legal_name="Cycles Armor SAS", founding_date="2015-04-02")
    company_id = owner.company_id or 0
    await world.file(owner, {"employee_satisfaction": {"value": 64}})
    survey = await world.verifier(["employee_satisfaction"], name="Institut Baromètre Social")
    await world.attest(survey, company_id, "employee_satisfaction", 64)
    async with world.session() as session:
        profile = await services.public_profile(session, company_id)
        assert profile.legal_name == "Cycles Armor SAS" and profile.seniority_years >= 9
        with pytest.raises(CompanyNotFound):
            await services.public_profile(session, 424242)

        views = await services.highlights(
            session,
            company_id,
            ["employee_satisfaction", "unknown_key", "headcount", "employee_satisfaction"],
        )
        assert [v.key for v in views] == ["employee_satisfaction", "headcount"]
        satisfaction, headcount = views
        assert satisfaction.value == 64 and satisfaction.unit == "%" and satisfaction.disclosed
        assert satisfaction.state is VerificationState.attested
        assert (
            satisfaction.attested_by == "Institut Baromètre Social" and satisfaction.attested_at is not None
        )
        assert satisfaction.age_days == 0 and satisfaction.label_fr == "Satisfaction des salariés"
        assert headcount.disclosed is False and headcount.value is None
        assert headcount.state is VerificationState.undisclosed
        assert await services.highlights(session, company_id, []) == []

        ref = await services.company_for_account(session, owner.account_id)
        assert ref is not None and ref.id == company_id and ref.legal_name == "Cycles Armor SAS"
        assert ref.current_version == 2
        assert await services.company_for_account(session, 424242) is None
        assert await services.company_exists(session, company_id) is True
        assert await services.company_exists(session, 424242) is False
        assert await services.company_exists(session, 2**40) is False


async def test_profile_cache_token_changes_with_the_profile(world: World) -> None:
    owner = await world.company()
    company_id = owner.company_id or 0
    tax_office = await world.verifier(["tax_residence"])
    now = utcnow()
    tokens: list[int] = []

    async def token(at: object = None) -> int:
        async with world.session() as session:
            value = await services.profile_cache_token(session, company_id, now=now if at is None else at)  # type: ignore[arg-type]
        tokens.append(value)
        return value

    await token()
    await world.file(owner, {"headcount": {"value": 3}})
    await token()
    issued = (await world.attest(tax_office, company_id, "tax_residence", "FR", valid_days=10)).json()
    await token()
    await world.client.post(
        f"/api/v1/attestations/{issued['id']}/revoke", json={}, headers=tax_office.headers
    )
    await token()
    await token(now + timedelta(days=11))
    assert tokens == sorted(set(tokens)), tokens  # strictly increasing
    async with world.session() as session:
        assert await services.profile_cache_token(session, 424242) == 0


async def test_transparency_score_formula(world: World) -> None:
    owner = await world.company()
    company_id = owner.company_id or 0
    await attest_mandatory(world, company_id)
    async with world.session() as session:
        now = utcnow()
        profile = await services.public_profile(session, company_id, now=now)
        total = len(profile.indicators)
        assert profile.score_components.completeness == round(6 / total, 4)
        assert profile.score_components.verified == 1.0
        assert profile.score_components.freshness == 1.0
        assert profile.transparency_score == round(100 * (0.4 * 6 / total + 0.4 + 0.2))
        later = await services.public_profile(session, company_id, now=now + timedelta(days=365 * 3))
        assert later.score_components.freshness == 0.0
        assert later.transparency_score < profile.transparency_score
    assert "0.4 × completeness" in profile.score_formula


async def test_open_data_jsonl_and_csv_parse(world: World) -> None:
    first = await world.company(legal_name='=HYPERLINK("x") SARL')
    second = await world.company(legal_name="Librairie des Deux Rives")
    await world.file(
        second,
        {
            "employee_satisfaction": {"value": 88, "source": "Enquête annuelle, 2024"},
            "headcount": {"value": 9},
        },
    )
    tax_office = await world.verifier(["tax_residence"])
    await world.attest(tax_office, second.company_id, "tax_residence", "FR")

    response = await world.client.get("/api/v1/open-data/companies", params={"format": "jsonl"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jsonl")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["company_id"] for line in lines] == [first.company_id, second.company_id]
    by_key = {i["key"]: i for i in lines[1]["indicators"]}
    assert by_key["employee_satisfaction"]["value"] == 88 and by_key["headcount"]["value"] == 9
    assert by_key["tax_residence"]["state"] == "attested"
    assert lines[1]["version"] == 2 and isinstance(lines[1]["ledger_index"], int)
    assert all(i["disclosed"] for i in lines[0]["indicators"])  # only disclosed indicators are exported

    default = await world.client.get("/api/v1/open-data/companies")
    assert default.text == response.text

    as_csv = await world.client.get("/api/v1/open-data/companies", params={"format": "csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == 6 + 8
    satisfaction = next(r for r in rows if r["indicator"] == "employee_satisfaction")
    assert satisfaction["value"] == "88" and satisfaction["unit"] == "%"
    assert satisfaction["source"] == "Enquête annuelle, 2024" and satisfaction["state"] == "self_declared"
    residence = next(
        r for r in rows if r["indicator"] == "tax_residence" and r["company_id"] == str(second.company_id)
    )
    assert residence["state"] == "attested" and residence["attested_by"]
    # A legal name a spreadsheet would run as a formula is neutralised.
    assert rows[0]["legal_name"].startswith("'=")


async def test_profile_changed_hooks_run_for_every_public_change(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    async def hook(session: object, company_id: int) -> None:
        seen.append(company_id)

    monkeypatch.setattr(services, "profile_changed_hooks", [hook])
    owner = await world.company()
    company_id = owner.company_id or 0
    await world.file(owner, {"headcount": {"value": 3}})
    tax_office = await world.verifier(["tax_residence"])
    issued = (await world.attest(tax_office, company_id, "tax_residence", "FR")).json()
    await world.client.post(
        f"/api/v1/attestations/{issued['id']}/revoke", json={}, headers=tax_office.headers
    )
    assert seen == [company_id] * 4  # registration, filing, attestation, revocation
