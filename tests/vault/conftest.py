"""Factories for vault tests: citizens, attested companies, accounts, grants — through the public API."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from stdnum import luhn

from company_profiles import services as company_services
from company_profiles.catalogue import MANDATORY_KEYS
from sesame.accounts.services import create_account, issue_token
from sesame.db import create_engine, create_sessionmaker

PASSWORD = "correct horse battery"
_serial = itertools.count(1)

FIVE_FIELDS: dict[str, Any] = {
    "given_name": "Ninon",
    "family_name": "Quelquechose-Unique",
    "email": "ninon.unique-4417@exemple.fr",
    "phone": "+33612345678",
    "postal_address": {
        "street": "7 impasse des Tilleuls-Rares",
        "postal_code": "69002",
        "city": "Lyon",
        "country": "FR",
    },
}


def siren_for(body: int) -> str:
    digits = f"{body % 100_000_000:08d}"
    return digits + luhn.calc_check_digit(digits)


def later(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@dataclass
class Actor:
    account_id: int
    email: str
    kind: str
    headers: dict[str, str] = field(default_factory=dict)
    company_id: int | None = None
    sesame_id: str | None = None


@dataclass
class World:
    """The cast of a vault test, built through the real services and the HTTP API."""

    app: Litestar
    client: AsyncTestClient[Litestar]
    engine: AsyncEngine
    _verifier: Actor | None = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session on the test's own engine: the app's pool lives on the test client's event loop."""
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

    async def citizen(self, fields: dict[str, Any] | None = None) -> Actor:
        """A citizen signed up through the API (so the sign-up hook makes the vault), with fields set."""
        email = f"citizen{next(_serial)}@example.org"
        response = await self.client.post(
            "/api/v1/accounts", json={"kind": "citizen", "email": email, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        sesame_id = response.json()["sesame_id"]
        token = await self.client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        actor = Actor(
            account_id=response.json()["id"],
            email=email,
            kind="citizen",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            sesame_id=sesame_id,
        )
        for name, value in (fields or {}).items():
            put = await self.client.put(
                f"/api/v1/vault/fields/{name}", json={"value": value}, headers=actor.headers
            )
            assert put.status_code == 200, put.text
        return actor

    async def verifier(self) -> Actor:
        if self._verifier is None:
            actor = await self.account("verifier")
            async with self.session() as session:
                await company_services.register_verifier(
                    session,
                    account_id=actor.account_id,
                    name="Greffe de test",
                    scope=list(MANDATORY_KEYS),
                    keys=self.app.state.keyring,
                )
            self._verifier = actor
        return self._verifier

    async def company(self, *, attested: bool = True) -> Actor:
        """A company account with a registered company; ``attested``: every mandatory indicator attested."""
        owner = await self.account("company")
        registration = {
            "legal_name": f"Maison Test {next(_serial)} SAS",
            "country": "FR",
            "registration_scheme": "siren",
            "registration_id": siren_for(20_000_000 + next(_serial)),
            "founding_date": "1998-03-14",
            "tax_residence": "FR",
            "sector": "47.11",
            "registered_address": "12 rue de la République, 69002 Lyon",
        }
        response = await self.client.post("/api/v1/companies", json=registration, headers=owner.headers)
        assert response.status_code == 201, response.text
        owner.company_id = response.json()["id"]
        if attested:
            await self.attest_all(owner)
        return owner

    async def attest_all(self, owner: Actor) -> None:
        verifier = await self.verifier()
        profile = (await self.client.get(f"/api/v1/companies/{owner.company_id}")).json()
        for item in profile["indicators"]:
            if item["key"] in MANDATORY_KEYS:
                response = await self.client.post(
                    f"/api/v1/companies/{owner.company_id}/attestations",
                    json={"indicator": item["key"], "value": item["value"]},
                    headers=verifier.headers,
                )
                assert response.status_code == 201, response.text

    async def open_account(self, company: Actor, citizen: Actor) -> int:
        """Company asks, citizen accepts: the open account's id."""
        asked = await self.client.post(
            f"/api/v1/sesames/{citizen.sesame_id}/company-accounts", headers=company.headers
        )
        assert asked.status_code == 201, asked.text
        account_id: int = asked.json()["id"]
        accepted = await self.client.post(
            f"/api/v1/vault/company-accounts/{account_id}/accept", headers=citizen.headers
        )
        assert accepted.status_code == 200, accepted.text
        return account_id

    async def grant(
        self,
        citizen: Actor,
        account_id: int,
        fields: list[str],
        *,
        purpose: str = "order follow-up",
        days: int = 30,
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/vault/grants",
            json={
                "company_account_id": account_id,
                "fields": fields,
                "purpose": purpose,
                "expires_at": later(days),
            },
            headers=citizen.headers,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def read(self, company: Actor, citizen: Actor) -> Any:
        return await self.client.get(f"/api/v1/sesames/{citizen.sesame_id}/fields", headers=company.headers)

    async def ledger_leaves(self) -> list[bytes]:
        """Every leaf of the ledger, as stored."""
        async with self.session() as session:
            rows = await session.execute(text("SELECT payload FROM ledger_leaves ORDER BY idx"))
            return [bytes(r[0]) for r in rows]


@pytest.fixture
async def world(app: Litestar, client: AsyncTestClient[Litestar]) -> AsyncIterator[World]:
    engine = create_engine(app.state.settings)
    try:
        yield World(app=app, client=client, engine=engine)
    finally:
        await engine.dispose()
