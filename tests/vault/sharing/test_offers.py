"""Segments and offers over HTTP, on SQLite and PostgreSQL: exactly the right citizens, and only a count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.company_profiles.recommendations.social import Actor, Social
from vault.sharing.services import received_offers


def _later(days: int = 14) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _segments(social: Social, citizen: Actor, segments: list[str], zone: str | None = None) -> None:
    response = await social.client.put(
        "/api/v1/vault/segments", json={"segments": segments, "zone": zone}, headers=citizen.headers
    )
    assert response.status_code == 200, response.text


async def _offer(
    social: Social, company: Actor, segment: str, zone: str | None = None, **extra: Any
) -> httpx.Response:
    body: dict[str, Any] = {
        "segment": segment,
        "title": f"-20 % {segment}",
        "body": "Sur toute la collection.\nJusqu'à dimanche.",
        "valid_until": _later(),
        **extra,
    }
    if zone is not None:
        body["zone"] = zone
    return await social.client.post("/api/v1/offers", json=body, headers=company.headers)


async def _inbox(social: Social, citizen: Actor) -> list[int]:
    response = await social.client.get("/api/v1/vault/offers", headers=citizen.headers)
    assert response.status_code == 200, response.text
    return [o["id"] for o in response.json()]


async def test_offers_reach_exactly_the_opted_in_customers(social: Social) -> None:
    k = social.k
    shop = await social.company()
    other_shop = await social.company()
    inside = await social.customers(shop, k + 1)
    for citizen in inside:
        await _segments(social, citizen, ["fashion", "books"])
    (other_segment,) = await social.customers(shop, 1)
    await _segments(social, other_segment, ["sport"])
    no_account = await social.citizen()
    await _segments(social, no_account, ["fashion"])
    (elsewhere,) = await social.customers(other_shop, 1)
    await _segments(social, elsewhere, ["fashion"])

    sent = await _offer(social, shop, "fashion")
    assert sent.status_code == 201, sent.text
    offer = sent.json()
    assert offer["delivery"] == {
        "k": k,
        "delivered": k + 1,
        "fewer_than_k": False,
        "withheld": False,
        "text": f"{k + 1} citizens",
    }
    for citizen in inside:
        assert await _inbox(social, citizen) == [offer["id"]]
    for citizen in (other_segment, no_account, elsewhere):
        assert await _inbox(social, citizen) == []
    received = (await social.client.get("/api/v1/vault/offers", headers=inside[0].headers)).json()[0]
    assert received["body"] == "Sur toute la collection.\nJusqu'à dimanche."
    assert received["company_id"] == shop.company_id and received["company_name"]
    # The company's own view holds the count and nothing about who.
    mine = (await social.client.get(f"/api/v1/offers/{offer['id']}", headers=shop.headers)).json()
    assert mine == offer
    assert str(inside[0].account_id) not in str(mine["delivery"])


async def test_below_k_the_company_learns_only_fewer_than_k(social: Social) -> None:
    k = social.k
    shop = await social.company()
    few = await social.customers(shop, k - 1)
    for citizen in few:
        await _segments(social, citizen, ["fine_food"])
    report = (await _offer(social, shop, "fine_food")).json()["delivery"]
    assert report["delivered"] is None and report["fewer_than_k"] is True
    assert report["text"] == f"fewer than {k} citizens"
    for citizen in few:
        assert len(await _inbox(social, citizen)) == 1, "delivered all the same"
    nobody = (await _offer(social, shop, "garden")).json()["delivery"]
    assert nobody["delivered"] is None and nobody["fewer_than_k"] is True, "zero is not told apart from k − 1"


async def test_zone_targets_the_stated_offers_zone(social: Social) -> None:
    shop = await social.company()
    lyon = await social.customers(shop, 3)
    paris, nowhere = await social.customers(shop, 2)
    for citizen in lyon:
        await _segments(social, citizen, ["wine"], zone="u05kq")
    await _segments(social, paris, ["wine"], zone="u09tv")
    await _segments(social, nowhere, ["wine"])
    offer = (await _offer(social, shop, "wine", zone="u05k")).json()
    for citizen in lyon:
        assert await _inbox(social, citizen) == [offer["id"]]
    assert await _inbox(social, paris) == []
    assert await _inbox(social, nowhere) == []
    everywhere = (await _offer(social, shop, "wine")).json()
    assert await _inbox(social, nowhere) == [everywhere["id"]]


async def test_muted_companies_deliver_nothing(social: Social) -> None:
    shop = await social.company()
    muter, listener = await social.customers(shop, 2)
    for citizen in (muter, listener):
        await _segments(social, citizen, ["music"])
    first = (await _offer(social, shop, "music")).json()
    assert await _inbox(social, muter) == [first["id"]]
    muted = await social.client.put(f"/api/v1/vault/offers/mutes/{shop.company_id}", headers=muter.headers)
    assert muted.status_code == 204
    assert await _inbox(social, muter) == [], "offers already delivered are hidden too"
    second = (await _offer(social, shop, "music")).json()
    assert await _inbox(social, listener) == [second["id"], first["id"]]
    assert await _inbox(social, muter) == []
    assert (await social.client.get("/api/v1/vault/segments", headers=muter.headers)).json()[
        "muted_companies"
    ] == [shop.company_id]
    unmuted = await social.client.delete(
        f"/api/v1/vault/offers/mutes/{shop.company_id}", headers=muter.headers
    )
    assert unmuted.status_code == 204
    assert await _inbox(social, muter) == [first["id"]], "the muted-time offer was never delivered"
    assert (
        await social.client.put("/api/v1/vault/offers/mutes/999999", headers=muter.headers)
    ).status_code == 404


async def test_repeated_offers_cannot_difference_one_citizen_out(social: Social) -> None:
    """ "fashion everywhere" minus "fashion in u09t" would count the one customer outside u09t: withheld."""
    k = social.k
    shop = await social.company()
    customers = await social.customers(shop, k + 1)
    for citizen in customers[:-1]:
        await _segments(social, citizen, ["fashion"], zone="u09tv")
    await _segments(social, customers[-1], ["fashion"], zone="u05kq")
    everywhere = (await _offer(social, shop, "fashion")).json()["delivery"]
    assert everywhere["delivered"] == k + 1
    narrowed = (await _offer(social, shop, "fashion", zone="u09t")).json()["delivery"]
    assert narrowed["delivered"] is None and narrowed["withheld"] is True
    # Same audience again later, after one more customer opted in: the difference is one person, withheld.
    (newcomer,) = await social.customers(shop, 1)
    await _segments(social, newcomer, ["fashion"], zone="u09tv")
    again = (await _offer(social, shop, "fashion")).json()["delivery"]
    assert again["delivered"] is None and again["withheld"] is True
    for citizen in [*customers, newcomer]:
        assert len(await _inbox(social, citizen)) >= 1


async def test_segment_and_offer_validation_and_roles(social: Social) -> None:
    shop = await social.company()
    unregistered = await social.account("company")
    citizen = await social.citizen()
    catalogue = (await social.client.get("/api/v1/segments")).json()
    assert {"fashion", "sport", "fine_food", "tableware"} <= {s["key"] for s in catalogue}
    for body, field in (
        ({"segments": ["astrology"]}, "body.segments[0]"),
        ({"segments": ["sport"], "zone": "u09t"}, "body.zone"),
        ({"segments": ["sport"], "zone": "u09tvw"}, "body.zone"),
        ({"segments": ["sport"], "zone": "u09ta"}, "body.zone"),
    ):
        response = await social.client.put("/api/v1/vault/segments", json=body, headers=citizen.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
    await _segments(social, citizen, ["sport", "sport", "kids"], zone="U09TV")
    mine = (await social.client.get("/api/v1/vault/segments", headers=citizen.headers)).json()
    assert mine == {"segments": ["kids", "sport"], "zone": "u09tv", "muted_companies": []}
    await _segments(social, citizen, ["kids"])
    assert (await social.client.get("/api/v1/vault/segments", headers=citizen.headers)).json()[
        "segments"
    ] == ["kids"]

    for extra, field in (
        ({"segment": "astrology"}, "body.segment"),
        ({"zone": "u09tvw"}, "body.zone"),
        ({"zone": "u0a"}, "body.zone"),
        ({"valid_until": "2001-01-01T00:00:00Z"}, "body.valid_until"),
        ({"valid_until": _later(800)}, "body.valid_until"),
        ({"title": " "}, "body.title"),
    ):
        body = {"segment": "sport", "title": "t", "body": "b", "valid_until": _later(), **extra}
        response = await social.client.post("/api/v1/offers", json=body, headers=shop.headers)
        assert response.status_code == 422, (extra, response.text)
        assert field in {e["field"] for e in response.json()["errors"]}
    assert (await _offer(social, citizen, "sport")).status_code == 403
    assert (await _offer(social, unregistered, "sport")).status_code == 409
    assert (await social.client.get("/api/v1/vault/offers", headers=shop.headers)).status_code == 403
    assert (
        await social.client.put("/api/v1/vault/segments", json={}, headers=shop.headers)
    ).status_code == 403
    assert (await social.client.get("/api/v1/vault/offers")).status_code == 401


async def test_a_company_sees_only_its_own_offers(social: Social) -> None:
    shop, rival = await social.company(), await social.company()
    offer = (await _offer(social, shop, "books")).json()
    assert (
        await social.client.get(f"/api/v1/offers/{offer['id']}", headers=rival.headers)
    ).status_code == 404
    assert (await social.client.get("/api/v1/offers", headers=rival.headers)).json() == []
    assert [o["id"] for o in (await social.client.get("/api/v1/offers", headers=shop.headers)).json()] == [
        offer["id"]
    ]


async def test_expired_and_dismissed_offers(social: Social) -> None:
    shop = await social.company()
    (citizen,) = await social.customers(shop, 1)
    await _segments(social, citizen, ["travel"])
    offer = (await _offer(social, shop, "travel")).json()
    async with social.session() as session:
        later = datetime.now(UTC) + timedelta(days=30)
        assert await received_offers(session, citizen_id=citizen.account_id, now=later) == []
        (expired,) = await received_offers(
            session, citizen_id=citizen.account_id, now=later, include_expired=True
        )
        assert expired.id == offer["id"] and expired.expired is True
    assert (
        await social.client.delete(f"/api/v1/vault/offers/{offer['id']}", headers=citizen.headers)
    ).status_code == 204
    assert await _inbox(social, citizen) == []
    assert (
        await social.client.delete(f"/api/v1/vault/offers/{offer['id']}", headers=citizen.headers)
    ).status_code == 404
