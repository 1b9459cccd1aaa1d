"""Registration, filing, profiles, versions and search over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.company_profiles.conftest import World, indicator, siren_for, siret_for


def field_errors(response: Any) -> dict[str, str]:
    return {e["field"]: e["reason"] for e in response.json().get("errors", [])}


# -- registration --------------------------------------------------------------------------------------------------
async def test_register_files_version_one_and_shows_the_profile(world: World) -> None:
    owner = await world.account("company")
    body = world.registration(legal_name="Boulangerie Martin & Fils SARL", registration_id="552 100 554")
    response = await world.client.post("/api/v1/companies", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["version"] == 1 and created["registration_id"] == "siren:552100554"
    assert isinstance(created["ledger_index"], int)

    profile = await world.profile(created["id"])
    assert profile["legal_name"] == "Boulangerie Martin & Fils SARL"
    assert profile["registration_display"] == "SIREN 552 100 554"
    assert profile["nace_sector"] == "47.11" and profile["nace_label"]
    assert profile["seniority_years"] >= 26
    assert profile["version"] == 1 and profile["ledger_index"] == created["ledger_index"]
    mandatory = [i for i in profile["indicators"] if i["mandatory"]]
    assert {i["key"] for i in mandatory} == {
        "legal_name",
        "registration_id",
        "founding_date",
        "tax_residence",
        "registered_address",
        "nace_sector",
    }
    assert all(i["disclosed"] and i["state"] == "self_declared" for i in mandatory)
    assert indicator(profile, "employee_satisfaction")["disclosed"] is False
    assert profile["mandatory_gaps"] == [i["key"] for i in mandatory]
    assert 0 <= profile["transparency_score"] <= 100
    assert "completeness" in profile["score_formula"] and "freshness" in profile["score_formula"]

    mine = await world.client.get("/api/v1/companies/mine", headers=owner.headers)
    assert mine.status_code == 200 and mine.json()["id"] == created["id"]


async def test_wrong_check_digit_is_422_naming_the_field(world: World) -> None:
    owner = await world.account("company")
    body = world.registration(registration_id="552100555")
    response = await world.client.post("/api/v1/companies", json=body, headers=owner.headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field_errors(response) == {"body.registration_id": "wrong check digit"}


async def test_every_bad_field_is_named(world: World) -> None:
    owner = await world.account("company")
    body = world.registration(country="XX", tax_residence="ZZ", sector="99.99", founding_date="2999-01-01")
    response = await world.client.post("/api/v1/companies", json=body, headers=owner.headers)
    assert response.status_code == 422
    assert set(field_errors(response)) >= {
        "body.country",
        "body.tax_residence",
        "body.sector",
        "body.founding_date",
    }


@pytest.mark.parametrize(
    ("scheme", "number"),
    [("siret", "siret"), ("vat", "vat"), ("lei", "529900T8BM49AURSDO55")],
)
async def test_other_registration_schemes(world: World, scheme: str, number: str) -> None:
    siren = siren_for(77_001_234)
    if number == "siret":
        number = siret_for(siren, 17)
    elif number == "vat":
        number = f"{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"  # without its FR prefix
    owner = await world.company(registration_scheme=scheme, registration_id=number)
    profile = await world.profile(owner.company_id)
    assert profile["registration_scheme"] == scheme
    assert profile["registration_id"].endswith(number)


async def test_one_company_per_account_and_per_identifier(world: World) -> None:
    owner = await world.company(registration_id=siren_for(31_415_926))
    again = await world.client.post("/api/v1/companies", json=world.registration(), headers=owner.headers)
    assert again.status_code == 409
    other = await world.account("company")
    same_id = world.registration(registration_id=siren_for(31_415_926))
    taken = await world.client.post("/api/v1/companies", json=same_id, headers=other.headers)
    assert taken.status_code == 409
    assert taken.json()["type"].endswith("registration-taken")


async def test_only_company_accounts_register(world: World) -> None:
    citizen = await world.account("citizen")
    forbidden = await world.client.post(
        "/api/v1/companies", json=world.registration(), headers=citizen.headers
    )
    assert forbidden.status_code == 403
    anonymous = await world.client.post("/api/v1/companies", json=world.registration())
    assert anonymous.status_code == 401


# -- filing --------------------------------------------------------------------------------------------------------
async def test_filing_adds_versions_and_never_overwrites(world: World) -> None:
    owner = await world.company()
    first = await world.file(
        owner,
        {
            "employee_satisfaction": {"value": 64, "period": "2024", "source": "Baromètre interne 2024"},
            "headcount": {"value": 120, "unit": "persons"},
        },
    )
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2 and isinstance(first.json()["ledger_index"], int)
    second = await world.file(
        owner, {"employee_satisfaction": {"value": 71.5, "unit": "%", "period": "2025"}}
    )
    assert second.json()["version"] == 3
    assert second.json()["ledger_index"] != first.json()["ledger_index"]

    versions = (await world.client.get(f"/api/v1/companies/{owner.company_id}/civil-status/versions")).json()
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["indicator_count"] for v in versions] == [6, 8, 7]
    assert all(isinstance(v["ledger_index"], int) and v["filed_at"] for v in versions)

    v2 = (await world.client.get(f"/api/v1/companies/{owner.company_id}/civil-status/versions/2")).json()
    assert v2["indicators"]["employee_satisfaction"] == {
        "value": 64,
        "unit": "%",
        "period": "2024",
        "method": "anonymous employee survey, share satisfied or very satisfied",
        "source": "Baromètre interne 2024",
    }
    assert v2["indicators"]["headcount"]["value"] == 120
    v3 = (await world.client.get(f"/api/v1/companies/{owner.company_id}/civil-status/versions/3")).json()
    assert "headcount" not in v3["indicators"]  # optional indicators left out are withdrawn
    assert v3["indicators"]["legal_name"] == v2["indicators"]["legal_name"]  # mandatory ones carried over

    profile = await world.profile(owner.company_id)
    satisfaction = indicator(profile, "employee_satisfaction")
    assert (
        satisfaction["value"] == 71.5
        and satisfaction["period"] == "2025"
        and satisfaction["since_version"] == 3
    )
    assert indicator(profile, "headcount")["disclosed"] is False
    missing = await world.client.get(f"/api/v1/companies/{owner.company_id}/civil-status/versions/4")
    assert missing.status_code == 404


async def test_changing_a_mandatory_value_updates_the_identity(world: World) -> None:
    owner = await world.company(legal_name="Ancien Nom SAS")
    response = await world.file(
        owner,
        {
            "legal_name": {"value": "Nouveau Nom SAS"},
            "registered_address": {"value": "3 quai des Chartrons, 33000 Bordeaux"},
            "nace_sector": {"value": "47.61"},
        },
    )
    assert response.status_code == 200, response.text
    profile = await world.profile(owner.company_id)
    assert profile["legal_name"] == "Nouveau Nom SAS" and profile["nace_sector"] == "47.61"
    found = (await world.client.get("/api/v1/companies", params={"q": "nouveau"})).json()
    assert [c["id"] for c in found["items"]] == [owner.company_id]


@pytest.mark.parametrize(
    ("indicators", "field"),
    [
        ({"employee_satisfaction": {"value": 101}}, "body.indicators.employee_satisfaction.value"),
        ({"employee_satisfaction": {"value": -1}}, "body.indicators.employee_satisfaction.value"),
        ({"employee_satisfaction": {"value": "64"}}, "body.indicators.employee_satisfaction.value"),
        ({"employee_satisfaction": {"value": True}}, "body.indicators.employee_satisfaction.value"),
        (
            {"employee_satisfaction": {"value": 64, "unit": "tCO2e"}},
            "body.indicators.employee_satisfaction.unit",
        ),
        (
            {"carbon_footprint_per_employee": {"value": 4, "unit": "kg"}},
            "body.indicators.carbon_footprint_per_employee.unit",
        ),
        ({"gender_pay_index": {"value": 101}}, "body.indicators.gender_pay_index.value"),
        ({"headcount": {"value": 3.5}}, "body.indicators.headcount.value"),
        ({"favourite_colour": {"value": "blue"}}, "body.indicators.favourite_colour"),
        ({"registration_id": {"value": "siren:552100555"}}, "body.indicators.registration_id.value"),
        ({"founding_date": {"value": "2999-01-01"}}, "body.indicators.founding_date.value"),
        ({"legal_name": {"value": "   "}}, "body.indicators.legal_name.value"),
        ({"nace_sector": {"value": "99.99"}}, "body.indicators.nace_sector.value"),
    ],
)
async def test_invalid_indicators_are_422_with_the_field_path(
    world: World, indicators: dict[str, Any], field: str
) -> None:
    owner = await world.company()
    response = await world.file(owner, indicators)
    assert response.status_code == 422, response.text
    assert field in field_errors(response)
    versions = (await world.client.get(f"/api/v1/companies/{owner.company_id}/civil-status/versions")).json()
    assert len(versions) == 1  # nothing filed


async def test_company_a_cannot_file_for_b(world: World) -> None:
    a = await world.company()
    b = await world.company()
    response = await world.file(a, {"employee_satisfaction": {"value": 99}}, company_id=b.company_id)
    assert response.status_code == 403
    assert response.json()["type"].endswith("not-company-owner")
    assert indicator(await world.profile(b.company_id), "employee_satisfaction")["disclosed"] is False


async def test_anonymous_cannot_file_and_others_are_refused(world: World) -> None:
    owner = await world.company()
    url = f"/api/v1/companies/{owner.company_id}/civil-status"
    body = {"indicators": {"employee_satisfaction": {"value": 50}}}
    assert (await world.client.put(url, json=body)).status_code == 401
    bad_token = await world.client.put(url, json=body, headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401
    citizen = await world.account("citizen")
    assert (await world.client.put(url, json=body, headers=citizen.headers)).status_code == 403
    verifier = await world.verifier(["employee_satisfaction"])
    assert (await world.client.put(url, json=body, headers=verifier.headers)).status_code == 403
    missing = await world.client.put(
        "/api/v1/companies/999999/civil-status", json=body, headers=owner.headers
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[]",
        b'"indicators"',
        b'{"indicators": []}',
        b'{"indicators": {"headcount": 12}}',
        b'{"indicators": {"headcount": {"value": 12, "colour": "red"}}}',
        b'{"indicators": {"headcount": {}}}',
        b'{"indicators": {"headcount": {"value": {"nested": 1}}}}',
        b'{"indicators": {"headcount": {"value": 1e400}}}',
        b'{"indicators": {"headcount": {"value": 1' + b"0" * 500 + b"}}}",
        b'{"indicators": {"legal_name": {"value": "' + b"x" * 5000 + b'"}}}',
        b'{"indicators": {"headcount": {"value": 12, "period": 2024}}}',
        b'{"other": 1}',
        b"",
    ],
)
async def test_bad_bodies_are_4xx_never_500(world: World, payload: bytes) -> None:
    owner = await world.company()
    response = await world.client.put(
        f"/api/v1/companies/{owner.company_id}/civil-status",
        content=payload,
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/companies/0",
        "/api/v1/companies/-1",
        "/api/v1/companies/99999999999999999999",
        "/api/v1/companies/abc",
        "/api/v1/companies/2147483648/civil-status/versions",
        "/api/v1/companies/1/civil-status/versions/99999999999",
        "/api/v1/attestations/99999999999",
        "/api/v1/companies?limit=0",
        "/api/v1/companies?limit=100000",
        "/api/v1/companies?sector=%27%3B--",
        "/api/v1/open-data/companies?format=xml",
    ],
)
async def test_bad_paths_and_queries_are_4xx(client: AsyncTestClient[Litestar], path: str) -> None:
    response = await client.get(path)
    assert 400 <= response.status_code < 500, response.text


async def test_registration_with_wrong_types_is_4xx(world: World) -> None:
    owner = await world.account("company")
    for body in (
        {**world.registration(), "founding_date": "not a date"},
        {**world.registration(), "registration_scheme": "duns"},
        {**world.registration(), "legal_name": 12},
        {**world.registration(), "extra": 1},
        {"legal_name": "Only a name"},
    ):
        response = await world.client.post("/api/v1/companies", json=body, headers=owner.headers)
        assert 400 <= response.status_code < 500, (body, response.text)


# -- reading -------------------------------------------------------------------------------------------------------
async def test_list_and_search_by_name_and_sector(world: World) -> None:
    bakery = await world.company(legal_name="Boulangerie Côte d'Or", sector="10.71")
    grocer = await world.company(legal_name="Épicerie du Marché", sector="47.11")
    bookshop = await world.company(legal_name="Librairie 100% Indé", sector="47.61")

    everyone = (await world.client.get("/api/v1/companies")).json()
    assert everyone["total"] == 3
    by_name = (await world.client.get("/api/v1/companies", params={"q": "cote d'or"})).json()
    assert [c["id"] for c in by_name["items"]] == [bakery.company_id]
    by_accent = (await world.client.get("/api/v1/companies", params={"q": "EPICERIE"})).json()
    assert [c["id"] for c in by_accent["items"]] == [grocer.company_id]
    literal_percent = (await world.client.get("/api/v1/companies", params={"q": "100%"})).json()
    assert [c["id"] for c in literal_percent["items"]] == [bookshop.company_id]
    retail = (await world.client.get("/api/v1/companies", params={"sector": "47"})).json()
    assert {c["id"] for c in retail["items"]} == {grocer.company_id, bookshop.company_id}
    paged = (await world.client.get("/api/v1/companies", params={"limit": 1, "offset": 1})).json()
    assert len(paged["items"]) == 1 and paged["total"] == 3


async def test_indicator_catalogue_endpoint(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/indicators")
    assert response.status_code == 200
    keys = {i["key"]: i for i in response.json()}
    assert keys["employee_satisfaction"]["unit"] == "%" and keys["employee_satisfaction"]["maximum"] == 100
    assert (
        keys["legal_name"]["mandatory"] is True and keys["legal_name"]["label_fr"] == "Dénomination sociale"
    )


async def test_unknown_company_is_404(client: AsyncTestClient[Litestar]) -> None:
    for path in ("/api/v1/companies/4242", "/api/v1/companies/4242/civil-status/versions"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
