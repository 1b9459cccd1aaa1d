"""At rest nothing is in clear; after erasure nothing personal is recoverable, and the ledger holds nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sesame.tables import metadata
from tests.vault.conftest import FIVE_FIELDS, World
from vault.models import CompanyAccount, Grant, Vault, VaultField


def needles(values: dict[str, Any]) -> list[bytes]:
    """Every value as it could appear: each string leaf, and the JSON of each value."""
    found: list[bytes] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, str) and len(value) >= 6:
            found.extend([value.encode("utf-8"), value.encode("utf-16-le")])

    for value in values.values():
        walk(value)
        found.append(json.dumps(value, ensure_ascii=False).encode())
    return found


async def every_row_as_text(world: World) -> str:
    """Every row of every table, rendered: a dialect-independent look at what the database holds."""
    out: list[str] = []
    async with world.session() as session:
        for table in metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                out.append(repr(tuple(row)))
    return "\n".join(out)


async def sqlite_bytes(world: World) -> bytes | None:
    """The SQLite database file after a full WAL checkpoint (plus the WAL, which must then be empty)."""
    url = world.app.state.settings.database_url
    if not url.startswith("sqlite"):
        return None
    async with world.session() as session:
        await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    return _file_and_wal(Path(url.split(":///", 1)[1]))


def _file_and_wal(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_no_value_is_ever_stored_in_clear(world: World) -> None:
    citizen = await world.citizen(FIVE_FIELDS)
    company = await world.company()
    account_id = await world.open_account(company, citizen)
    await world.grant(citizen, account_id, list(FIVE_FIELDS))
    assert (await world.read(company, citizen)).json()["fields"] == FIVE_FIELDS
    await world.client.put(
        "/api/v1/vault/fields/email",
        json={"value": "second.version-9931@exemple.fr"},
        headers=citizen.headers,
    )
    await world.client.post(
        "/api/v1/vault/presentations",
        json={"fields": ["given_name"], "audience": "https://shop.example", "nonce": "nonce-12345"},
        headers=citizen.headers,
    )
    dump = (await every_row_as_text(world)).encode()
    raw = await sqlite_bytes(world)
    for needle in [*needles(FIVE_FIELDS), b"second.version-9931"]:
        assert needle not in dump, needle
        if raw is not None:
            assert needle not in raw, needle


async def test_erasure_shreds_everything_personal(world: World) -> None:
    citizen = await world.citizen(FIVE_FIELDS)
    bystander = await world.citizen({"given_name": "Bystander-Kept"})
    company = await world.company()
    account_id = await world.open_account(company, citizen)
    await world.grant(citizen, account_id, ["email", "given_name"])
    await world.read(company, citizen)
    await world.client.put(
        "/api/v1/vault/fields/phone", json={"value": "+33699887766"}, headers=citizen.headers
    )
    await world.client.post(
        "/api/v1/vault/presentations",
        json={"fields": ["email"], "audience": "https://shop.example", "nonce": "nonce-12345"},
        headers=citizen.headers,
    )
    async with world.session() as session:
        vault = (
            await session.execute(select(Vault).where(Vault.sesame_id == citizen.sesame_id))
        ).scalar_one()  # type: ignore[arg-type]
        secrets_ = [vault.wrapped_dek, vault.holder_key]
        secrets_ += [
            f.ciphertext
            for f in (
                await session.execute(select(VaultField).where(VaultField.vault_id == vault.id))
            ).scalars()
        ]  # type: ignore[arg-type]
        vault_id = vault.id
    assert all(secrets_) and len(secrets_) >= 7
    leaves_before = len(await world.ledger_leaves())

    response = await world.client.delete("/api/v1/vault", headers=citizen.headers)
    assert response.status_code == 204

    # The login is gone: the token is refused at once.
    assert (await world.client.get("/api/v1/accounts/me", headers=citizen.headers)).status_code == 401
    # The company lost everything; the sesame_id resolves to nothing.
    assert (await world.read(company, citizen)).status_code == 404
    async with world.session() as session:
        from vault import services

        assert await services.vault_for_sesame_id(session, citizen.sesame_id or "") is None
        assert (
            await services.open_account_between(session, citizen.sesame_id or "", company.company_id or 0)
            is None
        )
        accounts = (
            await session.execute(select(CompanyAccount).where(CompanyAccount.vault_id == vault_id))
        ).scalars()  # type: ignore[arg-type]
        assert {a.state for a in accounts} == {"closed"}
        grants = (await session.execute(select(Grant).where(Grant.vault_id == vault_id))).scalars()  # type: ignore[arg-type]
        assert all(g.withdrawn_at is not None for g in grants)

    # Nothing recoverable from the database: no value, no ciphertext, no wrapped key, no login email.
    dump = (await every_row_as_text(world)).encode()
    raw = await sqlite_bytes(world)
    for needle in [*needles(FIVE_FIELDS), b"+33699887766", citizen.email.encode(), *secrets_]:
        assert needle is not None
        assert needle not in dump, needle
        if raw is not None:
            assert needle not in raw, needle
    # The password no longer opens anything (checked after the scan: a failed login records the email typed).
    login = await world.client.post(
        "/api/v1/auth/token", json={"email": citizen.email, "password": "correct horse battery"}
    )
    assert login.status_code == 401
    # The bystander's vault is untouched.
    assert (await world.client.get("/api/v1/vault/fields/given_name", headers=bystander.headers)).json()[
        "value"
    ] == "Bystander-Kept"

    # The ledger grew only by the public account.closed event (+ grant withdrawals), and holds nothing personal.
    leaves = await world.ledger_leaves()
    assert len(leaves) > leaves_before
    for leaf in leaves:
        for needle in [*needles(FIVE_FIELDS), citizen.email.encode(), (citizen.sesame_id or "").encode()]:
            assert needle not in leaf
    closed = [json.loads(leaf) for leaf in leaves if b'"account.closed"' in leaf]
    assert closed and closed[-1]["company_id"] == company.company_id and len(closed[-1]["citizen"]) == 64


async def test_erased_vault_cannot_be_used_again(world: World) -> None:
    citizen = await world.citizen({"email": "again-7781@exemple.fr"})
    assert (await world.client.delete("/api/v1/vault", headers=citizen.headers)).status_code == 204
    assert (await world.client.delete("/api/v1/vault", headers=citizen.headers)).status_code == 401
    async with world.session() as session:
        from vault import services

        settings = await services.citizen_settings(session, citizen.account_id)
        assert settings.highlights == ["employee_satisfaction"]
        assert await services.sesame_id_for_account(session, citizen.account_id) is None


async def test_other_packages_erase_with_the_vault(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from vault import services

    seen: list[tuple[int, int]] = []

    async def hook(session: AsyncSession, account_id: int, vault_id: int) -> None:
        assert session.in_transaction()
        seen.append((account_id, vault_id))

    monkeypatch.setattr(services, "erasure_hooks", [hook])
    citizen = await world.citizen()
    async with world.session() as session:
        ref = await services.vault_for_sesame_id(session, citizen.sesame_id or "")
    assert ref is not None
    assert (await world.client.delete("/api/v1/vault", headers=citizen.headers)).status_code == 204
    assert seen == [(citizen.account_id, ref.id)]
