"""Ledger benchmark: batched appends, then random proofs from SQL storage beside pymerkle's ``SqliteTree``.

Both trees hold the same leaves in the same run (pymerkle hashes RFC 6962 style too, so their roots must agree,
which the run checks). pymerkle keeps an in-process LRU cache of subtree roots, so its speed depends on how warm
that cache is; both ends are measured and reported: a freshly opened tree (every new worker, every restart)
and the same tree after it has already served the fresh run's proofs.

    python bench/bench_ledger.py                      # 1,000,000 leaves on SQLite
    python bench/bench_ledger.py --leaves 20000       # CI-sized
    python bench/bench_ledger.py --postgres           # storage on PostgreSQL (pymerkle stays on SQLite)

Prints a markdown table; writes ``var/bench/ledger.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from pymerkle import SqliteTree  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from ledger import merkle  # noqa: E402
from ledger.models import LEDGER_TABLES  # noqa: E402
from ledger.note import Ed25519Signer  # noqa: E402
from ledger.storage import LedgerStore  # noqa: E402

APPEND_BAR = 50_000
RATIO_BAR = 50
PG_ADMIN_URL = os.environ.get("SESAME_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def payloads(start: int, count: int) -> Iterator[bytes]:
    """Leaves shaped like real ones: RFC 8785 JSON of a civil-status disclosure, ~190 bytes."""
    for i in range(start, start + count):
        yield (
            b'{"company_id":%d,"digest":"%s","kind":"disclosure.filed",'
            b'"time":"2026-03-01T12:00:00.000000Z","v":1,"version":%d}'
            % (i // 7, hashlib.sha256(b"%d" % i).hexdigest().encode(), i % 7 + 1)
        )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """The kernel's settings (``sesame.db``), so the numbers are the product's."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@dataclass
class Workload:
    leaves: int
    inclusion: list[tuple[int, int]]  # (index, size), 0-based index
    consistency: list[tuple[int, int]]  # (size1, size2)


@dataclass
class Result:
    backend: str
    append_per_s: float = 0.0
    build_s: float = 0.0
    inclusion_per_s: float = 0.0
    consistency_per_s: float = 0.0
    max_inclusion: int = 0
    max_consistency: int = 0
    verify_all_s: float = 0.0
    root: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def make_workload(leaves: int, proofs: int, seed: int) -> Workload:
    rnd = random.Random(seed)
    inclusion = []
    for _ in range(proofs):
        size = rnd.randint(1, leaves)
        inclusion.append((rnd.randint(0, size - 1), size))
    consistency = []
    for _ in range(proofs):
        size2 = rnd.randint(2, leaves)
        consistency.append((rnd.randint(1, size2 - 1), size2))
    return Workload(leaves, inclusion, consistency)


async def run_storage(
    url: str, backend: str, work: Workload, batch: int, verify: bool, concurrency: int
) -> Result:
    engine: AsyncEngine = create_async_engine(url)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: SQLModel.metadata.create_all(sync, tables=list(LEDGER_TABLES)))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    store = LedgerStore()
    signer = Ed25519Signer(name="bench.sesame/ledger", private_key=Ed25519PrivateKey.generate())
    result = Result(backend=backend)

    # Each batch: its own transaction, append + a signed checkpoint of the new size + commit (durable).
    spent = 0.0
    for start in range(0, work.leaves, batch):
        entries = [("disclosure.filed", p) for p in payloads(start, min(batch, work.leaves - start))]
        t0 = time.perf_counter()
        async with sessions() as session:
            await store.append(session, entries, signer=signer)
            await session.commit()
        spent += time.perf_counter() - t0
    result.build_s = spent
    result.append_per_s = work.leaves / spent

    async with sessions() as session:
        result.root = (await store.root(session)).hex()
        t0 = time.perf_counter()
        for index, size in work.inclusion:
            proof = await store.inclusion_proof(session, index, size)
            result.max_inclusion = max(result.max_inclusion, len(proof))
        result.inclusion_per_s = len(work.inclusion) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for size1, size2 in work.consistency:
            proof = await store.consistency_proof(session, size1, size2)
            result.max_consistency = max(result.max_consistency, len(proof))
        result.consistency_per_s = len(work.consistency) / (time.perf_counter() - t0)

    # Warmed, as pymerkle's warmed row: the HTTP API serves proofs through a read-only node cache (complete
    # subtrees never change), so time the same proofs again after one untimed pass.
    cached_store = LedgerStore(cache_size=len(work.inclusion) * 64 + 1_000)
    async with sessions() as session:
        for kind, items in (("inclusion", work.inclusion), ("consistency", work.consistency)):
            prove = cached_store.consistency_proof if kind == "consistency" else cached_store.inclusion_proof
            for a, b in items:
                await prove(session, a, b, cached=True)
            t0 = time.perf_counter()
            for a, b in items:
                await prove(session, a, b, cached=True)
            result.extra[f"{kind}_per_s_warm"] = len(items) / (time.perf_counter() - t0)

    # A server answers proofs from several sessions at once (SQLite WAL readers run in parallel threads).
    async def serve(share: list[tuple[int, int]], consistency: bool) -> None:
        async with sessions() as session:
            for a, b in share:
                if consistency:
                    await store.consistency_proof(session, a, b)
                else:
                    await store.inclusion_proof(session, a, b)

    for kind, items in (("inclusion", work.inclusion), ("consistency", work.consistency)):
        t0 = time.perf_counter()
        await asyncio.gather(
            *(serve(items[c::concurrency], kind == "consistency") for c in range(concurrency))
        )
        result.extra[f"{kind}_per_s_concurrent"] = len(items) / (time.perf_counter() - t0)

    async with sessions() as session:
        # Spot-check that what was timed is right: proofs verify against roots the store computes.
        rnd = random.Random(1)
        for index, size in rnd.sample(work.inclusion, min(50, len(work.inclusion))):
            leaf = merkle.leaf_hash(next(payloads(index, 1)))
            proof = await store.inclusion_proof(session, index, size)
            merkle.verify_inclusion(leaf, index, size, proof, await store.root(session, size))
        for size1, size2 in rnd.sample(work.consistency, min(50, len(work.consistency))):
            proof = await store.consistency_proof(session, size1, size2)
            root1, root2 = await store.root(session, size1), await store.root(session, size2)
            merkle.verify_consistency(size1, size2, proof, root1, root2)

        if verify:
            t0 = time.perf_counter()
            report = await store.verify_all(session, [signer.verifier()])
            result.verify_all_s = time.perf_counter() - t0
            result.extra["verified_checkpoints"] = report.checkpoints
    await engine.dispose()
    return result


def run_pymerkle(path: str, work: Workload, fresh_proofs: int) -> tuple[Result, Result]:
    """pymerkle on the same leaves: build with its bulk ``append_entries``, then proofs on freshly opened
    trees (empty cache) and on a tree whose cache has already seen every proof (steady state)."""
    build = Result(backend="pymerkle SqliteTree")
    t0 = time.perf_counter()
    tree = SqliteTree(path)
    tree.append_entries(payloads(0, work.leaves))
    build.build_s = time.perf_counter() - t0
    build.append_per_s = work.leaves / build.build_s
    tree.close()

    # Fresh: a newly opened tree has an empty subroot cache, as in every new worker and after every restart.
    cold = build
    tree = SqliteTree(path)
    cold.root = tree.get_root().hex()
    tree.close()
    tree = SqliteTree(path)
    inclusion = work.inclusion[:fresh_proofs]
    t0 = time.perf_counter()
    for index, size in inclusion:
        proof = tree.prove_inclusion(index + 1, size)  # pymerkle counts leaves from one
        cold.max_inclusion = max(cold.max_inclusion, len(proof.path) - 1)  # its path includes the leaf
    cold.inclusion_per_s = len(inclusion) / (time.perf_counter() - t0)
    tree.close()
    tree = SqliteTree(path)
    consistency = work.consistency[:fresh_proofs]
    t0 = time.perf_counter()
    for size1, size2 in consistency:
        proof = tree.prove_consistency(size1, size2)
        cold.max_consistency = max(cold.max_consistency, len(proof.path))
    cold.consistency_per_s = len(consistency) / (time.perf_counter() - t0)

    # Warmed: one untimed pass over every proof first, then the same proofs timed: its steady state.
    warm = Result(backend="pymerkle SqliteTree, warmed")
    for index, size in work.inclusion:
        tree.prove_inclusion(index + 1, size)
    for size1, size2 in work.consistency:
        tree.prove_consistency(size1, size2)
    t0 = time.perf_counter()
    for index, size in work.inclusion:
        tree.prove_inclusion(index + 1, size)
    warm.inclusion_per_s = len(work.inclusion) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for size1, size2 in work.consistency:
        tree.prove_consistency(size1, size2)
    warm.consistency_per_s = len(work.consistency) / (time.perf_counter() - t0)
    warm.extra["cache"] = tree.get_cache_info()._asdict()
    tree.close()
    return cold, warm


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def fmt(value: float) -> str:
    return f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000, help="leaves per append transaction")
    parser.add_argument("--proofs", type=int, default=2_000, help="random proofs of each kind from storage")
    parser.add_argument("--pymerkle-proofs", type=int, default=200, help="proofs on the freshly opened tree")
    parser.add_argument("--postgres", action="store_true", help="also run the storage part on PostgreSQL")
    parser.add_argument("--no-verify", action="store_true", help="skip timing verify_all")
    parser.add_argument("--concurrency", type=int, default=8, help="sessions serving proofs at once")
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "ledger.json")
    args = parser.parse_args()

    work = make_workload(args.leaves, args.proofs, args.seed)
    fresh = min(args.pymerkle_proofs, args.proofs)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        print(
            f"Sésame storage on SQLite: {args.leaves:,} leaves in batches of {args.batch:,} ...", flush=True
        )
        url = f"sqlite+aiosqlite:///{tmp}/ledger.db"
        sesame = asyncio.run(
            run_storage(
                url, "Sésame LedgerStore, SQLite", work, args.batch, not args.no_verify, args.concurrency
            )
        )
        results.append(sesame)
        if args.postgres:
            name = f"sesame_bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
            try:
                print("Sésame storage on PostgreSQL ...", flush=True)
                pg_url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
                results.append(
                    asyncio.run(
                        run_storage(
                            pg_url,
                            "Sésame LedgerStore, PostgreSQL",
                            work,
                            args.batch,
                            False,
                            args.concurrency,
                        )
                    )
                )
            finally:
                asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        print("pymerkle SqliteTree on the same leaves ...", flush=True)
        cold, warm = run_pymerkle(f"{tmp}/pymerkle.db", work, fresh)

    if cold.root != sesame.root:
        raise SystemExit(f"roots differ: Sésame {sesame.root} vs pymerkle {cold.root}")
    log2n = math.ceil(math.log2(args.leaves)) if args.leaves > 1 else 0

    lines = [
        f"Ledger at {args.leaves:,} leaves ({platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}); proofs at random sizes and indexes; same leaves, same run.",
        "",
        "| measure | "
        + " | ".join(r.backend for r in results)
        + " | pymerkle, fresh tree | pymerkle, warmed "
        "cache | bar |",
        "| --- |" + " ---: |" * (len(results) + 2) + " --- |",
        "| batched appends, leaves/s (append + signed checkpoint + commit per batch) | "
        + " | ".join(fmt(r.append_per_s) for r in results)
        + f" | {fmt(cold.append_per_s)} (bulk `append_entries`) | | ≥ {APPEND_BAR:,} |",
        "| inclusion proofs/s | "
        + " | ".join(fmt(r.inclusion_per_s) for r in results)
        + f" | {cold.inclusion_per_s:,.1f} | {fmt(warm.inclusion_per_s)} | ≥ {RATIO_BAR}x pymerkle |",
        "| consistency proofs/s | "
        + " | ".join(fmt(r.consistency_per_s) for r in results)
        + f" | {cold.consistency_per_s:,.1f} | {fmt(warm.consistency_per_s)} | ≥ {RATIO_BAR}x pymerkle |",
    ]
    for kind in ("inclusion", "consistency"):
        lines.append(
            f"| {kind} proofs/s, {args.concurrency} sessions at once | "
            + " | ".join(fmt(r.extra[f"{kind}_per_s_concurrent"]) for r in results)
            + " | (one lock) | (one lock) | |"
        )
    for kind in ("inclusion", "consistency"):
        lines.append(
            f"| {kind} proofs/s, warmed node cache (as the HTTP API serves them) | "
            + " | ".join(fmt(r.extra[f"{kind}_per_s_warm"]) for r in results)
            + f" | | {fmt(getattr(warm, f'{kind}_per_s'))} | |"
        )
        lines.append(
            f"| {kind}: warmed vs pymerkle warmed | "
            + " | ".join(
                f"{r.extra[f'{kind}_per_s_warm'] / getattr(warm, f'{kind}_per_s'):,.0f}x" for r in results
            )
            + " | | | ≥ 50x |"
        )
    for kind in ("inclusion", "consistency"):
        ours = [getattr(r, f"{kind}_per_s") for r in results]
        lines.append(
            f"| {kind}: ratio to pymerkle fresh / warmed | "
            + " | ".join(
                f"{o / getattr(cold, f'{kind}_per_s'):,.0f}x / {o / getattr(warm, f'{kind}_per_s'):,.1f}x"
                for o in ours
            )
            + " | | | |"
        )
    lines += [
        "| max proof size, hashes: inclusion / consistency | "
        + " | ".join(f"{r.max_inclusion} / {r.max_consistency}" for r in results)
        + f" | {cold.max_inclusion} / {cold.max_consistency} | | ≤ ⌈log2 n⌉ = {log2n} / ⌈log2 n⌉ + 1 (RFC 9162) |",
    ]
    if sesame.verify_all_s:
        lines.append(
            f"| `verify_all` (every leaf, node, checkpoint), s | {sesame.verify_all_s:,.1f}"
            + " |" * (len(results) - 1)
            + " | | | |"
        )
    lines += [
        "",
        f"Storage proofs: {args.proofs:,} of each kind, sequential, one session. pymerkle fresh tree: the first "
        f"{fresh:,} of the same proofs on a newly opened `SqliteTree` (empty subroot cache, as in a new worker "
        f"or after a restart); warmed: all {args.proofs:,} again after one untimed pass over them (its steady "
        f"state, cache in process memory). Roots agree: {sesame.root[:16]}...",
    ]
    table = "\n".join(lines)
    print()
    print(table)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "leaves": args.leaves,
                "batch": args.batch,
                "proofs": args.proofs,
                "pymerkle_fresh_proofs": fresh,
                "ceil_log2_n": log2n,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "results": [r.__dict__ for r in [*results, cold, warm]],
                "bars": {
                    "append_per_s": APPEND_BAR,
                    "proof_ratio": RATIO_BAR,
                    "append_met": sesame.append_per_s >= APPEND_BAR,
                    "inclusion_ratio_fresh": sesame.inclusion_per_s / cold.inclusion_per_s,
                    "inclusion_ratio_warm": sesame.inclusion_per_s / warm.inclusion_per_s,
                    "consistency_ratio_fresh": sesame.consistency_per_s / cold.consistency_per_s,
                    "consistency_ratio_warm": sesame.consistency_per_s / warm.consistency_per_s,
                    "proof_size_met": sesame.max_inclusion <= log2n and sesame.max_consistency <= log2n + 1,
                },
                "table": table,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
