"""KEK rotation: every DEK re-wrapped (ciphertexts untouched), resumable, and every field still readable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Update, select
from sqlalchemy.ext.asyncio import AsyncSession

from sesame import rotation
from sesame.keys import KeyRing
from tests.vault.conftest import FIVE_FIELDS, World
from vault import services
from vault.models import Vault, VaultField


async def snapshot(world: World) -> tuple[dict[int, tuple[str | None, bytes | None]], set[bytes]]:
    async with world.session() as session:
        vaults = {
            v.id or 0: (v.kek_id, v.wrapped_dek) for v in (await session.execute(select(Vault))).scalars()
        }
        ciphertexts = {f.ciphertext for f in (await session.execute(select(VaultField))).scalars()}
    return vaults, ciphertexts


async def test_rotation_rewraps_every_dek_and_keeps_fields_readable(world: World) -> None:
    citizens = [await world.citizen({**FIVE_FIELDS, "custom.n": f"citizen {i}"}) for i in range(5)]
    empty = await world.citizen()  # no DEK yet: nothing to re-wrap
    before, ciphertexts = await snapshot(world)
    ring: KeyRing = world.app.state.keyring
    old_kek = ring.current_kek_id
    assert ("vault data keys", services.pending_rewrap, services.rewrap_data_keys) in rotation.rewrappers

    new_kek = ring.rotate_kek()
    async with world.session() as session:
        assert await services.pending_rewrap(session, ring) == 5
        # Interrupted after the first batch of 2 ...
        progress: list[int] = []

        def stop_after_first(n: int) -> None:
            progress.append(n)
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            await services.rewrap_data_keys(session, ring, stop_after_first, batch=2)
    async with world.session() as session:
        assert await services.pending_rewrap(session, ring) == 3  # the first batch was committed
        # ... and resumed.
        assert await services.rewrap_data_keys(session, ring, progress.append, batch=2) == 3
        assert await services.pending_rewrap(session, ring) == 0
    assert progress == [2, 2, 1]

    after, ciphertexts_after = await snapshot(world)
    assert ciphertexts_after == ciphertexts  # no field re-encrypted
    for vault_id, (kek_id, wrapped) in after.items():
        if before[vault_id][1] is None:
            assert wrapped is None  # the empty vault
            continue
        assert kek_id == new_kek != old_kek and wrapped != before[vault_id][1]

    # Drop the old KEK entirely: everything still opens with the new one alone.
    key_dir: Path = world.app.state.settings.key_dir
    (key_dir / "kek" / f"{old_kek}.key").unlink()
    fresh = KeyRing.load(key_dir=key_dir)
    async with world.session() as session:
        for i, citizen in enumerate(citizens):
            values = {
                f.name: f.value
                for f in await services.get_fields(session, fresh, account_id=citizen.account_id)
            }
            assert values == {**FIVE_FIELDS, "custom.n": f"citizen {i}"}
        assert await services.get_fields(session, fresh, account_id=empty.account_id) == []


class EraseBeforeFirstWrite:
    """Wraps the rotation's session: just before its first UPDATE, the citizen erases (in another session)."""

    def __init__(self, session: AsyncSession, erase: Callable[[], Awaitable[None]]) -> None:
        self._session = session
        self._erase = erase
        self.erased = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.erased and isinstance(statement, Update):
            self.erased = True
            await self._erase()
        return await self._session.execute(statement, *args, **kwargs)


async def test_a_vault_erased_during_rotation_does_not_get_its_key_back(world: World) -> None:
    citizen = await world.citizen({"email": "rotating-5521@exemple.fr"})
    ring: KeyRing = world.app.state.keyring
    ring.rotate_kek()

    async def erase() -> None:
        async with world.session() as other:
            await services.erase_vault(other, account_id=citizen.account_id)

    async with world.session() as session:
        racing = EraseBeforeFirstWrite(session, erase)
        await services.rewrap_data_keys(cast(AsyncSession, racing), ring, lambda n: None)
        assert racing.erased
    async with world.session() as session:
        vault = (
            await session.execute(select(Vault).where(Vault.account_id == citizen.account_id))
        ).scalar_one()  # type: ignore[arg-type]
        assert vault.erased_at is not None and vault.wrapped_dek is None and vault.kek_id is None
        assert await services.pending_rewrap(session, ring) == 0
