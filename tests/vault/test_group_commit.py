"""The group commit of access receipts: concurrent reads, one receipt and one leaf each, failures shared."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from sesame import transparency
from tests.vault.conftest import FIVE_FIELDS, World
from vault import receipts, services
from vault.models import AccessReceipt


async def test_concurrent_reads_each_get_their_receipt_and_leaf(world: World) -> None:
    citizen = await world.citizen(FIVE_FIELDS)
    company = await world.company()
    account_id = await world.open_account(company, citizen)
    await world.grant(citizen, account_id, list(FIVE_FIELDS))
    before = len(await world.ledger_leaves())
    ring = world.app.state.keyring

    async def read_once() -> dict[str, Any]:
        async with world.session() as session:
            result = await services.read_granted_fields(
                session, ring, principal_id=company.account_id, sesame_id=citizen.sesame_id or ""
            )
            return result.fields

    results = await asyncio.gather(*[read_once() for _ in range(40)])
    assert all(r == FIVE_FIELDS for r in results)
    async with world.session() as session:
        rows = list(
            (await session.execute(select(AccessReceipt).where(AccessReceipt.outcome == "granted"))).scalars()
        )  # type: ignore[arg-type]
    assert len(rows) == 40
    indexes = [r.ledger_index for r in rows]
    assert len(set(indexes)) == 40 and all(i is not None and i >= before for i in indexes)
    leaves = await world.ledger_leaves()
    assert len(leaves) == before + 40
    for row in rows:
        assert row.salt is not None and row.committed is not None and row.ledger_index is not None
        leaf = json.loads(leaves[row.ledger_index])
        assert leaf["kind"] == "access.receipt"
        assert leaf["commitment"] == services.commitment_of(row.salt, row.committed)


async def test_a_failed_batch_fails_every_read_in_it_and_writes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    citizen = await world.citizen(FIVE_FIELDS)
    company = await world.company()
    account_id = await world.open_account(company, citizen)
    await world.grant(citizen, account_id, ["email"])
    ring = world.app.state.keyring

    async def broken(session: Any, events: Any) -> list[int]:
        raise RuntimeError("ledger unavailable")

    def broken_sync(conn: Any, events: Any) -> list[int]:
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(transparency, "record_private_many", broken)  # PostgreSQL's batches
    monkeypatch.setattr(transparency, "record_private_many_sync", broken_sync)  # SQLite files' batches

    async def read_once() -> None:
        async with world.session() as session:
            await services.read_granted_fields(
                session, ring, principal_id=company.account_id, sesame_id=citizen.sesame_id or ""
            )

    outcomes = await asyncio.gather(*[read_once() for _ in range(10)], return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    async with world.session() as session:
        count = await session.scalar(select(func.count()).select_from(AccessReceipt))
    assert count == 0
    monkeypatch.undo()
    async with world.session() as session:  # the queue recovers
        result = await services.read_granted_fields(
            session, ring, principal_id=company.account_id, sesame_id=citizen.sesame_id or ""
        )
    assert result.fields == {"email": FIVE_FIELDS["email"]}
    assert receipts.MAX_BATCH >= 64


async def test_reads_racing_an_erasure_leave_no_receipt_behind(world: World) -> None:
    citizen = await world.citizen(FIVE_FIELDS)
    company = await world.company()
    account_id = await world.open_account(company, citizen)
    await world.grant(citizen, account_id, list(FIVE_FIELDS))
    ring = world.app.state.keyring
    async with world.session() as session:
        vault = await services.vault_for_sesame_id(session, citizen.sesame_id or "")
    assert vault is not None

    async def read_once() -> None:
        async with world.session() as session:
            await services.read_granted_fields(
                session, ring, principal_id=company.account_id, sesame_id=citizen.sesame_id or ""
            )

    async def erase() -> None:
        await asyncio.sleep(0.01)
        async with world.session() as session:
            await services.erase_vault(session, account_id=citizen.account_id)

    await asyncio.gather(
        *[read_once() for _ in range(30)], erase(), *[read_once() for _ in range(30)], return_exceptions=True
    )
    async with world.session() as session:
        left = await session.scalar(
            select(func.count()).select_from(AccessReceipt).where(AccessReceipt.vault_id == vault.id)  # type: ignore[arg-type]
        )
        erased = await services.vault_for_sesame_id(session, citizen.sesame_id or "")
    assert erased is None
    assert left == 0
