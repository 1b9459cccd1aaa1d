"""Companies, civil-status versions, verifiers and attestations. No HTTP here.

Functions that write own their transaction: they append the ledger event (``sesame.transparency.record``) and
commit, so a filing and its ledger leaf land together or not at all. Time is a parameter (``now``) wherever a
result depends on it.

Verification state of an indicator (``IndicatorView.state``): an attestation applies to the current value when
its verifier is active and trusted for the indicator *now* (trust policy), it is not revoked, and the indicator's
record has stayed unchanged (same value, unit, period and method) since the version the verifier checked. So a
new filing that only changes other indicators keeps every attestation; a changed value starts self-declared.
Among applicable attestations the newest unexpired one wins (``attested``); if all have expired the state is
``expired``; if all were revoked, ``revoked``; with none, ``self_declared``. A verifier may also *refuse* to attest
a value awaiting attestation, giving a reason (``refuse_attestation``): an applicable refusal (same rules: trusted
verifier, unchanged record) newer than every applicable attestation makes the state ``refused``, until a trusted
verifier attests the value or the company files a changed one.

Functions other packages call (stable names and signatures): ``mandatory_attestation_gaps``,
``current_version_ref``, ``public_profile``, ``highlights``, ``company_for_account``, ``company_exists``,
``profile_cache_token``, ``indicator_catalogue``; and ``register_verifier`` / ``verifier_jwks`` for the kernel.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import rfc8785
from sqlalchemy import and_, bindparam, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from company_profiles import catalogue, identifiers, signing
from company_profiles.catalogue import CATALOGUE, MANDATORY_KEYS, Indicator, IndicatorValueError, Value
from company_profiles.errors import (
    AlreadyAttested,
    AlreadyRevoked,
    AttestationNotFound,
    CompanyAlreadyRegistered,
    CompanyNotFound,
    ConcurrentFiling,
    NotAVerifier,
    NotCompanyOwner,
    NotIssuer,
    OutsideTrustScope,
    RegistrationTaken,
    ValueMismatch,
    VerifierExists,
    VersionNotFound,
)
from company_profiles.models import (
    Attestation,
    AttestationRefusal,
    CivilStatusVersion,
    Company,
    IndicatorRecord,
    Verifier,
    VerifierKey,
)
from company_profiles.schemas import (
    AttestationCheck,
    AttestationOut,
    AttestationRequest,
    CivilStatusFiling,
    CompanyList,
    CompanyProfile,
    CompanyRef,
    CompanyRegistered,
    CompanyRegistration,
    CompanySummary,
    FilingReceipt,
    IndicatorDefinition,
    IndicatorInput,
    IndicatorView,
    OpenDataRecord,
    RefusalOut,
    RefusalRequest,
    ScoreComponents,
    VerificationState,
    VerifierOut,
    VersionDetail,
    VersionSummary,
)
from sesame import transparency
from sesame.accounts.services import get_account
from sesame.db import MAX_ID, read_rows
from sesame.errors import FieldError, InvalidInput
from sesame.keys import KeyRing
from sesame.models import utcnow

__all__ = [
    "SCORE_FORMULA",
    "ProfileChangedHook",
    "company_attestations",
    "company_exists",
    "company_for_account",
    "company_refusals",
    "current_version_ref",
    "file_civil_status",
    "get_attestation",
    "highlights",
    "indicator_catalogue",
    "issue_attestation",
    "iter_open_data",
    "list_companies",
    "list_verifiers",
    "mandatory_attestation_gaps",
    "open_data_csv",
    "open_data_jsonl",
    "profile_cache_token",
    "profile_changed_hooks",
    "public_profile",
    "refuse_attestation",
    "register_company",
    "register_verifier",
    "revoke_attestation",
    "rewrap_verifier_keys",
    "transparency_score",
    "verifier_jwks",
    "verifier_keys_pending",
    "verify_attestation",
    "version_detail",
    "versions",
]

#: ``async (session, company_id)`` called inside every transaction that changes a public profile (filing,
#: attestation, revocation), before commit; the scanner registers its card-cache invalidation here.
ProfileChangedHook = Callable[[AsyncSession, int], Awaitable[None]]
profile_changed_hooks: list[ProfileChangedHook] = []

FRESHNESS_DAYS = 730
SCORE_FORMULA = (
    "score = round(100 × (0.4 × completeness + 0.4 × verified + 0.2 × freshness)), where "
    "completeness = indicators disclosed in the current version / indicators in the catalogue; "
    "verified = disclosed indicators attested by a trusted verifier (valid, not revoked) / disclosed indicators; "
    f"freshness = max(0, 1 − days since the current version was filed / {FRESHNESS_DAYS})"
)


# -- small helpers -----------------------------------------------------------------------------------------------
async def _profile_changed(session: AsyncSession, company_id: int) -> None:
    for hook in profile_changed_hooks:
        await hook(session, company_id)


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC); make every one aware before comparing or returning."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _canonical(value: Any) -> str:
    return rfc8785.dumps(value).decode()


def _value(value_json: str) -> Value:
    loaded: Value = json.loads(value_json)
    return loaded


def _fold(text: str) -> str:
    """Lower case without accents: "Côte" and "cote" search alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()[:200]


def _seniority(founded: date, today: date) -> int:
    years = today.year - founded.year - ((today.month, today.day) < (founded.month, founded.day))
    return max(0, years)


def _valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def _clean_text(value: str | None, path: str, errors: list[FieldError]) -> str | None:
    if value is None:
        return None
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in text):
        errors.append(FieldError(path, "must not contain control characters"))
        return None
    return text or None


def indicator_catalogue() -> list[IndicatorDefinition]:
    """The catalogue, for ``GET /api/v1/indicators`` and for packages that validate indicator keys."""
    return [
        IndicatorDefinition(
            key=i.key,
            label_fr=i.label_fr,
            label_en=i.label_en,
            kind=i.kind.value,
            unit=i.unit,
            mandatory=i.mandatory,
            minimum=i.minimum,
            maximum=i.maximum,
            integer=i.integer,
            default_period=i.default_period,
            default_method=i.default_method,
            attestation_days=i.attestation_days,
            description=i.description,
        )
        for i in CATALOGUE.values()
    ]


# -- reading ------------------------------------------------------------------------------------------------------
async def _company(session: AsyncSession, company_id: int) -> Company:
    company = await session.get(Company, company_id) if _valid_id(company_id) else None
    if company is None or company.current_version < 1:
        raise CompanyNotFound()
    return company


async def _version_row(session: AsyncSession, company_id: int, version: int) -> CivilStatusVersion | None:
    if not _valid_id(version):
        return None
    row: CivilStatusVersion | None = await session.scalar(
        select(CivilStatusVersion).where(
            col(CivilStatusVersion.company_id) == company_id, col(CivilStatusVersion.version) == version
        )
    )
    return row


async def _records(
    session: AsyncSession, version_id: int, keys: Iterable[str] | None = None
) -> dict[str, IndicatorRecord]:
    query = select(IndicatorRecord).where(col(IndicatorRecord.version_id) == version_id)
    if keys is not None:
        query = query.where(col(IndicatorRecord.key).in_(list(keys)))
    return {r.key: r for r in await session.scalars(query)}


@dataclass(frozen=True, slots=True)
class _VerifierFacts:
    """What the trust policy needs of the verifier behind an attestation or a refusal."""

    verifier_name: str
    verifier_scope: tuple[str, ...]
    verifier_active: bool

    def trusted_for(self, key: str) -> bool:
        return self.verifier_active and key in self.verifier_scope


@dataclass(frozen=True, slots=True)
class _AttestationRow(_VerifierFacts):
    """An attestation with what the trust policy needs of its verifier."""

    attestation: Attestation


async def _with_verifiers(
    session: AsyncSession,
    model: type[Attestation] | type[AttestationRefusal],
    company_ids: list[int],
    keys: Iterable[str] | None,
) -> list[tuple[Any, str, tuple[str, ...], bool]]:
    """Attestations or refusals of these companies (of these indicators), each with its verifier's facts."""
    query = (
        select(model, Verifier.name, Verifier.scope, Verifier.active)
        .join(Verifier, col(Verifier.id) == col(model.verifier_id))
        .where(col(model.company_id).in_(company_ids))
    )
    if keys is not None:
        query = query.where(col(model.indicator).in_(list(keys)))
    rows = await session.execute(query)
    return [(claim, name, tuple(scope or ()), act) for claim, name, scope, act in rows.all()]


async def _attestations(
    session: AsyncSession, company_ids: list[int], keys: Iterable[str] | None = None
) -> list[_AttestationRow]:
    return [
        _AttestationRow(attestation=a, verifier_name=name, verifier_scope=scope, verifier_active=act)
        for a, name, scope, act in await _with_verifiers(session, Attestation, company_ids, keys)
    ]


@dataclass(frozen=True, slots=True)
class _RefusalRow(_VerifierFacts):
    """A refusal with what the trust policy needs of its verifier."""

    refusal: AttestationRefusal


async def _refusals(
    session: AsyncSession, company_ids: list[int], keys: Iterable[str] | None = None
) -> list[_RefusalRow]:
    return [
        _RefusalRow(refusal=r, verifier_name=name, verifier_scope=scope, verifier_active=act)
        for r, name, scope, act in await _with_verifiers(session, AttestationRefusal, company_ids, keys)
    ]


def _concerns(claim: Attestation | AttestationRefusal, record: IndicatorRecord, version: int) -> bool:
    """Whether an attestation or a refusal is about this record's value, as disclosed up to ``version``."""
    return (
        claim.indicator == record.key
        and record.since_version <= claim.version <= version
        and claim.value_json == record.value_json
    )


def _applicable_refusal(
    record: IndicatorRecord, version: int, refusals: Iterable[_RefusalRow]
) -> _RefusalRow | None:
    """The newest refusal of this record's value by a verifier trusted for it now, if any."""
    applicable = [
        row for row in refusals if _concerns(row.refusal, record, version) and row.trusted_for(record.key)
    ]
    return max(applicable, key=lambda r: (_aware(r.refusal.refused_at), r.refusal.id or 0), default=None)


def _view(
    indicator: Indicator,
    record: IndicatorRecord | None,
    version: int,
    attestations: list[_AttestationRow],
    now: datetime,
    refusals: Iterable[_RefusalRow] = (),
) -> IndicatorView:
    base: dict[str, Any] = {
        "key": indicator.key,
        "label_fr": indicator.label_fr,
        "label_en": indicator.label_en,
        "kind": indicator.kind.value,
        "mandatory": indicator.mandatory,
    }
    if record is None:
        return IndicatorView(
            **base, disclosed=False, unit=indicator.unit, state=VerificationState.undisclosed
        )
    since_at = _aware(record.since_at)
    state, best = _verification(record, version, attestations, now)
    att = best.attestation if best else None
    refusal = (
        _applicable_refusal(record, version, refusals) if state is not VerificationState.attested else None
    )
    if refusal is not None:
        latest_attestation = max(
            (
                max(
                    _aware(r.attestation.issued_at),
                    _aware(r.attestation.revoked_at or r.attestation.issued_at),
                )
                for r in attestations
                if _concerns(r.attestation, record, version) and r.trusted_for(record.key)
            ),
            default=None,
        )
        if latest_attestation is not None and latest_attestation > _aware(refusal.refusal.refused_at):
            refusal = None
        else:
            state = VerificationState.refused
    refused = refusal.refusal if refusal else None
    return IndicatorView(
        **base,
        disclosed=True,
        value=_value(record.value_json),
        unit=record.unit,
        period=record.period,
        method=record.method,
        source=record.source,
        version=version,
        since_version=record.since_version,
        disclosed_at=since_at,
        age_days=max(0, (now - since_at).days),
        state=state,
        attestation_id=att.id if att else None,
        attested_by=best.verifier_name if best else None,
        attested_by_id=att.verifier_id if att else None,
        attested_at=_aware(att.issued_at) if att else None,
        attested_version=att.version if att else None,
        valid_until=_aware(att.valid_until) if att else None,
        refusal_id=refused.id if refused else None,
        refused_by=refusal.verifier_name if refusal else None,
        refused_at=_aware(refused.refused_at) if refused else None,
        refusal_reason=refused.reason if refused else None,
    )


def _verification(
    record: IndicatorRecord, version: int, attestations: list[_AttestationRow], now: datetime
) -> tuple[VerificationState, _AttestationRow | None]:
    applicable = [
        row
        for row in attestations
        if _concerns(row.attestation, record, version) and row.trusted_for(record.key)
    ]
    live = [r for r in applicable if r.attestation.revoked_at is None]
    valid = [r for r in live if _aware(r.attestation.valid_until) > now]
    if valid:
        return VerificationState.attested, max(valid, key=lambda r: _aware(r.attestation.issued_at))
    if live:
        return VerificationState.expired, max(live, key=lambda r: _aware(r.attestation.valid_until))
    if applicable:
        return VerificationState.revoked, max(applicable, key=lambda r: _aware(r.attestation.issued_at))
    return VerificationState.self_declared, None


def transparency_score(
    views: list[IndicatorView], filed_at: datetime, now: datetime
) -> tuple[int, ScoreComponents]:
    """The transparency score, 0–100 (``SCORE_FORMULA``).

    score = round(100 × (0.4 × completeness + 0.4 × verified + 0.2 × freshness)) where

    * completeness = indicators disclosed in the current version / indicators in the catalogue,
    * verified = disclosed indicators in state ``attested`` / disclosed indicators,
    * freshness = max(0, 1 − days since the current version was filed / 730): a civil status refiled within
      the year keeps most of it; one left untouched for two years has none.
    """
    disclosed = [v for v in views if v.disclosed]
    completeness = len(disclosed) / len(CATALOGUE)
    attested = sum(1 for v in disclosed if v.state is VerificationState.attested)
    verified = attested / len(disclosed) if disclosed else 0.0
    age = max(0, (now - _aware(filed_at)).days)
    freshness = max(0.0, 1 - age / FRESHNESS_DAYS)
    score = round(100 * (0.4 * completeness + 0.4 * verified + 0.2 * freshness))
    return score, ScoreComponents(
        completeness=round(completeness, 4), verified=round(verified, 4), freshness=round(freshness, 4)
    )


async def _views(
    session: AsyncSession, company: Company, keys: list[str], now: datetime
) -> tuple[CivilStatusVersion, list[IndicatorView]]:
    row = await _version_row(session, company.id or 0, company.current_version)
    if row is None or row.id is None:
        raise CompanyNotFound()
    records = await _records(session, row.id, keys)
    attestations = await _attestations(session, [company.id or 0], keys)
    refusals = await _refusals(session, [company.id or 0], keys)
    views = [_view(CATALOGUE[k], records.get(k), row.version, attestations, now, refusals) for k in keys]
    return row, views


async def public_profile(
    session: AsyncSession, company_id: int, *, now: datetime | None = None
) -> CompanyProfile:
    """Everything anyone may read about a company; raises ``CompanyNotFound``."""
    now = _now(now)
    company = await _company(session, company_id)
    row, views = await _views(session, company, list(CATALOGUE), now)
    score, components = transparency_score(views, row.filed_at, now)
    registration = identifiers.RegistrationId(company.registration_scheme, company.registration_number)
    return CompanyProfile(
        id=company.id or 0,
        legal_name=company.legal_name,
        country=company.country,
        registration_scheme=company.registration_scheme,
        registration_id=company.registration_number,
        registration_display=registration.display(),
        founding_date=company.founding_date,
        seniority_years=_seniority(company.founding_date, now.date()),
        tax_residence=company.tax_residence,
        nace_sector=company.nace_sector,
        nace_label=identifiers.nace_label(company.nace_sector),
        registered_address=company.registered_address,
        version=row.version,
        version_filed_at=_aware(row.filed_at),
        ledger_index=row.ledger_index,
        indicators=views,
        mandatory_gaps=[v.key for v in views if v.mandatory and v.state is not VerificationState.attested],
        transparency_score=score,
        score_components=components,
        score_formula=SCORE_FORMULA,
    )


async def highlights(
    session: AsyncSession, company_id: int, keys: list[str], *, now: datetime | None = None
) -> list[IndicatorView]:
    """The indicators ``keys`` in that order (unknown keys skipped, repeats once); ``disclosed=False`` for an
    indicator the company never disclosed or withdrew. Raises ``CompanyNotFound``."""
    now = _now(now)
    company = await _company(session, company_id)
    wanted = [k for k in dict.fromkeys(keys) if k in CATALOGUE]
    if not wanted:
        return []
    _, views = await _views(session, company, wanted, now)
    return views


async def mandatory_attestation_gaps(
    session: AsyncSession, company_id: int, *, now: datetime | None = None
) -> list[str]:
    """Mandatory indicators not attested by a trusted verifier on the current version, in catalogue order.

    An empty list means the company may open accounts on citizens' Sésames. Raises ``CompanyNotFound``.
    """
    views = await highlights(session, company_id, list(MANDATORY_KEYS), now=now)
    return [v.key for v in views if v.state is not VerificationState.attested]


async def current_version_ref(session: AsyncSession, company_id: int) -> tuple[int, int | None]:
    """``(version, ledger_index)`` of the company's current civil status; raises ``CompanyNotFound``."""
    if not _valid_id(company_id):
        raise CompanyNotFound()
    row = (
        await session.execute(
            select(CivilStatusVersion.version, CivilStatusVersion.ledger_index)
            .join(Company, col(Company.id) == col(CivilStatusVersion.company_id))
            .where(
                col(Company.id) == company_id, col(CivilStatusVersion.version) == col(Company.current_version)
            )
        )
    ).first()
    if row is None:
        raise CompanyNotFound()
    return int(row[0]), row[1]


async def company_for_account(session: AsyncSession, account_id: int) -> CompanyRef | None:
    if not _valid_id(account_id):
        return None
    company = await session.scalar(select(Company).where(col(Company.account_id) == account_id))
    if company is None or company.id is None:
        return None
    return CompanyRef(
        id=company.id,
        account_id=company.account_id,
        legal_name=company.legal_name,
        current_version=company.current_version,
    )


async def company_exists(session: AsyncSession, company_id: int) -> bool:
    if not _valid_id(company_id):
        return False
    found = await session.scalar(
        select(Company.id).where(col(Company.id) == company_id, col(Company.current_version) > 0)
    )
    return found is not None


#: ``profile_cache_token``'s counts, built once: every worker asks them for each seller it serves, every
#: ``scanner.cards.PROFILE_RECHECK_SECONDS``, and on SQLite they run on the loop (``sesame.db.read_rows``).
_TOKEN_FILED = (
    select(func.count().label("filed"))
    .select_from(CivilStatusVersion)
    .where(col(CivilStatusVersion.company_id) == bindparam("company_id"))
)
_TOKEN_ATTESTED = select(
    func.count().label("issued"),
    func.count(col(Attestation.revoked_at)).label("revoked"),
    func.count().filter(col(Attestation.valid_until) <= bindparam("now")).label("expired"),
).where(col(Attestation.company_id) == bindparam("company_id"))
_TOKEN_REFUSED = (
    select(func.count().label("refused"))
    .select_from(AttestationRefusal)
    .where(col(AttestationRefusal.company_id) == bindparam("company_id"))
)


async def profile_cache_token(session: AsyncSession, company_id: int, *, now: datetime | None = None) -> int:
    """A number that grows whenever what the profile shows may have changed, for the scanner's cache.

    The sum of never-decreasing counts: versions filed, attestations issued, attestations revoked, attestations
    expired by ``now``, refusals, plus today's day number (ages and seniority change with the date). Changing a
    verifier's trust scope (an admin act) is not counted: caches should also expire by time. 0 for no company.
    """
    if not _valid_id(company_id):
        return 0
    now = _now(now)
    key = {"company_id": company_id}
    filed = int((await read_rows(session, _TOKEN_FILED, key))[0][0] or 0)
    if filed == 0:
        return 0
    issued, revoked, expired = (await read_rows(session, _TOKEN_ATTESTED, {**key, "now": now}))[0]
    refused = int((await read_rows(session, _TOKEN_REFUSED, key))[0][0] or 0)
    return filed + int(issued) + int(revoked) + int(expired) + refused + now.date().toordinal()


async def list_companies(
    session: AsyncSession,
    *,
    query: str | None = None,
    sector: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> CompanyList:
    """Companies whose name contains ``query`` (case and accents ignored) and whose NACE code starts with
    ``sector`` (``47`` finds 47.11 and 47.78), by name."""
    today = _now(now).date()
    conditions: list[Any] = [col(Company.current_version) > 0]
    if query and query.strip():
        needle = _fold(" ".join(query.split()))
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(col(Company.search_name).like(f"%{escaped}%", escape="\\"))
    if sector and sector.strip():
        prefix = sector.strip()
        if len(prefix) > 5 or not all(c.isdigit() or c == "." for c in prefix):
            raise InvalidInput.one("query.sector", "must be a NACE code or prefix such as 47 or 47.11")
        conditions.append(
            or_(col(Company.nace_sector) == prefix, col(Company.nace_sector).startswith(prefix))
        )
    total = int(await session.scalar(select(func.count()).select_from(Company).where(*conditions)) or 0)
    rows = await session.scalars(
        select(Company)
        .where(*conditions)
        .order_by(col(Company.search_name), col(Company.id))
        .limit(limit)
        .offset(offset)
    )
    items = [
        CompanySummary(
            id=c.id or 0,
            legal_name=c.legal_name,
            country=c.country,
            nace_sector=c.nace_sector,
            nace_label=identifiers.nace_label(c.nace_sector),
            founding_date=c.founding_date,
            seniority_years=_seniority(c.founding_date, today),
            version=c.current_version,
        )
        for c in rows
    ]
    return CompanyList(items=items, total=total, limit=limit, offset=offset)


async def versions(session: AsyncSession, company_id: int) -> list[VersionSummary]:
    """Every version of a company's civil status, oldest first, with its ledger index."""
    company = await _company(session, company_id)
    counts = (
        select(IndicatorRecord.version_id, func.count().label("n"))
        .group_by(col(IndicatorRecord.version_id))
        .subquery()
    )
    rows = await session.execute(
        select(CivilStatusVersion, counts.c.n)
        .outerjoin(counts, counts.c.version_id == col(CivilStatusVersion.id))
        .where(col(CivilStatusVersion.company_id) == company.id)
        .order_by(col(CivilStatusVersion.version))
    )
    return [
        VersionSummary(
            version=v.version,
            filed_at=_aware(v.filed_at),
            ledger_index=v.ledger_index,
            content_hash=v.content_hash,
            indicator_count=int(n or 0),
        )
        for v, n in rows.all()
    ]


def _record_content(record: IndicatorRecord) -> dict[str, Any]:
    content: dict[str, Any] = {"value": _value(record.value_json)}
    for name in ("unit", "period", "method", "source"):
        if getattr(record, name) is not None:
            content[name] = getattr(record, name)
    return content


async def version_detail(session: AsyncSession, company_id: int, version: int) -> VersionDetail:
    company = await _company(session, company_id)
    row = await _version_row(session, company.id or 0, version)
    if row is None or row.id is None:
        raise VersionNotFound()
    records = await _records(session, row.id)
    ordered = sorted(
        records.values(), key=lambda r: list(CATALOGUE).index(r.key) if r.key in CATALOGUE else 999
    )
    return VersionDetail(
        company_id=company.id or 0,
        version=row.version,
        filed_at=_aware(row.filed_at),
        ledger_index=row.ledger_index,
        content_hash=row.content_hash,
        indicator_count=len(records),
        indicators={r.key: _record_content(r) for r in ordered},
    )


# -- filing -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Entry:
    """One validated indicator of a filing."""

    value_json: str
    unit: str | None
    period: str | None
    method: str | None
    source: str | None

    def same_fact(self, record: IndicatorRecord) -> bool:
        return (self.value_json, self.unit, self.period, self.method) == (
            record.value_json,
            record.unit,
            record.period,
            record.method,
        )

    def content(self) -> dict[str, Any]:
        content: dict[str, Any] = {"value": _value(self.value_json)}
        for name in ("unit", "period", "method", "source"):
            if getattr(self, name) is not None:
                content[name] = getattr(self, name)
        return content


def _entry(
    indicator: Indicator,
    given: IndicatorInput,
    path: str,
    today: date,
    errors: list[FieldError],
) -> _Entry | None:
    before = len(errors)
    try:
        value = catalogue.normalise_value(indicator, given.value, today=today)
    except IndicatorValueError as exc:
        errors.append(FieldError(f"{path}.value", str(exc)))
        value = None
    if given.unit is not None and given.unit.strip():
        if indicator.unit is None:
            errors.append(FieldError(f"{path}.unit", "this indicator takes no unit"))
        elif not indicator.accepts_unit(given.unit):
            errors.append(FieldError(f"{path}.unit", f"must be {indicator.unit}"))
    period = _clean_text(given.period, f"{path}.period", errors) or indicator.default_period
    method = _clean_text(given.method, f"{path}.method", errors) or indicator.default_method
    source = _clean_text(given.source, f"{path}.source", errors)
    if len(errors) > before or value is None:
        return None
    return _Entry(
        value_json=_canonical(value), unit=indicator.unit, period=period, method=method, source=source
    )


def _carried(record: IndicatorRecord) -> _Entry:
    return _Entry(record.value_json, record.unit, record.period, record.method, record.source)


def _content_hash(company_id: int, version: int, indicators: dict[str, dict[str, Any]]) -> str:
    body: dict[str, Any] = {"company_id": company_id, "version": version, "indicators": indicators}
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


def _apply_identity(company: Company, entries: dict[str, _Entry]) -> None:
    """Mirror the mandatory values of a new version on the company row (listing and search read it)."""
    legal_name = str(_value(entries["legal_name"].value_json))
    registration = identifiers.parse_registration(str(_value(entries["registration_id"].value_json)))
    company.legal_name = legal_name
    company.search_name = _fold(legal_name)
    company.registration_scheme = registration.scheme
    company.registration_number = registration.number
    company.founding_date = date.fromisoformat(str(_value(entries["founding_date"].value_json)))
    company.tax_residence = str(_value(entries["tax_residence"].value_json))
    company.registered_address = str(_value(entries["registered_address"].value_json))
    company.nace_sector = str(_value(entries["nace_sector"].value_json))


async def _file(
    session: AsyncSession,
    company: Company,
    entries: dict[str, _Entry],
    previous: dict[str, IndicatorRecord],
    *,
    filed_by: int | None,
    now: datetime,
) -> CivilStatusVersion:
    """Add version ``current + 1`` with ``entries`` and its ledger leaf; the caller commits."""
    assert company.id is not None
    number = company.current_version + 1
    ordered = {k: entries[k] for k in CATALOGUE if k in entries}
    content = {k: e.content() for k, e in ordered.items()}
    content_hash = _content_hash(company.id, number, content)
    row = CivilStatusVersion(
        company_id=company.id, version=number, filed_at=now, filed_by=filed_by, content_hash=content_hash
    )
    session.add(row)
    await session.flush()
    assert row.id is not None
    for key, entry in ordered.items():
        before = previous.get(key)
        unchanged = before is not None and entry.same_fact(before)
        session.add(
            IndicatorRecord(
                version_id=row.id,
                key=key,
                value_json=entry.value_json,
                unit=entry.unit,
                period=entry.period,
                method=entry.method,
                source=entry.source,
                since_version=before.since_version if before is not None and unchanged else number,
                since_at=before.since_at if before is not None and unchanged else now,
            )
        )
    _apply_identity(company, ordered)
    # Compare-and-set on the version number: of two concurrent filings, one wins and the other gets 409.
    moved = await session.execute(
        update(Company)
        .where(col(Company.id) == company.id, col(Company.current_version) == company.current_version)
        .values(current_version=number, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 1) != 1:
        raise ConcurrentFiling()
    company.current_version = number
    company.updated_at = now
    session.add(company)
    await session.flush()
    row.ledger_index = await transparency.record(
        session,
        "disclosure.filed",
        {"company_id": company.id, "version": number, "indicators": content, "hash": content_hash},
    )
    await _profile_changed(session, company.id)
    return row


async def _registration_holder(session: AsyncSession, scheme: str, number: str) -> int | None:
    found: int | None = await session.scalar(
        select(Company.id).where(
            col(Company.registration_scheme) == scheme, col(Company.registration_number) == number
        )
    )
    return found


async def register_company(
    session: AsyncSession,
    *,
    account_id: int,
    registration: CompanyRegistration,
    now: datetime | None = None,
) -> CompanyRegistered:
    """Register the company of a company account and file civil-status version 1 from its identity; commits.

    Raises ``InvalidInput`` (field paths ``body.<field>``), ``CompanyAlreadyRegistered``, ``RegistrationTaken``.
    """
    now = _now(now)
    errors: list[FieldError] = []

    def check(path: str, action: Callable[[], str]) -> str:
        try:
            return action()
        except (identifiers.InvalidIdentifier, IndicatorValueError) as exc:
            errors.append(FieldError(path, str(exc)))
            return ""

    country = check("body.country", lambda: identifiers.validate_country(registration.country))
    tax_residence = check(
        "body.tax_residence", lambda: identifiers.validate_country(registration.tax_residence)
    )
    registration_id = check(
        "body.registration_id",
        lambda: str(
            identifiers.validate_registration(
                registration.registration_scheme, registration.registration_id, country=country or None
            )
        ),
    )
    sector = check("body.sector", lambda: identifiers.validate_nace(registration.sector))
    values = {
        "legal_name": ("body.legal_name", registration.legal_name),
        "founding_date": ("body.founding_date", registration.founding_date.isoformat()),
        "registered_address": ("body.registered_address", registration.registered_address),
    }
    normal: dict[str, str] = {}
    for key, (path, raw) in values.items():

        def normalise(indicator: Indicator = CATALOGUE[key], given: str = raw) -> str:
            return str(catalogue.normalise_value(indicator, given, today=now.date()))

        normal[key] = check(path, normalise)
    if errors:
        raise InvalidInput(errors)
    if await company_for_account(session, account_id) is not None:
        raise CompanyAlreadyRegistered()
    parsed = identifiers.parse_registration(registration_id)
    if await _registration_holder(session, parsed.scheme, parsed.number) is not None:
        raise RegistrationTaken()

    given = {
        "legal_name": normal["legal_name"],
        "registration_id": registration_id,
        "founding_date": normal["founding_date"],
        "tax_residence": tax_residence,
        "registered_address": normal["registered_address"],
        "nace_sector": sector,
    }
    entries = {
        key: _Entry(
            value_json=_canonical(value),
            unit=None,
            period=CATALOGUE[key].default_period,
            method=CATALOGUE[key].default_method,
            source=None,
        )
        for key, value in given.items()
    }
    company = Company(
        account_id=account_id,
        legal_name=normal["legal_name"],
        search_name=_fold(normal["legal_name"]),
        country=country,
        registration_scheme=parsed.scheme,
        registration_number=parsed.number,
        founding_date=date.fromisoformat(normal["founding_date"]),
        tax_residence=tax_residence,
        nace_sector=sector,
        registered_address=normal["registered_address"],
        created_at=now,
        updated_at=now,
    )
    session.add(company)
    try:
        await session.flush()
        row = await _file(session, company, entries, {}, filed_by=account_id, now=now)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        if await company_for_account(session, account_id) is not None:
            raise CompanyAlreadyRegistered() from None
        raise RegistrationTaken() from None
    return CompanyRegistered(
        id=company.id or 0,
        legal_name=company.legal_name,
        registration_id=registration_id,
        version=row.version,
        ledger_index=row.ledger_index,
    )


async def file_civil_status(
    session: AsyncSession,
    *,
    company_id: int,
    account_id: int,
    filing: CivilStatusFiling,
    now: datetime | None = None,
) -> FilingReceipt:
    """File a new version (never overwrites). Mandatory indicators left out are carried over from the current
    version; optional ones left out are withdrawn. Only the company's own account may file (``NotCompanyOwner``,
    403: profiles are public, so there is nothing to hide by answering 404). Commits."""
    now = _now(now)
    company = await _company(session, company_id)
    if company.account_id != account_id:
        raise NotCompanyOwner()
    errors: list[FieldError] = []
    entries: dict[str, _Entry] = {}
    for key, given in filing.indicators.items():
        path = f"body.indicators.{key[:64]}"
        indicator = CATALOGUE.get(key)
        if indicator is None:
            errors.append(
                FieldError(path, "is not an indicator of the catalogue (see GET /api/v1/indicators)")
            )
            continue
        entry = _entry(indicator, given, path, now.date(), errors)
        if entry is not None:
            entries[key] = entry
    if errors:
        raise InvalidInput(errors)
    current = await _version_row(session, company.id or 0, company.current_version)
    if current is None or current.id is None:
        raise CompanyNotFound()
    previous = await _records(session, current.id)
    for key in MANDATORY_KEYS:
        if key not in entries:
            if key not in previous:
                errors.append(FieldError(f"body.indicators.{key}", "is mandatory"))
                continue
            entries[key] = _carried(previous[key])
    if errors:
        raise InvalidInput(errors)
    registration = identifiers.parse_registration(str(_value(entries["registration_id"].value_json)))
    holder = await _registration_holder(session, registration.scheme, registration.number)
    if holder is not None and holder != company.id:
        raise RegistrationTaken()
    try:
        row = await _file(session, company, entries, previous, filed_by=account_id, now=now)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ConcurrentFiling() from None
    return FilingReceipt(
        company_id=company.id or 0,
        version=row.version,
        ledger_index=row.ledger_index,
        content_hash=row.content_hash,
        filed_at=_aware(row.filed_at),
    )


# -- verifiers -----------------------------------------------------------------------------------------------------
async def register_verifier(
    session: AsyncSession,
    *,
    account_id: int,
    name: str,
    scope: list[str],
    keys: KeyRing | None = None,
) -> VerifierOut:
    """Make a verifier account a verifier trusted for ``scope`` (indicator keys), with its own Ed25519 key
    wrapped under the KEK; commits. Called by ``sesame admin create-verifier`` (keys from the settings)."""
    errors: list[FieldError] = []
    clean_name = " ".join(name.split())
    if not 1 <= len(clean_name) <= 200:
        errors.append(FieldError("name", "must be 1 to 200 characters"))
    wanted = list(dict.fromkeys(s.strip() for s in scope if s.strip()))
    if not wanted:
        errors.append(FieldError("scope", "must name at least one indicator"))
    unknown = [k for k in wanted if k not in CATALOGUE]
    if unknown:
        errors.append(FieldError("scope", f"unknown indicators: {', '.join(sorted(unknown)[:10])}"))
    account = await get_account(session, account_id) if _valid_id(account_id) else None
    if account is None or account.kind != "verifier":
        errors.append(FieldError("account_id", "must be a verifier account"))
    if errors:
        raise InvalidInput(errors)
    if await session.scalar(select(Verifier.id).where(col(Verifier.account_id) == account_id)) is not None:
        raise VerifierExists()
    if keys is None:
        from sesame.settings import get_settings

        keys = KeyRing.for_settings(get_settings())
    new_key = signing.generate_verifier_key(keys)
    verifier = Verifier(account_id=account_id, name=clean_name, scope=wanted)
    session.add(verifier)
    try:
        await session.flush()
        assert verifier.id is not None
        session.add(
            VerifierKey(
                verifier_id=verifier.id,
                kid=new_key.kid,
                public_key=new_key.public_key,
                kek_id=new_key.kek_id,
                wrapped_private=new_key.wrapped_private,
            )
        )
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise VerifierExists() from None
    return VerifierOut(id=verifier.id, name=verifier.name, scope=wanted, kids=[new_key.kid], active=True)


async def list_verifiers(session: AsyncSession) -> list[VerifierOut]:
    verifiers = list(await session.scalars(select(Verifier).order_by(col(Verifier.id))))
    kids: dict[int, list[str]] = {}
    for verifier_id, kid in (
        await session.execute(select(VerifierKey.verifier_id, VerifierKey.kid).order_by(col(VerifierKey.id)))
    ).all():
        kids.setdefault(verifier_id, []).append(kid)
    return [
        VerifierOut(
            id=v.id or 0, name=v.name, scope=list(v.scope), kids=kids.get(v.id or 0, []), active=v.active
        )
        for v in verifiers
    ]


async def verifier_jwks(session: AsyncSession) -> list[dict[str, str]]:
    """Public JWKs of every verifier key (retired ones too: they still verify old attestations)."""
    rows = await session.execute(
        select(VerifierKey.kid, VerifierKey.public_key).order_by(col(VerifierKey.id))
    )
    return [signing.jwk(kid, public) for kid, public in rows.all()]


async def verifier_keys_pending(session: AsyncSession, keys: KeyRing) -> int:
    """Verifier keys still wrapped under an old KEK (``sesame keys rotate`` progress)."""
    count = await session.scalar(
        select(func.count()).select_from(VerifierKey).where(col(VerifierKey.kek_id) != keys.current_kek_id)
    )
    return int(count or 0)


async def rewrap_verifier_keys(
    session: AsyncSession, keys: KeyRing, advance: Callable[[int], None], *, batch_size: int = 100
) -> int:
    """Re-wrap verifier keys under the current KEK in committed batches (resumable)."""
    done = 0
    while True:
        batch = list(
            await session.scalars(
                select(VerifierKey)
                .where(col(VerifierKey.kek_id) != keys.current_kek_id)
                .order_by(col(VerifierKey.id))
                .limit(batch_size)
            )
        )
        if not batch:
            return done
        for key in batch:
            key.kek_id, key.wrapped_private = signing.rewrap(keys, key.kek_id, key.wrapped_private)
            session.add(key)
        await session.commit()
        done += len(batch)
        advance(len(batch))


async def _verifier_for_account(session: AsyncSession, account_id: int) -> Verifier:
    verifier = await session.scalar(select(Verifier).where(col(Verifier.account_id) == account_id))
    if verifier is None or verifier.id is None or not verifier.active:
        raise NotAVerifier()
    return verifier


async def _current_key(session: AsyncSession, verifier_id: int) -> VerifierKey:
    key = await session.scalar(
        select(VerifierKey)
        .where(col(VerifierKey.verifier_id) == verifier_id, col(VerifierKey.retired_at).is_(None))
        .order_by(col(VerifierKey.id).desc())
        .limit(1)
    )
    if key is None:
        raise NotAVerifier("this verifier has no active signing key")
    return key


# -- attestations --------------------------------------------------------------------------------------------------
def _attestation_out(attestation: Attestation, verifier_name: str) -> AttestationOut:
    return AttestationOut(
        id=attestation.id or 0,
        company_id=attestation.company_id,
        indicator=attestation.indicator,
        value=_value(attestation.value_json),
        version=attestation.version,
        verifier_id=attestation.verifier_id,
        verifier_name=verifier_name,
        kid=attestation.kid,
        issued_at=_aware(attestation.issued_at),
        valid_until=_aware(attestation.valid_until),
        revoked_at=_aware(attestation.revoked_at) if attestation.revoked_at else None,
        revocation_reason=attestation.revocation_reason,
        ledger_index=attestation.ledger_index,
        revocation_ledger_index=attestation.revocation_ledger_index,
        jws=attestation.jws,
    )


def _claims(attestation: Attestation, value: Value) -> dict[str, Any]:
    return {
        "iss": f"urn:sesame:verifier:{attestation.verifier_id}",
        "sub": f"urn:sesame:company:{attestation.company_id}",
        "jti": str(attestation.id),
        "iat": int(_aware(attestation.issued_at).timestamp()),
        "exp": int(_aware(attestation.valid_until).timestamp()),
        "company_id": attestation.company_id,
        "indicator": attestation.indicator,
        "value": value,
        "version": attestation.version,
    }


async def issue_attestation(
    session: AsyncSession,
    keys: KeyRing,
    *,
    company_id: int,
    account_id: int,
    request: AttestationRequest,
    now: datetime | None = None,
) -> AttestationOut:
    """A verifier attests that ``request.value`` is the value disclosed in a version (default: the current one).

    ``OutsideTrustScope`` (403) when the verifier is not trusted for the indicator; ``ValueMismatch`` (409) when
    the version discloses another value or none. Signs an EdDSA JWS with the verifier's key; commits.
    """
    now = _now(now).replace(microsecond=0)
    verifier = await _verifier_for_account(session, account_id)
    company = await _company(session, company_id)
    indicator = CATALOGUE.get(request.indicator)
    if indicator is None:
        raise InvalidInput.one("body.indicator", "is not an indicator of the catalogue")
    if indicator.key not in verifier.scope:
        raise OutsideTrustScope(f"{verifier.name} is not trusted for {indicator.key}")
    version = request.version or company.current_version
    if version > company.current_version:
        raise InvalidInput.one("body.version", f"the latest version is {company.current_version}")
    try:
        value = catalogue.normalise_value(indicator, request.value, today=now.date())
    except IndicatorValueError as exc:
        raise InvalidInput.one("body.value", str(exc)) from None
    row = await _version_row(session, company.id or 0, version)
    records = (
        await _records(session, row.id, [indicator.key]) if row is not None and row.id is not None else {}
    )
    record = records.get(indicator.key)
    if record is None:
        raise ValueMismatch(f"{indicator.key} is not disclosed in version {version}", disclosed=None)
    if record.value_json != _canonical(value):
        raise ValueMismatch(
            f"version {version} discloses {record.value_json} for {indicator.key}",
            disclosed=_value(record.value_json),
        )
    key = await _current_key(session, verifier.id or 0)
    attestation = Attestation(
        company_id=company.id or 0,
        verifier_id=verifier.id or 0,
        kid=key.kid,
        indicator=indicator.key,
        value_json=record.value_json,
        version=version,
        issued_at=now,
        valid_until=now + timedelta(days=request.valid_days or indicator.attestation_days),
    )
    session.add(attestation)
    await session.flush()
    attestation.jws = signing.sign_attestation(
        keys,
        kid=key.kid,
        kek_id=key.kek_id,
        wrapped_private=key.wrapped_private,
        claims=_claims(attestation, value),
    )
    attestation.ledger_index = await transparency.record(
        session,
        "attestation.issued",
        {
            "attestation_id": attestation.id,
            "company_id": attestation.company_id,
            "indicator": attestation.indicator,
            "value": value,
            "version": version,
            "verifier_id": attestation.verifier_id,
            "kid": key.kid,
            "issued_at": now.isoformat(),
            "valid_until": attestation.valid_until.isoformat(),
            "jws_sha256": hashlib.sha256(attestation.jws.encode()).hexdigest(),
        },
    )
    session.add(attestation)
    await _profile_changed(session, attestation.company_id)
    await session.commit()
    return _attestation_out(attestation, verifier.name)


async def _attestation_row(session: AsyncSession, attestation_id: int) -> tuple[Attestation, str]:
    if not _valid_id(attestation_id):
        raise AttestationNotFound()
    row = (
        await session.execute(
            select(Attestation, Verifier.name)
            .join(Verifier, col(Verifier.id) == col(Attestation.verifier_id))
            .where(col(Attestation.id) == attestation_id)
        )
    ).first()
    if row is None:
        raise AttestationNotFound()
    return row[0], row[1]


async def get_attestation(session: AsyncSession, attestation_id: int) -> AttestationOut:
    attestation, name = await _attestation_row(session, attestation_id)
    return _attestation_out(attestation, name)


async def company_attestations(session: AsyncSession, company_id: int) -> list[AttestationOut]:
    """Every attestation ever issued about a company (revoked and expired ones included), newest first."""
    company = await _company(session, company_id)
    rows = await _attestations(session, [company.id or 0])
    rows.sort(key=lambda r: r.attestation.id or 0, reverse=True)
    return [_attestation_out(r.attestation, r.verifier_name) for r in rows]


async def revoke_attestation(
    session: AsyncSession,
    *,
    attestation_id: int,
    account_id: int,
    reason: str | None = None,
    now: datetime | None = None,
) -> AttestationOut:
    """Revoke an attestation; only its issuing verifier may (``NotIssuer``, 403). Commits."""
    now = _now(now)
    verifier = await _verifier_for_account(session, account_id)
    attestation, name = await _attestation_row(session, attestation_id)
    if attestation.verifier_id != verifier.id:
        raise NotIssuer()
    if attestation.revoked_at is not None:
        raise AlreadyRevoked()
    errors: list[FieldError] = []
    clean_reason = _clean_text(reason, "body.reason", errors)
    if errors:
        raise InvalidInput(errors)
    attestation.revoked_at = now
    attestation.revocation_reason = clean_reason
    payload: dict[str, Any] = {
        "attestation_id": attestation.id,
        "company_id": attestation.company_id,
        "indicator": attestation.indicator,
        "verifier_id": attestation.verifier_id,
        "revoked_at": now.isoformat(),
    }
    if clean_reason:
        payload["reason"] = clean_reason
    attestation.revocation_ledger_index = await transparency.record(session, "attestation.revoked", payload)
    session.add(attestation)
    await _profile_changed(session, attestation.company_id)
    await session.commit()
    return _attestation_out(attestation, name)


def _refusal_out(refusal: AttestationRefusal, verifier_name: str) -> RefusalOut:
    return RefusalOut(
        id=refusal.id or 0,
        company_id=refusal.company_id,
        indicator=refusal.indicator,
        value=_value(refusal.value_json),
        version=refusal.version,
        verifier_id=refusal.verifier_id,
        verifier_name=verifier_name,
        reason=refusal.reason,
        refused_at=_aware(refusal.refused_at),
        ledger_index=refusal.ledger_index,
    )


async def refuse_attestation(
    session: AsyncSession,
    *,
    company_id: int,
    account_id: int,
    request: RefusalRequest,
    now: datetime | None = None,
) -> RefusalOut:
    """A verifier refuses to attest the value a version discloses (default: the current one), with a reason.

    ``OutsideTrustScope`` (403) when the verifier is not trusted for the indicator; ``ValueMismatch`` (409) when
    the version discloses nothing for it; ``AlreadyAttested`` (409) when the value is attested now (revoke that
    attestation instead). The refusal is kept and published in the ledger (``attestation.refused``); the
    indicator's state becomes ``refused`` until a trusted verifier attests it or the company files a changed
    value. Commits.
    """
    now = _now(now).replace(microsecond=0)
    verifier = await _verifier_for_account(session, account_id)
    company = await _company(session, company_id)
    indicator = CATALOGUE.get(request.indicator)
    if indicator is None:
        raise InvalidInput.one("body.indicator", "is not an indicator of the catalogue")
    if indicator.key not in verifier.scope:
        raise OutsideTrustScope(f"{verifier.name} is not trusted for {indicator.key}")
    version = request.version or company.current_version
    if version > company.current_version:
        raise InvalidInput.one("body.version", f"the latest version is {company.current_version}")
    errors: list[FieldError] = []
    reason = _clean_text(request.reason, "body.reason", errors)
    if reason is None and not errors:
        errors.append(FieldError("body.reason", "say why the value cannot be attested"))
    if errors:
        raise InvalidInput(errors)
    assert reason is not None
    row = await _version_row(session, company.id or 0, version)
    records = (
        await _records(session, row.id, [indicator.key]) if row is not None and row.id is not None else {}
    )
    record = records.get(indicator.key)
    if record is None:
        raise ValueMismatch(f"{indicator.key} is not disclosed in version {version}", disclosed=None)
    attestations = await _attestations(session, [company.id or 0], [indicator.key])
    state, _ = _verification(record, version, attestations, now)
    if state is VerificationState.attested:
        raise AlreadyAttested()
    refusal = AttestationRefusal(
        company_id=company.id or 0,
        verifier_id=verifier.id or 0,
        indicator=indicator.key,
        value_json=record.value_json,
        version=version,
        reason=reason,
        refused_at=now,
    )
    session.add(refusal)
    await session.flush()
    refusal.ledger_index = await transparency.record(
        session,
        "attestation.refused",
        {
            "refusal_id": refusal.id,
            "company_id": refusal.company_id,
            "indicator": refusal.indicator,
            "value": _value(record.value_json),
            "version": version,
            "verifier_id": refusal.verifier_id,
            "reason": reason,
            "refused_at": now.isoformat(),
        },
    )
    session.add(refusal)
    await _profile_changed(session, refusal.company_id)
    await session.commit()
    return _refusal_out(refusal, verifier.name)


async def company_refusals(session: AsyncSession, company_id: int) -> list[RefusalOut]:
    """Every refusal to attest one of the company's values (including ones a later filing made moot), newest
    first."""
    company = await _company(session, company_id)
    rows = await _refusals(session, [company.id or 0])
    rows.sort(key=lambda r: r.refusal.id or 0, reverse=True)
    return [_refusal_out(r.refusal, r.verifier_name) for r in rows]


async def verify_attestation(
    session: AsyncSession, jws: str, *, now: datetime | None = None
) -> AttestationCheck:
    """Check an attestation JWS: signature against the verifier's key, trust scope, equality with the value
    disclosed in its version, not revoked, not expired. Never raises for a bad token: ``valid`` says."""
    now = _now(now)
    kid = signing.unverified_kid(jws)
    key = await session.scalar(select(VerifierKey).where(col(VerifierKey.kid) == kid)) if kid else None
    if key is None:
        return AttestationCheck(valid=False, problems=["not an attestation signed by a known verifier key"])
    try:
        claims = signing.verify_attestation_jws(jws, public_key=key.public_key)
    except signing.AttestationSignatureError:
        return AttestationCheck(valid=False, problems=["the signature does not verify"])
    problems: list[str] = []
    try:
        attestation_id = int(claims["jti"])
        company_id = int(claims["company_id"])
        version = int(claims["version"])
        indicator = str(claims["indicator"])
        value = claims["value"]
        issued_at = datetime.fromtimestamp(int(claims["iat"]), UTC)
        valid_until = datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return AttestationCheck(valid=False, problems=["the claims are incomplete"])
    stored = await session.get(Attestation, attestation_id) if _valid_id(attestation_id) else None
    if stored is None or (stored.kid, stored.company_id, stored.indicator, stored.version) != (
        key.kid,
        company_id,
        indicator,
        version,
    ):
        problems.append("no such attestation was issued")
    elif stored.revoked_at is not None:
        problems.append("revoked")
    verifier = await session.get(Verifier, key.verifier_id)
    if verifier is None or not verifier.active or indicator not in verifier.scope:
        problems.append("the verifier is not trusted for this indicator")
    row = await _version_row(session, company_id, version) if _valid_id(company_id) else None
    records = await _records(session, row.id, [indicator]) if row is not None and row.id is not None else {}
    record = records.get(indicator)
    try:
        same = record is not None and record.value_json == _canonical(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        same = False
    if not same:
        problems.append("the value differs from the one disclosed in that version")
    if valid_until <= now:
        problems.append("expired")
    return AttestationCheck(
        valid=not problems,
        problems=problems,
        attestation_id=attestation_id,
        company_id=company_id,
        indicator=indicator,
        value=value if isinstance(value, int | float | str) and not isinstance(value, bool) else None,
        version=version,
        verifier_id=key.verifier_id,
        issued_at=issued_at,
        valid_until=valid_until,
    )


# -- open data ----------------------------------------------------------------------------------------------------
OpenDataExtension = Callable[[AsyncSession, list[int]], Awaitable[dict[int, dict[str, Any]]]]
#: ``async (session, company_ids) -> {company_id: summary}``: joined into each record's ``recommendations``.
open_data_extensions: list[OpenDataExtension] = []


async def _open_data_batch(
    session: AsyncSession, after_id: int, limit: int, now: datetime
) -> list[OpenDataRecord]:
    companies = list(
        await session.scalars(
            select(Company)
            .where(col(Company.id) > after_id, col(Company.current_version) > 0)
            .order_by(col(Company.id))
            .limit(limit)
        )
    )
    if not companies:
        return []
    ids = [c.id or 0 for c in companies]
    version_rows = {
        v.company_id: v
        for v in await session.scalars(
            select(CivilStatusVersion)
            .join(
                Company,
                and_(
                    col(Company.id) == col(CivilStatusVersion.company_id),
                    col(Company.current_version) == col(CivilStatusVersion.version),
                ),
            )
            .where(col(Company.id).in_(ids))
        )
    }
    version_ids = {v.id: company_id for company_id, v in version_rows.items()}
    records: dict[int, dict[str, IndicatorRecord]] = {}
    for record in await session.scalars(
        select(IndicatorRecord).where(col(IndicatorRecord.version_id).in_(list(version_ids)))
    ):
        records.setdefault(version_ids[record.version_id], {})[record.key] = record
    attestations: dict[int, list[_AttestationRow]] = {}
    for row in await _attestations(session, ids):
        attestations.setdefault(row.attestation.company_id, []).append(row)
    refusals: dict[int, list[_RefusalRow]] = {}
    for refusal in await _refusals(session, ids):
        refusals.setdefault(refusal.refusal.company_id, []).append(refusal)
    out: list[OpenDataRecord] = []
    for company in companies:
        version = version_rows.get(company.id or 0)
        if version is None:
            continue
        own = records.get(company.id or 0, {})
        views = [
            _view(
                CATALOGUE[k],
                own[k],
                version.version,
                attestations.get(company.id or 0, []),
                now,
                refusals.get(company.id or 0, []),
            )
            for k in CATALOGUE
            if k in own
        ]
        out.append(
            OpenDataRecord(
                company_id=company.id or 0,
                legal_name=company.legal_name,
                country=company.country,
                registration_id=f"{company.registration_scheme}:{company.registration_number}",
                nace_sector=company.nace_sector,
                founding_date=company.founding_date,
                version=version.version,
                filed_at=_aware(version.filed_at),
                ledger_index=version.ledger_index,
                content_hash=version.content_hash,
                indicators=views,
            )
        )
    for extension in open_data_extensions:
        extra = await extension(session, [r.company_id for r in out])
        for published in out:
            published.recommendations = extra.get(published.company_id)
    return out


async def iter_open_data(
    factory: async_sessionmaker[AsyncSession], *, batch_size: int = 200, now: datetime | None = None
) -> AsyncIterator[OpenDataRecord]:
    """Every company's current civil status, by id, each batch read in its own short session (so a slow
    download holds no connection between batches)."""
    now = _now(now)
    after = 0
    while True:
        async with factory() as session:
            batch = await _open_data_batch(session, after, batch_size, now)
        if not batch:
            return
        for record in batch:
            yield record
        after = batch[-1].company_id


async def open_data_jsonl(
    factory: async_sessionmaker[AsyncSession], *, now: datetime | None = None
) -> AsyncIterator[str]:
    """JSON lines: one company per line (``OpenDataRecord``)."""
    async for record in iter_open_data(factory, now=now):
        yield record.model_dump_json() + "\n"


CSV_COLUMNS = (
    "company_id",
    "legal_name",
    "registration_id",
    "nace_sector",
    "version",
    "ledger_index",
    "filed_at",
    "indicator",
    "value",
    "unit",
    "period",
    "method",
    "source",
    "state",
    "attested_by",
    "valid_until",
)


def _cell(value: object) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula gets a leading apostrophe (OWASP)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


async def open_data_csv(
    factory: async_sessionmaker[AsyncSession], *, now: datetime | None = None
) -> AsyncIterator[str]:
    """CSV in long form: one row per company and disclosed indicator, header first (``CSV_COLUMNS``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    async for record in iter_open_data(factory, now=now):
        buffer.seek(0)
        buffer.truncate()
        for view in record.indicators:
            writer.writerow(
                [
                    _cell(record.company_id),
                    _cell(record.legal_name),
                    _cell(record.registration_id),
                    _cell(record.nace_sector),
                    _cell(record.version),
                    _cell(record.ledger_index),
                    _cell(record.filed_at),
                    _cell(view.key),
                    _cell(view.value),
                    _cell(view.unit),
                    _cell(view.period),
                    _cell(view.method),
                    _cell(view.source),
                    _cell(view.state.value),
                    _cell(view.attested_by),
                    _cell(view.valid_until),
                ]
            )
        yield buffer.getvalue()
