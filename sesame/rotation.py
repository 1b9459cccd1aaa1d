"""Key rotation: a new signing key, a new KEK, and every wrapped data key re-wrapped under it.

Domain packages that hold wrapped keys register a ``Rewrapper``. Each re-wraps, in committed batches, the rows
whose KEK id is not the current one, so an interrupted rotation resumes where it stopped when run again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from sesame.keys import KeyRing

#: ``async (session, keys, advance) -> rewrapped_count``; ``advance(n)`` reports progress.
Rewrapper = Callable[[AsyncSession, KeyRing, Callable[[int], None]], Awaitable[int]]
#: ``async (session, keys) -> count of rows still wrapped under an old KEK``.
PendingCounter = Callable[[AsyncSession, KeyRing], Awaitable[int]]

rewrappers: list[tuple[str, PendingCounter, Rewrapper]] = []


def register(name: str, pending: PendingCounter, rewrap: Rewrapper) -> None:
    if all(existing != name for existing, _, _ in rewrappers):
        rewrappers.append((name, pending, rewrap))
