"""Moving money is not Sésame's job: a ``PaymentProvider`` does it when the citizen confirms.

The provider is chosen by ``SESAME_CHECKOUT_PAYMENT_PROVIDER``: ``fake`` (the default, for the demo and the
tests) or ``package.module:factory``, a callable returning an object that satisfies ``PaymentProvider``::

    class StripeProvider:
        name = "stripe"

        async def capture(self, request: PaymentRequest) -> PaymentResult:
            intent = await stripe.PaymentIntent.create_async(
                amount=request.amount_minor, currency=request.currency.lower(), ...,
                idempotency_key=request.idempotency_key,
            )
            return PaymentResult.succeeded(intent.id)

``capture`` must be idempotent on ``request.idempotency_key`` (the checkout id): after a crash the checkout
worker calls it again for a confirmed checkout whose payment is still ``processing``. Return
``PaymentResult.failed(reason)`` for a refusal (card declined); raise ``PaymentUnavailable`` when the outcome is
unknown (timeout, outage) and the call will be retried. Any other exception is logged and treated the same way.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

from scanner.checkout.errors import CheckoutError


class PaymentUnavailable(CheckoutError):
    """The provider could not be reached or did not answer: the outcome is unknown, try again later."""

    status = 503
    type_slug = "payment-unavailable"
    title = "The payment provider is unavailable"


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    checkout_id: str
    idempotency_key: str
    company_id: int
    company_name: str
    amount_minor: int
    amount: Decimal
    currency: str
    description: str


@dataclass(frozen=True, slots=True)
class PaymentResult:
    status: Literal["succeeded", "failed"]
    reference: str | None = None
    failure: str | None = None

    @classmethod
    def succeeded(cls, reference: str) -> PaymentResult:
        return cls(status="succeeded", reference=reference)

    @classmethod
    def failed(cls, reason: str, reference: str | None = None) -> PaymentResult:
        return cls(status="failed", reference=reference, failure=reason)


@runtime_checkable
class PaymentProvider(Protocol):
    name: str

    async def capture(self, request: PaymentRequest) -> PaymentResult:
        """Take the payment; idempotent on ``request.idempotency_key``."""
        ...


@dataclass
class FakePaymentProvider:
    """Succeeds (or fails for the amounts in ``decline_minor``), remembers every call, idempotent by key."""

    name: str = "fake"
    decline_minor: set[int] = field(default_factory=set)
    unavailable: bool = False
    calls: list[PaymentRequest] = field(default_factory=list)
    _results: dict[str, PaymentResult] = field(default_factory=dict)

    async def capture(self, request: PaymentRequest) -> PaymentResult:
        self.calls.append(request)
        if self.unavailable:
            raise PaymentUnavailable("the fake provider is switched to unavailable")
        known = self._results.get(request.idempotency_key)
        if known is not None:
            return known
        reference = "fake_" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:20]
        if request.amount_minor in self.decline_minor:
            result = PaymentResult.failed("declined by the fake provider", reference)
        else:
            result = PaymentResult.succeeded(reference)
        self._results[request.idempotency_key] = result
        return result


def load_provider(spec: str) -> PaymentProvider:
    """``fake`` or ``module:factory``."""
    if spec == "fake":
        return FakePaymentProvider()
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise ValueError(f"payment provider {spec!r}: expected 'fake' or 'package.module:factory'")
    factory = getattr(importlib.import_module(module_name), attribute)
    provider = factory()
    if not isinstance(provider, PaymentProvider):
        raise TypeError(f"{spec} does not return a PaymentProvider")
    return provider
