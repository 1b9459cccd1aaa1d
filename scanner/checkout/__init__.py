"""The checkout gate: before a contactless payment goes through, the citizen's phone shows the company's
verified figures ("Employee satisfaction at this company is 64%. Confirm the payment?") and the citizen decides.

Modules: ``models`` (tills, checkouts, stream events, idempotency records, webhook deliveries and attempts),
``schemas``, ``services`` (the rules, no HTTP), ``api`` (thin controllers), ``errors``, ``parties`` (the vault and
the company profiles, read through their services), ``prompts`` (the sentence, FR/EN), ``money`` (ISO 4217,
minor units), ``decisions`` (the platform's JWS over a decision), ``payments`` (``PaymentProvider`` and the fake),
``webhooks`` (Standard Webhooks signing, verifying, delivering), ``streams`` (channels + Last-Event-ID replay),
``worker`` (deliveries, expiry sweeps, stuck payments; one per server worker), ``settings`` (``SESAME_CHECKOUT_*``).

Example (what a till does, over HTTP)::

    POST /api/v1/checkouts            Authorization: Bearer sk_till_...   Idempotency-Key: 7d1c...
    {"sesame_id": "...", "items": [{"gtin": "3017620422003", "quantity": 2}], "amount": "12.50", "currency": "EUR"}
    → 201 {"id": "chk_...", "status": "pending", ...}     (409 {"reason": "no_open_account"|"contactless_off"})

    GET /api/v1/checkouts/events      text/event-stream: checkout.confirmed | declined | expired | payment_failed

and in Python, a till checking a webhook::

    from scanner.checkout.webhooks import verify
    payload = verify("whsec_...", request.headers, body)   # raises WebhookVerificationError
"""

from scanner.checkout.payments import FakePaymentProvider, PaymentProvider, PaymentRequest, PaymentResult
from scanner.checkout.webhooks import verify as verify_webhook

__all__ = ["FakePaymentProvider", "PaymentProvider", "PaymentRequest", "PaymentResult", "verify_webhook"]
