"""The checkout's own settings (``SESAME_CHECKOUT_*``); the shared ones (TTL, Redis) are in ``sesame.settings``."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CheckoutSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SESAME_CHECKOUT_", extra="ignore")

    #: ``fake`` or ``package.module:factory`` (see ``scanner.checkout.payments``).
    payment_provider: str = "fake"
    #: Deliver webhooks to private or loopback addresses (tests and local demos only: an SSRF risk otherwise).
    webhook_allow_private: bool = False
    #: How often each worker looks for due webhooks, expired checkouts and stuck payments.
    worker_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    #: Stream events and idempotency records older than this are pruned.
    retention_hours: int = Field(default=24, ge=1)
    #: A confirmed checkout whose payment is still processing after this long is retried with the provider.
    payment_retry_after_seconds: int = Field(default=30, ge=1)
    #: ... and marked failed after this long.
    payment_give_up_after_seconds: int = Field(default=900, ge=60)
    #: SSE keep-alive comment interval.
    keepalive_seconds: float = Field(default=15.0, gt=0)


@lru_cache(maxsize=1)
def get_checkout_settings() -> CheckoutSettings:
    return CheckoutSettings()
