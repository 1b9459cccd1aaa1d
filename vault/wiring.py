"""Hooks the vault into the kernel: a vault at citizen sign-up, sesame_id on /accounts/me, DEK re-wrapping."""

from __future__ import annotations

from sesame import rotation
from sesame.accounts import api as accounts_api
from sesame.accounts import services as accounts_services
from vault import services


def install() -> None:
    if services.on_account_created not in accounts_services.account_created_hooks:
        accounts_services.account_created_hooks.append(services.on_account_created)
    if services.sesame_id_for_account not in accounts_api.sesame_id_lookup:
        accounts_api.sesame_id_lookup.append(services.sesame_id_for_account)
    rotation.register("vault data keys", services.pending_rewrap, services.rewrap_data_keys)
