"""Demo data for citizens among themselves: neighbours who recommend, zones shown and hidden, a shared dossier,
segments and an offer.

``seed_social`` runs after the platform's seed (``sesame.seed.seed_demo``): it uses the demo companies whose
mandatory indicators are attested and the demo citizens Camille Durand and Karim Benali when they exist, and
creates its own neighbours (``voisin.NN@demo.sesame.example``). Every step looks its data up first, so running
it twice changes nothing. The ledger must be configured (``seed_demo`` does it).

With k = 5, the zone portal then shows Paris (u09t: cells u09tv and u09tu) and Lyon (u05k, whose cell u05kq is
withheld by complementary suppression: its neighbour u05km has only 2 citizens), and hides Montmartre (u09wj,
2 citizens) and Marseille (spey6, 3 citizens).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from company_profiles import services as companies
from company_profiles.recommendations import services as recommendations
from company_profiles.recommendations.errors import RecommendationNotFound
from company_profiles.recommendations.schemas import Criteria, RecommendationIn
from sesame.accounts.models import Account
from sesame.accounts.services import create_account
from sesame.errors import Conflict
from sesame.models import utcnow
from sesame.settings import Settings
from vault import services as vault
from vault.sharing import services
from vault.sharing.models import Dossier, DossierShare, Offer
from vault.sharing.schemas import DossierEntryIn, DossierIn, OfferIn, SegmentsIn, ShareIn

__all__ = ["NEIGHBOURS", "SOCIAL_PASSWORD", "seed_social"]

log = logging.getLogger("sesame.demo")

#: The same password as the platform's demo citizens.
SOCIAL_PASSWORD = "sesame-citizen-demo"  # nosec B105  # the demo login `sesame demo` prints
DOSSIER_AUTHOR = "camille.durand@demo.sesame.example"
DOSSIER_RECIPIENT = "karim.benali@demo.sesame.example"
DOSSIER_TITLE = "Mes bonnes adresses — Croix-Rousse"
OFFER_TITLE = "Dégustation de cafés de saison"


@dataclass(frozen=True)
class Neighbour:
    name: str
    zone: str
    segments: tuple[str, ...]


def _neighbours() -> tuple[Neighbour, ...]:
    places = (
        ("u09tv", 7, "Paris, Châtelet"),
        ("u09tu", 6, "Paris 15e"),
        ("u09wj", 2, "Montmartre"),
        ("u05kq", 6, "Lyon, Presqu'île"),
        ("u05km", 2, "Lyon, Croix-Rousse"),
        ("spey6", 3, "Marseille"),
    )
    tastes = (("fine_food", "books"), ("fine_food", "fashion"), ("fine_food",), ("sport", "music"))
    out: list[Neighbour] = []
    for zone, count, place in places:
        for _ in range(count):
            n = len(out) + 1
            out.append(Neighbour(f"Voisin·e {n:02d} ({place})", zone, tastes[n % len(tastes)]))
    return tuple(out)


NEIGHBOURS = _neighbours()


def _email(n: int) -> str:
    return f"voisin.{n:02d}@demo.sesame.example"


async def _account_id(session: AsyncSession, email: str) -> int | None:
    found: int | None = await session.scalar(select(Account.id).where(col(Account.email) == email))
    return found


async def _ensure_citizen(factory: async_sessionmaker[AsyncSession], email: str, name: str) -> int:
    async with factory() as session:
        existing = await _account_id(session, email)
        if existing is not None:
            return existing
        account = await create_account(
            session, kind="citizen", email=email, password=SOCIAL_PASSWORD, display_name=name
        )
        return account.id or 0


async def _open_companies(factory: async_sessionmaker[AsyncSession]) -> list[tuple[int, int]]:
    """``(account_id, company_id)`` of the companies that may open accounts (mandatory indicators attested)."""
    out: list[tuple[int, int]] = []
    async with factory() as session:
        account_ids = list(
            await session.scalars(
                select(Account.id).where(col(Account.kind) == "company").order_by(col(Account.id))
            )
        )
        for account_id in account_ids:
            ref = await companies.company_for_account(session, account_id)
            if ref is not None and not await companies.mandatory_attestation_gaps(session, ref.id):
                out.append((account_id, ref.id))
    return out


async def _ensure_open(
    factory: async_sessionmaker[AsyncSession], company: tuple[int, int], citizen_id: int
) -> None:
    company_account, company_id = company
    async with factory() as session:
        sesame_id = await vault.sesame_id_for_account(session, citizen_id)
        if sesame_id is None or await vault.open_account_between(session, sesame_id, company_id):
            return
        try:
            requested = await vault.request_company_account(
                session, principal_id=company_account, sesame_id=sesame_id
            )
            pending = requested.id or 0
        except Conflict as exc:
            pending = int(exc.extra.get("account_id") or 0)
        await vault.decide_company_account(
            session, account_id=citizen_id, company_account_id=pending, action="accept"
        )


TEXTS = (
    "Accueil chaleureux, prix honnêtes.",
    "Très bon produit, service après-vente lent.",
    None,
    "Je recommande les yeux fermés.",
    None,
    "Un peu cher mais de qualité.",
)


async def _recommend(
    factory: async_sessionmaker[AsyncSession], citizen_id: int, company_id: int, n: int, zone: str
) -> None:
    data = RecommendationIn(
        recommend=n % 5 != 0,
        criteria=Criteria(
            financial=n % 3 != 0,
            ethical=True if n % 2 else None,
            quality=n % 4 != 1,
            commercial=None if n % 3 else False,
            service=n % 5 not in (0, 3),
        ),
        text=TEXTS[n % len(TEXTS)],
        zone=zone,
    )
    async with factory() as session:
        try:
            await recommendations.get_recommendation(session, citizen_id=citizen_id, company_id=company_id)
        except RecommendationNotFound:
            await recommendations.recommend(session, citizen_id=citizen_id, company_id=company_id, data=data)


async def _seed_dossier(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    author: int,
    recipient: int,
    company_ids: list[int],
) -> None:
    notes = (
        "Le meilleur pain du quartier, levain naturel.",
        "Bonne sélection, demander conseil au rayon vrac.",
        "Torréfient sur place le mardi : y aller le matin.",
    )
    async with factory() as session:
        exists = await session.scalar(
            select(Dossier.id).where(col(Dossier.owner_id) == author, col(Dossier.title) == DOSSIER_TITLE)
        )
        if exists is None:
            dossier = await services.create_dossier(
                session,
                owner_id=author,
                data=DossierIn(
                    title=DOSSIER_TITLE,
                    sector="commerces de bouche",
                    companies=[
                        DossierEntryIn(company_id=c, note=notes[i % len(notes)], recommend=i != 1)
                        for i, c in enumerate(company_ids[:3])
                    ],
                ),
                k=settings.k_anonymity,
            )
            dossier_id = dossier.id
        else:
            dossier_id = exists
        shared = await session.scalar(
            select(DossierShare.id).where(
                col(DossierShare.dossier_id) == dossier_id, col(DossierShare.recipient_id) == recipient
            )
        )
        if shared is None:
            recipient_sesame = await vault.sesame_id_for_account(session, recipient)
            if recipient_sesame is not None:
                await services.share_dossier(
                    session,
                    settings,
                    owner_id=author,
                    dossier_id=dossier_id,
                    data=ShareIn(sesame_id=recipient_sesame),
                )


async def seed_social(session_factory: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """Neighbours, their accounts and recommendations, segments, a shared dossier and one offer (idempotent)."""
    eligible = await _open_companies(session_factory)
    if not eligible:
        log.warning("no demo company has its mandatory indicators attested: social demo data skipped")
        return
    hub = eligible[0]
    others = eligible[1:] or eligible
    citizen_ids: list[int] = []
    for n, neighbour in enumerate(NEIGHBOURS, start=1):
        citizen_id = await _ensure_citizen(session_factory, _email(n), neighbour.name)
        citizen_ids.append(citizen_id)
        second = others[n % len(others)]
        for company in (hub, second):
            await _ensure_open(session_factory, company, citizen_id)
            await _recommend(session_factory, citizen_id, company[1], n, neighbour.zone)
        async with session_factory() as session:
            await services.set_segments(
                session,
                citizen_id=citizen_id,
                data=SegmentsIn(segments=list(neighbour.segments), zone=neighbour.zone),
            )
    # One neighbour does not want the hub's offers.
    async with session_factory() as session:
        await services.mute_company(session, citizen_id=citizen_ids[0], company_id=hub[1])

    async with session_factory() as session:
        author = await _account_id(session, DOSSIER_AUTHOR)
        recipient = await _account_id(session, DOSSIER_RECIPIENT)
    if author is None or recipient is None:  # the platform's demo citizens are absent: two neighbours instead
        author, recipient = citizen_ids[0], citizen_ids[1]
    await _seed_dossier(session_factory, settings, author, recipient, [c for _, c in eligible])

    async with session_factory() as session:
        sent = await session.scalar(
            select(Offer.id).where(col(Offer.company_id) == hub[1], col(Offer.title) == OFFER_TITLE)
        )
        if sent is None:
            report = await services.send_offer(
                session,
                principal_id=hub[0],
                data=OfferIn(
                    segment="fine_food",
                    title=OFFER_TITLE,
                    body="Samedi de 10 h à 13 h, trois origines à goûter. Sur présentation de votre Sésame.",
                    valid_until=utcnow() + timedelta(days=30),
                ),
                k=settings.k_anonymity,
            )
            log.info("demo offer delivered: %s", report.delivery.text)
