"""Every piece of the vault's cryptography, in one private module.

Envelope encryption: each vault has a 256-bit data key (DEK); field values are sealed with AES-256-GCM under it,
with a fresh 96-bit random nonce per seal and associated data binding the ciphertext to the citizen
(``sesame_id``), the field name and the version. The DEK is stored only wrapped by the master key-encryption key
(RFC 3394 AES key wrap through ``sesame.keys.KeyRing``) together with the KEK's id, so a KEK rotation re-wraps
DEKs without touching a single ciphertext, and erasure destroys the wrapped DEK (crypto-shredding).

Any failure to unwrap, decrypt or decode raises one opaque ``DecryptionError``; nothing here ever returns bytes
that did not authenticate.

Example::

    dek = new_data_key()
    kek_id, wrapped = wrap_data_key(keys=ring, dek=dek)
    sealed = seal_value(dek=dek, sesame_id=sid, field="email", version=1, value="a@example.org")
    dek = unwrap_data_key(keys=ring, kek_id=kek_id, wrapped=wrapped)
    assert open_value(dek=dek, sesame_id=sid, field="email", version=1, sealed=sealed) == "a@example.org"
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sesame.keys import KeyRing
from vault.errors import DecryptionError

__all__ = [
    "NONCE_SIZE",
    "DataKey",
    "HolderKey",
    "Sealed",
    "field_aad",
    "new_data_key",
    "new_holder_key",
    "new_salt",
    "new_sesame_id",
    "open_holder_key",
    "open_value",
    "rewrap_data_key",
    "salted_commitment",
    "seal_holder_key",
    "seal_value",
    "unwrap_data_key",
    "wrap_data_key",
]

KEY_SIZE = 32
NONCE_SIZE = 12
#: Domain-separation label of the associated data; bump the suffix if the AAD layout ever changes.
AAD_LABEL = b"sesame/vault/field/v1"
#: Pseudo field name under which the vault's holder key (SD-JWT key binding) is sealed.
HOLDER_KEY_FIELD = "_holder_key"
SESAME_ID_BYTES = 18  # 144 bits, 24 URL-safe characters


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class Sealed:
    """One AES-256-GCM ciphertext (tag appended) and the nonce it was sealed with."""

    nonce: bytes
    ciphertext: bytes


class DataKey:
    """A vault's unwrapped data key. Build only with ``new_data_key`` or ``unwrap_data_key``."""

    __slots__ = ("_aead",)

    def __init__(self, *, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise DecryptionError()
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "DataKey(<secret>)"

    def seal(self, plaintext: bytes, *, aad: bytes) -> Sealed:
        nonce = secrets.token_bytes(NONCE_SIZE)
        return Sealed(nonce=nonce, ciphertext=self._aead.encrypt(nonce, plaintext, aad))

    def open(self, sealed: Sealed, *, aad: bytes) -> bytes:
        if len(sealed.nonce) != NONCE_SIZE:
            raise DecryptionError()
        try:
            return self._aead.decrypt(sealed.nonce, sealed.ciphertext, aad)
        except (InvalidTag, ValueError, TypeError, OverflowError):
            raise DecryptionError() from None


# -- data keys and the KEK -----------------------------------------------------------------------------------
def new_data_key() -> tuple[DataKey, bytes]:
    """A fresh random DEK: the usable key and its raw bytes (to wrap right away, then forget)."""
    raw = secrets.token_bytes(KEY_SIZE)
    return DataKey(key=raw), raw


def wrap_data_key(*, keys: KeyRing, dek: bytes) -> tuple[str, bytes]:
    """Wrap raw DEK bytes under the current KEK: ``(kek_id, wrapped)``."""
    return keys.wrap(dek)


def unwrap_data_key(*, keys: KeyRing, kek_id: str | None, wrapped: bytes | None) -> DataKey:
    if kek_id is None or wrapped is None:
        raise DecryptionError()
    try:
        raw = keys.unwrap(kek_id, wrapped)
    except Exception:
        raise DecryptionError() from None
    return DataKey(key=raw)


def rewrap_data_key(*, keys: KeyRing, kek_id: str, wrapped: bytes) -> tuple[str, bytes]:
    """Unwrap under the old KEK and wrap under the current one; the DEK itself never changes."""
    try:
        raw = keys.unwrap(kek_id, wrapped)
    except Exception:
        raise DecryptionError() from None
    return keys.wrap(raw)


# -- field values --------------------------------------------------------------------------------------------
def field_aad(*, sesame_id: str, field: str, version: int) -> bytes:
    """Canonical associated data: a label, then each part length-prefixed, so no two inputs share bytes.

    ``AAD_LABEL || u16 len(sesame_id) || sesame_id || u16 len(field) || field || u32 version`` (UTF-8,
    big-endian). A ciphertext moved to another citizen, another field or another version no longer opens.
    """
    sid, name = sesame_id.encode(), field.encode()
    if len(sid) > 0xFFFF or len(name) > 0xFFFF or not 0 <= version <= 0xFFFFFFFF:
        raise ValueError("associated data out of range")
    return b"".join(
        (
            AAD_LABEL,
            struct.pack(">H", len(sid)),
            sid,
            struct.pack(">H", len(name)),
            name,
            struct.pack(">I", version),
        )
    )


def seal_value(*, dek: DataKey, sesame_id: str, field: str, version: int, value: Any) -> Sealed:
    """Encrypt a JSON value (its RFC 8785 canonical form) for one field version."""
    plaintext = rfc8785.dumps(value)
    return dek.seal(plaintext, aad=field_aad(sesame_id=sesame_id, field=field, version=version))


def open_value(*, dek: DataKey, sesame_id: str, field: str, version: int, sealed: Sealed) -> Any:
    plaintext = dek.open(sealed, aad=field_aad(sesame_id=sesame_id, field=field, version=version))
    try:
        return json.loads(plaintext)
    except ValueError:  # authenticated but not JSON: only a bug could do that; still opaque
        raise DecryptionError() from None


# -- the holder key (SD-JWT key binding) ---------------------------------------------------------------------
HolderKey = Ed25519PrivateKey


def new_holder_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def seal_holder_key(*, dek: DataKey, sesame_id: str, key: Ed25519PrivateKey) -> Sealed:
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return dek.seal(seed, aad=field_aad(sesame_id=sesame_id, field=HOLDER_KEY_FIELD, version=1))


def open_holder_key(*, dek: DataKey, sesame_id: str, sealed: Sealed) -> Ed25519PrivateKey:
    seed = dek.open(sealed, aad=field_aad(sesame_id=sesame_id, field=HOLDER_KEY_FIELD, version=1))
    try:
        return Ed25519PrivateKey.from_private_bytes(seed)
    except ValueError:
        raise DecryptionError() from None


# -- identifiers, salts, commitments -------------------------------------------------------------------------
def new_sesame_id() -> str:
    """An unguessable URL-safe identifier (144 random bits)."""
    return secrets.token_urlsafe(SESAME_ID_BYTES)


def new_salt() -> bytes:
    return secrets.token_bytes(32)


def salted_commitment(salt: bytes, payload: dict[str, Any]) -> str:
    """Hex ``SHA-256(salt || RFC 8785 JSON)``, the same commitment the ledger puts in personal leaves."""
    return hashlib.sha256(salt + rfc8785.dumps(payload)).hexdigest()


def b64url(data: bytes) -> str:
    return _b64url(data)
