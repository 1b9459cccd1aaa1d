"""The card a shopper sees, assembled once and served as pre-encoded JSON bytes from each worker's memory.

A card joins two halves with different owners: the product half (``scanner``'s own tables, versioned) and the
seller half (``company_profiles.public_profile``: highlighted figures with verification state and age, the
transparency score). Each worker keeps the encoded card per scanned GTIN, remembering what it was built from:
the product's card version and the seller's ``profile_cache_token``.

How a worker knows its copy is still right, also when another worker (or the CLI) changed the data:

* **Catalogue generation.** Every catalogue write increases one row, ``scanner_cache_generation``, in its own
  transaction (``services.bump_generation``). On SQLite, the engine's single-host default, the same write then
  bumps a change counter in shared memory (``scanner._signal``) after it commits; each request reads those 8
  bytes, and a worker polls the row every second as a safety net. Elsewhere (PostgreSQL) each request reads
  the row with one async query. A card checked at an older generation is revalidated (one query for the product
  version) and rebuilt only if it moved, so a product change is seen by every worker before the writer's HTTP
  answer is sent. On SQLite a cache miss is read synchronously too (one indexed join, no thread hop), so a
  cold worker warms up fast.
* **Seller's profile.** ``company_profiles`` runs ``services.profile_changed`` (registered in
  ``scanner.wiring``) inside every filing, attestation and revocation: the generation moves with the change,
  and cards are revalidated against the seller's ``profile_cache_token``. What changes with time alone (an
  attestation expiring, ages in days) is caught by rechecking each seller's token every
  ``PROFILE_RECHECK_SECONDS``, in the background while the card is still served (stale-while-revalidate, so no
  request waits); a seller is never served more than twice that late.

Why not Redis pub/sub (``SESAME_REDIS_URL``): a message is published after the commit, from a process that may
die in between, and it reaches other hosts' workers with no ordering against their database snapshots; the row
commits with the change. On SQLite (one host by construction) the shared-memory counter costs less than Redis
would; on PostgreSQL the per-request row read is one indexed primary-key lookup. A Redis push would only be
worth adding for several PostgreSQL hosts under heavy scan traffic, as a hint in front of the row.

Example::

    cache = CardCache(sessionmaker, settings)
    card = cache.fresh(gtin) or await cache.get(gtin)   # raises ProductNotFound
    card.body                                          # b'{"gtin":"09520123456788",...}'
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from company_profiles import services as company_profiles
from scanner import services
from scanner._signal import counter_for
from scanner.errors import ProductNotFound
from scanner.services import ProductRef
from sesame.settings import Settings

__all__ = [
    "PROFILE_RECHECK_SECONDS",
    "CachedCard",
    "CardCache",
    "CatalogueReads",
    "SessionReads",
    "SqliteReads",
    "encode",
]

#: How long a worker trusts a seller's profile without asking ``profile_cache_token`` again. Changes are pushed
#: (``profile_changed``); this only bounds what moves with time alone (expiring attestations, ages in days).
PROFILE_RECHECK_SECONDS = 30.0
#: Cards kept per worker (oldest dropped first); 100,000 cards of ~2 KB is about 200 MB at most.
MAX_CARDS = 100_000
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


class CatalogueReads(Protocol):
    """Catalogue reads a worker can make without awaiting; ``None`` means "use the async session instead"."""

    def generation(self) -> int | None: ...

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]] | None: ...

    def close(self) -> None: ...


class SessionReads:
    """No synchronous reads (PostgreSQL, SQLite in memory): every read goes through an async session."""

    def generation(self) -> int | None:
        return None

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]] | None:
        return None

    def close(self) -> None:
        return None


class SqliteReads:
    """SQLite, read on the event loop with the stdlib driver: no thread hop (aiosqlite's costs more than these
    indexed reads), and the change counter in shared memory (``scanner._signal``) as the per-request gate.

    The generation this returns is that counter: 8 bytes read per request. Every ``POLL_SECONDS`` the
    ``scanner_cache_generation`` row is read too, and if it moved more than the counter did (a writer died
    between its commit and its bump), the counter is bumped here. Autocommit and ``fetchall`` end each read at
    once, so no snapshot lingers to hold back WAL checkpoints; a busy database answers ``None`` after 50 ms and
    the caller uses the async session.
    """

    POLL_SECONDS = 1.0
    _GENERATION = "SELECT generation FROM scanner_cache_generation WHERE id = 1"

    def __init__(self, path: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._counter = counter_for(path)
        self._clock = clock
        self._next_poll = 0.0
        self._polled: tuple[int, int] | None = None  # (row generation, counter) at the last poll

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]] | None:
        try:
            if self._conn is None:
                conn = sqlite3.connect(
                    self._path, timeout=0.05, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA query_only = ON")
                self._conn = conn
            found: list[tuple[Any, ...]] = self._conn.execute(sql, params).fetchall()
        except sqlite3.Error:
            self.close()
            return None
        return found

    def generation(self) -> int | None:
        now = self._clock()
        if now >= self._next_poll:
            self._poll(now)
        return self._counter.value()

    def _poll(self, now: float) -> None:
        self._next_poll = now + self.POLL_SECONDS
        counter = self._counter.value()  # before the row: a bump landing in between is not taken for a miss
        found = self.rows(self._GENERATION, {})
        if found is None:
            return
        row = int(found[0][0]) if found else 0
        if self._polled is not None:
            rows_moved, counter_moved = row - self._polled[0], counter - self._polled[1]
            if rows_moved > counter_moved:
                counter = self._counter.bump()
        self._polled = (row, counter)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def catalogue_reads(settings: Settings) -> CatalogueReads:
    url = settings.database_url
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1].split("?", 1)[0]
        if path and path != ":memory:":
            return SqliteReads(path)
    return SessionReads()


@dataclass(slots=True, eq=False)
class Seller:
    """The seller half of the cards of one company, and when its token was last confirmed."""

    company_id: int
    token: int
    part: dict[str, Any]
    generation: int
    valid_until: float
    superseded: bool = False


@dataclass(slots=True, eq=False)
class CachedCard:
    """One scanned GTIN's card: the encoded JSON and what it was built from.

    Only the bytes are kept (a few KB a card); the rare renderings that need the structure decode them.
    """

    gtin: str
    ref: ProductRef
    seller: Seller
    generation: int
    body: bytes
    #: Other renderings of the same card (HTML page, linkset, per-lot JSON), made on first use.
    renderings: dict[str, bytes] = field(default_factory=dict)
    #: The encoded headers of the plain JSON answer (``scanner._response``), made on first use.
    json_headers: tuple[tuple[bytes, bytes], ...] | None = None

    @property
    def data(self) -> dict[str, Any]:
        decoded: dict[str, Any] = _decoder.decode(self.body)
        return decoded

    @property
    def product(self) -> dict[str, Any]:
        """The product half (the card without the seller's part)."""
        return {k: v for k, v in self.data.items() if k not in self.seller.part}

    def lot(self, batch: str | None) -> dict[str, Any] | None:
        if batch is None:
            return None
        lots: list[dict[str, Any]] = self.data.get("identity_card", {}).get("lots", [])
        return next((lot for lot in lots if lot.get("batch") == batch), None)

    def rendering(self, key: str, make: Callable[[], bytes]) -> bytes:
        found = self.renderings.get(key)
        if found is None:
            if len(self.renderings) >= 64:
                self.renderings.clear()
            found = self.renderings[key] = make()
        return found


class CardCache:
    """Per-worker cache of encoded cards, validated against the catalogue generation and the seller's token."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        reads: CatalogueReads | None = None,
        profile_recheck_seconds: float = PROFILE_RECHECK_SECONDS,
        max_cards: int = MAX_CARDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.public_url = settings.public_url
        self._reads = reads or catalogue_reads(settings)
        self.profile_recheck_seconds = profile_recheck_seconds
        self._max_cards = max_cards
        self._clock = clock
        self._cards: dict[str, CachedCard] = {}
        self._missing: dict[str, int] = {}
        self._sellers: dict[int, Seller] = {}
        self._loading: dict[str, asyncio.Task[CachedCard]] = {}
        self._seller_loading: dict[int, asyncio.Task[Seller]] = {}
        self.stats = {"hits": 0, "builds": 0, "revalidations": 0}

    # -- the hot path ------------------------------------------------------------------------------------------

    def fresh(self, gtin14: str) -> CachedCard | None:
        """The cached card if it is certainly current; ``None`` means "ask ``get``". Raises ``ProductNotFound``
        for a GTIN known to be absent at the current generation."""
        generation = self._reads.generation()
        if generation is None:
            return None
        card = self._cards.get(gtin14)
        if card is None:
            if self._missing.get(gtin14) == generation:
                raise ProductNotFound(gtin14)
            return None
        seller = card.seller
        if card.generation != generation or seller.generation != generation or seller.superseded:
            return None
        overdue = self._clock() - seller.valid_until
        if overdue >= 0:
            if overdue >= self.profile_recheck_seconds:
                return None  # too old to serve: the caller waits for the recheck
            self._recheck_in_background(seller.company_id, generation)
        self.stats["hits"] += 1
        return card

    async def get(self, gtin14: str) -> CachedCard:
        """The current card of a GTIN, loading or revalidating it once however many requests ask at once."""
        card = self.fresh(gtin14)
        if card is not None:
            return card
        task = self._loading.get(gtin14)
        if task is None:
            task = asyncio.ensure_future(self._load(gtin14))
            self._loading[gtin14] = task
            task.add_done_callback(lambda _t: self._loading.pop(gtin14, None))
        return await asyncio.shield(task)

    def clear(self) -> None:
        self._cards.clear()
        self._missing.clear()
        self._sellers.clear()

    def close(self) -> None:
        self._reads.close()

    # -- loading -----------------------------------------------------------------------------------------------

    async def _generation_now(self) -> int:
        generation = self._reads.generation()
        if generation is None:
            async with self._sessionmaker() as session:
                generation = await services.read_generation(session)
        return generation

    async def _product_ref(self, gtin14: str) -> ProductRef | None:
        found = self._reads.rows(services.PRODUCT_REF_SQL, {"gtin": gtin14})
        if found is None:
            async with self._sessionmaker() as session:
                return await services.product_ref(session, gtin14)
        return services.ref_from_row(found[0]) if found else None

    async def _product_part(self, gtin14: str) -> tuple[ProductRef, dict[str, Any]] | None:
        found = self._reads.rows(services.PRODUCT_PART_SQL, {"gtin": gtin14})
        if found is None:
            async with self._sessionmaker() as session:
                return await services.product_part(session, gtin14, public_url=self.public_url)
        return services.product_part_from_row(found[0], gtin14, public_url=self.public_url) if found else None

    async def _load(self, gtin14: str) -> CachedCard:
        # The generation is read before any row, so a write landing meanwhile leaves it stale, never wrong.
        generation = await self._generation_now()
        card = self._cards.get(gtin14)
        product: dict[str, Any] | None = None
        ref: ProductRef | None = None
        if card is not None and card.generation != generation:
            self.stats["revalidations"] += 1
            ref = await self._product_ref(gtin14)
            if ref != card.ref:
                card = None
            else:
                card.generation = generation
        if card is None:
            found = await self._product_part(gtin14)
            if found is None:
                self._cards.pop(gtin14, None)
                if len(self._missing) >= self._max_cards:
                    self._missing.clear()
                self._missing[gtin14] = generation
                raise ProductNotFound(gtin14)
            ref, product = found
        else:
            ref = card.ref
        seller = await self._seller(ref.company_id, generation)
        if card is not None:
            if card.seller is seller:
                return card
            product = card.product  # same product, new seller: re-encode without a query
        assert product is not None
        self.stats["builds"] += 1
        card = CachedCard(
            gtin=gtin14,
            ref=ref,
            seller=seller,
            generation=generation,
            body=encode({**product, **seller.part}),
        )
        self._store(card)
        return card

    def _store(self, card: CachedCard) -> None:
        self._missing.pop(card.gtin, None)
        self._cards.pop(card.gtin, None)
        if len(self._cards) >= self._max_cards:
            for stale in list(self._cards)[: max(1, self._max_cards // 10)]:
                del self._cards[stale]
        self._cards[card.gtin] = card

    def _seller_task(self, company_id: int, generation: int) -> asyncio.Task[Seller]:
        task = self._seller_loading.get(company_id)
        if task is None:
            task = asyncio.ensure_future(self._load_seller(company_id, generation))
            self._seller_loading[company_id] = task
            task.add_done_callback(lambda _t: self._seller_loading.pop(company_id, None))
        return task

    def _recheck_in_background(self, company_id: int, generation: int) -> None:
        """Stale-while-revalidate: the card due for a recheck is still served while one task rechecks it, so no
        request waits on it (a seller is never served more than twice ``profile_recheck_seconds`` late)."""
        if company_id in self._seller_loading:
            return
        task = self._seller_task(company_id, generation)
        task.add_done_callback(
            lambda t: t.cancelled() or t.exception()
        )  # a failure is retried by the next request

    async def _seller(self, company_id: int, generation: int) -> Seller:
        seller = self._sellers.get(company_id)
        if (
            seller is not None
            and not seller.superseded
            and seller.generation >= generation
            and self._clock() < seller.valid_until
        ):
            return seller
        return await asyncio.shield(self._seller_task(company_id, generation))

    async def _load_seller(self, company_id: int, generation: int) -> Seller:
        generation = max(generation, await self._generation_now())
        async with self._sessionmaker() as session:
            checked = self._clock()
            seller = self._sellers.get(company_id)
            if seller is not None and not seller.superseded:
                token = await company_profiles.profile_cache_token(session, company_id)
                if token == seller.token:
                    seller.generation = generation
                    seller.valid_until = checked + self.profile_recheck_seconds
                    return seller
            token, part = await services.seller_part(session, company_id, public_url=self.public_url)
        fresh = Seller(company_id, token, part, generation, checked + self.profile_recheck_seconds)
        if seller is not None:
            seller.superseded = True
        self._sellers[company_id] = fresh
        return fresh
