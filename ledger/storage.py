"""The ledger in SQL (SQLite or PostgreSQL), on the caller's ``AsyncSession``.

The caller owns the transaction: a domain write and its ledger leaf commit together or not at all, and an
index is acknowledged only once the caller has committed.

Appends are serialised. On PostgreSQL the first statement is ``pg_advisory_xact_lock``; on SQLite it is a
write to the head row, which takes SQLite's single write lock (waiting up to ``busy_timeout``) *before* the size
is read, so the size read after it is the latest committed one. (With the stdlib driver's default deferred
transactions, earlier plain reads in the session are not part of a snapshot; if the engine starts explicit
transactions and the session has already read, a concurrent commit makes this write fail with "database is
locked" rather than fork the log: retry the transaction.)

Each append reads only the right edge of the tree (the <= log2(n) complete subtrees of ``[0, n)``), computes the
subtrees the new leaves complete, and bulk-inserts leaves and nodes. Proofs and roots read <= log2(n) stored
nodes and <= 2 blocks of 16 leaf hashes in one query (see ``ledger.models`` for the storage scheme).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import merkle
from ledger._sql import bulk_insert, sqlite_insert, sqlite_subtree_rows, subtree_rows
from ledger.checkpoint import Checkpoint, CosignatureVerifier
from ledger.checkpoint import sign_checkpoint as sign_checkpoint_note
from ledger.errors import CheckpointError, LedgerError, NoteError, TamperError, UnknownIndexError
from ledger.models import LOWEST_STORED_LEVEL, checkpoints, cosignatures, head, leaves, nodes, witnesses
from ledger.note import NoteSignature, Signer, Verifier, format_note, open_note, parse_note

__all__ = ["LedgerEntry", "LedgerStore", "Progress", "SignedCheckpoint", "VerifyReport"]

Progress = Callable[[int, int], None]
"""``progress(done, total)``: leaves verified so far, out of the log's size."""

_LOCK_KEY = 0x5345_5341_4D45_4C47  # "SESAMELG": the advisory lock every appender takes on PostgreSQL
_LOW = LOWEST_STORED_LEVEL
_MAX_KIND = 64

# The head row's statements, shared by the async and the synchronous append. On SQLite, touching the row takes the
# database's write lock before the size is read (see the module docstring).
_TOUCH_HEAD = update(head).where(head.c.id == 1).values(size=head.c.size)
_READ_SIZE = select(head.c.size).where(head.c.id == 1)
_FIRST_HEAD = insert(head).values(id=1, size=0)
_SET_SIZE = update(head).where(head.c.id == 1).values(size=bindparam("size"))


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One leaf as stored: ``payload`` is the exact bytes whose RFC 9162 leaf hash is ``leaf_hash``."""

    index: int
    kind: str
    payload: bytes
    leaf_hash: bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A stored checkpoint; ``note`` is the log-signed note followed by every stored cosignature."""

    checkpoint: Checkpoint
    note: str
    cosigners: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What ``verify_all`` checked: the whole log up to ``size``, whose root is ``root``."""

    size: int
    root: bytes
    leaves: int
    nodes: int
    checkpoints: int
    cosignatures: int


def _level(start: int, end: int) -> int:
    return (end - start).bit_length() - 1


#: Leaves hashed per hand-off to the driver while appending (see ``LedgerStore.append``).
_CHUNK = 1_024


def _hash_chunk(
    entries: Sequence[tuple[str, bytes]], start: int, size: int, edge: merkle.CompactRange, now: datetime
) -> tuple[list[tuple[int, bytes, str, bytes, datetime]], list[tuple[int, int, bytes]]]:
    """Leaf rows of ``entries[start:start + _CHUNK]`` and the stored nodes they complete (``edge`` grows)."""
    sha256 = hashlib.sha256
    push = edge.append
    leaf_rows: list[tuple[int, bytes, str, bytes, datetime]] = []
    node_rows: list[tuple[int, int, bytes]] = []
    for offset in range(start, min(start + _CHUNK, len(entries))):
        kind, payload = entries[offset]
        digest = sha256(b"\x00" + payload).digest()
        leaf_rows.append((size + offset, digest, kind, payload, now))
        for level, idx, node in push(digest):
            if level >= _LOW:
                node_rows.append((level, idx, node))
    return leaf_rows, node_rows


async def _insert_chunk(
    session: AsyncSession,
    leaf_rows: list[tuple[int, bytes, str, bytes, datetime]],
    node_rows: list[tuple[int, int, bytes]],
) -> None:
    await bulk_insert(session, leaves, leaf_rows)
    if node_rows:
        await bulk_insert(session, nodes, node_rows)


def _subtree_keys(wanted: Sequence[tuple[int, int]]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """What to read for the subtrees ``wanted``: stored nodes ``(level, idx)`` and inclusive leaf ranges."""
    node_keys = sorted({(_level(s, e), s >> _level(s, e)) for s, e in wanted if _level(s, e) >= _LOW})
    blocks = sorted({s >> _LOW for s, e in wanted if _level(s, e) < _LOW})
    return node_keys, [(b << _LOW, ((b + 1) << _LOW) - 1) for b in blocks]


def _subtrees_from_rows(
    wanted: Sequence[tuple[int, int]], rows: Iterable[Sequence[Any]]
) -> tuple[int, dict[tuple[int, int], bytes]]:
    """The log size and the hashes of ``wanted`` from the rows ``subtree_rows`` answered."""
    size = 0
    stored: dict[tuple[int, int], bytes] = {}
    leaf: dict[int, bytes] = {}
    for level, idx, digest in rows:
        if level < 0:
            size = idx
        elif level == 0:
            leaf[idx] = digest
        else:
            stored[(level, idx)] = digest
    out: dict[tuple[int, int], bytes] = {}
    for s, e in wanted:
        level = _level(s, e)
        if e > size:
            raise UnknownIndexError(f"leaves [{s}, {e}) are beyond the log's size {size}")
        if level >= _LOW:
            digest = stored.get((level, s >> level))
            if digest is None:
                raise TamperError("node", s >> level, "missing", level=level)
            out[(s, e)] = digest
        else:
            missing = next((i for i in range(s, e) if i not in leaf), None)
            if missing is not None:
                raise TamperError("leaf", missing, "missing")
            out[(s, e)] = merkle.root_from_leaf_hashes([leaf[i] for i in range(s, e)])
    return size, out


def _check_entries(entries: Sequence[tuple[str, bytes]]) -> None:
    for offset, (kind, payload) in enumerate(entries):
        if not isinstance(payload, bytes) or not kind or len(kind) > _MAX_KIND:
            raise LedgerError(f"entry {offset}: kind must be 1-{_MAX_KIND} characters, payload bytes")


def _checkpoint_row(
    edge: merkle.CompactRange, signer: Signer, origin: str | None, now: datetime
) -> tuple[int, bytes, str, datetime]:
    """The ``checkpoints`` row (table order) of a signed checkpoint of ``edge``, from the root in hand."""
    checkpoint = Checkpoint(origin=origin or signer.name, size=edge.size, root_hash=edge.root())
    return edge.size, checkpoint.root_hash, sign_checkpoint_note(checkpoint, signer), now


class LedgerStore:
    """Append, prove and verify the ledger held in the ``ledger_*`` tables.

    Stateless apart from tuning, so one instance serves every session and worker.
    """

    def __init__(self, *, verify_chunk: int = 10_000, cache_size: int = 0) -> None:
        self.verify_chunk = verify_chunk
        #: Committed complete subtrees never change in an append-only log, so read-only callers may keep
        #: them in memory (like a CT log's tile cache). Only ``cached=True`` reads fill or use it: a writing
        #: transaction could see its own uncommitted nodes, which a rollback would take back.
        self._cache: dict[tuple[int, int], bytes] = {}
        self._cache_size = cache_size
        self._cached_log_size = 0

    async def _cached_subtrees(
        self, session: AsyncSession, needed: Iterable[tuple[int, int]]
    ) -> tuple[int, dict[tuple[int, int], bytes]]:
        """``_subtrees`` served from memory when every range is cached and lies within a size already seen."""
        wanted = list(needed)
        cache = self._cache
        if wanted and all(r in cache for r in wanted) and max(e for _, e in wanted) <= self._cached_log_size:
            return self._cached_log_size, {r: cache[r] for r in wanted}
        size, hashes = await self._subtrees(session, wanted)
        self._cached_log_size = max(self._cached_log_size, size)
        if len(cache) + len(hashes) > self._cache_size:
            cache.clear()
        cache.update(hashes)
        return size, hashes

    # -- reading subtrees ---------------------------------------------------------------------------------

    async def _subtrees(
        self, session: AsyncSession, needed: Iterable[tuple[int, int]]
    ) -> tuple[int, dict[tuple[int, int], bytes]]:
        """The log size and the hashes of the complete subtrees ``needed``, in one round trip."""
        wanted = list(needed)
        node_keys, ranges = _subtree_keys(wanted)
        return _subtrees_from_rows(wanted, await subtree_rows(session, node_keys, ranges))

    async def _lock(self, session: AsyncSession) -> int:
        """Take the append lock, then read the size (the order matters: see the module docstring)."""
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
        else:
            await session.execute(_TOUCH_HEAD)
        size = (await session.execute(_READ_SIZE)).scalar_one_or_none()
        if size is None:
            await session.execute(_FIRST_HEAD)
            return 0
        return int(size)

    @staticmethod
    def _lock_sync(conn: Connection) -> int:
        """``_lock`` on a synchronous SQLite connection: the same statements, in the same order."""
        conn.execute(_TOUCH_HEAD)
        size = conn.execute(_READ_SIZE).scalar_one_or_none()
        if size is None:
            conn.execute(_FIRST_HEAD)
            return 0
        return int(size)

    # -- writing -----------------------------------------------------------------------------------------

    async def append(
        self,
        session: AsyncSession,
        entries: Sequence[tuple[str, bytes]],
        *,
        signer: Signer | None = None,
        origin: str | None = None,
        at: datetime | None = None,
    ) -> list[int]:
        """Append ``(kind, leaf bytes)`` entries in order; their indexes are final once the caller commits.

        With ``signer``, also store a signed checkpoint of the new size, from the root already in hand (the
        same as ``sign_checkpoint`` afterwards, without its extra queries).
        """
        if not entries:
            return []
        size = await self._lock(session)
        edge_parts = merkle.range_subtrees(0, size)
        _, edge_hashes = await self._subtrees(session, edge_parts)
        edge = merkle.CompactRange(size, [edge_hashes[p] for p in edge_parts])
        now = at or datetime.now(UTC)
        _check_entries(entries)
        # Hash a chunk, hand it to the driver, hash the next while the database writes it: one chunk in
        # flight at a time, on the session's one connection, in order. A failure anywhere fails the append
        # (the caller's transaction is rolled back: nothing half-written is ever committed).
        in_flight: asyncio.Future[None] | None = None
        try:
            for start in range(0, len(entries), _CHUNK):
                rows, node_rows = _hash_chunk(entries, start, size, edge, now)
                if in_flight is not None:
                    await in_flight
                in_flight = asyncio.ensure_future(_insert_chunk(session, rows, node_rows))
                await asyncio.sleep(0)  # let it reach the driver before this loop hashes on
            if in_flight is not None:
                await in_flight
        finally:
            if in_flight is not None and not in_flight.done():
                in_flight.cancel()
                with contextlib.suppress(BaseException):
                    await in_flight
        await session.execute(_SET_SIZE, {"size": edge.size})
        if signer is not None:
            await bulk_insert(session, checkpoints, [_checkpoint_row(edge, signer, origin, now)])
        return list(range(size, edge.size))

    def append_sync(
        self,
        conn: Connection,
        entries: Sequence[tuple[str, bytes]],
        *,
        signer: Signer | None = None,
        origin: str | None = None,
        at: datetime | None = None,
    ) -> list[int]:
        """``append`` on a synchronous SQLite connection, in its caller's transaction: the same rows, the same
        checkpoint, the same lock order, with no event loop. For whole write transactions run in one
        worker-thread hand-off (``sesame.db.SqliteWrites``), where each statement through aiosqlite would cost
        two thread switches of its own."""
        if not entries:
            return []
        size = self._lock_sync(conn)
        edge_parts = merkle.range_subtrees(0, size)
        node_keys, ranges = _subtree_keys(edge_parts)
        _, edge_hashes = _subtrees_from_rows(edge_parts, sqlite_subtree_rows(conn, node_keys, ranges))
        edge = merkle.CompactRange(size, [edge_hashes[p] for p in edge_parts])
        now = at or datetime.now(UTC)
        _check_entries(entries)
        for start in range(0, len(entries), _CHUNK):
            leaf_rows, node_rows = _hash_chunk(entries, start, size, edge, now)
            sqlite_insert(conn, leaves, leaf_rows)
            if node_rows:
                sqlite_insert(conn, nodes, node_rows)
        conn.execute(_SET_SIZE, {"size": edge.size})
        if signer is not None:
            sqlite_insert(conn, checkpoints, [_checkpoint_row(edge, signer, origin, now)])
        return list(range(size, edge.size))

    async def sign_checkpoint(
        self, session: AsyncSession, signer: Signer, origin: str | None = None, *, at: datetime | None = None
    ) -> SignedCheckpoint:
        """Sign and store a checkpoint of the current size (or return the stored one for that size).

        Takes the append lock, so the checkpoint is of a size no concurrent append is still writing.
        """
        size = await self._lock(session)
        existing = await self._checkpoint_row(session, size)
        if existing is not None:
            return await self._signed(session, existing)
        checkpoint = Checkpoint(
            origin=origin or signer.name, size=size, root_hash=await self.root(session, size)
        )
        note = sign_checkpoint_note(checkpoint, signer)
        now = at or datetime.now(UTC)
        await session.execute(
            insert(checkpoints).values(size=size, root_hash=checkpoint.root_hash, note=note, created_at=now)
        )
        return SignedCheckpoint(checkpoint=checkpoint, note=note, cosigners=(), created_at=now)

    async def add_witness(
        self, session: AsyncSession, vkey: str, *, at: datetime | None = None
    ) -> CosignatureVerifier:
        """Register a witness from its ``cosignature/v1`` verifier key.

        A name stays bound to one key: its stored cosignatures must keep verifying, so a witness that
        rotates its key registers the new one under a new name.
        """
        witness = CosignatureVerifier.from_vkey(vkey)
        known = (
            await session.execute(select(witnesses.c.vkey).where(witnesses.c.name == witness.name))
        ).scalar_one_or_none()
        if known is not None:
            if CosignatureVerifier.from_vkey(known).key_id != witness.key_id:
                raise CheckpointError(f"witness {witness.name} is already registered with another key")
            return witness
        await session.execute(
            insert(witnesses).values(name=witness.name, vkey=witness.vkey, created_at=at or datetime.now(UTC))
        )
        return witness

    async def witnesses(self, session: AsyncSession) -> list[CosignatureVerifier]:
        rows = await session.execute(select(witnesses.c.vkey).order_by(witnesses.c.name))
        return [CosignatureVerifier.from_vkey(vkey) for (vkey,) in rows]

    async def add_cosignature(
        self, session: AsyncSession, size: int, signature: str | NoteSignature, *, at: datetime | None = None
    ) -> int:
        """Store a registered witness's cosignature (a note signature line) on the checkpoint at ``size``.

        Returns the cosignature's timestamp. An older cosignature than the stored one is ignored.
        """
        row = await self._checkpoint_row(session, size)
        if row is None:
            raise UnknownIndexError(f"no checkpoint at size {size}")
        body = parse_note(row.note)[0]
        if isinstance(signature, str):
            line = signature if signature.endswith("\n") else signature + "\n"
            sigs = parse_note(body + "\n" + line)[1]
            if len(sigs) != 1:
                raise CheckpointError("expected exactly one signature line")
            signature = sigs[0]
        vkey = (
            await session.execute(select(witnesses.c.vkey).where(witnesses.c.name == signature.name))
        ).scalar_one_or_none()
        if vkey is None:
            raise CheckpointError(f"{signature.name} is not a registered witness")
        witness = CosignatureVerifier.from_vkey(vkey)
        if signature.key_id != witness.key_id or not witness.verify(body.encode(), signature.signature):
            raise CheckpointError(f"cosignature by {signature.name} does not verify")
        stamp = CosignatureVerifier.timestamp(signature.signature)
        key = and_(cosignatures.c.checkpoint_size == size, cosignatures.c.witness_name == witness.name)
        previous = (await session.execute(select(cosignatures.c.timestamp).where(key))).scalar_one_or_none()
        if previous is not None and previous > stamp:
            return int(previous)
        await session.execute(delete(cosignatures).where(key))
        await session.execute(
            insert(cosignatures).values(
                checkpoint_size=size,
                witness_name=witness.name,
                timestamp=stamp,
                signature_line=signature.line(),
                created_at=at or datetime.now(UTC),
            )
        )
        return stamp

    # -- reading -----------------------------------------------------------------------------------------

    async def size(self, session: AsyncSession) -> int:
        size = (await session.execute(select(head.c.size).where(head.c.id == 1))).scalar_one_or_none()
        return int(size or 0)

    async def root(self, session: AsyncSession, size: int | None = None) -> bytes:
        """The RFC 9162 root at ``size`` (default: now), from <= log2(n) stored subtrees."""
        if size is None:
            size = await self.size(session)
        if size < 0:
            raise UnknownIndexError("size must not be negative")
        parts = merkle.range_subtrees(0, size)
        _, hashes = await self._subtrees(session, parts)
        return merkle.range_hash(0, size, lambda s, e: hashes[(s, e)])

    async def inclusion_proof(
        self, session: AsyncSession, index: int, size: int, *, cached: bool = False
    ) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves.

        ``cached=True`` only from sessions that have not written (see ``__init__``).
        """
        read = self._cached_subtrees if cached and self._cache_size else self._subtrees
        current, hashes = await read(session, merkle.inclusion_subtrees(index, size))
        if size > current:
            raise UnknownIndexError(f"size {size} is beyond the log's size {current}")
        return merkle.inclusion_proof(index, size, lambda s, e: hashes[(s, e)])

    async def consistency_proof(
        self, session: AsyncSession, first: int, second: int, *, cached: bool = False
    ) -> list[bytes]:
        """RFC 9162 consistency proof from the tree of ``first`` leaves to that of ``second``."""
        read = self._cached_subtrees if cached and self._cache_size else self._subtrees
        current, hashes = await read(session, merkle.consistency_subtrees(first, second))
        if second > current:
            raise UnknownIndexError(f"size {second} is beyond the log's size {current}")
        return merkle.consistency_proof(first, second, lambda s, e: hashes[(s, e)])

    async def entry(self, session: AsyncSession, index: int) -> LedgerEntry:
        row = (
            await session.execute(
                select(
                    leaves.c.idx, leaves.c.kind, leaves.c.payload, leaves.c.leaf_hash, leaves.c.created_at
                ).where(leaves.c.idx == index)
            )
        ).one_or_none()
        if row is None:
            raise UnknownIndexError(f"no entry {index}")
        return LedgerEntry(
            index=row.idx,
            kind=row.kind,
            payload=bytes(row.payload),
            leaf_hash=bytes(row.leaf_hash),
            created_at=row.created_at,
        )

    async def _checkpoint_row(self, session: AsyncSession, size: int) -> Any:
        stmt = select(checkpoints).where(checkpoints.c.size == size)
        return (await session.execute(stmt)).one_or_none()

    async def _signed(self, session: AsyncSession, row: Any) -> SignedCheckpoint:
        body, log_sigs = parse_note(row.note)
        cosigs = await session.execute(
            select(cosignatures.c.witness_name, cosignatures.c.signature_line)
            .where(cosignatures.c.checkpoint_size == row.size)
            .order_by(cosignatures.c.witness_name)
        )
        names: list[str] = []
        extra: list[NoteSignature] = []
        for name, line in cosigs:
            names.append(name)
            extra.extend(parse_note(body + "\n" + line)[1])
        return SignedCheckpoint(
            checkpoint=Checkpoint.parse(body),
            note=format_note(body, [*log_sigs, *extra]),
            cosigners=tuple(names),
            created_at=row.created_at,
        )

    async def checkpoint(self, session: AsyncSession, size: int) -> SignedCheckpoint:
        row = await self._checkpoint_row(session, size)
        if row is None:
            raise UnknownIndexError(f"no checkpoint at size {size}")
        return await self._signed(session, row)

    async def latest_checkpoint(self, session: AsyncSession) -> SignedCheckpoint | None:
        """The largest signed checkpoint, with its cosignatures appended to the note."""
        row = (
            await session.execute(select(checkpoints).order_by(checkpoints.c.size.desc()).limit(1))
        ).one_or_none()
        return None if row is None else await self._signed(session, row)

    # -- auditing ----------------------------------------------------------------------------------------

    async def verify_all(
        self, session: AsyncSession, verifiers: Iterable[Verifier], *, progress: Progress | None = None
    ) -> VerifyReport:
        """Recompute every leaf hash, stored node, checkpoint root and signature, and cosignature.

        Streams the log in chunks of ``verify_chunk`` leaves (constant memory), and raises ``TamperError``
        naming the first leaf, node, checkpoint or cosignature that does not match. Entries appended while
        it runs are left for the next run.
        """
        log_keys = list(verifiers)
        if not log_keys:
            raise LedgerError("verify_all needs the log's verifier key")
        size = await self.size(session)
        witness_keys: dict[str, CosignatureVerifier] = {}
        for name, vkey in await session.execute(select(witnesses.c.name, witnesses.c.vkey)):
            try:
                witness_keys[name] = CosignatureVerifier.from_vkey(vkey)
            except NoteError as exc:
                raise TamperError("witness", 0, f"{name}: {exc}") from exc
        stray = (
            await session.execute(select(nodes.c.level, nodes.c.idx).where(nodes.c.level < _LOW).limit(1))
        ).one_or_none()
        if stray is not None:
            raise TamperError("node", stray.idx, "not a stored level", level=stray.level)

        report = {"nodes": 0, "checkpoints": 0, "cosignatures": 0}
        edge = merkle.CompactRange()
        empty = await self._checkpoints_between(session, 0, 0)
        await self._verify_checkpoints(session, empty, {0: edge.root()}, log_keys, witness_keys, report)
        for start in range(0, size, self.verify_chunk):
            end = min(start + self.verify_chunk, size)
            rows = await session.execute(
                select(leaves.c.idx, leaves.c.leaf_hash, leaves.c.payload)
                .where(leaves.c.idx >= start, leaves.c.idx < end)
                .order_by(leaves.c.idx)
            )
            levels = range(_LOW, end.bit_length())
            node_filter = [
                and_(nodes.c.level == lv, nodes.c.idx.between(start >> lv, (end >> lv) - 1))
                for lv in levels
                if start >> lv <= (end >> lv) - 1
            ]
            stored: dict[tuple[int, int], bytes] = {}
            if node_filter:
                node_rows = await session.execute(
                    select(nodes.c.level, nodes.c.idx, nodes.c.hash).where(or_(*node_filter))
                )
                stored = {(lv, i): bytes(h) for lv, i, h in node_rows}
            signed = await self._checkpoints_between(session, start + 1, end)
            wanted = {size for size, _, _ in signed}
            roots: dict[int, bytes] = {}
            expected = start
            for idx, stored_hash, payload in rows:
                if idx != expected:
                    raise TamperError("leaf", expected, "missing")
                digest = merkle.leaf_hash(bytes(payload))
                if digest != bytes(stored_hash):
                    raise TamperError("leaf", idx, "payload does not match its leaf hash")
                for level, nidx, node in edge.append(digest):
                    if level < _LOW:
                        continue
                    got = stored.get((level, nidx))
                    if got is None:
                        raise TamperError("node", nidx, "missing", level=level)
                    if got != node:
                        raise TamperError(
                            "node", nidx, "hash does not match the leaves below it", level=level
                        )
                    report["nodes"] += 1
                expected += 1
                if expected in wanted:
                    roots[expected] = edge.root()
            if expected != end:
                raise TamperError("leaf", expected, "missing")
            await self._verify_checkpoints(session, signed, roots, log_keys, witness_keys, report)
            if progress is not None:
                progress(end, size)

        beyond = (await session.execute(select(func.max(leaves.c.idx)))).scalar_one_or_none()
        now = await self.size(session)
        if beyond is not None and beyond >= now:
            raise TamperError("head", now, f"leaf {beyond} exists beyond the recorded size")
        latest = (await session.execute(select(func.max(checkpoints.c.size)))).scalar_one_or_none()
        if latest is not None and latest > now:
            raise TamperError("checkpoint", latest, "signed for a size the log does not have")
        return VerifyReport(
            size=size,
            root=edge.root(),
            leaves=size,
            nodes=report["nodes"],
            checkpoints=report["checkpoints"],
            cosignatures=report["cosignatures"],
        )

    async def _checkpoints_between(self, session: AsyncSession, low: int, high: int) -> list[Any]:
        """Checkpoint rows ``(size, root_hash, note)`` with ``low <= size <= high``, read once per chunk so
        one signed concurrently cannot appear between computing the roots and checking them."""
        rows = await session.execute(
            select(checkpoints.c.size, checkpoints.c.root_hash, checkpoints.c.note)
            .where(checkpoints.c.size >= low, checkpoints.c.size <= high)
            .order_by(checkpoints.c.size)
        )
        return list(rows)

    async def _verify_checkpoints(
        self,
        session: AsyncSession,
        rows: list[Any],
        roots: dict[int, bytes],
        log_keys: list[Verifier],
        witness_keys: dict[str, CosignatureVerifier],
        report: dict[str, int],
    ) -> None:
        """Check checkpoint rows and their cosignatures against the recomputed ``roots``."""
        bodies: dict[int, str] = {}
        for size, root_hash, note in rows:
            root = roots[size]
            if bytes(root_hash) != root:
                raise TamperError("checkpoint", size, "stored root does not match the leaves")
            try:
                body = open_note(note, log_keys).text
                parsed = Checkpoint.parse(body)
            except (NoteError, CheckpointError) as exc:
                raise TamperError("checkpoint", size, f"note: {exc}") from exc
            if parsed.size != size or parsed.root_hash != root:
                raise TamperError("checkpoint", size, "signed size or root does not match the leaves")
            bodies[size] = body
            report["checkpoints"] += 1
        if not bodies:
            return
        cosigs = await session.execute(
            select(
                cosignatures.c.checkpoint_size,
                cosignatures.c.witness_name,
                cosignatures.c.timestamp,
                cosignatures.c.signature_line,
            )
            .where(cosignatures.c.checkpoint_size.in_(list(bodies)))
            .order_by(cosignatures.c.checkpoint_size)
        )
        for size, name, stamp, line in cosigs:
            signed = bodies.get(size)
            witness = witness_keys.get(name)
            if signed is None or witness is None:
                raise TamperError("cosignature", size, f"{name}: no such checkpoint or witness")
            try:
                (sig,) = parse_note(signed + "\n" + line)[1]
            except (NoteError, ValueError) as exc:
                raise TamperError("cosignature", size, f"{name}: malformed") from exc
            if (
                sig.name != name
                or sig.key_id != witness.key_id
                or not witness.verify(signed.encode(), sig.signature)
                or CosignatureVerifier.timestamp(sig.signature) != stamp
            ):
                raise TamperError("cosignature", size, f"{name}: does not verify")
            report["cosignatures"] += 1
