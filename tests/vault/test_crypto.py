"""vault.crypto: round trips, and every tampering or mix-up fails with the one opaque DecryptionError."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.events import salted_commitment as ledger_commitment
from sesame.keys import KeyRing
from vault import crypto
from vault.errors import DecryptionError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=200),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=20,
)
names = st.from_regex(r"[a-z_]{1,20}(\.[a-z0-9-]{1,20})?", fullmatch=True)
sesame_ids = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=32
)


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return KeyRing.load(key_dir=tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def dek() -> crypto.DataKey:
    key, _raw = crypto.new_data_key()
    return key


@settings(max_examples=200, deadline=None)
@given(value=json_values, sesame_id=sesame_ids, field=names, version=st.integers(1, 2**32 - 1))
def test_round_trip(dek: crypto.DataKey, value: Any, sesame_id: str, field: str, version: int) -> None:
    sealed = crypto.seal_value(dek=dek, sesame_id=sesame_id, field=field, version=version, value=value)
    assert len(sealed.nonce) == 12
    opened = crypto.open_value(dek=dek, sesame_id=sesame_id, field=field, version=version, sealed=sealed)
    assert opened == value


@settings(max_examples=200, deadline=None)
@given(value=st.text(min_size=1, max_size=100), data=st.data())
def test_any_flipped_bit_fails(dek: crypto.DataKey, value: str, data: st.DataObject) -> None:
    sealed = crypto.seal_value(dek=dek, sesame_id="sid", field="email", version=1, value=value)
    blob = bytearray(sealed.nonce + sealed.ciphertext)
    position = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[position // 8] ^= 1 << (position % 8)
    tampered = crypto.Sealed(nonce=bytes(blob[:12]), ciphertext=bytes(blob[12:]))
    with pytest.raises(DecryptionError) as caught:
        crypto.open_value(dek=dek, sesame_id="sid", field="email", version=1, sealed=tampered)
    assert str(caught.value) == "decryption failed"  # says nothing more


@pytest.mark.parametrize(
    ("sesame_id", "field", "version"),
    [
        ("other", "email", 1),
        ("sid", "phone", 1),
        ("sid", "email", 2),
        ("sidemail", "", 1),
        ("si", "demail", 1),
    ],
)
def test_wrong_associated_data_fails(dek: crypto.DataKey, sesame_id: str, field: str, version: int) -> None:
    sealed = crypto.seal_value(dek=dek, sesame_id="sid", field="email", version=1, value="a@example.org")
    with pytest.raises(DecryptionError):
        crypto.open_value(dek=dek, sesame_id=sesame_id, field=field, version=version, sealed=sealed)


def test_wrong_key_fails(dek: crypto.DataKey) -> None:
    sealed = crypto.seal_value(dek=dek, sesame_id="sid", field="email", version=1, value="a@example.org")
    other, _ = crypto.new_data_key()
    with pytest.raises(DecryptionError):
        crypto.open_value(dek=other, sesame_id="sid", field="email", version=1, sealed=sealed)


@pytest.mark.parametrize("ciphertext", [b"", b"\x00" * 15, b"\x00" * 16, b"\x00" * 64])
def test_truncated_or_forged_ciphertext_fails(dek: crypto.DataKey, ciphertext: bytes) -> None:
    with pytest.raises(DecryptionError):
        crypto.open_value(
            dek=dek,
            sesame_id="s",
            field="f",
            version=1,
            sealed=crypto.Sealed(nonce=b"\x00" * 12, ciphertext=ciphertext),
        )


def test_bad_nonce_length_fails(dek: crypto.DataKey) -> None:
    sealed = crypto.seal_value(dek=dek, sesame_id="s", field="f", version=1, value="x")
    with pytest.raises(DecryptionError):
        crypto.open_value(
            dek=dek,
            sesame_id="s",
            field="f",
            version=1,
            sealed=crypto.Sealed(nonce=sealed.nonce[:8], ciphertext=sealed.ciphertext),
        )


def test_associated_data_is_canonical_and_unambiguous() -> None:
    aad = crypto.field_aad(sesame_id="AbC", field="email", version=3)
    assert aad == b"sesame/vault/field/v1" + b"\x00\x03AbC" + b"\x00\x05email" + b"\x00\x00\x00\x03"
    assert crypto.field_aad(sesame_id="ab", field="c", version=1) != crypto.field_aad(
        sesame_id="a", field="bc", version=1
    )
    with pytest.raises(ValueError):
        crypto.field_aad(sesame_id="s", field="f", version=-1)


def test_nonces_never_repeat(dek: crypto.DataKey) -> None:
    nonces = {
        crypto.seal_value(dek=dek, sesame_id="s", field="f", version=1, value="x").nonce for _ in range(2000)
    }
    assert len(nonces) == 2000


def test_same_value_seals_differently(dek: crypto.DataKey) -> None:
    a = crypto.seal_value(dek=dek, sesame_id="s", field="f", version=1, value="same")
    b = crypto.seal_value(dek=dek, sesame_id="s", field="f", version=1, value="same")
    assert a.ciphertext != b.ciphertext


def test_plaintext_is_not_in_the_ciphertext(dek: crypto.DataKey) -> None:
    sealed = crypto.seal_value(dek=dek, sesame_id="s", field="f", version=1, value="findme-in-clear")
    assert b"findme" not in sealed.nonce + sealed.ciphertext


def test_data_key_is_keyword_only_and_never_printed() -> None:
    _, raw = crypto.new_data_key()
    with pytest.raises(TypeError):
        crypto.DataKey(raw)  # type: ignore[misc]
    key = crypto.DataKey(key=raw)
    assert raw.hex() not in repr(key) and "secret" in repr(key)
    with pytest.raises(DecryptionError):
        crypto.DataKey(key=raw[:16])


def test_wrap_unwrap_and_every_unwrap_failure_is_opaque(ring: KeyRing, dek: crypto.DataKey) -> None:
    key, raw = crypto.new_data_key()
    kek_id, wrapped = crypto.wrap_data_key(keys=ring, dek=raw)
    assert raw not in wrapped and kek_id == ring.current_kek_id
    sealed = crypto.seal_value(dek=key, sesame_id="s", field="f", version=1, value="v")
    again = crypto.unwrap_data_key(keys=ring, kek_id=kek_id, wrapped=wrapped)
    assert crypto.open_value(dek=again, sesame_id="s", field="f", version=1, sealed=sealed) == "v"
    flipped = bytes([wrapped[0] ^ 1]) + wrapped[1:]
    for kid, blob in [
        ("kek-unknown", wrapped),
        (kek_id, flipped),
        (kek_id, wrapped[:-8]),
        (None, wrapped),
        (kek_id, None),
    ]:
        with pytest.raises(DecryptionError):
            crypto.unwrap_data_key(keys=ring, kek_id=kid, wrapped=blob)


def test_rewrap_under_a_rotated_kek_keeps_ciphertexts_readable(tmp_path: Path) -> None:
    ring = KeyRing.load(key_dir=tmp_path)
    key, raw = crypto.new_data_key()
    old_kid, wrapped = crypto.wrap_data_key(keys=ring, dek=raw)
    sealed = crypto.seal_value(dek=key, sesame_id="s", field="f", version=1, value="kept")
    new_kid = ring.rotate_kek()
    kid, rewrapped = crypto.rewrap_data_key(keys=ring, kek_id=old_kid, wrapped=wrapped)
    assert kid == new_kid != old_kid and rewrapped != wrapped
    reloaded = KeyRing.load(key_dir=tmp_path)
    dek = crypto.unwrap_data_key(keys=reloaded, kek_id=kid, wrapped=rewrapped)
    assert crypto.open_value(dek=dek, sesame_id="s", field="f", version=1, sealed=sealed) == "kept"


def test_holder_key_round_trip_and_binding(dek: crypto.DataKey) -> None:
    key = crypto.new_holder_key()
    sealed = crypto.seal_holder_key(dek=dek, sesame_id="s1", key=key)
    opened = crypto.open_holder_key(dek=dek, sesame_id="s1", sealed=sealed)
    assert opened.public_key() == key.public_key()
    with pytest.raises(DecryptionError):
        crypto.open_holder_key(dek=dek, sesame_id="s2", sealed=sealed)


def test_sesame_ids_are_unguessable_and_url_safe() -> None:
    ids = {crypto.new_sesame_id() for _ in range(1000)}
    assert len(ids) == 1000
    for sid in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{24}", sid)  # 18 random bytes = 144 bits


def test_commitment_matches_the_ledger_definition() -> None:
    salt = crypto.new_salt()
    payload = {"sesame_id": "x", "fields": ["email"], "company_id": 3, "at": "2026-01-01T00:00:00.000000Z"}
    assert crypto.salted_commitment(salt, payload) == ledger_commitment(salt, payload)
