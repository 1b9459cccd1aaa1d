"""RFC 9162 Merkle tree hashing, proofs and their verification.

Proof *generation* never sees leaves: it asks a ``SubtreeHashes`` getter for the hashes of complete, aligned
subtrees ``[start, end)`` (``end - start`` a power of two, ``start`` a multiple of it). The ``*_subtrees``
functions list exactly which ones a proof will ask for, so a store can fetch them in one query, and a proof at
any size costs O(log n) reads. Right-edge (incomplete) subtrees are folded here from their complete parts.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 to the letter, plus the edge rules of the
transparency-dev test vectors: a consistency proof from size 0 is rejected, equal sizes need an empty proof,
hashes are 32 bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from ledger.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "SubtreeHashes",
    "consistency_proof",
    "consistency_subtrees",
    "inclusion_proof",
    "inclusion_subtrees",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "range_subtrees",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

SubtreeHashes = Callable[[int, int], bytes]
"""``get(start, end)``: the hash of the complete aligned subtree over leaves ``[start, end)``."""

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Root of a whole tree, level by level: an odd node out is promoted, which is RFC 9162's right edge."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        odd = level[-1] if len(level) % 2 else None
        level = [_sha256(b"\x01" + a + b).digest() for a, b in zip(level[0::2], level[1::2], strict=False)]
        if odd is not None:
            level.append(odd)
    return level[0]


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def range_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Decompose ``[start, end)`` into complete aligned subtrees, left to right (at most 2·log n of them)."""
    if not 0 <= start <= end:
        raise ValueError(f"bad range [{start}, {end})")
    out: list[tuple[int, int]] = []
    while start < end:
        size = start & -start if start else 1 << (end - 1).bit_length()
        while start + size > end:
            size >>= 1
        out.append((start, start + size))
        start += size
    return out


def range_hash(start: int, end: int, get: SubtreeHashes) -> bytes:
    """Hash of the RFC 9162 subtree over ``[start, end)``, folding its complete parts right to left.

    Only meaningful for ranges the tree actually has (``start`` aligned to a power of two >= ``end - start``),
    which is every range a proof or a root needs.
    """
    if start == end:
        return EMPTY_ROOT
    parts = range_subtrees(start, end)
    acc = get(*parts[-1])
    for part in reversed(parts[:-1]):
        acc = node_hash(get(*part), acc)
    return acc


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form the inclusion proof, leaf side first (RFC 9162 §2.1.3.1 PATH)."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    start, end = 0, size
    top_down: list[tuple[int, int]] = []
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            top_down.append((start + k, end))
            end = start + k
        else:
            top_down.append((start, start + k))
            start += k
    top_down.reverse()
    return top_down


def _consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form the consistency proof (RFC 9162 §2.1.4.1 SUBPROOF)."""
    if not 0 < size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    if size1 == size2:
        return []
    start, end, m, complete = 0, size2, size1, True
    top_down: list[tuple[int, int]] = []
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            top_down.append((start + k, end))
            end = start + k
        else:
            top_down.append((start, start + k))
            m -= k
            start += k
            complete = False
    top_down.reverse()
    return top_down if complete else [(start, end), *top_down]


def _needed(ranges: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    return {part for start, end in ranges for part in range_subtrees(start, end)}


def inclusion_subtrees(index: int, size: int) -> set[tuple[int, int]]:
    """Every complete subtree ``inclusion_proof(index, size, get)`` will ask ``get`` for."""
    return _needed(_inclusion_ranges(index, size))


def consistency_subtrees(size1: int, size2: int) -> set[tuple[int, int]]:
    """Every complete subtree ``consistency_proof(size1, size2, get)`` will ask ``get`` for."""
    return _needed(_consistency_ranges(size1, size2))


def inclusion_proof(index: int, size: int, get: SubtreeHashes) -> list[bytes]:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    return [range_hash(start, end, get) for start, end in _inclusion_ranges(index, size)]


def consistency_proof(size1: int, size2: int, get: SubtreeHashes) -> list[bytes]:
    """RFC 9162 consistency proof between the trees of ``size1`` and ``size2`` leaves (``0 < size1``)."""
    return [range_hash(start, end, get) for start, end in _consistency_ranges(size1, size2)]


def _check_hashes(proof: Sequence[bytes]) -> None:
    for i, item in enumerate(proof):
        if len(item) != HASH_SIZE:
            raise ProofError(f"proof hash {i} is {len(item)} bytes, not {HASH_SIZE}")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ``ProofError`` unless ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree ``root``."""
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"leaf hash is {len(leaf)} bytes, not {HASH_SIZE}")
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    _check_hashes(proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Raise ``ProofError`` unless ``proof`` shows the tree ``root1`` (``size1``) is a prefix of ``root2``."""
    if size1 < 0 or size2 < size1:
        raise ProofError(f"size1 {size1} must not exceed size2 {size2}")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if root1 != root2:
            raise ProofError("equal sizes but different roots")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    _check_hashes(proof)
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: its root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError("consistency proof does not lead to the first root")
    if sr != root2:
        raise ProofError("consistency proof does not lead to the second root")


class CompactRange:
    """The right edge of a growing tree: one (level, hash) per set bit of its size.

    Appending a leaf merges equal levels and reports every subtree it completes, which is how a store keeps
    its node table current from O(log n) stored nodes instead of re-reading leaves.
    """

    __slots__ = ("_hashes", "_levels", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        """Resume at ``size`` from the hashes of ``range_subtrees(0, size)``, left to right."""
        parts = range_subtrees(0, size)
        if len(parts) != len(hashes):
            raise ValueError(f"size {size} needs {len(parts)} edge hashes, got {len(hashes)}")
        self.size = size
        self._levels = [(end - start).bit_length() - 1 for start, end in parts]
        self._hashes = list(hashes)

    def append(self, leaf: bytes) -> tuple[tuple[int, int, bytes], ...]:
        """Add one leaf hash; return the subtrees it completed as ``(level, index, hash)``, lowest first."""
        index = self.size
        self.size = index + 1
        hashes = self._hashes
        if not index & 1:  # an even index completes nothing: the common, cheap case
            self._levels.append(0)
            hashes.append(leaf)
            return ()
        levels = self._levels
        level, h = 0, leaf
        done = []
        while levels and levels[-1] == level:
            levels.pop()
            h = _sha256(b"\x01" + hashes.pop() + h).digest()
            level += 1
            done.append((level, index >> level, h))
        levels.append(level)
        hashes.append(h)
        return tuple(done)

    def root(self) -> bytes:
        """The root of the tree of ``size`` leaves."""
        hashes = self._hashes
        if not hashes:
            return EMPTY_ROOT
        acc = hashes[-1]
        for h in reversed(hashes[:-1]):
            acc = _sha256(b"\x01" + h + acc).digest()
        return acc
