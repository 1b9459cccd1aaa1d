"""Tables of the checkout gate: tills, checkouts, their event log, idempotency records, webhook deliveries.

No foreign key leaves this package: companies and citizens are referred to by id only (a domain package
reaches another through its services, never its tables).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from sesame.models import utc_field


class CheckoutStatus(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    declined = "declined"
    expired = "expired"


class PaymentStatus(StrEnum):
    processing = "processing"
    succeeded = "succeeded"
    failed = "failed"


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


def as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every time here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _optional_time(*, index: bool = False) -> datetime | None:
    return Field(default=None, sa_type=DateTime(timezone=True), index=index, nullable=True)  # type: ignore[no-any-return]


class Till(SQLModel, table=True):
    """A company's point of sale. Its API key is stored only as a SHA-256 hash (the key has 256 bits)."""

    __tablename__ = "checkout_tills"

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(index=True)
    company_account_id: int = Field(index=True)
    name: str = Field(max_length=100)
    key_hash: str = Field(max_length=64, unique=True)
    key_hint: str = Field(max_length=24)
    webhook_url: str | None = Field(default=None, max_length=2000)
    #: The webhook secret, wrapped by the master key-encryption key (``kek_id`` says which).
    webhook_secret_kek_id: str | None = Field(default=None, max_length=64)
    webhook_secret_wrapped: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = utc_field()
    revoked_at: datetime | None = _optional_time()


class Checkout(SQLModel, table=True):
    """One payment waiting for, or carrying, the citizen's decision.

    ``prompt`` freezes what the citizen was shown (indicators, sentence, language): the signed decision
    commits to it, so the till can later prove what was confirmed.
    """

    __tablename__ = "checkouts"

    id: str = Field(primary_key=True, max_length=40)
    company_id: int = Field(index=True)
    company_name: str = Field(max_length=300)
    till_id: int | None = Field(default=None, foreign_key="checkout_tills.id", index=True)
    citizen_account_id: int = Field(index=True)
    items: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    amount_minor: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    status: str = Field(default=CheckoutStatus.pending.value, max_length=16, index=True)
    prompt: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field()
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    decided_at: datetime | None = _optional_time()
    decision_jws: str | None = Field(default=None, sa_type=Text)
    payment_status: str | None = Field(default=None, max_length=16, index=True)
    payment_provider: str | None = Field(default=None, max_length=40)
    payment_reference: str | None = Field(default=None, max_length=200)
    payment_failure: str | None = Field(default=None, max_length=300)
    ledger_index: int | None = Field(default=None)
    ledger_salt: str | None = Field(default=None, max_length=64)


class CheckoutEvent(SQLModel, table=True):
    """Every event sent on a stream, kept so a reconnecting stream replays what it missed (Last-Event-ID).

    ``audience`` is ``citizen`` (``audience_id`` = the citizen's account id) or ``company`` (the company id).
    """

    __tablename__ = "checkout_events"
    __table_args__ = (Index("ix_checkout_events_audience", "audience", "audience_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    checkout_id: str = Field(foreign_key="checkouts.id", max_length=40, index=True)
    audience: str = Field(max_length=16)
    audience_id: int
    till_id: int | None = Field(default=None)
    kind: str = Field(max_length=40)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field(index=True)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer given to an ``Idempotency-Key`` of a company, replayed for the same request."""

    __tablename__ = "checkout_idempotency"
    __table_args__ = (UniqueConstraint("company_id", "key", name="uq_checkout_idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    status_code: int
    checkout_id: str | None = Field(default=None, max_length=40)
    response: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field(index=True)


class WebhookDelivery(SQLModel, table=True):
    """One webhook message to one till; retried with back-off until delivered or out of attempts.

    ``id`` is the Standard Webhooks ``webhook-id`` (stable across retries, so the receiver can deduplicate);
    ``payload`` is the exact body sent on every attempt.
    """

    __tablename__ = "checkout_webhook_deliveries"

    id: str = Field(primary_key=True, max_length=40)
    till_id: int = Field(foreign_key="checkout_tills.id", index=True)
    checkout_id: str = Field(foreign_key="checkouts.id", max_length=40, index=True)
    event_type: str = Field(max_length=40)
    url: str = Field(max_length=2000)
    payload: str = Field(sa_type=Text)
    status: str = Field(default=DeliveryStatus.pending.value, max_length=16, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    locked_until: datetime | None = _optional_time()
    last_status_code: int | None = Field(default=None)
    created_at: datetime = utc_field()
    delivered_at: datetime | None = _optional_time()


class WebhookAttempt(SQLModel, table=True):
    """The log of every delivery attempt: when, how long, what came back."""

    __tablename__ = "checkout_webhook_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="checkout_webhook_deliveries.id", max_length=40, index=True)
    number: int
    started_at: datetime = utc_field()
    duration_ms: int
    status_code: int | None = Field(default=None)
    error: str | None = Field(default=None, max_length=500)
    response_excerpt: str | None = Field(default=None, max_length=500)
