"""Sign-up, tokens and the token attacks every deployment must refuse (on SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from sesame.accounts.models import Account
from sesame.accounts.services import issue_token
from sesame.keys import KeyRing

PASSWORD = "correct horse battery"


async def sign_up(client: AsyncTestClient[Litestar], email: str, kind: str = "citizen") -> dict[str, Any]:
    response = await client.post(
        "/api/v1/accounts", json={"kind": kind, "email": email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(client: AsyncTestClient[Litestar], email: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_sign_up_login_and_me(client: AsyncTestClient[Litestar]) -> None:
    created = await sign_up(client, "Alice@Example.org")
    assert created["email"] == "alice@example.org" and created["kind"] == "citizen"
    token = await login(client, "alice@example.org")
    me = await client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["id"] == created["id"]


async def test_duplicate_email_is_409(client: AsyncTestClient[Litestar]) -> None:
    await sign_up(client, "bob@example.org")
    again = await client.post(
        "/api/v1/accounts", json={"kind": "company", "email": "bob@example.org", "password": PASSWORD}
    )
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_admin_and_verifier_cannot_sign_up(client: AsyncTestClient[Litestar]) -> None:
    for kind in ("admin", "verifier"):
        response = await client.post(
            "/api/v1/accounts", json={"kind": kind, "email": f"{kind}@example.org", "password": PASSWORD}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"].startswith("body")


async def test_invalid_input_is_field_level_422(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(
        "/api/v1/accounts", json={"kind": "citizen", "email": "nope", "password": "x"}
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422 and problem["type"].endswith("invalid-input")
    fields = {e["field"] for e in problem["errors"]}
    assert {"body.email", "body.password"} <= fields


async def test_bad_json_wrong_types_and_huge_bodies_are_4xx(client: AsyncTestClient[Litestar]) -> None:
    bad_json = await client.post(
        "/api/v1/accounts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400
    wrong_types = await client.post("/api/v1/accounts", json={"kind": 3, "email": [], "password": {}})
    assert wrong_types.status_code == 422
    not_object = await client.post("/api/v1/accounts", json=[1, 2, 3])
    assert 400 <= not_object.status_code < 500
    huge = await client.post(
        "/api/v1/accounts",
        content=b"{" + b" " * 20_000_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413


async def test_wrong_password_then_rate_limit(client: AsyncTestClient[Litestar]) -> None:
    await sign_up(client, "carol@example.org")
    for _ in range(10):
        wrong = await client.post(
            "/api/v1/auth/token", json={"email": "carol@example.org", "password": "wrong!"}
        )
        assert wrong.status_code == 401
    limited = await client.post(
        "/api/v1/auth/token", json={"email": "carol@example.org", "password": PASSWORD}
    )
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0


async def test_unknown_email_is_401_not_404(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(
        "/api/v1/auth/token", json={"email": "ghost@example.org", "password": PASSWORD}
    )
    assert response.status_code == 401


async def test_token_attacks_are_401(client: AsyncTestClient[Litestar], app: Litestar) -> None:
    await sign_up(client, "dave@example.org")
    good = await login(client, "dave@example.org")
    claims = jwt.decode(good, options={"verify_signature": False})
    header = jwt.get_unverified_header(good)
    keys: KeyRing = app.state.keyring
    settings = app.state.settings
    public_pem = keys.signing_key("platform").public.public_bytes(
        encoding=__import__(
            "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]
        ).Encoding.PEM,
        format=__import__(
            "cryptography.hazmat.primitives.serialization", fromlist=["x"]
        ).PublicFormat.SubjectPublicKeyInfo,
    )
    import hashlib
    import hmac

    def hs256_with_public_key() -> str:
        head = _b64({"alg": "HS256", "typ": "JWT", "kid": header["kid"]})
        body = _b64(claims)
        sig = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()

    account = Account(id=int(claims["sub"]), kind="citizen", email="dave@example.org", password_hash="x")
    attacks = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "alg none with kid": f"{_b64({'alg': 'none', 'kid': header['kid']})}.{_b64(claims)}.",
        "HS256 with the public key": hs256_with_public_key(),
        "expired": issue_token(keys, settings, account, now=time.time() - 10 * 86_400),
        "wrong audience": jwt.encode(
            {**claims, "aud": "someone-else"},
            keys.signing_key().private,
            algorithm="EdDSA",
            headers={"kid": header["kid"]},
        ),
        "foreign key": jwt.encode(
            claims, foreign_private_key(), algorithm="EdDSA", headers={"kid": header["kid"]}
        ),
        "garbage": "not.a.token",
        "tampered claims": good.split(".")[0]
        + "."
        + _b64({**claims, "sub": "999"})
        + "."
        + good.split(".")[2],
    }
    for name, token in attacks.items():
        response = await client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert "WWW-Authenticate" in response.headers or "www-authenticate" in response.headers
    ok = await client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {good}"})
    assert ok.status_code == 200


def foreign_private_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


async def test_missing_and_malformed_authorization(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/api/v1/accounts/me")).status_code == 401
    basic = await client.get("/api/v1/accounts/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert basic.status_code == 401


async def test_jwks_serves_platform_key(client: AsyncTestClient[Litestar], app: Litestar) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    kids = {k["kid"] for k in response.json()["keys"]}
    assert app.state.keyring.signing_key("platform").kid in kids
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k for k in response.json()["keys"])


async def test_health_and_openapi(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/health")).json() == {"status": "ok", "database": "ok"}
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/accounts" in schema.json()["paths"]


async def test_unknown_route_is_problem_404(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_token_verified_once_still_expires(
    client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verified tokens are remembered per process; their expiry is checked on every use all the same."""
    await sign_up(client, "erin@example.org")
    token = await login(client, "erin@example.org")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/accounts/me", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/accounts/me", headers=headers)).status_code == 200  # from the cache
    expiry = jwt.decode(token, options={"verify_signature": False})["exp"]
    monkeypatch.setattr(time, "time", lambda: expiry + 1.0)
    assert (await client.get("/api/v1/accounts/me", headers=headers)).status_code == 401
    # One changed byte in the signature is a different token, verified afresh, and refused.
    head, body, sig = token.split(".")
    forged = f"{head}.{body}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}"
    monkeypatch.undo()
    forged_headers = {"Authorization": f"Bearer {forged}"}
    assert (await client.get("/api/v1/accounts/me", headers=forged_headers)).status_code == 401


async def test_an_erased_login_is_refused_although_its_token_was_verified(
    client: AsyncTestClient[Litestar],
) -> None:
    created = await sign_up(client, "fred@example.org")
    token = await login(client, "fred@example.org")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/accounts/me", headers=headers)).status_code == 200
    erased = await client.delete("/api/v1/vault", headers=headers)
    assert erased.status_code == 204, erased.text
    assert created["id"]
    assert (await client.get("/api/v1/accounts/me", headers=headers)).status_code == 401
