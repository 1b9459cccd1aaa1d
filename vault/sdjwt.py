"""SD-JWT (RFC 9901) with key binding, on PyJWT and hashlib: issue, present, verify. Flat claims only.

* A **Disclosure** is ``base64url(UTF-8 JSON [salt, claim name, value])``; its digest is
  ``base64url(SHA-256(ASCII of the Disclosure))`` (RFC 9901 §4.2.3: the encoded string, never re-serialised).
* The **issuer-signed JWT** (EdDSA, the platform key) carries ``_sd`` (sorted digests, plus decoys so the
  number of claims is hidden), ``_sd_alg: "sha-256"`` and ``cnf.jwk``, the holder's public key.
* The **presentation** is ``<issuer JWT>~<Disclosure>~...~<KB-JWT>``. The **KB-JWT** (``typ: kb+jwt``),
  signed by the holder key, carries ``iat``, ``aud``, ``nonce`` and ``sd_hash``, the digest of everything
  before it (``<issuer JWT>~<Disclosure>~...~``).

Example::

    issued = issue(issuer_key=ring.signing_key("platform"), issuer="https://sesame.example",
                   claims={"given_name": "Ada"}, holder_public=holder.public_key(), now=now)
    token = present(issued, holder_key=holder, audience="https://shop.example", nonce="n-1", now=now)
    verified = verify_presentation(token, ring.jwks(), "https://shop.example", "n-1", now=now)
    verified.claims   # {"given_name": "Ada"}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sesame.keys import SigningKey
from vault.errors import InvalidPresentation

__all__ = [
    "ISSUER_TYP",
    "KB_TYP",
    "Disclosure",
    "IssuedSdJwt",
    "VerifiedPresentation",
    "digest",
    "issue",
    "make_disclosure",
    "parse_disclosure",
    "present",
    "verify_presentation",
]

SD_ALG = "sha-256"
ISSUER_TYP = "sesame+sd-jwt"
KB_TYP = "kb+jwt"
SALT_BYTES = 16  # 128 bits, RFC 9901 §9.3
ISSUER_TTL = 600
KB_MAX_AGE = 300
CLOCK_SKEW = 30
_RESERVED_NAMES = frozenset({"_sd", "...", "_sd_alg", "cnf", "iss", "iat", "exp", "nbf", "sub", "aud", "jti"})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not text or any(
        c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text
    ):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(encoded: str) -> str:
    """RFC 9901 §4.2.3: SHA-256 over the ASCII bytes of the base64url Disclosure (or of an SD-JWT, for sd_hash)."""
    return _b64url(hashlib.sha256(encoded.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class Disclosure:
    encoded: str
    salt: str
    name: str
    value: Any

    @property
    def digest(self) -> str:
        return digest(self.encoded)


def make_disclosure(name: str, value: Any, *, salt: str | None = None) -> Disclosure:
    salt = salt if salt is not None else _b64url(secrets.token_bytes(SALT_BYTES))
    raw = json.dumps([salt, name, value], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Disclosure(encoded=_b64url(raw), salt=salt, name=name, value=value)


def parse_disclosure(encoded: str) -> Disclosure:
    """Decode an object-property Disclosure; anything else is an ``InvalidPresentation``."""
    try:
        decoded = json.loads(_b64url_decode(encoded).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidPresentation("a disclosure is not base64url JSON") from None
    if not isinstance(decoded, list) or len(decoded) != 3:
        raise InvalidPresentation("a disclosure is not a [salt, name, value] array")
    salt, name, value = decoded
    if not isinstance(salt, str) or not isinstance(name, str):
        raise InvalidPresentation("a disclosure's salt and name must be strings")
    if name in ("_sd", "..."):
        raise InvalidPresentation("a disclosure may not use a reserved claim name")
    return Disclosure(encoded=encoded, salt=salt, name=name, value=value)


@dataclass(frozen=True, slots=True)
class IssuedSdJwt:
    """The issuer-signed JWT and every Disclosure: ``serialise()`` gives ``<JWT>~<D1>~...~<Dn>~``."""

    jwt: str
    disclosures: tuple[Disclosure, ...]

    def serialise(self, names: Iterable[str] | None = None) -> str:
        chosen = [d for d in self.disclosures if names is None or d.name in set(names)]
        return "".join([self.jwt, "~", *(d.encoded + "~" for d in chosen)])


def _public_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}


def _jwk_public(jwk_: Mapping[str, Any]) -> Ed25519PublicKey:
    if jwk_.get("kty") != "OKP" or jwk_.get("crv") != "Ed25519" or not isinstance(jwk_.get("x"), str):
        raise InvalidPresentation("only Ed25519 keys are accepted")
    try:
        return Ed25519PublicKey.from_public_bytes(_b64url_decode(jwk_["x"]))
    except (ValueError, binascii.Error):
        raise InvalidPresentation("a key is malformed") from None


def issue(
    *,
    issuer_key: SigningKey,
    issuer: str,
    claims: Mapping[str, Any],
    holder_public: Ed25519PublicKey,
    now: int | None = None,
    ttl: int = ISSUER_TTL,
    decoys: int | None = None,
) -> IssuedSdJwt:
    """Every claim selectively disclosable, bound to the holder's key, signed EdDSA by the platform."""
    issued_at = int(time.time()) if now is None else now
    bad = sorted(set(claims) & _RESERVED_NAMES)
    if bad:
        raise ValueError(f"reserved claim names: {bad}")
    disclosures = tuple(make_disclosure(name, value) for name, value in claims.items())
    decoy_count = secrets.randbelow(3) + 1 if decoys is None else decoys
    digests = [d.digest for d in disclosures] + [
        _b64url(hashlib.sha256(secrets.token_bytes(SALT_BYTES)).digest()) for _ in range(decoy_count)
    ]
    payload: dict[str, Any] = {
        "iss": issuer,
        "iat": issued_at,
        "exp": issued_at + ttl,
        "_sd": sorted(digests),
        "_sd_alg": SD_ALG,
        "cnf": {"jwk": _public_jwk(holder_public)},
    }
    token = jwt.encode(
        payload, issuer_key.private, algorithm="EdDSA", headers={"kid": issuer_key.kid, "typ": ISSUER_TYP}
    )
    return IssuedSdJwt(jwt=token, disclosures=disclosures)


def present(
    issued: IssuedSdJwt,
    *,
    holder_key: Ed25519PrivateKey,
    audience: str,
    nonce: str,
    names: Iterable[str] | None = None,
    now: int | None = None,
) -> str:
    """The holder's presentation of the chosen Disclosures (all by default) with a KB-JWT."""
    sd_jwt = issued.serialise(names)
    kb = jwt.encode(
        {
            "iat": int(time.time()) if now is None else now,
            "aud": audience,
            "nonce": nonce,
            "sd_hash": digest(sd_jwt),
        },
        holder_key,
        algorithm="EdDSA",
        headers={"typ": KB_TYP},
    )
    return sd_jwt + kb


@dataclass(frozen=True, slots=True)
class VerifiedPresentation:
    issuer: str
    claims: dict[str, Any]
    holder_jwk: dict[str, Any]
    issued_at: int
    kid: str
    disclosed: list[str] = field(default_factory=list)


def _keys_by_kid(jwks: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    keys = jwks.get("keys", []) if isinstance(jwks, Mapping) else jwks
    return {str(k["kid"]): k for k in keys if isinstance(k, Mapping) and "kid" in k}


def _decode(token: str, key: Ed25519PublicKey, typ: str, **options: Any) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidPresentation("a JWT is malformed") from None
    if header.get("alg") != "EdDSA":
        raise InvalidPresentation("only EdDSA signatures are accepted")
    if header.get("typ") != typ:
        raise InvalidPresentation(f"the JWT must have typ {typ}")
    try:
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=["EdDSA"], **options)
    except jwt.ExpiredSignatureError:
        raise InvalidPresentation("the SD-JWT has expired") from None
    except jwt.InvalidAudienceError:
        raise InvalidPresentation("the key binding is for another audience") from None
    except jwt.PyJWTError:
        raise InvalidPresentation(f"the {typ} signature or claims do not verify") from None
    return claims


def verify_presentation(
    token: str,
    jwks: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    audience: str,
    nonce: str,
    *,
    now: int | None = None,
    max_age: int = KB_MAX_AGE,
) -> VerifiedPresentation:
    """RFC 9901 §7.1-7.3 for flat SD-JWTs with mandatory key binding; raises ``InvalidPresentation``."""
    current = int(time.time()) if now is None else now
    if not isinstance(token, str) or token.count("~") < 1 or len(token) > 64_000:
        raise InvalidPresentation("not an SD-JWT presentation")
    parts = token.split("~")
    issuer_jwt, encoded_disclosures, kb_jwt = parts[0], parts[1:-1], parts[-1]
    if not kb_jwt:
        raise InvalidPresentation("key binding is required")
    if any(not d for d in encoded_disclosures):
        raise InvalidPresentation("empty disclosure")

    # 1. The issuer's signature, by kid from the JWKS.
    try:
        kid = jwt.get_unverified_header(issuer_jwt).get("kid")
    except jwt.PyJWTError:
        raise InvalidPresentation("the issuer-signed JWT is malformed") from None
    jwk_ = _keys_by_kid(jwks).get(str(kid)) if kid is not None else None
    if jwk_ is None:
        raise InvalidPresentation("the issuer key is not in the JWKS")
    payload = _decode(
        issuer_jwt,
        _jwk_public(jwk_),
        ISSUER_TYP,
        options={
            "require": ["iss", "iat", "exp"],
            "verify_aud": False,
            "verify_exp": False,
            "verify_iat": False,
        },
    )
    exp = payload.get("exp")
    if not isinstance(exp, int) or current > exp + CLOCK_SKEW:
        raise InvalidPresentation("the SD-JWT has expired")
    if payload.get("_sd_alg") != SD_ALG:
        raise InvalidPresentation("unsupported _sd_alg")
    sd = payload.get("_sd")
    if not isinstance(sd, list) or not all(isinstance(x, str) for x in sd) or len(set(sd)) != len(sd):
        raise InvalidPresentation("_sd must be a list of distinct digests")

    # 2. Every disclosure referenced exactly once, no claim name twice, none clashing with plain claims.
    claims: dict[str, Any] = {}
    seen: set[str] = set()
    available = set(sd)
    for encoded in encoded_disclosures:
        disclosure = parse_disclosure(encoded)
        d = disclosure.digest
        if d in seen:
            raise InvalidPresentation("a disclosure is repeated")
        if d not in available:
            raise InvalidPresentation("a disclosure is not referenced by the SD-JWT")
        if disclosure.name in payload or disclosure.name in claims or disclosure.name in _RESERVED_NAMES:
            raise InvalidPresentation("a disclosed claim name clashes")
        seen.add(d)
        claims[disclosure.name] = disclosure.value

    # 3. Key binding: the holder key from cnf, typ kb+jwt, audience, nonce, freshness, sd_hash.
    cnf = payload.get("cnf")
    if not isinstance(cnf, dict) or not isinstance(cnf.get("jwk"), dict):
        raise InvalidPresentation("the SD-JWT has no holder key (cnf.jwk)")
    kb = _decode(
        kb_jwt,
        _jwk_public(cnf["jwk"]),
        KB_TYP,
        audience=audience,
        options={"require": ["iat", "aud"], "verify_exp": False, "verify_iat": False},
    )
    iat = kb.get("iat")
    if not isinstance(iat, int) or iat > current + CLOCK_SKEW or iat < current - max_age:
        raise InvalidPresentation("the key binding is not fresh")
    kb_nonce = kb.get("nonce")
    if not isinstance(kb_nonce, str) or not hmac.compare_digest(kb_nonce.encode(), nonce.encode()):
        raise InvalidPresentation("the key binding nonce does not match")
    expected = digest(token[: len(token) - len(kb_jwt)])
    sd_hash = kb.get("sd_hash")
    if not isinstance(sd_hash, str) or not hmac.compare_digest(sd_hash.encode(), expected.encode()):
        raise InvalidPresentation("sd_hash does not match the presented SD-JWT")

    return VerifiedPresentation(
        issuer=str(payload["iss"]),
        claims=claims,
        holder_jwk=dict(cnf["jwk"]),
        issued_at=int(payload["iat"]),
        kid=str(kid),
        disclosed=sorted(claims),
    )
