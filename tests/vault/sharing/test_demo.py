"""The social demo: zones shown and hidden, a dossier passed between two citizens, an offer."""

from __future__ import annotations

from sesame.db import create_sessionmaker
from tests.company_profiles.recommendations.social import Social
from vault.sharing import demo


async def test_seed_social_shows_some_zones_hides_others_and_is_idempotent(social: Social) -> None:
    for _ in range(3):
        await social.company()
    await social.company(attested=False)  # a company with gaps opens no account: left out
    camille = await social.account("citizen", display_name="Camille Durand")
    factory = create_sessionmaker(social.engine)
    settings = social.app.state.settings
    await demo.seed_social(factory, settings)
    await demo.seed_social(factory, settings)

    parents = {z["zone"]: z for z in (await social.client.get("/api/v1/zones?precision=4")).json()["zones"]}
    cells = {z["zone"]: z for z in (await social.client.get("/api/v1/zones?precision=5")).json()["zones"]}
    assert {"u09t", "u05k"} <= set(parents) and not {"u09w", "spey"} & set(parents)
    assert {"u09tv", "u09tu"} <= set(cells)
    assert not {"u09wj", "u05km", "spey6", "u05kq"} & set(cells), "u05kq is withheld along with u05km"
    assert parents["u09t"]["citizens"] == 13, "the second run added nobody"

    # The dossier went from one demo citizen to another (neighbours stand in for Camille and Karim here).
    async with social.session() as session:
        from vault.sharing import services

        first, second = demo._email(1), demo._email(2)
        ids = [await demo._account_id(session, email) for email in (first, second)]
        assert all(ids)
        inbox = await services.received_shares(session, recipient_id=ids[1] or 0)
        assert [s.title for s in inbox] == [demo.DOSSIER_TITLE]
        assert await services.list_dossiers(session, owner_id=camille.account_id) == []
        offers = await services.received_offers(session, citizen_id=ids[1] or 0)
        assert [o.title for o in offers] == [demo.OFFER_TITLE]
        muted = await services.received_offers(session, citizen_id=ids[0] or 0)
        assert muted == [], "the first neighbour muted the company"
