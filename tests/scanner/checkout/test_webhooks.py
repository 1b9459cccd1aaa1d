"""Standard Webhooks signatures, and deliveries: retried with back-off, logged, surviving a restart."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlmodel import select

from scanner.checkout.errors import WebhookVerificationError
from scanner.checkout.models import WebhookAttempt, WebhookDelivery
from scanner.checkout.webhooks import RetryPolicy, WebhookDispatcher, new_secret, signed_headers, verify
from tests.scanner.checkout.conftest import World

# The test vector published with Standard Webhooks' reference libraries.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


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
        transport=httpx.MockTransport(receiver),
    ) as dispatcher:
        assert await dispatcher.deliver_due() == 1  # 503: retried
    # a new dispatcher, as after a restart, picks the pending delivery up
    async with WebhookDispatcher(
        sessionmaker=world.sessionmaker,
        keys=world.app.state.keyring,
        policy=policy,
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
        transport=httpx.MockTransport(down),
    ) as dispatcher:
        for _ in range(4):
            await dispatcher.deliver_due()
    async with world.sessionmaker() as session:
        delivery = (await session.scalars(select(WebhookDelivery))).one()
        attempts = (await session.scalars(select(WebhookAttempt))).all()
    assert delivery.status == "failed" and delivery.attempts == 3
    assert len(attempts) == 3 and all("ConnectError" in (a.error or "") for a in attempts)


async def test_private_targets_are_refused_unless_allowed(world: World) -> None:
    citizen, company, _ = await world.ready()
    till = await world.till(company, webhook_url="http://127.0.0.1:9/hooks")
    calls: list[httpx.Request] = []

    async def receiver(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(204)

    checkout_id = (await world.start(till, citizen)).json()["id"]
    await world.decide(citizen, checkout_id, confirm=False)
    policy = RetryPolicy(delays=(0,), jitter=0)
    async with WebhookDispatcher(
        sessionmaker=world.sessionmaker,
        keys=world.app.state.keyring,
        policy=policy,
        transport=httpx.MockTransport(receiver),
    ) as dispatcher:
        await dispatcher.deliver_due()
    assert calls == []
    async with WebhookDispatcher(
        sessionmaker=world.sessionmaker,
        keys=world.app.state.keyring,
        policy=policy,
        allow_private_targets=True,
        transport=httpx.MockTransport(receiver),
    ) as dispatcher:
        await dispatcher.deliver_due()
    assert len(calls) == 1
    assert json.loads(calls[0].content)["data"]["status"] == "declined"


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
