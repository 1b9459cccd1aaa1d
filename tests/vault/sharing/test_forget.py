"""Erasure: ``forget_citizen`` of both packages leaves nothing of a citizen's social data behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select

from company_profiles.recommendations import services as recommendations
from company_profiles.recommendations.models import Recommendation
from tests.company_profiles.recommendations.social import Social
from vault.sharing import services
from vault.sharing.models import (
    CompanyMute,
    Dossier,
    DossierShare,
    OfferDelivery,
    OfferPreference,
    SegmentOptIn,
)


async def test_forget_citizen_removes_dossiers_shares_segments_offers_and_recommendations(
    social: Social,
) -> None:
    shop = await social.company()
    leaving, staying = await social.customers(shop, 2)
    headers = leaving.headers
    assert (await social.recommend(leaving, shop, zone="u09tv")).status_code == 201
    dossier = (
        await social.client.post("/api/v1/vault/dossiers", json={"title": "à effacer"}, headers=headers)
    ).json()
    shares = f"/api/v1/vault/dossiers/{dossier['id']}/shares"
    assert (
        await social.client.post(shares, json={"sesame_id": staying.sesame_id}, headers=headers)
    ).status_code == 201
    staying_dossier = (
        await social.client.post("/api/v1/vault/dossiers", json={"title": "reste"}, headers=staying.headers)
    ).json()
    back = f"/api/v1/vault/dossiers/{staying_dossier['id']}/shares"
    assert (
        await social.client.post(back, json={"sesame_id": leaving.sesame_id}, headers=staying.headers)
    ).status_code == 201
    for citizen in (leaving, staying):
        put = await social.client.put(
            "/api/v1/vault/segments", json={"segments": ["books"], "zone": "u09tv"}, headers=citizen.headers
        )
        assert put.status_code == 200
    assert (
        await social.client.put(f"/api/v1/vault/offers/mutes/{shop.company_id}", headers=headers)
    ).status_code == 204
    assert (
        await social.client.delete(f"/api/v1/vault/offers/mutes/{shop.company_id}", headers=headers)
    ).status_code == 204
    offer = await social.client.post(
        "/api/v1/offers",
        json={
            "segment": "books",
            "title": "Rentrée littéraire",
            "body": "-5 %",
            "valid_until": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        },
        headers=shop.headers,
    )
    assert offer.status_code == 201
    await social.client.put(f"/api/v1/vault/offers/mutes/{shop.company_id}", headers=headers)

    async with social.session() as session:
        await services.forget_citizen(session, leaving.account_id)
        await recommendations.forget_citizen(session, leaving.account_id)
        await session.commit()
        for model, column in (
            (Recommendation, Recommendation.citizen_id),
            (Dossier, Dossier.owner_id),
            (DossierShare, DossierShare.recipient_id),
            (SegmentOptIn, SegmentOptIn.citizen_id),
            (OfferPreference, OfferPreference.citizen_id),
            (CompanyMute, CompanyMute.citizen_id),
            (OfferDelivery, OfferDelivery.citizen_id),
        ):
            left = await session.scalar(
                select(func.count()).select_from(model).where(col(column) == leaving.account_id)
            )
            assert left == 0, model.__tablename__
        shares_of_erased = await session.scalar(
            select(func.count())
            .select_from(DossierShare)
            .where(col(DossierShare.dossier_id) == dossier["id"])
        )
        assert shares_of_erased == 0
        # The other citizen keeps their own things.
        assert [d.title for d in await services.list_dossiers(session, owner_id=staying.account_id)] == [
            "reste"
        ]
        assert len(await services.received_offers(session, citizen_id=staying.account_id)) == 1
