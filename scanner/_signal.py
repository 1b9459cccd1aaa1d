"""A change counter in shared memory next to the SQLite database: every worker of the host sees a catalogue
write the moment it commits, for the cost of reading 8 bytes.

``<database>-scanner`` holds one little-endian 64-bit integer. Writers increase it *after* their transaction
commits (an SQLAlchemy ``after_commit`` hook set by ``services.bump_generation``), under an exclusive ``flock`` so
it never goes backwards; readers map the file and read it without locking. A reader that compares the counter
*before* reading rows can therefore never keep a card older than a write whose HTTP answer has been sent.

The ``scanner_cache_generation`` row stays the source of truth: ``scanner.cards`` polls it every second and
bumps the counter itself if a write committed without bumping it (a writer killed between its commit and its
bump), so even then no card stays stale for longer than a second.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from functools import lru_cache
from pathlib import Path

__all__ = ["ChangeCounter", "counter_for"]

_FORMAT = struct.Struct("<Q")


class ChangeCounter:
    def __init__(self, database_path: str) -> None:
        self.path = Path(f"{database_path}-scanner")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _FORMAT.size:
                os.ftruncate(fd, _FORMAT.size)
            self._map = mmap.mmap(fd, _FORMAT.size)
        finally:
            os.close(fd)

    def value(self) -> int:
        return int(_FORMAT.unpack_from(self._map, 0)[0])

    def bump(self) -> int:
        """Increase the counter by one across processes; returns the new value."""
        with open(self.path, "rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                value = self.value() + 1
                _FORMAT.pack_into(self._map, 0, value)
                return value
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


@lru_cache(maxsize=16)
def counter_for(database_path: str) -> ChangeCounter:
    """One mapping per database file per process."""
    return ChangeCounter(str(Path(database_path).resolve()))
