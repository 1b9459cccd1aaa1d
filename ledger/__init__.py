"""Sésame's transparency ledger: an RFC 9162 Merkle log with C2SP signed checkpoints and witness cosignatures.

Pure functions here (hashing, proofs, notes, checkpoints, canonical events); SQL storage in
``ledger.storage``. Nothing in this package imports the rest of Sésame, so anyone can audit the log with it.

Example::

    from datetime import UTC, datetime
    from ledger import (
        Checkpoint, Ed25519Signer, encode_event, inclusion_proof, leaf_hash, open_checkpoint,
        root_from_leaf_hashes, sign_checkpoint, verify_inclusion,
    )

    leaves = [encode_event("disclosure.filed", {"company": str(i)}, at=datetime.now(UTC)) for i in range(5)]
    hashes = [leaf_hash(leaf) for leaf in leaves]
    root = root_from_leaf_hashes(hashes)

    signer = Ed25519Signer.generate("sesame.example/log")
    note = sign_checkpoint(Checkpoint(origin=signer.name, size=len(hashes), root_hash=root), signer)
    checkpoint = open_checkpoint(note, signer.verifier())

    proof = inclusion_proof(3, checkpoint.size, lambda s, e: root_from_leaf_hashes(hashes[s:e]))
    verify_inclusion(hashes[3], 3, checkpoint.size, proof, checkpoint.root_hash)  # raises ProofError if not

In SQL (``ledger.storage.LedgerStore``), inside the caller's transaction::

    store = LedgerStore()
    (index,) = await store.append(session, [("disclosure.filed", leaf_bytes)])
    await store.sign_checkpoint(session, signer)
    await session.commit()  # the index is acknowledged only now
    proof = await store.inclusion_proof(session, index, (await store.latest_checkpoint(session)).checkpoint.size)
"""

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
from ledger.errors import (
    CheckpointError,
    EventError,
    LedgerError,
    NoteError,
    ProofError,
    TamperError,
    UnknownIndexError,
)
from ledger.events import (
    EventKind,
    decode_event,
    encode_event,
    encode_personal_event,
    new_salt,
    salted_commitment,
)
from ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from ledger.note import (
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    NoteSignature,
    Signer,
    Verifier,
    open_note,
    parse_note,
    sign_note,
)

__all__ = [
    "COSIGNATURE_V1",
    "EMPTY_ROOT",
    "Checkpoint",
    "CheckpointError",
    "CompactRange",
    "CosignatureSigner",
    "CosignatureVerifier",
    "Ed25519Signer",
    "Ed25519Verifier",
    "EventError",
    "EventKind",
    "LedgerError",
    "Note",
    "NoteError",
    "NoteSignature",
    "ProofError",
    "Signer",
    "TamperError",
    "UnknownIndexError",
    "Verifier",
    "consistency_proof",
    "cosignature_message",
    "decode_event",
    "encode_event",
    "encode_personal_event",
    "inclusion_proof",
    "leaf_hash",
    "new_salt",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_note",
    "root_from_leaf_hashes",
    "salted_commitment",
    "sign_checkpoint",
    "sign_note",
    "verifier_from_vkey",
    "verify_consistency",
    "verify_cosignatures",
    "verify_inclusion",
]
