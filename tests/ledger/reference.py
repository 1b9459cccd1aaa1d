"""Ledger test helpers: where the published vectors live, and a naive reference tree."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel

from ledger.models import LEDGER_TABLES

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT.parent / "shared" / "vectors"
VECTORS_MISSING = f"published test vectors not found at {VECTORS} (CI always has ../shared/vectors)"


def naive_root(leaf_hashes: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, straight from the recursive definition: the reference every proof is held to."""
    n = len(leaf_hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_root(leaf_hashes[:k]) + naive_root(leaf_hashes[k:])).digest()


def make_leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest() for i in range(n)]


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """The kernel's SQLite settings (``sesame.db``): WAL, synchronous=NORMAL, a busy timeout."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
    return engine


async def create_ledger_tables(engine: AsyncEngine) -> None:
    """Only the ledger's tables: the lead generates the Alembic migrations."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: SQLModel.metadata.create_all(sync, tables=list(LEDGER_TABLES)))


def event_payload(i: int) -> bytes:
    """A deterministic leaf for index ``i``, so a reader can check the exact bytes."""
    return b'{"i":%d,"kind":"test.event","v":1}' % i
