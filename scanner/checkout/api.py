"""Thin controllers: tills, the till's checkouts and stream, the citizen's prompts, stream and decision."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.channels import ChannelsPlugin
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from scanner.checkout import services, streams, webhooks
from scanner.checkout.schemas import (
    CheckoutCreate,
    CheckoutOut,
    DecisionIn,
    PromptOut,
    TillCreate,
    TillCreated,
    TillOut,
    WebhookAttemptOut,
    WebhookDeliveryOut,
    checkout_out,
    prompt_out,
)
from scanner.checkout.worker import CheckoutRuntime, runtime_for
from sesame.accounts.services import Principal, authenticate_token
from sesame.deps import bearer_token
from sesame.errors import BadSyntax, InvalidInput, Unauthenticated
from sesame.keys import KeyRing
from sesame.models import utcnow
from sesame.settings import Settings

IDEMPOTENCY_HEADER = "Idempotency-Key"
WORKER_HEADER = "X-Sesame-Worker"
MAX_EVENT_ID = 2**62


def provide_runtime(request: Request[Any, Any, Any]) -> CheckoutRuntime:
    return runtime_for(request.app)


async def provide_caller(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    keys: KeyRing,
    settings: Settings,
    checkout_runtime: CheckoutRuntime,
) -> services.Caller:
    """A till by its API key (``Bearer sk_till_...``), or a company by its access token."""
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated()
    if token.startswith(services.TILL_KEY_PREFIX):
        return await services.till_caller(db, checkout_runtime.parties, token)
    principal = await authenticate_token(db, keys, settings, token)
    principal.require("company")
    return await services.company_caller(db, checkout_runtime.parties, principal.id)


DEPENDENCIES = {
    "checkout_runtime": Provide(provide_runtime, sync_to_thread=False),
    "caller": Provide(provide_caller),
}


def _worker_headers(settings: Settings) -> dict[str, str]:
    """The serving process, in debug only: the end-to-end test proves the two sides sat on different workers."""
    return {WORKER_HEADER: str(os.getpid())} if settings.debug else {}


def _last_event_id(header: str | None, query: int | None) -> int | None:
    """The query parameter (for clients that cannot set headers) or the header; a nonsensical one is ignored."""
    if query is not None:
        return query
    text = (header or "").strip()
    if text.isascii() and text.isdigit() and len(text) < 19:
        return int(text)
    return None


def _sse(messages: AsyncIterator[streams.StreamMessage]) -> AsyncIterator[ServerSentEventMessage]:
    async def convert() -> AsyncIterator[ServerSentEventMessage]:
        yield ServerSentEventMessage(data=None, comment="connected", retry=3000)
        async for message in messages:
            yield ServerSentEventMessage(
                data=message.data, event=message.event, id=message.id, comment=message.comment
            )

    return convert()


def _idempotency_key(value: str | None) -> str:
    if value is None or not value.strip():
        # draft-ietf-httpapi-idempotency-key-header: a missing key on an operation that needs one is a 400
        raise BadSyntax(f"the {IDEMPOTENCY_HEADER} header is required", header=IDEMPOTENCY_HEADER)
    key = value.strip()
    if len(key) > 255 or not key.isascii() or not key.isprintable():
        raise InvalidInput.one(f"header.{IDEMPOTENCY_HEADER}", "1 to 255 printable ASCII characters")
    return key


class TillController(Controller):
    path = "/api/v1/tills"
    tags = ["checkout"]
    dependencies = DEPENDENCIES

    @post("", status_code=201, summary="Create a till's credentials (API key and webhook secret shown once)")
    async def create(
        self,
        data: TillCreate,
        principal: Principal,
        db: AsyncSession,
        keys: KeyRing,
        checkout_runtime: CheckoutRuntime,
    ) -> TillCreated:
        principal.require("company")
        created = await services.create_till(
            db,
            keys,
            checkout_runtime.parties,
            company_account_id=principal.id,
            name=data.name,
            webhook_url=data.webhook_url,
            webhook_guard=webhooks.TargetGuard(allow_private=checkout_runtime.settings.webhook_allow_private),
        )
        till = created.till
        return TillCreated(
            **_till_out(till).model_dump(), api_key=created.api_key, webhook_secret=created.webhook_secret
        )

    @get("", summary="The company's tills")
    async def list_tills(
        self, principal: Principal, db: AsyncSession, checkout_runtime: CheckoutRuntime
    ) -> list[TillOut]:
        principal.require("company")
        caller = await services.company_caller(db, checkout_runtime.parties, principal.id)
        return [_till_out(till) for till in await services.list_tills(db, caller.company_id)]

    @delete("/{till_id:int}", status_code=204, summary="Revoke a till's API key")
    async def revoke(
        self, till_id: int, principal: Principal, db: AsyncSession, checkout_runtime: CheckoutRuntime
    ) -> None:
        principal.require("company")
        caller = await services.company_caller(db, checkout_runtime.parties, principal.id)
        await services.revoke_till(db, company_id=caller.company_id, till_id=till_id, now=utcnow())


def _till_out(till: Any) -> TillOut:
    return TillOut(
        id=till.id,
        name=till.name,
        key_hint=till.key_hint,
        webhook_url=till.webhook_url,
        created_at=till.created_at,
        revoked_at=till.revoked_at,
    )


class CheckoutController(Controller):
    """The till's side. Authenticated by the till's API key or the company's own token."""

    path = "/api/v1/checkouts"
    tags = ["checkout"]
    dependencies = DEPENDENCIES

    @post("", status_code=201, summary="Start a checkout for a citizen's Sésame (Idempotency-Key required)")
    async def start(
        self,
        data: CheckoutCreate,
        caller: services.Caller,
        db: AsyncSession,
        settings: Settings,
        checkout_runtime: CheckoutRuntime,
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(name=IDEMPOTENCY_HEADER, required=False, description="1-255 characters"),
        ] = None,
    ) -> Response[dict[str, Any]]:
        key = _idempotency_key(idempotency_key)
        started = await services.start_checkout(
            db,
            checkout_runtime.parties,
            caller,
            data,
            idempotency_key=key,
            ttl_seconds=settings.checkout_ttl_seconds,
            now=utcnow(),
        )
        checkout_runtime.notifier.publish(started.events)
        headers = {"Location": f"{self.path}/{started.body['id']}", **_worker_headers(settings)}
        if started.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(started.body, status_code=started.status_code, headers=headers)

    @get("/events", summary="The till's stream of outcomes (server-sent events, Last-Event-ID replay)")
    async def events(
        self,
        caller: services.Caller,
        state: State,
        settings: Settings,
        channels: ChannelsPlugin,
        checkout_runtime: CheckoutRuntime,
        last_event_id_header: Annotated[
            str | None, HeaderParameter(name="Last-Event-ID", required=False)
        ] = None,
        last_event_id: Annotated[
            int | None, QueryParameter(name="last_event_id", ge=0, le=MAX_EVENT_ID, required=False)
        ] = None,
    ) -> ServerSentEvent:
        messages = streams.follow(
            channels,
            state.sessionmaker,
            namespace=checkout_runtime.namespace,
            audience=streams.COMPANY,
            audience_id=caller.company_id,
            till_id=caller.till_id,
            last_event_id=_last_event_id(last_event_id_header, last_event_id),
            keepalive_seconds=checkout_runtime.settings.keepalive_seconds,
        )
        return ServerSentEvent(_sse(messages), headers=_worker_headers(settings))

    @get("/{checkout_id:str}", summary="A checkout of this company (a till sees only its own)")
    async def read(
        self, checkout_id: str, caller: services.Caller, db: AsyncSession, checkout_runtime: CheckoutRuntime
    ) -> CheckoutOut:
        checkout = await services.company_checkout(
            db, caller, checkout_id, notifier=checkout_runtime.notifier, now=utcnow()
        )
        return checkout_out(checkout)

    @get(
        "/{checkout_id:str}/webhook-deliveries", summary="Every webhook sent for this checkout, with attempts"
    )
    async def deliveries(
        self, checkout_id: str, caller: services.Caller, db: AsyncSession, checkout_runtime: CheckoutRuntime
    ) -> list[WebhookDeliveryOut]:
        await services.company_checkout(
            db, caller, checkout_id, notifier=checkout_runtime.notifier, now=utcnow()
        )
        return [
            WebhookDeliveryOut(
                id=delivery.id,
                event_type=delivery.event_type,
                url=delivery.url,
                status=delivery.status,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
                delivered_at=delivery.delivered_at,
                log=[
                    WebhookAttemptOut(
                        number=a.number,
                        started_at=a.started_at,
                        duration_ms=a.duration_ms,
                        status_code=a.status_code,
                        error=a.error,
                    )
                    for a in attempts
                ],
            )
            for delivery, attempts in await services.deliveries_of(db, checkout_id)
        ]


class VaultCheckoutController(Controller):
    """The citizen's side: prompts as they arrive, and the decision."""

    path = "/api/v1/vault/checkouts"
    tags = ["checkout", "vault"]
    dependencies = DEPENDENCIES

    @get("", summary="The citizen's checkouts, newest first (status=pending for open prompts)")
    async def list_checkouts(
        self,
        principal: Principal,
        db: AsyncSession,
        status: Annotated[
            str | None, QueryParameter(name="status", pattern="^(pending|confirmed|declined|expired)$")
        ] = None,
    ) -> list[PromptOut]:
        principal.require("citizen")
        found = await services.citizen_checkouts(db, principal.id, status=status, now=utcnow())
        return [prompt_out(checkout) for checkout in found]

    @get("/events", summary="Prompts as they arrive (server-sent events, Last-Event-ID replay)")
    async def events(
        self,
        principal: Principal,
        state: State,
        settings: Settings,
        channels: ChannelsPlugin,
        checkout_runtime: CheckoutRuntime,
        last_event_id_header: Annotated[
            str | None, HeaderParameter(name="Last-Event-ID", required=False)
        ] = None,
        last_event_id: Annotated[
            int | None, QueryParameter(name="last_event_id", ge=0, le=MAX_EVENT_ID, required=False)
        ] = None,
    ) -> ServerSentEvent:
        principal.require("citizen")
        messages = streams.follow(
            channels,
            state.sessionmaker,
            namespace=checkout_runtime.namespace,
            audience=streams.CITIZEN,
            audience_id=principal.id,
            last_event_id=_last_event_id(last_event_id_header, last_event_id),
            keepalive_seconds=checkout_runtime.settings.keepalive_seconds,
        )
        return ServerSentEvent(_sse(messages), headers=_worker_headers(settings))

    @get(
        "/{checkout_id:str}", summary="A prompt: the company, the basket, the chosen indicators, the question"
    )
    async def read(
        self, checkout_id: str, principal: Principal, db: AsyncSession, checkout_runtime: CheckoutRuntime
    ) -> PromptOut:
        principal.require("citizen")
        checkout = await services.citizen_checkout(
            db, principal.id, checkout_id, notifier=checkout_runtime.notifier, now=utcnow()
        )
        return prompt_out(checkout)

    @post("/{checkout_id:str}/decision", status_code=200, summary="Confirm or decline, once")
    async def decide(
        self,
        checkout_id: str,
        data: DecisionIn,
        principal: Principal,
        db: AsyncSession,
        keys: KeyRing,
        settings: Settings,
        checkout_runtime: CheckoutRuntime,
    ) -> PromptOut:
        principal.require("citizen")
        checkout = await services.decide(
            db,
            keys,
            checkout_runtime.provider,
            citizen_id=principal.id,
            checkout_id=checkout_id,
            confirm=data.confirm,
            issuer=settings.token_issuer,
            notifier=checkout_runtime.notifier,
            now=utcnow(),
        )
        return prompt_out(checkout)


ROUTES = [TillController, CheckoutController, VaultCheckoutController]
