"""The ledger's one exception tree.

Callers catch ``LedgerError`` at the boundary and map it to their own errors; library exceptions
(``cryptography.exceptions.InvalidSignature``, ``binascii.Error``, ...) never escape this package.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "EventError",
    "LedgerError",
    "NoteError",
    "ProofError",
    "TamperError",
    "UnknownIndexError",
]


class LedgerError(Exception):
    """Base of every error raised by ``ledger``."""


class ProofError(LedgerError):
    """A Merkle proof failed to verify, or cannot exist for the given sizes."""


class NoteError(LedgerError):
    """A signed note, key or signature is malformed or does not verify."""


class CheckpointError(LedgerError):
    """A checkpoint body or cosignature is malformed or does not verify."""


class EventError(LedgerError):
    """An event cannot be encoded as a canonical leaf."""


class UnknownIndexError(LedgerError):
    """An index or size beyond the log's current size was asked for."""


class TamperError(LedgerError):
    """Stored data does not match what it commits to; ``item`` and ``index`` name the first mismatch.

    ``item`` is one of ``"leaf"``, ``"node"``, ``"checkpoint"``, ``"cosignature"``, ``"head"``;
    ``level`` is set for nodes: the subtree at ``level`` covering leaves
    ``[index << level, (index + 1) << level)``.
    """

    def __init__(self, item: str, index: int, reason: str, *, level: int | None = None) -> None:
        where = f"{item} {index}" if level is None else f"{item} level {level} index {index}"
        super().__init__(f"{where}: {reason}")
        self.item = item
        self.index = index
        self.level = level
        self.reason = reason
