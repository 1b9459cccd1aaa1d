"""Recommendations over HTTP, on SQLite and PostgreSQL: who may recommend, one per company, validation."""

from __future__ import annotations

from tests.company_profiles.recommendations.social import Social


async def test_only_customers_may_recommend(social: Social) -> None:
    company = await social.company()
    stranger = await social.citizen()
    refused = await social.recommend(stranger, company)
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("not-eligible-to-recommend")

    await social.open_account(company, stranger)
    accepted = await social.recommend(stranger, company, zone="u09tv")
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["zone"] == "u09tv"


async def test_a_requested_but_not_accepted_account_is_not_enough(social: Social) -> None:
    company = await social.company()
    citizen = await social.citizen()
    asked = await social.client.post(
        f"/api/v1/sesames/{citizen.sesame_id}/company-accounts", headers=company.headers
    )
    assert asked.status_code == 201
    assert (await social.recommend(citizen, company)).status_code == 403


async def test_closing_the_account_keeps_a_given_recommendation_but_blocks_new_ones(social: Social) -> None:
    company = await social.company()
    citizen = await social.citizen()
    account_id = await social.open_account(company, citizen)
    assert (await social.recommend(citizen, company)).status_code == 201
    closed = await social.client.post(
        f"/api/v1/vault/company-accounts/{account_id}/close", headers=citizen.headers
    )
    assert closed.status_code == 200, closed.text
    mine = await social.client.get(
        f"/api/v1/companies/{company.company_id}/recommendations/mine", headers=citizen.headers
    )
    assert mine.status_code == 200
    assert (await social.recommend(citizen, company, recommend=False)).status_code == 403


async def test_roles_and_absent_companies(social: Social) -> None:
    company = await social.company()
    other_company = await social.company()
    anonymous = await social.client.put(
        f"/api/v1/companies/{company.company_id}/recommendations/mine", json={"recommend": True}
    )
    assert anonymous.status_code == 401
    as_company = await social.recommend(other_company, company)
    assert as_company.status_code == 403
    citizen = await social.citizen()
    for missing in (999_999, 2**40):
        absent = await social.client.put(
            f"/api/v1/companies/{missing}/recommendations/mine",
            json={"recommend": True},
            headers=citizen.headers,
        )
        assert absent.status_code == 404, absent.text
        summary = await social.client.get(f"/api/v1/companies/{missing}/recommendations/summary")
        assert summary.status_code == 404


async def test_one_recommendation_per_citizen_and_company_updated_in_place(social: Social) -> None:
    company = await social.company()
    (citizen,) = await social.customers(company, 1)
    first = await social.recommend(
        citizen, company, criteria={"quality": True, "service": False}, text="Bon pain", zone="u09tv"
    )
    assert first.status_code == 201, first.text
    second = await social.recommend(citizen, company, recommend=False, criteria={"financial": False})
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["recommend"] is False
    assert body["criteria"] == {
        "financial": False,
        "ethical": None,
        "quality": None,
        "commercial": None,
        "service": None,
    }
    assert body["zone"] is None and body["text"] is None
    assert body["created_at"] == first.json()["created_at"]
    listed = await social.client.get("/api/v1/vault/recommendations", headers=citizen.headers)
    assert [r["company_id"] for r in listed.json()] == [company.company_id]


async def test_zone_precision_and_alphabet_are_enforced(social: Social) -> None:
    company = await social.company()
    (citizen,) = await social.customers(company, 1)
    for bad in ("u09t", "u09tvw", "u09tvwxyz12", "u09ta", "u09ti", "u09tl", "u09to", "u09t-"):
        response = await social.recommend(citizen, company, zone=bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["field"] == "body.zone"
    upper = await social.recommend(citizen, company, zone="U09TV")
    assert upper.status_code == 201 and upper.json()["zone"] == "u09tv"


async def test_text_is_short_and_clean(social: Social) -> None:
    company = await social.company()
    (citizen,) = await social.customers(company, 1)
    too_long = await social.recommend(citizen, company, text="x" * 281)
    assert too_long.status_code == 422
    control = await social.recommend(citizen, company, text="bien\x00")
    assert control.status_code == 422
    fine = await social.recommend(citizen, company, text="  très   bien  ")
    assert fine.status_code == 201 and fine.json()["text"] == "très bien"
    unknown_criterion = await social.recommend(citizen, company, criteria={"taste": True})
    assert unknown_criterion.status_code == 422


async def test_own_recommendation_is_private_and_withdrawable(social: Social) -> None:
    company = await social.company()
    author, other = await social.customers(company, 2)
    assert (await social.recommend(author, company, text="only for me")).status_code == 201
    path = f"/api/v1/companies/{company.company_id}/recommendations/mine"
    assert (await social.client.get(path, headers=other.headers)).status_code == 404
    assert (await social.client.delete(path, headers=other.headers)).status_code == 404
    assert (await social.client.delete(path, headers=author.headers)).status_code == 204
    assert (await social.client.get(path, headers=author.headers)).status_code == 404
    summary = (
        await social.client.get(f"/api/v1/companies/{company.company_id}/recommendations/summary")
    ).json()
    assert "only for me" not in str(summary)


async def test_summary_at_the_k_boundary(social: Social) -> None:
    k = social.k
    company = await social.company()
    customers = await social.customers(company, k)
    for i, citizen in enumerate(customers[:-1]):
        response = await social.recommend(citizen, company, recommend=i % 2 == 0, criteria={"quality": True})
        assert response.status_code == 201
    path = f"/api/v1/companies/{company.company_id}/recommendations/summary"
    hidden = (await social.client.get(path)).json()
    assert hidden["published"] is False and hidden["fewer_than_k"] is True
    assert hidden["citizens"] is None and hidden["recommend"] is None and hidden["trend"] == []
    assert (await social.recommend(customers[-1], company, recommend=True)).status_code == 201
    shown = (await social.client.get(path)).json()
    assert shown["published"] is True and shown["citizens"] == k and shown["k"] == k
    yes = sum(1 for i in range(k - 1) if i % 2 == 0) + 1
    assert shown["recommend"] == {"yes": yes, "no": k - yes, "ratio": round(yes / k, 4)}
    assert shown["criteria"]["quality"] == {"yes": k - 1, "no": 0, "ratio": 1.0}
    assert shown["criteria"]["ethical"] == {"yes": 0, "no": 0, "ratio": None}
    assert [p["citizens"] for p in shown["trend"]] == [k]


async def test_summary_service_for_other_packages(social: Social) -> None:
    from company_profiles.recommendations.services import recommendation_summaries, recommendation_summary

    company = await social.company()
    async with social.session() as session:
        summary = await recommendation_summary(session, company.company_id or 0, k=social.k)
        assert summary.company_id == company.company_id and summary.fewer_than_k
        many = await recommendation_summaries(session, [company.company_id or 0, 123456], k=social.k)
        assert set(many) == {company.company_id, 123456}


async def test_a_confirmed_checkout_makes_a_customer_even_after_the_account_closes(social: Social) -> None:
    company = await social.company()
    citizen = await social.citizen()
    account_id = await social.open_account(company, citizen)
    contactless = await social.client.put(
        "/api/v1/vault/settings", json={"contactless": True}, headers=citizen.headers
    )
    assert contactless.status_code == 200, contactless.text
    till = await social.client.post("/api/v1/tills", json={"name": "Caisse 1"}, headers=company.headers)
    assert till.status_code == 201, till.text
    started = await social.client.post(
        "/api/v1/checkouts",
        json={
            "sesame_id": citizen.sesame_id,
            "items": [{"gtin": "3017620422003", "quantity": 1}],
            "amount": "4.20",
            "currency": "EUR",
        },
        headers={"Authorization": f"Bearer {till.json()['api_key']}", "Idempotency-Key": "reco-1"},
    )
    assert started.status_code in (200, 201), started.text
    checkout_id = started.json()["id"]
    decided = await social.client.post(
        f"/api/v1/vault/checkouts/{checkout_id}/decision", json={"confirm": True}, headers=citizen.headers
    )
    assert decided.status_code == 200, decided.text
    closed = await social.client.post(
        f"/api/v1/vault/company-accounts/{account_id}/close", headers=citizen.headers
    )
    assert closed.status_code == 200, closed.text
    response = await social.recommend(citizen, company, criteria={"service": True})
    assert response.status_code == 201, response.text


async def test_open_data_carries_recommendation_summaries(social: Social) -> None:
    """Issue 8.5: each open-data record carries its company's recommendation summary, k-anonymous."""
    import json

    shown, hidden = await social.company(), await social.company()
    for citizen in await social.customers(shown, social.k):
        assert (await social.recommend(citizen, shown)).status_code == 201
    for citizen in await social.customers(hidden, social.k - 1):
        assert (await social.recommend(citizen, hidden)).status_code == 201
    response = await social.client.get("/api/v1/open-data/companies", params={"format": "jsonl"})
    assert response.status_code == 200
    records = {r["company_id"]: r for r in map(json.loads, response.text.splitlines())}
    assert records[shown.company_id]["recommendations"]["citizens"] == social.k
    assert records[hidden.company_id]["recommendations"]["published"] is False
    assert records[hidden.company_id]["recommendations"]["citizens"] is None
