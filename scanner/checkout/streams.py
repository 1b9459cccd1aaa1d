"""Live streams of checkout events over Litestar channels, with replay from the database.

Every event is first written to ``checkout_events`` (in the transaction that changes the checkout), then
published on the audience's channel: ``<namespace>.checkout.citizen.<account id>`` for a citizen's devices,
``<namespace>.checkout.company.<company id>`` for a company's tills (the namespace is the deployment's, see
``sesame.channels.namespace``). With the Redis backend a stream held by one
worker receives what another worker published.

A stream subscribes *before* it reads the database, so nothing committed in between is lost; events it has
already replayed are skipped when they also arrive live. The SSE ``id`` is the event's row id, so a reconnecting
client's ``Last-Event-ID`` says exactly where to resume.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from litestar.channels import ChannelsPlugin
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from scanner.checkout.models import Checkout, CheckoutEvent, CheckoutStatus, as_utc
from sesame.models import utcnow

CITIZEN = "citizen"
COMPANY = "company"
PROMPT = "checkout.prompt"
REPLAY_LIMIT = 500


def channel(namespace: str, audience: str, audience_id: int) -> str:
    return f"{namespace}.checkout.{audience}.{audience_id}"


def wire(event: CheckoutEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "checkout_id": event.checkout_id,
        "till_id": event.till_id,
        "payload": event.payload,
    }


class Notifier(Protocol):
    """What services call after a commit: publish events, and tell the webhook worker there is work."""

    def publish(self, events: Sequence[CheckoutEvent]) -> None: ...

    def webhooks_due(self) -> None: ...


class ChannelNotifier:
    def __init__(
        self, channels: ChannelsPlugin | None, *, namespace: str, wake: Callable[[], None] | None = None
    ) -> None:
        self._channels = channels
        self._namespace = namespace
        self._wake = wake

    def publish(self, events: Sequence[CheckoutEvent]) -> None:
        if self._channels is None:
            return
        for event in events:
            self._channels.publish(wire(event), channel(self._namespace, event.audience, event.audience_id))

    def webhooks_due(self) -> None:
        if self._wake is not None:
            self._wake()


class NullNotifier:
    def publish(self, events: Sequence[CheckoutEvent]) -> None:
        return None

    def webhooks_due(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One server-sent event (or a comment), independent of the web framework."""

    id: int | None = None
    event: str | None = None
    data: str | None = None
    comment: str | None = None


def _message(event_id: int | None, kind: str, payload: dict[str, Any]) -> StreamMessage:
    return StreamMessage(
        id=event_id, event=kind, data=json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    )


async def missed_events(
    session: AsyncSession,
    *,
    audience: str,
    audience_id: int,
    till_id: int | None,
    last_event_id: int | None,
    now: datetime,
) -> list[CheckoutEvent]:
    """What a (re)connecting stream should be sent before the live events.

    A citizen gets the prompts still pending (on first connection: all of them; on reconnection: those after
    ``last_event_id``) and every other event after ``last_event_id``; a till gets the events after
    ``last_event_id``, nothing on first connection.
    """
    if last_event_id is None and audience != CITIZEN:
        return []
    query = (
        select(CheckoutEvent, Checkout.status, Checkout.expires_at)
        .join(Checkout, col(Checkout.id) == col(CheckoutEvent.checkout_id))
        .where(col(CheckoutEvent.audience) == audience, col(CheckoutEvent.audience_id) == audience_id)
        .order_by(col(CheckoutEvent.id))
        .limit(REPLAY_LIMIT)
    )
    if last_event_id is not None:
        query = query.where(col(CheckoutEvent.id) > last_event_id)
    else:
        query = query.where(col(CheckoutEvent.kind) == PROMPT)
    if till_id is not None:
        query = query.where(col(CheckoutEvent.till_id) == till_id)
    rows = (await session.execute(query)).all()
    found: list[CheckoutEvent] = []
    for event, status, expires_at in rows:
        if event.kind == PROMPT and (status != CheckoutStatus.pending.value or as_utc(expires_at) <= now):
            continue
        found.append(event)
    return found


async def follow(
    channels: ChannelsPlugin,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    namespace: str,
    audience: str,
    audience_id: int,
    till_id: int | None = None,
    last_event_id: int | None = None,
    keepalive_seconds: float = 15.0,
) -> AsyncIterator[StreamMessage]:
    """Replay what was missed, then follow live events, with a keep-alive comment when idle."""
    inbox: asyncio.Queue[bytes] = asyncio.Queue()

    async def receive(data: bytes) -> None:
        await inbox.put(data)

    async with (
        channels.start_subscription([channel(namespace, audience, audience_id)]) as subscriber,
        subscriber.run_in_background(receive, join=False),
    ):
        async with sessionmaker() as session:
            missed = await missed_events(
                session,
                audience=audience,
                audience_id=audience_id,
                till_id=till_id,
                last_event_id=last_event_id,
                now=utcnow(),
            )
        baseline = last_event_id or 0
        replayed = {event.id for event in missed}
        for event in missed:
            yield _message(event.id, event.kind, event.payload)
        yield StreamMessage(comment="ready")
        while True:
            try:
                data = await asyncio.wait_for(inbox.get(), timeout=keepalive_seconds)
            except TimeoutError:
                yield StreamMessage(comment="keep-alive")
                continue
            message = json.loads(data)
            event_id = int(message["id"])
            # ids may arrive out of order (two workers commit concurrently): dedupe, never drop by order
            if event_id <= baseline or event_id in replayed:
                continue
            if till_id is not None and message.get("till_id") != till_id:
                continue
            yield _message(event_id, str(message["kind"]), message["payload"])
