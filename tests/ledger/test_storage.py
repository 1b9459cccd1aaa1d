"""SQL storage on SQLite and PostgreSQL: proofs against the naive root, checkpoints, tampering, crashes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ledger import merkle
from ledger._sql import subtree_rows
from ledger.checkpoint import CosignatureSigner, open_checkpoint, verify_cosignatures
from ledger.errors import CheckpointError, LedgerError, ProofError, TamperError, UnknownIndexError
from ledger.note import Ed25519Signer
from ledger.storage import LedgerStore
from tests.ledger.reference import ROOT, create_ledger_tables, event_payload, make_engine, naive_root

Sessions = async_sessionmaker[AsyncSession]
LOG = Ed25519Signer(
    name="sesame.test/ledger",
    private_key=Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"log").digest()),
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    await create_ledger_tables(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, expire_on_commit=False)


store = LedgerStore(verify_chunk=97)  # a small odd chunk, so chunk edges fall everywhere


async def append_range(sessions: Sessions, start: int, count: int, *, sign: bool = True) -> list[int]:
    async with sessions() as session:
        indexes = await store.append(
            session, [("test.event", event_payload(start + k)) for k in range(count)]
        )
        if sign:
            await store.sign_checkpoint(session, LOG)
        await session.commit()
    return indexes


async def build(sessions: Sessions, size: int, seed: int = 7) -> list[bytes]:
    """Append ``size`` leaves in batches of random sizes; return their leaf hashes."""
    rnd = random.Random(seed)
    done = 0
    while done < size:
        count = min(size - done, rnd.choice([1, 2, 3, 15, 16, 17, 31, 64, 100]))
        assert await append_range(sessions, done, count) == list(range(done, done + count))
        done += count
    return [merkle.leaf_hash(event_payload(i)) for i in range(size)]


async def test_append_entries_roots(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await store.size(session) == 0
        assert await store.root(session) == merkle.EMPTY_ROOT
        assert await store.append(session, []) == []
    hashes = await build(sessions, 300)
    async with sessions() as session:
        assert await store.size(session) == 300
        for size in range(0, 301, 7):
            assert await store.root(session, size) == naive_root(hashes[:size])
        entry = await store.entry(session, 123)
        assert entry.payload == event_payload(123)
        assert entry.leaf_hash == hashes[123]
        assert entry.kind == "test.event"
        with pytest.raises(UnknownIndexError):
            await store.entry(session, 300)
        with pytest.raises(UnknownIndexError):
            await store.root(session, 301)


@pytest.fixture
async def built(sessions: Sessions) -> list[bytes]:
    return await build(sessions, 700)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_stored_proofs_verify_against_naive_root(
    sessions: Sessions, built: list[bytes], data: st.DataObject
) -> None:
    size = data.draw(st.integers(1, len(built)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    first = data.draw(st.integers(1, size), label="first")
    root = naive_root(built[:size])
    async with sessions() as session:
        assert await store.root(session, size) == root
        proof = await store.inclusion_proof(session, index, size)
        assert len(proof) <= (size - 1).bit_length()
        merkle.verify_inclusion(built[index], index, size, proof, root)
        consistency = await store.consistency_proof(session, first, size)
        merkle.verify_consistency(first, size, consistency, naive_root(built[:first]), root)


async def test_proof_reads_are_logarithmic(sessions: Sessions, built: list[bytes]) -> None:
    size = len(built)
    async with sessions() as session:
        for index in (0, 345, size - 1):
            needed = merkle.inclusion_subtrees(index, size)
            keys = sorted({((e - s).bit_length() - 1, s >> ((e - s).bit_length() - 1)) for s, e in needed})
            stored = [k for k in keys if k[0] >= 4]
            blocks = {s >> 4 for s, e in needed if e - s < 16}
            rows = list(await subtree_rows(session, stored, [(b * 16, b * 16 + 15) for b in blocks]))
            assert len(stored) <= 2 * size.bit_length() and len(blocks) <= 2
            assert len(rows) <= 1 + len(stored) + 32


async def test_impossible_proofs(sessions: Sessions, built: list[bytes]) -> None:
    async with sessions() as session:
        with pytest.raises(ProofError):
            await store.inclusion_proof(session, 10, 10)
        with pytest.raises(UnknownIndexError):
            await store.inclusion_proof(session, 10, 701)
        with pytest.raises(ProofError):
            await store.consistency_proof(session, 0, 10)
        with pytest.raises(UnknownIndexError):
            await store.consistency_proof(session, 10, 701)
        with pytest.raises(UnknownIndexError):
            await store.consistency_proof(session, 701, 701)
        assert await store.consistency_proof(session, 700, 700) == []


async def test_checkpoints_and_cosignatures(sessions: Sessions) -> None:
    await build(sessions, 40)
    witness = CosignatureSigner.generate("witness.test/w1", clock=lambda: 1_700_000_000)
    async with sessions() as session:
        latest = await store.latest_checkpoint(session)
        assert latest is not None and latest.checkpoint.size == 40
        assert open_checkpoint(latest.note, LOG.verifier()) == latest.checkpoint
        assert latest.checkpoint.root_hash == await store.root(session, 40)
        again = await store.sign_checkpoint(session, LOG)  # same size: the stored one, not a new note
        assert again.note == latest.note
        with pytest.raises(CheckpointError, match="not a registered witness"):
            await store.add_cosignature(session, 40, witness.cosign(latest.note))
        await store.add_witness(session, witness.vkey)
        await store.add_witness(session, witness.vkey)  # idempotent
        rekeyed = CosignatureSigner.generate("witness.test/w1")
        with pytest.raises(CheckpointError, match="another key"):
            await store.add_witness(session, rekeyed.vkey)
        stamp = await store.add_cosignature(session, 40, witness.cosign(latest.note).line())
        assert stamp == 1_700_000_000
        stranger = CosignatureSigner.generate("witness.test/w1", clock=lambda: 1)
        with pytest.raises(CheckpointError, match="does not verify"):
            await store.add_cosignature(session, 40, stranger.cosign(latest.note))
        with pytest.raises(UnknownIndexError):
            await store.add_cosignature(session, 41, witness.cosign(latest.note))
        await session.commit()
    async with sessions() as session:
        served = await store.latest_checkpoint(session)
        assert served is not None and served.cosigners == ("witness.test/w1",)
        assert verify_cosignatures(served.note, [witness.verifier()]) == {"witness.test/w1": 1_700_000_000}
        assert open_checkpoint(served.note, LOG.verifier()).size == 40
        report = await store.verify_all(session, [LOG.verifier()])
        assert (report.size, report.cosignatures) == (40, 1)
        assert report.checkpoints == len(await _checkpoint_sizes(session))


async def _checkpoint_sizes(session: AsyncSession) -> list[int]:
    return list((await session.execute(text("SELECT size FROM ledger_checkpoints"))).scalars())


async def test_verify_all_reports_progress(sessions: Sessions) -> None:
    hashes = await build(sessions, 500)
    seen: list[tuple[int, int]] = []
    async with sessions() as session:
        report = await store.verify_all(session, [LOG.verifier()], progress=lambda d, t: seen.append((d, t)))
    assert report.root == naive_root(hashes)
    assert report.leaves == 500 and report.nodes == sum(500 >> lv for lv in range(4, 10))
    assert seen[-1] == (500, 500) and len(seen) == 6
    with pytest.raises(LedgerError):
        async with sessions() as session:
            await store.verify_all(session, [])
    async with sessions() as session:
        with pytest.raises(TamperError, match="checkpoint"):
            await store.verify_all(session, [Ed25519Signer.generate("sesame.test/ledger").verifier()])


TAMPERS = {
    "payload byte": (
        "UPDATE ledger_leaves SET payload = {replace_payload} WHERE idx = 200",
        ("leaf", 200, None),
    ),
    "leaf hash": ("UPDATE ledger_leaves SET leaf_hash = {zero_hash} WHERE idx = 321", ("leaf", 321, None)),
    "stored node": ("UPDATE ledger_nodes SET hash = {zero_hash} WHERE level = 5 AND idx = 3", ("node", 3, 5)),
    "missing node": ("DELETE FROM ledger_nodes WHERE level = 7 AND idx = 1", ("node", 1, 7)),
    "missing leaf": ("DELETE FROM ledger_leaves WHERE idx = 99", ("leaf", 99, None)),
    "checkpoint root": (
        "UPDATE ledger_checkpoints SET root_hash = {zero_hash} WHERE size = {cp}",
        ("checkpoint", "cp", None),
    ),
    "checkpoint note": (
        "UPDATE ledger_checkpoints SET note = replace(note, 'sesame.test/ledger\n', 'sesame.test/ledgeR\n') "
        "WHERE size = {cp}",
        ("checkpoint", "cp", None),
    ),
    "head size": ("UPDATE ledger_head SET size = size - 1", ("head", 399, None)),
}


@pytest.mark.parametrize("tamper", list(TAMPERS))
async def test_tampering_is_found_and_named(engine: AsyncEngine, sessions: Sessions, tamper: str) -> None:
    await build(sessions, 400)
    async with sessions() as session:
        await store.verify_all(session, [LOG.verifier()])
        sizes = sorted(await _checkpoint_sizes(session))
    cp = next(s for s in sizes if s > 250)
    sql, (item, index, level) = TAMPERS[tamper]
    zero_hash = "X'" + "00" * 32 + "'" if engine.dialect.name == "sqlite" else "'\\x" + "00" * 32 + "'::bytea"
    # Flip one byte of the payload: '"i":200' becomes '"i":201'.
    replace_payload = (
        "CAST(replace(CAST(payload AS TEXT), '\"i\":200', '\"i\":201') AS BLOB)"
        if engine.dialect.name == "sqlite"
        else "convert_to(replace(convert_from(payload, 'UTF8'), '\"i\":200', '\"i\":201'), 'UTF8')"
    )
    async with engine.begin() as conn:
        # Driver-level SQL: the JSON's ':' must not read as bind parameters.
        result = await conn.exec_driver_sql(
            sql.format(zero_hash=zero_hash, replace_payload=replace_payload, cp=cp)
        )
        assert result.rowcount == 1
    async with sessions() as session:
        with pytest.raises(TamperError) as caught:
            await store.verify_all(session, [LOG.verifier()])
    assert caught.value.item == item
    assert caught.value.index == (cp if index == "cp" else index)
    assert caught.value.level == level


async def test_tampered_cosignature_is_found(engine: AsyncEngine, sessions: Sessions) -> None:
    await build(sessions, 50)
    witness = CosignatureSigner.generate("witness.test/w1", clock=lambda: 1_700_000_000)
    async with sessions() as session:
        latest = await store.latest_checkpoint(session)
        assert latest is not None
        await store.add_witness(session, witness.vkey)
        await store.add_cosignature(session, latest.checkpoint.size, witness.cosign(latest.note))
        await session.commit()
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE ledger_cosignatures SET timestamp = timestamp + 1"))
    async with sessions() as session:
        with pytest.raises(TamperError) as caught:
            await store.verify_all(session, [LOG.verifier()])
    assert (caught.value.item, caught.value.index) == ("cosignature", 50)


async def test_concurrent_appenders_are_serialised(sessions: Sessions) -> None:
    async def writer(w: int) -> list[int]:
        got: list[int] = []
        for _ in range(8):
            async with sessions() as session:
                got += await store.append(session, [("test.event", b'{"w":%d}' % w)] * 5)
                await asyncio.sleep(0)  # let the others try to get in while we hold the lock
                await session.commit()
        return got

    results = await asyncio.gather(*(writer(w) for w in range(4)))
    indexes = sorted(i for r in results for i in r)
    assert indexes == list(range(160))
    async with sessions() as session:
        report = await store.verify_all(session, [LOG.verifier()])
        assert report.size == 160


async def test_rolled_back_append_leaves_no_trace(sessions: Sessions) -> None:
    await build(sessions, 30)
    async with sessions() as session:
        await store.append(session, [("test.event", b"never")] * 20)
        await session.rollback()
    assert await append_range(sessions, 30, 5) == [30, 31, 32, 33, 34]
    async with sessions() as session:
        assert (await store.verify_all(session, [LOG.verifier()])).size == 35


async def test_one_append_of_several_chunks_is_whole_and_in_order(sessions: Sessions) -> None:
    """Appends hash chunk k+1 while the database writes chunk k: the result is the same log."""
    from ledger.storage import _CHUNK

    await build(sessions, 5)
    count = 3 * _CHUNK + 17
    assert await append_range(sessions, 5, count) == list(range(5, 5 + count))
    hashes = [merkle.leaf_hash(event_payload(i)) for i in range(5 + count)]
    async with sessions() as session:
        root = await store.root(session)
        assert root == naive_root(hashes)
        for index in (0, 4, 5, _CHUNK + 4, _CHUNK + 5, 2 * _CHUNK + 5, 5 + count - 1):
            proof = await store.inclusion_proof(session, index, len(hashes))
            merkle.verify_inclusion(hashes[index], index, len(hashes), proof, root)
        assert (await store.verify_all(session, [LOG.verifier()])).size == len(hashes)


async def test_a_chunk_failing_mid_append_fails_the_whole_append(sessions: Sessions) -> None:
    """A real constraint violation in the second chunk: the append raises, nothing of it is committed."""
    from sqlalchemy.exc import IntegrityError

    from ledger.storage import _CHUNK

    await build(sessions, 10)
    async with sessions() as session:
        await session.execute(
            text(
                "INSERT INTO ledger_leaves (idx, leaf_hash, kind, payload, created_at) "
                "VALUES (:idx, :h, 'squatter', :p, CURRENT_TIMESTAMP)"
            ),
            {"idx": 10 + _CHUNK + 3, "h": b"\x00" * 32, "p": b"squatter"},
        )
        with pytest.raises(IntegrityError):
            await store.append(session, [("test.event", event_payload(10 + k)) for k in range(2 * _CHUNK)])
        await session.rollback()
    async with sessions() as session:
        assert await store.size(session) == 10
        count = (await session.execute(text("SELECT count(*) FROM ledger_leaves"))).scalar_one()
        assert count == 10
    assert await append_range(sessions, 10, 3) == [10, 11, 12]
    async with sessions() as session:
        assert (await store.verify_all(session, [LOG.verifier()])).size == 13


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, Engine]]:
    """An async engine and a stdlib-driver engine on one SQLite file (as ``sesame.db.SqliteWrites`` opens)."""
    from sqlalchemy import create_engine

    path = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await create_ledger_tables(engine)
    sync = create_engine(f"sqlite:///{path}", connect_args={"timeout": 10})
    yield engine, sync
    sync.dispose()
    await engine.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(st.tuples(st.booleans(), st.sampled_from([1, 2, 3, 15, 16, 17, 31, 64])), max_size=12)
)
async def test_sync_and_async_appends_build_one_log(
    sqlite_file: tuple[AsyncEngine, Engine], batches: list[tuple[bool, int]]
) -> None:
    """Batches appended through either path, in any mix, make the log the naive root says, with a verified
    checkpoint after each: the synchronous path writes exactly the rows and checkpoints the async one does."""
    engine, sync = sqlite_file
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:  # hypothesis runs every example on the same file: count from here
        done = await store.size(session)
        before = (await store.verify_all(session, [LOG.verifier()])).checkpoints
        for synchronous, count in batches:
            entries = [("test.event", event_payload(done + k)) for k in range(count)]
            if synchronous:
                with sync.begin() as conn:
                    indexes = store.append_sync(conn, entries, signer=LOG)
            else:
                async with sessions() as session:
                    indexes = await store.append(session, entries, signer=LOG)
                    await session.commit()
            assert indexes == list(range(done, done + count))
            done += count
        hashes = [merkle.leaf_hash(event_payload(i)) for i in range(done)]
        async with sessions() as session:
            assert await store.root(session) == naive_root(hashes)
            report = await store.verify_all(session, [LOG.verifier()])
            assert report.size == done
            assert report.checkpoints == before + len(batches)
            if done:
                latest = await store.latest_checkpoint(session)
                assert latest is not None and latest.checkpoint.root_hash == naive_root(hashes)


async def test_a_failing_sync_append_leaves_nothing(sqlite_file: tuple[AsyncEngine, Engine]) -> None:
    from sqlalchemy.exc import IntegrityError

    from ledger.storage import _CHUNK

    engine, sync = sqlite_file
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    await build(sessions, 10)
    with sync.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO ledger_leaves (idx, leaf_hash, kind, payload, created_at) "
            "VALUES (?, ?, 'squatter', ?, CURRENT_TIMESTAMP)",
            (10 + _CHUNK + 3, b"\x00" * 32, b"squatter"),
        )
    with pytest.raises(IntegrityError), sync.begin() as conn:  # the squatter sits in the second chunk
        store.append_sync(conn, [("test.event", event_payload(10 + k)) for k in range(2 * _CHUNK)])
    with sync.begin() as conn:
        kinds = conn.exec_driver_sql("SELECT kind, count(*) FROM ledger_leaves GROUP BY kind").all()
        assert sorted(kinds) == [("squatter", 1), ("test.event", 10)]  # no leaf of the failed append
        conn.exec_driver_sql("DELETE FROM ledger_leaves WHERE kind = 'squatter'")
    async with sessions() as session:
        assert await store.size(session) == 10
    assert await append_range(sessions, 10, 3) == [10, 11, 12]
    async with sessions() as session:
        assert (await store.verify_all(session, [LOG.verifier()])).size == 13


async def test_kill_9_during_appends_loses_no_acknowledged_entry(
    database_url: str, sessions: Sessions
) -> None:
    """The child prints an index only after its commit returned; SIGKILL it mid-stream, then reopen."""
    await build(sessions, 37)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.ledger.crash_child",
        database_url,
        LOG.skey(),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    acknowledged: list[int] = []
    stop_after = random.randint(500, 3000)  # a random moment, most likely mid-transaction
    deadline = time.monotonic() + 60
    try:
        while len(acknowledged) < stop_after and time.monotonic() < deadline:
            line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
            if not line:
                break
            acknowledged.append(int(line))
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert len(acknowledged) >= 300, "the child acknowledged too few entries before the deadline"
    async with sessions() as session:
        report = await store.verify_all(session, [LOG.verifier()])
        assert report.size >= acknowledged[-1] + 1
        for index in (acknowledged[0], *random.sample(acknowledged, 50), acknowledged[-1]):
            assert (await store.entry(session, index)).payload == event_payload(index)
        latest = await store.latest_checkpoint(session)
        assert latest is not None and latest.checkpoint.size >= acknowledged[-1] + 1
    assert acknowledged == list(range(37, 37 + len(acknowledged)))
