"""Pure parts: the sentence, amounts, GTINs, the payment provider's contract, the expiry and payment passes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.checkout import money, prompts, services
from scanner.checkout.models import Checkout
from scanner.checkout.parties import Indicator
from scanner.checkout.payments import (
    FakePaymentProvider,
    PaymentProvider,
    PaymentRequest,
    PaymentUnavailable,
    load_provider,
)
from scanner.checkout.schemas import normalise_gtin
from scanner.checkout.streams import NullNotifier
from sesame.models import utcnow
from tests.scanner.checkout.conftest import World, satisfaction

NBSP = "\u00a0"


def test_the_sentence_of_the_card() -> None:
    assert prompts.sentence([satisfaction(64)], "fr") == (
        f"Le taux de satisfaction des employés de cette entreprise est de 64{NBSP}%. "
        f"Voulez-vous valider votre paiement{NBSP}?"
    )
    assert prompts.sentence([satisfaction(64)], "en-GB") == (
        "Employee satisfaction at this company is 64%. Confirm the payment?"
    )


def test_not_disclosed_and_self_declared() -> None:
    assert prompts.sentence([satisfaction(None)], "fr").startswith(
        f"Taux de satisfaction des employés de cette entreprise{NBSP}: non communiqué."
    )
    assert "not disclosed" in prompts.sentence([satisfaction(None)], "en")
    assert "64% (self-declared)." in prompts.sentence([satisfaction(64, verified=False)], "en")
    assert f"64{NBSP}% (auto-déclaré)." in prompts.sentence([satisfaction(64, verified=False)], "fr")


def test_other_indicators_use_their_label_and_unit() -> None:
    carbon = Indicator(
        "carbon_footprint_per_employee",
        "Empreinte carbone par salarié",
        "Carbon footprint per employee",
        3.5,
        "tCO2e",
        "attested",
        True,
        True,
    )
    headcount = Indicator("headcount", "Effectif", "Headcount", 120, "persons", "attested", True, True)
    assert prompts.sentence([carbon, headcount], "fr") == (
        f"Empreinte carbone par salarié{NBSP}: 3,5{NBSP}tCO2e. Effectif{NBSP}: 120{NBSP}personnes. "
        f"Voulez-vous valider votre paiement{NBSP}?"
    )
    assert (
        prompts.sentence([carbon], "en")
        == "Carbon footprint per employee: 3.5\u00a0tCO2e. Confirm the payment?"
    )


@given(st.integers(min_value=0, max_value=10**12 - 1), st.sampled_from(sorted(money.CURRENCY_EXPONENTS)))
def test_amounts_round_trip(minor: int, currency: str) -> None:
    assert money.to_minor(money.to_decimal_string(minor, currency), currency) == minor


@given(st.text(max_size=20))
def test_amount_parsing_never_crashes(text: str) -> None:
    try:
        minor = money.to_minor(text, "EUR")
    except money.AmountError:
        return
    assert minor >= 0 and Decimal(text) * 100 == minor


def test_gtins() -> None:
    assert normalise_gtin("3017620422003") == "03017620422003"
    assert normalise_gtin("96385074") == "00000096385074"
    for bad in ("3017620422004", "12345", "30176204220０3", "abcdefghijkl"):
        with pytest.raises(ValueError, match="GTIN"):
            normalise_gtin(bad)


def _request(key: str = "chk_1", minor: int = 1250) -> PaymentRequest:
    return PaymentRequest(
        checkout_id=key,
        idempotency_key=key,
        company_id=1,
        company_name="Acme",
        amount_minor=minor,
        amount=Decimal(minor) / 100,
        currency="EUR",
        description="test",
    )


async def test_the_fake_provider_keeps_the_contract() -> None:
    provider = load_provider("fake")
    assert isinstance(provider, PaymentProvider) and isinstance(provider, FakePaymentProvider)
    first = await provider.capture(_request())
    again = await provider.capture(_request())
    assert first == again and first.status == "succeeded"  # idempotent on the key
    provider.decline_minor.add(999)
    declined = await provider.capture(_request("chk_2", 999))
    assert declined.status == "failed" and declined.failure
    with pytest.raises(ValueError, match="expected"):
        load_provider("nonsense")


async def test_a_payment_left_processing_is_settled_later(world: World) -> None:
    citizen, _, till = await world.ready()
    world.provider.unavailable = True
    checkout_id = (await world.start(till, citizen)).json()["id"]
    decided = await world.decide(citizen, checkout_id, confirm=True)
    assert decided.json()["status"] == "confirmed"
    assert decided.json()["payment"]["status"] == "processing"

    world.provider.unavailable = False
    async with world.sessionmaker() as session:
        await services.retry_payments(
            session,
            world.provider,
            notifier=NullNotifier(),
            now=utcnow(),
            retry_after_seconds=0,
            give_up_after_seconds=3600,
        )
    seen = (await world.client.get(f"/api/v1/checkouts/{checkout_id}", headers=till.auth)).json()
    assert seen["payment"]["status"] == "succeeded"
    assert len(world.provider.calls) == 2 and {c.idempotency_key for c in world.provider.calls} == {
        checkout_id
    }


async def test_a_payment_never_settled_fails_in_the_end(world: World) -> None:
    citizen, _, till = await world.ready()
    world.provider.unavailable = True
    checkout_id = (await world.start(till, citizen)).json()["id"]
    await world.decide(citizen, checkout_id, confirm=True)
    async with world.sessionmaker() as session:
        await services.retry_payments(
            session,
            world.provider,
            notifier=NullNotifier(),
            now=utcnow(),
            retry_after_seconds=0,
            give_up_after_seconds=0,
        )
        found = await session.get(Checkout, checkout_id)
        assert found is not None
        await session.refresh(found)
        assert found.payment_status == "failed" and "unavailable" in (found.payment_failure or "")


def test_payment_unavailable_is_a_503() -> None:
    assert PaymentUnavailable.status == 503


async def test_a_provider_that_crashes_does_not_undo_the_decision(world: World) -> None:
    citizen, _, till = await world.ready()

    async def broken(request: PaymentRequest) -> object:
        raise RuntimeError("bug in the provider")

    world.provider.capture = broken  # type: ignore[method-assign,assignment]
    checkout_id = (await world.start(till, citizen)).json()["id"]
    decided = await world.decide(citizen, checkout_id, confirm=True)
    assert decided.status_code == 200
    assert decided.json()["status"] == "confirmed" and decided.json()["payment"]["status"] == "processing"
