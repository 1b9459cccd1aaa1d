"""Standard Webhooks signatures, and deliveries: retried with back-off, logged, surviving a restart."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlmodel import select

from scanner.checkout.errors import UnresolvableWebhookTarget, WebhookVerificationError
from scanner.checkout.models import WebhookAttempt, WebhookDelivery
from scanner.checkout.webhooks import (
    Resolver,
    RetryPolicy,
    TargetGuard,
    WebhookDispatcher,
    is_public_address,
    new_secret,
    signed_headers,
    verify,
)
from tests.scanner.checkout.conftest import TillActor, World

# The test vector published with Standard Webhooks' reference libraries.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def dns(records: dict[str, list[str]]) -> Resolver:
    """A resolver answering from ``records`` (the DNS the tests control); other names do not exist."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in records:
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: name not known")
        return list(records[host])

    return resolve


#: till.example as if it were published on a public address (the tests' transports never connect to it).
PUBLIC_DNS = dns({"till.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})


def test_the_reference_vector() -> None:
    headers = signed_headers(VECTOR_SECRET, VECTOR_ID, VECTOR_BODY, timestamp=VECTOR_TIMESTAMP)
    assert headers["webhook-signature"] == VECTOR_SIGNATURE
    assert verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP + 10) == {"test": 2432232314}


def _signed(secret: str, body: bytes = b'{"a":1}') -> dict[str, str]:
    return signed_headers(secret, "msg_1", body)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda h, b, s: (h, b + b" ", s), id="changed body"),
        pytest.param(lambda h, b, s: (h, b, new_secret()[0]), id="other secret"),
        pytest.param(lambda h, b, s: ({**h, "webhook-id": "msg_2"}, b, s), id="changed id"),
        pytest.param(
            lambda h, b, s: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b, s),
            id="changed timestamp",
        ),
        pytest.param(lambda h, b, s: ({**h, "webhook-signature": "v1,AAAA"}, b, s), id="forged signature"),
        pytest.param(
            lambda h, b, s: ({**h, "webhook-signature": h["webhook-signature"].replace("v1,", "v2,")}, b, s),
            id="unknown version",
        ),
        pytest.param(
            lambda h, b, s: ({k: v for k, v in h.items() if k != "webhook-signature"}, b, s),
            id="no signature",
        ),
    ],
)
def test_a_forged_delivery_is_detected(forge: object) -> None:
    secret, _ = new_secret()
    body = b'{"type":"checkout.confirmed"}'
    headers = _signed(secret, body)
    assert verify(secret, headers, body)["type"] == "checkout.confirmed"
    forged_headers, forged_body, forged_secret = forge(headers, body, secret)  # type: ignore[operator]
    with pytest.raises(WebhookVerificationError):
        verify(forged_secret, forged_headers, forged_body)


def test_replayed_old_delivery_is_refused() -> None:
    secret, _ = new_secret()
    headers = signed_headers(secret, "msg_1", b"{}", timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError):
        verify(secret, headers, b"{}")


def test_several_signatures_during_a_rotation() -> None:
    old, _ = new_secret()
    new, _ = new_secret()
    headers = _signed(new)
    headers["webhook-signature"] = _signed(old)["webhook-signature"] + " " + headers["webhook-signature"]
    assert verify(new, headers, b'{"a":1}') == {"a": 1}


def test_the_secret_format() -> None:
    secret, raw = new_secret()
    assert secret.startswith("whsec_") and len(raw) == 32


async def test_deliveries_are_signed_retried_and_logged(world: World) -> None:
    citizen, company, _ = await world.ready()
    till = await world.till(company, webhook_url="https://till.example/hooks")
    assert till.webhook_secret and till.webhook_secret.startswith("whsec_")
    received: list[dict[str, object]] = []
    answers = iter([503, 200])

    async def receiver(request: httpx.Request) -> httpx.Response:
        payload = verify(till.webhook_secret or "", dict(request.headers), request.content)
        received.append({"id": request.headers["webhook-id"], "payload": payload})
        return httpx.Response(next(answers), text="ok")

    checkout_id = (await world.start(till, citizen)).json()["id"]
    await world.decide(citizen, checkout_id, confirm=False)
    policy = RetryPolicy(delays=(0,), jitter=0)
    async with WebhookDispatcher(
        sessionmaker=world.sessionmaker,
        keys=world.app.state.keyring,
        policy=policy,
        resolver=PUBLIC_DNS,
        transport=httpx.MockTransport(receiver),
    ) as dispatcher:
        assert await dispatcher.deliver_due() == 1  # 503: retried
    # a new dispatcher, as after a restart, picks the pending delivery up
    async with WebhookDispatcher(
        sessionmaker=world.sessionmaker,
        keys=world.app.state.keyring,
        policy=policy,
        resolver=PUBLIC_DNS,
        transport=httpx.MockTransport(receiver),
    ) as dispatcher:
        assert await dispatcher.deliver_due() == 1
        assert await dispatcher.deliver_due() == 0  # delivered: nothing left

    assert [r["id"] for r in received] == [received[0]["id"]] * 2  # same webhook-id on every attempt
    payload = received[0]["payload"]
    assert isinstance(payload, dict) and payload["type"] == "checkout.declined"
    assert payload["data"]["id"] == checkout_id and payload["data"]["decision_jws"]

    log = await world.client.get(f"/api/v1/checkouts/{checkout_id}/webhook-deliveries", headers=till.auth)
    assert log.status_code == 200
    (delivery,) = log.json()
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2
    assert [a["status_code"] for a in delivery["log"]] == [503, 200]


async def test_a_delivery_gives_up_after_its_attempts(world: World) -> None:
    citizen, company, _ = await world.ready()
    till = await world.till(company, webhook_url="https://till.example/hooks")

    async def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    checkout_id = (await world.start(till, citizen)).json()["id"]
    await world.decide(citizen, checkout_id, confirm=True)
    async with WebhookDispatcher(
        sessionmaker=world.sessionmaker,
        keys=world.app.state.keyring,
        policy=RetryPolicy(delays=(0, 0), jitter=0),
        resolver=PUBLIC_DNS,
        transport=httpx.MockTransport(down),
    ) as dispatcher:
        for _ in range(4):
            await dispatcher.deliver_due()
    async with world.sessionmaker() as session:
        delivery = (await session.scalars(select(WebhookDelivery))).one()
        attempts = (await session.scalars(select(WebhookAttempt))).all()
    assert delivery.status == "failed" and delivery.attempts == 3
    assert len(attempts) == 3 and all("ConnectError" in (a.error or "") for a in attempts)


async def test_webhook_urls_are_checked(world: World) -> None:
    _, company, _ = await world.ready()
    for bad in (
        "ftp://till.example/x",
        "https://user:pw@till.example/x",
        "not a url",
        "https://till.example/#x",
    ):
        response = await world.client.post(
            "/api/v1/tills", json={"name": "x", "webhook_url": bad}, headers=company.auth
        )
        assert response.status_code == 422, bad


# -- SSRF: non-public targets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.10",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared (CGNAT)
        "0.0.0.0",  # noqa: S104 (an address refused, not bound)
        "192.0.2.1",  # documentation
        "224.0.1.1",  # multicast (is_global on its own says True)
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "fec0::1",  # site-local (is_global says True)
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1 (is_global says True)
        "2002:a9fe:a9fe::1",  # 6to4 around 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "not an address",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4007::65"]
)
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


class Receiver:
    """A real HTTP/1.1 server on 127.0.0.1 (optionally TLS) that records what reaches it."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.server_names: list[str | None] = []
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)  # type: ignore[assignment,misc]
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((head[0], headers, body))
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


async def _delivery_for(world: World, url: str) -> tuple[TillActor, str]:
    """A till with ``url`` as its webhook and one decided checkout: one delivery pending for that URL."""
    citizen, company, _ = await world.ready()
    till = await world.till(company, webhook_url=url)
    checkout_id = (await world.start(till, citizen)).json()["id"]
    assert (await world.decide(citizen, checkout_id, confirm=False)).status_code == 200
    return till, checkout_id


async def _delivery(world: World, url: str) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    async with world.sessionmaker() as session:
        delivery = (await session.scalars(select(WebhookDelivery).where(WebhookDelivery.url == url))).one()  # type: ignore[arg-type]
        attempts = (
            await session.scalars(
                select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)  # type: ignore[arg-type]
            )
        ).all()
    return delivery, list(attempts)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.7", "169.254.169.254", "::1"])
async def test_a_host_resolving_to_a_non_public_address_is_refused_at_delivery(
    world: World, address: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The name passed registration (it did not resolve then); at delivery it resolves to an internal address:
    nothing is sent, the attempt is logged as refused and the delivery fails at once, without retries."""
    async with Receiver() as receiver:
        url = f"http://hooks.rebind.test:{receiver.port}/hooks"
        await _delivery_for(world, url)
        async with WebhookDispatcher(
            sessionmaker=world.sessionmaker,
            keys=world.app.state.keyring,
            policy=RetryPolicy(delays=(0, 0, 0), jitter=0),
            resolver=dns({"hooks.rebind.test": ["93.184.215.14", address]}),
        ) as dispatcher:
            with caplog.at_level(logging.WARNING, logger="sesame.checkout.webhooks"):
                assert await dispatcher.deliver_due() == 1
            assert await dispatcher.deliver_due() == 0  # not retried
    assert receiver.requests == []
    delivery, attempts = await _delivery(world, url)
    assert delivery.status == "failed" and delivery.attempts == 1
    (attempt,) = attempts
    assert attempt.status_code is None and "UnsafeWebhookTarget" in (attempt.error or "")
    assert address in (attempt.error or "")
    assert any("refused" in record.getMessage() for record in caplog.records)


async def test_dns_rebinding_between_the_check_and_the_connection_is_refused(world: World) -> None:
    """A resolver that answers a public address first and the loopback next (DNS rebinding): the transport
    vets the address it connects to, so the second answer is refused and nothing reaches the server."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"], ["127.0.0.1"]])
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return next(answers)

    async with Receiver() as receiver:
        url = f"http://hooks.rebind.test:{receiver.port}/hooks"
        await _delivery_for(world, url)
        async with WebhookDispatcher(
            sessionmaker=world.sessionmaker,
            keys=world.app.state.keyring,
            policy=RetryPolicy(delays=(0,), jitter=0),
            resolver=rebinding,
        ) as dispatcher:
            assert await dispatcher.deliver_due() == 1
    assert asked == ["hooks.rebind.test", "hooks.rebind.test"]  # checked, then resolved again to connect
    assert receiver.requests == []
    delivery, (attempt,) = await _delivery(world, url)
    assert delivery.status == "failed" and "127.0.0.1" in (attempt.error or "")


async def test_when_allowed_the_connection_goes_to_the_vetted_address_with_the_host_name_kept(
    world: World,
) -> None:
    """``allow_private_targets`` (tests, demos): the real transport connects to the address the resolver gave
    (the name exists nowhere else) and sends the original ``Host``; the signature verifies."""
    async with Receiver() as receiver:
        url = f"http://hooks.till.test:{receiver.port}/hooks"
        till, checkout_id = await _delivery_for(world, url)
        async with WebhookDispatcher(
            sessionmaker=world.sessionmaker,
            keys=world.app.state.keyring,
            allow_private_targets=True,
            resolver=dns({"hooks.till.test": ["127.0.0.1"]}),
        ) as dispatcher:
            assert await dispatcher.deliver_due() == 1
    ((line, headers, body),) = receiver.requests
    assert line == "POST /hooks HTTP/1.1"
    assert headers["host"] == f"hooks.till.test:{receiver.port}"
    assert verify(till.webhook_secret or "", headers, body)["data"]["id"] == checkout_id
    delivery, _ = await _delivery(world, url)
    assert delivery.status == "delivered"


def _tls_for(name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh self-signed certificate for ``name``, and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client


async def test_https_keeps_sni_and_hostname_verification_on_the_pinned_address(world: World) -> None:
    """Over TLS the pinned connection still sends the host name as SNI and checks the certificate against it:
    a name the certificate does not cover fails (and is retried like any connection failure)."""
    server_tls, client_tls = _tls_for("hooks.till.test")
    async with Receiver(server_tls) as receiver:
        good = f"https://hooks.till.test:{receiver.port}/hooks"
        wrong = f"https://other.till.test:{receiver.port}/hooks"
        await _delivery_for(world, good)
        await _delivery_for(world, wrong)
        async with WebhookDispatcher(
            sessionmaker=world.sessionmaker,
            keys=world.app.state.keyring,
            allow_private_targets=True,
            resolver=dns({"hooks.till.test": ["127.0.0.1"], "other.till.test": ["127.0.0.1"]}),
            verify=client_tls,
        ) as dispatcher:
            assert await dispatcher.deliver_due() == 2
    assert "hooks.till.test" in receiver.server_names
    assert [headers["host"] for _, headers, _ in receiver.requests] == [f"hooks.till.test:{receiver.port}"]
    delivered, _ = await _delivery(world, good)
    assert delivered.status == "delivered"
    refused, (attempt,) = await _delivery(world, wrong)
    assert refused.status == "pending" and refused.attempts == 1
    assert "certificate" in (attempt.error or "").lower() or "hostname" in (attempt.error or "").lower()


async def test_non_public_webhook_urls_are_refused_at_registration(world: World) -> None:
    _, company, _ = await world.ready()
    for bad in (
        "http://127.0.0.1:9/hooks",
        "http://[::1]/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/hooks",
        "http://localhost:8000/hooks",
        "http://2130706433/hooks",  # 127.0.0.1 as one number: the system resolver accepts it
        "http://0x7f.0.0.1/hooks",
        "http://127.1/hooks",
    ):
        response = await world.client.post(
            "/api/v1/tills", json={"name": "x", "webhook_url": bad}, headers=company.auth
        )
        assert response.status_code == 422, bad
        assert response.headers["content-type"].startswith("application/problem+json")
        (error,) = response.json()["errors"]
        assert error["field"] == "body.webhook_url" and "non-public" in error["reason"], bad
    settings = world.runtime.settings
    world.runtime.settings = settings.model_copy(update={"webhook_allow_private": True})
    try:
        allowed = await world.client.post(
            "/api/v1/tills",
            json={"name": "x", "webhook_url": "http://127.0.0.1:9/hooks"},
            headers=company.auth,
        )
        assert allowed.status_code == 201
    finally:
        world.runtime.settings = settings


async def test_a_resolver_that_hangs_counts_as_unresolvable() -> None:
    async def hangs(host: str, port: int) -> list[str]:
        await asyncio.sleep(60)
        return ["127.0.0.1"]

    guard = TargetGuard(resolver=hangs, resolve_timeout_seconds=0.05)
    with pytest.raises(UnresolvableWebhookTarget, match="timed out"):
        await guard.addresses("slow.till.test", 443)
    await guard.check_url("https://slow.till.test/hooks")  # registration lets it through: deliveries check
