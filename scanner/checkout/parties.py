"""Who a checkout involves, read through the other packages' service functions (and only those).

``Parties`` is the port; ``ServiceParties`` asks ``vault.services`` and ``company_profiles.services``;
``FakeParties`` answers from memory for unit tests. The checkout's own types below are all the rest of this
package sees of the vault and the company profiles.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from company_profiles.schemas import IndicatorView

#: Shown when the citizen chose no highlight: the indicator the gate was designed around.
DEFAULT_HIGHLIGHTS = ("employee_satisfaction",)


@dataclass(frozen=True, slots=True)
class Company:
    id: int
    legal_name: str


@dataclass(frozen=True, slots=True)
class CitizenPreferences:
    contactless: bool
    highlights: tuple[str, ...] = DEFAULT_HIGHLIGHTS
    language: str = "fr"


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator of the company's civil status, as the prompt shows it."""

    key: str
    label_fr: str
    label_en: str
    value: str | int | float | Decimal | None
    unit: str | None
    verification: str  # company_profiles' state: attested, self_declared, expired, revoked, undisclosed
    verified: bool
    disclosed: bool

    def as_dict(self) -> dict[str, Any]:
        value = self.value
        if isinstance(value, Decimal):
            value = str(value)
        return {
            "key": self.key,
            "label_fr": self.label_fr,
            "label_en": self.label_en,
            "value": value,
            "unit": self.unit,
            "verification": self.verification,
            "verified": self.verified,
            "disclosed": self.disclosed,
        }


class Parties(Protocol):
    async def citizen_for_sesame_id(self, session: AsyncSession, sesame_id: str) -> int | None:
        """The citizen's account id, or ``None`` for an unknown Sésame."""

    async def preferences(self, session: AsyncSession, citizen_account_id: int) -> CitizenPreferences: ...

    async def has_open_account(self, session: AsyncSession, sesame_id: str, company_id: int) -> bool: ...

    async def company_for_account(self, session: AsyncSession, account_id: int) -> Company | None: ...

    async def indicators(self, session: AsyncSession, company_id: int, keys: list[str]) -> list[Indicator]:
        """The company's current values for ``keys``, in that order; undisclosed ones say so."""


#: company_profiles' verification states that mean "a trusted verifier signed this value".
_VERIFIED_STATES = frozenset({"attested"})


def indicator_from_view(view: IndicatorView) -> Indicator:
    """Translate company_profiles' ``IndicatorView`` into the checkout's ``Indicator``."""
    state = str(getattr(view.state, "value", view.state))
    disclosed = bool(view.disclosed) and view.value is not None
    return Indicator(
        key=view.key,
        label_fr=view.label_fr,
        label_en=view.label_en,
        value=view.value if disclosed else None,
        unit=view.unit,
        verification=state if disclosed else "undisclosed",
        verified=disclosed and state in _VERIFIED_STATES,
        disclosed=disclosed,
    )


class _TimedCache:
    """A small per-process cache whose entries live ``seconds``; the oldest go first when it is full."""

    def __init__(self, seconds: float, size: int = 2048) -> None:
        self._seconds = seconds
        self._size = size
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        found = self._entries.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: Hashable, value: Any) -> None:
        self._entries[key] = (time.monotonic() + self._seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


class ServiceParties:
    """The real implementation: the vault's and the company profiles' service functions.

    What the citizen controls (account open, contactless on, their choices) is read on every checkout, so a
    change takes effect at once. The company's side is cached briefly per process: its name for a minute, its
    indicators for ``indicator_seconds`` (10 s). A prompt is a snapshot the citizen may look at for the whole
    checkout TTL anyway; the cache saves four queries on the path the till waits on.
    """

    def __init__(self, *, company_seconds: float = 60.0, indicator_seconds: float = 10.0) -> None:
        self._companies = _TimedCache(company_seconds)
        self._indicators = _TimedCache(indicator_seconds)

    async def citizen_for_sesame_id(self, session: AsyncSession, sesame_id: str) -> int | None:
        from vault import services as vault

        ref = await vault.vault_for_sesame_id(session, sesame_id)
        return None if ref is None else ref.account_id

    async def preferences(self, session: AsyncSession, citizen_account_id: int) -> CitizenPreferences:
        from vault import services as vault

        found = await vault.citizen_settings(session, citizen_account_id)
        return CitizenPreferences(
            contactless=found.contactless,
            highlights=tuple(found.highlights) or DEFAULT_HIGHLIGHTS,
            language=found.language or "fr",
        )

    async def has_open_account(self, session: AsyncSession, sesame_id: str, company_id: int) -> bool:
        from vault import services as vault

        return await vault.open_account_between(session, sesame_id, company_id) is not None

    async def company_for_account(self, session: AsyncSession, account_id: int) -> Company | None:
        from company_profiles import services as companies

        cached: Company | None = self._companies.get(account_id)
        if cached is not None:
            return cached
        ref = await companies.company_for_account(session, account_id)
        if ref is None:
            return None
        company = Company(id=ref.id, legal_name=ref.legal_name)
        self._companies.put(account_id, company)
        return company

    async def indicators(self, session: AsyncSession, company_id: int, keys: list[str]) -> list[Indicator]:
        from company_profiles import services as companies

        cache_key = (company_id, tuple(keys))
        cached: tuple[Indicator, ...] | None = self._indicators.get(cache_key)
        if cached is not None:
            return list(cached)
        views = await companies.highlights(session, company_id, keys)
        found = [indicator_from_view(view) for view in views]
        self._indicators.put(cache_key, tuple(found))
        return found


@dataclass
class FakeParties:
    """In-memory parties for unit tests: fill the dictionaries, the checkout reads them."""

    citizens: dict[str, int] = field(default_factory=dict)  # sesame_id -> citizen account id
    settings: dict[int, CitizenPreferences] = field(default_factory=dict)
    open_accounts: set[tuple[str, int]] = field(default_factory=set)  # (sesame_id, company id)
    companies: dict[int, Company] = field(default_factory=dict)  # company account id -> company
    company_indicators: dict[int, dict[str, Indicator]] = field(default_factory=dict)

    async def citizen_for_sesame_id(self, session: AsyncSession, sesame_id: str) -> int | None:
        return self.citizens.get(sesame_id)

    async def preferences(self, session: AsyncSession, citizen_account_id: int) -> CitizenPreferences:
        return self.settings.get(citizen_account_id, CitizenPreferences(contactless=False))

    async def has_open_account(self, session: AsyncSession, sesame_id: str, company_id: int) -> bool:
        return (sesame_id, company_id) in self.open_accounts

    async def company_for_account(self, session: AsyncSession, account_id: int) -> Company | None:
        return self.companies.get(account_id)

    async def indicators(self, session: AsyncSession, company_id: int, keys: list[str]) -> list[Indicator]:
        known = self.company_indicators.get(company_id, {})
        return [
            known.get(key)
            or Indicator(
                key=key,
                label_fr=key,
                label_en=key,
                value=None,
                unit=None,
                verification="undisclosed",
                verified=False,
                disclosed=False,
            )
            for key in keys
        ]
