"""Hooks of the recommendations: erasure forgets a citizen's recommendations; the open-data export carries
each company's (k-anonymous) recommendation summary."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from company_profiles import services as profile_services
from company_profiles.recommendations import services
from sesame.accounts import services as accounts_services

__all__ = ["install"]


async def _on_erased(session: Any, account: Any) -> None:
    account_id = account if isinstance(account, int) else getattr(account, "id", None)
    if isinstance(account_id, int):
        await services.forget_citizen(session, account_id)


async def _open_data(session: AsyncSession, company_ids: list[int]) -> dict[int, dict[str, Any]]:
    summaries = await services.recommendation_summaries(session, company_ids)
    return {company_id: summary.model_dump(mode="json") for company_id, summary in summaries.items()}


def install() -> None:
    if _on_erased not in accounts_services.account_erased_hooks:
        accounts_services.account_erased_hooks.append(_on_erased)
    if _open_data not in profile_services.open_data_extensions:
        profile_services.open_data_extensions.append(_open_data)
