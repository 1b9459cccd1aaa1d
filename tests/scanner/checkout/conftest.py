"""Factories for checkout tests: real accounts and tokens, fake parties (vault and company profiles).

The HTTP tests here are about the checkout's own rules, so the vault and the company profiles are replaced by
``FakeParties`` (the port the checkout reads them through); ``test_e2e.py`` runs everything real.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scanner.checkout.models import Checkout
from scanner.checkout.parties import CitizenPreferences, Company, FakeParties, Indicator
from scanner.checkout.payments import FakePaymentProvider
from scanner.checkout.worker import CheckoutRuntime, runtime_for
from sesame.accounts.models import Account
from sesame.accounts.services import issue_token
from sesame.db import create_engine, create_sessionmaker
from sesame.models import utcnow

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def satisfaction(value: int | None, *, verified: bool = True) -> Indicator:
    return Indicator(
        key="employee_satisfaction",
        label_fr="Satisfaction des salariés",
        label_en="Employee satisfaction",
        value=value,
        unit="%",
        verification=("attested" if verified else "self_declared") if value is not None else "undisclosed",
        verified=verified and value is not None,
        disclosed=value is not None,
    )


@dataclass
class Citizen:
    account_id: int
    token: str
    sesame_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class CompanyActor:
    account_id: int
    company_id: int
    token: str
    name: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class TillActor:
    id: int
    api_key: str
    company: CompanyActor
    webhook_secret: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class World:
    """Builds the cast of a checkout and drives the API."""

    app: Litestar
    client: AsyncTestClient[Litestar]
    parties: FakeParties
    provider: FakePaymentProvider
    runtime: CheckoutRuntime
    #: Sessions on the test's own event loop (the test client runs the app on another loop and thread).
    sessionmaker: async_sessionmaker[AsyncSession]

    async def _account(self, kind: str) -> tuple[int, str]:
        n = next(_counter)
        response = await self.client.post(
            "/api/v1/accounts", json={"kind": kind, "email": f"{kind}{n}@example.org", "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        account_id = int(response.json()["id"])
        token = issue_token(
            self.app.state.keyring,
            self.app.state.settings,
            Account(id=account_id, kind=kind, email="x@example.org", password_hash="-"),
        )
        return account_id, token

    async def citizen(
        self, *, contactless: bool = True, language: str = "fr", highlights: tuple[str, ...] = ()
    ) -> Citizen:
        account_id, token = await self._account("citizen")
        sesame_id = f"ses{account_id}x{next(_counter)}"
        self.parties.citizens[sesame_id] = account_id
        self.parties.settings[account_id] = CitizenPreferences(
            contactless=contactless, highlights=highlights or ("employee_satisfaction",), language=language
        )
        return Citizen(account_id=account_id, token=token, sesame_id=sesame_id)

    async def company(
        self, name: str = "Boulangerie Dupont", *, satisfaction_pct: int | None = 64
    ) -> CompanyActor:
        account_id, token = await self._account("company")
        company_id = 1000 + account_id
        self.parties.companies[account_id] = Company(id=company_id, legal_name=name)
        self.parties.company_indicators[company_id] = {
            "employee_satisfaction": satisfaction(satisfaction_pct)
        }
        return CompanyActor(account_id=account_id, company_id=company_id, token=token, name=name)

    def open_account(self, citizen: Citizen, company: CompanyActor) -> None:
        self.parties.open_accounts.add((citizen.sesame_id, company.company_id))

    async def till(self, company: CompanyActor, *, webhook_url: str | None = None) -> TillActor:
        body: dict[str, Any] = {"name": f"Till {next(_counter)}"}
        if webhook_url:
            body["webhook_url"] = webhook_url
        response = await self.client.post("/api/v1/tills", json=body, headers=company.auth)
        assert response.status_code == 201, response.text
        data = response.json()
        return TillActor(
            id=data["id"], api_key=data["api_key"], company=company, webhook_secret=data.get("webhook_secret")
        )

    async def start(
        self,
        who: TillActor | CompanyActor,
        citizen: Citizen,
        *,
        amount: str = "12.50",
        currency: str = "EUR",
        key: str | None = None,
        items: list[dict[str, Any]] | None = None,
    ) -> Any:
        body = {
            "sesame_id": citizen.sesame_id,
            "items": items or [{"gtin": "3017620422003", "quantity": 2}],
            "amount": amount,
            "currency": currency,
        }
        headers = {**who.auth, "Idempotency-Key": key or f"key-{next(_counter)}"}
        return await self.client.post("/api/v1/checkouts", json=body, headers=headers)

    async def ready(self) -> tuple[Citizen, CompanyActor, TillActor]:
        """A citizen with contactless on and an open account with a company that has a till."""
        citizen = await self.citizen()
        company = await self.company()
        self.open_account(citizen, company)
        return citizen, company, await self.till(company)

    async def decide(self, citizen: Citizen, checkout_id: str, *, confirm: bool = True) -> Any:
        return await self.client.post(
            f"/api/v1/vault/checkouts/{checkout_id}/decision", json={"confirm": confirm}, headers=citizen.auth
        )

    async def age(self, checkout_id: str, seconds: int = 3600) -> None:
        """Move a checkout's expiry into the past."""
        async with self.sessionmaker() as session:
            await session.execute(
                update(Checkout)
                .where(Checkout.id == checkout_id)  # type: ignore[arg-type]
                .values(expires_at=utcnow() - timedelta(seconds=seconds))
            )
            await session.commit()


@pytest.fixture
async def world(app: Litestar, client: AsyncTestClient[Litestar]) -> AsyncIterator[World]:
    runtime = runtime_for(app)
    client.blocking_portal.call(runtime.stop)  # tests drive the worker's passes themselves
    parties = FakeParties()
    provider = FakePaymentProvider()
    runtime.parties = parties
    runtime.provider = provider
    engine = create_engine(app.state.settings)
    try:
        yield World(
            app=app,
            client=client,
            parties=parties,
            provider=provider,
            runtime=runtime,
            sessionmaker=create_sessionmaker(engine),
        )
    finally:
        await engine.dispose()
