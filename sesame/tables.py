"""Imports every package's models so ``SQLModel.metadata`` is complete (Alembic, tests, ``create_all``)."""

from __future__ import annotations

from sqlmodel import SQLModel

from sesame.modules import optional_module

MODEL_MODULES = (
    "sesame.accounts.models",
    "ledger.models",
    "company_profiles.models",
    "vault.models",
    "scanner.models",
    "scanner.checkout.models",
    "company_profiles.recommendations.models",
    "vault.sharing.models",
)


def load_all() -> type[SQLModel]:
    for name in MODEL_MODULES:
        optional_module(name)
    return SQLModel


metadata = load_all().metadata
