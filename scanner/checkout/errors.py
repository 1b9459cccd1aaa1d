"""The checkout's exception tree; ``sesame.problems`` turns each into RFC 9457 problem JSON."""

from __future__ import annotations

from sesame.errors import Conflict, NotFound, SesameError, Unauthenticated


class CheckoutError(SesameError):
    """Base of every error this package raises on purpose."""


class CheckoutRefused(Conflict, CheckoutError):
    """A checkout that may not be started; ``reason`` names why (it is also the problem's type)."""

    type_slug = "checkout-refused"
    title = "Checkout refused"
    reason = "refused"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, reason=self.reason)


class NoOpenAccount(CheckoutRefused):
    """Also raised for an unknown ``sesame_id``: a till never learns whether a Sésame exists."""

    type_slug = "no-open-account"
    title = "No open account on this Sésame"
    reason = "no_open_account"


class ContactlessOff(CheckoutRefused):
    type_slug = "contactless-off"
    title = "The citizen has not turned on contactless confirmation"
    reason = "contactless_off"


class IdempotencyConflict(Conflict, CheckoutError):
    type_slug = "idempotency-conflict"
    title = "This Idempotency-Key was used for a different request"


class IdempotencyInProgress(Conflict, CheckoutError):
    type_slug = "idempotency-in-progress"
    title = "A request with this Idempotency-Key is being processed"


class AlreadyDecided(Conflict, CheckoutError):
    type_slug = "checkout-already-decided"
    title = "This checkout has already been decided"


class CheckoutExpired(Conflict, CheckoutError):
    type_slug = "checkout-expired"
    title = "This checkout has expired"


class CheckoutNotFound(NotFound, CheckoutError):
    type_slug = "checkout-not-found"
    title = "No such checkout"


class TillNotFound(NotFound, CheckoutError):
    type_slug = "till-not-found"
    title = "No such till"


class InvalidTillKey(Unauthenticated, CheckoutError):
    type_slug = "invalid-till-key"
    title = "Unknown or revoked till key"


class CompanyNotRegistered(Conflict, CheckoutError):
    type_slug = "company-not-registered"
    title = "This account has no registered company"


class WebhookVerificationError(CheckoutError):
    """A webhook whose signature, timestamp or headers do not verify. Says only that it failed."""

    type_slug = "webhook-verification-failed"
    title = "Webhook verification failed"


class UnsafeWebhookTarget(CheckoutError):
    """A webhook URL whose host is, or resolves to, a non-public address (SSRF guard). Refused when a till is
    registered (422 on ``body.webhook_url``) and at each delivery, where the delivery fails at once."""

    status = 422
    type_slug = "unsafe-webhook-target"
    title = "Webhook URL not allowed"


class UnresolvableWebhookTarget(CheckoutError):
    """A webhook host that does not resolve now: the delivery is retried with back-off like any failure."""

    status = 502
    type_slug = "unresolvable-webhook-target"
    title = "Webhook host not resolvable"


#: Refusals stored with an idempotency key, by slug, so a replay raises the very same error.
REFUSALS: dict[str, type[CheckoutRefused]] = {cls.type_slug: cls for cls in (NoOpenAccount, ContactlessOff)}
