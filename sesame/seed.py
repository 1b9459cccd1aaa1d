"""Demo data for ``sesame demo``: companies with realistic French identities, verifiers, attestations, citizens.

Every step is idempotent (it looks its data up by email before creating it), so running the seed twice changes
nothing, and a seed interrupted half-way completes on the next run. The admin account is created last: its
presence means the whole seed ran. The identities are fictional; SIREN, SIRET, VAT and LEI numbers are built
with correct check digits, and sectors are real NACE rev. 2 classes.

Other parts of the demo (products, citizens' vault fields...) add their own ``seed_*`` step to ``seed_demo``.

Example::

    logins = await seed_demo(create_sessionmaker(engine), keys, settings)
    for role, who, email, password in login_rows(logins):
        print(role, who, email, password)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select
from stdnum import luhn
from stdnum.iso7064 import mod_97_10

from company_profiles import services as companies
from company_profiles.schemas import (
    AttestationRequest,
    CivilStatusFiling,
    CompanyRegistration,
    IndicatorInput,
)
from sesame import transparency, wiring
from sesame.accounts.models import Account
from sesame.accounts.services import create_account
from sesame.keys import KeyRing
from sesame.settings import Settings

__all__ = [
    "CITIZENS",
    "COMPANIES",
    "VERIFIERS",
    "DemoLogins",
    "Login",
    "login_rows",
    "seed_demo",
]

# Demo passwords, printed by ``sesame demo``: one per role, never used outside the demo database.
ADMIN_PASSWORD = "sesame-admin-demo"  # a public demo login, printed by sesame demo  # nosec B105
COMPANY_PASSWORD = "sesame-company-demo"  # a public demo login, printed by sesame demo  # nosec B105
VERIFIER_PASSWORD = "sesame-verifier-demo"  # a public demo login, printed by sesame demo  # nosec B105
CITIZEN_PASSWORD = "sesame-citizen-demo"  # a public demo login, printed by sesame demo  # nosec B105
ADMIN_EMAIL = "admin@demo.sesame.example"


# -- identifiers with correct check digits --------------------------------------------------------------------------
def siren(body: str) -> str:
    """Eight digits and their Luhn check digit."""
    return body + luhn.calc_check_digit(body)


def siret(siren_number: str, establishment: str) -> str:
    """A SIREN, a four-digit establishment number (NIC) and the Luhn check digit of the fourteen."""
    digits = siren_number + establishment
    return digits + luhn.calc_check_digit(digits)


def vat_fr(siren_number: str) -> str:
    """French intra-EU VAT number: FR, a two-digit key (12 + 3 × (SIREN mod 97)) mod 97, the SIREN."""
    return f"FR{(12 + 3 * (int(siren_number) % 97)) % 97:02d}{siren_number}"


def lei(prefix: str) -> str:
    """ISO 17442: eighteen characters and their ISO 7064 MOD 97-10 check digits."""
    return prefix + mod_97_10.calc_check_digits(prefix)


# -- the cast -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoVerifier:
    slug: str
    name: str
    email: str
    scope: tuple[str, ...]


VERIFIERS: tuple[DemoVerifier, ...] = (
    DemoVerifier(
        slug="registry",
        name="Registre national des entreprises (démo)",
        email="registre@demo.sesame.example",
        scope=(
            "legal_name",
            "registration_id",
            "founding_date",
            "registered_address",
            "nace_sector",
            "headcount",
        ),
    ),
    DemoVerifier(
        slug="tax",
        name="Service des impôts des entreprises (démo)",
        email="impots@demo.sesame.example",
        scope=("tax_residence", "registration_id"),
    ),
    DemoVerifier(
        slug="survey",
        name="Institut Baromètre Social (démo)",
        email="barometre@demo.sesame.example",
        scope=("employee_satisfaction", "gender_pay_index", "staff_turnover", "women_in_management_share"),
    ),
)


@dataclass(frozen=True)
class DemoCompany:
    slug: str
    email: str
    registration: dict[str, str]
    #: Civil-status filings after version 1, in order: indicator key → value or ``{value, period, source...}``.
    filings: tuple[dict[str, Any], ...] = ()
    #: Indicators a verifier attests on the current version (the verifier is the first one trusted for it).
    attested: tuple[str, ...] = ()
    #: Indicators attested and then revoked, to show the ``revoked`` state.
    revoked: tuple[str, ...] = ()


MANDATORY = (
    "legal_name",
    "registration_id",
    "founding_date",
    "tax_residence",
    "registered_address",
    "nace_sector",
)
_ALL_BUT_TAX = tuple(k for k in MANDATORY if k != "tax_residence")

_SIREN_BOULANGERIE = siren("83245610")
_SIREN_SUPERMARCHES = siren("31872459")
_SIREN_TEXTILE = siren("45710293")
_SIREN_LIBRAIRIE = siren("44813976")
_SIREN_CYCLES = siren("81209347")
_SIREN_TORREFACTION = siren("40291635")

COMPANIES: tuple[DemoCompany, ...] = (
    DemoCompany(
        slug="boulangerie-martin",
        email="contact@boulangerie-martin.demo.sesame.example",
        registration={
            "legal_name": "Boulangerie Martin & Fils SARL",
            "registration_scheme": "siren",
            "registration_id": _SIREN_BOULANGERIE,
            "founding_date": "1987-09-14",
            "sector": "10.71",
            "registered_address": "14 rue Mercière, 69002 Lyon",
        },
        filings=(
            {
                "headcount": 14,
                "employee_satisfaction": {
                    "value": 82,
                    "period": "2024",
                    "source": "Enquête Baromètre Social 2024",
                },
                "local_production_share": 95,
                "carbon_footprint_per_employee": {"value": 3.2, "period": "2023"},
                "training_hours_per_employee": 21,
            },
        ),
        attested=(*MANDATORY, "headcount", "employee_satisfaction"),
    ),
    DemoCompany(
        slug="supermarches-cote-azur",
        email="rse@supermarches-cote-azur.demo.sesame.example",
        registration={
            "legal_name": "Supermarchés Côte d'Azur SAS",
            "registration_scheme": "siren",
            "registration_id": _SIREN_SUPERMARCHES,
            "founding_date": "1972-05-02",
            "sector": "47.11",
            "registered_address": "215 avenue de la Californie, 06200 Nice",
        },
        filings=(
            {
                "headcount": 652,
                "employee_satisfaction": {"value": 61, "period": "2023", "source": "Baromètre interne 2023"},
            },
            {
                "headcount": 640,
                "employee_satisfaction": {"value": 64, "period": "2024", "source": "Baromètre Social 2024"},
                "carbon_footprint_per_employee": {"value": 5.4, "period": "2023"},
                "after_sales_staff_share": 6,
                "gender_pay_index": {"value": 84, "period": "2024"},
                "local_production_share": 38,
                "supplier_payment_days": 42,
                "women_in_management_share": 41,
            },
        ),
        attested=(*MANDATORY, "headcount", "employee_satisfaction", "gender_pay_index"),
    ),
    DemoCompany(
        slug="atelier-textile-nord",
        email="direction@atelier-textile-nord.demo.sesame.example",
        registration={
            "legal_name": "Atelier Textile du Nord SAS",
            "registration_scheme": "vat",
            "registration_id": vat_fr(_SIREN_TEXTILE),
            "founding_date": "1921-03-01",
            "sector": "14.13",
            "registered_address": "37 rue de l'Épeule, 59100 Roubaix",
        },
        filings=(
            {
                "headcount": 85,
                "employee_satisfaction": {"value": 71, "period": "2024"},
                "local_production_share": 88,
                "gender_pay_index": {"value": 91, "period": "2024"},
                "renewable_energy_share": 60,
            },
        ),
        attested=(*MANDATORY, "gender_pay_index"),
    ),
    DemoCompany(
        slug="electromenager-durable",
        email="contact@electromenager-durable.demo.sesame.example",
        registration={
            "legal_name": "Électroménager Durable SA",
            "registration_scheme": "lei",
            "registration_id": lei("969500EDURABLE7X2K"),
            "founding_date": "1958-10-20",
            "sector": "27.51",
            "registered_address": "8 cours Berriat, 38000 Grenoble",
        },
        filings=(
            {
                "headcount": 1200,
                "employee_satisfaction": {"value": 69, "period": "2024", "source": "Baromètre Social 2024"},
                "after_sales_staff_share": 18,
                "carbon_footprint_per_employee": {"value": 6.8, "period": "2023"},
                "gender_pay_index": {"value": 88, "period": "2024"},
                "pay_ratio": 12.5,
            },
        ),
        attested=(*MANDATORY, "headcount", "employee_satisfaction"),
        revoked=("gender_pay_index",),
    ),
    DemoCompany(
        slug="librairie-deux-rives",
        email="bonjour@librairie-deux-rives.demo.sesame.example",
        registration={
            "legal_name": "Librairie des Deux Rives SCOP",
            "registration_scheme": "siren",
            "registration_id": _SIREN_LIBRAIRIE,
            "founding_date": "2004-02-11",
            "sector": "47.61",
            "registered_address": "22 quai des Chartrons, 33000 Bordeaux",
        },
        filings=(
            {
                "headcount": 9,
                "employee_satisfaction": {"value": 88, "period": "2024"},
                "pay_ratio": 1.6,
                "staff_turnover": 8,
                "women_in_management_share": 67,
            },
        ),
        attested=(*MANDATORY, "employee_satisfaction", "staff_turnover"),
    ),
    DemoCompany(
        slug="cycles-armor",
        email="atelier@cycles-armor.demo.sesame.example",
        registration={
            "legal_name": "Cycles Armor SAS",
            "registration_scheme": "siret",
            "registration_id": siret(_SIREN_CYCLES, "0002"),
            "founding_date": "2015-06-01",
            "sector": "30.92",
            "registered_address": "5 rue de Lorient, 35000 Rennes",
        },
        filings=(
            {
                "headcount": 42,
                "employee_satisfaction": {"value": 77, "period": "2024"},
                "local_production_share": 70,
                "after_sales_staff_share": 21,
                "carbon_footprint_per_employee": {"value": 2.3, "period": "2023"},
            },
        ),
        attested=(*MANDATORY, "employee_satisfaction"),
    ),
    # The tax office has not attested this one's tax residence yet: opening an account on a Sésame is refused.
    DemoCompany(
        slug="torrefaction-occitane",
        email="contact@torrefaction-occitane.demo.sesame.example",
        registration={
            "legal_name": "Torréfaction Occitane SARL",
            "registration_scheme": "siren",
            "registration_id": _SIREN_TORREFACTION,
            "founding_date": "1995-11-30",
            "sector": "10.83",
            "registered_address": "9 rue de l'Aiguillerie, 34000 Montpellier",
        },
        filings=(
            {
                "headcount": 23,
                "employee_satisfaction": {"value": 58, "period": "2024"},
                "carbon_footprint_per_employee": {"value": 4.9, "period": "2023"},
                "local_production_share": 12,
            },
        ),
        attested=_ALL_BUT_TAX,
    ),
)


@dataclass(frozen=True)
class DemoCitizen:
    name: str
    email: str


CITIZENS: tuple[DemoCitizen, ...] = (
    DemoCitizen("Camille Durand", "camille.durand@demo.sesame.example"),
    DemoCitizen("Karim Benali", "karim.benali@demo.sesame.example"),
    DemoCitizen("Léa Moreau", "lea.moreau@demo.sesame.example"),
)


# -- logins ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Login:
    role: str
    who: str
    email: str
    password: str


@dataclass
class DemoLogins:
    """Who can log in to the demo; ``created`` is False when the seed had already run."""

    admin: Login
    companies: list[Login] = field(default_factory=list)
    verifiers: list[Login] = field(default_factory=list)
    citizens: list[Login] = field(default_factory=list)
    #: Company id by company slug (for steps added later: products, accounts on Sésames...).
    company_ids: dict[str, int] = field(default_factory=dict)
    created: bool = True

    def all(self) -> list[Login]:
        return [self.admin, *self.verifiers, *self.companies, *self.citizens]


def login_rows(logins: DemoLogins) -> list[tuple[str, str, str, str]]:
    """``(role, who, email, password)`` rows, for printing."""
    return [(login.role, login.who, login.email, login.password) for login in logins.all()]


# -- steps ----------------------------------------------------------------------------------------------------------
async def _account_id(session: AsyncSession, email: str) -> int | None:
    found: int | None = await session.scalar(select(Account.id).where(col(Account.email) == email))
    return found


async def _ensure_account(
    factory: async_sessionmaker[AsyncSession], *, kind: str, email: str, password: str, name: str
) -> tuple[int, bool]:
    """The account's id, creating it if needed; the flag says whether it was created now."""
    async with factory() as session:
        existing = await _account_id(session, email)
        if existing is not None:
            return existing, False
        account = await create_account(session, kind=kind, email=email, password=password, display_name=name)
        return account.id or 0, True


async def seed_verifiers(factory: async_sessionmaker[AsyncSession], keys: KeyRing) -> dict[str, int]:
    """The three demo verifiers; returns their account ids by slug."""
    ids: dict[str, int] = {}
    for verifier in VERIFIERS:
        account_id, _ = await _ensure_account(
            factory, kind="verifier", email=verifier.email, password=VERIFIER_PASSWORD, name=verifier.name
        )
        async with factory() as session:
            known = {v.name for v in await companies.list_verifiers(session)}
            if verifier.name not in known:
                await companies.register_verifier(
                    session, account_id=account_id, name=verifier.name, scope=list(verifier.scope), keys=keys
                )
        ids[verifier.slug] = account_id
    return ids


def _filing(indicators: dict[str, Any]) -> CivilStatusFiling:
    given: dict[str, IndicatorInput] = {}
    for key, spec in indicators.items():
        given[key] = IndicatorInput(**spec) if isinstance(spec, dict) else IndicatorInput(value=spec)
    return CivilStatusFiling(indicators=given)


async def seed_companies(factory: async_sessionmaker[AsyncSession]) -> dict[str, tuple[int, int]]:
    """Register the demo companies and file their versions; returns ``(account_id, company_id)`` by slug."""
    out: dict[str, tuple[int, int]] = {}
    for company in COMPANIES:
        account_id, _ = await _ensure_account(
            factory,
            kind="company",
            email=company.email,
            password=COMPANY_PASSWORD,
            name=company.registration["legal_name"],
        )
        async with factory() as session:
            ref = await companies.company_for_account(session, account_id)
            if ref is None:
                registered = await companies.register_company(
                    session,
                    account_id=account_id,
                    registration=CompanyRegistration(
                        country="FR", tax_residence="FR", **company.registration
                    ),
                )
                for indicators in company.filings:
                    await companies.file_civil_status(
                        session, company_id=registered.id, account_id=account_id, filing=_filing(indicators)
                    )
                company_id = registered.id
            else:
                company_id = ref.id
        out[company.slug] = (account_id, company_id)
    return out


def _verifier_for(key: str, verifiers: dict[str, int]) -> int:
    for verifier in VERIFIERS:
        if key in verifier.scope:
            return verifiers[verifier.slug]
    raise LookupError(f"no demo verifier is trusted for {key}")


async def seed_attestations(
    factory: async_sessionmaker[AsyncSession],
    keys: KeyRing,
    verifiers: dict[str, int],
    company_accounts: dict[str, tuple[int, int]],
) -> None:
    """Attest each company's listed indicators on its current version (skipping ones already attested)."""
    for company in COMPANIES:
        _, company_id = company_accounts[company.slug]
        async with factory() as session:
            profile = await companies.public_profile(session, company_id)
            views = {v.key: v for v in profile.indicators}
            already = {a.indicator for a in await companies.company_attestations(session, company_id)}
            for key in (*company.attested, *company.revoked):
                view = views[key]
                if key in already or not view.disclosed or view.value is None:
                    continue
                verifier_account = _verifier_for(key, verifiers)
                attestation = await companies.issue_attestation(
                    session,
                    keys,
                    company_id=company_id,
                    account_id=verifier_account,
                    request=AttestationRequest(indicator=key, value=view.value),
                )
                if key in company.revoked:
                    await companies.revoke_attestation(
                        session,
                        attestation_id=attestation.id,
                        account_id=verifier_account,
                        reason="index recomputed after an audit",
                    )


async def seed_citizens(factory: async_sessionmaker[AsyncSession]) -> list[Login]:
    logins: list[Login] = []
    for citizen in CITIZENS:
        await _ensure_account(
            factory, kind="citizen", email=citizen.email, password=CITIZEN_PASSWORD, name=citizen.name
        )
        logins.append(Login("citizen", citizen.name, citizen.email, CITIZEN_PASSWORD))
    return logins


def _ensure_ledger(keys: KeyRing, settings: Settings) -> None:
    try:
        transparency.get()
    except transparency.LedgerNotConfigured:
        transparency.configure(keys=keys, origin=settings.ledger_origin)


async def seed_demo(
    session_factory: async_sessionmaker[AsyncSession], keys: KeyRing, settings: Settings
) -> DemoLogins:
    """Create the demo data once; a second run creates nothing and returns the same logins."""
    wiring.install()
    _ensure_ledger(keys, settings)
    logins = DemoLogins(
        admin=Login("admin", "Administrateur", ADMIN_EMAIL, ADMIN_PASSWORD),
        verifiers=[Login("verifier", v.name, v.email, VERIFIER_PASSWORD) for v in VERIFIERS],
        companies=[
            Login("company", c.registration["legal_name"], c.email, COMPANY_PASSWORD) for c in COMPANIES
        ],
        citizens=[Login("citizen", c.name, c.email, CITIZEN_PASSWORD) for c in CITIZENS],
    )
    async with session_factory() as session:
        done = await _account_id(session, ADMIN_EMAIL) is not None
    if done:
        logins.created = False
        async with session_factory() as session:
            for company in COMPANIES:
                account_id = await _account_id(session, company.email)
                ref = await companies.company_for_account(session, account_id) if account_id else None
                if ref is not None:
                    logins.company_ids[company.slug] = ref.id
        return logins

    verifiers = await seed_verifiers(session_factory, keys)
    company_accounts = await seed_companies(session_factory)
    await seed_attestations(session_factory, keys, verifiers, company_accounts)
    await seed_citizens(session_factory)
    # Last: the admin account marks a complete seed.
    await _ensure_account(
        session_factory, kind="admin", email=ADMIN_EMAIL, password=ADMIN_PASSWORD, name="Admin"
    )
    logins.company_ids = {slug: company_id for slug, (_, company_id) in company_accounts.items()}
    return logins


async def demo_gaps(
    session_factory: async_sessionmaker[AsyncSession], logins: DemoLogins
) -> dict[str, list[str]]:
    """Mandatory indicators still unattested, by company slug (the demo keeps one company with a gap)."""
    out: dict[str, list[str]] = {}
    async with session_factory() as session:
        for slug, company_id in logins.company_ids.items():
            out[slug] = await companies.mandatory_attestation_gaps(session, company_id)
    return out
