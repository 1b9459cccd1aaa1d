"""Reads on the event loop (``sesame.db.read_rows``): the same answers as the session, never a stale one."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import multiprocessing
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import col

from sesame.accounts.models import Account
from sesame.accounts.services import create_account
from sesame.db import (
    create_engine,
    create_sessionmaker,
    loop_reads,
    read_rows,
    sqlite_writes,
    write_turn,
    writer_gate,
)
from sesame.settings import Settings

_BY_ID = select(col(Account.email), col(Account.active)).where(col(Account.id) == bindparam("id"))


def _sqlite_settings(tmp_path: Path, name: str = "sesame.db") -> Settings:
    from sesame import migrate

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/{name}", key_dir=tmp_path / "keys")
    migrate.upgrade(settings)
    return settings


async def test_loop_reads_see_every_commit_and_fall_back_inside_a_transaction(tmp_path: Path) -> None:
    _, engine, factory = await _migrated(tmp_path)
    try:
        assert loop_reads(engine) is not None
        async with factory() as session:
            account = await create_account(
                session, kind="citizen", email="ana@example.org", password="p" * 12
            )
        async with factory() as session:
            assert [tuple(r) for r in await read_rows(session, _BY_ID, {"id": account.id})] == [
                ("ana@example.org", True)
            ]
            assert not session.in_transaction()  # answered on the loop, without the session
        async with factory() as session:
            await session.execute(update(Account).where(col(Account.id) == account.id).values(active=False))
            # Uncommitted: only the session knows, and read_rows must ask it.
            rows = await read_rows(session, _BY_ID, {"id": account.id})
            assert [tuple(r) for r in rows] == [("ana@example.org", False)]
            await session.commit()
        async with factory() as session:
            rows = await read_rows(session, _BY_ID, {"id": account.id})
            assert [tuple(r) for r in rows] == [("ana@example.org", False)]
    finally:
        await engine.dispose()


async def test_loop_reads_answer_exactly_what_the_session_answers(tmp_path: Path) -> None:
    """The loop runs each statement compiled once, straight on sqlite3, with the dialect's own converters:
    every type the hot paths read (text, integers, booleans, date-times, JSON, bytes, NULLs, labels, constant
    parameters) must come back as the session returns it, and what it cannot compile goes through SQLAlchemy."""
    import datetime as dt

    from vault.models import AccessReceipt, Vault

    _, engine, factory = await _migrated(tmp_path)
    try:
        async with factory() as session:
            account = await create_account(
                session, kind="verifier", email="types@example.org", password="p" * 12
            )  # not a citizen: with the vault package wired, a citizen's sign-up makes its vault itself
            vault = Vault(
                account_id=account.id or 0, sesame_id="s" * 24, kek_id="k1", wrapped_dek=b"\x00\xffdek"
            )
            session.add(vault)
            await session.flush()
            at = dt.datetime(2026, 12, 6, 3, 4, 5, 678901, tzinfo=dt.UTC)
            for outcome, fields in (("granted", ["email", "given_name"]), ("denied", [])):
                session.add(
                    AccessReceipt(
                        vault_id=vault.id or 0,
                        company_id=7,
                        outcome=outcome,
                        fields=fields,
                        grant_ids=[3],
                        at=at,
                        committed={"é": [1, None]} if fields else None,
                    )
                )
            await session.commit()
        statements: list[tuple[Any, dict[str, Any]]] = [
            (
                select(
                    col(Account.email),
                    col(Account.active),
                    col(Account.created_at),
                    col(Account.display_name),
                ).where(col(Account.id) == bindparam("id")),
                {"id": account.id},
            ),
            (
                select(
                    col(AccessReceipt.id).label("receipt"),
                    col(AccessReceipt.fields),
                    col(AccessReceipt.committed),
                    col(AccessReceipt.at),
                    col(Vault.wrapped_dek),
                )
                .join(Vault, col(Vault.id) == col(AccessReceipt.vault_id))
                .where(col(AccessReceipt.outcome) == "granted", col(AccessReceipt.at) <= bindparam("now"))
                .order_by(col(AccessReceipt.id)),
                {"now": dt.datetime(2027, 1, 1, tzinfo=dt.UTC)},
            ),
        ]
        reads = loop_reads(engine)
        assert reads is not None
        for statement, params in statements:
            on_loop = reads.rows(statement, params)
            async with factory() as session:
                expected = (await session.execute(statement, params)).all()
            assert on_loop is not None and expected
            assert [tuple(r) for r in on_loop] == [tuple(r) for r in expected]
            assert [type(v) for r in on_loop for v in r] == [type(v) for r in expected for v in r]
            keys = list(statement.selected_columns.keys())
            assert [[getattr(r, k) for k in keys] for r in on_loop] == [list(r) for r in expected]
        # An expanding IN is not compiled once: the loop declines it, and read_rows asks the session.
        expanding = select(col(Account.email)).where(col(Account.id).in_(bindparam("ids", expanding=True)))
        assert reads.rows(expanding, {"ids": [account.id, 999]}) is None
        async with factory() as session:
            rows = await read_rows(session, expanding, {"ids": [account.id, 999]})
            assert [tuple(r) for r in rows] == [("types@example.org",)]
        # An unlabelled filtered aggregate is named ``_no_label``, which a row class cannot take: declined too.
        unlabelled = select(func.count().filter(col(Account.id) > 0)).select_from(Account)
        assert reads.rows(unlabelled) is None
        async with factory() as session:
            assert [tuple(r) for r in await read_rows(session, unlabelled)] == [(1,)]
    finally:
        await engine.dispose()


async def test_a_replaced_database_file_is_read_afresh(tmp_path: Path) -> None:
    """A restore swaps the file under a running server: the loop's connection follows the new file."""
    database, engine, factory = await _migrated(tmp_path)
    try:
        async with factory() as session:
            first = await create_account(
                session, kind="citizen", email="before@example.org", password="p" * 12
            )
        await engine.dispose()  # folds the WAL into the file, so the copy below is whole
        backup = tmp_path / "backup.db"
        shutil.copyfile(database, backup)
        async with factory() as session:
            await session.execute(text("UPDATE accounts SET email = 'after@example.org'"))
            await session.commit()
        async with factory() as session:
            rows = await read_rows(session, _BY_ID, {"id": first.id})
            assert rows[0][0] == "after@example.org"
        await engine.dispose()
        _restore(backup, database)
        async with factory() as session:
            rows = await read_rows(session, _BY_ID, {"id": first.id})
            assert rows[0][0] == "before@example.org"
    finally:
        await engine.dispose()


async def test_disposing_the_engine_closes_the_loop_connection_so_the_wal_is_folded_back(
    tmp_path: Path,
) -> None:
    database, engine, factory = await _migrated(tmp_path)
    async with factory() as session:
        account = await create_account(session, kind="citizen", email="wal@example.org", password="p" * 12)
    async with factory() as session:
        assert await read_rows(session, _BY_ID, {"id": account.id})
    await engine.dispose()
    # The last connection to close checkpoints the WAL and removes it: a copy of the file alone is complete.
    assert not _exists(f"{database}-wal")


async def _migrated(tmp_path: Path) -> tuple[Path, AsyncEngine, async_sessionmaker[AsyncSession]]:
    """A migrated SQLite file: its path, an engine on it and a session factory."""
    settings = await _off_loop_settings(tmp_path)
    engine = create_engine(settings)
    return Path(settings.database_url.split(":///", 1)[1]), engine, create_sessionmaker(engine)


async def _off_loop_settings(tmp_path: Path) -> Settings:
    from tests.conftest import off_loop

    return off_loop(_sqlite_settings, tmp_path)


def _restore(backup: Path, database: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    os.replace(backup, database)


def _exists(path: str) -> bool:
    return Path(path).exists()


# -- whole write transactions in one thread hand-off -------------------------------------------------------------
async def test_sqlite_writes_commit_whole_or_not_at_all_and_follow_a_restored_file(tmp_path: Path) -> None:
    from sqlalchemy import Connection

    database, engine, factory = await _migrated(tmp_path)
    try:
        writes = sqlite_writes(engine)
        assert writes is not None and sqlite_writes(engine) is writes
        async with factory() as session:
            account = await create_account(session, kind="citizen", email="w@example.org", password="p" * 12)

        def rename(conn: Connection, email: str, fail: bool) -> int:
            conn.execute(update(Account).where(col(Account.id) == account.id).values(email=email))
            if fail:
                raise ValueError("changed my mind")
            return 7

        assert await writes.run(lambda conn: rename(conn, "one@example.org", False)) == 7
        with pytest.raises(ValueError, match="changed my mind"):
            await writes.run(lambda conn: rename(conn, "two@example.org", True))
        async with factory() as session:  # committed, then rolled back: the session sees exactly the first
            assert [tuple(r) for r in await read_rows(session, _BY_ID, {"id": account.id})] == [
                ("one@example.org", True)
            ]
        # A restore under the running server (its connections stay open): the next write must land in the
        # restored file, not in the replaced one that only the old connection still sees.
        backup = tmp_path / "backup.db"
        with sqlite3.connect(database) as source, sqlite3.connect(backup) as copy:
            source.backup(copy)
        _restore(backup, database)
        await writes.run(lambda conn: rename(conn, "three@example.org", False))
        with contextlib.closing(sqlite3.connect(database)) as fresh:
            assert fresh.execute("SELECT email FROM accounts").fetchall() == [("three@example.org",)]
    finally:
        await engine.dispose()


async def test_sqlite_writes_wait_for_the_writer_gate(tmp_path: Path) -> None:
    settings = await _off_loop_settings(tmp_path)
    engine = create_engine(settings)
    try:
        writes = sqlite_writes(engine)
        assert writes is not None
        async with writer_gate(engine):
            task = asyncio.create_task(writes.run(lambda conn: conn.exec_driver_sql("SELECT 1").scalar()))
            await asyncio.sleep(0.1)
            assert not task.done()  # queued behind the gate's holder
        assert await asyncio.wait_for(task, 10) == 1
        assert sqlite_writes(create_engine(Settings(database_url="sqlite+aiosqlite:///:memory:"))) is None
    finally:
        await engine.dispose()


# -- the SQLite writer gate -------------------------------------------------------------------------------------
def _hold_gate_lock(path: str, held: Any, release: Any) -> None:
    """In another process: hold the gate's kernel lock until told to let go."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    held.set()
    release.wait(30)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


async def test_the_writer_gate_lets_one_writer_in_at_a_time_within_a_process(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/sesame.db"))
    try:
        gate = writer_gate(engine)
        assert writer_gate(engine) is gate  # one per engine and process
        inside: list[str] = []
        overlaps: list[tuple[str, ...]] = []

        async def write(name: str) -> None:
            async with gate:
                inside.append(name)
                overlaps.append(tuple(inside))
                await asyncio.sleep(0.01)
                inside.remove(name)

        await asyncio.gather(*(write(f"w{i}") for i in range(5)))
        assert overlaps == [(f"w{i}",) for i in range(5)]  # never two inside, and in arrival order
        assert (tmp_path / "sesame.db.writer-lock").exists()
    finally:
        await engine.dispose()


async def test_the_writer_gate_waits_for_a_writer_in_another_process(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/sesame.db"))
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    other = context.Process(
        target=_hold_gate_lock, args=(str(tmp_path / "sesame.db.writer-lock"), held, release)
    )
    other.start()
    try:
        assert await asyncio.to_thread(held.wait, 30)
        entered = asyncio.Event()

        async def write() -> None:
            async with writer_gate(engine):
                entered.set()

        task = asyncio.create_task(write())
        await asyncio.sleep(0.2)
        assert not entered.is_set()  # the other process holds it
        release.set()
        await asyncio.wait_for(task, 10)
        assert entered.is_set()
    finally:
        release.set()
        other.join(10)
        await engine.dispose()


async def test_the_writer_gate_is_a_no_op_where_sqlite_has_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    monkeypatch.chdir(tmp_path)  # a lock file, if one were made, would land here
    try:
        gate = writer_gate(engine)

        async def reenter() -> None:
            async with gate, gate:  # a real gate would wait for itself here
                pass

        await asyncio.wait_for(reenter(), 2)
        assert os.listdir(tmp_path) == []
    finally:
        await engine.dispose()


async def test_write_turns_never_deadlock_on_the_connection_pool(tmp_path: Path) -> None:
    """Sessions that read (holding a pooled connection) and then queue for a turn, beside sessions that queue
    fresh: with two connections for eight writers, a turn holder never waits for a connection a queued session
    holds (it took its connection before queueing), so every write commits, in well under the pool timeout."""
    url = f"sqlite+aiosqlite:///{tmp_path}/sesame.db"
    engine = create_async_engine(url, pool_size=2, max_overflow=0, pool_timeout=5)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE written (who TEXT NOT NULL)"))
        sessions = create_sessionmaker(engine)

        async def write(who: str, read_first: bool) -> None:
            async with sessions() as session:
                if read_first:
                    await session.execute(text("SELECT count(*) FROM written"))
                    await asyncio.sleep(0.01)  # the others pile up meanwhile
                async with write_turn(session):
                    await session.execute(text("INSERT INTO written (who) VALUES (:who)"), {"who": who})
                    await asyncio.sleep(0.01)
                    await session.commit()

        writers = [write(f"r{i}", True) for i in range(4)] + [write(f"f{i}", False) for i in range(4)]
        await asyncio.wait_for(asyncio.gather(*writers), 4)
        async with sessions() as session:
            who = set((await session.execute(text("SELECT who FROM written"))).scalars())
        assert who == {f"r{i}" for i in range(4)} | {f"f{i}" for i in range(4)}
    finally:
        await engine.dispose()
