"""What each server worker runs beside the requests: webhook deliveries, expiry sweeps, stuck payments.

Everything it does is driven by rows in the database, so a restart loses nothing: pending deliveries, expired
checkouts and unsettled payments are found again on the first pass after startup. Workers may run it side by
side; every step claims its rows with a conditional UPDATE.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from litestar.channels import ChannelsPlugin
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scanner.checkout import services
from scanner.checkout.parties import Parties, ServiceParties
from scanner.checkout.payments import PaymentProvider, load_provider
from scanner.checkout.settings import CheckoutSettings, get_checkout_settings
from scanner.checkout.streams import ChannelNotifier, Notifier
from scanner.checkout.webhooks import WebhookDispatcher
from sesame.channels import namespace as channels_namespace
from sesame.keys import KeyRing
from sesame.models import utcnow

if TYPE_CHECKING:
    from litestar import Litestar

log = logging.getLogger("sesame.checkout")
STATE_KEY = "checkout"


@dataclass
class CheckoutRuntime:
    """The checkout's collaborators for one app; tests swap ``parties`` or ``provider`` for fakes."""

    parties: Parties
    provider: PaymentProvider
    notifier: Notifier
    settings: CheckoutSettings
    #: Prefix of this deployment's channel names.
    namespace: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    #: The background loop of this process (tests stop it to drive ``run_once`` themselves).
    task: asyncio.Task[None] | None = None
    stopping: bool = False

    async def stop(self, *, grace_seconds: float = 10.0) -> None:
        """Let the current pass finish (a query cancelled midway would break its connection), then stop."""
        self.stopping = True
        self.wake.set()
        if self.task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout=grace_seconds)
        except TimeoutError:
            self.task.cancel()
            with suppress(asyncio.CancelledError):
                await self.task
        self.task = None


def runtime_for(app: Litestar) -> CheckoutRuntime:
    """The app's runtime, created on first use (the lifespan creates it at startup)."""
    state = app.state
    found = state.get(STATE_KEY)
    if isinstance(found, CheckoutRuntime):
        return found
    settings = get_checkout_settings()
    wake = asyncio.Event()
    namespace = channels_namespace(app.state.settings)
    runtime = CheckoutRuntime(
        parties=ServiceParties(),
        provider=load_provider(settings.payment_provider),
        notifier=ChannelNotifier(_channels(app), namespace=namespace, wake=wake.set),
        settings=settings,
        namespace=namespace,
        wake=wake,
    )
    state[STATE_KEY] = runtime
    return runtime


def _channels(app: Litestar) -> ChannelsPlugin | None:
    try:
        return app.plugins.get(ChannelsPlugin)
    except KeyError:
        return None


async def run_once(
    runtime: CheckoutRuntime,
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: WebhookDispatcher,
) -> None:
    now = utcnow()
    settings = runtime.settings
    async with sessionmaker() as session:
        await services.expire_due(session, notifier=runtime.notifier, now=now)
    async with sessionmaker() as session:
        await services.retry_payments(
            session,
            runtime.provider,
            notifier=runtime.notifier,
            now=now,
            retry_after_seconds=settings.payment_retry_after_seconds,
            give_up_after_seconds=settings.payment_give_up_after_seconds,
        )
    await dispatcher.deliver_due()


async def _loop(app: Litestar, runtime: CheckoutRuntime) -> None:
    sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    keys: KeyRing = app.state.keyring
    settings = runtime.settings
    last_prune = utcnow() - timedelta(days=1)
    async with WebhookDispatcher(
        sessionmaker=sessionmaker, keys=keys, allow_private_targets=settings.webhook_allow_private
    ) as dispatcher:
        while not runtime.stopping:
            runtime.wake.clear()
            try:
                await run_once(runtime, sessionmaker, dispatcher)
                if utcnow() - last_prune > timedelta(hours=1):
                    last_prune = utcnow()
                    async with sessionmaker() as session:
                        await services.prune(
                            session, before=last_prune - timedelta(hours=settings.retention_hours)
                        )
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad pass must not stop the worker; the next pass retries
                log.exception("checkout worker pass failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(runtime.wake.wait(), timeout=settings.worker_interval_seconds)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Registered in ``sesame.channels.background_services`` by ``scanner.checkout.wiring``."""
    runtime = runtime_for(app)
    runtime.stopping = False
    runtime.task = asyncio.create_task(_loop(app, runtime), name="sesame-checkout-worker")
    try:
        yield
    finally:
        await runtime.stop()
