"""Dossiers and their shares, interest segments and offers. No HTTP here; every write commits once.

Dossiers. A citizen's dossier is theirs alone: every read and write filters on the owner, so another citizen's
dossier is a 404 like an absent one. A share points at the live dossier (the author's later edits show, a
revocation or a deletion ends it); the recipient sees each company's *current* public profile and
recommendation summary, never a stale copy, and may import a copy into their own dossiers. A link share's
token is 256 random bits shown once; only its SHA-256 is stored.

Offers. An offer reaches exactly the citizens who (1) opted into its segment, (2) have an open account of the
company on their Sésame, (3) have not muted the company and (4), for an offer with a zone, stated an offers
zone inside it. The company learns one number, the delivered count, and not even that when it is below k
(``settings.k_anonymity``). Repeated offers are a differencing tool ("fashion in u09" minus "fashion in u09t"),
so the count is also withheld when the audience differs from one of the company's recent offers' by fewer
than k citizens (``OFFER_LOOKBACK`` offers, pairwise; combinations of three or more offers are not audited).
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import segno
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from company_profiles import services as companies
from company_profiles.errors import CompanyNotFound
from company_profiles.recommendations import services as recommendations
from sesame.accounts.services import get_account
from sesame.db import MAX_ID
from sesame.errors import FieldError, InvalidInput
from sesame.models import utcnow
from sesame.settings import Settings
from vault import services as vault
from vault.sharing.errors import DossierNotFound, NoCompany, OfferNotFound, RecipientNotFound, ShareNotFound
from vault.sharing.models import (
    CompanyMute,
    Dossier,
    DossierEntry,
    DossierShare,
    Offer,
    OfferDelivery,
    OfferPreference,
    SegmentOptIn,
)
from vault.sharing.schemas import (
    DeliveryReport,
    DossierEntryIn,
    DossierEntryOut,
    DossierIn,
    DossierOut,
    DossierSummary,
    OfferIn,
    OfferOut,
    ReceivedOffer,
    ReceivedShare,
    SegmentOut,
    SegmentsIn,
    SegmentsOut,
    ShareCreated,
    SharedDossier,
    ShareIn,
    ShareOut,
)
from vault.sharing.segments import SEGMENTS, is_segment

__all__ = [
    "company_offer",
    "company_offers",
    "create_dossier",
    "delete_dossier",
    "dismiss_offer",
    "forget_citizen",
    "get_dossier",
    "get_segments",
    "import_shared",
    "list_dossiers",
    "list_shares",
    "mute_company",
    "received_offers",
    "received_shares",
    "replace_dossier",
    "revoke_share",
    "segment_catalogue",
    "send_offer",
    "set_segments",
    "share_dossier",
    "share_qr_svg",
    "shared_dossier",
    "unmute_company",
]

LINK_DEFAULT_HOURS = 168
OFFER_MAX_DAYS = 366
#: Earlier offers of the same company an audience is compared with (differencing).
OFFER_LOOKBACK = 50


# -- small helpers -----------------------------------------------------------------------------------------------
def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def _clean(value: str | None, field: str, errors: list[FieldError], *, multiline: bool = False) -> str | None:
    """NFC, no control characters (newlines allowed in ``multiline`` text), trimmed; None when empty."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", value)
    if multiline:
        text = "\n".join(" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")).strip()
    else:
        text = " ".join(text.split())
    allowed = {"\n"} if multiline else set()
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") and c not in allowed for c in text):
        errors.append(FieldError(field, "must not contain control characters"))
        return None
    return text or None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- dossiers ------------------------------------------------------------------------------------------------------
async def _own_dossier(session: AsyncSession, owner_id: int, dossier_id: int) -> Dossier:
    dossier = await session.get(Dossier, dossier_id) if _valid_id(dossier_id) else None
    if dossier is None or dossier.owner_id != owner_id:
        raise DossierNotFound()
    return dossier


async def _entries(session: AsyncSession, dossier_id: int) -> list[DossierEntry]:
    rows = await session.scalars(
        select(DossierEntry)
        .where(col(DossierEntry.dossier_id) == dossier_id)
        .order_by(col(DossierEntry.position), col(DossierEntry.id))
    )
    return list(rows)


async def _validated(session: AsyncSession, data: DossierIn) -> tuple[str, str | None, list[DossierEntryIn]]:
    errors: list[FieldError] = []
    title = _clean(data.title, "body.title", errors)
    if title is None and not errors:
        errors.append(FieldError("body.title", "must not be blank"))
    sector = _clean(data.sector, "body.sector", errors)
    seen: set[int] = set()
    entries: list[DossierEntryIn] = []
    for i, entry in enumerate(data.companies):
        where = f"body.companies[{i}]"
        if entry.company_id in seen:
            errors.append(FieldError(f"{where}.company_id", "this company is already in the dossier"))
            continue
        seen.add(entry.company_id)
        if not await companies.company_exists(session, entry.company_id):
            errors.append(FieldError(f"{where}.company_id", "no such company"))
            continue
        note = _clean(entry.note, f"{where}.note", errors, multiline=True)
        entries.append(DossierEntryIn(company_id=entry.company_id, note=note, recommend=entry.recommend))
    if errors:
        raise InvalidInput(errors)
    assert title is not None
    return title, sector, entries


async def _company_view(
    session: AsyncSession, company_id: int, k: int | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    try:
        profile = await companies.public_profile(session, company_id)
        summary = await recommendations.recommendation_summary(session, company_id, k=k)
    except CompanyNotFound:
        return None, None
    return profile.model_dump(mode="json"), summary.model_dump(mode="json")


async def _entries_out(
    session: AsyncSession, entries: Sequence[DossierEntry], *, k: int | None, with_profiles: bool = True
) -> list[DossierEntryOut]:
    out = []
    for entry in entries:
        company, summary = (
            await _company_view(session, entry.company_id, k) if with_profiles else (None, None)
        )
        out.append(
            DossierEntryOut(
                company_id=entry.company_id,
                note=entry.note,
                recommend=entry.recommend,
                company=company,
                recommendations=summary,
            )
        )
    return out


async def _dossier_out(session: AsyncSession, dossier: Dossier, *, k: int | None) -> DossierOut:
    assert dossier.id is not None
    return DossierOut(
        id=dossier.id,
        title=dossier.title,
        sector=dossier.sector,
        created_at=_aware(dossier.created_at),
        updated_at=_aware(dossier.updated_at),
        companies=await _entries_out(session, await _entries(session, dossier.id), k=k),
    )


def _add_entries(session: AsyncSession, dossier_id: int, entries: Sequence[DossierEntryIn]) -> None:
    for position, entry in enumerate(entries):
        session.add(
            DossierEntry(
                dossier_id=dossier_id,
                company_id=entry.company_id,
                position=position,
                note=entry.note,
                recommend=entry.recommend,
            )
        )


async def create_dossier(
    session: AsyncSession,
    *,
    owner_id: int,
    data: DossierIn,
    k: int | None = None,
    now: datetime | None = None,
) -> DossierOut:
    now = now or utcnow()
    title, sector, entries = await _validated(session, data)
    dossier = Dossier(owner_id=owner_id, title=title, sector=sector, created_at=now, updated_at=now)
    session.add(dossier)
    await session.flush()
    assert dossier.id is not None
    _add_entries(session, dossier.id, entries)
    await session.commit()
    return await _dossier_out(session, dossier, k=k)


async def list_dossiers(session: AsyncSession, *, owner_id: int) -> list[DossierSummary]:
    counts = (
        select(DossierEntry.dossier_id, func.count().label("n"))
        .group_by(col(DossierEntry.dossier_id))
        .subquery()
    )
    rows = await session.execute(
        select(Dossier, counts.c.n)
        .outerjoin(counts, counts.c.dossier_id == col(Dossier.id))
        .where(col(Dossier.owner_id) == owner_id)
        .order_by(col(Dossier.updated_at).desc(), col(Dossier.id))
    )
    return [
        DossierSummary(
            id=d.id or 0,
            title=d.title,
            sector=d.sector,
            companies=int(n or 0),
            created_at=_aware(d.created_at),
            updated_at=_aware(d.updated_at),
        )
        for d, n in rows.all()
    ]


async def get_dossier(
    session: AsyncSession, *, owner_id: int, dossier_id: int, k: int | None = None
) -> DossierOut:
    return await _dossier_out(session, await _own_dossier(session, owner_id, dossier_id), k=k)


async def replace_dossier(
    session: AsyncSession,
    *,
    owner_id: int,
    dossier_id: int,
    data: DossierIn,
    k: int | None = None,
    now: datetime | None = None,
) -> DossierOut:
    """Replace title, sector and companies (notes and flags) at once."""
    now = now or utcnow()
    dossier = await _own_dossier(session, owner_id, dossier_id)
    title, sector, entries = await _validated(session, data)
    await session.execute(delete(DossierEntry).where(col(DossierEntry.dossier_id) == dossier_id))
    dossier.title, dossier.sector, dossier.updated_at = title, sector, now
    session.add(dossier)
    _add_entries(session, dossier_id, entries)
    await session.commit()
    return await _dossier_out(session, dossier, k=k)


async def delete_dossier(session: AsyncSession, *, owner_id: int, dossier_id: int) -> None:
    """Delete a dossier, its companies and every share of it (shared links stop working)."""
    await _own_dossier(session, owner_id, dossier_id)
    await session.execute(delete(DossierShare).where(col(DossierShare.dossier_id) == dossier_id))
    await session.execute(delete(DossierEntry).where(col(DossierEntry.dossier_id) == dossier_id))
    await session.execute(delete(Dossier).where(col(Dossier.id) == dossier_id))
    await session.commit()


# -- shares --------------------------------------------------------------------------------------------------------
def _live(share: DossierShare, now: datetime) -> bool:
    return share.revoked_at is None and (share.expires_at is None or _aware(share.expires_at) > now)


def _share_out(share: DossierShare, now: datetime) -> ShareOut:
    return ShareOut(
        id=share.id or 0,
        dossier_id=share.dossier_id,
        kind="link" if share.token_hash else "citizen",
        recipient_sesame_id=share.recipient_sesame_id,
        created_at=_aware(share.created_at),
        expires_at=_aware(share.expires_at) if share.expires_at else None,
        revoked=share.revoked_at is not None,
        expired=share.expires_at is not None and _aware(share.expires_at) <= now,
    )


def share_url(settings: Settings, token: str) -> str:
    """The link a person opens (and its QR code carries): the web page of the shared dossier. JSON clients
    read the same dossier at ``/api/v1/shared-dossiers/{token}``."""
    return f"{settings.public_url}/shared/{token}"


async def share_dossier(
    session: AsyncSession,
    settings: Settings,
    *,
    owner_id: int,
    dossier_id: int,
    data: ShareIn,
    now: datetime | None = None,
) -> ShareCreated:
    """Share with a citizen by ``sesame_id``, or by a link that expires (its token is returned this once)."""
    now = now or utcnow()
    await _own_dossier(session, owner_id, dossier_id)
    hours = data.expires_in_hours
    share = DossierShare(dossier_id=dossier_id, created_at=now)
    token: str | None = None
    if data.sesame_id is not None:
        recipient = await vault.vault_for_sesame_id(session, data.sesame_id.strip())
        if recipient is None:
            raise RecipientNotFound()
        if recipient.account_id == owner_id:
            raise InvalidInput.one("body.sesame_id", "this is your own Sésame")
        share.recipient_id = recipient.account_id
        share.recipient_sesame_id = recipient.sesame_id
    else:
        token = secrets.token_urlsafe(32)
        share.token_hash = token_hash(token)
        hours = hours or LINK_DEFAULT_HOURS
    share.expires_at = now + timedelta(hours=hours) if hours else None
    session.add(share)
    await session.commit()
    out = ShareCreated(**_share_out(share, now).model_dump())
    if token is not None:
        out.token = token
        out.url = share_url(settings, token)
        out.qr_svg_url = f"{settings.public_url}/api/v1/shared-dossiers/{token}/qr.svg"
    return out


async def list_shares(
    session: AsyncSession, *, owner_id: int, dossier_id: int, now: datetime | None = None
) -> list[ShareOut]:
    now = now or utcnow()
    await _own_dossier(session, owner_id, dossier_id)
    rows = await session.scalars(
        select(DossierShare).where(col(DossierShare.dossier_id) == dossier_id).order_by(col(DossierShare.id))
    )
    return [_share_out(s, now) for s in rows]


async def revoke_share(
    session: AsyncSession, *, owner_id: int, dossier_id: int, share_id: int, now: datetime | None = None
) -> None:
    """End a share at once; the recipient and the link then get 404. Revoking twice is harmless."""
    now = now or utcnow()
    await _own_dossier(session, owner_id, dossier_id)
    share = await session.get(DossierShare, share_id) if _valid_id(share_id) else None
    if share is None or share.dossier_id != dossier_id:
        raise ShareNotFound()
    if share.revoked_at is None:
        share.revoked_at = now
        session.add(share)
        await session.commit()


async def _share_for(
    session: AsyncSession,
    *,
    viewer_id: int,
    share_id: int | None = None,
    token: str | None = None,
    now: datetime,
) -> tuple[DossierShare, Dossier]:
    """A live share the viewer may open: addressed to them (``share_id``) or held as a link (``token``)."""
    share: DossierShare | None = None
    if token is not None:
        if 16 <= len(token) <= 100:
            share = await session.scalar(
                select(DossierShare).where(col(DossierShare.token_hash) == token_hash(token))
            )
    elif share_id is not None and _valid_id(share_id):
        share = await session.get(DossierShare, share_id)
        if share is not None and share.recipient_id != viewer_id:
            share = None
    if share is None or not _live(share, now):
        raise ShareNotFound()
    dossier = await session.get(Dossier, share.dossier_id)
    if dossier is None:
        raise ShareNotFound()
    return share, dossier


async def _author(session: AsyncSession, owner_id: int) -> str | None:
    account = await get_account(session, owner_id)
    return account.display_name if account is not None and account.active else None


async def received_shares(
    session: AsyncSession, *, recipient_id: int, now: datetime | None = None
) -> list[ReceivedShare]:
    """Dossiers shared with me by sesame_id, still live."""
    now = now or utcnow()
    rows = await session.execute(
        select(DossierShare, Dossier)
        .join(Dossier, col(Dossier.id) == col(DossierShare.dossier_id))
        .where(col(DossierShare.recipient_id) == recipient_id, col(DossierShare.revoked_at).is_(None))
        .order_by(col(DossierShare.created_at).desc(), col(DossierShare.id))
    )
    out = []
    for share, dossier in rows.all():
        if not _live(share, now):
            continue
        out.append(
            ReceivedShare(
                share_id=share.id or 0,
                title=dossier.title,
                sector=dossier.sector,
                author=await _author(session, dossier.owner_id),
                companies=len(await _entries(session, dossier.id or 0)),
                shared_at=_aware(share.created_at),
                expires_at=_aware(share.expires_at) if share.expires_at else None,
            )
        )
    return out


async def shared_dossier(
    session: AsyncSession,
    *,
    viewer_id: int,
    share_id: int | None = None,
    token: str | None = None,
    k: int | None = None,
    now: datetime | None = None,
) -> SharedDossier:
    """The shared dossier with each company's current profile and recommendation summary."""
    now = now or utcnow()
    share, dossier = await _share_for(session, viewer_id=viewer_id, share_id=share_id, token=token, now=now)
    return SharedDossier(
        share_id=share.id or 0,
        title=dossier.title,
        sector=dossier.sector,
        author=await _author(session, dossier.owner_id),
        shared_at=_aware(share.created_at),
        expires_at=_aware(share.expires_at) if share.expires_at else None,
        updated_at=_aware(dossier.updated_at),
        companies=await _entries_out(session, await _entries(session, dossier.id or 0), k=k),
    )


async def import_shared(
    session: AsyncSession,
    *,
    viewer_id: int,
    share_id: int | None = None,
    token: str | None = None,
    k: int | None = None,
    now: datetime | None = None,
) -> DossierOut:
    """Copy a shared dossier (title, sector, companies, notes, flags) into the viewer's own dossiers."""
    now = now or utcnow()
    _, source = await _share_for(session, viewer_id=viewer_id, share_id=share_id, token=token, now=now)
    entries = await _entries(session, source.id or 0)
    copy = Dossier(
        owner_id=viewer_id, title=source.title, sector=source.sector, created_at=now, updated_at=now
    )
    session.add(copy)
    await session.flush()
    assert copy.id is not None
    _add_entries(
        session,
        copy.id,
        [DossierEntryIn(company_id=e.company_id, note=e.note, recommend=e.recommend) for e in entries],
    )
    await session.commit()
    return await _dossier_out(session, copy, k=k)


async def share_qr_svg(
    session: AsyncSession, settings: Settings, *, token: str, now: datetime | None = None
) -> str:
    """The QR code of a live link share, as SVG; 404 once the link has expired or been revoked."""
    now = now or utcnow()
    share = (
        await session.scalar(select(DossierShare).where(col(DossierShare.token_hash) == token_hash(token)))
        if 16 <= len(token) <= 100
        else None
    )
    if share is None or not _live(share, now):
        raise ShareNotFound()
    return str(segno.make(share_url(settings, token), error="m").svg_inline(scale=4, border=2))


# -- segments and mutes ----------------------------------------------------------------------------------------
def segment_catalogue() -> list[SegmentOut]:
    return [SegmentOut(key=s.key, label_fr=s.label_fr, label_en=s.label_en) for s in SEGMENTS.values()]


async def get_segments(session: AsyncSession, *, citizen_id: int) -> SegmentsOut:
    segments = await session.scalars(
        select(SegmentOptIn.segment)
        .where(col(SegmentOptIn.citizen_id) == citizen_id)
        .order_by(col(SegmentOptIn.segment))
    )
    zone = await session.scalar(
        select(OfferPreference.zone).where(col(OfferPreference.citizen_id) == citizen_id)
    )
    muted = await session.scalars(
        select(CompanyMute.company_id)
        .where(col(CompanyMute.citizen_id) == citizen_id)
        .order_by(col(CompanyMute.company_id))
    )
    return SegmentsOut(segments=list(segments), zone=zone, muted_companies=list(muted))


async def set_segments(
    session: AsyncSession, *, citizen_id: int, data: SegmentsIn, now: datetime | None = None
) -> SegmentsOut:
    """Replace the citizen's segments and offers zone (opt in to the listed ones, out of all others)."""
    now = now or utcnow()
    errors: list[FieldError] = []
    wanted: list[str] = []
    for i, key in enumerate(data.segments):
        if not is_segment(key):
            errors.append(
                FieldError(f"body.segments[{i}]", "not in the segment catalogue (GET /api/v1/segments)")
            )
        elif key not in wanted:
            wanted.append(key)
    zone: str | None = None
    if data.zone is not None:
        try:
            zone = recommendations.normalise_zone(data.zone)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    current = set(
        await session.scalars(select(SegmentOptIn.segment).where(col(SegmentOptIn.citizen_id) == citizen_id))
    )
    gone = current - set(wanted)
    if gone:
        await session.execute(
            delete(SegmentOptIn).where(
                col(SegmentOptIn.citizen_id) == citizen_id, col(SegmentOptIn.segment).in_(gone)
            )
        )
    for key in wanted:
        if key not in current:
            session.add(SegmentOptIn(citizen_id=citizen_id, segment=key, created_at=now))
    preference = await session.get(OfferPreference, citizen_id)
    if preference is None:
        preference = OfferPreference(citizen_id=citizen_id)
    preference.zone = zone
    preference.updated_at = now
    session.add(preference)
    await session.commit()
    return await get_segments(session, citizen_id=citizen_id)


async def mute_company(session: AsyncSession, *, citizen_id: int, company_id: int) -> None:
    """No more offers from this company (and its delivered ones are hidden). Muting twice is harmless."""
    if not await companies.company_exists(session, company_id):
        raise CompanyNotFound()
    existing = await session.scalar(
        select(CompanyMute.id).where(
            col(CompanyMute.citizen_id) == citizen_id, col(CompanyMute.company_id) == company_id
        )
    )
    if existing is None:
        session.add(CompanyMute(citizen_id=citizen_id, company_id=company_id))
        await session.commit()


async def unmute_company(session: AsyncSession, *, citizen_id: int, company_id: int) -> None:
    if _valid_id(company_id):
        await session.execute(
            delete(CompanyMute).where(
                col(CompanyMute.citizen_id) == citizen_id, col(CompanyMute.company_id) == company_id
            )
        )
        await session.commit()


# -- offers --------------------------------------------------------------------------------------------------------
async def _company_id(session: AsyncSession, principal_id: int) -> int:
    company = await companies.company_for_account(session, principal_id)
    if company is None:
        raise NoCompany()
    return company.id


async def audience(session: AsyncSession, *, company_id: int, segment: str, zone: str | None) -> set[int]:
    """The citizens an offer reaches: opted in, with an open account of the company, not muting it, in zone."""
    holders = await vault.citizens_with_open_account(session, company_id)
    if not holders:
        return set()
    opted = set(
        await session.scalars(
            select(SegmentOptIn.citizen_id).where(
                col(SegmentOptIn.segment) == segment, col(SegmentOptIn.citizen_id).in_(holders)
            )
        )
    )
    muted = set(
        await session.scalars(select(CompanyMute.citizen_id).where(col(CompanyMute.company_id) == company_id))
    )
    reached = opted - muted
    if zone is not None and reached:
        rows = await session.execute(
            select(OfferPreference.citizen_id, OfferPreference.zone).where(
                col(OfferPreference.citizen_id).in_(reached)
            )
        )
        zones = {citizen_id: stated for citizen_id, stated in rows.all()}
        reached = {c for c in reached if (zones.get(c) or "").startswith(zone)}
    return reached


async def _close_to_earlier(
    session: AsyncSession, company_id: int, reached: set[int], k: int, before_id: int
) -> bool:
    """True when some recent offer's audience differs from ``reached`` by fewer than k citizens."""
    earlier = list(
        await session.scalars(
            select(Offer.id)
            .where(col(Offer.company_id) == company_id, col(Offer.id) < before_id)
            .order_by(col(Offer.id).desc())
            .limit(OFFER_LOOKBACK)
        )
    )
    if not earlier:
        return False
    audiences: dict[int, set[int]] = {offer_id: set() for offer_id in earlier}
    rows = await session.execute(
        select(OfferDelivery.offer_id, OfferDelivery.citizen_id).where(
            col(OfferDelivery.offer_id).in_(earlier)
        )
    )
    for offer_id, citizen_id in rows.all():
        audiences[offer_id].add(citizen_id)
    return any(len(reached ^ past) < k for past in audiences.values())


def _report(offer: Offer, k: int) -> DeliveryReport:
    if offer.delivered < k:
        return DeliveryReport(
            k=k, delivered=None, fewer_than_k=True, withheld=False, text=f"fewer than {k} citizens"
        )
    if offer.count_withheld:
        return DeliveryReport(
            k=k,
            delivered=None,
            fewer_than_k=False,
            withheld=True,
            text=f"withheld: this audience differs from one of your recent offers' by fewer than {k} citizens",
        )
    return DeliveryReport(
        k=k, delivered=offer.delivered, fewer_than_k=False, withheld=False, text=f"{offer.delivered} citizens"
    )


def _offer_out(offer: Offer, k: int) -> OfferOut:
    return OfferOut(
        id=offer.id or 0,
        company_id=offer.company_id,
        segment=offer.segment,
        zone=offer.zone,
        title=offer.title,
        body=offer.body,
        valid_until=_aware(offer.valid_until),
        created_at=_aware(offer.created_at),
        delivery=_report(offer, k),
    )


async def send_offer(
    session: AsyncSession, *, principal_id: int, data: OfferIn, k: int, now: datetime | None = None
) -> OfferOut:
    """Deliver an offer to its audience now; the company gets the ``DeliveryReport`` and nothing else."""
    now = now or utcnow()
    company_id = await _company_id(session, principal_id)
    errors: list[FieldError] = []
    if not is_segment(data.segment):
        errors.append(FieldError("body.segment", "not in the segment catalogue (GET /api/v1/segments)"))
    zone: str | None = None
    if data.zone is not None:
        try:
            zone = recommendations.normalise_zone_prefix(data.zone)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    title = _clean(data.title, "body.title", errors)
    body = _clean(data.body, "body.body", errors, multiline=True)
    for name, value in (("title", title), ("body", body)):
        if value is None and not any(e.field == f"body.{name}" for e in errors):
            errors.append(FieldError(f"body.{name}", "must not be blank"))
    valid_until = data.valid_until if data.valid_until.tzinfo else data.valid_until.replace(tzinfo=UTC)
    if valid_until <= now:
        errors.append(FieldError("body.valid_until", "must be in the future"))
    elif valid_until > now + timedelta(days=OFFER_MAX_DAYS):
        errors.append(FieldError("body.valid_until", f"at most {OFFER_MAX_DAYS} days ahead"))
    if errors:
        raise InvalidInput(errors)
    assert title is not None and body is not None
    reached = await audience(session, company_id=company_id, segment=data.segment, zone=zone)
    offer = Offer(
        company_id=company_id,
        segment=data.segment,
        zone=zone,
        title=title,
        body=body,
        valid_until=valid_until,
        created_at=now,
        delivered=len(reached),
    )
    session.add(offer)
    await session.flush()
    assert offer.id is not None
    offer.count_withheld = await _close_to_earlier(session, company_id, reached, k, offer.id)
    session.add_all(OfferDelivery(offer_id=offer.id, citizen_id=c, delivered_at=now) for c in sorted(reached))
    await session.commit()
    return _offer_out(offer, k)


async def company_offers(session: AsyncSession, *, principal_id: int, k: int) -> list[OfferOut]:
    company_id = await _company_id(session, principal_id)
    rows = await session.scalars(
        select(Offer).where(col(Offer.company_id) == company_id).order_by(col(Offer.id).desc())
    )
    return [_offer_out(o, k) for o in rows]


async def company_offer(session: AsyncSession, *, principal_id: int, offer_id: int, k: int) -> OfferOut:
    company_id = await _company_id(session, principal_id)
    offer = await session.get(Offer, offer_id) if _valid_id(offer_id) else None
    if offer is None or offer.company_id != company_id:
        raise OfferNotFound()
    return _offer_out(offer, k)


async def received_offers(
    session: AsyncSession, *, citizen_id: int, include_expired: bool = False, now: datetime | None = None
) -> list[ReceivedOffer]:
    """Offers delivered to the citizen, newest first, without those of companies they muted."""
    now = now or utcnow()
    muted = select(CompanyMute.company_id).where(col(CompanyMute.citizen_id) == citizen_id)
    query = (
        select(Offer, OfferDelivery.delivered_at)
        .join(OfferDelivery, col(OfferDelivery.offer_id) == col(Offer.id))
        .where(col(OfferDelivery.citizen_id) == citizen_id, col(Offer.company_id).not_in(muted))
        .order_by(col(OfferDelivery.delivered_at).desc(), col(Offer.id).desc())
    )
    if not include_expired:
        query = query.where(col(Offer.valid_until) > now)
    names: dict[int, str | None] = {}
    out = []
    for offer, delivered_at in (await session.execute(query)).all():
        if offer.company_id not in names:
            try:
                names[offer.company_id] = (
                    await companies.public_profile(session, offer.company_id)
                ).legal_name
            except CompanyNotFound:
                names[offer.company_id] = None
        out.append(
            ReceivedOffer(
                id=offer.id or 0,
                company_id=offer.company_id,
                company_name=names[offer.company_id],
                segment=offer.segment,
                zone=offer.zone,
                title=offer.title,
                body=offer.body,
                valid_until=_aware(offer.valid_until),
                delivered_at=_aware(delivered_at),
                expired=_aware(offer.valid_until) <= now,
            )
        )
    return out


async def dismiss_offer(session: AsyncSession, *, citizen_id: int, offer_id: int) -> None:
    """Remove an offer from the citizen's list."""
    delivery = (
        await session.scalar(
            select(OfferDelivery).where(
                col(OfferDelivery.offer_id) == offer_id, col(OfferDelivery.citizen_id) == citizen_id
            )
        )
        if _valid_id(offer_id)
        else None
    )
    if delivery is None:
        raise OfferNotFound()
    await session.delete(delivery)
    await session.commit()


# -- erasure -------------------------------------------------------------------------------------------------------
async def forget_citizen(session: AsyncSession, citizen_id: int) -> None:
    """Erasure: the citizen's dossiers (and their shares), shares to them, segments, zone, mutes and offers
    received. The caller commits (inside its erasure)."""
    own = select(Dossier.id).where(col(Dossier.owner_id) == citizen_id)
    await session.execute(delete(DossierShare).where(col(DossierShare.dossier_id).in_(own)))
    await session.execute(delete(DossierEntry).where(col(DossierEntry.dossier_id).in_(own)))
    await session.execute(delete(Dossier).where(col(Dossier.owner_id) == citizen_id))
    await session.execute(delete(DossierShare).where(col(DossierShare.recipient_id) == citizen_id))
    for model in (SegmentOptIn, OfferPreference, CompanyMute, OfferDelivery):
        await session.execute(delete(model).where(col(model.citizen_id) == citizen_id))  # type: ignore[attr-defined]
