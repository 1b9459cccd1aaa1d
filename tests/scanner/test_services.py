"""Service functions other packages call: bulk import, ``card_for_gtin``, and the two read paths agreeing."""

from __future__ import annotations

import pytest

from scanner import services
from scanner.cards import SqliteReads
from scanner.errors import GtinTaken
from scanner.schemas import IdentityCard, ProductIn
from tests.scanner.conftest import Shop, identity_card, make_gtin


async def test_import_products_registers_a_catalogue_in_one_transaction(shop: Shop) -> None:
    owner = await shop.company()
    card = IdentityCard.model_validate(identity_card())
    products = [
        ProductIn(gtin=make_gtin(30_000 + i), name=f"Import {i}", identity_card=card) for i in range(5)
    ]
    async with shop.session() as session:
        indexes = await services.import_products(session, company_id=owner.company_id, products=products)
    assert len(indexes) == 5 and all(isinstance(i, int) for i in indexes)
    listed = (await shop.client.get(f"/api/v1/companies/{owner.company_id}/products")).json()
    assert listed["total"] == 5
    entry = (await shop.client.get(f"/api/v1/ledger/entries/{indexes[2]}")).json()
    assert entry["kind"] == "product.registered" and entry["payload"]["gtin"] == make_gtin(30_002)

    other = await shop.company()
    async with shop.session() as session:
        with pytest.raises(GtinTaken):
            await services.import_products(session, company_id=other.company_id, products=products[:1])
        with pytest.raises(GtinTaken):
            twice = [ProductIn(gtin=make_gtin(31_000), name="x"), ProductIn(gtin=make_gtin(31_000), name="y")]
            await services.import_products(session, company_id=other.company_id, products=twice)


async def test_card_for_gtin_is_the_card_the_api_serves(shop: Shop) -> None:
    owner = await shop.company()
    await shop.file(owner, {"employee_satisfaction": {"value": 64, "unit": "%"}})
    created = await shop.product(owner)
    served = (await shop.client.get(f"/api/v1/products/{created['gtin']}")).json()
    async with shop.session() as session:
        card = await services.card_for_gtin(session, created["gtin"][1:], public_url="http://sesame.test")
        assert (
            await services.card_for_gtin(session, make_gtin(39_999), public_url="http://sesame.test") is None
        )
        assert await services.card_for_gtin(session, "not a gtin", public_url="http://sesame.test") is None
    assert card == served


async def test_synchronous_sqlite_reads_build_the_same_product_part(shop: Shop) -> None:
    owner = await shop.company()
    created = await shop.product(owner, variants=[make_gtin(32_002)])
    settings = shop.app.state.settings
    if not settings.is_sqlite:
        pytest.skip("synchronous reads are SQLite's")
    reads = SqliteReads(settings.database_url.split(":///", 1)[1])
    try:
        for gtin in (created["gtin"], make_gtin(32_002)):
            async with shop.session() as session:
                expected = await services.product_part(session, gtin, public_url=settings.public_url)
            rows = reads.rows(services.PRODUCT_PART_SQL, {"gtin": gtin})
            assert rows
            assert services.product_part_from_row(rows[0], gtin, public_url=settings.public_url) == expected
    finally:
        reads.close()
