"""``WholeBodies``: a request body ends at its ``Content-Length``, in front of a recorded server and a real Granian."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar, post
from litestar.handlers import HTTPRouteHandler
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

from sesame.app import create_app
from sesame.bodies import WholeBodies, declared_length
from sesame.settings import Settings
from tests.scanner.checkout.live import LiveServer


class Server:
    """The server side of ``receive``: hands out the frames given, then waits for the end of the response."""

    def __init__(self, frames: list[tuple[bytes, bool]]) -> None:
        self.messages: list[dict[str, Any]] = [
            {"type": "http.request", "body": body, "more_body": more} for body, more in frames
        ]
        self.calls = 0

    async def receive(self) -> dict[str, Any]:
        self.calls += 1
        if self.messages:
            return self.messages.pop(0)
        return {"type": "http.disconnect"}


def granian_frames(body: bytes, cuts: list[int]) -> list[tuple[bytes, bool]]:
    """What Granian sends: each data frame marked ``more_body``, then an empty last frame."""
    edges = [0, *sorted({c for c in cuts if 0 < c < len(body)}), len(body)]
    frames = [(body[a:b], True) for a, b in itertools.pairwise(edges) if b > a]
    return [*frames, (b"", False)]


async def read_like_litestar(
    scope: dict[str, Any], frames: list[tuple[bytes, bool]], limit: int = 1 << 20
) -> tuple[bytes, int, Any]:
    """Runs an app that reads the body as Litestar's stream does (until ``more_body`` is false) behind
    ``WholeBodies``; answers what it read, how many times the server was asked, and the app's ``receive``."""
    server = Server(frames)
    got: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        got["body"] = b"".join(chunks)
        got["receive"] = receive

    async def send(message: Any) -> None:
        raise AssertionError("nothing is sent")

    await WholeBodies(app, limit=limit)(scope, server.receive, send)  # type: ignore[arg-type]
    return got["body"], server.calls, got["receive"]


@post("/takes-data")
async def takes_data(data: bytes) -> None:
    del data


@post("/takes-nothing")
async def takes_nothing() -> None:
    return None


def http(method: str, headers: list[tuple[bytes, bytes]], handler: Any = takes_data) -> dict[str, Any]:
    return {"type": "http", "method": method, "headers": headers, "path": "/", "route_handler": handler}


def cached_body(scope: dict[str, Any]) -> Any:
    return ScopeState.from_scope(scope).body  # type: ignore[arg-type]


def test_a_whole_body_is_read_once_and_left_where_litestar_looks() -> None:
    body = b'{"code":"4006381333931"}'
    scope = http("POST", [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))])
    read, calls, _ = asyncio.run(read_like_litestar(scope, granian_frames(body, [])))
    assert (read, calls, cached_body(scope)) == (body, 1, body)


@given(
    body=st.binary(min_size=0, max_size=300),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    limit=st.sampled_from([0, 50, 1 << 20]),
)
def test_any_framing_reads_the_whole_body_and_stops_at_its_length(
    body: bytes, cuts: list[int], limit: int
) -> None:
    frames = granian_frames(body, cuts)
    scope = http("PUT", [(b"content-length", str(len(body)).encode())])
    read, calls, _ = asyncio.run(read_like_litestar(scope, frames, limit))
    assert read == body
    data_frames = len(frames) - 1
    if len(body) <= limit:  # read by the middleware: the empty last frame is never asked for
        assert calls == data_frames
        assert cached_body(scope) == body
    else:  # streamed by the app, told the end with the frame that completes the length
        assert calls == max(data_frames, 1)
        assert cached_body(scope) is Empty


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("POST", [(b"transfer-encoding", b"chunked")]),  # no length: the server's end is the end
        ("POST", [(b"content-length", b"2x")]),  # not a number: left to the server and Litestar
        ("POST", [(b"content-length", b"1"), (b"transfer-encoding", b"chunked")]),  # the server reads chunks
        ("POST", [(b"transfer-encoding", b"chunked"), (b"content-length", b"1")]),
        ("GET", [(b"content-length", b"3")]),
    ],
)
def test_without_a_usable_length_every_frame_is_asked_for(
    method: str, headers: list[tuple[bytes, bytes]]
) -> None:
    scope = http(method, headers)
    read, calls, _ = asyncio.run(read_like_litestar(scope, granian_frames(b"abc", [1])))
    assert (read, calls, cached_body(scope)) == (b"abc", 3, Empty)


def test_a_handler_that_takes_no_body_streams_it_if_it_asks() -> None:
    scope = http("POST", [(b"content-length", b"3")], handler=takes_nothing)
    read, calls, _ = asyncio.run(read_like_litestar(scope, granian_frames(b"abc", [1])))
    assert (read, calls, cached_body(scope)) == (b"abc", 2, Empty)


def test_a_get_gets_the_servers_own_receive() -> None:
    server = Server([])
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(receive)

    asyncio.run(WholeBodies(app, limit=100)(http("GET", []), server.receive, server.receive))  # type: ignore[arg-type]
    assert seen == [server.receive]


@pytest.mark.parametrize("limit", [100, 1])
def test_after_the_end_the_next_message_is_the_disconnect(limit: int) -> None:
    scope = http("POST", [(b"content-length", b"3")])

    async def go() -> dict[str, Any]:
        _, _, receive = await read_like_litestar(scope, granian_frames(b"abc", []), limit)
        message: dict[str, Any] = await receive()
        return message

    assert asyncio.run(go()) == {"type": "http.disconnect"}


def test_only_one_empty_final_frame_is_skipped() -> None:
    """A server that kept answering empty frames would not make the app's ``receive`` spin."""
    scope = http("POST", [(b"content-length", b"3")])

    async def go() -> dict[str, Any]:
        frames = [(b"abc", True), (b"", False), (b"", False), (b"", False)]
        _, calls, receive = await read_like_litestar(scope, frames)
        assert calls == 1
        message: dict[str, Any] = await receive()
        return message

    assert asyncio.run(go()) == {"type": "http.request", "body": b"", "more_body": False}


def test_a_client_gone_mid_body_is_seen_gone_by_the_app() -> None:
    scope = http("POST", [(b"content-length", b"10")])
    server = Server([(b"abc", True)])  # then the disconnect
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.extend([await receive(), await receive()])

    asyncio.run(WholeBodies(app, limit=100)(scope, server.receive, server.receive))  # type: ignore[arg-type]
    assert seen == [
        {"type": "http.request", "body": b"abc", "more_body": True},
        {"type": "http.disconnect"},
    ]
    assert cached_body(scope) is Empty


def test_no_route_takes_less_than_the_limit_the_middleware_reads_up_to(settings: Settings) -> None:
    """The middleware reads bodies up to the app's limit without the route's own check: sound only while no
    route has a smaller limit."""
    app = create_app(settings)
    limits = {
        handler.handler_name: handler.resolve_request_max_body_size()
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if isinstance(handler, HTTPRouteHandler)
    }
    assert len(limits) > 20
    assert {
        name: size for name, size in limits.items() if size is None or size < settings.max_body_bytes
    } == {}


def test_declared_length() -> None:
    assert declared_length([(b"host", b"x"), (b"content-length", b"42")]) == 42
    assert declared_length([(b"host", b"x")]) is None
    assert declared_length([(b"content-length", b"-1")]) is None
    assert declared_length([(b"content-length", b"")]) is None
    assert declared_length([(b"content-length", b"5"), (b"transfer-encoding", b"chunked")]) is None


# -- through the app ---------------------------------------------------------------------------------------------


async def post_asgi(app: Any, path: str, headers: list[tuple[bytes, bytes]], receive: Any) -> list[Any]:
    """``POST path`` straight through ``app``'s ASGI call; the messages it sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"t"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def call(app: Litestar, path: str, headers: list[tuple[bytes, bytes]], receive: Any) -> tuple[int, Any]:
    sent = await post_asgi(app, path, headers, receive)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body) if body else None


async def test_a_route_reads_its_body_with_one_receive_per_data_frame(app: Litestar) -> None:
    """Through the app: ``WholeBodies`` stops at the declared length, so Granian's empty last frame is not asked
    for; the route (the benchmark's POST constant, which takes the scan's body) reads the cached bytes."""
    body = b'{"code":"4006381333931"}'
    server = Server(granian_frames(body, [7]))  # two data frames, then Granian's empty one
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    status, answer = await call(app, "/api/v1/bench/constant", headers, server.receive)
    assert status == 200 and answer["constant"].startswith("x")
    assert server.calls == 2


async def test_the_scan_reads_its_body_with_one_receive_per_data_frame(app: Litestar) -> None:
    """The scan's fast path reads the body (``scanner.fastpath``); the route it hands a wrong check digit to
    reads the replayed bytes, not the server again."""
    body = b'{"code":"4006381333930"}'
    server = Server(granian_frames(body, [7]))
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    status, problem = await call(app, "/api/v1/scan", headers, server.receive)
    assert status == 422 and "check digit" in json.dumps(problem).lower()
    assert server.calls == 2


async def test_a_route_without_a_body_answers_without_waiting_for_one(app: Litestar) -> None:
    """A client that declares a body and never sends it gets its 401 from a route that takes no body."""

    async def never() -> Any:
        await asyncio.Event().wait()

    headers = [(b"content-type", b"application/json"), (b"content-length", b"100")]
    status, _ = await asyncio.wait_for(
        call(app, "/api/v1/vault/company-accounts/1/decline", headers, never), timeout=10
    )
    assert status == 401


# -- through Granian ---------------------------------------------------------------------------------------------


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, dict[str, Any]]:
    """One HTTP/1.1 response with a Content-Length from ``sock``; ``buffer`` keeps what follows it."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-body")
        body += chunk
    buffer[:] = body[length:]
    return status, json.loads(bytes(body[:length]))


@pytest.mark.slow
def test_granian_answers_posts_on_one_connection_whatever_the_framing() -> None:
    """Two POSTs in a row on one keep-alive connection (the body's end was not read from the server), a body
    arriving after its headers, and a chunked body: each is read whole and answered."""
    wrong_check_digit = b'{"code":"4006381333930"}'
    with (
        LiveServer(redis_url=None, workers=1) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        buffer = bytearray()
        head = (
            b"POST /api/v1/scan HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Accept: application/json\r\n"
        )
        for _ in range(2):
            sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(wrong_check_digit) + wrong_check_digit)
            status, problem = _read_response(sock, buffer)
            assert status == 422 and "check digit" in json.dumps(problem).lower()

        sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(wrong_check_digit) + wrong_check_digit[:9])
        time.sleep(0.3)  # the rest of the body comes later: the app waits for it
        sock.sendall(wrong_check_digit[9:])
        status, problem = _read_response(sock, buffer)
        assert status == 422 and "check digit" in json.dumps(problem).lower()

        unknown = b'{"code":"4006381333931"}'
        chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, unknown[:10], len(unknown) - 10, unknown[10:])
        sock.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n" + chunked)
        status, problem = _read_response(sock, buffer)
        assert status == 404 and "04006381333931" in json.dumps(problem)
