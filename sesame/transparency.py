"""The one function every package calls to put an event in the public ledger.

Public events (``disclosure.filed``, ``attestation.issued`` ...) carry their public data. Events about a
person (grants, access receipts, checkout decisions) go in only as a salted commitment: the ledger leaf holds
``SHA-256(salt || canonical JSON)``, the citizen keeps the salt and can later prove the receipt's inclusion.

Leaves are appended inside the caller's transaction, so a domain change and its leaf commit together; a signed
checkpoint of the new size is written in the same transaction.

Example::

    index = await transparency.record(session, "disclosure.filed", {"company_id": 3, "version": 2})
    index, salt = await transparency.record_private(session, "grant.given", {"grant_id": 9, ...})
    await session.commit()
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.events import encode_event, encode_personal_event, new_salt, salted_commitment
from ledger.note import Ed25519Signer, Ed25519Verifier
from ledger.storage import LedgerStore, SignedCheckpoint
from sesame.errors import SesameError
from sesame.keys import KeyRing, b64url, b64url_decode
from sesame.models import utcnow

__all__ = [
    "Transparency",
    "configure",
    "get",
    "inclusion_bundle",
    "record",
    "record_many",
    "record_private",
    "record_private_many",
    "record_private_many_sync",
    "salted_commitment",
]


class LedgerNotConfigured(SesameError):
    status = 500
    type_slug = "ledger-not-configured"
    title = "The transparency ledger is not configured"


@dataclass(frozen=True)
class Transparency:
    """The deployment's ledger: one store, one log key, one origin."""

    store: LedgerStore
    signer: Ed25519Signer
    origin: str

    @classmethod
    def for_keys(cls, keys: KeyRing, origin: str) -> Transparency:
        signer = Ed25519Signer(name=origin, private_key=keys.signing_key("ledger").private)
        return cls(store=LedgerStore(cache_size=200_000), signer=signer, origin=origin)

    @property
    def verifier(self) -> Ed25519Verifier:
        return self.signer.verifier()

    def all_verifiers(self, keys: KeyRing) -> list[Ed25519Verifier]:
        """The current log key and every retired one: old checkpoints stay verifiable after rotation."""
        return [Ed25519Verifier(name=self.origin, public_key=k.public) for k in keys.signing_keys("ledger")]

    async def append(self, session: AsyncSession, leaves: list[tuple[str, bytes]]) -> list[int]:
        """Append leaves and sign a checkpoint of the new size, in the caller's transaction."""
        return await self.store.append(session, leaves, signer=self.signer, origin=self.origin)

    def append_sync(self, conn: Connection, leaves: list[tuple[str, bytes]]) -> list[int]:
        """``append`` on a synchronous SQLite connection, in its caller's transaction."""
        return self.store.append_sync(conn, leaves, signer=self.signer, origin=self.origin)

    async def latest(self, session: AsyncSession) -> SignedCheckpoint | None:
        return await self.store.latest_checkpoint(session)


_state: dict[str, Transparency] = {}


def configure(*, keys: KeyRing, origin: str) -> Transparency:
    """Called by ``create_app`` and the CLI with the deployment's ledger key and origin."""
    ledger = Transparency.for_keys(keys, origin)
    _state["ledger"] = ledger
    return ledger


def get() -> Transparency:
    try:
        return _state["ledger"]
    except KeyError:
        raise LedgerNotConfigured() from None


async def record(session: AsyncSession, kind: str, payload: dict[str, Any]) -> int:
    """Append one public event; returns its ledger index. The caller commits."""
    (index,) = await record_many(session, [(kind, payload)])
    return index


async def record_many(session: AsyncSession, events: list[tuple[str, dict[str, Any]]]) -> list[int]:
    """Append public events in one batch (one lock, one checkpoint). The caller commits."""
    at = utcnow()
    return await get().append(
        session, [(kind, encode_event(kind, payload, at=at)) for kind, payload in events]
    )


async def record_private(session: AsyncSession, kind: str, fields: dict[str, Any]) -> tuple[int, str]:
    """Append a salted commitment to ``fields``; returns ``(index, salt_b64url)``. The caller commits.

    Only ``{"commitment": sha256(salt || JCS(fields))}`` is published; whoever holds the salt and the fields
    (the citizen) can show that this leaf is theirs.
    """
    salt = new_salt()
    leaf = encode_personal_event(kind, salt, fields, at=utcnow())
    (index,) = await get().append(session, [(kind, leaf)])
    return index, b64url(salt)


async def record_private_many(
    session: AsyncSession, events: list[tuple[str, bytes, dict[str, Any]]]
) -> list[int]:
    """Append many personal events ``(kind, salt, fields)`` in one batch (one lock, one checkpoint).

    The caller made the salts (``ledger.events.new_salt``) and keeps them; the leaves are exactly those
    ``record_private`` writes. Used by the vault's group commit of access receipts. The caller commits.
    """
    return await get().append(session, _private_leaves(events))


def record_private_many_sync(conn: Connection, events: list[tuple[str, bytes, dict[str, Any]]]) -> list[int]:
    """``record_private_many`` on a synchronous SQLite connection (``sesame.db.SqliteWrites``): the same
    leaves and checkpoint, in the caller's transaction. The caller commits."""
    return get().append_sync(conn, _private_leaves(events))


def _private_leaves(events: list[tuple[str, bytes, dict[str, Any]]]) -> list[tuple[str, bytes]]:
    at = utcnow()
    return [(kind, encode_personal_event(kind, salt, fields, at=at)) for kind, salt, fields in events]


def commitment_of(salt_b64url: str, fields: dict[str, Any]) -> str:
    """Recompute a personal event's commitment from the citizen's salt and fields."""
    return salted_commitment(b64url_decode(salt_b64url), fields)


async def inclusion_bundle(session: AsyncSession, index: int) -> dict[str, Any]:
    """Everything a third party needs to check that leaf ``index`` is in the log: the leaf bytes, its inclusion
    proof against the latest signed checkpoint, and that checkpoint (a C2SP signed note)."""
    ledger = get()
    latest = await ledger.latest(session)
    if latest is None or latest.checkpoint.size <= index:
        raise LedgerNotConfigured("no signed checkpoint covers this entry yet")
    entry = await ledger.store.entry(session, index)
    size = latest.checkpoint.size
    proof = await ledger.store.inclusion_proof(session, index, size)
    return {
        "index": index,
        "tree_size": size,
        "leaf": base64.b64encode(entry.payload).decode(),
        "leaf_hash": base64.b64encode(entry.leaf_hash).decode(),
        "proof": [base64.b64encode(h).decode() for h in proof],
        "root_hash": base64.b64encode(latest.checkpoint.root_hash).decode(),
        "checkpoint": latest.note,
        "log_key": ledger.verifier.vkey,
    }
