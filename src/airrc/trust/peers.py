"""Pinned node cards (our own and our peers'), with their rotation history; the node's keyring."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from airrc.crypto.canonical import canonical_bytes, parse_json
from airrc.crypto.signing import HybridVerifier
from airrc.crypto.trust import NodeCard, parse_card, verify_card, verify_rotation
from airrc.errors import CardRotationRefused, Conflict, InputError, TrustError, UnknownIssuer
from airrc.store.db import Base, Store, UTCDateTime, utcnow

__all__ = ["CARD_CACHE_SECONDS", "PinnedCard", "TrustStore", "parse_card_chain"]

CARD_CACHE_SECONDS = 10.0


class PinnedCard(Base):
    __tablename__ = "pinned_cards"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    serial: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    is_self: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    pinned_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    card_json: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

    def card(self) -> NodeCard:
        return NodeCard.model_validate(parse_json(self.card_json, max_bytes=1 << 20))


def parse_card_chain(data: bytes | str, *, max_bytes: int) -> list[NodeCard]:
    """A card file holds one card, or a list from the genesis card to the current one."""
    doc: Any = parse_json(data, max_bytes=max_bytes)
    docs = doc if isinstance(doc, list) else [doc]
    if not docs or len(docs) > 64:
        raise InputError("a card file holds 1 to 64 cards", code="trust.malformed_card")
    return [parse_card(canonical_bytes(d), max_bytes=max_bytes) for d in docs]


@dataclass(frozen=True)
class _Entry:
    valid_from: datetime
    serial: int
    verifier: HybridVerifier


class TrustStore:
    """Pins cards after verifying them and answers which key speaks for a node at a time."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, tuple[float, list[_Entry]]] = {}
        self._current: dict[str, tuple[float, NodeCard]] = {}
        self._lock = threading.Lock()

    def pin_chain(self, session: Session, chain: list[NodeCard], *, is_self: bool = False) -> NodeCard:
        """Pin a card chain: genesis first, each next card a valid rotation of the one before.

        Cards already pinned must match exactly; anything else is refused and nothing is written.
        """
        if not chain:
            raise InputError("no card given", code="trust.malformed_card")
        node_id = chain[0].id
        if any(c.id != node_id for c in chain):
            raise CardRotationRefused("the cards in a chain must share one node id")
        pinned = {
            r.serial: r for r in session.scalars(select(PinnedCard).where(PinnedCard.node_id == node_id))
        }
        for card in chain:
            self._ensure_name_free(session, card)
        previous: NodeCard | None = None
        for card in chain:
            existing = pinned.get(card.serial)
            if existing is not None:
                if existing.card_json != canonical_bytes(card.to_json()):
                    raise Conflict(
                        f"a different card with serial {card.serial} is already pinned",
                        code="trust.card_conflict",
                    )
            elif card.serial == 0:
                verify_card(card)
            else:
                before = previous or (pinned[card.serial - 1].card() if card.serial - 1 in pinned else None)
                if before is None:
                    raise TrustError("card chain does not connect to a pinned card", code="trust.no_genesis")
                verify_rotation(before, card)
            if existing is None:
                row = PinnedCard(
                    node_id=card.id,
                    serial=card.serial,
                    name=card.name,
                    role=card.role,
                    is_self=is_self,
                    valid_from=card.valid_from,
                    pinned_at=utcnow(),
                    card_json=canonical_bytes(card.to_json()),
                )
                session.add(row)
                pinned[card.serial] = row
            previous = card
        session.flush()
        with self._lock:
            self._cache.pop(node_id, None)
            self._current.pop(node_id, None)
        return chain[-1]

    @staticmethod
    def _ensure_name_free(session: Session, card: NodeCard) -> None:
        """A name speaks for one node only: policies, audiences and commands resolve names to ids."""
        holder = session.scalar(
            select(PinnedCard.node_id)
            .where(PinnedCard.name == card.name, PinnedCard.node_id != card.id)
            .limit(1)
        )
        if holder is not None:
            raise Conflict(
                f"the name {card.name!r} is already pinned for node {holder[:16]}…; a node keeps its name "
                "across rotations, another node needs another name",
                code="trust.name_taken",
            )

    def resolve(self, session: Session, who: str) -> NodeCard:
        """The pinned node named by ``who``: its 64-hex id, or its (unique) name."""
        if len(who) == 64 and all(c in "0123456789abcdef" for c in who):
            return self.current(session, who)
        return self.by_name(session, who)

    def current(self, session: Session, node_id: str) -> NodeCard:
        """The latest pinned card of ``node_id``; cached briefly, since pins made by another process
        (``airrc card import`` beside a running server) must show up without a restart."""
        now = time.monotonic()
        with self._lock:
            hit = self._current.get(node_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        card = self._load_current(session, node_id)
        with self._lock:
            self._current[node_id] = (now + CARD_CACHE_SECONDS, card)
        return card

    def _load_current(self, session: Session, node_id: str) -> NodeCard:
        row = session.scalar(
            select(PinnedCard)
            .where(PinnedCard.node_id == node_id)
            .order_by(PinnedCard.serial.desc())
            .limit(1)
        )
        if row is None:
            raise UnknownIssuer(f"node {node_id[:16]}… is not pinned")
        return row.card()

    def by_name(self, session: Session, name: str) -> NodeCard:
        rows = list(
            session.scalars(
                select(PinnedCard).where(PinnedCard.name == name).order_by(PinnedCard.serial.desc())
            )
        )
        if not rows:
            raise UnknownIssuer(f"no pinned node named {name!r}", code="trust.unknown_peer")
        if len({r.node_id for r in rows}) > 1:
            # Pinned before names were unique: refuse to guess which node is meant.
            raise Conflict(
                f"the name {name!r} is pinned for several nodes; use an id", code="trust.ambiguous_name"
            )
        return rows[0].card()

    def chain(self, session: Session, node_id: str) -> list[NodeCard]:
        rows = session.scalars(
            select(PinnedCard).where(PinnedCard.node_id == node_id).order_by(PinnedCard.serial)
        )
        return [r.card() for r in rows]

    def peers(self, session: Session) -> list[NodeCard]:
        """The current card of every pinned node other than ourselves."""
        latest: dict[str, PinnedCard] = {}
        for row in session.scalars(select(PinnedCard).where(PinnedCard.is_self.is_(False))):
            if row.node_id not in latest or row.serial > latest[row.node_id].serial:
                latest[row.node_id] = row
        return sorted((r.card() for r in latest.values()), key=lambda c: c.name)

    def verifier_for(self, issuer: str, at: datetime) -> HybridVerifier:
        """The key in force for ``issuer`` at ``at``; raises :class:`UnknownIssuer` if not pinned."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(issuer)
        entries = cached[1] if cached is not None and cached[0] > now else None
        if entries is None:
            with self._store.read_session() as session:
                cards = self.chain(session, issuer)
            if not cards:
                raise UnknownIssuer(f"issuer {issuer[:16]}… is not a pinned node")
            entries = [_Entry(c.valid_from, c.serial, c.keys.verifier()) for c in cards]
            with self._lock:
                self._cache[issuer] = (now + CARD_CACHE_SECONDS, entries)
        chosen = entries[0]
        for entry in entries:
            if entry.valid_from <= at:
                chosen = entry
        return chosen.verifier
