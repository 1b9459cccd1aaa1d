"""Verifier keys and attestation JWS: the only crypto of company_profiles.

Each verifier has its own Ed25519 key. The private key is stored only wrapped under the master KEK
(``KeyRing.wrap``), so it rotates with the KEK (``rewrap``) and never sits in the database in clear. An
attestation is a compact JWS (``alg: EdDSA``, ``typ: sesame-attestation+jwt``, ``kid``: the verifier key's
RFC 7638 thumbprint) that anyone can check against ``/.well-known/jwks.json``.

Library errors stop here: a bad signature or a malformed token is one ``AttestationSignatureError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sesame.keys import KeyRing, SigningKey, b64url, b64url_decode, public_jwk

__all__ = [
    "ALGORITHM",
    "JWS_TYPE",
    "AttestationSignatureError",
    "NewVerifierKey",
    "generate_verifier_key",
    "jwk",
    "rewrap",
    "sign_attestation",
    "unverified_kid",
    "verify_attestation_jws",
]

ALGORITHM = "EdDSA"
JWS_TYPE = "sesame-attestation+jwt"


class AttestationSignatureError(Exception):
    """The JWS is malformed or its signature does not verify; deliberately says no more."""


@dataclass(frozen=True, slots=True)
class NewVerifierKey:
    kid: str
    public_key: str
    kek_id: str
    wrapped_private: bytes


def generate_verifier_key(keys: KeyRing) -> NewVerifierKey:
    """A fresh Ed25519 key; the seed leaves this function only wrapped under the current KEK."""
    key = SigningKey.generate()
    kek_id, wrapped = keys.wrap(key.seed)
    raw = key.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return NewVerifierKey(kid=key.kid, public_key=b64url(raw), kek_id=kek_id, wrapped_private=wrapped)


def rewrap(keys: KeyRing, kek_id: str, wrapped: bytes) -> tuple[str, bytes]:
    """Re-wrap a verifier seed under the current KEK (key rotation); returns ``(kek_id, wrapped)``."""
    return keys.wrap(keys.unwrap(kek_id, wrapped))


def _private(keys: KeyRing, kek_id: str, wrapped: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(keys.unwrap(kek_id, wrapped))


def _public(public_key: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(b64url_decode(public_key))


def sign_attestation(
    keys: KeyRing, *, kid: str, kek_id: str, wrapped_private: bytes, claims: dict[str, Any]
) -> str:
    """The compact JWS of ``claims`` under the verifier key ``kid``."""
    private = _private(keys, kek_id, wrapped_private)
    return jwt.encode(claims, private, algorithm=ALGORITHM, headers={"kid": kid, "typ": JWS_TYPE})


def unverified_kid(token: str) -> str | None:
    """The ``kid`` of a JWS header, read before any check (only to find the key)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str):
        return None
    return kid


def verify_attestation_jws(token: str, *, public_key: str) -> dict[str, Any]:
    """Check the signature (EdDSA only) and return the claims; time is checked by the caller."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _public(public_key),
            algorithms=[ALGORITHM],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "require": ["iss", "sub", "iat", "exp", "jti"],
            },
        )
    except (jwt.PyJWTError, ValueError) as exc:
        raise AttestationSignatureError("the attestation's signature does not verify") from exc
    return claims


def jwk(kid: str, public_key: str) -> dict[str, str]:
    """The public JWK (RFC 8037 OKP) of a verifier key."""
    return public_jwk(_public(public_key), kid=kid)
