"""vault.sdjwt against RFC 9901: the specification's vectors, round trips, and every check of §7."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sesame.keys import KeyRing, SigningKey
from vault import sdjwt
from vault.errors import InvalidPresentation

NOW = 1_790_000_000
AUD = "https://shop.example"
NONCE = "n-0S6_WzA2Mj"
CLAIMS: dict[str, Any] = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "email": "ada@example.org",
    "postal_address": {"street": "1 Main St", "postal_code": "75001", "city": "Paris", "country": "FR"},
}

# RFC 9901 §4.2.1 / §4.2.3 and §4.2.2 / §4.2.4.2 (the digests are published alongside).
RFC_DISCLOSURE = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
RFC_DIGEST = "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
RFC_ARRAY_DISCLOSURE = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0"
RFC_ARRAY_DIGEST = "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return KeyRing.load(key_dir=tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def holder() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def issue(ring: KeyRing, holder: Ed25519PrivateKey, **kwargs: Any) -> sdjwt.IssuedSdJwt:
    return sdjwt.issue(
        issuer_key=kwargs.pop("issuer_key", ring.signing_key("platform")),
        issuer="https://sesame.test",
        claims=kwargs.pop("claims", CLAIMS),
        holder_public=holder.public_key(),
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


def token_for(ring: KeyRing, holder: Ed25519PrivateKey, **kwargs: Any) -> str:
    names = kwargs.pop("names", None)
    return sdjwt.present(
        issue(ring, holder),
        holder_key=holder,
        audience=AUD,
        nonce=NONCE,
        names=names,
        now=kwargs.pop("now", NOW),
    )


def verify(ring: KeyRing, token: str, **kwargs: Any) -> sdjwt.VerifiedPresentation:
    return sdjwt.verify_presentation(
        token,
        {"keys": ring.jwks()},
        kwargs.pop("audience", AUD),
        kwargs.pop("nonce", NONCE),
        now=kwargs.pop("now", NOW),
    )


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# -- the specification's vectors -----------------------------------------------------------------------------
def test_rfc_disclosure_digest_vector() -> None:
    assert sdjwt.digest(RFC_DISCLOSURE) == RFC_DIGEST
    assert sdjwt.digest(RFC_ARRAY_DISCLOSURE) == RFC_ARRAY_DIGEST


def test_rfc_disclosure_parses() -> None:
    d = sdjwt.parse_disclosure(RFC_DISCLOSURE)
    assert (d.salt, d.name, d.value) == ("_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius")
    assert d.digest == RFC_DIGEST


def test_array_element_disclosures_are_not_object_properties() -> None:
    with pytest.raises(InvalidPresentation):
        sdjwt.parse_disclosure(RFC_ARRAY_DISCLOSURE)


def test_made_disclosure_is_a_base64url_json_array() -> None:
    d = sdjwt.make_disclosure("family_name", "Möbius", salt="_26bc4LT-ac6q2KI6cBW5es")
    decoded = json.loads(base64.urlsafe_b64decode(d.encoded + "=" * (-len(d.encoded) % 4)))
    assert decoded == ["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"]
    assert "=" not in d.encoded and d.digest == sdjwt.digest(d.encoded)
    fresh = sdjwt.make_disclosure("x", 1)
    assert len(base64.urlsafe_b64decode(fresh.salt + "==")) == 16


# -- structure -----------------------------------------------------------------------------------------------
def test_issued_structure(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    issued = issue(ring, holder, decoys=3)
    header = jwt.get_unverified_header(issued.jwt)
    payload = jwt.decode(issued.jwt, options={"verify_signature": False})
    assert (
        header["alg"] == "EdDSA"
        and header["typ"] == sdjwt.ISSUER_TYP
        and header["kid"] == ring.signing_key().kid
    )
    assert payload["_sd_alg"] == "sha-256"
    assert payload["_sd"] == sorted(payload["_sd"]) and len(payload["_sd"]) == len(CLAIMS) + 3
    assert {d.digest for d in issued.disclosures} <= set(payload["_sd"])
    assert payload["cnf"]["jwk"]["kty"] == "OKP" and payload["cnf"]["jwk"]["crv"] == "Ed25519"
    for value in ("Ada", "Lovelace", "ada@example.org"):
        assert value not in json.dumps(payload)  # only digests in the signed part


def test_presentation_shape(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    token = token_for(ring, holder)
    parts = token.split("~")
    assert len(parts) == 2 + len(CLAIMS)
    kb_header = jwt.get_unverified_header(parts[-1])
    kb = jwt.decode(parts[-1], options={"verify_signature": False})
    assert kb_header["typ"] == "kb+jwt" and kb_header["alg"] == "EdDSA"
    assert set(kb) == {"iat", "aud", "nonce", "sd_hash"}
    assert kb["sd_hash"] == sdjwt.digest(token[: token.rindex("~") + 1])


# -- verification --------------------------------------------------------------------------------------------
def test_round_trip(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    verified = verify(ring, token_for(ring, holder))
    assert verified.claims == CLAIMS
    assert verified.issuer == "https://sesame.test"
    assert verified.disclosed == sorted(CLAIMS)


def test_selective_disclosure(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    verified = verify(ring, token_for(ring, holder, names=["email"]))
    assert verified.claims == {"email": "ada@example.org"}


def test_jwks_as_a_list(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    token = token_for(ring, holder)
    assert sdjwt.verify_presentation(token, ring.jwks(), AUD, NONCE, now=NOW).claims == CLAIMS


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"audience": "https://other.example"}, "audience"),
        ({"nonce": "another-nonce"}, "nonce"),
        ({"now": NOW + 400}, "fresh"),
        ({"now": NOW - 3600}, "fresh"),
    ],
)
def test_key_binding_checks(
    ring: KeyRing, holder: Ed25519PrivateKey, kwargs: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidPresentation, match=reason):
        verify(ring, token_for(ring, holder), **kwargs)


def test_expired_sd_jwt(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    token = sdjwt.present(
        issue(ring, holder, ttl=60), holder_key=holder, audience=AUD, nonce=NONCE, now=NOW + 200
    )
    with pytest.raises(InvalidPresentation, match="expired"):
        verify(ring, token, now=NOW + 200)


def test_dropping_a_disclosure_breaks_sd_hash(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    parts = token_for(ring, holder).split("~")
    tampered = "~".join([parts[0], *parts[2:]])
    with pytest.raises(InvalidPresentation, match="sd_hash"):
        verify(ring, tampered)


def test_forged_disclosure_is_not_referenced(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    issued = issue(ring, holder)
    forged = sdjwt.IssuedSdJwt(
        jwt=issued.jwt,
        disclosures=(*issued.disclosures[:-1], sdjwt.make_disclosure("email", "evil@example.org")),
    )
    token = sdjwt.present(forged, holder_key=holder, audience=AUD, nonce=NONCE, now=NOW)
    with pytest.raises(InvalidPresentation, match="not referenced"):
        verify(ring, token)


def test_repeated_disclosure(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    issued = issue(ring, holder)
    doubled = sdjwt.IssuedSdJwt(jwt=issued.jwt, disclosures=(*issued.disclosures, issued.disclosures[0]))
    token = sdjwt.present(doubled, holder_key=holder, audience=AUD, nonce=NONCE, now=NOW)
    with pytest.raises(InvalidPresentation, match="repeated"):
        verify(ring, token)


def test_key_binding_by_another_key(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    token = sdjwt.present(
        issue(ring, holder), holder_key=Ed25519PrivateKey.generate(), audience=AUD, nonce=NONCE, now=NOW
    )
    with pytest.raises(InvalidPresentation, match="signature"):
        verify(ring, token)


def test_issuer_not_in_jwks(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    stranger = SigningKey.generate()
    token = sdjwt.present(
        issue(ring, holder, issuer_key=stranger), holder_key=holder, audience=AUD, nonce=NONCE, now=NOW
    )
    with pytest.raises(InvalidPresentation, match="JWKS"):
        verify(ring, token)


def test_issuer_signature_must_verify(ring: KeyRing, holder: Ed25519PrivateKey, tmp_path: Path) -> None:
    impostor = SigningKey.generate()
    forged = SigningKey(kid=ring.signing_key().kid, private=impostor.private)  # right kid, wrong key
    token = sdjwt.present(
        issue(ring, holder, issuer_key=forged), holder_key=holder, audience=AUD, nonce=NONCE, now=NOW
    )
    with pytest.raises(InvalidPresentation, match="signature"):
        verify(ring, token)


def test_alg_none_and_missing_key_binding_are_refused(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    token = token_for(ring, holder)
    issuer_jwt = token.split("~")[0]
    _, payload, _ = issuer_jwt.split(".")
    unsigned = (
        b64({"alg": "none", "typ": sdjwt.ISSUER_TYP, "kid": ring.signing_key().kid}) + "." + payload + "."
    )
    with pytest.raises(InvalidPresentation):
        verify(ring, unsigned + token[len(issuer_jwt) :])
    with pytest.raises(InvalidPresentation, match="key binding is required"):
        verify(ring, token[: token.rindex("~") + 1])
    with pytest.raises(InvalidPresentation):
        verify(ring, "not-a-presentation")


def test_wrong_typ_is_refused(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    key = ring.signing_key()
    payload = jwt.decode(issue(ring, holder).jwt, options={"verify_signature": False})
    plain = jwt.encode(payload, key.private, algorithm="EdDSA", headers={"kid": key.kid})  # typ JWT
    token = sdjwt.present(
        sdjwt.IssuedSdJwt(jwt=plain, disclosures=()), holder_key=holder, audience=AUD, nonce=NONCE, now=NOW
    )
    with pytest.raises(InvalidPresentation, match="typ"):
        verify(ring, token)


def test_reserved_claim_names_are_not_issued(ring: KeyRing, holder: Ed25519PrivateKey) -> None:
    with pytest.raises(ValueError):
        issue(ring, holder, claims={"_sd": "x"})
