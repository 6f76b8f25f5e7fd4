"""Acknowledgement deadlines and the escalation ladder. Pure: the clock is always passed in.

A message's deadline is its ``issued_at`` plus the acknowledgement window of its precedence (the catalog's,
overridden by settings and per peer agreement). Step ``k`` of the ladder (1-based) falls due at
``deadline + (k - 1) * window``: FLASH tells level 1 after 5 minutes, level 2 after 10, and so on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from airrc.hotline.formats import FormatCatalog, HotlineFormatError

__all__ = ["AckWindows", "due_step"]


@dataclass(frozen=True)
class AckWindows:
    """Acknowledgement windows in seconds: catalog defaults, node overrides, per-peer agreements."""

    defaults: Mapping[str, int]
    per_peer: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        catalog: FormatCatalog,
        overrides: Mapping[str, int],
        per_peer: Mapping[str, Mapping[str, int]],
    ) -> AckWindows:
        for name in [*overrides, *(p for agreed in per_peer.values() for p in agreed)]:
            if name not in catalog.precedences:
                raise HotlineFormatError(
                    f"unknown precedence {name!r} in the deadline settings", code="hotline.unknown_precedence"
                )
        defaults = {name: level.ack_seconds for name, level in catalog.precedences.items()}
        return cls({**defaults, **overrides}, dict(per_peer))

    def window(self, precedence: str, *peer_keys: str) -> timedelta:
        """The window agreed with a peer (named by id or name), else this node's default."""
        for key in peer_keys:
            agreed = self.per_peer.get(key)
            if agreed is not None and precedence in agreed:
                return timedelta(seconds=agreed[precedence])
        if precedence not in self.defaults:
            raise HotlineFormatError(f"unknown precedence {precedence!r}", code="hotline.unknown_precedence")
        return timedelta(seconds=self.defaults[precedence])


def due_step(
    *, deadline: datetime, window: timedelta, steps_done: int, max_steps: int, now: datetime
) -> int | None:
    """The next ladder step due at ``now`` (1-based), or ``None`` when none is due or the ladder is done."""
    step = steps_done + 1
    if step > max(max_steps, 1):
        return None
    due_at = deadline + window * (step - 1)
    return step if now >= due_at else None
