"""Every endpoint × every role × own/other resource, against the table in ``tests/e2e/authz_matrix.py``.

The routes come from the app's own route table, so a new route without a row in the table fails
``test_every_route_has_a_row``. For each route, each role calls it twice: with path parameters (and body) made
from its own side of the seeded world, then from the other side (``tests/e2e/world.py`` says who owns what).
After any call that succeeded with an unsafe method, the database is put back to the seeded state, so every
cell starts from the same world.

Web pages are called as a browser would: the session cookie, and for forms a valid CSRF token; API routes with
the bearer token. Observed values: the status code, except ``"login"`` for a redirect to the login page.

    pytest tests/e2e/test_authz_matrix.py -k "vault/grants"       # one family of routes
    SESAME_MATRIX_PRINT=1 pytest tests/e2e/test_authz_matrix.py   # print the observed rows as Python
"""

from __future__ import annotations

import io
import itertools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import segno

from tests.e2e.authz_matrix import EXCLUDED, MATRIX, SAFE, expected
from tests.e2e.conftest import InProcessApp
from tests.e2e.world import ROLES, World

PASSWORD = "correct horse battery staple"
_serial = itertools.count(1)
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
_CONVERTER = re.compile(r"\{(\w+):[^}]+\}")

#: The side of the world each role calls "own"; the other side is the other one.
OWN_SIDE = {
    "anonymous": "1",
    "citizen": "1",
    "other_citizen": "2",
    "company": "1",
    "company_no_account": "3",
    "other_company": "2",
    "verifier": "1",
    "verifier_out": "1",
    "admin": "1",
}
OTHER_SIDE = {"1": "2", "2": "1", "3": "1"}
#: Path parameter → world resource, unless the route says otherwise in ``ROUTE_RESOURCES``.
PARAM_RESOURCE = {
    "company_id": "company",
    "gtin": "gtin",
    "sesame_id": "sesame",
    "account_id": "pending_account",
    "grant_id": "grant",
    "request_id": "request",
    "receipt_id": "receipt",
    "checkout_id": "checkout",
    "dossier_id": "dossier",
    "share_id": "share",
    "token": "link_token",
    "offer_id": "offer",
    "till_id": "till",
    "attestation_id": "attestation",
}
FIXED = {"index": "1", "version": "1", "name": "given_name", "zone": "u09tv", "code": "en", "rest": "1"}
ROUTE_RESOURCES: dict[str, dict[str, str]] = {
    "POST /api/v1/vault/company-accounts/{account_id}/close": {"account_id": "open_account"},
    "GET /me/companies/{account_id}": {"account_id": "open_account"},
    "GET /api/v1/vault/shared-dossiers/{share_id}": {"share_id": "received_share"},
    "GET /me/shared/{share_id}": {"share_id": "received_share"},
    "POST /me/shared/{share_id}/import": {"share_id": "received_share"},
    "POST /api/v1/vault/shared-dossiers/{share_id}/import": {"share_id": "received_share"},
    "GET /01/{rest}": {"rest": "gtin"},
}
ROUTE_QUERY: dict[str, dict[str, str]] = {
    "GET /api/v1/ledger/proofs/inclusion": {"index": "0"},
    "GET /api/v1/ledger/proofs/consistency": {"first": "1"},
}
ROUTE_FIXED: dict[str, dict[str, str]] = {
    "POST /me/companies/{account_id}/{action}": {"action": "accept"},
    "POST /company/customers/{action}": {"action": "read"},
}


def route_key(method: str, path: str) -> str:
    template = _CONVERTER.sub(r"{\1}", path)
    return f"{method} {template}"


def route_table(app: Any) -> set[str]:
    """Every ``METHOD /path/{param}`` the app serves (HEAD and OPTIONS mirror GET and CORS)."""
    keys = set()
    for route in app.routes:
        for method in getattr(route, "methods", ()):
            if method in ("HEAD", "OPTIONS"):
                continue
            key = route_key(method, route.path)
            if key not in EXCLUDED:
                keys.add(key)
    return keys


@dataclass
class Call:
    """One cell's request, made from the world."""

    route: str
    role: str
    which: str  # "own" | "other"
    harness: Matrix
    #: Path parameters given as they are (the fuzzer's edge values), and a form replacing the usual body.
    overrides: dict[str, str] = field(default_factory=dict)
    form: dict[str, Any] | None = None

    @property
    def side(self) -> str:
        own = OWN_SIDE[self.role]
        return own if self.which == "own" else OTHER_SIDE[own]

    @property
    def citizen_side(self) -> str:
        """Citizen-owned things exist on sides 1 and 2 only."""
        return "1" if self.side == "3" else self.side

    @property
    def world(self) -> World:
        return self.harness.world

    def resource(self, name: str) -> Any:
        res = self.world.res
        if name == "sesame":
            citizen = {"1": "citizen", "2": "other_citizen"}[self.citizen_side]
            return self.world.parties[citizen].sesame_id
        if name == "received_share":
            return res["share"][OTHER_SIDE[self.citizen_side]]
        if name == "attestation":
            mine = "verifier_out" if self.role == "verifier_out" else "verifier"
            theirs = "verifier" if mine == "verifier_out" else "verifier_out"
            return res["attestation"][mine if self.which == "own" else theirs]
        if name in ("company", "gtin", "legal_name"):
            return res[name][self.side]
        return res[name][self.citizen_side]

    def path(self) -> str:
        _, template = self.route.split(" ", 1)

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in self.overrides:
                return self.overrides[name]
            fixed = ROUTE_FIXED.get(self.route, {}).get(name) or (
                FIXED.get(name) if name not in ROUTE_RESOURCES.get(self.route, {}) else None
            )
            if fixed is not None:
                return fixed
            resource = ROUTE_RESOURCES.get(self.route, {}).get(name) or PARAM_RESOURCE[name]
            return str(self.resource(resource))

        return re.sub(r"\{(\w+)\}", fill, template)

    @property
    def is_web(self) -> bool:
        path = self.route.split(" ", 1)[1]
        return not path.startswith(("/api/", "/.well-known/", "/health")) and not re.match(r"^/\d+/", path)


def _later(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def _unique_email(kind: str) -> str:
    return f"{kind}.matrix{next(_serial)}.{os.getpid()}@example.org"


def _new_gtin() -> str:
    from stdnum import ean

    body = f"0376{1000000 + next(_serial) * 7 % 8_000_000:08d}1"[:13]
    return body + ean.calc_check_digit(body)


def _qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()


def _siren() -> str:
    from stdnum import luhn

    digits = f"{40_000_000 + next(_serial) * 97 + os.getpid() % 1000:08d}"[:8]
    return digits + luhn.calc_check_digit(digits)


def _registration() -> dict[str, str]:
    return {
        "legal_name": f"Maison Matrice {next(_serial)} SAS",
        "country": "FR",
        "registration_scheme": "siren",
        "registration_id": _siren(),
        "founding_date": "2001-06-01",
        "tax_residence": "FR",
        "sector": "47.11",
        "registered_address": "3 place des Terreaux, 69001 Lyon",
    }


Body = Callable[[Call], dict[str, Any]]


def _json(builder: Callable[[Call], Any]) -> Body:
    return lambda call: {"json": builder(call)}


def _form(builder: Callable[[Call], dict[str, Any]]) -> Body:
    return lambda call: {"data": builder(call)}


def _checkout(call: Call) -> dict[str, Any]:
    return {
        "json": {
            "sesame_id": call.resource("sesame"),
            "items": [{"gtin": call.resource("gtin"), "quantity": 1}],
            "currency": "EUR",
            "amount": "3.50",
        },
        "headers": {"Idempotency-Key": f"matrix-{next(_serial)}"},
    }


def _witness_vkey(call: Call) -> dict[str, Any]:
    from ledger.checkpoint import CosignatureSigner

    return {"vkey": CosignatureSigner.generate(f"witness{next(_serial)}.example").vkey}


def _civil_status_form(call: Call) -> dict[str, Any]:
    profile = call.harness.get_json(f"/api/v1/companies/{call.resource('company')}")
    form = {
        f"{item['key']}.value": str(item["value"])
        for item in profile["indicators"]
        if item.get("disclosed") and item.get("value") is not None
    }
    form["headcount.value"] = "15"
    return form


def _attest_form(call: Call) -> dict[str, Any]:
    company_id = call.resource("company")
    profile = call.harness.get_json(f"/api/v1/companies/{company_id}")
    return {"company_id": str(company_id), "version": str(profile["version"]), "indicator": "legal_name"}


def _attestation(call: Call) -> dict[str, Any]:
    company_id = call.resource("company")
    profile = call.harness.get_json(f"/api/v1/companies/{company_id}")
    value = next(i["value"] for i in profile["indicators"] if i["key"] == "legal_name")
    return {"indicator": "legal_name", "value": value}


#: A body that lets the owner succeed, by route; the others must then fail on authorisation alone.
BODIES: dict[str, Body] = {
    "POST /api/v1/accounts": _json(
        lambda c: {"kind": "citizen", "email": _unique_email("citizen"), "password": PASSWORD}
    ),
    "POST /api/v1/auth/token": _json(
        lambda c: {"email": c.world.parties["citizen"].email, "password": "sesame-citizen-demo"}
    ),
    "POST /api/v1/attestations/verify": _json(
        lambda c: {"jws": next(iter(c.world.res["attestation_jws"].values()))}
    ),
    "POST /api/v1/attestations/{attestation_id}/revoke": _json(lambda c: {"reason": "matrix"}),
    "POST /api/v1/checkouts": _checkout,
    "POST /api/v1/companies": _json(lambda c: _registration()),
    "POST /api/v1/companies/{company_id}/attestations": _json(_attestation),
    "POST /api/v1/companies/{company_id}/refusals": _json(
        lambda c: {"indicator": "legal_name", "reason": "matrice"}
    ),
    "PUT /api/v1/companies/{company_id}/civil-status": _json(
        lambda c: {"indicators": {"headcount": {"value": 15}}}
    ),
    "POST /api/v1/companies/{company_id}/products": _json(lambda c: {"gtin": _new_gtin(), "name": "Matrice"}),
    "PUT /api/v1/companies/{company_id}/products/{gtin}": _json(lambda c: {"name": "Matrice 2"}),
    "PUT /api/v1/companies/{company_id}/recommendations/mine": _json(lambda c: {"recommend": True}),
    "POST /api/v1/ledger/cosignatures": _json(lambda c: {"signature": "— witness.example AAAAAAAAAAAA"}),
    "POST /api/v1/ledger/witnesses": _json(_witness_vkey),
    "POST /api/v1/offers": _json(
        lambda c: {"segment": "books", "title": "Matrice", "body": "-5 %", "valid_until": _later(5)}
    ),
    "POST /api/v1/presentations/verify": _json(
        lambda c: {
            "presentation": "not~a~presentation~",
            "audience": "https://shop.example",
            "nonce": "n0nce",
        }
    ),
    "POST /api/v1/scan": _json(lambda c: {"code": c.resource("gtin")}),
    "POST /api/v1/bench/constant": _json(lambda c: {"code": c.resource("gtin")}),
    "POST /api/v1/scan/image": lambda c: {
        "files": {"file": ("code.png", _qr_png(f"https://id.gs1.org/01/{c.resource('gtin')}"), "image/png")}
    },
    "POST /api/v1/sesames/{sesame_id}/requests": _json(
        lambda c: {"fields": ["given_name"], "purpose": "livraison"}
    ),
    "POST /api/v1/tills": _json(lambda c: {"name": "Caisse matrice"}),
    "POST /api/v1/vault/checkouts/{checkout_id}/decision": _json(lambda c: {"confirm": True}),
    "POST /api/v1/vault/company-accounts/{account_id}/accept": _json(lambda c: None),
    "POST /api/v1/vault/dossiers": _json(lambda c: {"title": "Matrice"}),
    "PUT /api/v1/vault/dossiers/{dossier_id}": _json(lambda c: {"title": "Matrice 2"}),
    "POST /api/v1/vault/dossiers/{dossier_id}/shares": _json(lambda c: {}),
    "PUT /api/v1/vault/fields/{name}": _json(lambda c: {"value": "Zoé"}),
    "POST /api/v1/vault/grants": _json(
        lambda c: {
            "company_account_id": c.resource("open_account"),
            "fields": ["family_name"],
            "purpose": "livraison",
            "expires_at": _later(),
        }
    ),
    "POST /api/v1/vault/presentations": _json(
        lambda c: {"fields": ["given_name"], "audience": "https://shop.example", "nonce": "n0nce-42"}
    ),
    "POST /api/v1/vault/requests/{request_id}/decision": _json(lambda c: {"approve": ["family_name"]}),
    "PUT /api/v1/vault/segments": _json(lambda c: {"segments": ["books"], "zone": None}),
    "PUT /api/v1/vault/settings": _json(lambda c: {"contactless": True, "highlights": [], "language": "fr"}),
    # web forms (the CSRF token is added to each)
    "POST /login": _form(
        lambda c: {"email": c.world.parties["citizen"].email, "password": "sesame-citizen-demo"}
    ),
    "POST /signup": _form(lambda c: {"kind": "citizen", "email": _unique_email("web"), "password": PASSWORD}),
    "POST /scan/photo": lambda c: {
        "files": {"image": ("code.png", _qr_png(f"https://id.gs1.org/01/{c.resource('gtin')}"), "image/png")}
    },
    "POST /me/fields": _form(lambda c: {"name": "given_name", "value": "Zoé"}),
    "POST /me/grants": _form(
        lambda c: {
            "company_account_id": str(c.resource("open_account")),
            "fields": "family_name",
            "purpose": "livraison",
            "expires_on": (date.today() + timedelta(days=30)).isoformat(),
        }
    ),
    "POST /me/requests/{request_id}": _form(lambda c: {"decision": "approve", "approve": "family_name"}),
    "POST /me/settings": _form(lambda c: {"language": "fr", "contactless": "on"}),
    "POST /me/erase": _form(lambda c: {"understood": "on", "email": c.harness.email_of(c.role)}),
    "POST /me/pay/{checkout_id}": _form(lambda c: {"decision": "confirm"}),
    "POST /me/recommendations/{company_id}": _form(lambda c: {"recommend": "yes"}),
    "POST /company/register": _form(lambda c: _registration()),
    "POST /company/civil-status": _form(_civil_status_form),
    "POST /company/products": _form(lambda c: {"gtin": _new_gtin(), "name": "Matrice"}),
    "POST /company/customers/{action}": _form(lambda c: {"sesame": c.resource("sesame")}),
    "POST /company/till": _form(
        lambda c: {
            "sesame": c.resource("sesame"),
            "amount": "3.50",
            "currency": "EUR",
            "gtin": c.resource("gtin"),
            "quantity": "1",
        }
    ),
    "POST /verifier/attest": _form(_attest_form),
    "POST /verifier/refuse": _form(lambda c: {**_attest_form(c), "reason": "matrice"}),
    "POST /me/dossiers": _form(lambda c: {"title": "Matrice"}),
    "POST /me/dossiers/{dossier_id}": _form(lambda c: {"title": "Matrice 2"}),
    "POST /me/dossiers/{dossier_id}/shares": _form(lambda c: {"kind": "link"}),
    "POST /me/offers/segments": _form(lambda c: {"segments": "books"}),
    "POST /company/offers": _form(
        lambda c: {"segment": "books", "title": "Matrice", "body": "-5 %", "valid_until": _later(5)[:10]}
    ),
    "POST /verifier/revoke": _form(
        lambda c: {"attestation_id": str(c.resource("attestation")), "reason": "matrice"}
    ),
}


class Matrix(InProcessApp):
    def __init__(self, world: World, folder: Path) -> None:
        super().__init__(world, folder)
        self.start()
        page = self.client.get("/login")
        found = _CSRF.search(page.text)
        assert found, "no CSRF token on /login"
        self.csrf_form = found.group(1)
        self.csrf_cookie = page.cookies.get("sesame_csrf") or self.client.cookies.get("sesame_csrf")
        assert self.csrf_cookie, "no CSRF cookie from /login"
        self.schema = schemathesis.openapi.from_asgi("/schema/openapi.json", self.app)

    def email_of(self, role: str) -> str:
        party = self.world.parties.get(role)
        return party.email if party else "nobody@example.org"

    def get_json(self, path: str) -> Any:
        self.client.cookies.clear()
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.json()

    def send(self, call: Call) -> Any:
        method = call.route.split(" ", 1)[0]
        kwargs: dict[str, Any] = {}
        builder = BODIES.get(call.route)
        if call.form is not None:
            kwargs = {"data": call.form}
        elif builder is not None:
            kwargs = builder(call)
        headers = dict(kwargs.pop("headers", {}))
        token = self.tokens.get(call.role)
        cookies: dict[str, str] = {}
        if call.is_web:
            if token:
                cookies["sesame_token"] = token
            if method not in SAFE:
                cookies["sesame_csrf"] = self.csrf_cookie
                kwargs["data"] = {"_csrf_token": self.csrf_form, **kwargs.get("data", {})}
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.client.cookies.clear()
        return self.client.request(
            method,
            call.path(),
            headers=headers,
            params=ROUTE_QUERY.get(call.route),
            allow_redirects=False,
            timeout=3 if call.route.endswith("/events") else 10,  # a stream is cut after 3 s
            **kwargs,
        )

    def schema_problem(self, route: str, response: Any) -> str | None:
        """Why a successful JSON answer breaks its OpenAPI response schema, if it does."""
        if response.status_code >= 300 or "json" not in response.headers.get("content-type", ""):
            return None
        operation = self.schema.find_operation_by_label(route)
        if operation is None:
            return None
        try:
            operation.validate_response(response)
        except Exception as exc:  # schemathesis raises a group of check failures
            lines = [line.strip(" |") for line in str(exc).splitlines() if line.strip(" |")]
            return " / ".join(lines[:8])[:600]
        return None


def observed(response: Any) -> int | str:
    if 300 <= response.status_code < 400 and response.headers.get("location", "").startswith("/login"):
        return "login"
    return int(response.status_code)


@pytest.fixture(scope="module")
def matrix(seeded_world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    yield Matrix(seeded_world, tmp_path_factory.mktemp("matrix"))


def test_every_route_has_a_row(matrix: Matrix) -> None:
    routes = route_table(matrix.app)
    missing = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert not missing, (
        "these routes have no row in tests/e2e/authz_matrix.py; write down who may call them:\n  "
        + "\n  ".join(missing)
    )
    assert not stale, "these rows name routes the app no longer serves:\n  " + "\n  ".join(stale)


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_route(route: str, matrix: Matrix) -> None:
    matrix.reset()
    method = route.split(" ", 1)[0]
    seen: dict[tuple[str, str], int | str] = {}
    wrong: list[str] = []
    for role in ROLES:
        for which in ("own", "other"):
            call = Call(route=route, role=role, which=which, harness=matrix)
            response = matrix.send(call)
            got = observed(response)
            seen[(role, which)] = got
            want = expected(route, role, which)
            if got != want:
                wrong.append(
                    f"{role:>18} {which:<5} expected {want!s:>5}, got {got!s:>5}: {response.text[:160]!r}"
                )
            problem = matrix.schema_problem(route, response)
            if problem:
                wrong.append(f"{role:>18} {which:<5} answer breaks its OpenAPI schema: {problem}")
            if method not in SAFE and (response.status_code < 400):
                matrix.reset()
    if os.environ.get("SESAME_MATRIX_PRINT"):
        print(f"\nOBSERVED {route!r}: {seen!r}")
    assert not wrong, f"{route}\n" + "\n".join(wrong)
