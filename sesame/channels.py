"""Real-time fan-out between server workers, and the background work of domain packages.

``plugins(settings)`` gives ``create_app`` two Litestar plugins:

* the ``ChannelsPlugin``: the memory backend by default (one process), the Redis pub/sub backend when
  ``SESAME_REDIS_URL`` is set, so an event published by one worker reaches a stream held by another. The
  channels keep no history: a package that needs replay keeps its events in the database (the checkout does,
  by event id), which survives restarts and does not depend on Redis retention;
* a plugin running the ``background_services`` registered by the packages' wiring (the checkout's webhook
  worker) for as long as the app runs, after the channels start and before they stop.

Example::

    from sesame import channels

    channels.background_services.append(my_worker_lifespan)  # (app) -> async context manager
    app = Litestar(..., plugins=channels.plugins(settings))
    plugin.publish(data, f"{channels.namespace(settings)}.checkout.citizen.12")
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin

from sesame.settings import Settings

if TYPE_CHECKING:
    from litestar import Litestar

__all__ = [
    "BackgroundService",
    "background_services",
    "channels_backend",
    "channels_plugin",
    "namespace",
    "plugins",
]

REDIS_KEY_PREFIX = "SESAME_CHANNELS"

#: ``(app) -> async context manager``: started with the app, stopped before it.
BackgroundService = Callable[["Litestar"], AbstractAsyncContextManager[None]]
#: Filled by the domain packages' ``wiring.install()``.
background_services: list[BackgroundService] = []


def namespace(settings: Settings) -> str:
    """A prefix for channel names: deployments (or test runs) sharing one Redis never hear each other."""
    return "sesame." + hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]


def channels_backend(settings: Settings) -> ChannelsBackend:
    if settings.redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.redis_url, health_check_interval=30, socket_keepalive=True)
        return RedisChannelsPubSubBackend(redis=redis, key_prefix=REDIS_KEY_PREFIX)
    return MemoryChannelsBackend()


def channels_plugin(settings: Settings) -> ChannelsPlugin:
    return ChannelsPlugin(
        backend=channels_backend(settings),
        arbitrary_channels_allowed=True,
        # a slow stream drops its oldest events rather than growing without bound; it can replay them
        subscriber_max_backlog=1000,
        subscriber_backlog_strategy="dropleft",
    )


class BackgroundServicesPlugin(InitPlugin):
    def __init__(self, services: list[BackgroundService]) -> None:
        self._services = services

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.extend(self._services)
        return app_config


def plugins(settings: Settings) -> list[InitPlugin]:
    """The channels first: background services publish through them."""
    return [channels_plugin(settings), BackgroundServicesPlugin(list(background_services))]
