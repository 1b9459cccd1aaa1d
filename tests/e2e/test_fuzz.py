"""Schemathesis over every operation of the app's own OpenAPI, in process, with a valid token of each role.

Each operation starts from the seeded world (``tests.e2e.world``); each generated request is sent as one of the
roles (or anonymously), with path parameters drawn half of the time from the world's real ids, so the fuzzer
reaches past the 404s. Checks: never a 5xx, and every response matches its declared schema and media type.

    SESAME_FUZZ_EXAMPLES=500 pytest tests/e2e/test_fuzz.py -p no:xdist     # make fuzz
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.e2e.conftest import InProcessApp
from tests.e2e.world import ROLES, World

EXAMPLES = int(os.environ.get("SESAME_FUZZ_EXAMPLES", "6"))
LONG_RUN = EXAMPLES >= 100 or os.environ.get("SESAME_FUZZ_RANDOM") == "1"
#: Operations whose 2xx body is negotiated (HTML, JSON, linkset; JSON lines or CSV) or a never-ending stream:
#: only "no 5xx" and "errors are problems" apply.
NEGOTIATED = {
    "GET /api/v1/open-data/companies",  # ?format=jsonl (default) or csv
    "GET /api/v1/vault/checkouts/events",  # server-sent events
    "GET /api/v1/checkouts/events",
}
#: Server-sent event streams never end: the client keeps the first event, or gives up after a few seconds.
STREAMS = {"GET /api/v1/vault/checkouts/events", "GET /api/v1/checkouts/events"}
PROBLEM_MEDIA = "application/problem+json"


def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error is an RFC 9457 problem (``sesame.problems``): its media type, members and status."""
    if response.status_code < 400:
        return None
    media = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    assert media == PROBLEM_MEDIA, f"{response.status_code} answered as {media!r}, not {PROBLEM_MEDIA}"
    if case.method.upper() == "HEAD":
        return True
    body = response.json()
    missing = {"type", "title", "status", "detail"} - set(body)
    assert not missing, f"problem without {sorted(missing)}: {body}"
    assert body["status"] == response.status_code, (
        f"problem status {body['status']} != {response.status_code}"
    )
    return True


def _successes_only(check: Any) -> Any:
    """A schemathesis check applied to 2xx/3xx answers only. Errors are checked by ``problem_details``: the
    OpenAPI still documents Litestar's default 400 body (``application/json`` with ``status_code``), not the
    RFC 9457 problems the app sends (reported to the lead)."""

    def checked(ctx: Any, response: Any, case: Any) -> bool | None:
        if response.status_code >= 400:
            return None
        result: bool | None = check(ctx, response, case)
        return result

    checked.__name__ = check.__name__
    return checked


CHECKS = [
    not_a_server_error,
    problem_details,
    _successes_only(response_schema_conformance),
    _successes_only(content_type_conformance),
]
NEGOTIATED_CHECKS = [not_a_server_error, problem_details]


@cache
def _openapi() -> dict[str, Any]:
    """The OpenAPI document, from an app on a throw-away database (routes need no data to be described)."""
    from sesame.app import create_app
    from sesame.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            Settings(database_url=f"sqlite+aiosqlite:///{folder}/schema.db", key_dir=Path(folder) / "keys")
        )
        schema: dict[str, Any] = app.openapi_schema.to_schema()
        return schema


def _labels() -> list[str]:
    schema = schemathesis.openapi.from_dict(_openapi())
    return sorted(result.ok().label for result in schema.get_all_operations())


class Fuzzer(InProcessApp):
    def __init__(self, world: World, folder: Path) -> None:
        super().__init__(world, folder)
        self.start()
        self.schema = schemathesis.openapi.from_asgi("/schema/openapi.json", self.app)

    def real_path_parameters(self) -> dict[str, list[Any]]:
        """Every real id of the world, by path parameter name."""
        r = self.world.res
        both = lambda name: list(r[name].values())  # noqa: E731
        sesames = [p.sesame_id for p in self.world.parties.values() if p.sesame_id]
        return {
            "company_id": both("company"),
            "gtin": both("gtin"),
            "sesame_id": sesames,
            "account_id": both("open_account") + both("pending_account"),
            "grant_id": both("grant"),
            "request_id": both("request"),
            "receipt_id": both("receipt"),
            "checkout_id": both("checkout"),
            "dossier_id": both("dossier"),
            "share_id": both("share") + both("link_share"),
            "token": both("link_token"),
            "offer_id": both("offer"),
            "till_id": both("till"),
            "attestation_id": both("attestation"),
            "index": [0, 1, 5],
            "version": [1, 2],
            "name": ["given_name", "email", "phone", "postal_address"],
            "zone": ["u09tv", "u05k", "u0"],
            "rest": both("gtin") + [f"{g}/10/LOT42" for g in both("gtin")],
        }


@pytest.fixture(scope="module")
def fuzzer(seeded_world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzer]:
    yield Fuzzer(seeded_world, tmp_path_factory.mktemp("fuzz"))


def _strategy(fuzzer: Fuzzer, operation: Any) -> st.SearchStrategy[Any]:
    generated = operation.as_strategy()
    names = [p.name for p in operation.path_parameters]
    if not names:
        return generated
    real = fuzzer.real_path_parameters()
    if not all(name in real for name in names):
        return generated
    choices = st.fixed_dictionaries({name: st.sampled_from(real[name]) for name in names})
    return st.one_of(generated, choices.flatmap(lambda params: operation.as_strategy(path_parameters=params)))


@pytest.mark.parametrize("label", _labels())
def test_operation(label: str, fuzzer: Fuzzer) -> None:
    operation = fuzzer.schema.find_operation_by_label(label)
    assert operation is not None, label
    fuzzer.reset()
    checks = NEGOTIATED_CHECKS if label in NEGOTIATED or label.split(" ")[1].count("{rest}") else CHECKS
    timeout = 3 if label in STREAMS else 30

    @given(case=_strategy(fuzzer, operation), role=st.sampled_from(ROLES))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not LONG_RUN,  # the quick run is the same every time; the long one explores
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    def run(case: Any, role: str) -> None:
        headers = dict(case.headers or {})
        headers.pop("Authorization", None)
        headers.update(fuzzer.auth(role))
        case.headers = headers
        response = case.call(session=fuzzer.client, timeout=timeout)
        case.validate_response(response, checks=checks)

    run()


# -- the routes the OpenAPI does not describe: every path parameter's edge values, every web form -----------------

#: Ids past what SQLite (64-bit) and PostgreSQL (32-bit ``integer``) store, negative, zero; hostile strings.
INT_EDGES = ("0", "-1", "2147483648", "9223372036854775808", "18446744073709551616", "1" + "0" * 40)
STR_EDGES = (
    "x" * 3000,
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "\u00e9\u00e8\U0001f600",
    "' OR 1=1 --",
    "<script>x</script>",
)


def _routes_with_parameters() -> list[tuple[str, str]]:
    from tests.e2e.authz_matrix import MATRIX

    out = []
    for route in sorted(MATRIX):
        for name in re.findall(r"\{(\w+)\}", route):
            out.append((route, name))
    return out


def _entitled_role(route: str) -> str:
    """The first role the table lets through on its own resource, so the request reaches the handler."""
    from tests.e2e.authz_matrix import expected

    for role in ROLES:
        if expected(route, role, "own") not in (401, 403, "login"):
            return role
    return "anonymous"


@pytest.fixture(scope="module")
def web(seeded_world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.e2e.test_authz_matrix import Matrix

    yield Matrix(seeded_world, tmp_path_factory.mktemp("edges"))


@pytest.mark.parametrize(("route", "name"), _routes_with_parameters(), ids=lambda v: str(v))
def test_path_parameter_edges_are_never_a_server_error(route: str, name: str, web: Any) -> None:
    from tests.e2e.test_authz_matrix import Call

    web.reset()
    role = _entitled_role(route)
    numeric = name.endswith(("_id", "index", "version")) and name not in ("checkout_id", "sesame_id")
    failures = []
    for value in INT_EDGES if numeric else STR_EDGES:
        call = Call(route=route, role=role, which="own", harness=web, overrides={name: value})
        response = web.send(call)
        if response.status_code >= 500:
            failures.append(f"{name}={value[:40]!r}: {response.status_code} {response.text[:200]!r}")
        elif call.is_web is False and response.status_code >= 400:
            assert response.headers.get("content-type", "").startswith(PROBLEM_MEDIA), (
                value,
                response.headers,
            )
        if route.split(" ")[0] not in ("GET", "HEAD") and response.status_code < 400:
            web.reset()
    assert not failures, f"{route} as {role}:\n" + "\n".join(failures)


def _web_forms() -> list[str]:
    from tests.e2e.authz_matrix import MATRIX

    return sorted(r for r in MATRIX if r.startswith("POST /") and not r.startswith("POST /api/"))


#: Field names each form reads (from its template), so generated forms hit the parsing code.
FORM_FIELDS = (
    "email", "password", "next", "kind", "display_name", "name", "value", "custom_name", "street", "postal_code",
    "city", "country", "region", "company_account_id", "fields", "purpose", "expires_on", "decision", "approve",
    "language", "contactless", "highlights", "understood", "shown_version", "recommend", "text", "back",
    "legal_name", "registration_scheme", "registration_id", "founding_date", "tax_residence", "sector",
    "registered_address", "gtin", "brand", "description", "sesame", "amount", "currency", "quantity",
    "company_id", "version", "indicator", "attestation_id", "reason", "headcount.value", "legal_name.value",
    "employee_satisfaction.value", "employee_satisfaction.period", "carbon_footprint_per_employee.value",
    "manufacturing_time", "carbon_kg", "labour_cost_share_pct", "criterion.quality",
)  # fmt: skip
FORM_VALUES = st.one_of(
    st.sampled_from(
        ["", "0", "-1", "99999999999999999999", "1e309", "NaN", "on", "yes", "fr", "EUR", "2024-02-30"]
    ),
    st.sampled_from(INT_EDGES + STR_EDGES),
    st.text(max_size=40),
)


#: Fields some forms read beyond those of their usual body (``BODIES`` in the matrix test).
FORM_EXTRAS: dict[str, tuple[str, ...]] = {
    "POST /company/products": (
        "stock", "labour_cost_share_pct", "carbon_kg", "time_value", "time_unit", "place_name", "country", "city",
        "lot", "brand", "description",
    ),
    "POST /me/companies/{account_id}/{action}": ("shown_version",),
    "POST /me/fields": ("street", "postal_code", "city", "country", "region", "custom_name"),
    "POST /me/settings": ("highlights",),
    "POST /me/recommendations/{company_id}": ("text", "back", "criterion.quality"),
    "POST /login": ("next",),
    "POST /signup": ("display_name", "kind"),
}  # fmt: skip
FIELD_EDGES = ("", "abc", "-1", "99999999999999999999", "inf", "nan", "1e309", "x" * 3000, "2024-02-30")


@pytest.mark.parametrize("route", _web_forms())
def test_web_forms_never_answer_a_server_error(route: str, web: Any) -> None:
    """Every form, posted by its own kind of account with a valid CSRF token: each field of a valid form set in
    turn to each edge value, then forms generated from the known field names."""
    from tests.e2e.test_authz_matrix import BODIES, Call

    web.reset()
    role = _entitled_role(route)
    builder = BODIES.get(route)
    base = (
        dict(builder(Call(route=route, role=role, which="own", harness=web)).get("data", {}))
        if builder
        else {}
    )
    failures: list[str] = []

    def post(form: dict[str, str]) -> None:
        response = web.send(Call(route=route, role=role, which="own", harness=web, form=form))
        if response.status_code >= 500:
            failures.append(f"{form!r}: {response.status_code}")
        if response.status_code < 400:
            web.reset()

    for name in (*base, *FORM_EXTRAS.get(route, ())):
        for value in FIELD_EDGES:
            post({**base, name: value})
    assert not failures, f"{route} as {role}:\n" + "\n".join(failures[:20])

    @given(form=st.dictionaries(st.sampled_from(FORM_FIELDS), FORM_VALUES, max_size=12))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not LONG_RUN,
        suppress_health_check=list(HealthCheck),
    )
    def run(form: dict[str, str]) -> None:
        post({k: v.replace("\x00", "") for k, v in form.items()})
        assert not failures, f"{route} as {role}: {failures[-1]}"

    run()


#: Past PostgreSQL's ``integer`` (the ids) and past SQLite's and PostgreSQL's 64-bit integers.
PAST_THE_COLUMNS = ("2147483648", "9223372036854775808")
OTHER_PARAMETERS = {
    "gtin": "03760000000017",
    "checkout_id": "chk_missing",
    "name": "given_name",
    "token": "missing",
    "zone": "u09tv",
    "code": "en",
    "rest": "03760000000017",
    "action": "accept",
}


async def test_ids_past_the_column_types_are_a_4xx_on_every_database(client: Any) -> None:
    """Every API route with a numeric path parameter, on SQLite and on PostgreSQL (whose ``integer`` columns
    stop at 2**31 - 1), as a citizen and as a company: an id no column can hold is a 4xx, never a 500."""
    from tests.e2e.authz_matrix import MATRIX

    tokens: dict[str, str] = {}
    sesame_id = "missing"
    for kind in ("citizen", "company"):
        email = f"{kind}.edges@example.org"
        created = await client.post(
            "/api/v1/accounts", json={"kind": kind, "email": email, "password": "correct horse battery"}
        )
        assert created.status_code == 201, created.text
        sesame_id = created.json().get("sesame_id") or sesame_id
        login = await client.post(
            "/api/v1/auth/token", json={"email": email, "password": "correct horse battery"}
        )
        tokens[kind] = login.json()["access_token"]
    failures = []
    for route in sorted(MATRIX):
        method, template = route.split(" ", 1)
        names = re.findall(r"\{(\w+)\}", template)
        numeric = [
            n
            for n in names
            if n.endswith(("_id", "index", "version")) and n not in ("checkout_id", "sesame_id")
        ]
        if not template.startswith("/api/") or not numeric:
            continue
        for value in PAST_THE_COLUMNS:
            fixed = {**OTHER_PARAMETERS, "sesame_id": sesame_id, **dict.fromkeys(numeric, value)}
            path = re.sub(r"\{(\w+)\}", lambda m, fixed=fixed: fixed[m.group(1)], template)
            for token in tokens.values():
                response = await client.request(
                    method,
                    path,
                    headers={"Authorization": f"Bearer {token}"},
                    json={} if method != "GET" else None,
                )
                if response.status_code >= 500:
                    failures.append(f"{method} {path}: {response.status_code}")
    assert not failures, "\n".join(failures)
