"""``scanner.fastpath``: ``POST /api/v1/scan`` and ``GET /01/{gtin}`` (JSON) answered ahead of the router, byte for
byte as their routes answer."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.middleware._internal.exceptions.middleware import ExceptionHandlerMiddleware

from scanner.api import ScanController
from scanner.fastpath import RESOLVER, SCAN, SCAN_PATH, CardFastPath, install, what_it_would_skip
from sesame.bodies import WholeBodies
from sesame.settings import Settings
from tests.scanner.conftest import Actor, Shop, identity_card, make_gtin
from tests.sesame.test_bodies import post_asgi

JSON_HEADERS = {"Content-Type": "application/json"}
CACHED = make_gtin(7001)


@pytest.fixture
async def cached(shop: Shop) -> tuple[Actor, str]:
    """A product whose card this app's cache holds (a first scan loaded it)."""
    owner = await shop.company(name="Huilerie de la Voie Rapide SAS")
    await shop.file(owner, {"employee_satisfaction": {"value": 64, "unit": "%"}})
    await shop.product(owner, CACHED)
    first = await shop.client.post(SCAN_PATH, json={"code": CACHED[1:]})
    assert first.status_code == 200, first.text
    return owner, CACHED


def fast_path(app: Litestar) -> CardFastPath:
    outer = app.asgi_handler
    assert isinstance(outer, ExceptionHandlerMiddleware)
    fast = outer.app
    assert isinstance(fast, CardFastPath), "create_app puts the card's fast path in front of the router"
    return fast


@contextmanager
def route_only(app: Litestar) -> Iterator[None]:
    """The app as it would be without the fast path: the router answers every request."""
    outer = app.asgi_handler
    fast = fast_path(app)
    assert isinstance(outer, ExceptionHandlerMiddleware)
    outer.app = fast.inner
    try:
        yield
    finally:
        outer.app = fast


def answer(response: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return response.status_code, list(response.headers.raw), response.content


async def compared(
    shop: Shop, method: str, path: str, headers: dict[str, str], content: bytes | None = None
) -> tuple[Any, Any, int, int]:
    """The same request with and without the fast path: both answers, and how many it answered and passed."""
    fast = fast_path(shop.app)
    answered, passed = fast.answered, fast.passed

    async def ask() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        sent = shop.client.build_request(method, path, content=content, headers=headers)
        return answer(await shop.client.send(sent, follow_redirects=False))

    with_fast = await ask()
    counts = fast.answered - answered, fast.passed - passed
    with route_only(shop.app):
        without = await ask()
    return with_fast, without, *counts


async def both(shop: Shop, content: bytes, headers: dict[str, str]) -> tuple[Any, Any, int, int]:
    """``compared`` for a scan."""
    return await compared(shop, "POST", SCAN_PATH, headers, content)


def plain_forms(gtin: str) -> set[str]:
    """Codes naming nothing but the product: the fast path answers them."""
    return {gtin[1:], gtin, f"(01){gtin}", f"01{gtin}", f"]C101{gtin}", f"https://id.gs1.org/01/{gtin}"}


async def test_a_cached_card_is_answered_ahead_of_the_router_as_the_route_answers_it(
    shop: Shop, cached: tuple[Actor, str]
) -> None:
    _, gtin = cached
    for code in sorted(plain_forms(gtin)):
        with_fast, without, answered, passed = await both(
            shop, json.dumps({"code": code}).encode(), JSON_HEADERS
        )
        assert (answered, passed) == (1, 0), code
        assert with_fast == without
        status, headers, body = with_fast
        card = json.loads(body)
        assert status == 200 and card["gtin"] == gtin
        assert next(h["value"] for h in card["highlights"] if h["key"] == "employee_satisfaction") == 64
        names = {name.lower() for name, _ in headers}
        assert {b"content-security-policy", b"x-content-type-options", b"link", b"vary"} <= names


async def test_an_unknown_product_is_the_routes_404(shop: Shop, cached: tuple[Actor, str]) -> None:
    """The lookup's ``ProductNotFound`` goes to the route's exception handlers: the same problem JSON."""
    del cached
    for _ in range(2):  # the second time, the cache knows the GTIN is missing
        with_fast, without, answered, passed = await both(
            shop, json.dumps({"code": make_gtin(7002)[1:]}).encode(), JSON_HEADERS
        )
        assert (answered, passed) == (1, 0)
        assert with_fast == without and with_fast[0] == 404
        assert json.loads(with_fast[2])["status"] == 404


async def test_what_it_does_not_answer_goes_on_to_the_route(shop: Shop, cached: tuple[Actor, str]) -> None:
    _, gtin = cached
    cases: list[tuple[bytes, int | None]] = [  # None: a 400 or a 422, with the field's reason
        (json.dumps({"code": f"(01){gtin}(10)L2025-12B"}).encode(), 200),  # a lot: the route adds its record
        (json.dumps({"code": f"https://id.gs1.org/01/{gtin}?17=270630"}).encode(), 200),
        (json.dumps({"code": gtin[1:-1] + str((int(gtin[-1]) + 1) % 10)}).encode(), 422),  # check digit
        (json.dumps({"code": "https://id.gs1.org/414/9520123456788"}).encode(), 404),  # a GLN
        (json.dumps({"code": gtin[1:], "extra": 1}).encode(), None),
        (json.dumps({"code": 4006381333931}).encode(), None),
        (json.dumps({"code": "x" * 5000}).encode(), None),
        (b'{"code": "4006381333931"', None),
        (b"\xff\xfe", None),
        (b"", None),
    ]
    for content, status in cases:
        with_fast, without, answered, passed = await both(shop, content, JSON_HEADERS)
        assert (answered, passed) == (0, 1), content
        assert with_fast == without, content
        assert with_fast[0] == status or (status is None and with_fast[0] in (400, 422)), (content, with_fast)
        if with_fast[0] >= 400:
            assert json.loads(with_fast[2])["status"] == with_fast[0]  # the problem JSON of sesame.problems
        if status == 200:
            assert json.loads(with_fast[2])["scan"]["digital_link"].startswith(
                f"http://sesame.test/01/{gtin}"
            )


async def test_a_body_without_a_usable_length_is_left_to_the_route(
    shop: Shop, cached: tuple[Actor, str]
) -> None:
    """A chunked body (``Transfer-Encoding``, whatever ``Content-Length`` says) or no length: the route reads it."""
    _, gtin = cached
    fast = fast_path(shop.app)
    content = json.dumps({"code": gtin[1:]}).encode()
    for headers, status in (({"Transfer-Encoding": "chunked"}, 200), ({"Content-Length": "twenty"}, 400)):
        before = fast.answered, fast.passed
        response = await shop.client.post(SCAN_PATH, content=content, headers={**JSON_HEADERS, **headers})
        assert response.status_code == status, (headers, response.text)
        assert (fast.answered, fast.passed) == (before[0], before[1] + 1)
        if status == 200:
            assert response.json()["gtin"] == gtin
        else:
            assert "content-length" in response.json()["detail"]


async def test_a_host_the_router_refuses_is_refused(shop: Shop, cached: tuple[Actor, str]) -> None:
    _, gtin = cached
    with_fast, without, answered, passed = await both(
        shop, json.dumps({"code": gtin[1:]}).encode(), {**JSON_HEADERS, "Host": 'a"b'}
    )
    assert (answered, passed) == (0, 1)
    assert with_fast == without and with_fast[0] == 400
    assert "host" in json.loads(with_fast[2])["detail"].lower()


async def test_other_methods_and_paths_never_reach_it(shop: Shop, cached: tuple[Actor, str]) -> None:
    _, gtin = cached
    fast = fast_path(shop.app)
    before = fast.answered, fast.passed
    assert (await shop.client.get(SCAN_PATH)).status_code == 405
    assert (await shop.client.post(SCAN_PATH + "/", json={"code": gtin})).status_code == 200  # the route's
    assert (await shop.client.head(f"/01/{gtin}", headers={"Accept": "application/json"})).status_code == 200
    assert (await shop.client.post(f"/01/{gtin}", json={"code": gtin})).status_code == 405
    assert (await shop.client.get(f"/api/v1/products/{gtin}")).status_code == 200
    assert (await shop.client.post("/api/v1/bench/constant", json={"code": gtin})).status_code == 200
    assert (fast.answered, fast.passed) == before


async def test_a_new_card_version_is_never_answered_stale(shop: Shop, cached: tuple[Actor, str]) -> None:
    owner, gtin = cached
    fast = fast_path(shop.app)
    renamed = await shop.client.put(
        f"/api/v1/companies/{owner.company_id}/products/{gtin}",
        json={"name": "Huile d'olive, nouvelle récolte", "identity_card": identity_card(stock=12)},
        headers=owner.headers,
    )
    assert renamed.status_code == 200, renamed.text
    before = fast.answered
    first = await shop.client.post(SCAN_PATH, json={"code": gtin[1:]})
    card = first.json()
    assert card["name"] == "Huile d'olive, nouvelle récolte" and card["identity_card"]["stock"] == 12
    again = await shop.client.post(SCAN_PATH, json={"code": gtin[1:]})
    assert again.content == first.content and fast.answered == before + 2
    resolved = await shop.client.get(f"/01/{gtin}", headers={"Accept": "application/json"})
    assert resolved.content == first.content and fast.answered == before + 3


codes = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\A[0-9]{8,14}\Z"),
    st.builds(lambda n: make_gtin(n)[1:], st.integers(7000, 7003)),
    st.sampled_from(sorted(plain_forms(CACHED))),
    st.sampled_from(["(01)", "https://id.gs1.org/01/", "]C101", "01"]).map(lambda p: p + make_gtin(7001)),
)
bodies = st.one_of(
    st.builds(lambda code: json.dumps({"code": code}).encode(), codes),
    st.builds(lambda code: json.dumps({"code": code}, ensure_ascii=False).encode(), codes),
    st.builds(lambda value: json.dumps({"code": value}).encode(), st.integers() | st.none() | st.booleans()),
    st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3).map(
        lambda d: json.dumps(d).encode()
    ),
    st.binary(max_size=64),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(content=bodies, content_type=st.sampled_from(["application/json", "text/plain", ""]))
async def test_any_body_is_answered_as_the_route_answers_it(
    shop: Shop, cached: tuple[Actor, str], content: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    with_fast, without, answered, passed = await both(shop, content, headers)
    assert answered + passed == 1
    assert with_fast == without
    assert with_fast[0] < 500
    try:
        asked = json.loads(content)
    except ValueError:
        asked = None
    if isinstance(asked, dict) and set(asked) == {"code"} and asked["code"] in plain_forms(cached[1]):
        assert answered == 1 and with_fast[0] == 200  # not a test that would pass with the fast path off


async def test_a_client_gone_mid_body_is_passed_on_with_what_came(app: Litestar) -> None:
    """The route then sees the part that came and the disconnect, as it would without the fast path."""
    seen: list[Any] = []

    async def route(scope: Any, receive: Any, send: Any) -> None:
        seen.append(await receive())
        seen.append(await receive())

    frames: list[Any] = [
        {"type": "http.request", "body": b'{"code": "40', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Any:
        return frames.pop(0)

    async def send(message: Any) -> None:
        raise AssertionError(f"nothing is sent for a client gone: {message}")

    fast = CardFastPath(app, route, {SCAN: {}})
    scope = {
        "type": "http",
        "method": "POST",
        "path": SCAN_PATH,
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"24")],
        "state": {},
    }
    await fast(scope, receive, send)  # type: ignore[arg-type]
    assert seen == [
        {"type": "http.request", "body": b'{"code": "40', "more_body": True},
        {"type": "http.disconnect"},
    ]
    assert (fast.answered, fast.passed) == (0, 1)


#: ``Accept`` values that choose the JSON card (``None``: no header at all)
JSON_ACCEPTS = ["application/json", None, "*/*", "application/json;q=0.9, text/html;q=0.1", "application/*"]


async def test_a_plain_json_get_is_answered_ahead_of_the_router_as_the_route_answers_it(
    shop: Shop, cached: tuple[Actor, str]
) -> None:
    _, gtin = cached
    for accept in JSON_ACCEPTS:
        headers = {"Accept": accept} if accept is not None else {}
        with_fast, without, answered, passed = await compared(shop, "GET", f"/01/{gtin}", headers)
        assert (answered, passed) == (1, 0), accept
        assert with_fast == without, accept
        status, raw, body = with_fast
        assert status == 200 and json.loads(body)["gtin"] == gtin
        names = {name.lower() for name, _ in raw}
        assert {b"content-security-policy", b"link", b"vary", b"access-control-allow-origin"} <= names


async def test_what_the_resolver_route_adds_goes_on_to_it(shop: Shop, cached: tuple[Actor, str]) -> None:
    """A page, a linkset, a redirect, a lot, a query, a short or wrong GTIN, an encoded path: the route's."""
    _, gtin = cached
    wrong = gtin[:-1] + str((int(gtin[-1]) + 1) % 10)
    json_accept = {"Accept": "application/json"}
    cases: list[tuple[str, dict[str, str], int]] = [
        (f"/01/{gtin}", {"Accept": "text/html"}, 200),
        (f"/01/{gtin}", {"Accept": "application/linkset+json"}, 200),
        (f"/01/{gtin}?linkType=all", json_accept, 200),
        (f"/01/{gtin}?linkType=gs1:pip", json_accept, 307),
        (f"/01/{gtin}?17=270630", json_accept, 200),
        (f"/01/{gtin}/10/L2025-12B", json_accept, 200),
        (f"/01/{gtin[1:]}", json_accept, 200),  # 13 digits: the route reads and answers it
        (f"/01/{wrong}", json_accept, 400),
        (f"/01/%30{gtin[1:]}", json_accept, 200),
        (f"/01/{gtin}", {"Accept": "application/json", "Host": 'a"b'}, 400),
        (f"/01/{'9' * 14}", {"Accept": "text/html"}, 400),
    ]
    for path, headers, status in cases:
        with_fast, without, answered, passed = await compared(shop, "GET", path, headers)
        assert (answered, passed) == (0, 1), (path, headers)
        assert with_fast == without, (path, headers)
        assert with_fast[0] == status, (path, headers, with_fast)


async def test_an_unknown_product_is_the_resolvers_404(shop: Shop, cached: tuple[Actor, str]) -> None:
    del cached
    for _ in range(2):
        with_fast, without, answered, passed = await compared(
            shop, "GET", f"/01/{make_gtin(7003)}", {"Accept": "application/json"}
        )
        assert (answered, passed) == (1, 0)
        assert with_fast == without and with_fast[0] == 404
        assert json.loads(with_fast[2])["status"] == 404


media = st.sampled_from(
    [
        "application/json",
        "text/html",
        "application/linkset+json",
        "*/*",
        "application/*",
        "text/*",
        "image/png",
    ]
)
accepts = st.one_of(
    st.none(),
    st.lists(
        st.tuples(media, st.sampled_from(["", ";q=0", ";q=0.5", ";q=1", ";q=x", ";level=1"])).map("".join),
        min_size=1,
        max_size=4,
    ).map(", ".join),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
)
paths = st.one_of(
    st.just(CACHED),
    st.builds(lambda n: make_gtin(n), st.integers(7000, 7003)),
    st.from_regex(r"\A[0-9]{8,15}\Z"),
    st.builds(lambda lot: f"{CACHED}/10/{lot}", st.from_regex(r"\A[A-Za-z0-9]{1,8}\Z")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(rest=paths, accept=accepts, query=st.sampled_from(["", "?linkType=all", "?17=270630", "?x=1"]))
async def test_any_resolver_get_is_answered_as_the_route_answers_it(
    shop: Shop, cached: tuple[Actor, str], rest: str, accept: str | None, query: str
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    with_fast, without, answered, passed = await compared(shop, "GET", f"/01/{rest}{query}", headers)
    assert answered + passed == 1
    assert with_fast == without
    assert with_fast[0] < 500
    content_type = dict((name.lower(), value) for name, value in with_fast[1]).get(b"content-type")
    if rest == cached[1] and not query and content_type == b"application/json":
        assert answered == 1  # the plain JSON card: not a test that would pass with the fast path off


class Recorded(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_it_stays_out_when_it_would_skip_something(settings: Settings) -> None:
    """A guard, another middleware, CORS...: then the route answers every scan, and the log says why."""
    state = State({"settings": settings})
    wholes = DefineMiddleware(WholeBodies, limit=settings.max_body_bytes)

    async def guard(connection: Any, handler: Any) -> None:
        return None

    def noop(app: Any) -> Any:
        return app

    apps = {
        "guards": Litestar(
            [Router("/", route_handlers=[ScanController], guards=[guard])], middleware=[wholes]
        ),
        "middleware": Litestar([ScanController], middleware=[wholes, noop]),
        "CORS": Litestar([ScanController], middleware=[wholes], cors_config=CORSConfig()),
        "no route": Litestar([], middleware=[wholes]),
    }
    for expected, app in apps.items():
        app.state = state
        skipped = what_it_would_skip(app)
        assert any(expected.lower() in reason.lower() for reason in skipped), (expected, skipped)
        handler_before = app.asgi_handler
        recorded = Recorded()
        logging.getLogger("scanner.fastpath").addHandler(recorded)
        try:
            assert install(app) is None
        finally:
            logging.getLogger("scanner.fastpath").removeHandler(recorded)
        assert app.asgi_handler is handler_before and getattr(handler_before, "app", None) is not None
        assert not isinstance(getattr(handler_before, "app", None), CardFastPath)
        assert any("goes through the router" in line and skipped[0] in line for line in recorded.lines)

    plain = Litestar([ScanController], middleware=[wholes])
    plain.state = state
    assert what_it_would_skip(plain) == [] and what_it_would_skip(plain, RESOLVER) == [
        "no route answers GET /01/09506000134352"
    ]
    fast = install(plain)
    assert (
        isinstance(fast, CardFastPath) and fast.scan_handlers is not None and fast.resolver_handlers is None
    )


async def test_an_error_inside_it_is_answered_by_the_apps_exception_handlers(app: Litestar) -> None:
    """A server whose ``receive`` fails: a 500 problem JSON with the security headers, not a raw exception."""

    async def receive() -> Any:
        raise RuntimeError("the server's receive failed")

    headers = [(b"content-type", b"application/json"), (b"content-length", b"24")]
    sent = await post_asgi(app, SCAN_PATH, headers, receive)
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    answered = dict(start["headers"])
    assert start["status"] == 500 and answered[b"content-type"] == b"application/problem+json"
    assert b"content-security-policy" in answered and json.loads(body)["status"] == 500
    assert fast_path(app).answered == 0
