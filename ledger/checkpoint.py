"""C2SP checkpoints (https://c2sp.org/tlog-checkpoint) and Ed25519 ``cosignature/v1`` witness cosignatures
(https://c2sp.org/tlog-cosignature).

A checkpoint is the note text ``<origin>\\n<size>\\n<base64 root>\\n[extension lines]``, signed by the log.
A witness cosigns it with key type 0x04: the signature is ``u64 big-endian timestamp || Ed25519 signature``
over ``cosignature/v1\\ntime <timestamp>\\n`` followed by the whole checkpoint body.
"""

from __future__ import annotations

import base64
import re
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.errors import CheckpointError, NoteError
from ledger.merkle import HASH_SIZE
from ledger.note import (
    ED25519,
    Ed25519Verifier,
    NoteSignature,
    Signer,
    Verifier,
    _format_skey,
    _parse_skey,
    check_key_name,
    format_vkey,
    key_id,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
)

__all__ = [
    "COSIGNATURE_V1",
    "Checkpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
    "cosignature_message",
    "open_checkpoint",
    "sign_checkpoint",
    "verifier_from_vkey",
    "verify_cosignatures",
]

COSIGNATURE_V1 = 0x04
"""Signature type byte of timestamped Ed25519 witness cosignatures."""

_MAX_TIMESTAMP = 2**63 - 1
_SIZE = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: who (origin), how many leaves (size), and their RFC 9162 root."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("origin must be one non-empty line")
        if self.size < 0:
            raise CheckpointError("size must not be negative")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(f"root hash must be {HASH_SIZE} bytes")
        for ext in self.extensions:
            if not ext or "\n" in ext:
                raise CheckpointError("extension lines must be non-empty single lines")

    def body(self) -> str:
        """The note text that gets signed."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode(), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint body strictly (decimal without leading zeros, canonical base64, 32 bytes)."""
        if not body.endswith("\n"):
            raise CheckpointError("checkpoint body must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint body needs origin, size and root lines")
        origin, size, root, *extensions = lines
        if not _SIZE.fullmatch(size):
            raise CheckpointError("tree size is not a decimal without leading zeros")
        try:
            root_hash = base64.b64decode(root, validate=True)
        except ValueError as exc:
            raise CheckpointError("root hash is not base64") from exc
        if base64.b64encode(root_hash).decode() != root:
            raise CheckpointError("root hash is not canonical base64")
        return cls(origin=origin, size=int(size), root_hash=root_hash, extensions=tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, *signers: Signer) -> str:
    """The signed note of ``checkpoint``; the log's key name should equal its origin."""
    return sign_note(checkpoint.body(), *signers)


def open_checkpoint(note: str | bytes, verifier: Verifier) -> Checkpoint:
    """Verify the log's signature on a checkpoint note and parse its body; other signatures are ignored."""
    try:
        opened = open_note(note, [verifier])
    except NoteError as exc:
        raise CheckpointError(f"checkpoint signature: {exc}") from exc
    return Checkpoint.parse(opened.text)


def cosignature_message(body: str, timestamp: int) -> bytes:
    """What a ``cosignature/v1`` signs: header line, time line, then the whole checkpoint body."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise CheckpointError("cosignature timestamp out of range")
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _now() -> int:
    return int(time.time())


class CosignatureVerifier:
    """Checks one witness's ``cosignature/v1`` signatures (type 0x04)."""

    __slots__ = ("_key", "key_id", "name", "public_key")

    def __init__(self, *, name: str, public_key: Ed25519PublicKey) -> None:
        self.name = name
        self._key = public_key
        self.public_key = _raw_public(public_key)
        self.key_id = key_id(name, COSIGNATURE_V1, self.public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        parsed = parse_vkey(vkey)
        if parsed.sig_type != COSIGNATURE_V1 or len(parsed.public_key) != 32:
            raise NoteError("not a cosignature/v1 verifier key")
        return cls(name=parsed.name, public_key=Ed25519PublicKey.from_public_bytes(parsed.public_key))

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, COSIGNATURE_V1, self.public_key)

    @staticmethod
    def timestamp(signature: bytes) -> int:
        """The time a cosignature claims, in POSIX seconds."""
        if len(signature) != 72:
            raise CheckpointError("a cosignature is 72 bytes")
        return int(struct.unpack(">Q", signature[:8])[0])

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 72:
            return False
        stamp = int(struct.unpack(">Q", signature[:8])[0])
        if stamp > _MAX_TIMESTAMP:
            return False
        message = f"cosignature/v1\ntime {stamp}\n".encode() + text
        try:
            self._key.verify(signature[8:], message)
        except InvalidSignature:
            return False
        return True


class CosignatureSigner:
    """A witness's signer. Keyword-only: it holds a private key; ``clock`` makes time a parameter."""

    __slots__ = ("_clock", "_key", "key_id", "name")

    def __init__(self, *, name: str, private_key: Ed25519PrivateKey, clock: Callable[[], int] = _now) -> None:
        check_key_name(name)
        self.name = name
        self._key = private_key
        self._clock = clock
        self.key_id = key_id(name, COSIGNATURE_V1, _raw_public(private_key.public_key()))

    @classmethod
    def generate(cls, name: str, *, clock: Callable[[], int] = _now) -> CosignatureSigner:
        return cls(name=name, private_key=Ed25519PrivateKey.generate(), clock=clock)

    @classmethod
    def from_skey(cls, skey: str, *, clock: Callable[[], int] = _now) -> CosignatureSigner:
        name, seed = _parse_skey(skey, COSIGNATURE_V1)
        return cls(name=name, private_key=Ed25519PrivateKey.from_private_bytes(seed), clock=clock)

    def skey(self) -> str:
        return _format_skey(self.name, COSIGNATURE_V1, self._key)

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(name=self.name, public_key=self._key.public_key())

    @property
    def vkey(self) -> str:
        return self.verifier().vkey

    def sign(self, text: bytes) -> bytes:
        """Timestamped signature over ``text`` (a checkpoint body), now per ``clock``."""
        stamp = self._clock()
        message = cosignature_message(text.decode(), stamp)
        return struct.pack(">Q", stamp) + self._key.sign(message)

    def cosign(self, note: str) -> NoteSignature:
        """Cosign a checkpoint note (or bare body); returns the signature to append to the note."""
        body = parse_note(note)[0] if "\n\n" in note else note
        Checkpoint.parse(body)
        return NoteSignature(name=self.name, key_id=self.key_id, signature=self.sign(body.encode()))

    def __repr__(self) -> str:
        return f"CosignatureSigner(name={self.name!r}, key_id={self.key_id.hex()})"


def verifier_from_vkey(vkey: str) -> Ed25519Verifier | CosignatureVerifier:
    """A verifier for either a log key (type 0x01) or a witness key (type 0x04)."""
    kind = parse_vkey(vkey).sig_type
    if kind == ED25519:
        return Ed25519Verifier.from_vkey(vkey)
    if kind == COSIGNATURE_V1:
        return CosignatureVerifier.from_vkey(vkey)
    raise NoteError(f"unsupported key type 0x{kind:02x}")


def verify_cosignatures(note: str | bytes, witnesses: Iterable[CosignatureVerifier]) -> dict[str, int]:
    """Witness name → cosigned timestamp, for every known witness whose cosignature on ``note`` verifies.

    Unknown signatures (including the log's own) are ignored; a known witness's bad cosignature rejects the
    note, as the signed-note spec asks.
    """
    text, sigs = parse_note(note)
    Checkpoint.parse(text)
    known = {(w.name, w.key_id): w for w in witnesses}
    raw = text.encode()
    out: dict[str, int] = {}
    for sig in sigs:
        witness = known.get((sig.name, sig.key_id))
        if witness is None:
            continue
        if not witness.verify(raw, sig.signature):
            raise CheckpointError(f"cosignature by {sig.name} does not verify")
        out[sig.name] = CosignatureVerifier.timestamp(sig.signature)
    return out
