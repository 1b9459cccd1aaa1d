"""Factories for the scanner's tests: companies signed up over HTTP, products, verified figures, GTINs."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import luhn

from scanner import gs1
from sesame import transparency
from sesame.db import create_engine, create_sessionmaker

PASSWORD = "correct horse battery"
_serial = itertools.count(1)


def make_gtin(body: int, prefix: str = "376") -> str:
    """A valid 14-digit GTIN (a GTIN-13 under GS1 France's prefix by default)."""
    payload = f"{prefix}{body % 10 ** (12 - len(prefix)):0{12 - len(prefix)}d}"
    return "0" + payload + str(gs1.gtin_check_digit(payload))


def siren_for(body: int) -> str:
    digits = f"{body % 100_000_000:08d}"
    return digits + luhn.calc_check_digit(digits)


def field_errors(response: httpx.Response) -> dict[str, str]:
    return {e["field"]: e["reason"] for e in response.json().get("errors", [])}


@pytest.fixture
def ledger(app: Litestar) -> Iterator[None]:
    """The transparency ledger configured with this app's keys (``create_app`` may already do it)."""
    settings = app.state.settings
    transparency.configure(keys=app.state.keyring, origin=settings.ledger_origin)
    yield


@dataclass
class Actor:
    email: str
    headers: dict[str, str] = field(default_factory=dict)
    company_id: int = 0


def identity_card(**overrides: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "brand": "Moulin de Provence",
        "description": "Huile d'olive vierge extra",
        "traceability": [
            {
                "step": "harvest",
                "place": {"name": "Oliveraie des Alpilles", "country": "FR", "city": "Maussane"},
                "started_on": "2025-10-15",
                "ended_on": "2025-11-20",
            },
            {
                "step": "milling",
                "place": {"name": "Moulin Castelas", "country": "FR"},
                "started_on": "2025-11-21",
            },
        ],
        "production_places": [
            {"name": "Moulin Castelas", "country": "FR", "latitude": 43.7, "longitude": 4.8}
        ],
        "manufacturing_time": {"value": 36, "unit": "h"},
        "labour_cost_share_pct": 38.5,
        "carbon_footprint": {"value": 2.4, "unit": "kg CO2e", "per": "unit"},
        "nutrition_per_100g": {"energy_kj": 3700, "energy_kcal": 884, "fat_g": 100, "saturated_fat_g": 14},
        "stock": 1200,
        "lots": [
            {"batch": "L2025-11A", "produced_on": "2025-11-22", "best_before": "2027-05-31", "quantity": 800},
            {"batch": "L2025-12B", "produced_on": "2025-12-05", "best_before": "2027-06-30"},
        ],
    }
    card.update(overrides)
    return card


@dataclass
class Shop:
    """Builds the cast of a scanner test through the HTTP API (sign-up, company, products)."""

    app: Litestar
    client: AsyncTestClient[Litestar]

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in the test's own event loop (the test client runs the app in another one)."""
        engine = create_engine(self.app.state.settings)
        try:
            async with create_sessionmaker(engine)() as session:
                yield session
        finally:
            await engine.dispose()

    async def account(self, kind: str) -> Actor:
        email = f"{kind}{next(_serial)}@example.org"
        response = await self.client.post(
            "/api/v1/accounts", json={"kind": kind, "email": email, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        token = await self.client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert token.status_code == 200, token.text
        return Actor(email=email, headers={"Authorization": f"Bearer {token.json()['access_token']}"})

    async def company(self, name: str | None = None) -> Actor:
        owner = await self.account("company")
        body = {
            "legal_name": name or f"Huilerie Test {next(_serial)} SAS",
            "country": "FR",
            "registration_scheme": "siren",
            "registration_id": siren_for(20_000_000 + next(_serial)),
            "founding_date": "1998-03-14",
            "tax_residence": "FR",
            "sector": "10.41",
            "registered_address": "3 chemin des Oliviers, 13520 Maussane",
        }
        response = await self.client.post("/api/v1/companies", json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        owner.company_id = response.json()["id"]
        return owner

    async def file(self, owner: Actor, indicators: dict[str, Any]) -> None:
        response = await self.client.put(
            f"/api/v1/companies/{owner.company_id}/civil-status",
            json={"indicators": indicators},
            headers=owner.headers,
        )
        assert response.status_code in (200, 201), response.text

    async def verifier(self, scope: list[str]) -> Actor:
        """A verifier as ``sesame admin create-verifier`` makes one (never through the public API)."""
        from company_profiles import services as profiles
        from sesame.accounts.services import create_account

        email = f"verifier{next(_serial)}@example.org"
        async with self.session() as session:
            account = await create_account(session, kind="verifier", email=email, password=PASSWORD)
            await profiles.register_verifier(
                session,
                account_id=account.id or 0,
                name=f"Institut {email}",
                scope=scope,
                keys=self.app.state.keyring,
            )
        token = await self.client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        return Actor(email=email, headers={"Authorization": f"Bearer {token.json()['access_token']}"})

    async def attest(self, verifier: Actor, company: Actor, indicator: str, value: Any) -> None:
        response = await self.client.post(
            f"/api/v1/companies/{company.company_id}/attestations",
            json={"indicator": indicator, "value": value},
            headers=verifier.headers,
        )
        assert response.status_code == 201, response.text

    async def register(self, owner: Actor, gtin: str | None = None, **body: Any) -> httpx.Response:
        payload: dict[str, Any] = {
            "gtin": gtin or make_gtin(next(_serial)),
            "name": f"Huile d'olive {next(_serial)}",
            "identity_card": identity_card(),
        }
        payload.update(body)
        return await self.client.post(
            f"/api/v1/companies/{owner.company_id}/products", json=payload, headers=owner.headers
        )

    async def product(self, owner: Actor, gtin: str | None = None, **body: Any) -> dict[str, Any]:
        response = await self.register(owner, gtin, **body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@pytest.fixture
def shop(app: Litestar, client: AsyncTestClient[Litestar], ledger: None) -> Shop:
    return Shop(app=app, client=client)
