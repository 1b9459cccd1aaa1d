"""The GS1 Digital Link resolver: every content-negotiation branch, qualifiers, attributes, linkset shape, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.scanner.conftest import Actor, Shop, make_gtin

#: GS1-Conformant Resolver's linkset schema (https://ref.gs1.org/standards/resolver/linkset-schema), the parts
#: that constrain a linkset: anchor and link-relation patterns, and each link object's fields.
LINKSET_SCHEMA = json.loads((Path(__file__).parent / "gs1_linkset_schema.json").read_text())
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def check_schema(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """The draft-07 keywords GS1's linkset schema uses: type, properties, patternProperties, items, pattern."""
    problems: list[str] = []
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str}
    if kind and not isinstance(value, types[kind]):
        return [f"{where}: expected {kind}"]
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += check_schema(item, schema["items"], f"{where}[{i}]")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{where}: missing {key}")
        for key, item in value.items():
            if key in schema.get("properties", {}):
                problems += check_schema(item, schema["properties"][key], f"{where}.{key}")
            for pattern, sub in schema.get("patternProperties", {}).items():
                if re.search(pattern, key):
                    problems += check_schema(item, sub, f"{where}.{key}")
    return problems


@pytest.fixture
async def catalogue(shop: Shop) -> tuple[Actor, str]:
    owner = await shop.company(name="Huilerie du Resolver SAS")
    await shop.file(owner, {"employee_satisfaction": {"value": 64, "unit": "%"}})
    gtin = make_gtin(8001)
    await shop.product(owner, gtin, name="Huile résolue")
    return owner, gtin


async def test_json_for_api_clients(shop: Shop, catalogue: tuple[Actor, str]) -> None:
    _, gtin = catalogue
    for accept in ("application/json", None, "*/*", "application/*", "application/json;q=0.9, text/plain"):
        headers = {"Accept": accept} if accept else {}
        response = await shop.client.get(f"/01/{gtin}", headers=headers)
        assert response.status_code == 200, (accept, response.text)
        assert response.headers["content-type"] == "application/json", accept
        assert response.json()["gtin"] == gtin
    assert response.headers["vary"] == "Accept"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["link"] == (
        f'<http://sesame.test/01/{gtin}?linkType=linkset>; rel="linkset"; type="application/linkset+json"'
    )
    # Zero-suppressed GTIN in the path, as GS1 permits.
    assert (await shop.client.get(f"/01/{gtin[1:]}", headers={"Accept": "application/json"})).json()[
        "gtin"
    ] == gtin


async def test_html_for_browsers(shop: Shop, catalogue: tuple[Actor, str]) -> None:
    _, gtin = catalogue
    for accept in (BROWSER, "text/html", "application/json;q=0.5, text/html"):
        response = await shop.client.get(
            f"/01/{gtin}", headers={"Accept": accept, "Accept-Language": "fr-FR,fr"}
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html"), accept
        assert "Huile résolue" in response.text and "64" in response.text
    assert response.headers["content-language"] == "fr"
    assert "Accept" in response.headers["vary"]


async def test_linkset_by_accept_or_link_type(shop: Shop, catalogue: tuple[Actor, str]) -> None:
    owner, gtin = catalogue
    answers = [
        await shop.client.get(f"/01/{gtin}", headers={"Accept": "application/linkset+json"}),
        await shop.client.get(f"/01/{gtin}?linkType=linkset"),
        await shop.client.get(f"/01/{gtin}?linkType=all", headers={"Accept": BROWSER}),
    ]
    for response in answers:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/linkset+json"
        assert "linkset-context" in response.headers["link"]
    body = answers[0].json()
    assert check_schema(body, LINKSET_SCHEMA) == []
    (entry,) = body["linkset"]
    assert entry["anchor"] == f"http://sesame.test/01/{gtin}"
    assert entry["description"] == "Huile résolue"
    relations = {k for k in entry if k not in ("anchor", "description", "itemDescription")}
    assert all(re.fullmatch(r"https://gs1\.org/voc/[A-Za-z]+", r) for r in relations), relations
    assert {
        "https://gs1.org/voc/pip",
        "https://gs1.org/voc/defaultLink",
        "https://gs1.org/voc/sustainabilityInfo",
        "https://gs1.org/voc/certificationInfo",
        "https://gs1.org/voc/registryEntry",
        "https://gs1.org/voc/traceability",
    } <= relations
    registry = entry["https://gs1.org/voc/registryEntry"][0]
    assert registry["href"] == f"http://sesame.test/api/v1/companies/{owner.company_id}"
    for links in (v for k, v in entry.items() if k in relations):
        for link in links:
            assert (await shop.client.get(link["href"].removeprefix("http://sesame.test"))).status_code == 200


async def test_lot_scoped_linkset_keeps_the_qualifiers(shop: Shop, catalogue: tuple[Actor, str]) -> None:
    _, gtin = catalogue
    body = (await shop.client.get(f"/01/{gtin}/10/L2025-11A/21/S1?linkType=linkset")).json()
    assert check_schema(body, LINKSET_SCHEMA) == []
    entry = body["linkset"][0]
    assert entry["anchor"] == f"http://sesame.test/01/{gtin}/10/L2025-11A/21/S1"
    assert entry["https://gs1.org/voc/traceability"][0]["href"].endswith("/traceability?lot=L2025-11A")
    trace = (await shop.client.get(f"/api/v1/products/{gtin}/traceability?lot=L2025-11A")).json()
    assert [lot["batch"] for lot in trace["lots"]] == ["L2025-11A"]


@pytest.mark.parametrize(
    ("link_type", "target"),
    [
        ("gs1:pip", "/01/{gtin}"),
        ("gs1:defaultLink", "/01/{gtin}"),
        ("gs1:sustainabilityInfo", "/api/v1/products/{gtin}/sustainability"),
        ("https://gs1.org/voc/certificationInfo", "/api/v1/products/{gtin}/certification"),
        ("gs1:traceability", "/api/v1/products/{gtin}/traceability"),
        ("gs1:masterData", "/api/v1/products/{gtin}"),
        ("gs1:recipeInfo", "/01/{gtin}"),  # not available: the default link, as GS1's resolvers do
    ],
)
async def test_link_type_redirects(
    shop: Shop, catalogue: tuple[Actor, str], link_type: str, target: str
) -> None:
    _, gtin = catalogue
    response = await shop.client.get(f"/01/{gtin}?linkType={link_type}", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "http://sesame.test" + target.format(gtin=gtin)


async def test_registry_entry_redirects_to_the_company_profile(
    shop: Shop, catalogue: tuple[Actor, str]
) -> None:
    owner, gtin = catalogue
    response = await shop.client.get(f"/01/{gtin}?linkType=gs1:registryEntry", follow_redirects=False)
    assert response.headers["location"] == f"http://sesame.test/api/v1/companies/{owner.company_id}"
    profile = await shop.client.get(response.headers["location"].removeprefix("http://sesame.test"))
    assert profile.json()["legal_name"] == "Huilerie du Resolver SAS"


async def test_every_qualifier_combination_and_query_attributes(
    shop: Shop, catalogue: tuple[Actor, str]
) -> None:
    _, gtin = catalogue
    json_accept = {"Accept": "application/json"}
    for path in (
        "/22/2A",
        "/10/L2025-11A",
        "/21/SER-1",
        "/22/2A/10/L2025-11A",
        "/10/L2025-11A/21/SER-1",
        "/22/2A/21/S",
        "/22/2A/10/X/21/S",
    ):
        response = await shop.client.get(f"/01/{gtin}{path}", headers=json_accept)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["gtin"] == gtin
    card = (
        await shop.client.get(f"/01/{gtin}/10/L2025-11A?17=270531&3103=000750", headers=json_accept)
    ).json()
    assert card["lot"]["batch"] == "L2025-11A" and card["lot"]["best_before"] == "2027-05-31"
    assert card["scan"]["lot"] == "L2025-11A" and card["scan"]["lot_known"] is True
    assert {a["ai"]: a.get("date") or a.get("decimal") for a in card["scan"]["attributes"]} == {
        "17": "2027-05-31",
        "3103": "0.750",
    }
    unknown_lot = (await shop.client.get(f"/01/{gtin}/10/NOPE", headers=json_accept)).json()
    assert unknown_lot["lot"] is None and unknown_lot["scan"]["lot_known"] is False
    escaped = (await shop.client.get(f"/01/{gtin}/21/A%2FB", headers=json_accept)).json()
    assert escaped["scan"]["serial"] == "A/B"


async def test_head_and_cors_preflight(shop: Shop, catalogue: tuple[Actor, str]) -> None:
    _, gtin = catalogue
    head = await shop.client.head(f"/01/{gtin}", headers={"Accept": "application/json"})
    assert head.status_code == 200 and head.content == b""
    options = await shop.client.options(f"/01/{gtin}")
    assert options.status_code in (200, 204) and "GET" in options.headers["allow"]


@pytest.mark.parametrize(
    ("path", "slug", "reason"),
    [
        ("/01/{gtin}/21/S/10/L", "gs1-syntax", "order 22, 10, 21"),
        ("/01/{gtin}/10/A/10/B", "gs1-syntax", "order 22, 10, 21"),
        ("/01/{gtin}/89/X", "gs1-syntax", "unknown GS1 Application Identifier (89)"),
        ("/01/{gtin}?89=X", "gs1-syntax", "unknown GS1 Application Identifier (89)"),
        ("/01/{gtin}?10=L1", "gs1-syntax", "belongs in the path"),
        ("/01/{gtin}?17=251399", "gs1-syntax", "not a valid date"),
        ("/01/{gtin}/10/L%20L", "gs1-syntax", "does not match"),
        ("/01/{gtin}/10", "gs1-syntax", "primary key"),
        ("/01/{gtin}/8011/X", "gs1-syntax", "not a key qualifier of (01)"),
        ("/01/3760000084019", "gs1-check-digit", "should be"),
        ("/01/37600000840X", "gs1-syntax", "does not match"),
        ("/01/12345", "gs1-syntax", "does not match"),
        ("/01/{gtin}/10/" + "L" * 3000, "gs1-syntax", "at most 2048"),
        ("/00/106141412345678909", "gs1-check-digit", "check digit"),
        ("/414/952012345678", "gs1-syntax", "does not match"),
    ],
)
async def test_syntax_errors_are_400_with_the_reason(
    shop: Shop, catalogue: tuple[Actor, str], path: str, slug: str, reason: str
) -> None:
    _, gtin = catalogue
    response = await shop.client.get(path.format(gtin=gtin), headers={"Accept": "application/json"})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["type"].endswith("/" + slug) and reason in problem["detail"], problem


@pytest.mark.parametrize(
    "path",
    [
        "/00/106141412345678908",
        "/414/9520123456788",
        "/253/1231231231232TEST",
        "/8004/9520614141234567",
        "/01/{unknown}",
    ],
)
async def test_other_keys_and_unknown_products_are_404_unknown(
    shop: Shop, catalogue: tuple[Actor, str], path: str
) -> None:
    response = await shop.client.get(
        path.format(unknown=make_gtin(8999)), headers={"Accept": "application/json"}
    )
    assert response.status_code == 404, response.text
    assert response.json()["type"].endswith("/unknown")


async def test_well_known_description_file(shop: Shop) -> None:
    response = await shop.client.get("/.well-known/gs1resolver")
    assert response.status_code == 200
    body = response.json()
    assert body["resolverRoot"] == "http://sesame.test"
    assert body["supportedPrimaryKeys"] == ["01"]
    assert body["supportedLinkType"] == [{"namespace": "https://gs1.org/voc/", "prefix": "gs1:"}]
    assert body["linkTypeDefaultCanBeLinkset"] is True
