"""RFC 9162 Merkle tree hashing and proofs. Pure functions, no I/O.

The public functions take raw entries (``leaves``); the same proof algorithms also run over any
:class:`NodeSource` that knows the hashes of complete, aligned subtrees, which is how the storage-backed
log answers proofs in O(log n) reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from airrc.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "NodeSource",
    "consistency_path",
    "consistency_proof",
    "inclusion_path",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class NodeSource(Protocol):
    """Hashes of complete subtrees: ``node(level, index)`` covers leaves [index * 2**level, (index+1) * 2**level)."""

    def node(self, level: int, index: int) -> bytes: ...


def subtree_hash(source: NodeSource, start: int, end: int) -> bytes:
    """MTH of leaves [start, end); ``start`` must be aligned to the largest power of two below the span."""
    span = end - start
    if span <= 0:
        raise ValueError("empty subtree")
    if span & (span - 1) == 0 and start % span == 0:
        return source.node(span.bit_length() - 1, start // span)
    k = _split(span)
    return node_hash(subtree_hash(source, start, start + k), subtree_hash(source, start + k, end))


def inclusion_path(source: NodeSource, index: int, size: int) -> list[bytes]:
    """RFC 9162 audit path for leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}", code="ledger.bad_index")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree_hash(source, start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(source, start, start + k))
            start = start + k
    path.reverse()
    return path


def consistency_path(source: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 consistency proof from ``old_size`` to ``new_size`` (empty when old is 0 or equal)."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old size {old_size} is not within 0..{new_size}", code="ledger.bad_size")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end, complete = 0, new_size, True
    m = old_size
    while True:
        span = end - start
        if m - start == span:
            if not complete:
                proof.append(subtree_hash(source, start, end))
            break
        k = _split(span)
        if m - start <= k:
            proof.append(subtree_hash(source, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(source, start, start + k))
            start = start + k
            complete = False
    proof.reverse()
    return proof


class _LeafLevels:
    """All levels of the tree over in-memory entries, built bottom-up."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        level = [leaf_hash(d) for d in leaves]
        self.levels = [level]
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self.levels.append(level)

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH of the raw entries; the empty tree's root is SHA-256 of the empty string."""
    if not leaves:
        return EMPTY_ROOT
    return subtree_hash(_LeafLevels(leaves), 0, len(leaves))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Inclusion proof of entry ``index`` for the tree of all ``leaves``."""
    return inclusion_path(_LeafLevels(leaves), index, len(leaves))


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """Consistency proof from the tree of the first ``old_size`` entries to the tree of all of them."""
    return consistency_path(_LeafLevels(leaves), old_size, len(leaves))


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofError(f"{what} is not a {HASH_SIZE}-byte hash", code="ledger.bad_hash")


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check an inclusion proof (RFC 9162 2.1.3.2); raise :class:`ProofError` on any mismatch."""
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root")
    for item in proof:
        _check_hash(item, "proof element")
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}", code="ledger.bad_index")
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long", code="ledger.bad_proof")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short", code="ledger.bad_proof")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root", code="ledger.bad_proof")


def _verify_trivial_consistency(
    old_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    if proof:
        raise ProofError(
            "a proof from the empty tree or between equal sizes must be empty", code="ledger.bad_proof"
        )
    if old_size != 0 and old_root != new_root:
        raise ProofError("two different roots for one tree size", code="ledger.inconsistent")


def verify_consistency(  # noqa: PLR0912 - RFC 9162 2.1.4.2, kept in its published shape
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check a consistency proof (RFC 9162 2.1.4.2); raise :class:`ProofError` on any mismatch."""
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    for item in proof:
        _check_hash(item, "proof element")
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old size {old_size} is not within 0..{new_size}", code="ledger.bad_size")
    if old_size in (0, new_size):
        _verify_trivial_consistency(old_size, old_root, new_root, proof)
        return
    if not proof:
        raise ProofError("consistency proof is empty", code="ledger.bad_proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long", code="ledger.bad_proof")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short", code="ledger.bad_proof")
    if fr != old_root or sr != new_root:
        raise ProofError("consistency proof does not match the roots", code="ledger.inconsistent")
