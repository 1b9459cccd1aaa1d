"""Live streams and Last-Event-ID replay: the services publishing on channels, streams following them.

Runs on the test's own event loop with its own channels (memory backend); the HTTP side of the streams is
exercised against real servers in ``test_e2e.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from scanner.checkout import services
from scanner.checkout.schemas import CheckoutCreate
from scanner.checkout.streams import CITIZEN, COMPANY, ChannelNotifier, StreamMessage, follow
from sesame.models import utcnow
from tests.scanner.checkout.conftest import Citizen, TillActor, World


@dataclass
class Hub:
    world: World
    channels: ChannelsPlugin
    notifier: ChannelNotifier

    def stream(
        self, audience: str, audience_id: int, *, till_id: int | None = None, last: int | None = None
    ) -> AsyncIterator[StreamMessage]:
        return follow(
            self.channels,
            self.world.sessionmaker,
            namespace="test",
            audience=audience,
            audience_id=audience_id,
            till_id=till_id,
            last_event_id=last,
        )

    async def start(self, till: TillActor, citizen: Citizen, amount: str = "12.50") -> str:
        caller = services.Caller(
            company_id=till.company.company_id, company_name=till.company.name, till_id=till.id
        )
        request = CheckoutCreate.model_validate(
            {
                "sesame_id": citizen.sesame_id,
                "items": [{"gtin": "3017620422003", "quantity": 1}],
                "amount": amount,
                "currency": "EUR",
            }
        )
        async with self.world.sessionmaker() as session:
            started = await services.start_checkout(
                session,
                self.world.parties,
                caller,
                request,
                idempotency_key=f"k-{utcnow().timestamp()}",
                ttl_seconds=120,
                now=utcnow(),
            )
        self.notifier.publish(started.events)
        return str(started.body["id"])

    async def decide(self, citizen: Citizen, checkout_id: str, *, confirm: bool) -> None:
        async with self.world.sessionmaker() as session:
            await services.decide(
                session,
                self.world.app.state.keyring,
                self.world.provider,
                citizen_id=citizen.account_id,
                checkout_id=checkout_id,
                confirm=confirm,
                issuer="sesame",
                notifier=self.notifier,
                now=utcnow(),
            )


@pytest.fixture
async def hub(world: World) -> AsyncIterator[Hub]:
    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    async with plugin as channels:
        yield Hub(world=world, channels=channels, notifier=ChannelNotifier(channels, namespace="test"))


async def _next_event(stream: AsyncIterator[StreamMessage]) -> StreamMessage:
    """The next real event, skipping comments."""
    while True:
        message = await asyncio.wait_for(anext(stream), timeout=5)
        if message.event is not None:
            return message


async def _until_ready(stream: AsyncIterator[StreamMessage]) -> list[StreamMessage]:
    replayed = []
    while True:
        message = await asyncio.wait_for(anext(stream), timeout=5)
        if message.comment == "ready":
            return replayed
        replayed.append(message)


def _ids(messages: list[StreamMessage]) -> list[str]:
    return [json.loads(m.data or "")["id"] for m in messages]


async def test_prompt_arrives_live_then_is_replayed_after_a_reconnection(world: World, hub: Hub) -> None:
    citizen, _, till = await world.ready()
    stream = hub.stream(CITIZEN, citizen.account_id)
    assert await _until_ready(stream) == []
    first = await hub.start(till, citizen)
    live = await _next_event(stream)
    assert live.event == "checkout.prompt" and live.id is not None
    prompt = json.loads(live.data or "")
    assert prompt["id"] == first and "64" in prompt["sentence"]
    await stream.aclose()  # the phone loses its connection

    second = await hub.start(till, citizen, amount="3.20")
    resumed = hub.stream(CITIZEN, citizen.account_id, last=live.id)
    assert _ids(await _until_ready(resumed)) == [second]
    await resumed.aclose()

    # a new device without Last-Event-ID gets every prompt still pending, and no longer the decided one
    await hub.decide(citizen, first, confirm=False)
    fresh = hub.stream(CITIZEN, citizen.account_id)
    assert _ids(await _until_ready(fresh)) == [second]
    await fresh.aclose()


async def test_other_devices_learn_that_a_prompt_was_answered(world: World, hub: Hub) -> None:
    citizen, _, till = await world.ready()
    stream = hub.stream(CITIZEN, citizen.account_id)
    await _until_ready(stream)
    checkout_id = await hub.start(till, citizen)
    assert (await _next_event(stream)).event == "checkout.prompt"
    await hub.decide(citizen, checkout_id, confirm=True)
    update = await _next_event(stream)
    assert update.event == "checkout.updated"
    assert json.loads(update.data or "")["status"] == "confirmed"
    await stream.aclose()


async def test_a_till_stream_sees_its_own_outcomes_only(world: World, hub: Hub) -> None:
    citizen, company, till = await world.ready()
    other_till = await world.till(company)
    mine = hub.stream(COMPANY, company.company_id, till_id=till.id)
    theirs = hub.stream(COMPANY, company.company_id, till_id=other_till.id)
    everything = hub.stream(COMPANY, company.company_id)  # the company itself, by its token
    for stream in (mine, theirs, everything):
        await _until_ready(stream)
    checkout_id = await hub.start(till, citizen)
    await hub.decide(citizen, checkout_id, confirm=True)
    outcome = await _next_event(mine)
    assert outcome.event == "checkout.confirmed"
    body = json.loads(outcome.data or "")
    assert body["id"] == checkout_id and body["payment"]["status"] == "succeeded" and body["decision_jws"]
    assert (await _next_event(everything)).id == outcome.id
    with pytest.raises(TimeoutError):  # the other till of the same company hears nothing
        await asyncio.wait_for(_next_event(theirs), timeout=0.3)
    for stream in (mine, theirs, everything):
        await stream.aclose()

    # the till reconnects with the last id it saw and gets the outcome it missed
    second = await hub.start(till, citizen)
    await hub.decide(citizen, second, confirm=False)
    resumed = hub.stream(COMPANY, company.company_id, till_id=till.id, last=outcome.id)
    missed = await _until_ready(resumed)
    assert [(m.event, json.loads(m.data or "")["id"]) for m in missed] == [("checkout.declined", second)]
    await resumed.aclose()
