"""Hooks of dossiers, segments and offers: erasure forgets what a citizen kept or received here.

Called by ``sesame.wiring.install()``. Uses the kernel's erasure hook list (``account_erased_hooks`` in
``sesame.accounts.services``) when it exists.
"""

from __future__ import annotations

from typing import Any

from sesame.accounts import services as accounts_services
from vault.sharing import services

__all__ = ["install"]


async def _on_erased(session: Any, account: Any) -> None:
    account_id = account if isinstance(account, int) else getattr(account, "id", None)
    if isinstance(account_id, int):
        await services.forget_citizen(session, account_id)


def install() -> None:
    if _on_erased not in accounts_services.account_erased_hooks:
        accounts_services.account_erased_hooks.append(_on_erased)
