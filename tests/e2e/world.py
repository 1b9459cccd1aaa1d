"""One seeded world for the end-to-end tests: the demo data (``sesame.seed``) plus a resource of every kind on
two sides, built once per test run on SQLite and copied per test (database file and key directory).

Side 1 is the citizen Camille and the bakery that has an open account on her Sésame; side 2 is the citizen
Karim and the supermarket that has an account on his. Each side has vault fields, a pending and an open company
account, a grant, a field request, an access receipt, a product, a till, a pending checkout, a dossier shared
with the other citizen and by link, a recommendation and an offer (the third demo citizen, Léa, is a customer
of both companies, so offers reach k = 2 people). The roster:

==================== ===============================================================================
role                 who
==================== ===============================================================================
anonymous            no token
citizen              Camille (side 1)
other_citizen        Karim (side 2)
company              the bakery: registered, attested, an open account on Camille's Sésame (side 1)
company_no_account   the coffee roaster: registered, tax residence unattested, no account anywhere
other_company        the supermarket: an open account on Karim's Sésame (side 2)
verifier             the company registry (trusted for legal_name, registration_id, ...)
verifier_out         the social survey institute (not trusted for the registry's indicators)
admin                the platform administrator
==================== ===============================================================================

    world = build_world(folder, migrated_template)   # once: seeds folder/sesame.db and folder/keys
    copy = world.copy_to(tmp_path)                   # per test: its own database and keys
    app = create_app(copy.settings())
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from sesame.accounts.models import Account
from sesame.accounts.services import issue_token
from sesame.keys import KeyRing
from sesame.settings import Settings

ROLES = (
    "anonymous",
    "citizen",
    "other_citizen",
    "company",
    "company_no_account",
    "other_company",
    "verifier",
    "verifier_out",
    "admin",
)
CITIZEN_FIELDS: dict[str, Any] = {
    "given_name": "Camille",
    "family_name": "Durand",
    "email": "camille.durand@exemple.fr",
}
GTINS = {
    "company": "03760000000017",
    "other_company": "03760000000024",
    "company_no_account": "03760000000031",
}


def later(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@dataclass
class Party:
    """One login of the world."""

    role: str
    account_id: int
    kind: str
    email: str
    sesame_id: str | None = None
    company_id: int | None = None


@dataclass
class World:
    """Where the seeded database lives, who can log in, and the id of every resource by side."""

    folder: Path
    parties: dict[str, Party] = field(default_factory=dict)
    #: resource name → {"1": id on side 1, "2": id on side 2} (or a plain value)
    res: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def database(self) -> Path:
        return self.folder / "sesame.db"

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite+aiosqlite:///{self.database}",
            "key_dir": self.folder / "keys",
            "public_url": "http://sesame.test",
            "login_attempts_per_address": 100_000,
            "k_anonymity": 2,
            "checkout_ttl_seconds": 86_400,  # pending checkouts stay pending for the whole run
        }
        values.update(overrides)
        return Settings(**values)

    def copy_to(self, folder: Path) -> World:
        """The same world in ``folder`` (a copy of the database and the keys), for one test to change."""
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.database, folder / "sesame.db")
        shutil.copytree(self.folder / "keys", folder / "keys", dirs_exist_ok=True)
        return replace(self, folder=folder)

    def tokens(self, keys: KeyRing, settings: Settings) -> dict[str, str | None]:
        """A fresh access token per role (``None`` for anonymous)."""
        out: dict[str, str | None] = {"anonymous": None}
        for role, party in self.parties.items():
            account = Account(id=party.account_id, kind=party.kind, email=party.email, password_hash="-")
            out[role] = issue_token(keys, settings, account)
        return out

    def side(self, name: str, side: str) -> Any:
        return self.res[name][side]

    def dump(self) -> str:
        return json.dumps({"parties": {k: asdict(v) for k, v in self.parties.items()}, "res": self.res})

    @classmethod
    def load(cls, folder: Path, text: str) -> World:
        data = json.loads(text)
        return cls(
            folder=folder,
            parties={k: Party(**v) for k, v in data["parties"].items()},
            res=data["res"],
        )


def _check(response: Any, *codes: int) -> Any:
    expected = codes or (200, 201)
    if response.status_code not in expected:
        raise AssertionError(
            f"world building: {response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response.json() if response.content else None


async def _build(world: World) -> None:
    from sesame import seed
    from sesame.app import create_app
    from sesame.db import create_engine, create_sessionmaker

    settings = world.settings()
    app: Litestar = create_app(settings)
    keys: KeyRing = app.state.keyring
    engine = create_engine(settings)
    try:
        logins = await seed.seed_demo(create_sessionmaker(engine), keys, settings)
    finally:
        await engine.dispose()

    from sqlalchemy import select

    from sesame.accounts.models import Account as AccountRow

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = {a.email: a for a in (await session.execute(select(AccountRow))).scalars()}
    finally:
        await engine.dispose()
    emails = {
        "citizen": seed.CITIZENS[0].email,
        "other_citizen": seed.CITIZENS[1].email,
        "company": seed.COMPANIES[0].email,  # boulangerie-martin
        "other_company": seed.COMPANIES[1].email,  # supermarches-cote-azur
        "company_no_account": seed.COMPANIES[6].email,  # torrefaction-occitane (tax residence unattested)
        "verifier": seed.VERIFIERS[0].email,  # the registry
        "verifier_out": seed.VERIFIERS[2].email,  # the survey institute
        "admin": seed.ADMIN_EMAIL,
    }
    company_ids = {
        "company": logins.company_ids[seed.COMPANIES[0].slug],
        "other_company": logins.company_ids[seed.COMPANIES[1].slug],
        "company_no_account": logins.company_ids[seed.COMPANIES[6].slug],
    }
    for role, email in emails.items():
        row = rows[email]
        world.parties[role] = Party(
            role=role, account_id=row.id or 0, kind=row.kind, email=email, company_id=company_ids.get(role)
        )
    tokens = world.tokens(keys, settings)

    def auth(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}

    res = world.res
    async with AsyncTestClient(app=app, base_url="http://sesame.test") as client:
        for role in ("citizen", "other_citizen"):
            me = _check(await client.get("/api/v1/accounts/me", headers=auth(role)))
            world.parties[role].sesame_id = me["sesame_id"]
            for name, value in CITIZEN_FIELDS.items():
                _check(
                    await client.put(
                        f"/api/v1/vault/fields/{name}", json={"value": value}, headers=auth(role)
                    )
                )
            _check(
                await client.put(
                    "/api/v1/vault/settings",
                    json={"contactless": True, "highlights": ["employee_satisfaction"], "language": "fr"},
                    headers=auth(role),
                )
            )
            _check(
                await client.put(
                    "/api/v1/vault/segments",
                    json={"segments": ["books", "fine_food"], "zone": None},
                    headers=auth(role),
                )
            )
        # the third demo citizen: a second customer of each company, so offers reach k = 2 people
        third = seed.CITIZENS[2].email
        third_party = Party("third_citizen", rows[third].id or 0, "citizen", third)
        world.parties["third_citizen"] = third_party
        tokens = world.tokens(keys, settings)
        third_me = _check(await client.get("/api/v1/accounts/me", headers=auth("third_citizen")))
        third_party.sesame_id = third_me["sesame_id"]
        _check(
            await client.put(
                "/api/v1/vault/segments",
                json={"segments": ["books", "fine_food"]},
                headers=auth("third_citizen"),
            )
        )
        pairs = {"1": ("citizen", "company"), "2": ("other_citizen", "other_company")}
        for side, (citizen, company) in pairs.items():
            sesame = world.parties[citizen].sesame_id
            company_id = world.parties[company].company_id
            asked = _check(
                await client.post(f"/api/v1/sesames/{sesame}/company-accounts", headers=auth(company))
            )
            _check(
                await client.post(
                    f"/api/v1/vault/company-accounts/{asked['id']}/accept", headers=auth(citizen)
                )
            )
            res.setdefault("open_account", {})[side] = asked["id"]
            third_asked = _check(
                await client.post(
                    f"/api/v1/sesames/{third_party.sesame_id}/company-accounts", headers=auth(company)
                )
            )
            _check(
                await client.post(
                    f"/api/v1/vault/company-accounts/{third_asked['id']}/accept",
                    headers=auth("third_citizen"),
                )
            )
            # a pending request from the bicycle maker (attested), for accept/decline
            pending = await _pending_account(client, app, settings, world, sesame or "")
            res.setdefault("pending_account", {})[side] = pending
            grant = _check(
                await client.post(
                    "/api/v1/vault/grants",
                    json={
                        "company_account_id": asked["id"],
                        "fields": ["given_name", "email"],
                        "purpose": "suivi de commande",
                        "expires_at": later(),
                    },
                    headers=auth(citizen),
                )
            )
            res.setdefault("grant", {})[side] = grant["id"]
            request = _check(
                await client.post(
                    f"/api/v1/sesames/{sesame}/requests",
                    json={"fields": ["family_name"], "purpose": "livraison"},
                    headers=auth(company),
                )
            )
            res.setdefault("request", {})[side] = request["id"]
            _check(await client.get(f"/api/v1/sesames/{sesame}/fields", headers=auth(company)))
            receipts = _check(await client.get("/api/v1/vault/receipts", headers=auth(citizen)))
            res.setdefault("receipt", {})[side] = receipts[0]["id"]
            till = _check(
                await client.post("/api/v1/tills", json={"name": f"Caisse {side}"}, headers=auth(company))
            )
            res.setdefault("till", {})[side] = till["id"]
            res.setdefault("till_key", {})[side] = till["api_key"]
            checkout = _check(
                await client.post(
                    "/api/v1/checkouts",
                    json={
                        "sesame_id": sesame,
                        "items": [{"gtin": GTINS[company], "quantity": 1}],
                        "currency": "EUR",
                        "amount": "4.20",
                    },
                    headers={**auth(company), "Idempotency-Key": f"world-{side}"},
                )
            )
            res.setdefault("checkout", {})[side] = checkout["id"]
            rec = await client.put(
                f"/api/v1/companies/{company_id}/recommendations/mine",
                json={"recommend": True},
                headers=auth(citizen),
            )
            _check(rec, 200, 201)
            offer = _check(
                await client.post(
                    "/api/v1/offers",
                    json={"segment": "books", "title": "Rentrée", "body": "-10 %", "valid_until": later(10)},
                    headers=auth(company),
                )
            )
            res.setdefault("offer", {})[side] = offer["id"]
        for role in ("company", "other_company", "company_no_account"):
            side = {"company": "1", "other_company": "2", "company_no_account": "3"}[role]
            company_id = world.parties[role].company_id
            _check(
                await client.post(
                    f"/api/v1/companies/{company_id}/products",
                    json={"gtin": GTINS[role], "name": f"Produit {side}"},
                    headers=auth(role),
                )
            )
            res.setdefault("gtin", {})[side] = GTINS[role]
            res.setdefault("company", {})[side] = company_id
        for side, (citizen, _company) in pairs.items():
            other = pairs["2" if side == "1" else "1"][0]
            dossier = _check(
                await client.post(
                    "/api/v1/vault/dossiers",
                    json={
                        "title": f"Dossier {side}",
                        "sector": "alimentation",
                        "companies": [{"company_id": res["company"]["1"], "note": "bon pain"}],
                    },
                    headers=auth(citizen),
                )
            )
            res.setdefault("dossier", {})[side] = dossier["id"]
            shared = _check(
                await client.post(
                    f"/api/v1/vault/dossiers/{dossier['id']}/shares",
                    json={"sesame_id": world.parties[other].sesame_id},
                    headers=auth(citizen),
                )
            )
            res.setdefault("share", {})[side] = shared["id"]
            link = _check(
                await client.post(
                    f"/api/v1/vault/dossiers/{dossier['id']}/shares", json={}, headers=auth(citizen)
                )
            )
            res.setdefault("link_share", {})[side] = link["id"]
            res.setdefault("link_token", {})[side] = link["token"]
        attestations = _check(await client.get(f"/api/v1/companies/{res['company']['1']}/attestations"))
        by_verifier: dict[str, int] = {}
        for attestation in attestations:
            if attestation.get("revoked_at") is None:
                by_verifier.setdefault(attestation["verifier_name"], int(attestation["id"]))
                res.setdefault("attestation_jws", {}).setdefault(
                    attestation["verifier_name"], attestation["jws"]
                )
        res["legal_name"] = {
            side: _check(await client.get(f"/api/v1/companies/{company_id}"))["legal_name"]
            for side, company_id in res["company"].items()
        }
        res["attestation"] = {
            "verifier": by_verifier[seed.VERIFIERS[0].name],
            "verifier_out": by_verifier[seed.VERIFIERS[2].name],
        }


async def _pending_account(
    client: AsyncTestClient[Litestar], app: Litestar, settings: Settings, world: World, sesame_id: str
) -> int:
    """A company account asked by the bicycle maker (attested) and left pending on ``sesame_id``."""
    from sesame import seed

    party = world.parties.get("bicycle_maker")
    if party is None:
        from sqlalchemy import select

        from sesame.accounts.models import Account as AccountRow
        from sesame.db import create_engine, create_sessionmaker

        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                row = (
                    await session.execute(
                        select(AccountRow).where(AccountRow.email == seed.COMPANIES[5].email)
                    )  # type: ignore[arg-type]
                ).scalar_one()
        finally:
            await engine.dispose()
        party = Party("bicycle_maker", row.id or 0, "company", row.email)
        world.parties["bicycle_maker"] = party
    token = world.tokens(app.state.keyring, settings)["bicycle_maker"]
    asked = _check(
        await client.post(
            f"/api/v1/sesames/{sesame_id}/company-accounts", headers={"Authorization": f"Bearer {token}"}
        )
    )
    return int(asked["id"])


def build_world(folder: Path, template: Path) -> World:
    """Seed a copy of the migrated ``template`` database in ``folder``: every role and every resource."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, folder / "sesame.db")
    world = World(folder=folder)
    asyncio.run(_build(world))
    return world
