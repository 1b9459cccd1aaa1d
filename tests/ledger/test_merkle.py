"""RFC 9162 hashing and proofs: the published vectors, the RFC 6962 reference root, and properties."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger.errors import ProofError
from ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    consistency_proof,
    consistency_subtrees,
    inclusion_proof,
    inclusion_subtrees,
    leaf_hash,
    range_subtrees,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from tests.ledger.reference import VECTORS, VECTORS_MISSING, make_leaves, naive_root

RELAXED = settings(deadline=None)  # CPU-bound examples: no flaky deadline on a busy machine


def _vector_files(kind: str) -> list[Any]:
    folder = VECTORS / "rfc9162" / kind
    files = sorted(folder.rglob("*.json")) if folder.is_dir() else []
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=VECTORS_MISSING), id="missing")]
    return [pytest.param(f, id=str(f.relative_to(folder))) for f in files]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


@pytest.mark.parametrize("path", _vector_files("inclusion"))
def test_inclusion_vectors(path: Path) -> None:
    v = json.loads(path.read_text())
    args = (
        _b64(v["leafHash"]),
        v["leafIdx"],
        v["treeSize"],
        [_b64(p) for p in v["proof"] or []],
        _b64(v["root"]),
    )
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _vector_files("consistency"))
def test_consistency_vectors(path: Path) -> None:
    v = json.loads(path.read_text())
    args = (v["size1"], v["size2"], [_b64(p) for p in v["proof"] or []], _b64(v["root1"]), _b64(v["root2"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_vector_folder_is_complete() -> None:
    if not VECTORS.is_dir():
        pytest.skip(VECTORS_MISSING)
    files = list((VECTORS / "rfc9162").rglob("*.json"))
    assert len(files) > 150
    assert sum(json.loads(f.read_text())["wantErr"] for f in files) > 140


RFC6962_INPUTS = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]


def test_reference_root_of_eight_leaves() -> None:
    hashes = [leaf_hash(bytes.fromhex(h)) for h in RFC6962_INPUTS]
    expected = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    assert root_from_leaf_hashes(hashes).hex() == expected
    assert naive_root(hashes).hex() == expected


def test_empty_tree() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT


def test_generation_rejects_impossible_proofs() -> None:
    hashes = make_leaves(4)

    def get(s: int, e: int) -> bytes:
        return root_from_leaf_hashes(hashes[s:e])

    for index, size in [(4, 4), (0, 0), (-1, 3)]:
        with pytest.raises(ProofError):
            inclusion_proof(index, size, get)
    for size1, size2 in [(0, 3), (4, 3)]:
        with pytest.raises(ProofError):
            consistency_proof(size1, size2, get)
    assert consistency_proof(3, 3, get) == []


def _getter(hashes: list[bytes], asked: set[tuple[int, int]] | None = None) -> Any:
    def get(start: int, end: int) -> bytes:
        size = end - start
        assert size > 0 and size & (size - 1) == 0 and start % size == 0, (start, end)
        if asked is not None:
            asked.add((start, end))
        return naive_root(hashes[start:end])

    return get


sizes = st.integers(min_value=1, max_value=300)


@RELAXED
@given(size=sizes, data=st.data())
def test_inclusion_proofs_verify_against_naive_root(size: int, data: st.DataObject) -> None:
    hashes = make_leaves(size)
    index = data.draw(st.integers(0, size - 1))
    asked: set[tuple[int, int]] = set()
    proof = inclusion_proof(index, size, _getter(hashes, asked))
    assert asked == inclusion_subtrees(index, size)
    assert len(proof) <= (size - 1).bit_length()
    verify_inclusion(hashes[index], index, size, proof, naive_root(hashes))


@RELAXED
@given(size=sizes, data=st.data())
def test_consistency_proofs_verify_against_naive_roots(size: int, data: st.DataObject) -> None:
    hashes = make_leaves(size)
    size1 = data.draw(st.integers(1, size))
    asked: set[tuple[int, int]] = set()
    proof = consistency_proof(size1, size, _getter(hashes, asked))
    assert asked == consistency_subtrees(size1, size)
    # RFC 9162's own bound: one more than an inclusion proof (the old root's subtree itself may be needed).
    assert len(proof) <= (size - 1).bit_length() + 1
    verify_consistency(size1, size, proof, naive_root(hashes[:size1]), naive_root(hashes))


def test_consistency_proofs_can_exceed_log2_by_one() -> None:
    hashes = make_leaves(4)
    assert len(consistency_proof(3, 4, _getter(hashes))) == 3  # ⌈log2 4⌉ = 2: the bound is inherent


@RELAXED
@given(size=st.integers(2, 200), data=st.data())
def test_tampered_inclusion_proofs_fail(size: int, data: st.DataObject) -> None:
    hashes = make_leaves(size)
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, _getter(hashes))
    root = naive_root(hashes)
    which = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    bad = list(proof)
    bad[which] = bytes(b ^ (1 << (bit % 8)) if i == bit // 8 else b for i, b in enumerate(bad[which]))
    with pytest.raises(ProofError):
        verify_inclusion(hashes[index], index, size, bad, root)
    with pytest.raises(ProofError):
        verify_inclusion(hashes[index], index, size, proof[:-1], root)
    with pytest.raises(ProofError):
        verify_inclusion(hashes[index], index, size, [*proof, proof[0]], root)
    other = data.draw(st.integers(0, size - 1))
    assume(hashes[other] != hashes[index])
    with pytest.raises(ProofError):
        verify_inclusion(hashes[other], index, size, proof, root)


@RELAXED
@given(size=st.integers(3, 200), data=st.data())
def test_tampered_consistency_proofs_fail(size: int, data: st.DataObject) -> None:
    hashes = make_leaves(size)
    size1 = data.draw(st.integers(1, size - 1))
    proof = consistency_proof(size1, size, _getter(hashes))
    root1, root2 = naive_root(hashes[:size1]), naive_root(hashes)
    which = data.draw(st.integers(0, len(proof) - 1))
    bad = list(proof)
    bad[which] = bytes([bad[which][0] ^ 1]) + bad[which][1:]
    with pytest.raises(ProofError):
        verify_consistency(size1, size, bad, root1, root2)
    with pytest.raises(ProofError):
        verify_consistency(size1, size, proof, root2, root1)
    with pytest.raises(ProofError):
        verify_consistency(size1, size, proof[:-1], root1, root2)
    with pytest.raises(ProofError):
        verify_consistency(size1, size, [*proof, proof[0]], root1, root2)


@RELAXED
@given(size=st.integers(0, 600))
def test_roots_agree(size: int) -> None:
    hashes = make_leaves(size)
    compact = CompactRange()
    for h in hashes:
        compact.append(h)
    assert root_from_leaf_hashes(hashes) == naive_root(hashes) == compact.root()


@RELAXED
@given(start=st.integers(0, 1000), size=st.integers(1, 1000), cut=st.integers(0, 1000))
def test_compact_range_reports_every_completed_subtree_once(start: int, size: int, cut: int) -> None:
    hashes = make_leaves(start + size)
    cut = min(cut, start + size)
    resumed = CompactRange(cut, [naive_root(hashes[s:e]) for s, e in range_subtrees(0, cut)])
    completed = [node for h in hashes[cut:] for node in resumed.append(h)]
    for level, index, digest in completed:
        assert digest == naive_root(hashes[index << level : (index + 1) << level])
    expected = {(lv, i) for lv in range(1, 12) for i in range(len(hashes) >> lv) if (i + 1) << lv > cut}
    assert [(lv, i) for lv, i, _ in completed] == sorted(expected, key=lambda n: ((n[1] + 1) << n[0], n[0]))
    assert resumed.root() == naive_root(hashes)


@RELAXED
@given(start=st.integers(0, 5000), length=st.integers(0, 5000))
def test_range_subtrees_cover_exactly(start: int, length: int) -> None:
    parts = range_subtrees(start, start + length)
    pos = start
    for s, e in parts:
        size = e - s
        assert s == pos and size & (size - 1) == 0 and s % size == 0
        pos = e
    assert pos == start + length
    assert len(parts) <= 2 * max(1, length.bit_length())
