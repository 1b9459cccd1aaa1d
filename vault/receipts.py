"""Group commit of access receipts: concurrent company reads share one transaction.

Every read writes a receipt, and a granted one a ledger leaf with a signed checkpoint. Done one transaction
per read, the writes queue on the database's write lock (SQLite has one per file; the ledger has one append
lock everywhere) and throughput collapses under load. Here a read hands its receipt to the queue of its
process and waits: whatever arrived while the previous batch was committing goes into the next one, with a
single ledger append and a single checkpoint signature. A read still answers only after its receipt and leaf
are committed, so nothing is acknowledged that could be lost, and a failed batch fails every read in it.

On a SQLite file a batch is one transaction run whole in a worker thread (``sesame.db.SqliteWrites``): one
hand-off for the batch instead of several per statement through aiosqlite. PostgreSQL uses the async session.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from sesame import transparency
from sesame.db import sqlite_writes, write_turn
from vault.models import AccessReceipt, Vault

__all__ = ["PendingReceipt", "write"]

MAX_BATCH = 512


@dataclass(slots=True)
class PendingReceipt:
    """A receipt's row (``AccessReceipt`` columns); ``salt`` and ``committed`` set for a ledger leaf."""

    kind: str
    row: dict[str, Any]
    salt: bytes | None = None
    committed: dict[str, Any] | None = None
    future: asyncio.Future[int | None] = field(init=False)


class _ReceiptQueue:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._sqlite = sqlite_writes(engine)
        self._pending: list[PendingReceipt] = []
        self._draining: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()

    async def write(self, item: PendingReceipt) -> int | None:
        item.future = self.loop.create_future()
        self._pending.append(item)
        if self._draining is None or self._draining.done():
            self._draining = self.loop.create_task(self._drain())
        return await item.future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                indexes = await self._commit(batch)
            except BaseException as exc:  # every reader in the batch learns it failed
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for item, index in zip(batch, indexes, strict=True):
                if not item.future.done():
                    item.future.set_result(index)

    async def _commit(self, batch: list[PendingReceipt]) -> list[int | None]:
        if self._sqlite is not None:  # the whole batch in one thread hand-off
            return await self._sqlite.run(lambda conn: _write_batch_sqlite(conn, batch))
        async with self._sessions() as session, write_turn(session):
            try:
                return await _write_batch(session, batch)
            finally:
                if session.in_transaction():
                    await session.rollback()


async def _write_batch(session: AsyncSession, batch: list[PendingReceipt]) -> list[int | None]:
    """One transaction for the batch. A receipt whose vault was erased meanwhile is dropped, never stored.

    The check must see every erasure that commits before this batch does. On PostgreSQL the live vault rows
    are share-locked first (erasure locks its row first too, then the ledger: the same order, so no deadlock);
    on SQLite (an in-memory database here: files go through ``_write_batch_sqlite``) the ledger append comes
    first, taking the database's single write lock, then the check.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        live = await _live_vaults(session, batch, lock=True)
    ledgered = _ledgered(batch)
    if postgres:
        ledgered = [item for item in ledgered if item.row["vault_id"] in live]
    indexes = await transparency.record_private_many(session, _events(ledgered))
    if not postgres:
        live = await _live_vaults(session, batch, lock=False)
    by_item = {id(item): index for item, index in zip(ledgered, indexes, strict=True)}
    rows = _rows(batch, live, by_item)
    if rows:  # a Core insert of the table: the ORM's bulk path adds nothing for plain rows
        await session.execute(insert(_RECEIPTS), rows)
    await session.commit()
    return [by_item.get(id(item)) for item in batch]


def _write_batch_sqlite(conn: Connection, batch: list[PendingReceipt]) -> list[int | None]:
    """The batch's transaction on SQLite (``SqliteWrites``: committed by the caller).

    The ledger append comes first, taking the database's single write lock, then the check for erased
    vaults: an erasure that committed before this batch took the lock is seen, and none can commit after.
    """
    ledgered = _ledgered(batch)
    indexes = transparency.record_private_many_sync(conn, _events(ledgered))
    live = {int(v) for v in conn.execute(_live_query(batch)).scalars()}
    by_item = {id(item): index for item, index in zip(ledgered, indexes, strict=True)}
    rows = _rows(batch, live, by_item)
    if rows:
        conn.execute(insert(_RECEIPTS), rows)
    return [by_item.get(id(item)) for item in batch]


_RECEIPTS = AccessReceipt.__table__  # type: ignore[attr-defined]


def _ledgered(batch: list[PendingReceipt]) -> list[PendingReceipt]:
    return [item for item in batch if item.salt is not None and item.committed is not None]


def _events(ledgered: list[PendingReceipt]) -> list[tuple[str, bytes, dict[str, Any]]]:
    return [(item.kind, item.salt, item.committed) for item in ledgered]  # type: ignore[misc]


def _rows(batch: list[PendingReceipt], live: set[int], by_item: dict[int, int]) -> list[dict[str, Any]]:
    """Receipt rows for the batch, with their ledger indexes; none for a vault erased meanwhile."""
    return [
        {**item.row, "ledger_index": by_item.get(id(item))} for item in batch if item.row["vault_id"] in live
    ]


async def _live_vaults(session: AsyncSession, batch: list[PendingReceipt], *, lock: bool) -> set[int]:
    query = _live_query(batch)
    if lock:
        query = query.with_for_update(read=True)
    return {int(v) for v in (await session.execute(query)).scalars()}


def _live_query(batch: list[PendingReceipt]) -> Select[Any]:
    """The ids of the batch's vaults that are not erased."""
    wanted = sorted({item.row["vault_id"] for item in batch})
    return select(col(Vault.id)).where(col(Vault.id).in_(wanted), col(Vault.erased_at).is_(None))


_queues: weakref.WeakKeyDictionary[AsyncEngine, _ReceiptQueue] = weakref.WeakKeyDictionary()


async def write(engine: AsyncEngine, item: PendingReceipt) -> int | None:
    """Commit one receipt (and its leaf) with whatever else is pending; returns its ledger index, if any."""
    queue = _queues.get(engine)
    if queue is None or queue.loop is not asyncio.get_running_loop():
        queue = _queues[engine] = _ReceiptQueue(engine)
    return await queue.write(item)
