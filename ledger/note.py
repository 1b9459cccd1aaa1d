"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys.

A note is text ending in a newline, a blank line, then one line per signature:
``— <key name> base64(key id || signature)``. Verifiers ignore signatures from keys they do not know, reject
the note if a known key's signature fails, and require at least one known signature. The formats match
golang.org/x/mod/sumdb/note byte for byte, so Go tooling (and witnesses) read our notes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.errors import NoteError

__all__ = [
    "ED25519",
    "Ed25519Signer",
    "Ed25519Verifier",
    "Note",
    "NoteSignature",
    "Signer",
    "Verifier",
    "VerifierKey",
    "format_note",
    "format_vkey",
    "key_id",
    "open_note",
    "parse_note",
    "parse_vkey",
    "sign_note",
]

ED25519 = 0x01
"""Signature type byte of plain Ed25519 note signatures."""

MAX_SIGNATURES = 100
"""The spec asks verifiers to accept at least 16; Go's note package caps at 100. So do we."""

_DASH = "\u2014 "
_FORBIDDEN = re.compile(r"[\x00-\x09\x0b-\x1f]")
_SPACES = re.compile(r"\s")


def check_key_name(name: str) -> None:
    """Key names are non-empty, without Unicode spaces or ``+`` (they are ``+``-separated in keys)."""
    if not name or "+" in name or _SPACES.search(name) or _FORBIDDEN.search(name):
        raise NoteError(f"invalid key name {name!r}")


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """The 4-byte key id: SHA-256(name || 0x0A || type || public key)[:4]."""
    check_key_name(name)
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64: canonical padding only, so one signature has one spelling."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode() != text:
        raise NoteError(f"{what} is not canonical base64")
    return raw


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A parsed ``vkey``: ``<name>+<hex key id>+base64(<type> || <public key>)``."""

    name: str
    key_id: bytes
    sig_type: int
    public_key: bytes


def format_vkey(name: str, sig_type: int, public_key: bytes) -> str:
    """Encode a verifier key the way Go's ``note.NewVerifier`` reads it."""
    kid = key_id(name, sig_type, public_key)
    return f"{name}+{kid.hex()}+{base64.b64encode(bytes([sig_type]) + public_key).decode()}"


def parse_vkey(vkey: str) -> VerifierKey:
    """Parse a ``vkey`` and check that its key id matches its name and key."""
    parts = vkey.strip().split("+", 2)  # base64 may itself contain "+"
    if len(parts) != 3:
        raise NoteError("a verifier key has three '+'-separated parts")
    name, kid_hex, b64 = parts
    raw = _b64decode(b64, "verifier key")
    if len(raw) < 2 or not re.fullmatch(r"[0-9a-f]{8}", kid_hex):
        raise NoteError("malformed verifier key")
    kid = bytes.fromhex(kid_hex)
    if key_id(name, raw[0], raw[1:]) != kid:
        raise NoteError("verifier key id does not match its name and key")
    return VerifierKey(name=name, key_id=kid, sig_type=raw[0], public_key=raw[1:])


def _parse_skey(skey: str, sig_type: int) -> tuple[str, bytes]:
    """``PRIVATE+KEY+<name>+<hex key id>+base64(<type> || seed)`` → (name, seed), key id checked."""
    parts = skey.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError("malformed signer key")
    name, kid_hex, b64 = parts[2:]
    raw = _b64decode(b64, "signer key")
    if len(raw) != 33 or raw[0] != sig_type or not re.fullmatch(r"[0-9a-f]{8}", kid_hex):
        raise NoteError("malformed signer key")
    seed = raw[1:]
    public = _raw_public(Ed25519PrivateKey.from_private_bytes(seed).public_key())
    if key_id(name, sig_type, public).hex() != kid_hex:
        raise NoteError("signer key id does not match its name and key")
    return name, seed


def _format_skey(name: str, sig_type: int, private_key: Ed25519PrivateKey) -> str:
    seed = private_key.private_bytes_raw()
    kid = key_id(name, sig_type, _raw_public(private_key.public_key()))
    return f"PRIVATE+KEY+{name}+{kid.hex()}+{base64.b64encode(bytes([sig_type]) + seed).decode()}"


@runtime_checkable
class Signer(Protocol):
    """Anything that signs note text under a (name, key id)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def sign(self, text: bytes) -> bytes: ...


@runtime_checkable
class Verifier(Protocol):
    """Anything that checks a signature made by the (name, key id) it stands for."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> bytes: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...


class Ed25519Verifier:
    """Checks plain Ed25519 note signatures (type 0x01) from one key."""

    __slots__ = ("_key", "key_id", "name", "public_key")

    def __init__(self, *, name: str, public_key: Ed25519PublicKey) -> None:
        self.name = name
        self._key = public_key
        self.public_key = _raw_public(public_key)
        self.key_id = key_id(name, ED25519, self.public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> Ed25519Verifier:
        parsed = parse_vkey(vkey)
        if parsed.sig_type != ED25519 or len(parsed.public_key) != 32:
            raise NoteError("not an Ed25519 note verifier key")
        return cls(name=parsed.name, public_key=Ed25519PublicKey.from_public_bytes(parsed.public_key))

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, ED25519, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            self._key.verify(signature, text)
        except InvalidSignature:
            return False
        return True


class Ed25519Signer:
    """Signs notes with an Ed25519 key (type 0x01). Keyword-only: it holds a private key."""

    __slots__ = ("_key", "key_id", "name")

    def __init__(self, *, name: str, private_key: Ed25519PrivateKey) -> None:
        self.name = name
        self._key = private_key
        self.key_id = key_id(name, ED25519, _raw_public(private_key.public_key()))

    @classmethod
    def generate(cls, name: str) -> Ed25519Signer:
        return cls(name=name, private_key=Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Ed25519Signer:
        name, seed = _parse_skey(skey, ED25519)
        return cls(name=name, private_key=Ed25519PrivateKey.from_private_bytes(seed))

    def skey(self) -> str:
        """The private key in Go's ``note.NewSigner`` format; a method, so it is never printed by accident."""
        return _format_skey(self.name, ED25519, self._key)

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(name=self.name, public_key=self._key.public_key())

    @property
    def vkey(self) -> str:
        return self.verifier().vkey

    def sign(self, text: bytes) -> bytes:
        return self._key.sign(text)

    def __repr__(self) -> str:
        return f"Ed25519Signer(name={self.name!r}, key_id={self.key_id.hex()})"


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: who (name, key id) and the signature bytes after the key id."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """``— <name> base64(key id || signature)`` with its newline."""
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """An opened note: its text, the signatures that verified, and those from keys we do not know."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if _FORBIDDEN.search(text):
        raise NoteError("note text contains control characters")


def format_note(text: str, signatures: Sequence[NoteSignature]) -> str:
    """Assemble text and signature lines into a note."""
    _check_text(text)
    if not signatures:
        raise NoteError("a note needs at least one signature")
    return text + "\n" + "".join(sig.line() for sig in signatures)


def sign_note(text: str, *signers: Signer, existing: Sequence[NoteSignature] = ()) -> str:
    """Sign ``text`` with each signer, after any ``existing`` signatures."""
    _check_text(text)
    raw = text.encode()
    new = [NoteSignature(name=s.name, key_id=s.key_id, signature=s.sign(raw)) for s in signers]
    for sig in new:
        check_key_name(sig.name)
    return format_note(text, [*existing, *new])


def parse_note(note: str | bytes) -> tuple[str, list[NoteSignature]]:
    """Split a note into its text and signatures without verifying anything."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("note is not UTF-8") from exc
    if _FORBIDDEN.search(note):
        raise NoteError("note contains control characters")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no signature block")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("signature block must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signatures")
    sigs = []
    for line in lines:
        if not line.startswith(_DASH):
            raise NoteError("malformed signature line")
        name, _, b64 = line[len(_DASH) :].partition(" ")
        check_key_name(name)
        raw = _b64decode(b64, "signature")
        if len(raw) < 5:
            raise NoteError("signature too short")
        sigs.append(NoteSignature(name=name, key_id=raw[:4], signature=raw[4:]))
    return text, sigs


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """Verify a note: known keys must verify, unknown ones are set aside, at least one must be known."""
    text, sigs = parse_note(note)
    known: dict[tuple[str, bytes], Verifier] = {}
    for v in verifiers:
        if (v.name, v.key_id) in known:
            raise NoteError(f"two verifiers for key {v.name} {v.key_id.hex()}")
        known[(v.name, v.key_id)] = v
    raw = text.encode()
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    for sig in sigs:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            unverified.append(sig)
        elif verifier.verify(raw, sig.signature):
            if sig not in verified:
                verified.append(sig)
        else:
            raise NoteError(f"signature by {sig.name} does not verify")
    if not verified:
        raise NoteError("no signature from a known key")
    return Note(text=text, verified=tuple(verified), unverified=tuple(unverified))
