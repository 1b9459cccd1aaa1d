"""Connects the domain packages to the kernel's hooks. Called once by ``create_app`` and by the CLI.

The kernel never imports a domain package; this module is the one place that does (with ``sesame.app``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sesame.accounts.models import Account
from sesame.modules import optional_module

_installed = False
#: Modules that expose ``install()`` to register their hooks; absent ones are skipped.
DOMAIN_WIRING = (
    "company_profiles.wiring",
    "vault.wiring",
    "scanner.wiring",
    "scanner.checkout.wiring",
    "company_profiles.recommendations.wiring",
    "vault.sharing.wiring",
)


def install() -> None:
    global _installed
    if _installed:
        return
    for name in DOMAIN_WIRING:
        module = optional_module(name)
        if module is not None:
            module.install()
    _installed = True


def check_verifier_scope(scope: list[str]) -> None:
    """Refuse an unknown or empty scope before any account is created (the CLI commits the account first)."""
    from company_profiles.services import indicator_catalogue
    from sesame.errors import InvalidInput

    known = {definition.key for definition in indicator_catalogue()}
    unknown = sorted(set(scope) - known)
    if not scope or unknown:
        raise InvalidInput.one(
            "scope", f"unknown indicators: {', '.join(unknown)}" if unknown else "empty scope"
        )


async def make_verifier(
    session: AsyncSession, account: Account, name: str, scope: list[str]
) -> dict[str, Any]:
    """Register ``account`` as a verifier trusted for ``scope`` (company_profiles owns verifiers)."""
    from company_profiles import services

    verifier = await services.register_verifier(session, account_id=account.id or 0, name=name, scope=scope)
    return {"verifier_id": verifier.id, "scope": scope}
