"""Webhooks to tills, in the Standard Webhooks style (https://www.standardwebhooks.com/).

Each message carries three headers: ``webhook-id`` (stable across retries: deduplicate on it),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` of
``{id}.{timestamp}.{body}`` under the secret, the base64 bytes after ``whsec_``). A till checks a delivery with
``verify``::

    payload = verify(secret, request.headers, body)   # raises WebhookVerificationError

Deliveries are rows in ``checkout_webhook_deliveries``; ``WebhookDispatcher`` sends the due ones, logs each
attempt, and retries with back-off. Every worker runs one; a delivery is claimed with a conditional UPDATE so
only one worker sends it, and pending deliveries left by a stopped server are picked up when it starts again.

A till's URL is chosen by a company, so deliveries are guarded against SSRF (``TargetGuard``): a URL whose
host is, or resolves to, a private, loopback, link-local, multicast or reserved address is refused when the
till is registered (422) and at every delivery, where the delivery fails at once (logged, never retried). The
transport resolves the host when it connects and connects to the address it has just vetted (no DNS
rebinding), keeping the host name for ``Host``, TLS SNI and certificate checks; it never uses a proxy from the
environment and never follows redirects. ``SESAME_CHECKOUT_WEBHOOK_ALLOW_PRIVATE=1`` lifts the address rule
for tests and local demos only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from scanner.checkout.errors import UnresolvableWebhookTarget, UnsafeWebhookTarget, WebhookVerificationError
from scanner.checkout.models import DeliveryStatus, Till, WebhookAttempt, WebhookDelivery
from sesame.keys import KeyRing
from sesame.models import utcnow

log = logging.getLogger("sesame.checkout.webhooks")

SECRET_PREFIX = "whsec_"  # the Standard Webhooks prefix, not a secret  # nosec B105
SIGNATURE_VERSION = "v1"
#: How far a receiver accepts a timestamp from its own clock (replay protection).
DEFAULT_TOLERANCE_SECONDS = 300
USER_AGENT = "Sesame-Webhooks/1"


# -- signing ----------------------------------------------------------------------------------------------------
def new_secret() -> tuple[str, bytes]:
    """A fresh secret: ``(whsec_..., raw 32 bytes)``."""
    raw = secrets.token_bytes(32)
    return SECRET_PREFIX + base64.b64encode(raw).decode(), raw


def secret_bytes(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        return secret
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise WebhookVerificationError("the webhook secret is not valid base64") from exc


def signature(secret: str | bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signed_headers(
    secret: str | bytes, msg_id: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature(secret, msg_id, stamp, body),
    }


def verify(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a delivery's signature and timestamp; returns the parsed JSON body.

    Any of: a missing header, a timestamp outside the tolerance, no matching ``v1`` signature (several may be
    given, space-separated, during a secret rotation) raises ``WebhookVerificationError``.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    given = lowered.get("webhook-signature")
    if not msg_id or not stamp or not given:
        raise WebhookVerificationError("missing webhook headers")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError("invalid webhook timestamp") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookVerificationError("webhook timestamp outside the tolerance")
    expected = signature(secret, msg_id, timestamp, body).split(",", 1)[1]
    for candidate in given.split():
        version, _, value = candidate.partition(",")
        if version == SIGNATURE_VERSION and hmac.compare_digest(value.encode(), expected.encode()):
            try:
                parsed: dict[str, Any] = json.loads(body)
            except ValueError as exc:
                raise WebhookVerificationError("the webhook body is not JSON") from exc
            return parsed
    raise WebhookVerificationError("no valid webhook signature")


# -- targets ----------------------------------------------------------------------------------------------------
def check_url(url: str) -> str:
    """A webhook target must be an absolute http(s) URL without credentials or fragment."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http"):
        raise ValueError("the webhook URL must be http or https")
    if not parts.hostname:
        raise ValueError("the webhook URL needs a host")
    if parts.username or parts.password:
        raise ValueError("the webhook URL must not carry credentials")
    if parts.fragment:
        raise ValueError("the webhook URL must not have a fragment")
    return url.strip()


#: ``(host, port) -> addresses``: how a webhook host is resolved (the system resolver unless one is injected).
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public_address(address: str) -> bool:
    """Whether a webhook may be sent to ``address``: a globally routable unicast address.

    Refused: private (RFC 1918, ULA), loopback, link-local (169.254.169.254 and the other cloud metadata
    addresses), shared (CGNAT), documentation, multicast, reserved, unspecified, IPv6 site-local and NAT64, and
    IPv6 addresses carrying a non-public IPv4 one (IPv4-mapped, 6to4, Teredo).
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:
            return False
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
    )


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class TargetGuard:
    """Decides which addresses a webhook may be sent to (the SSRF guard).

    ``addresses`` resolves a host when it is called and refuses it when *any* of its addresses is not public
    (``allow_private`` lifts that, for tests and local demos only). The delivery transport calls it when it
    opens each connection and connects to an address it returned, so a DNS answer that changes between a
    check and the connection (DNS rebinding) cannot reach an internal address.
    """

    allow_private: bool = False
    resolver: Resolver = system_resolver
    #: A name that takes longer to resolve counts as unresolvable (retried at delivery, let through at
    #: registration), so a slow DNS server cannot hold a request or the worker.
    resolve_timeout_seconds: float = 5.0

    async def addresses(self, host: str, port: int) -> list[str]:
        host = host.strip("[]")
        if _is_ip_literal(host):
            found = [host]
        else:
            try:
                async with asyncio.timeout(self.resolve_timeout_seconds):
                    found = await self.resolver(host, port)
            except TimeoutError as exc:
                raise UnresolvableWebhookTarget(f"resolving {host} timed out") from exc
            except OSError as exc:
                raise UnresolvableWebhookTarget(f"cannot resolve {host}: {exc}") from exc
            if not found:
                raise UnresolvableWebhookTarget(f"{host} has no address")
        if not self.allow_private:
            refused = [address for address in found if not is_public_address(address)]
            if refused:
                raise UnsafeWebhookTarget(f"{host} resolves to a non-public address ({refused[0]})")
        return found

    async def check_url(self, url: str) -> None:
        """Refuse a URL whose host is or resolves to a non-public address; an unresolvable host passes (it
        may not be published yet: every delivery checks again)."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with contextlib.suppress(UnresolvableWebhookTarget):
            await self.addresses(parts.hostname or "", port)


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Opens each connection to an address the guard vetted at that moment (pinned): the URL, the ``Host``
    header and, for https, the TLS SNI and certificate hostname check all keep the original host name."""

    def __init__(self, guard: TargetGuard) -> None:
        self._guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await self._guard.addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # addresses() never returns an empty list
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeWebhookTarget("webhooks are not sent to Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool on a ``GuardedNetworkBackend``; never through a proxy from
    the environment (a proxy would resolve the host itself)."""

    def __init__(self, guard: TargetGuard, *, verify: ssl.SSLContext | bool = True) -> None:
        super().__init__(verify=verify, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=20,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            network_backend=GuardedNetworkBackend(guard),
        )


# -- delivery ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """Seconds to wait after each failed attempt; one more attempt than delays, then the delivery fails.

    The default spreads 10 attempts over about a day (Standard Webhooks suggests a similar schedule).
    """

    delays: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
    timeout_seconds: float = 10.0
    lock_seconds: float = 60.0
    jitter: float = 0.1

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def next_delay(self, attempts_made: int) -> float | None:
        if attempts_made >= self.max_attempts:
            return None
        base = self.delays[attempts_made - 1]
        return base * (1 + random.uniform(-self.jitter, self.jitter))  # noqa: S311 (jitter, not a secret)  # nosec B311


def new_delivery_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def encode_payload(event_type: str, data: dict[str, Any], *, at: datetime) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
        sort_keys=True,
    )


class WebhookDispatcher:
    """Sends due deliveries; one per worker process. ``deliver_due`` is one pass (tests call it directly)."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        keys: KeyRing,
        policy: RetryPolicy | None = None,
        allow_private_targets: bool = False,
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        batch: int = 20,
    ) -> None:
        """``transport`` replaces the network (tests); the guard still vets every target before a send."""
        self._sessionmaker = sessionmaker
        self._keys = keys
        self.policy = policy or RetryPolicy()
        self.guard = TargetGuard(allow_private=allow_private_targets, resolver=resolver)
        self._verify = verify
        self._transport = transport
        self._batch = batch
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> WebhookDispatcher:
        self._client = httpx.AsyncClient(
            transport=self._transport or GuardedTransport(self.guard, verify=self._verify),
            timeout=self.policy.timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": USER_AGENT, "content-type": "application/json"},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def deliver_due(self, *, now: datetime | None = None) -> int:
        """Attempt every due delivery once; returns how many were attempted."""
        moment = now or utcnow()
        async with self._sessionmaker() as session:
            due = (
                await session.scalars(
                    select(WebhookDelivery.id)
                    .where(
                        col(WebhookDelivery.status) == DeliveryStatus.pending.value,
                        col(WebhookDelivery.next_attempt_at) <= moment,
                        or_(
                            col(WebhookDelivery.locked_until).is_(None),
                            col(WebhookDelivery.locked_until) < moment,
                        ),
                    )
                    .order_by(col(WebhookDelivery.next_attempt_at))
                    .limit(self._batch)
                )
            ).all()
        results = await asyncio.gather(*(self._attempt(delivery_id, moment) for delivery_id in due))
        return sum(results)

    async def _claim(self, session: AsyncSession, delivery_id: str, now: datetime) -> bool:
        result = await session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.status) == DeliveryStatus.pending.value,
                or_(col(WebhookDelivery.locked_until).is_(None), col(WebhookDelivery.locked_until) < now),
            )
            .values(locked_until=now + timedelta(seconds=self.policy.lock_seconds))
        )
        await session.commit()
        return getattr(result, "rowcount", 0) == 1

    async def _attempt(self, delivery_id: str, now: datetime) -> int:
        async with self._sessionmaker() as session:
            if not await self._claim(session, delivery_id, now):
                return 0
            delivery = await session.get(WebhookDelivery, delivery_id)
            till = await session.get(Till, delivery.till_id) if delivery else None
            if delivery is None or till is None:
                return 0
            number = delivery.attempts + 1
            started = utcnow()
            clock = time.perf_counter()
            status_code: int | None = None
            error: str | None = None
            excerpt: str | None = None
            refused = False
            try:
                if till.webhook_secret_wrapped is None or till.webhook_secret_kek_id is None:
                    raise RuntimeError("the till has no webhook secret")
                # Checked here for a clear refusal before anything is signed, and again by the transport when
                # it connects (the address it connects to is one it has just vetted: no DNS rebinding).
                await self.guard.check_url(delivery.url)
                secret = self._keys.unwrap(till.webhook_secret_kek_id, till.webhook_secret_wrapped)
                body = delivery.payload.encode()
                headers = signed_headers(secret, delivery.id, body)
                assert self._client is not None, "use the dispatcher as an async context manager"
                response = await self._client.post(delivery.url, content=body, headers=headers)
                status_code = response.status_code
                excerpt = response.text[:500] or None
            except UnsafeWebhookTarget as exc:  # logged on the attempt, never retried
                refused = True
                error = f"{type(exc).__name__}: {exc}"[:500]
            except Exception as exc:  # every other failure is logged on the attempt and retried
                error = f"{type(exc).__name__}: {exc}"[:500]
            duration_ms = int((time.perf_counter() - clock) * 1000)
            ok = status_code is not None and 200 <= status_code < 300
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    number=number,
                    started_at=started,
                    duration_ms=duration_ms,
                    status_code=status_code,
                    error=error,
                    response_excerpt=excerpt,
                )
            )
            delivery.attempts = number
            delivery.last_status_code = status_code
            delivery.locked_until = None
            if ok:
                delivery.status = DeliveryStatus.delivered.value
                delivery.delivered_at = utcnow()
            elif refused:
                delivery.status = DeliveryStatus.failed.value
                log.warning("webhook %s to till %s refused: %s", delivery.id, till.id, error)
            else:
                delay = self.policy.next_delay(number)
                if delay is None:
                    delivery.status = DeliveryStatus.failed.value
                    log.warning(
                        "webhook %s to till %s failed after %d attempts", delivery.id, till.id, number
                    )
                else:
                    delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
            await session.commit()
            return 1
