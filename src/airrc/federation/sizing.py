"""How much one push to a peer may hold: the limits it advertises (a signed ``GET /federation/v1/limits``,
cached), a byte bound halved by each 413 it answers, and batches packed to fit both."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx

from airrc.crypto.trust import NodeCard
from airrc.errors import Error
from airrc.federation.peer_client import LIMITS_PATH, PeerClient, PeerLimits

__all__ = ["ASSUMED_LIMITS_TTL_SECONDS", "BATCH_FRAME", "LIMITS_TTL_SECONDS", "PeerSizes", "pack_batch"]

log = logging.getLogger(__name__)
# A peer's advertised limits are asked again after this long, or at once after it answers 413.
LIMITS_TTL_SECONDS = 600.0
# When a peer does not say (an older node, or unreachable), ours are assumed, and it is asked again soon.
ASSUMED_LIMITS_TTL_SECONDS = 60.0
BATCH_FRAME = len(b'{"statements":[]}')


def pack_batch(head: Sequence[Any], limits: PeerLimits, bound: int | None) -> list[Any]:
    """The longest prefix of ``head`` (rows whose 4th column is the statement's bytes) whose request body
    fits the peer's limits and ``bound``; at least one item."""
    budget = min(limits.max_request_bytes, bound) if bound is not None else limits.max_request_bytes
    batch: list[Any] = []
    size = BATCH_FRAME
    for row in head[: limits.max_batch_length]:
        grown = size + len(row[3]) + (1 if batch else 0)
        if batch and grown > budget:
            break
        batch.append(row)
        size = grown
    return batch


class PeerSizes:
    """Per peer: its limits (and until when they hold), and the byte bound its 413 answers taught us."""

    def __init__(self, ours: PeerLimits) -> None:
        self.ours = ours
        self._limits: dict[str, tuple[float, PeerLimits]] = {}
        self._bound: dict[str, int] = {}
        self._lock = threading.Lock()

    def limits(self, peer: NodeCard, client: PeerClient) -> PeerLimits:
        """The peer's advertised limits (signed answer, cached); ours when it does not say."""
        now = time.monotonic()
        with self._lock:
            hit = self._limits.get(peer.id)
        if hit is not None and hit[0] > now:
            return hit[1]
        if hit is not None:
            # Asked again because time passed (not after a 413): a bound learnt from a 413 is tried afresh.
            with self._lock:
                self._bound.pop(peer.id, None)
        try:
            doc = client.signed_get(peer, LIMITS_PATH, timeout=10.0)
            limits, ttl = PeerLimits.from_answer(peer, doc), LIMITS_TTL_SECONDS
        except (Error, httpx.HTTPError) as exc:
            log.info("limits of %s unknown (%s); assuming ours", peer.name, getattr(exc, "code", "transport"))
            limits, ttl = self.ours, ASSUMED_LIMITS_TTL_SECONDS
        with self._lock:
            self._limits[peer.id] = (now + ttl, limits)
        return limits

    def bound(self, peer_id: str) -> int | None:
        with self._lock:
            return self._bound.get(peer_id)

    def answered_too_large(self, peer_id: str, size: int) -> None:
        """A 413 for a body of ``size`` bytes: ask the limits again, and send at most half as much."""
        with self._lock:
            self._limits.pop(peer_id, None)
            self._bound[peer_id] = max(BATCH_FRAME + 1, size // 2)
