"""The demo seed: valid identities, attestations with one deliberate gap, idempotent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from company_profiles import identifiers, services
from company_profiles.models import Attestation, Company
from company_profiles.schemas import VerificationState
from sesame import migrate, seed
from sesame.accounts.models import Account
from sesame.accounts.services import password_matches
from sesame.db import create_engine, create_sessionmaker
from sesame.keys import KeyRing
from sesame.settings import Settings
from tests.conftest import make_settings


def test_demo_identities_have_valid_check_digits() -> None:
    for company in seed.COMPANIES:
        registration = company.registration
        identifiers.validate_registration(
            registration["registration_scheme"], registration["registration_id"], country="FR"
        )
        identifiers.validate_nace(registration["sector"])
    assert len(seed.COMPANIES) >= 6 and len(seed.VERIFIERS) == 3 and len(seed.CITIZENS) == 3


def test_seed_demo_is_complete_and_idempotent(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    migrate.upgrade(settings)  # runs its own event loop, so the test is synchronous
    asyncio.run(_seed_and_check(settings))


async def _seed_and_check(settings: Settings) -> None:
    keys = KeyRing.for_settings(settings)
    engine = create_engine(settings)
    factory = create_sessionmaker(engine)
    try:
        logins = await seed.seed_demo(factory, keys, settings)
        assert logins.created and len(logins.company_ids) == len(seed.COMPANIES)
        rows = seed.login_rows(logins)
        assert {r[0] for r in rows} == {"admin", "verifier", "company", "citizen"}

        gaps = await seed.demo_gaps(factory, logins)
        assert gaps["torrefaction-occitane"] == ["tax_residence"]
        assert all(not g for slug, g in gaps.items() if slug != "torrefaction-occitane")

        async with factory() as session:
            azur = await services.public_profile(session, logins.company_ids["supermarches-cote-azur"])
            states = {v.key: v for v in azur.indicators}
            assert states["employee_satisfaction"].value == 64
            assert states["employee_satisfaction"].state is VerificationState.attested
            assert states["carbon_footprint_per_employee"].state is VerificationState.self_declared
            assert azur.version == 3
            durable = await services.public_profile(session, logins.company_ids["electromenager-durable"])
            assert {v.key: v.state for v in durable.indicators}[
                "gender_pay_index"
            ] is VerificationState.revoked
            for login in logins.all():
                account = await session.scalar(select(Account).where(Account.email == login.email))
                assert account is not None and account.kind == login.role
            admin = await session.scalar(select(Account).where(Account.email == logins.admin.email))
            assert admin is not None and password_matches(logins.admin.password, admin.password_hash)
            counts = (
                await session.scalar(select(func.count()).select_from(Company)),
                await session.scalar(select(func.count()).select_from(Attestation)),
            )

        again = await seed.seed_demo(factory, keys, settings)
        assert not again.created and again.company_ids == logins.company_ids
        async with factory() as session:
            assert counts == (
                await session.scalar(select(func.count()).select_from(Company)),
                await session.scalar(select(func.count()).select_from(Attestation)),
            )
    finally:
        await engine.dispose()
