"""The checkout gate's logic: tills, starting a checkout, the citizen's decision, expiry, payment. No HTTP here.

Every function takes the session and owns its transaction. A change of state, its stream events, its webhook
deliveries and (for a decision) its ledger leaf commit together; events are published only after the commit,
through the ``Notifier`` the caller gives.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import rfc8785
from sqlalchemy import bindparam, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from scanner.checkout import money, prompts, webhooks
from scanner.checkout.decisions import ledger_fields, sign_decision
from scanner.checkout.errors import (
    REFUSALS,
    AlreadyDecided,
    CheckoutExpired,
    CheckoutNotFound,
    CheckoutRefused,
    CompanyNotRegistered,
    ContactlessOff,
    IdempotencyConflict,
    IdempotencyInProgress,
    InvalidTillKey,
    NoOpenAccount,
    TillNotFound,
    UnsafeWebhookTarget,
)
from scanner.checkout.models import (
    Checkout,
    CheckoutEvent,
    CheckoutStatus,
    DeliveryStatus,
    IdempotencyRecord,
    PaymentStatus,
    Till,
    WebhookAttempt,
    WebhookDelivery,
    as_utc,
)
from scanner.checkout.parties import Parties
from scanner.checkout.payments import PaymentProvider, PaymentRequest, PaymentResult, PaymentUnavailable
from scanner.checkout.schemas import CheckoutCreate, checkout_out, prompt_out
from scanner.checkout.streams import CITIZEN, COMPANY, PROMPT, Notifier
from sesame import transparency
from sesame.db import read_rows, write_turn
from sesame.errors import InvalidInput
from sesame.keys import KeyRing

log = logging.getLogger("sesame.checkout")

TILL_KEY_PREFIX = "sk_till_"
CHECKOUT_ID_PREFIX = "chk_"
LEDGER_KIND = "checkout.decided"

#: Event kinds, as the till sees them (stream ``event:`` and webhook ``type``).
CONFIRMED = "checkout.confirmed"
DECLINED = "checkout.declined"
EXPIRED = "checkout.expired"
PAYMENT_FAILED = "checkout.payment_failed"
#: What a citizen's other devices get when a prompt is answered or expires.
UPDATED = "checkout.updated"


# -- tills ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Caller:
    """Who starts or follows checkouts: a till (by its API key) or the company itself (by its token)."""

    company_id: int
    company_name: str
    till_id: int | None = None


@dataclass(frozen=True, slots=True)
class NewTill:
    till: Till
    api_key: str
    webhook_secret: str | None


def hash_key(api_key: str) -> str:
    """SHA-256 suffices: the key carries 256 random bits, so there is nothing to brute-force."""
    return hashlib.sha256(api_key.encode()).hexdigest()


async def company_caller(session: AsyncSession, parties: Parties, account_id: int) -> Caller:
    company = await parties.company_for_account(session, account_id)
    if company is None:
        raise CompanyNotRegistered()
    return Caller(company_id=company.id, company_name=company.legal_name)


_LIVE_TILL = select(Till.id, Till.company_id, Till.company_account_id).where(
    col(Till.key_hash) == bindparam("key_hash"), col(Till.revoked_at).is_(None)
)


async def till_caller(session: AsyncSession, parties: Parties, api_key: str) -> Caller:
    rows = await read_rows(session, _LIVE_TILL, {"key_hash": hash_key(api_key)})
    till = rows[0] if rows else None
    if till is None or till.id is None:
        raise InvalidTillKey()
    company = await parties.company_for_account(session, till.company_account_id)
    if company is None or company.id != till.company_id:
        raise InvalidTillKey()
    return Caller(company_id=till.company_id, company_name=company.legal_name, till_id=till.id)


async def create_till(
    session: AsyncSession,
    keys: KeyRing,
    parties: Parties,
    *,
    company_account_id: int,
    name: str,
    webhook_url: str | None,
    webhook_guard: webhooks.TargetGuard | None = None,
) -> NewTill:
    """``webhook_guard`` refuses a webhook URL that is or resolves to a non-public address (422 on
    ``body.webhook_url``); the default allows only public ones. Every delivery checks again."""
    company = await parties.company_for_account(session, company_account_id)
    if company is None:
        raise CompanyNotRegistered()
    if webhook_url is not None:
        try:
            await (webhook_guard or webhooks.TargetGuard()).check_url(webhook_url)
        except UnsafeWebhookTarget as exc:
            raise InvalidInput.one("body.webhook_url", str(exc)) from exc
    api_key = TILL_KEY_PREFIX + secrets.token_urlsafe(32)
    secret: str | None = None
    kek_id: str | None = None
    wrapped: bytes | None = None
    if webhook_url is not None:
        secret, raw = webhooks.new_secret()
        kek_id, wrapped = keys.wrap(raw)
    till = Till(
        company_id=company.id,
        company_account_id=company_account_id,
        name=name,
        key_hash=hash_key(api_key),
        key_hint=api_key[: len(TILL_KEY_PREFIX) + 4] + "…",
        webhook_url=webhook_url,
        webhook_secret_kek_id=kek_id,
        webhook_secret_wrapped=wrapped,
    )
    session.add(till)
    await session.commit()
    return NewTill(till=till, api_key=api_key, webhook_secret=secret)


async def list_tills(session: AsyncSession, company_id: int) -> list[Till]:
    found = await session.scalars(
        select(Till).where(col(Till.company_id) == company_id).order_by(col(Till.id))
    )
    return list(found.all())


async def revoke_till(session: AsyncSession, *, company_id: int, till_id: int, now: datetime) -> None:
    till = await session.get(Till, till_id) if 0 < till_id < 2**31 else None
    if till is None or till.company_id != company_id:
        raise TillNotFound()
    if till.revoked_at is None:
        till.revoked_at = now
        await session.commit()


# -- starting a checkout ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StartedCheckout:
    """The answer to ``POST /checkouts``: its body is stored, and replayed as is for the same key."""

    status_code: int
    body: dict[str, Any]
    replayed: bool
    events: tuple[CheckoutEvent, ...] = ()


def request_fingerprint(request: CheckoutCreate, till_id: int | None) -> str:
    """SHA-256 of the normalised request (GTINs to 14 digits, currency upper-case) and of the till sending it.

    Keys are scoped to the company; with the till in the fingerprint, a key reused by another till of the same
    company is a conflict rather than a replay of a checkout that till may not read.
    """
    normalised = {"request": request.model_dump(mode="json"), "till_id": till_id}
    return hashlib.sha256(rfc8785.dumps(normalised)).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> StartedCheckout:
    if record.request_hash != fingerprint:
        raise IdempotencyConflict("this Idempotency-Key was first used with a different body")
    refusal = record.response.get("refusal")
    if refusal is not None:
        raise REFUSALS[str(refusal)](str(record.response.get("detail") or "") or None)
    return StartedCheckout(status_code=record.status_code, body=record.response, replayed=True)


async def _recorded(session: AsyncSession, company_id: int, key: str) -> IdempotencyRecord | None:
    found: IdempotencyRecord | None = await session.scalar(
        select(IdempotencyRecord).where(
            col(IdempotencyRecord.company_id) == company_id, col(IdempotencyRecord.key) == key
        )
    )
    return found


async def _commit_or_replay(
    session: AsyncSession, company_id: int, key: str, fingerprint: str
) -> StartedCheckout | None:
    """Commit; if another request stored this key meanwhile, answer as it did."""
    try:
        async with write_turn(session):  # nothing is flushed before: the writes all go at commit
            await session.commit()
    except IntegrityError:
        await session.rollback()
        record = await _recorded(session, company_id, key)
        if record is None:
            raise IdempotencyInProgress() from None
        return _replay(record, fingerprint)
    return None


def new_checkout_id() -> str:
    return CHECKOUT_ID_PREFIX + secrets.token_urlsafe(16)


async def start_checkout(
    session: AsyncSession,
    parties: Parties,
    caller: Caller,
    request: CheckoutCreate,
    *,
    idempotency_key: str,
    ttl_seconds: int,
    now: datetime,
) -> StartedCheckout:
    """Check the account and the contactless option, then create the checkout and its prompt.

    Refusals are stored with the key too, so a retry with the same key is refused the same way.
    """
    # No look-up of the key first: the unique (company, key) constraint catches a replay at commit, which
    # keeps a database round trip off the path every first request takes.
    fingerprint = request_fingerprint(request, caller.till_id)
    citizen_id = await parties.citizen_for_sesame_id(session, request.sesame_id)
    try:
        if citizen_id is None or not await parties.has_open_account(
            session, request.sesame_id, caller.company_id
        ):
            raise NoOpenAccount("the company has no open account on this Sésame")
        preferences = await parties.preferences(session, citizen_id)
        if not preferences.contactless:
            raise ContactlessOff("the citizen has not turned on contactless confirmation")
    except CheckoutRefused as refusal:
        session.add(
            IdempotencyRecord(
                company_id=caller.company_id,
                key=idempotency_key,
                request_hash=fingerprint,
                status_code=refusal.status,
                response={"refusal": refusal.type_slug, "detail": refusal.detail},
            )
        )
        replay = await _commit_or_replay(session, caller.company_id, idempotency_key, fingerprint)
        if replay is not None:
            return replay
        raise

    keys = list(dict.fromkeys(preferences.highlights))
    indicators = await parties.indicators(session, caller.company_id, keys)
    language = prompts.language_of(preferences.language)
    amount_minor = money.to_minor(request.amount, request.currency)
    checkout = Checkout(
        id=new_checkout_id(),
        company_id=caller.company_id,
        company_name=caller.company_name,
        till_id=caller.till_id,
        citizen_account_id=citizen_id,
        items=[item.model_dump(mode="json") for item in request.items],
        amount_minor=amount_minor,
        currency=request.currency,
        status=CheckoutStatus.pending.value,
        prompt={
            "language": language,
            "indicators": [indicator.as_dict() for indicator in indicators],
            "sentence": prompts.sentence(indicators, language),
            "amount_display": prompts.format_amount(
                money.to_decimal(amount_minor, request.currency), request.currency, language
            ),
        },
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    session.add(checkout)
    prompt_event = CheckoutEvent(
        checkout_id=checkout.id,
        audience=CITIZEN,
        audience_id=citizen_id,
        kind=PROMPT,
        payload=prompt_out(checkout).model_dump(mode="json"),
        created_at=now,
    )
    session.add(prompt_event)
    body = checkout_out(checkout).model_dump(mode="json")
    session.add(
        IdempotencyRecord(
            company_id=caller.company_id,
            key=idempotency_key,
            request_hash=fingerprint,
            status_code=201,
            checkout_id=checkout.id,
            response=body,
        )
    )
    replay = await _commit_or_replay(session, caller.company_id, idempotency_key, fingerprint)
    if replay is not None:
        return replay
    return StartedCheckout(status_code=201, body=body, replayed=False, events=(prompt_event,))


# -- reading ----------------------------------------------------------------------------------------------------
async def company_checkout(
    session: AsyncSession, caller: Caller, checkout_id: str, *, notifier: Notifier, now: datetime
) -> Checkout:
    """The company's checkout (a till sees only its own); another's is absent."""
    checkout = await session.get(Checkout, checkout_id)
    if checkout is None or checkout.company_id != caller.company_id:
        raise CheckoutNotFound()
    if caller.till_id is not None and checkout.till_id != caller.till_id:
        raise CheckoutNotFound()
    return await _expire_if_due(session, checkout, notifier=notifier, now=now)


async def citizen_checkout(
    session: AsyncSession, citizen_id: int, checkout_id: str, *, notifier: Notifier, now: datetime
) -> Checkout:
    checkout = await session.get(Checkout, checkout_id)
    if checkout is None or checkout.citizen_account_id != citizen_id:
        raise CheckoutNotFound()
    return await _expire_if_due(session, checkout, notifier=notifier, now=now)


async def citizen_checkouts(
    session: AsyncSession, citizen_id: int, *, status: str | None, now: datetime, limit: int = 50
) -> list[Checkout]:
    query = (
        select(Checkout)
        .where(col(Checkout.citizen_account_id) == citizen_id)
        .order_by(col(Checkout.created_at).desc())
        .limit(limit)
    )
    if status == CheckoutStatus.pending.value:
        query = query.where(col(Checkout.status) == status, col(Checkout.expires_at) > now)
    elif status is not None:
        query = query.where(col(Checkout.status) == status)
    return list((await session.scalars(query)).all())


async def has_confirmed_checkout(session: AsyncSession, citizen_id: int, company_id: int) -> bool:
    """Whether the citizen ever confirmed a payment to the company (makes them a customer who may recommend)."""
    found = await session.scalar(
        select(Checkout.id)
        .where(
            col(Checkout.citizen_account_id) == citizen_id,
            col(Checkout.company_id) == company_id,
            col(Checkout.status) == CheckoutStatus.confirmed.value,
        )
        .limit(1)
    )
    return found is not None


async def deliveries_of(
    session: AsyncSession, checkout_id: str
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    deliveries = (
        await session.scalars(
            select(WebhookDelivery)
            .where(col(WebhookDelivery.checkout_id) == checkout_id)
            .order_by(col(WebhookDelivery.created_at))
        )
    ).all()
    out = []
    for delivery in deliveries:
        attempts = (
            await session.scalars(
                select(WebhookAttempt)
                .where(col(WebhookAttempt.delivery_id) == delivery.id)
                .order_by(col(WebhookAttempt.number))
            )
        ).all()
        out.append((delivery, list(attempts)))
    return out


# -- changes of state -------------------------------------------------------------------------------------------
async def _announce(
    session: AsyncSession, checkout: Checkout, kind: str, now: datetime
) -> list[CheckoutEvent]:
    """Stream events for both sides, and a webhook delivery when the till has a URL; the caller commits."""
    till_body = checkout_out(checkout).model_dump(mode="json")
    events = [
        CheckoutEvent(
            checkout_id=checkout.id,
            audience=CITIZEN,
            audience_id=checkout.citizen_account_id,
            kind=UPDATED,
            payload={"id": checkout.id, "status": checkout.status, "event": kind},
            created_at=now,
        ),
        CheckoutEvent(
            checkout_id=checkout.id,
            audience=COMPANY,
            audience_id=checkout.company_id,
            till_id=checkout.till_id,
            kind=kind,
            payload=till_body,
            created_at=now,
        ),
    ]
    session.add_all(events)
    if checkout.till_id is not None:
        till = await session.get(Till, checkout.till_id)
        if till is not None and till.webhook_url:
            session.add(
                WebhookDelivery(
                    id=webhooks.new_delivery_id(),
                    till_id=till.id or 0,
                    checkout_id=checkout.id,
                    event_type=kind,
                    url=till.webhook_url,
                    payload=webhooks.encode_payload(kind, till_body, at=now),
                    status=DeliveryStatus.pending.value,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    return events


def _after_commit(notifier: Notifier, events: Sequence[CheckoutEvent]) -> None:
    notifier.publish(events)
    notifier.webhooks_due()


async def _expire_if_due(
    session: AsyncSession, checkout: Checkout, *, notifier: Notifier, now: datetime
) -> Checkout:
    """Pending past its time → expired (marked the first time anyone looks, or by the worker's sweep)."""
    if checkout.status != CheckoutStatus.pending.value or as_utc(checkout.expires_at) > now:
        return checkout
    result = await session.execute(
        update(Checkout)
        .where(col(Checkout.id) == checkout.id, col(Checkout.status) == CheckoutStatus.pending.value)
        .values(status=CheckoutStatus.expired.value)
    )
    if getattr(result, "rowcount", 0) != 1:  # someone else decided or expired it just now
        await session.rollback()
        await session.refresh(checkout)
        return checkout
    checkout.status = CheckoutStatus.expired.value
    events = await _announce(session, checkout, EXPIRED, now)
    await session.commit()
    _after_commit(notifier, events)
    return checkout


async def expire_due(session: AsyncSession, *, notifier: Notifier, now: datetime, limit: int = 200) -> int:
    """The worker's sweep, so a till learns of an expiry even when nobody reads the checkout."""
    due = (
        await session.scalars(
            select(Checkout)
            .where(col(Checkout.status) == CheckoutStatus.pending.value, col(Checkout.expires_at) <= now)
            .limit(limit)
        )
    ).all()
    for checkout in due:
        await _expire_if_due(session, checkout, notifier=notifier, now=now)
    return len(due)


async def decide(
    session: AsyncSession,
    keys: KeyRing,
    provider: PaymentProvider,
    *,
    citizen_id: int,
    checkout_id: str,
    confirm: bool,
    issuer: str,
    notifier: Notifier,
    now: datetime,
) -> Checkout:
    """Confirm or decline, once, before the expiry; sign it; record it in the ledger; then take the payment."""
    checkout = await citizen_checkout(session, citizen_id, checkout_id, notifier=notifier, now=now)
    if checkout.status == CheckoutStatus.expired.value:
        raise CheckoutExpired()
    if checkout.status != CheckoutStatus.pending.value:
        raise AlreadyDecided(f"this checkout is already {checkout.status}")

    decision = CheckoutStatus.confirmed if confirm else CheckoutStatus.declined
    checkout.status = decision.value
    checkout.decided_at = now
    jws = sign_decision(keys, issuer=issuer, checkout=checkout, decision=decision.value, at=now)
    payment_status = PaymentStatus.processing.value if confirm else None
    async with write_turn(session):  # from the first write to the commit
        result = await session.execute(
            update(Checkout)
            .where(
                col(Checkout.id) == checkout.id,
                col(Checkout.status) == CheckoutStatus.pending.value,
                col(Checkout.expires_at) > now,
            )
            .values(
                status=decision.value,
                decided_at=now,
                decision_jws=jws,
                payment_status=payment_status,
                payment_provider=provider.name if confirm else None,
            )
        )
        if getattr(result, "rowcount", 0) != 1:  # a concurrent decision won, or the time ran out meanwhile
            await session.rollback()
            await session.refresh(checkout)
            if checkout.status in (CheckoutStatus.confirmed.value, CheckoutStatus.declined.value):
                raise AlreadyDecided(f"this checkout is already {checkout.status}")
            raise CheckoutExpired()
        checkout.decision_jws = jws
        checkout.payment_status = payment_status
        checkout.payment_provider = provider.name if confirm else None
        index, salt = await transparency.record_private(session, LEDGER_KIND, ledger_fields(checkout))
        checkout.ledger_index = index
        checkout.ledger_salt = salt
        events: list[CheckoutEvent] = []
        if not confirm:
            events = await _announce(session, checkout, DECLINED, now)
        await session.commit()
    _after_commit(notifier, events)
    if confirm:
        await settle_payment(session, provider, checkout, notifier=notifier, now=now)
    return checkout


def _payment_request(checkout: Checkout) -> PaymentRequest:
    return PaymentRequest(
        checkout_id=checkout.id,
        idempotency_key=checkout.id,
        company_id=checkout.company_id,
        company_name=checkout.company_name,
        amount_minor=checkout.amount_minor,
        amount=money.to_decimal(checkout.amount_minor, checkout.currency),
        currency=checkout.currency,
        description=f"Sésame checkout {checkout.id}",
    )


async def settle_payment(
    session: AsyncSession,
    provider: PaymentProvider,
    checkout: Checkout,
    *,
    notifier: Notifier,
    now: datetime,
    give_up: bool = False,
) -> None:
    """Call the provider for a confirmed checkout and record the outcome; the till learns it then.

    An unreachable provider (or one that raises) leaves the payment ``processing``: the worker retries later
    (the provider is idempotent on the checkout id) and gives up (``give_up``) after a while. The citizen's
    decision stands either way: it was committed and signed before the provider was called.
    """
    try:
        outcome = await provider.capture(_payment_request(checkout))
    except Exception as exc:  # unreachable provider, or a bug in it: the outcome is unknown either way
        if not isinstance(exc, PaymentUnavailable):
            log.exception("payment provider %s failed on checkout %s", provider.name, checkout.id)
        if not give_up:
            return
        reason = exc.detail if isinstance(exc, PaymentUnavailable) else type(exc).__name__
        outcome = PaymentResult.failed(f"provider unavailable: {reason}")
    result = await session.execute(
        update(Checkout)
        .where(
            col(Checkout.id) == checkout.id, col(Checkout.payment_status) == PaymentStatus.processing.value
        )
        .values(
            payment_status=outcome.status,
            payment_reference=outcome.reference,
            payment_failure=(outcome.failure or "")[:300] or None,
        )
    )
    if getattr(result, "rowcount", 0) != 1:  # another worker settled it
        await session.rollback()
        await session.refresh(checkout)
        return
    checkout.payment_status = outcome.status
    checkout.payment_reference = outcome.reference
    checkout.payment_failure = outcome.failure
    kind = CONFIRMED if outcome.status == PaymentStatus.succeeded.value else PAYMENT_FAILED
    events = await _announce(session, checkout, kind, now)
    await session.commit()
    _after_commit(notifier, events)


async def retry_payments(
    session: AsyncSession,
    provider: PaymentProvider,
    *,
    notifier: Notifier,
    now: datetime,
    retry_after_seconds: int,
    give_up_after_seconds: int,
) -> int:
    """Confirmed checkouts whose payment is stuck in ``processing`` (crash, outage): ask the provider again."""
    stuck = (
        await session.scalars(
            select(Checkout)
            .where(
                col(Checkout.payment_status) == PaymentStatus.processing.value,
                col(Checkout.decided_at) <= now - timedelta(seconds=retry_after_seconds),
            )
            .limit(50)
        )
    ).all()
    for checkout in stuck:
        decided = as_utc(checkout.decided_at or now)
        give_up = now - decided > timedelta(seconds=give_up_after_seconds)
        await settle_payment(session, provider, checkout, notifier=notifier, now=now, give_up=give_up)
    return len(stuck)


async def prune(session: AsyncSession, *, before: datetime) -> None:
    """Stream events and idempotency records are short-lived; the checkouts themselves are kept."""
    await session.execute(delete(CheckoutEvent).where(col(CheckoutEvent.created_at) < before))
    await session.execute(delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < before))
    await session.commit()
