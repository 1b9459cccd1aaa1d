"""Factories for company_profiles tests: accounts with tokens, registered companies, verifiers."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from stdnum import luhn

from company_profiles import services
from sesame.accounts.services import create_account, issue_token
from sesame.db import create_engine, create_sessionmaker

PASSWORD = "correct horse battery"
_serial = itertools.count(1)


def siren_for(body: int) -> str:
    """A valid SIREN: eight digits and their Luhn check digit."""
    digits = f"{body % 100_000_000:08d}"
    return digits + luhn.calc_check_digit(digits)


def siret_for(siren: str, establishment: int) -> str:
    digits = f"{siren}{establishment % 10_000:04d}"
    return digits + luhn.calc_check_digit(digits)


@dataclass
class Actor:
    account_id: int
    email: str
    kind: str
    headers: dict[str, str] = field(default_factory=dict)
    company_id: int | None = None
    verifier_id: int | None = None


@dataclass
class World:
    """Builds the cast of a test through the real services and the HTTP API."""

    app: Litestar
    client: AsyncTestClient[Litestar]
    #: The test's own engine: the app's runs on the test client's event loop, not on the test's.
    engine: AsyncEngine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with create_sessionmaker(self.engine)() as session:
            yield session

    async def account(self, kind: str, email: str | None = None) -> Actor:
        email = email or f"{kind}{next(_serial)}@example.org"
        async with self.session() as session:
            account = await create_account(session, kind=kind, email=email, password=PASSWORD)
        token = issue_token(self.app.state.keyring, self.app.state.settings, account)
        return Actor(
            account_id=account.id or 0, email=email, kind=kind, headers={"Authorization": f"Bearer {token}"}
        )

    def registration(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "legal_name": f"Société Test {next(_serial)} SAS",
            "country": "FR",
            "registration_scheme": "siren",
            "registration_id": siren_for(10_000_000 + next(_serial)),
            "founding_date": "1998-03-14",
            "tax_residence": "FR",
            "sector": "47.11",
            "registered_address": "12 rue de la République, 69002 Lyon",
        }
        body.update(overrides)
        return body

    async def company(self, **overrides: Any) -> Actor:
        owner = await self.account("company")
        response = await self.client.post(
            "/api/v1/companies", json=self.registration(**overrides), headers=owner.headers
        )
        assert response.status_code == 201, response.text
        owner.company_id = response.json()["id"]
        return owner

    async def verifier(self, scope: list[str], name: str | None = None) -> Actor:
        actor = await self.account("verifier")
        async with self.session() as session:
            verifier = await services.register_verifier(
                session,
                account_id=actor.account_id,
                name=name or f"Vérificateur {actor.account_id}",
                scope=scope,
                keys=self.app.state.keyring,
            )
        actor.verifier_id = verifier.id
        return actor

    async def file(
        self, owner: Actor, indicators: dict[str, Any], company_id: int | None = None
    ) -> httpx.Response:
        return await self.client.put(
            f"/api/v1/companies/{company_id or owner.company_id}/civil-status",
            json={"indicators": indicators},
            headers=owner.headers,
        )

    async def attest(
        self, verifier: Actor, company_id: int | None, indicator: str, value: Any, **extra: Any
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/companies/{company_id}/attestations",
            json={"indicator": indicator, "value": value, **extra},
            headers=verifier.headers,
        )

    async def profile(self, company_id: int | None) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/companies/{company_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def indicator(profile: dict[str, Any], key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in profile["indicators"] if i["key"] == key)
    return found


@pytest.fixture
async def world(app: Litestar, client: AsyncTestClient[Litestar]) -> AsyncIterator[World]:
    engine = create_engine(app.state.settings)
    try:
        yield World(app=app, client=client, engine=engine)
    finally:
        await engine.dispose()
