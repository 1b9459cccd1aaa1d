"""The ledger over HTTP and the CLI: a third party checks a checkpoint, a leaf and its proof."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import merkle
from ledger.checkpoint import open_checkpoint
from ledger.note import Ed25519Verifier
from sesame import transparency
from sesame.settings import Settings


async def _append(session: AsyncSession, n: int) -> list[int]:
    indexes = await transparency.record_many(session, [("test.event", {"n": i}) for i in range(n)])
    await session.commit()
    return indexes


async def test_checkpoint_entry_and_proofs_verify_independently(
    client: AsyncTestClient[Litestar], db_session: AsyncSession
) -> None:
    empty = await client.get("/api/v1/ledger/checkpoint")
    assert empty.status_code == 200 and empty.headers["content-type"].startswith("text/plain")
    assert await _append(db_session, 5) == [0, 1, 2, 3, 4]
    await _append(db_session, 6)
    vkey = (await client.get("/api/v1/ledger/key")).text.strip()
    note = (await client.get("/api/v1/ledger/checkpoint")).text
    checkpoint = open_checkpoint(note, Ed25519Verifier.from_vkey(vkey))
    assert checkpoint.size == 11
    entry = (await client.get("/api/v1/ledger/entries/7")).json()
    data = base64.b64decode(entry["data"])
    assert entry["payload"]["kind"] == "test.event" and entry["payload"]["n"] == 2
    assert base64.b64decode(entry["leaf_hash"]) == merkle.leaf_hash(data)
    proof = (await client.get("/api/v1/ledger/proofs/inclusion", params={"index": 7, "size": 11})).json()
    merkle.verify_inclusion(
        merkle.leaf_hash(data), 7, 11, [base64.b64decode(h) for h in proof["proof"]], checkpoint.root_hash
    )
    older = (await client.get("/api/v1/ledger/proofs/consistency", params={"first": 5, "second": 11})).json()
    first_root = merkle.root_from_leaf_hashes(
        [
            base64.b64decode((await client.get(f"/api/v1/ledger/entries/{i}")).json()["leaf_hash"])
            for i in range(5)
        ]
    )
    merkle.verify_consistency(
        5, 11, [base64.b64decode(h) for h in older["proof"]], first_root, checkpoint.root_hash
    )


async def test_bad_ledger_queries_are_4xx(
    client: AsyncTestClient[Litestar], db_session: AsyncSession
) -> None:
    await _append(db_session, 3)
    assert (await client.get("/api/v1/ledger/entries/99")).status_code == 404
    assert (await client.get("/api/v1/ledger/entries/-1")).status_code in (404, 422)
    assert (
        await client.get("/api/v1/ledger/proofs/inclusion", params={"index": 5, "size": 3})
    ).status_code == 404
    assert (
        await client.get("/api/v1/ledger/proofs/inclusion", params={"index": 0, "size": 9})
    ).status_code == 404
    assert (await client.get("/api/v1/ledger/proofs/inclusion", params={"index": "x"})).status_code == 422
    bad = await client.get("/api/v1/ledger/proofs/consistency", params={"first": 3, "second": 2})
    assert bad.status_code == 422
    forged = await client.post("/api/v1/ledger/cosignatures", json={"signature": "— nobody AAAAAAAAAAAAAAAA"})
    assert 400 <= forged.status_code < 500


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SESAME_DATABASE_URL": settings.database_url,
        "SESAME_KEY_DIR": str(settings.key_dir),
        "SESAME_LEDGER_ORIGIN": settings.ledger_origin,
    }
    return subprocess.run(
        [sys.executable, "-m", "sesame.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


async def test_cli_verify_detects_one_changed_byte(
    app: Litestar, db_session: AsyncSession, migrated: Settings, tmp_path: Path
) -> None:
    if not migrated.database_url.startswith("sqlite"):
        return  # the tamper test edits the SQLite file directly; PostgreSQL tamper tests live in tests/ledger
    await _append(db_session, 40)
    await db_session.close()
    ok = _cli(migrated, "ledger", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "40 leaves" in ok.stdout
    prove = _cli(migrated, "ledger", "prove", "17")
    assert prove.returncode == 0 and '"index": 17' in prove.stdout
    db_path = migrated.database_url.split(":///", 1)[1]
    with sqlite3.connect(db_path) as conn:
        (payload,) = conn.execute("SELECT payload FROM ledger_leaves WHERE idx = 23").fetchone()
        changed = payload.replace(b'"n":', b'"m":', 1)
        conn.execute("UPDATE ledger_leaves SET payload = ? WHERE idx = 23", (changed,))
    bad = _cli(migrated, "ledger", "verify")
    assert bad.returncode == 1
    assert "leaf 23" in bad.stdout + bad.stderr
