"""Exact Hamming-radius search over PDQ hashes by multi-index hashing (Norouzi, Punjani and Fleet).

The 256 bits are split into 16 chunks of 16 bits. If two hashes are within distance r, at least one chunk
differs in at most ``r // 16`` bits (pigeonhole), so probing, in each chunk, every value within that many
bits of the query's chunk finds every true match; each candidate is then checked on all 256 bits. Nothing
is approximate: the result is exactly the brute-force set.

Storage is numpy: the hashes (n x 32 bytes), a live flag per slot, and per chunk a sorted array of chunk
values with the slots they came from. Additions go to a small delta scanned by brute force and are merged
into the sorted arrays when it grows; removals clear the live flag. Slots never move, so callers can keep
their own metadata by slot. Pure: no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np

from airrc.errors import MediaError
from airrc.media.hashing import HASH_BYTES

__all__ = ["CHUNKS", "MAX_RADIUS", "PdqIndex", "brute_force"]

CHUNKS = 16
CHUNK_BITS = 256 // CHUNKS
# Beyond this PDQ distances say little (52 is ThreatExchange's loosest documented threshold), and the number
# of probes per chunk grows quickly.
MAX_RADIUS = 63
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
_MIN_DELTA = 4096


def _flips(bits: int) -> np.ndarray:
    """Every 16-bit mask with at most ``bits`` bits set."""
    masks = [0]
    for k in range(1, bits + 1):
        for combo in itertools.combinations(range(CHUNK_BITS), k):
            masks.append(sum(1 << b for b in combo))
    return np.array(masks, dtype=np.uint16)


_FLIPS = {t: _flips(t) for t in range(MAX_RADIUS // CHUNKS + 1)}


def _as_matrix(hashes: Iterable[bytes] | np.ndarray) -> np.ndarray:
    if isinstance(hashes, np.ndarray):
        matrix = np.ascontiguousarray(hashes, dtype=np.uint8)
    else:
        rows = list(hashes)
        if any(len(h) != HASH_BYTES for h in rows):
            raise MediaError("a PDQ hash is 32 bytes", code="media.bad_hash")
        matrix = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(-1, HASH_BYTES)
    if matrix.ndim != 2 or matrix.shape[1] != HASH_BYTES:
        raise MediaError("a PDQ hash is 32 bytes", code="media.bad_hash")
    return matrix


def _chunks(matrix: np.ndarray) -> np.ndarray:
    """(n, 16) uint16: chunk c is bytes 2c and 2c+1, big-endian."""
    chunks: np.ndarray = matrix.view(">u2").astype(np.uint16)
    return chunks


def _distances(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    found: np.ndarray = _POPCOUNT[np.bitwise_xor(matrix, query)].sum(axis=1, dtype=np.int32)
    return found


def _check_radius(radius: int) -> None:
    if not 0 <= radius <= MAX_RADIUS:
        raise MediaError(f"the radius is between 0 and {MAX_RADIUS}", code="media.bad_radius")


def brute_force(matrix: np.ndarray, query: bytes, radius: int) -> list[tuple[int, int]]:
    """(row, distance) of every row within ``radius`` of ``query``, nearest first: the reference the index
    must equal."""
    q = np.frombuffer(query, dtype=np.uint8)
    found = _distances(matrix, q)
    rows = np.nonzero(found <= radius)[0]
    return sorted(((int(r), int(found[r])) for r in rows), key=lambda m: (m[1], m[0]))


class PdqIndex:
    """Live PDQ hashes by slot, searchable exactly within a Hamming radius."""

    def __init__(self) -> None:
        self._hashes = np.zeros((0, HASH_BYTES), dtype=np.uint8)
        self._live = np.zeros(0, dtype=bool)
        self._size = 0
        # Per chunk: sorted chunk values of the merged slots, and those slots.
        self._keys: list[np.ndarray] = [np.zeros(0, dtype=np.uint16) for _ in range(CHUNKS)]
        self._slots: list[np.ndarray] = [np.zeros(0, dtype=np.int32) for _ in range(CHUNKS)]
        self._merged = 0  # slots below this are in the sorted arrays; the rest are the delta

    def __len__(self) -> int:
        return int(self._live[: self._size].sum())

    def add(self, hashes: Iterable[bytes] | np.ndarray) -> np.ndarray:
        """Add hashes; returns their slots (stable for the life of the index)."""
        matrix = _as_matrix(hashes)
        count = matrix.shape[0]
        if self._size + count > self._hashes.shape[0]:
            capacity = max(1024, 2 * (self._size + count))
            grown = np.zeros((capacity, HASH_BYTES), dtype=np.uint8)
            grown[: self._size] = self._hashes[: self._size]
            live = np.zeros(capacity, dtype=bool)
            live[: self._size] = self._live[: self._size]
            self._hashes, self._live = grown, live
        slots = np.arange(self._size, self._size + count, dtype=np.int64)
        self._hashes[self._size : self._size + count] = matrix
        self._live[self._size : self._size + count] = True
        self._size += count
        if self._size - self._merged > max(_MIN_DELTA, self._merged // 8):
            self.merge()
        return slots

    def remove(self, slots: Iterable[int]) -> None:
        for slot in slots:
            if 0 <= slot < self._size:
                self._live[slot] = False

    def hash_at(self, slot: int) -> bytes:
        return bytes(self._hashes[slot].tobytes())

    def merge(self) -> None:
        """Fold the delta into the sorted chunk arrays (dropping removed slots from them)."""
        alive = np.nonzero(self._live[: self._size])[0]
        chunks = _chunks(self._hashes[alive])
        for c in range(CHUNKS):
            order = np.argsort(chunks[:, c], kind="stable")
            self._keys[c] = chunks[order, c]
            # int32 slots: 16 sorted copies of 10^7 slots stay under a gigabyte with the hashes.
            self._slots[c] = alive[order].astype(np.int32)
        self._merged = self._size

    def search(self, query: bytes, radius: int) -> list[tuple[int, int]]:
        """(slot, distance) of every live hash within ``radius`` of ``query``, nearest first."""
        _check_radius(radius)
        q = _as_matrix([query])[0]
        q_chunks = _chunks(q[np.newaxis, :])[0]
        flips = _FLIPS[radius // CHUNKS]
        found: list[np.ndarray] = []
        for c in range(CHUNKS):
            keys = self._keys[c]
            if keys.size == 0:
                continue
            probes = np.bitwise_xor(flips, q_chunks[c])
            lo = np.searchsorted(keys, probes, side="left")
            hi = np.searchsorted(keys, probes, side="right")
            for a, b in zip(lo[hi > lo], hi[hi > lo], strict=True):
                found.append(self._slots[c][a:b])
        found.append(np.arange(self._merged, self._size, dtype=np.int64))
        candidates = (
            np.unique(np.concatenate(found).astype(np.int64)) if found else np.zeros(0, dtype=np.int64)
        )
        candidates = candidates[self._live[candidates]]
        if candidates.size == 0:
            return []
        dist = _distances(self._hashes[candidates], q)
        keep = dist <= radius
        return sorted(
            zip(candidates[keep].tolist(), dist[keep].tolist(), strict=True), key=lambda m: (m[1], m[0])
        )
