"""The zone portal over HTTP, on SQLite and PostgreSQL: the k boundary and the differencing attack."""

from __future__ import annotations

from typing import Any

from tests.company_profiles.recommendations.social import Actor, Social


async def _zones(social: Social, **params: Any) -> dict[str, dict[str, Any]]:
    response = await social.client.get("/api/v1/zones", params=params)
    assert response.status_code == 200, response.text
    return {z["zone"]: z for z in response.json()["zones"]}


async def _recommend_all(social: Social, company: Actor, citizens: list[Actor], zone: str) -> None:
    for citizen in citizens:
        response = await social.recommend(citizen, company, zone=zone, criteria={"service": True})
        assert response.status_code == 201, response.text


async def test_a_zone_shows_at_k_citizens_and_hides_below(social: Social) -> None:
    k = social.k
    bakery = await social.company(sector="47.24")
    citizens = await social.customers(bakery, k)
    await _recommend_all(social, bakery, citizens[:-1], "u09tv")
    assert await _zones(social, precision=5) == {}
    assert await _zones(social, precision=4) == {}
    hidden = (await social.client.get("/api/v1/zones/u09tv")).json()
    empty = (await social.client.get("/api/v1/zones/u09tw")).json()
    assert hidden["published"] is False and hidden["stats"] is None
    assert {**hidden, "zone": "u09tw"} == empty, "a withheld zone looks exactly like an empty one"

    await _recommend_all(social, bakery, citizens[-1:], "u09tv")
    cells = await _zones(social, precision=5)
    assert set(cells) == {"u09tv"}
    cell = cells["u09tv"]
    assert cell["citizens"] == k and cell["recommend"]["ratio"] == 1.0
    assert cell["criteria"]["service"] == {"yes": k, "no": 0, "ratio": 1.0}
    assert [p["citizens"] for p in cell["trend"]] == [k]
    parent = (await social.client.get("/api/v1/zones/u09t")).json()
    assert parent["published"] is True and parent["stats"]["cells"] == ["u09tv"]
    by_sector = await _zones(social, precision=5, sector="47.24")
    assert by_sector["u09tv"]["citizens"] == k and by_sector["u09tv"]["sector"] == "47.24"
    assert await _zones(social, precision=5, sector="56") == {}


async def test_parent_minus_published_children_never_reveals_a_small_group(social: Social) -> None:
    """Two cells of k citizens and one of a single citizen under u09t: whatever is published, u09t minus the
    published cells, and any sector total minus its published sectors, is 0 or at least k citizens."""
    k = social.k
    bakery = await social.company(sector="47.24")
    grocer = await social.company(sector="47.11")
    await _recommend_all(social, bakery, await social.customers(bakery, k), "u09tv")
    await _recommend_all(social, grocer, await social.customers(grocer, k), "u09tw")
    (lonely,) = await social.customers(grocer, 1)
    await _recommend_all(social, grocer, [lonely], "u09ty")

    assert "u09ty" not in await _zones(social, precision=5)
    parent = (await _zones(social, precision=4))["u09t"]
    assert parent["citizens"] == 2 * k + 1
    assert len(parent["cells"]) == 1, "complementary suppression: one k-cell is withheld with u09ty"
    for sector in (None, "47", "47.1", "47.11", "47.2", "47.24"):
        params: dict[str, Any] = {} if sector is None else {"sector": sector}
        parents = await _zones(social, precision=4, **params)
        cells = await _zones(social, precision=5, **params)
        assert "u09ty" not in cells
        for zone, parent in parents.items():
            children = [cells[c] for c in parent["cells"]]
            assert all(c["zone"].startswith(zone) for c in children)
            # Each citizen gave one recommendation here, so recommendations count citizens.
            remainder = parent["recommendations"] - sum(c["recommendations"] for c in children)
            assert remainder == 0 or remainder >= k, (sector, zone, remainder)
            yes_remainder = parent["recommend"]["yes"] - sum(c["recommend"]["yes"] for c in children)
            assert yes_remainder == 0 or yes_remainder >= k or remainder >= k
    # Sector totals against the all-sector total, cell by cell.
    everything = await _zones(social, precision=4)
    if "u09t" in everything:
        divisions = await _zones(social, precision=4, sector="47")
        if "u09t" in divisions:
            gap = everything["u09t"]["recommendations"] - divisions["u09t"]["recommendations"]
            assert gap == 0 or gap >= k
        classes = [await _zones(social, precision=4, sector=s) for s in ("47.11", "47.24")]
        shown = [c["u09t"]["recommendations"] for c in classes if "u09t" in c]
        if shown:
            gap = everything["u09t"]["recommendations"] - sum(shown)
            assert gap == 0 or gap >= k


async def test_portal_parameters_are_validated(social: Social) -> None:
    for params in ({"precision": 3}, {"precision": 6}, {"sector": "bakery"}, {"sector": "4711"}):
        response = await social.client.get("/api/v1/zones", params=params)
        assert response.status_code == 422, (params, response.text)
    for zone in ("u09", "u09tvw", "u09ta"):
        response = await social.client.get(f"/api/v1/zones/{zone}")
        assert response.status_code == 422, (zone, response.text)
    listed = await social.client.get("/api/v1/zones")
    assert listed.status_code == 200 and listed.json() == {
        "k": social.k,
        "precision": 4,
        "sector": None,
        "zones": [],
    }
