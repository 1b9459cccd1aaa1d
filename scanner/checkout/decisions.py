"""The platform's signature over a citizen's decision: a compact JWS (EdDSA) the till keeps as proof of consent.

Claims: ``sub``/``checkout_id``, ``company_id``, ``till_id``, ``amount`` (decimal string), ``currency``,
``decision`` (``confirmed``/``declined``), ``decided_at`` and ``iat``, and ``prompt_sha256``, the SHA-256 of the
RFC 8785 JSON of what the citizen was shown (basket, amount, indicators, sentence). The header names the
platform key (``kid``) published at ``/.well-known/jwks.json``; the audience is ``company:<id>``.

    token = sign_decision(keys, issuer="sesame", checkout=checkout, decision="confirmed", at=now)
    claims = verify_decision(public_key, token, company_id=checkout.company_id, issuer="sesame")
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

import jwt
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from scanner.checkout import money
from scanner.checkout.errors import CheckoutError
from scanner.checkout.models import Checkout, as_utc
from sesame.keys import KeyRing

JWS_TYPE = "sesame-checkout-decision+jwt"


class DecisionSignatureError(CheckoutError):
    type_slug = "decision-signature-invalid"
    title = "The decision's signature does not verify"


def shown(checkout: Checkout) -> dict[str, Any]:
    """Exactly what the citizen was asked about."""
    return {
        "checkout_id": checkout.id,
        "company": {"id": checkout.company_id, "name": checkout.company_name},
        "items": checkout.items,
        "amount": money.to_decimal_string(checkout.amount_minor, checkout.currency),
        "currency": checkout.currency,
        "prompt": checkout.prompt,
    }


def prompt_digest(checkout: Checkout) -> str:
    digest = hashlib.sha256(rfc8785.dumps(shown(checkout))).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_decision(keys: KeyRing, *, issuer: str, checkout: Checkout, decision: str, at: datetime) -> str:
    key = keys.signing_key("platform")
    claims = {
        "iss": issuer,
        "aud": f"company:{checkout.company_id}",
        "sub": checkout.id,
        "iat": int(at.timestamp()),
        "checkout_id": checkout.id,
        "company_id": checkout.company_id,
        "till_id": checkout.till_id,
        "amount": money.to_decimal_string(checkout.amount_minor, checkout.currency),
        "currency": checkout.currency,
        "decision": decision,
        "decided_at": at.isoformat().replace("+00:00", "Z"),
        "prompt_sha256": prompt_digest(checkout),
    }
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid, "typ": JWS_TYPE})


def verify_decision(
    public_key: Ed25519PublicKey, token: str, *, company_id: int, issuer: str
) -> dict[str, Any]:
    try:
        if jwt.get_unverified_header(token).get("typ") != JWS_TYPE:
            raise DecisionSignatureError("not a checkout decision")
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=["EdDSA"],
            audience=f"company:{company_id}",
            issuer=issuer,
            options={"require": ["iss", "aud", "sub", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise DecisionSignatureError() from exc
    return claims


def ledger_fields(checkout: Checkout) -> dict[str, Any]:
    """What the decision's ledger leaf commits to (salted): the citizen can recompute it from the checkout."""
    return {
        "checkout_id": checkout.id,
        "company_id": checkout.company_id,
        "amount": money.to_decimal_string(checkout.amount_minor, checkout.currency),
        "currency": checkout.currency,
        "decision": checkout.status,
        "decided_at": as_utc(checkout.decided_at or checkout.created_at).isoformat().replace("+00:00", "Z"),
        "decision_jws_sha256": hashlib.sha256((checkout.decision_jws or "").encode()).hexdigest(),
    }
