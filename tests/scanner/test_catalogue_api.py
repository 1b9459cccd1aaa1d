"""The catalogue over HTTP: registration, validation with field paths, ownership, GTIN conflicts, versions."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import rfc8785

from tests.scanner.conftest import Shop, field_errors, identity_card, make_gtin


async def test_register_answers_the_digital_link_and_the_ledger_index(shop: Shop) -> None:
    owner = await shop.company()
    gtin = make_gtin(1001)
    response = await shop.register(owner, gtin[1:])  # the 13 digits under the barcode
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["gtin"] == gtin
    assert created["digital_link"] == f"http://sesame.test/01/{gtin}"
    assert created["version"] == 1 and isinstance(created["ledger_index"], int)

    entry = await shop.client.get(f"/api/v1/ledger/entries/{created['ledger_index']}")
    assert entry.status_code == 200, entry.text
    assert entry.json()["kind"] == "product.registered"
    assert entry.json()["payload"]["gtin"] == gtin

    listed = await shop.client.get(f"/api/v1/companies/{owner.company_id}/products")
    assert listed.status_code == 200
    assert [item["gtin"] for item in listed.json()["items"]] == [gtin]


async def test_the_card_carries_the_identity_card_and_the_sellers_figures(shop: Shop) -> None:
    owner = await shop.company(name="Huilerie Castelas SAS")
    await shop.file(
        owner,
        {
            "employee_satisfaction": {"value": 64, "unit": "%"},
            "carbon_footprint_per_employee": {"value": 4.2, "unit": "tCO2e"},
            "after_sales_staff_share": {"value": 12, "unit": "%"},
        },
    )
    created = await shop.product(owner, name="Huile d'olive AOP")
    card = (await shop.client.get(f"/api/v1/products/{created['gtin']}")).json()
    assert card["name"] == "Huile d'olive AOP" and card["version"] == 1
    identity = card["identity_card"]
    assert identity["manufacturing_time"] == {"value": 36.0, "unit": "h", "hours": 36.0}
    assert identity["carbon_footprint"]["kg_co2e"] == 2.4
    assert identity["labour_cost_share_pct"] == 38.5
    assert [lot["batch"] for lot in identity["lots"]] == ["L2025-11A", "L2025-12B"]
    assert card["company"]["legal_name"] == "Huilerie Castelas SAS"
    assert card["company"]["profile_url"] == f"http://sesame.test/api/v1/companies/{owner.company_id}"
    assert 0 <= card["transparency_score"] <= 100
    highlights = {h["key"]: h for h in card["highlights"]}
    assert list(highlights) == [
        "employee_satisfaction",
        "carbon_footprint_per_employee",
        "seniority",
        "tax_residence",
        "after_sales_staff_share",
    ]
    assert highlights["employee_satisfaction"]["value"] == 64
    assert highlights["employee_satisfaction"]["state"] == "self_declared"
    assert highlights["employee_satisfaction"]["age_days"] == 0
    assert highlights["seniority"]["value"] >= 27 and highlights["seniority"]["unit"] == "years"
    assert highlights["tax_residence"]["value"] == "FR"


async def test_an_attested_figure_shows_as_verified(shop: Shop) -> None:
    owner = await shop.company()
    await shop.file(owner, {"employee_satisfaction": {"value": 64, "unit": "%"}})
    created = await shop.product(owner)
    verifier = await shop.verifier(["employee_satisfaction"])
    await shop.attest(verifier, owner, "employee_satisfaction", 64)
    card = (await shop.client.get(f"/api/v1/products/{created['gtin']}")).json()
    satisfaction = next(h for h in card["highlights"] if h["key"] == "employee_satisfaction")
    assert satisfaction["state"] == "attested" and satisfaction["attested_by"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"labour_cost_share_pct": 120}, "body.identity_card.labour_cost_share_pct"),
        (
            {"manufacturing_time": {"value": 3, "unit": "fortnight"}},
            "body.identity_card.manufacturing_time.unit",
        ),
        ({"manufacturing_time": {"value": -1, "unit": "h"}}, "body.identity_card.manufacturing_time.value"),
        ({"manufacturing_time": {"value": 600, "unit": "week"}}, "body.identity_card.manufacturing_time"),
        ({"carbon_footprint": {"value": 1, "unit": "kg CO2"}}, "body.identity_card.carbon_footprint.unit"),
        ({"carbon_footprint": {"value": -0.1}}, "body.identity_card.carbon_footprint.value"),
        ({"nutrition_per_100g": {"fat_g": 101}}, "body.identity_card.nutrition_per_100g.fat_g"),
        (
            {"nutrition_per_100g": {"carbohydrates_g": 10, "sugars_g": 12}},
            "body.identity_card.nutrition_per_100g",
        ),
        (
            {"nutrition_per_100g": {"energy_kj": 100, "energy_kcal": 500}},
            "body.identity_card.nutrition_per_100g",
        ),
        ({"nutrition_per_100g": {"fat_g": 60, "protein_g": 50}}, "body.identity_card.nutrition_per_100g"),
        ({"stock": -3}, "body.identity_card.stock"),
        ({"lots": [{"batch": "L 1"}]}, "body.identity_card.lots.0.batch"),
        ({"lots": [{"batch": "L" * 21}]}, "body.identity_card.lots.0.batch"),
        ({"lots": [{"batch": "A"}, {"batch": "A"}]}, "body.identity_card.lots"),
        (
            {"lots": [{"batch": "A", "produced_on": "2025-05-01", "best_before": "2025-04-01"}]},
            "body.identity_card.lots.0",
        ),
        (
            {"production_places": [{"name": "X", "country": "fr"}]},
            "body.identity_card.production_places.0.country",
        ),
        (
            {"production_places": [{"name": "X", "country": "FR", "latitude": 91, "longitude": 0}]},
            "body.identity_card.production_places.0.latitude",
        ),
        (
            {"production_places": [{"name": "X", "country": "FR", "latitude": 4}]},
            "body.identity_card.production_places.0",
        ),
        (
            {
                "traceability": [
                    {
                        "step": "s",
                        "place": {"name": "X", "country": "FR"},
                        "started_on": "2025-02-01",
                        "ended_on": "2025-01-01",
                    }
                ]
            },
            "body.identity_card.traceability.0",
        ),
        (
            {
                "traceability": [
                    {"step": "s", "place": {"name": "X", "country": "FR"}, "started_on": "1066-10-14"}
                ]
            },
            "body.identity_card.traceability.0.started_on",
        ),
        ({"colour": "green"}, "body.identity_card.colour"),
    ],
)
async def test_units_and_ranges_are_checked_with_field_paths(
    shop: Shop, change: dict[str, Any], field: str
) -> None:
    owner = await shop.company()
    response = await shop.register(owner, identity_card=identity_card(**change))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in field_errors(response), field_errors(response)


@pytest.mark.parametrize(
    ("gtin", "reason"),
    [
        ("3760000000421", "check digit"),
        ("37600000004", "8, 12, 13 or 14 digits"),
        ("37600000004x0", "digits only"),
        ("0212345678909", "Restricted Circulation"),
        ("00000000000000", "all-zero"),
    ],
)
async def test_bad_gtins_are_422_on_the_gtin_field(shop: Shop, gtin: str, reason: str) -> None:
    owner = await shop.company()
    response = await shop.register(owner, gtin)
    assert response.status_code == 422
    assert reason in field_errors(response)["body.gtin"]


async def test_variants_are_validated_too(shop: Shop) -> None:
    owner = await shop.company()
    gtin = make_gtin(2001)
    response = await shop.register(owner, gtin, variants=[make_gtin(2002), "3760000020029"])
    assert response.status_code == 422
    assert "check digit" in field_errors(response)["body.variants.1"]
    response = await shop.register(owner, gtin, variants=[gtin])
    assert response.status_code == 422 and "body.variants" in field_errors(response)


async def test_a_gtin_of_another_company_is_409(shop: Shop) -> None:
    first, second = await shop.company(), await shop.company()
    gtin = make_gtin(3001)
    await shop.product(first, gtin, variants=[make_gtin(3002)])
    taken = await shop.register(second, gtin)
    assert taken.status_code == 409
    assert taken.json()["type"].endswith("/gtin-taken") and "another company" in taken.json()["detail"]
    variant_taken = await shop.register(second, make_gtin(3003), variants=[make_gtin(3002)])
    assert variant_taken.status_code == 409 and "another company" in variant_taken.json()["detail"]
    again = await shop.register(first, gtin)
    assert again.status_code == 409 and "PUT" in again.json()["detail"]


async def test_only_the_owning_company_manages_its_products(shop: Shop) -> None:
    owner, other = await shop.company(), await shop.company()
    citizen = await shop.account("citizen")
    body = {"gtin": make_gtin(4001), "name": "X"}
    path = f"/api/v1/companies/{owner.company_id}/products"
    assert (await shop.client.post(path, json=body)).status_code == 401
    assert (await shop.client.post(path, json=body, headers=citizen.headers)).status_code == 403
    forbidden = await shop.client.post(path, json=body, headers=other.headers)
    assert forbidden.status_code == 403 and forbidden.json()["type"].endswith("/not-product-owner")
    missing = await shop.client.post("/api/v1/companies/999999/products", json=body, headers=owner.headers)
    assert missing.status_code == 404
    created = await shop.product(owner, make_gtin(4001))
    update = {"name": "Y"}
    put = await shop.client.put(f"{path}/{created['gtin']}", json=update, headers=other.headers)
    assert put.status_code == 403
    put = await shop.client.put(
        f"/api/v1/companies/{other.company_id}/products/{created['gtin']}", json=update, headers=other.headers
    )
    assert put.status_code == 404


async def test_a_card_change_files_a_new_version_in_the_ledger(shop: Shop) -> None:
    owner = await shop.company()
    created = await shop.product(owner, name="Huile v1")
    path = f"/api/v1/companies/{owner.company_id}/products/{created['gtin']}"
    body = {"name": "Huile v2", "variants": [make_gtin(5002)], "identity_card": identity_card(stock=3)}
    changed = await shop.client.put(path, json=body, headers=owner.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2 and changed.json()["ledger_index"] > created["ledger_index"]
    entry = (await shop.client.get(f"/api/v1/ledger/entries/{changed.json()['ledger_index']}")).json()
    assert entry["kind"] == "product.card_changed" and entry["payload"]["version"] == 2

    same = await shop.client.put(path, json=body, headers=owner.headers)
    assert same.json()["version"] == 2 and same.json()["ledger_index"] == changed.json()["ledger_index"]

    versions = (await shop.client.get(f"/api/v1/products/{created['gtin']}/versions")).json()
    assert [v["version"] for v in versions] == [1, 2]
    detail = (await shop.client.get(f"/api/v1/products/{created['gtin']}/versions/2")).json()
    document = {
        "gtin": detail["gtin"],
        "version": 2,
        "name": detail["name"],
        "variants": detail["variants"],
        "card": detail["identity_card"],
    }
    assert (
        hashlib.sha256(rfc8785.dumps(document)).hexdigest()
        == detail["card_sha256"]
        == entry["payload"]["card_sha256"]
    )
    old = (await shop.client.get(f"/api/v1/products/{created['gtin']}/versions/1")).json()
    assert old["name"] == "Huile v1" and old["identity_card"]["stock"] == 1200
    assert (await shop.client.get(f"/api/v1/products/{created['gtin']}/versions/9")).status_code == 404

    variant = await shop.client.get(f"/api/v1/products/{make_gtin(5002)}")
    assert variant.status_code == 200
    assert variant.json()["gtin"] == created["gtin"] and variant.json()["scanned_gtin"] == make_gtin(5002)


async def test_variants_released_by_a_new_version_no_longer_resolve(shop: Shop) -> None:
    owner, other = await shop.company(), await shop.company()
    created = await shop.product(owner, variants=[make_gtin(6002)])
    assert (await shop.client.get(f"/api/v1/products/{make_gtin(6002)}")).status_code == 200
    path = f"/api/v1/companies/{owner.company_id}/products/{created['gtin']}"
    released = await shop.client.put(path, json={"name": "Sans variante"}, headers=owner.headers)
    assert released.status_code == 200
    assert (await shop.client.get(f"/api/v1/products/{make_gtin(6002)}")).status_code == 404
    assert (await shop.register(other, make_gtin(6002))).status_code == 201


async def test_product_paths_validate_the_gtin(shop: Shop) -> None:
    bad = await shop.client.get("/api/v1/products/3760000000421")
    assert bad.status_code == 422 and "check digit" in field_errors(bad)["path.gtin"]
    unknown = await shop.client.get(f"/api/v1/products/{make_gtin(7001)}")
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("/unknown")
    assert (await shop.client.get("/api/v1/companies/999999/products")).status_code == 404
