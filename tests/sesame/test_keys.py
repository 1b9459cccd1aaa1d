"""Key files: created with mode 0600, stable across restarts, rotation keeps old public keys."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from sesame.keys import KeyRing, SigningKey, b64url


def test_keys_created_0600_and_reloaded(tmp_path: Path) -> None:
    ring = KeyRing.load(key_dir=tmp_path / "keys")
    files = [p for p in (tmp_path / "keys").rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    again = KeyRing.load(key_dir=tmp_path / "keys")
    assert again.signing_key().kid == ring.signing_key().kid
    assert again.current_kek_id == ring.current_kek_id
    assert ring.signing_key("ledger").kid != ring.signing_key("platform").kid


def _load_at_once(key_dir: str, barrier: object, out: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    ring = KeyRing.load(key_dir=Path(key_dir))
    out.put((ring.signing_key().kid, ring.signing_key("ledger").kid, ring.current_kek_id))  # type: ignore[attr-defined]


def test_workers_starting_together_on_an_empty_key_dir_share_one_set_of_keys(tmp_path: Path) -> None:
    """Granian forks its workers before any of them has created a key: they must not each make their own."""
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(6), context.Queue()
    procs = [
        context.Process(target=_load_at_once, args=(str(tmp_path / "keys"), barrier, out)) for _ in range(6)
    ]
    for proc in procs:
        proc.start()
    seen = {out.get(timeout=60) for _ in procs}
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert len(seen) == 1, seen
    assert len(list((tmp_path / "keys" / "kek").glob("*.key"))) == 1
    assert len(list((tmp_path / "keys" / "signing" / "platform").glob("*.key"))) == 1


def test_rotation_keeps_old_public_keys_and_keks(tmp_path: Path) -> None:
    ring = KeyRing.load(key_dir=tmp_path / "keys")
    old = ring.signing_key()
    kek_id, wrapped = ring.wrap(b"\x01" * 32)
    new = ring.rotate_signing()
    ring.rotate_kek()
    reloaded = KeyRing.load(key_dir=tmp_path / "keys")
    assert reloaded.signing_key().kid == new.kid != old.kid
    assert reloaded.public_key(old.kid) is not None
    assert {k["kid"] for k in reloaded.jwks()} >= {old.kid, new.kid}
    assert reloaded.unwrap(kek_id, wrapped) == b"\x01" * 32
    assert reloaded.current_kek_id != kek_id


def test_environment_keys_take_precedence(tmp_path: Path) -> None:
    seed = bytes(range(32))
    ring = KeyRing.load(
        key_dir=tmp_path / "keys", signing_env=f"x:{b64url(seed)}", kek_env=f"env-kek:{b64url(b'k' * 32)}"
    )
    assert ring.signing_key().kid == SigningKey.from_seed(seed).kid
    assert ring.current_kek_id == "env-kek"


def test_tampered_wrapped_key_is_refused(tmp_path: Path) -> None:
    ring = KeyRing.load(key_dir=tmp_path / "keys")
    kek_id, wrapped = ring.wrap(b"\x02" * 32)
    broken = bytes([wrapped[0] ^ 1]) + wrapped[1:]
    with pytest.raises(Exception, match="integrity"):
        ring.unwrap(kek_id, broken)
