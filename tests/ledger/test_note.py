"""C2SP signed notes: the Go sumdb known answer byte for byte, round trips and rejections."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import NoteError
from ledger.note import (
    Ed25519Signer,
    Ed25519Verifier,
    NoteSignature,
    format_note,
    key_id,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
)
from tests.ledger.reference import VECTORS, VECTORS_MISSING

RELAXED = settings(deadline=None)  # CPU-bound examples: no flaky deadline on a busy machine


@pytest.fixture
def known_answer() -> dict[str, Any]:
    path = VECTORS / "signed-note" / "ed25519-peterneumann.json"
    if not path.is_file():
        pytest.skip(VECTORS_MISSING)
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_known_answer_byte_for_byte(known_answer: dict[str, Any]) -> None:
    signer = Ed25519Signer.from_skey(known_answer["skey"])
    assert signer.name == known_answer["key_name"]
    assert signer.key_id.hex() == known_answer["key_id_hex"]
    assert signer.vkey == known_answer["vkey"]
    assert signer.skey() == known_answer["skey"]
    note = sign_note(known_answer["text"], signer)
    assert note.encode() == known_answer["signed_note"].encode()
    opened = open_note(known_answer["signed_note"], [Ed25519Verifier.from_vkey(known_answer["vkey"])])
    assert opened.text == known_answer["text"]
    assert [s.name for s in opened.verified] == [known_answer["key_name"]]


def test_known_answer_key_id_formula(known_answer: dict[str, Any]) -> None:
    parsed = parse_vkey(known_answer["vkey"])
    assert key_id(parsed.name, 0x01, parsed.public_key).hex() == "c74f20a3"


def test_known_answer_tampered_text_fails(known_answer: dict[str, Any]) -> None:
    verifier = Ed25519Verifier.from_vkey(known_answer["vkey"])
    tampered = known_answer["signed_note"].replace("answer", "Answer")
    with pytest.raises(NoteError, match="does not verify"):
        open_note(tampered, [verifier])


key_names = st.text(
    alphabet=st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs"), blacklist_characters="+"),
    min_size=1,
    max_size=40,
)
texts = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=40), min_size=1, max_size=6
).map(lambda lines: "\n".join(lines) + "\n")


@RELAXED
@given(name=key_names, text=texts)
def test_sign_open_round_trip(name: str, text: str) -> None:
    signer = Ed25519Signer.generate(name)
    note = sign_note(text, signer)
    opened = open_note(note, [signer.verifier()])
    assert opened.text == text
    assert opened.verified[0].name == name
    assert Ed25519Signer.from_skey(signer.skey()).vkey == signer.vkey
    assert Ed25519Verifier.from_vkey(signer.vkey).key_id == signer.key_id


def test_several_signatures_unknown_ignored() -> None:
    log, other, stranger = (Ed25519Signer.generate(n) for n in ("log.example", "other.example", "x.example"))
    note = sign_note("hello\n", log, other, stranger)
    opened = open_note(note, [log.verifier(), other.verifier()])
    assert [s.name for s in opened.verified] == ["log.example", "other.example"]
    assert [s.name for s in opened.unverified] == ["x.example"]
    # A key with the same name but a different key id is a different key: ignored, not failed.
    impostor = Ed25519Signer.generate("log.example")
    assert (
        open_note(sign_note("hello\n", impostor, log), [log.verifier()]).unverified[0].key_id
        == impostor.key_id
    )


def test_at_least_one_known_signature_required() -> None:
    note = sign_note("hello\n", Ed25519Signer.generate("a.example"))
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(note, [Ed25519Signer.generate("b.example").verifier()])


def test_bad_signature_from_known_key_rejects_the_note() -> None:
    signer = Ed25519Signer.generate("a.example")
    text, (sig,) = parse_note(sign_note("hello\n", signer))
    forged = NoteSignature(name=sig.name, key_id=sig.key_id, signature=bytes(64))
    good_other = Ed25519Signer.generate("b.example")
    note = sign_note(text, good_other, existing=[forged])
    with pytest.raises(NoteError, match=r"a\.example does not verify"):
        open_note(note, [signer.verifier(), good_other.verifier()])


def test_text_and_signature_split_at_the_last_blank_line() -> None:
    signer = Ed25519Signer.generate("a.example")
    text = "first\n\nsecond paragraph\n"
    assert open_note(sign_note(text, signer), [signer.verifier()]).text == text


@pytest.mark.parametrize(
    "note",
    [
        "no signatures\n",
        "text\n\n",
        "text\n\n— a.example AAAAAAA=",  # no final newline
        "text\n\n- a.example AAAAAAAA\n",  # hyphen, not em dash
        "text\n\n— a.example AAAA\n",  # shorter than a key id and one byte
        "text\n\n— a.example not*base64\n",
        "text\n\n— a.example AAAAAAA\n",  # missing padding
        "text\n\n— a+b AAAAAAAA\n",
        "te\x01xt\n\n— a.example AAAAAAAA\n",
        "text\n\n— a.example AAAAAAAA\n" * 1 + "— a.example AAAAAAAA\n" * 100,
    ],
)
def test_malformed_notes_are_rejected(note: str) -> None:
    with pytest.raises(NoteError):
        open_note(note, [Ed25519Signer.generate("a.example").verifier()])


def test_text_must_end_with_newline() -> None:
    with pytest.raises(NoteError):
        sign_note("no newline", Ed25519Signer.generate("a.example"))
    with pytest.raises(NoteError):
        format_note("text\n", [])


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b", "tab\tname"])
def test_invalid_key_names(name: str) -> None:
    with pytest.raises(NoteError):
        Ed25519Signer.generate(name)


def test_keys_with_wrong_id_or_type_are_rejected(known_answer: dict[str, Any]) -> None:
    vkey: str = known_answer["vkey"]
    with pytest.raises(NoteError):
        Ed25519Verifier.from_vkey(vkey.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(NoteError):
        Ed25519Verifier.from_vkey(vkey.replace("PeterNeumann", "PeterNeuman"))
    with pytest.raises(NoteError):
        Ed25519Signer.from_skey(known_answer["skey"].replace("c74f20a3", "00000000"))
    with pytest.raises(NoteError):
        Ed25519Verifier.from_vkey("just+two")


def test_signer_repr_hides_the_key() -> None:
    signer = Ed25519Signer.generate("a.example")
    assert "PRIVATE" not in repr(signer)
