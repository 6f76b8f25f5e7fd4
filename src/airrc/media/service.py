"""Media on a node: hash images, share their PDQ hashes as ``media.signal`` statements, keep every known
hash (ours and received) in one exact index, and match each hash that arrives against all of them.

A match is stored, raises a ``media.match`` alert with the distance and both provenances, and is listed by
``airrc media matches``. The index lives in memory per process and follows the table: rows are added to it
once their transaction commits, and rows another process wrote are picked up before each search.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from airrc.alerts import Alerts
from airrc.errors import MediaError, first_problem
from airrc.media.hashing import ImageHash, hash_from_hex, hash_image, hash_to_hex
from airrc.media.index import MAX_RADIUS, PdqIndex
from airrc.media.signals import SignalBody
from airrc.media.tables import MediaHashRow, MediaMatchRow
from airrc.statements import SignedStatement, Tlp, format_timestamp
from airrc.store.db import Store, utcnow
from airrc.store.statements import StatementLog
from airrc.trust.peers import TrustStore

__all__ = ["DEFAULT_RADIUS", "Match", "MediaContext", "MediaService"]

# ThreatExchange's and HMA's default PDQ match threshold.
DEFAULT_RADIUS = 31


@dataclass(frozen=True)
class MediaContext:
    node_id: str
    store: Store
    statements: StatementLog
    trust: TrustStore
    alerts: Alerts
    max_media_bytes: int
    radius: int = DEFAULT_RADIUS


@dataclass(frozen=True)
class Match:
    """A known hash within the radius of a query, with its provenance."""

    hash_id: int
    hash: str
    distance: int
    origin: str
    local: bool
    signal_id: str
    statement_id: str
    label: str
    report: str | None
    tlp: str

    def to_json(self, names: dict[str, str] | None = None) -> dict[str, Any]:
        return {
            "hash_id": self.hash_id,
            "hash": self.hash,
            "distance": self.distance,
            "origin": self.origin,
            "origin_name": (names or {}).get(self.origin, self.origin),
            "local": self.local,
            "signal": self.signal_id,
            "statement": self.statement_id,
            "label": self.label,
            "report": self.report,
            "tlp": self.tlp,
        }


def _match(row: MediaHashRow, distance: int) -> Match:
    return Match(
        row.id,
        hash_to_hex(row.hash),
        distance,
        row.origin,
        row.local,
        row.signal_id,
        row.statement_id,
        row.label,
        row.report,
        row.tlp,
    )


class MediaService:
    # The kinds this mechanism reads when a peer sends them (registered with the received dispatcher).
    RECEIVED_KINDS = ("media.signal",)

    def __init__(self, context: MediaContext) -> None:
        self.context = context
        self._index = PdqIndex()
        self._rows: list[int] = []  # slot -> media_hashes.id
        self._loaded_up_to = 0
        self._lock = threading.Lock()

    # -- hashing and sharing ------------------------------------------------------------------------------

    def hash(self, data: bytes) -> ImageHash:
        """The PDQ hash of an image's bytes (nothing is stored)."""
        return hash_image(data, max_bytes=self.context.max_media_bytes)

    def share(
        self,
        session: Session,
        hashed: Sequence[ImageHash],
        *,
        label: str,
        partners: Sequence[str] = (),
        tlp: Tlp = "amber",
        report: str | None = None,
        confidence: float = 0.9,
    ) -> tuple[SignedStatement, list[tuple[MediaHashRow, list[Match]]]]:
        """Issue a ``media.signal`` for these hashes to ``partners`` (names or ids; none: kept here) and
        store them; returns the statement and, per hash, the known hashes it matched."""
        if not hashed:
            raise MediaError("a signal carries at least one hash", code="media.no_hashes")
        ids = [self.context.trust.resolve(session, who).id for who in partners]
        try:
            body = SignalBody(
                signal_id=str(uuid.uuid4()),
                hashes=tuple(dict.fromkeys(h.hex for h in hashed)),
                quality=min(h.quality for h in hashed),
                label=label,
                report=report,
                confidence=confidence,
            )
        except ValidationError as exc:
            where, why = first_problem(exc)
            raise MediaError(f"{where}: {why}", code="media.bad_signal") from exc
        signed = self.context.statements.issue(
            session,
            kind="media.signal",
            audience=[self.context.node_id, *ids],
            body=body.model_dump(mode="json"),
            tlp=tlp,
            refs=[report] if report else [],
        )
        return signed, self._store(session, signed, body, local=True)

    def receive(self, session: Session, signed: SignedStatement) -> None:
        """A partner's ``media.signal``: store its hashes and match each against everything known."""
        try:
            body = SignalBody.model_validate(signed.statement.body)
        except ValidationError as exc:
            raise MediaError("malformed media.signal body", code="media.bad_signal") from exc
        self._store(session, signed, body, local=False)

    def _store(
        self, session: Session, signed: SignedStatement, body: SignalBody, *, local: bool
    ) -> list[tuple[MediaHashRow, list[Match]]]:
        st = signed.statement
        now = utcnow()
        stored: list[tuple[MediaHashRow, list[Match]]] = []
        for text in body.hashes:
            value = hash_from_hex(text)
            row = MediaHashRow(
                hash=value,
                signal_id=body.signal_id,
                statement_id=st.id,
                origin=st.issuer,
                local=local,
                label=body.label,
                report=body.report,
                tlp=st.tlp,
                confidence=body.confidence,
                quality=body.quality,
                added_at=now,
            )
            session.add(row)
            session.flush()
            found = [m for m in self.search(session, [value]) if m.signal_id != body.signal_id]
            for known in found:
                session.add(
                    MediaMatchRow(
                        new_hash=row.id, known_hash=known.hash_id, distance=known.distance, matched_at=now
                    )
                )
                self._alert(session, row, known)
            stored.append((row, found))
        event.listen(session, "after_commit", lambda _s: self._refresh(), once=True)
        return stored

    def _alert(self, session: Session, row: MediaHashRow, known: Match) -> None:
        names = self._names(session)
        self.context.alerts.raise_alert(
            session,
            "media.match",
            f"media from {names.get(row.origin, row.origin[:16])} ({row.label}) is within {known.distance} "
            f"of a hash from {names.get(known.origin, known.origin[:16])} ({known.label})",
            severity="warning",
            hash=hash_to_hex(row.hash),
            statement=row.statement_id,
            known_hash=known.hash,
            known_statement=known.statement_id,
            distance=known.distance,
        )

    def _names(self, session: Session) -> dict[str, str]:
        return {card.id: card.name for card in self.context.trust.peers(session)} | {
            self.context.node_id: "this node"
        }

    # -- searching ----------------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Add to the index every row committed since the last refresh (by any process)."""
        with self.context.store.read_session() as session:
            rows = session.execute(
                select(MediaHashRow.id, MediaHashRow.hash)
                .where(MediaHashRow.id > self._loaded_up_to)
                .order_by(MediaHashRow.id)
            ).all()
        with self._lock:
            fresh = [(i, h) for i, h in rows if i > self._loaded_up_to]
            if fresh:
                self._index.add([bytes(h) for _i, h in fresh])
                self._rows.extend(i for i, _h in fresh)
                self._loaded_up_to = fresh[-1][0]

    def search(self, session: Session, queries: Sequence[bytes], *, radius: int | None = None) -> list[Match]:
        """Known hashes within ``radius`` of any query (e.g. the eight dihedral hashes of one image),
        nearest first, each once."""
        limit = self.context.radius if radius is None else radius
        if not 0 <= limit <= MAX_RADIUS:
            raise MediaError(f"the radius is between 0 and {MAX_RADIUS}", code="media.bad_radius")
        self._refresh()
        best: dict[int, int] = {}
        with self._lock:
            for query in queries:
                for slot, dist in self._index.search(query, limit):
                    row_id = self._rows[slot]
                    best[row_id] = min(dist, best.get(row_id, dist))
        if not best:
            return []
        rows = {r.id: r for r in session.scalars(select(MediaHashRow).where(MediaHashRow.id.in_(list(best))))}
        return sorted(
            (_match(rows[i], d) for i, d in best.items() if i in rows), key=lambda m: (m.distance, m.hash_id)
        )

    def match_image(
        self, session: Session, data: bytes, *, radius: int | None = None
    ) -> tuple[ImageHash, list[Match]]:
        """Hash an image and search with its eight dihedral hashes (rotated and mirrored copies match)."""
        hashed = self.hash(data)
        return hashed, self.search(session, hashed.dihedral, radius=radius)

    def matches(self, session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
        """Stored matches, newest first."""
        rows = session.execute(
            select(MediaMatchRow, MediaHashRow)
            .join(MediaHashRow, MediaHashRow.id == MediaMatchRow.new_hash)
            .order_by(MediaMatchRow.id.desc())
            .limit(min(limit, 1000))
        ).all()
        known = {
            r.id: r
            for r in session.scalars(
                select(MediaHashRow).where(MediaHashRow.id.in_([m.known_hash for m, _h in rows]))
            )
        }
        names = self._names(session)
        return [
            {
                "id": match.id,
                "distance": match.distance,
                "matched_at": format_timestamp(match.matched_at),
                "new": _match(new, match.distance).to_json(names),
                "known": _match(known[match.known_hash], match.distance).to_json(names),
            }
            for match, new in rows
            if match.known_hash in known
        ]

    def counts(self) -> dict[str, int]:
        return {"indexed": len(self._index)}
