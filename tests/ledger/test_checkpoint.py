"""C2SP checkpoints and cosignature/v1: formats from the specs, round trips, rejections."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.checkpoint import (
    COSIGNATURE_V1,
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    cosignature_message,
    open_checkpoint,
    sign_checkpoint,
    verifier_from_vkey,
    verify_cosignatures,
)
from ledger.errors import CheckpointError, NoteError
from ledger.note import Ed25519Signer, Ed25519Verifier, format_note, key_id, open_note, parse_note

RELAXED = settings(deadline=None)  # CPU-bound examples: no flaky deadline on a busy machine

SPEC_EXAMPLE = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
    "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
    "qhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)


def test_spec_example_parses() -> None:
    text, sigs = parse_note(SPEC_EXAMPLE)
    checkpoint = Checkpoint.parse(text)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.body() == text
    witness = sigs[1]
    assert witness.name == "witness.example.com/w1"
    assert CosignatureVerifier.timestamp(witness.signature) == 1679315147  # the time in the spec's message


def test_cosigned_message_is_the_specs() -> None:
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert cosignature_message(body, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n"
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


roots = st.binary(min_size=32, max_size=32)
origins = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30
)
extensions = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=20),
    max_size=3,
)


@RELAXED
@given(origin=origins, size=st.integers(0, 2**64 - 1), root=roots, ext=extensions)
def test_checkpoint_round_trip(origin: str, size: int, root: bytes, ext: list[str]) -> None:
    checkpoint = Checkpoint(origin=origin, size=size, root_hash=root, extensions=tuple(ext))
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


@pytest.mark.parametrize(
    "body",
    [
        "origin\n5\n",
        "origin\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n-5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
        "origin\n5\nAAAA\n",
        "\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
    ],
)
def test_malformed_checkpoints(body: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(body)


def test_sign_and_open_checkpoint() -> None:
    log = Ed25519Signer.generate("sesame.example/ledger")
    checkpoint = Checkpoint(origin=log.name, size=7, root_hash=bytes(range(32)))
    note = sign_checkpoint(checkpoint, log)
    assert open_checkpoint(note, log.verifier()) == checkpoint
    with pytest.raises(CheckpointError):
        open_checkpoint(note, Ed25519Signer.generate("sesame.example/ledger").verifier())
    with pytest.raises(CheckpointError):
        open_checkpoint(note.replace("\n7\n", "\n8\n"), log.verifier())


@RELAXED
@given(stamp=st.integers(0, 2**63 - 1), size=st.integers(0, 10**12), root=roots)
def test_cosignature_round_trip(stamp: int, size: int, root: bytes) -> None:
    log = Ed25519Signer.generate("sesame.example/ledger")
    witness = CosignatureSigner.generate("witness.example/w1", clock=lambda: stamp)
    note = sign_checkpoint(Checkpoint(origin=log.name, size=size, root_hash=root), log)
    text, sigs = parse_note(note)
    cosigned = format_note(text, [*sigs, witness.cosign(note)])
    assert verify_cosignatures(cosigned, [witness.verifier()]) == {"witness.example/w1": stamp}
    # The log's own signature still opens, the witness's is an unknown key to the log verifier.
    assert open_note(cosigned, [log.verifier()]).unverified[0].name == "witness.example/w1"
    assert open_checkpoint(cosigned, log.verifier()).size == size


def test_cosignature_key_id_and_vkey_use_type_4() -> None:
    witness = CosignatureSigner.generate("witness.example/w1", clock=lambda: 1)
    verifier = verifier_from_vkey(witness.vkey)
    assert isinstance(verifier, CosignatureVerifier)
    assert verifier.key_id == key_id("witness.example/w1", COSIGNATURE_V1, verifier.public_key)
    assert base64.b64decode(witness.vkey.split("+", 2)[2])[0] == 0x04
    assert CosignatureSigner.from_skey(witness.skey()).vkey == witness.vkey
    log = Ed25519Signer.generate("log.example")
    assert isinstance(verifier_from_vkey(log.vkey), Ed25519Verifier)
    with pytest.raises(NoteError):
        CosignatureVerifier.from_vkey(log.vkey)
    with pytest.raises(NoteError):
        Ed25519Verifier.from_vkey(witness.vkey)


def test_bad_cosignature_is_rejected() -> None:
    log = Ed25519Signer.generate("log.example")
    witness = CosignatureSigner.generate("witness.example/w1", clock=lambda: 1700000000)
    note = sign_checkpoint(Checkpoint(origin=log.name, size=3, root_hash=bytes(32)), log)
    text, sigs = parse_note(note)
    cosig = witness.cosign(note)
    # The timestamp is signed: changing it breaks the signature.
    moved = type(cosig)(
        name=cosig.name, key_id=cosig.key_id, signature=(1700000001).to_bytes(8, "big") + cosig.signature[8:]
    )
    with pytest.raises(CheckpointError):
        verify_cosignatures(format_note(text, [*sigs, moved]), [witness.verifier()])
    # A cosignature of another checkpoint does not transfer.
    other = sign_checkpoint(Checkpoint(origin=log.name, size=4, root_hash=bytes(32)), log)
    other_text, other_sigs = parse_note(other)
    with pytest.raises(CheckpointError):
        verify_cosignatures(format_note(other_text, [*other_sigs, cosig]), [witness.verifier()])
    # Unknown witnesses are ignored.
    stranger = CosignatureSigner.generate("stranger.example", clock=lambda: 1).verifier()
    assert verify_cosignatures(format_note(text, [*sigs, cosig]), [stranger]) == {}


def test_cosigner_refuses_non_checkpoints() -> None:
    witness = CosignatureSigner.generate("witness.example/w1", clock=lambda: 1)
    with pytest.raises(CheckpointError):
        witness.cosign("just some text\n")
