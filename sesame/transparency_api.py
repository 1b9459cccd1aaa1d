"""HTTP for the transparency ledger: checkpoints, entries, proofs, the log key, witnesses' cosignatures.

Everything here is public and speaks the formats of Certificate Transparency / Tessera tooling: RFC 9162 proofs
as base64 hash lists, C2SP signed-note checkpoints, C2SP ``cosignature/v1``.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from litestar import Controller, MediaType, Response, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.events import decode_event
from sesame import transparency
from sesame.accounts.services import Principal
from sesame.errors import InvalidInput, NotFound

NOTE_MEDIA = "text/plain; charset=utf-8"


class EntryOut(BaseModel):
    index: int
    kind: str
    data: str = Field(description="base64 of the exact leaf bytes (RFC 8785 JSON)")
    leaf_hash: str = Field(description="base64 RFC 9162 leaf hash: SHA-256(0x00 || data)")
    payload: dict[str, Any]
    created_at: str


class EntryPage(BaseModel):
    size: int
    entries: list[EntryOut]


class InclusionOut(BaseModel):
    index: int
    size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyOut(BaseModel):
    first: int
    second: int
    proof: list[str]


class CosignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int | None = Field(default=None, ge=1, description="default: the latest checkpoint")
    signature: str = Field(
        min_length=10, max_length=2000, description="a note signature line: '— name base64'"
    )


class WitnessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vkey: str = Field(min_length=10, max_length=500, description="C2SP cosignature/v1 verifier key")


class WitnessOut(BaseModel):
    name: str
    vkey: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def latest_note(db: AsyncSession) -> str:
    ledger = transparency.get()
    latest = await ledger.latest(db)
    if latest is None:  # an empty log still has a signed checkpoint (size 0)
        latest = await ledger.store.sign_checkpoint(db, ledger.signer, ledger.origin)
        await db.commit()
    return latest.note


async def _entry_out(db: AsyncSession, index: int) -> EntryOut:
    entry = await transparency.get().store.entry(db, index)
    return EntryOut(
        index=entry.index,
        kind=entry.kind,
        data=_b64(entry.payload),
        leaf_hash=_b64(entry.leaf_hash),
        payload=decode_event(entry.payload),
        created_at=entry.created_at.isoformat(),
    )


async def _size(db: AsyncSession, size: int | None) -> int:
    current = await transparency.get().store.size(db)
    if size is None:
        return current
    if size > current:
        raise NotFound(f"the log has {current} entries, not {size}")
    return size


class LedgerController(Controller):
    path = "/api/v1/ledger"
    tags = ["ledger"]

    @get(
        "/checkpoint",
        media_type=NOTE_MEDIA,
        summary="The latest C2SP signed-note checkpoint, with cosignatures",
    )
    async def checkpoint(self, db: AsyncSession) -> Response[str]:
        return Response(await latest_note(db), media_type=NOTE_MEDIA, headers={"Cache-Control": "no-cache"})

    @get("/key", media_type=NOTE_MEDIA, summary="The log's C2SP verifier key (vkey)")
    async def key(self) -> Response[str]:
        return Response(transparency.get().verifier.vkey + "\n", media_type=NOTE_MEDIA)

    @get("/entries/{index:int}", summary="One leaf: exact bytes, leaf hash, parsed payload")
    async def entry(self, db: AsyncSession, index: int) -> EntryOut:
        if index < 0:
            raise InvalidInput.one("path.index", "must be 0 or more")
        if index >= 2**63:  # past what a 64-bit index column can hold: absent, like any index past the end
            raise NotFound(f"no entry {index}")
        return await _entry_out(db, index)

    @get("/entries", summary="A page of leaves, oldest first")
    async def entries(
        self,
        db: AsyncSession,
        start: Annotated[int, Parameter(ge=0)] = 0,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> EntryPage:
        size = await transparency.get().store.size(db)
        indexes = range(start, min(start + limit, size))
        return EntryPage(size=size, entries=[await _entry_out(db, i) for i in indexes])

    @get("/proofs/inclusion", summary="RFC 9162 inclusion proof of leaf `index` in the tree of `size`")
    async def inclusion(
        self,
        db: AsyncSession,
        index: Annotated[int, Parameter(ge=0)],
        size: Annotated[int | None, Parameter(ge=1)] = None,
    ) -> InclusionOut:
        tree_size = await _size(db, size)
        if index >= tree_size:
            raise NotFound(f"leaf {index} is not in a tree of size {tree_size}")
        store = transparency.get().store
        proof = await store.inclusion_proof(db, index, tree_size, cached=True)
        entry = await store.entry(db, index)
        return InclusionOut(
            index=index, size=tree_size, leaf_hash=_b64(entry.leaf_hash), proof=[_b64(h) for h in proof]
        )

    @get("/proofs/consistency", summary="RFC 9162 consistency proof between two tree sizes")
    async def consistency(
        self,
        db: AsyncSession,
        first: Annotated[int, Parameter(ge=1)],
        second: Annotated[int | None, Parameter(ge=1)] = None,
    ) -> ConsistencyOut:
        second_size = await _size(db, second)
        if first > second_size:
            raise InvalidInput.one("query.first", f"must not exceed second ({second_size})")
        proof = await transparency.get().store.consistency_proof(db, first, second_size, cached=True)
        return ConsistencyOut(first=first, second=second_size, proof=[_b64(h) for h in proof])

    @post("/cosignatures", status_code=201, summary="Add a registered witness's C2SP cosignature/v1")
    async def cosign(self, db: AsyncSession, data: CosignatureIn) -> Response[str]:
        """The signature itself authenticates the witness: only registered witness keys are accepted."""
        ledger = transparency.get()
        size = data.size
        if size is None:
            latest = await ledger.latest(db)
            if latest is None:
                raise NotFound("no checkpoint yet")
            size = latest.checkpoint.size
        await ledger.store.add_cosignature(db, size, data.signature)
        await db.commit()
        cosigned = await ledger.store.checkpoint(db, size)
        return Response(cosigned.note, status_code=201, media_type=NOTE_MEDIA)

    @get("/witnesses", summary="Registered witnesses")
    async def witnesses(self, db: AsyncSession) -> list[WitnessOut]:
        return [WitnessOut(name=w.name, vkey=w.vkey) for w in await transparency.get().store.witnesses(db)]

    @post("/witnesses", status_code=201, summary="Register a witness key (admin)")
    async def add_witness(self, db: AsyncSession, principal: Principal, data: WitnessIn) -> WitnessOut:
        principal.require("admin")
        witness = await transparency.get().store.add_witness(db, data.vkey)
        await db.commit()
        return WitnessOut(name=witness.name, vkey=witness.vkey)


ROUTES = [LedgerController]
__all__ = ["ROUTES", "MediaType", "latest_note"]
