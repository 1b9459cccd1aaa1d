"""Token, browser and input attacks across the whole app, on the seeded world.

``tests/sesame/test_accounts.py`` proves the token attacks on one endpoint and ``tests/web/test_security.py`` the
CSRF and cookie rules on a few pages; here every attack is tried on endpoints of every package and role, every
web form is tried without its CSRF token, and the size limits are pushed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from PIL import Image

from scanner import qr
from sesame.accounts.models import Account
from sesame.accounts.services import issue_token
from tests.e2e.authz_matrix import MATRIX, SAFE, expected
from tests.e2e.conftest import InProcessApp
from tests.e2e.test_authz_matrix import Call, route_table
from tests.e2e.world import GTINS, World

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


class Target(InProcessApp):
    def __init__(self, world: World, folder: Path) -> None:
        super().__init__(world, folder)
        self.start()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        self.client.cookies.clear()
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 5)
        return self.client.request(method, path, **kwargs)

    def account(self, role: str) -> Account:
        party = self.world.parties[role]
        return Account(id=party.account_id, kind=party.kind, email=party.email, password_hash="-")

    def csrf(self) -> tuple[str, str]:
        """A valid (cookie, form field) CSRF pair, from the login page."""
        page = self.request("GET", "/login")
        found = _CSRF.search(page.text)
        assert found and page.cookies.get("sesame_csrf")
        return page.cookies["sesame_csrf"], found.group(1)


@pytest.fixture(scope="module")
def target(seeded_world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield Target(seeded_world, tmp_path_factory.mktemp("attacks"))


@pytest.fixture
def fresh(target: Target) -> Target:
    target.reset()
    return target


# -- tokens ------------------------------------------------------------------------------------------------------


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _forgeries(target: Target, role: str) -> dict[str, str]:
    """Tokens an attacker could present for ``role``'s account, none of which may be honoured."""
    keys, settings = target.app.state.keyring, target.settings
    good = issue_token(keys, settings, target.account(role))
    claims = jwt.decode(good, options={"verify_signature": False})
    kid = jwt.get_unverified_header(good)["kid"]
    platform = keys.signing_key("platform")
    pem = platform.public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    raw = platform.public.public_bytes(Encoding.Raw, PublicFormat.Raw)

    def hs256(secret: bytes) -> str:
        head, body = _b64({"alg": "HS256", "typ": "JWT", "kid": kid}), _b64(claims)
        signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(signature)}"

    def signed(payload: dict[str, Any], private: Any = None, header_kid: str = kid) -> str:
        return jwt.encode(
            payload, private or platform.private, algorithm="EdDSA", headers={"kid": header_kid}
        )

    ledger = keys.signing_key("ledger")
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "alg none with the kid": f"{_b64({'alg': 'none', 'kid': kid})}.{_b64(claims)}.",
        "HS256 keyed with the public key (PEM)": hs256(pem),
        "HS256 keyed with the public key (raw)": hs256(raw),
        "expired": issue_token(keys, settings, target.account(role), now=time.time() - 2 * 86_400),
        "wrong audience": signed({**claims, "aud": "another-service"}),
        "wrong issuer": signed({**claims, "iss": "https://evil.example"}),
        "no expiry": signed({k: v for k, v in claims.items() if k != "exp"}),
        "a foreign key under the platform's kid": signed(claims, Ed25519PrivateKey.generate()),
        "signed by the ledger's log key": signed(claims, ledger.private, ledger.kid),
        "unknown account": signed({**claims, "sub": "987654"}),
        "subject not a number": signed({**claims, "sub": "1 OR 1=1"}),
        "tampered subject": f"{good.split('.')[0]}.{_b64({**claims, 'sub': '1'})}.{good.split('.')[2]}",
        "garbage": "not.a.token",
    }


#: (role whose token would be valid, method, path template) across every package.
PROTECTED: list[tuple[str, str, str]] = [
    ("citizen", "GET", "/api/v1/accounts/me"),
    ("citizen", "GET", "/api/v1/vault"),
    ("citizen", "GET", "/api/v1/vault/fields"),
    ("citizen", "GET", "/api/v1/vault/receipts"),
    ("citizen", "GET", "/api/v1/vault/checkouts/events"),
    ("citizen", "GET", "/api/v1/vault/dossiers"),
    ("citizen", "PUT", "/api/v1/vault/settings"),
    ("company", "GET", "/api/v1/sesames/{sesame}/fields"),
    ("company", "GET", "/api/v1/tills"),
    ("company", "POST", "/api/v1/checkouts"),
    ("company", "GET", "/api/v1/offers"),
    ("verifier", "POST", "/api/v1/companies/{company}/attestations"),
    ("admin", "POST", "/api/v1/ledger/witnesses"),
]
BODIES: dict[str, Any] = {
    "PUT /api/v1/vault/settings": {"contactless": True, "highlights": [], "language": "fr"},
    "POST /api/v1/checkouts": {
        "sesame_id": "placeholder",
        "items": [{"gtin": "03760000000017", "quantity": 1}],
        "currency": "EUR",
        "amount": "1.00",
    },
    "POST /api/v1/companies/{company}/attestations": {"indicator": "headcount", "value": 14},
    "POST /api/v1/ledger/witnesses": {"vkey": "witness.example+00000000+AAAA"},
}


def _protected_request(target: Target, method: str, template: str, token: str) -> tuple[str, dict[str, Any]]:
    """The path and the request's keyword arguments, authenticated by ``token``."""
    world = target.world
    path = template.format(sesame=world.parties["citizen"].sesame_id, company=world.res["company"]["1"])
    kwargs: dict[str, Any] = {"headers": {"Idempotency-Key": "attack-1", "Authorization": f"Bearer {token}"}}
    body = BODIES.get(f"{method} {template}")
    if body is not None:
        kwargs["json"] = body
    return path, kwargs


@pytest.mark.parametrize(("role", "method", "template"), PROTECTED, ids=lambda v: str(v))
def test_forged_tokens_are_401_on_every_package(
    target: Target, role: str, method: str, template: str
) -> None:
    path, kwargs = _protected_request(target, method, template, target.tokens[role] or "")
    control = target.request(method, path, **kwargs)
    assert control.status_code != 401, f"the genuine {role} token was refused: {control.text[:200]}"
    for name, token in _forgeries(target, role).items():
        path, kwargs = _protected_request(target, method, template, token)
        response = target.request(method, path, **kwargs)
        assert response.status_code == 401, f"{name}: {method} {path} answered {response.status_code}"
        assert response.headers.get("www-authenticate", "").startswith("Bearer"), name
        assert response.headers["content-type"].startswith("application/problem+json"), name


def test_what_the_platform_signs_for_other_purposes_is_never_a_login(fresh: Target) -> None:
    """The platform key also signs attestations (custodial verifiers), checkout decisions and SD-JWTs: none of
    them, though genuinely signed, opens a session."""
    citizen = fresh.auth("citizen")
    checkout = fresh.world.res["checkout"]["1"]
    decided = fresh.request(
        "POST", f"/api/v1/vault/checkouts/{checkout}/decision", json={"confirm": True}, headers=citizen
    )
    assert decided.status_code == 200, decided.text
    decision = fresh.request("GET", f"/api/v1/checkouts/{checkout}", headers=fresh.auth("company")).json()
    presented = fresh.request(
        "POST",
        "/api/v1/vault/presentations",
        json={"fields": ["given_name"], "audience": "sesame", "nonce": "n0nce-0001"},
        headers=citizen,
    )
    assert presented.status_code == 201, presented.text
    signed = {
        "attestation JWS": next(iter(fresh.world.res["attestation_jws"].values())),
        "checkout decision JWS": decision["decision_jws"],
        "SD-JWT issuer part (audience 'sesame')": presented.json()["presentation"].split("~")[0],
        "whole SD-JWT presentation": presented.json()["presentation"],
    }
    for name, token in signed.items():
        assert token, name
        for path in ("/api/v1/accounts/me", "/api/v1/vault", "/api/v1/tills"):
            response = fresh.request("GET", path, headers=_bearer(token))
            assert response.status_code == 401, f"{name} on {path}: {response.status_code}"


def test_forged_session_cookies_are_not_signed_in(target: Target) -> None:
    for name, token in _forgeries(target, "citizen").items():
        page = target.request("GET", "/me", headers={"Cookie": f"sesame_token={token}"})
        assert page.status_code == 303 and page.headers["location"].startswith("/login"), name
    genuine = target.request("GET", "/me", headers={"Cookie": f"sesame_token={target.tokens['citizen']}"})
    assert genuine.status_code == 200


def test_tokens_of_an_erased_citizen_stop_at_once(fresh: Target) -> None:
    """Erasure closes the login: the tokens already issued (header or cookie) are refused everywhere."""
    token = fresh.tokens["citizen"] or ""
    assert fresh.request("DELETE", "/api/v1/vault", headers=_bearer(token)).status_code == 204
    for role, method, template in PROTECTED:
        if role != "citizen":
            continue
        path, kwargs = _protected_request(fresh, method, template, token)
        response = fresh.request(method, path, **kwargs)
        assert response.status_code == 401, f"{method} {path}: {response.status_code}"
    page = fresh.request("GET", "/me", headers={"Cookie": f"sesame_token={fresh.tokens['citizen']}"})
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    login = fresh.request(
        "POST",
        "/api/v1/auth/token",
        json={"email": fresh.world.parties["citizen"].email, "password": "sesame-citizen-demo"},
    )
    assert login.status_code == 401


def _till_checkout(target: Target, side: str) -> str:
    """A checkout started by the till of ``side`` (a till sees only the checkouts it started)."""
    citizen = target.world.parties["citizen" if side == "1" else "other_citizen"]
    started = target.request(
        "POST",
        "/api/v1/checkouts",
        json={
            "sesame_id": citizen.sesame_id,
            "items": [{"gtin": target.world.res["gtin"][side], "quantity": 1}],
            "currency": "EUR",
            "amount": "2.00",
        },
        headers={
            **_bearer(target.world.res["till_key"][side]),
            "Idempotency-Key": f"till-{side}-{time.time()}",
        },
    )
    assert started.status_code == 201, started.text
    checkout_id: str = started.json()["id"]
    return checkout_id


def test_a_revoked_till_key_is_401(fresh: Target) -> None:
    key = fresh.world.res["till_key"]["1"]
    till = fresh.world.res["till"]["1"]
    checkout = _till_checkout(fresh, "1")
    assert fresh.request("GET", f"/api/v1/checkouts/{checkout}", headers=_bearer(key)).status_code == 200
    revoked = fresh.request("DELETE", f"/api/v1/tills/{till}", headers=fresh.auth("company"))
    assert revoked.status_code == 204
    assert fresh.request("GET", f"/api/v1/checkouts/{checkout}", headers=_bearer(key)).status_code == 401
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert fresh.request("GET", f"/api/v1/checkouts/{checkout}", headers=_bearer(forged)).status_code == 401


def test_a_till_key_sees_only_its_own_company(fresh: Target) -> None:
    key = fresh.world.res["till_key"]["2"]
    theirs = _till_checkout(fresh, "1")
    assert fresh.request("GET", f"/api/v1/checkouts/{theirs}", headers=_bearer(key)).status_code == 404
    # and it is not a login: the rest of the API refuses it
    assert fresh.request("GET", "/api/v1/accounts/me", headers=_bearer(key)).status_code == 401


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- CSRF and the session cookie ---------------------------------------------------------------------------------


def _web_posts(target: Target) -> list[str]:
    return sorted(
        key
        for key in route_table(target.app)
        if key.startswith("POST ") and not key.split(" ", 1)[1].startswith(("/api/", "/.well-known/"))
    )


def test_every_web_form_refuses_a_post_without_its_csrf_token(fresh: Target) -> None:
    """Each form, posted with the right role's session but no token, or a token of another browser: 403."""
    cookie, field = fresh.csrf()
    other_cookie, _ = fresh.csrf()
    assert cookie != other_cookie
    routes = _web_posts(fresh)
    assert len(routes) >= 20, routes
    for route in routes:
        role = next(
            (r for r in ("citizen", "company", "verifier") if expected(route, r, "own") != 403), "citizen"
        )
        call = Call(route=route, role=role, which="own", harness=fresh)  # type: ignore[arg-type]
        session = f"sesame_token={fresh.tokens[role]}"
        missing = fresh.request("POST", call.path(), headers={"Cookie": f"{session}; sesame_csrf={cookie}"})
        assert missing.status_code == 403, f"{route} without a token: {missing.status_code}"
        foreign = fresh.request(
            "POST",
            call.path(),
            headers={"Cookie": f"{session}; sesame_csrf={other_cookie}"},
            data={"_csrf_token": field},
        )
        assert foreign.status_code == 403, f"{route} with another browser's token: {foreign.status_code}"
        no_cookie = fresh.request(
            "POST", call.path(), headers={"Cookie": session}, data={"_csrf_token": field}
        )
        assert no_cookie.status_code == 403, f"{route} without the CSRF cookie: {no_cookie.status_code}"


def test_the_api_never_spends_the_session_cookie_on_unsafe_methods(fresh: Target) -> None:
    """A cross-site form can carry the cookie but never the bearer header: every unsafe API route that needs a
    login refuses a request authenticated by the cookie alone."""
    checked = 0
    for route in sorted(MATRIX):
        method, template = route.split(" ", 1)
        if method in SAFE or not template.startswith("/api/") or expected(route, "anonymous", "own") != 401:
            continue
        for role in ("citizen", "company", "verifier", "admin"):
            call = Call(route=route, role=role, which="own", harness=fresh)  # type: ignore[arg-type]
            response = fresh.request(
                method, call.path(), headers={"Cookie": f"sesame_token={fresh.tokens[role]}"}
            )
            assert response.status_code == 401, f"{role} cookie on {route}: {response.status_code}"
            checked += 1
    assert checked > 100


# -- security headers --------------------------------------------------------------------------------------------


def _static_file(target: Target) -> str:
    from sesame.web.rendering import STATIC_DIR

    css = next(Path(STATIC_DIR).rglob("*.css"))
    return "/static/" + css.relative_to(STATIC_DIR).as_posix()


def test_security_headers_on_every_kind_of_response(target: Target) -> None:
    world = target.world
    gtin = world.res["gtin"]["1"]
    samples: list[tuple[str, str, dict[str, Any]]] = [
        ("HTML page", "/", {}),
        ("signed-in page", "/me", {"headers": {"Cookie": f"sesame_token={target.tokens['citizen']}"}}),
        ("login redirect", "/me", {}),
        ("JSON", "/api/v1/companies", {}),
        ("problem 401", "/api/v1/vault", {}),
        ("problem 404", "/api/v1/companies/999999", {}),
        ("problem 422", "/api/v1/companies?limit=0", {}),
        ("resolver HTML", f"/01/{gtin}", {"headers": {"Accept": "text/html"}}),
        ("resolver JSON", f"/01/{gtin}", {"headers": {"Accept": "application/json"}}),
        ("QR image", f"/api/v1/products/{gtin}/qr.svg", {}),
        ("ledger checkpoint", "/api/v1/ledger/checkpoint", {}),
        ("static file", _static_file(target), {}),
        ("unknown page", "/no/such/page", {}),
    ]
    for name, path, kwargs in samples:
        response = target.request("GET", path, **kwargs)
        headers = response.headers
        assert response.status_code < 500, (name, response.status_code)
        assert headers.get("x-content-type-options") == "nosniff", name
        assert headers.get("x-frame-options") == "DENY", name
        assert headers.get("referrer-policy") == "same-origin", name
        policy = headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy, name
        assert "'unsafe-inline'" not in policy and "unsafe-eval'" not in policy.replace(
            "wasm-unsafe-eval", ""
        ), name


# -- rate limits -------------------------------------------------------------------------------------------------


@pytest.fixture
def strict_logins(fresh: Target) -> Iterator[Target]:
    """The same app with the shipped per-address limit, lowered so the test stays quick."""
    settings = fresh.app.state.settings
    fresh.app.state.settings = settings.model_copy(update={"login_attempts_per_address": 5})
    try:
        yield fresh
    finally:
        fresh.app.state.settings = settings


def test_failed_logins_from_one_address_are_limited_across_accounts(strict_logins: Target) -> None:
    """Guessing one password for many accounts (spraying) hits the per-address limit, on the API and the web."""
    target = strict_logins
    for n in range(5):
        wrong = target.request(
            "POST", "/api/v1/auth/token", json={"email": f"spray{n}@example.org", "password": "x"}
        )
        assert wrong.status_code == 401
    citizen = {"email": target.world.parties["citizen"].email, "password": "sesame-citizen-demo"}
    limited = target.request("POST", "/api/v1/auth/token", json=citizen)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert limited.headers["content-type"].startswith("application/problem+json")
    cookie, field = target.csrf()
    page = target.request(
        "POST", "/login", headers={"Cookie": f"sesame_csrf={cookie}"}, data={"_csrf_token": field, **citizen}
    )
    assert page.status_code == 429


# -- sizes -------------------------------------------------------------------------------------------------------


def test_bodies_over_the_upload_limit_are_413(target: Target) -> None:
    limit = target.settings.max_upload_bytes
    auth = target.auth("citizen")
    huge_json = b'{"value": "' + b"x" * (limit + 1) + b'"}'
    response = target.request(
        "PUT",
        "/api/v1/vault/fields/given_name",
        data=huge_json,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    upload = target.request(
        "POST", "/api/v1/scan/image", files={"file": ("big.png", b"\0" * (limit + 1), "image/png")}
    )
    assert upload.status_code == 413


def test_json_bodies_over_max_body_bytes_are_413(target: Target) -> None:
    """Every route but the uploads takes at most ``max_body_bytes`` (1 MiB), well below the upload limit."""
    assert target.settings.max_body_bytes < target.settings.max_upload_bytes
    body = json.dumps({"value": "x" * (target.settings.max_body_bytes + 1)}).encode()
    response = target.request(
        "PUT",
        "/api/v1/vault/fields/given_name",
        data=body,
        headers={**target.auth("citizen"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 413 and problem["instance"] == "/api/v1/vault/fields/given_name"
    scan = target.request(
        "POST",
        "/api/v1/scan",
        data=json.dumps({"code": "0" * (target.settings.max_body_bytes + 1)}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert scan.status_code == 413
    at_limit = json.dumps({"value": "x" * (target.settings.max_body_bytes - 100)}).encode()
    assert len(at_limit) <= target.settings.max_body_bytes
    ok = target.request(
        "PUT",
        "/api/v1/vault/fields/given_name",
        data=at_limit,
        headers={**target.auth("citizen"), "Content-Type": "application/json"},
    )
    assert ok.status_code != 413


def test_an_upload_between_the_two_limits_is_accepted(target: Target) -> None:
    """A photo bigger than ``max_body_bytes`` but under ``max_upload_bytes`` still reaches the decoder."""
    code = qr.qr_png(f"https://id.gs1.org/01/{GTINS['company']}", scale=4)
    photo = code + b"\0" * (target.settings.max_body_bytes + 1)  # bytes after IEND: PNG readers ignore them
    assert target.settings.max_body_bytes < len(photo) < target.settings.max_upload_bytes
    response = target.request("POST", "/api/v1/scan/image", files={"file": ("photo.png", photo, "image/png")})
    assert response.status_code == 200, response.text[:300]
    assert GTINS["company"] in response.text
    # and the scanner page's no-JavaScript photo form, which takes the same phone photos
    cookie, field = target.csrf()
    page = target.request(
        "POST",
        "/scan/photo",
        headers={"Cookie": f"sesame_csrf={cookie}"},
        data={"_csrf_token": field},
        files={"image": ("photo.png", photo, "image/png")},
    )
    assert page.status_code == 200, page.text[:300]
    assert page.headers["content-type"].startswith("text/html")
    assert GTINS["company"] in page.text


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


UPLOADS: dict[str, Callable[[], bytes]] = {
    "not an image": lambda: b"%PDF-1.7 definitely not a picture",
    "truncated PNG": lambda: _png(64, 64)[:40],
    "decompression bomb (30000 x 30000, a few kB)": lambda: _png(30_000, 30_000),
    "empty file": lambda: b"",
}


@pytest.mark.parametrize("kind", sorted(UPLOADS))
def test_hostile_uploads_are_refused_without_a_crash(target: Target, kind: str) -> None:
    content = UPLOADS[kind]()
    api = target.request("POST", "/api/v1/scan/image", files={"file": ("photo.png", content, "image/png")})
    assert api.status_code in (413, 422), (kind, api.status_code, api.text[:200])
    assert api.headers["content-type"].startswith("application/problem+json")
    cookie, field = target.csrf()
    page = target.request(
        "POST",
        "/scan/photo",
        headers={"Cookie": f"sesame_csrf={cookie}"},
        data={"_csrf_token": field},
        files={"image": ("photo.png", content, "image/png")},
    )
    assert page.status_code in (413, 422), (kind, page.status_code)


def test_deeply_nested_and_wide_json_is_a_4xx(target: Target) -> None:
    auth = {**target.auth("citizen"), "Content-Type": "application/json"}
    nested = b'{"value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    wide = json.dumps({"value": {f"k{i}": i for i in range(200_000)}}).encode()
    for name, body in (("nested", nested), ("wide", wide)):
        response = target.request("PUT", "/api/v1/vault/fields/given_name", data=body, headers=auth)
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:200])
