"""Request and response bodies of the checkout API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from scanner.checkout import money
from scanner.checkout.decisions import ledger_fields
from scanner.checkout.models import Checkout, as_utc
from sesame.models import UtcDatetime

_GTIN_LENGTHS = (8, 12, 13, 14)


def normalise_gtin(text: str) -> str:
    """GTIN-8/12/13/14 with a valid check digit → 14 digits."""
    digits = text.strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) not in _GTIN_LENGTHS:
        raise ValueError("a GTIN has 8, 12, 13 or 14 digits")
    padded = digits.rjust(14, "0")
    body, check = padded[:-1], int(padded[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    if (10 - total % 10) % 10 != check:
        raise ValueError("wrong GTIN check digit")
    return padded


class TillCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    webhook_url: str | None = Field(default=None, max_length=2000, description="where decisions are POSTed")

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from scanner.checkout.webhooks import check_url

        return check_url(value)


class TillOut(BaseModel):
    id: int
    name: str
    key_hint: str
    webhook_url: str | None
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None = None


class TillCreated(TillOut):
    """Shown once: the API key and the webhook secret are never shown again."""

    api_key: str
    webhook_secret: str | None = None


class CheckoutItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gtin: str = Field(max_length=14)
    quantity: int = Field(ge=1, le=10_000)

    @field_validator("gtin")
    @classmethod
    def _gtin(cls, value: str) -> str:
        return normalise_gtin(value)


class CheckoutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sesame_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    items: list[CheckoutItem] = Field(min_length=1, max_length=500)
    # currency before amount: the amount's decimals are checked against it
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217, e.g. EUR")
    amount: str = Field(max_length=20, description="decimal string, e.g. 12.50", examples=["12.50"])

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.upper()
        if not money.is_currency(code):
            raise ValueError("not an ISO 4217 currency code")
        return code

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: str, info: ValidationInfo) -> str:
        currency = info.data.get("currency")
        if currency is None:  # the currency's own error is reported
            return value
        try:
            money.to_minor(value, currency)
        except money.AmountError as exc:
            raise ValueError(str(exc)) from exc
        return value


class CompanyOut(BaseModel):
    id: int
    name: str


class PaymentOut(BaseModel):
    status: str
    provider: str | None
    reference: str | None
    failure: str | None = None


class CheckoutOut(BaseModel):
    """What the till sees."""

    id: str
    status: Literal["pending", "confirmed", "declined", "expired"]
    company: CompanyOut
    till_id: int | None
    items: list[dict[str, Any]]
    amount: str
    currency: str
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decision_jws: str | None = Field(description="compact JWS (EdDSA) by the platform over the decision")
    payment: PaymentOut | None


class IndicatorOut(BaseModel):
    key: str
    label: str
    value: Any
    unit: str | None
    verification: str
    verified: bool
    disclosed: bool


class PromptOut(BaseModel):
    """What the citizen sees: the company, the basket, the chosen indicators and the question."""

    id: str
    status: Literal["pending", "confirmed", "declined", "expired"]
    company: CompanyOut
    items: list[dict[str, Any]]
    amount: str
    currency: str
    amount_display: str
    language: str
    indicators: list[IndicatorOut]
    sentence: str
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    payment: PaymentOut | None
    ledger_index: int | None = Field(description="the decision's leaf in the transparency ledger")
    ledger_salt: str | None = Field(description="the salt that opens the leaf's commitment: keep it")
    ledger_fields: dict[str, Any] | None = Field(
        default=None, description="what the leaf commits to: sha256(salt || RFC 8785 JSON of these)"
    )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm: bool = Field(description="true to confirm the payment, false to decline it")

    @field_validator("confirm", mode="before")
    @classmethod
    def _only_true_or_false(cls, value: object) -> bool:
        """A payment decision is JSON ``true`` or ``false``, never ``"yes"`` or ``1``."""
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value


class WebhookAttemptOut(BaseModel):
    number: int
    started_at: UtcDatetime
    duration_ms: int
    status_code: int | None
    error: str | None


class WebhookDeliveryOut(BaseModel):
    id: str
    event_type: str
    url: str
    status: str
    attempts: int
    next_attempt_at: UtcDatetime | None
    delivered_at: UtcDatetime | None
    log: list[WebhookAttemptOut]


def _payment(checkout: Checkout) -> PaymentOut | None:
    if checkout.payment_status is None:
        return None
    return PaymentOut(
        status=checkout.payment_status,
        provider=checkout.payment_provider,
        reference=checkout.payment_reference,
        failure=checkout.payment_failure,
    )


def _optional(moment: datetime | None) -> datetime | None:
    return as_utc(moment) if moment is not None else None


def checkout_out(checkout: Checkout) -> CheckoutOut:
    return CheckoutOut(
        id=checkout.id,
        status=checkout.status,  # type: ignore[arg-type]
        company=CompanyOut(id=checkout.company_id, name=checkout.company_name),
        till_id=checkout.till_id,
        items=checkout.items,
        amount=money.to_decimal_string(checkout.amount_minor, checkout.currency),
        currency=checkout.currency,
        created_at=as_utc(checkout.created_at),
        expires_at=as_utc(checkout.expires_at),
        decided_at=_optional(checkout.decided_at),
        decision_jws=checkout.decision_jws,
        payment=_payment(checkout),
    )


def prompt_out(checkout: Checkout) -> PromptOut:
    prompt = checkout.prompt
    language = str(prompt.get("language", "fr"))
    indicators = [
        IndicatorOut(
            key=item["key"],
            label=item["label_fr"] if language == "fr" else item["label_en"],
            value=item["value"],
            unit=item["unit"],
            verification=item["verification"],
            verified=item["verified"],
            disclosed=item["disclosed"],
        )
        for item in prompt.get("indicators", [])
    ]
    return PromptOut(
        id=checkout.id,
        status=checkout.status,  # type: ignore[arg-type]
        company=CompanyOut(id=checkout.company_id, name=checkout.company_name),
        items=checkout.items,
        amount=money.to_decimal_string(checkout.amount_minor, checkout.currency),
        currency=checkout.currency,
        amount_display=str(prompt.get("amount_display", "")),
        language=language,
        indicators=indicators,
        sentence=str(prompt.get("sentence", "")),
        created_at=as_utc(checkout.created_at),
        expires_at=as_utc(checkout.expires_at),
        decided_at=_optional(checkout.decided_at),
        payment=_payment(checkout),
        ledger_index=checkout.ledger_index,
        ledger_salt=checkout.ledger_salt,
        ledger_fields=ledger_fields(checkout) if checkout.ledger_index is not None else None,
    )
