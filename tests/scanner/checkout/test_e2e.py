"""End to end: two Granian workers, real Redis, a real webhook receiver.

The till posts on one worker; the phone's stream is held by the other; the citizen confirms; the till's
receiver gets a delivery whose Standard Webhooks signature verifies, carrying a decision signed by the platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import jwt
import pytest

from scanner.checkout.webhooks import verify
from tests.conftest import REDIS_URL, redis_available, require_service
from tests.scanner.checkout.live import Cast, EventStream, LiveServer, WebhookReceiver, seed

pytestmark = [pytest.mark.redis, pytest.mark.slow]

PROMPTS = "/api/v1/vault/checkouts/events"


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(fail_first=1) as running:  # the first delivery attempt fails: it must be retried
        yield running


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    require_service("Redis", redis_available())
    with LiveServer(redis_url=REDIS_URL, workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def cast(server: LiveServer, receiver: WebhookReceiver) -> Cast:
    return asyncio.run(seed(server.base, server.verifier, webhook_url=receiver.url, citizens=3))


@contextlib.asynccontextmanager
async def streams_on_both_workers(
    server: LiveServer, headers: dict[str, str]
) -> AsyncIterator[list[EventStream]]:
    """Open streams, each on its own connection, until both workers hold at least one."""
    async with contextlib.AsyncExitStack() as stack:
        opened: list[EventStream] = []
        for _ in range(40):
            opened.append(await stack.enter_async_context(EventStream(server.base, PROMPTS, headers)))
            if len({s.pid for s in opened}) >= 2:
                yield opened
                return
        raise AssertionError(f"40 connections all landed on worker {opened[0].pid}")


def _body(cast: Cast, sesame_id: str | None, amount: str = "12.50") -> dict[str, object]:
    return {
        "sesame_id": sesame_id,
        "items": [{"gtin": "3017620422003", "quantity": 2}],
        "amount": amount,
        "currency": "EUR",
    }


async def test_prompt_crosses_workers_and_the_decision_reaches_the_till(
    server: LiveServer, cast: Cast, receiver: WebhookReceiver
) -> None:
    citizen = cast.citizens[0]
    async with (
        streams_on_both_workers(server, citizen.auth) as phones,
        EventStream(server.base, "/api/v1/checkouts/events", cast.till_auth) as till_stream,
        httpx.AsyncClient(base_url=server.base, timeout=10) as client,
    ):
        posted = await client.post(
            "/api/v1/checkouts",
            json=_body(cast, citizen.sesame_id),
            headers={**cast.till_auth, "Idempotency-Key": "e2e-1"},
        )
        assert posted.status_code == 201, posted.text
        checkout = posted.json()
        post_pid = posted.headers["x-sesame-worker"]
        elsewhere = [phone for phone in phones if phone.pid != post_pid]
        assert elsewhere, "some stream must sit on the worker that did not take the POST"

        # every device of the citizen gets the prompt, those on the other worker through Redis
        for phone in phones:
            prompt = await phone.next("checkout.prompt")
            assert prompt.data["id"] == checkout["id"]
        assert "64" in prompt.data["sentence"] and prompt.data["sentence"].endswith("paiement\u00a0?")
        assert prompt.data["indicators"][0]["verification"] == "attested"

        decided = await client.post(
            f"/api/v1/vault/checkouts/{checkout['id']}/decision", json={"confirm": True}, headers=citizen.auth
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["payment"]["status"] == "succeeded"

        # the till hears it on its own stream ...
        outcome = await till_stream.next("checkout.confirmed")
        assert outcome.data["id"] == checkout["id"]
        # ... and by webhook, retried after the receiver's first 503, correctly signed
        delivery = await asyncio.to_thread(receiver.deliveries.get, True, 30)
        payload = verify(cast.webhook_secret or "", delivery.headers, delivery.body)
        assert payload["type"] == "checkout.confirmed" and payload["data"]["id"] == checkout["id"]
        assert receiver.attempts >= 2

        # the decision is signed by the platform key published in the JWKS
        token = payload["data"]["decision_jws"]
        jwks = (await client.get("/.well-known/jwks.json")).json()
        key = next(k for k in jwks["keys"] if k["kid"] == jwt.get_unverified_header(token)["kid"])
        claims = jwt.decode(
            token,
            jwt.PyJWK(key).key,
            algorithms=["EdDSA"],
            audience=f"company:{cast.company_id}",
            issuer="sesame",
        )
        assert claims["decision"] == "confirmed" and claims["checkout_id"] == checkout["id"]
        assert claims["amount"] == "12.50" and claims["currency"] == "EUR"

        # the receiver has answered 204; the worker records that just after, so poll the log briefly
        for _ in range(100):
            log = await client.get(
                f"/api/v1/checkouts/{checkout['id']}/webhook-deliveries", headers=cast.till_auth
            )
            (logged,) = log.json()
            if logged["status"] != "pending":
                break
            await asyncio.sleep(0.1)
        assert logged["status"] == "delivered" and [a["status_code"] for a in logged["log"]] == [503, 204]

        # a second decision is refused, whichever worker takes it
        again = await client.post(
            f"/api/v1/vault/checkouts/{checkout['id']}/decision",
            json={"confirm": False},
            headers=citizen.auth,
        )
        assert again.status_code == 409


async def test_a_reconnecting_phone_gets_what_it_missed(server: LiveServer, cast: Cast) -> None:
    citizen = cast.citizens[1]
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
        async with EventStream(server.base, PROMPTS, citizen.auth) as phone:
            first = await client.post(
                "/api/v1/checkouts",
                json=_body(cast, citizen.sesame_id, "1.00"),
                headers={**cast.till_auth, "Idempotency-Key": "e2e-2"},
            )
            seen = await phone.next("checkout.prompt")
            assert seen.data["id"] == first.json()["id"]
        # offline: two more checkouts, the first one answered from another device
        second = await client.post(
            "/api/v1/checkouts",
            json=_body(cast, citizen.sesame_id, "2.00"),
            headers={**cast.till_auth, "Idempotency-Key": "e2e-3"},
        )
        await client.post(
            f"/api/v1/vault/checkouts/{first.json()['id']}/decision",
            json={"confirm": False},
            headers=citizen.auth,
        )
        # the same key again replays the same answer, whichever worker takes it
        replay = await client.post(
            "/api/v1/checkouts",
            json=_body(cast, citizen.sesame_id, "2.00"),
            headers={**cast.till_auth, "Idempotency-Key": "e2e-3"},
        )
        assert replay.status_code == 201 and replay.json() == second.json()
        async with EventStream(server.base, PROMPTS, citizen.auth, last_event_id=seen.id) as back:
            missed = [await back.next(), await back.next()]
        kinds = [(m.event, m.data["id"]) for m in missed]
        assert kinds == [("checkout.prompt", second.json()["id"]), ("checkout.updated", first.json()["id"])]


async def test_the_till_simulator_shows_the_decision(server: LiveServer, cast: Cast) -> None:
    """``sesame pos start --wait`` on one side, the citizen's phone on the other."""
    citizen = cast.citizens[2]
    command = [
        sys.executable, "-m", "sesame.cli", "pos", "start", "--api", server.base, "--key", cast.till_key,
        "--sesame-id", citizen.sesame_id or "", "--amount", "7.20", "--gtin", "3017620422003:3", "--wait", "--json",
    ]  # fmt: skip
    async with EventStream(server.base, PROMPTS, citizen.auth) as phone:
        till = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=server.env
        )
        prompt = await phone.next("checkout.prompt", within=30)
        assert prompt.data["amount"] == "7.20"
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
            await client.post(
                f"/api/v1/vault/checkouts/{prompt.data['id']}/decision",
                json={"confirm": True},
                headers=citizen.auth,
            )
        out, err = await asyncio.wait_for(till.communicate(), timeout=60)
    assert till.returncode == 0, err.decode()
    shown = json.loads(out)
    assert shown["checkout"]["status"] == "confirmed" and shown["signature"].startswith("valid")
