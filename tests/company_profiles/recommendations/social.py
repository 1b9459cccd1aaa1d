"""The cast of social tests (recommendations, zones, dossiers, offers), built through services and the HTTP API.

Shared by ``tests/company_profiles/recommendations`` and ``tests/vault/sharing``.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from stdnum import luhn

from company_profiles import services as company_services
from company_profiles.catalogue import MANDATORY_KEYS
from sesame.accounts.services import create_account, issue_token
from sesame.db import create_sessionmaker
from vault import services as vault_services

PASSWORD = "correct horse battery"
_serial = itertools.count(1)


def siren_for(body: int) -> str:
    digits = f"{body % 100_000_000:08d}"
    return digits + luhn.calc_check_digit(digits)


@dataclass
class Actor:
    account_id: int
    email: str
    kind: str
    headers: dict[str, str] = field(default_factory=dict)
    company_id: int | None = None
    sesame_id: str | None = None


@dataclass
class Social:
    app: Litestar
    client: AsyncTestClient[Litestar]
    engine: AsyncEngine
    _verifier: Actor | None = None

    @property
    def k(self) -> int:
        k: int = self.app.state.settings.k_anonymity
        return k

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session on the test's own engine (the app's pool lives on the test client's event loop)."""
        async with create_sessionmaker(self.engine)() as session:
            yield session

    async def account(self, kind: str, *, display_name: str | None = None) -> Actor:
        email = f"{kind}{next(_serial)}@example.org"
        async with self.session() as session:
            account = await create_account(
                session, kind=kind, email=email, password=PASSWORD, display_name=display_name
            )
            sesame_id = await vault_services.sesame_id_for_account(session, account.id or 0)
        token = issue_token(self.app.state.keyring, self.app.state.settings, account)
        return Actor(
            account_id=account.id or 0,
            email=email,
            kind=kind,
            headers={"Authorization": f"Bearer {token}"},
            sesame_id=sesame_id,
        )

    async def citizen(self, *, display_name: str | None = None) -> Actor:
        actor = await self.account("citizen", display_name=display_name)
        assert actor.sesame_id, "the vault's sign-up hook gives every citizen a Sésame"
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

    async def company(
        self, *, sector: str = "47.11", attested: bool = True, name: str | None = None
    ) -> Actor:
        owner = await self.account("company")
        registration = {
            "legal_name": name or f"Maison Sociale {next(_serial)} SAS",
            "country": "FR",
            "registration_scheme": "siren",
            "registration_id": siren_for(30_000_000 + next(_serial)),
            "founding_date": "2001-06-01",
            "tax_residence": "FR",
            "sector": sector,
            "registered_address": "3 place des Terreaux, 69001 Lyon",
        }
        response = await self.client.post("/api/v1/companies", json=registration, headers=owner.headers)
        assert response.status_code == 201, response.text
        owner.company_id = response.json()["id"]
        if attested:
            verifier = await self.verifier()
            profile = (await self.client.get(f"/api/v1/companies/{owner.company_id}")).json()
            for item in profile["indicators"]:
                if item["key"] in MANDATORY_KEYS:
                    attested_one = await self.client.post(
                        f"/api/v1/companies/{owner.company_id}/attestations",
                        json={"indicator": item["key"], "value": item["value"]},
                        headers=verifier.headers,
                    )
                    assert attested_one.status_code == 201, attested_one.text
        return owner

    async def open_account(self, company: Actor, citizen: Actor) -> int:
        """The company asks, the citizen accepts: the open account's id."""
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

    async def customers(self, company: Actor, n: int) -> list[Actor]:
        """``n`` new citizens, each with an open account of ``company``."""
        out = []
        for _ in range(n):
            citizen = await self.citizen()
            await self.open_account(company, citizen)
            out.append(citizen)
        return out

    async def recommend(
        self, citizen: Actor, company: Actor, *, recommend: bool = True, zone: str | None = None, **extra: Any
    ) -> httpx.Response:
        body: dict[str, Any] = {"recommend": recommend, **extra}
        if zone is not None:
            body["zone"] = zone
        return await self.client.put(
            f"/api/v1/companies/{company.company_id}/recommendations/mine", json=body, headers=citizen.headers
        )
