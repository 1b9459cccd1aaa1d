"""Request bodies: read once, up to the length the request declared, before the route's handler asks.

Two costs of a POST that a GET does not pay, measured on the scan hot path (``POST /api/v1/scan``, 24 bytes):

- Granian (ASGI) hands a body over one frame per ``receive()`` and marks every data frame ``more_body: True``:
  a body that arrived whole still takes a second call, answering ``body: b""`` with ``more_body: False``. Each
  call is a future resolved on Granian's Rust runtime, a cross-thread round trip with the GIL on both sides;
  the second carries nothing. On a bare ASGI app (2 workers, wrk 64 connections), a POST read to
  ``more_body: False`` served ~28k requests/s against ~50k for a GET; stopping at the declared length, ~40k.
- Litestar's ``Request.body()`` streams through an async generator that parses the headers, resolves the
  route's size limit and joins the chunks: about a third of a plain handler's own cost, in-process.

``WholeBodies`` reads a body itself when its ``Content-Length`` is at most ``limit`` (the app's own body limit:
no route takes less) and the route's handler takes a body (``data``). It stops at that length and leaves the
bytes where ``Request.body()`` looks first (Litestar's per-connection state, where Litestar itself keeps a body
read once for the next reader). The handler then reads the same bytes without another ``receive()``; should a
Litestar release stop looking there, it reads them from a ``receive`` that replays the body as one message, so
the bytes and the answer stay the same either way.

A larger declared body (an upload route takes more), or one for a handler that does not take it (it may answer
without reading, a 401 say, and is not kept waiting for the bytes), is left to Litestar's stream, whose limit
checks apply, with ``receive`` marking the message that completes the declared length as the last. Without
``Content-Length`` (a chunked body), with a value that is not a number, or with a ``Transfer-Encoding`` beside
it (the server then reads chunks, not the length), nothing changes. A client gone before its body was whole:
the app gets what came and the disconnect, as without this middleware. Calls to ``receive()`` after the body
skip the server's empty final frame and get the next message (``http.disconnect``), as the ASGI spec has it.
"""

from __future__ import annotations

from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send
from litestar.utils.scope.state import ScopeState

__all__ = ["WholeBodies", "declared_length", "read_whole", "takes_body"]

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


def declared_length(headers: Any) -> int | None:
    """The request's ``Content-Length`` as a number; ``None`` when absent or unreadable, or when the request also
    has a ``Transfer-Encoding`` (the server then reads the body as chunked, whatever the length says)."""
    length = None
    for name, value in headers:
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            return None
    return length


def takes_body(scope: Scope) -> bool:
    """Whether the route's handler takes the body (a ``data`` parameter): only those get it read in advance."""
    handler = scope.get("route_handler")
    return handler is not None and "data" in handler.parsed_fn_signature.parameters


class WholeBodies:
    """ASGI middleware (one per route, in front of Litestar's own): see the module's docstring."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] in _BODYLESS:
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope["headers"])
        if declared is None:
            await self.app(scope, receive, send)
            return
        if declared > self.limit or not takes_body(scope):
            await self.app(scope, _Receiver(receive, declared), send)
            return
        body, replay = await read_whole(receive, declared)
        if body is not None:
            ScopeState.from_scope(scope).body = body
        await self.app(scope, replay, send)


async def read_whole(receive: Receive, declared: int) -> tuple[bytes | None, Receive]:
    """Read a body of ``declared`` bytes (the request's ``declared_length``), stopping at that length.

    Returns the bytes, or ``None`` when the client went before the end, and a ``receive`` for whoever reads the
    body next: it replays it as one message (or what came, then the disconnect), then goes on with the server's.
    """
    replay: list[Any] = []
    left = declared
    while left > 0:
        message: Any = await receive()
        replay.append(message)
        if message["type"] != "http.request":
            return None, _Replay(receive, replay)  # gone before the end: the app sees what came, then this
        left -= len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(m.get("body", b"") for m in replay)  # one chunk: that very object
    return body, _Replay(receive, [{"type": "http.request", "body": body, "more_body": False}])


class _Replay:
    """``receive`` answering ``messages`` first, then the server's, without its empty final frame."""

    __slots__ = ("messages", "receive")

    def __init__(self, receive: Receive, messages: list[Any]) -> None:
        self.receive = receive
        self.messages = messages

    async def __call__(self) -> ReceiveMessage:
        if self.messages:
            return self.messages.pop(0)  # type: ignore[no-any-return]
        return await _after_the_end(self.receive)


async def _after_the_end(receive: Receive) -> ReceiveMessage:
    message: Any = await receive()
    if message["type"] == "http.request" and not message.get("body") and not message.get("more_body", False):
        # the server's empty final frame (it sends one): the app has had the body's end already
        message = await receive()
    return message  # type: ignore[no-any-return]


class _Receiver:
    """``receive`` for a body of ``left`` bytes streamed by Litestar: the message completing it is the last."""

    __slots__ = ("ended", "left", "receive")

    def __init__(self, receive: Receive, left: int) -> None:
        self.receive = receive
        self.left = left
        self.ended = False

    async def __call__(self) -> ReceiveMessage:
        if self.ended:
            return await _after_the_end(self.receive)
        message: Any = await self.receive()
        if message["type"] != "http.request":
            return message  # type: ignore[no-any-return]
        self.left -= len(message.get("body", b""))
        if self.left <= 0:
            message["more_body"] = False
        if not message.get("more_body", False):
            self.ended = True
        return message  # type: ignore[no-any-return]
