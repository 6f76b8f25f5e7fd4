"""Witnessing peers' logs (C2SP tlog-witness): verify consistency with what we last cosigned, then cosign.

A rewrite or split view is refused with ``ledger.inconsistent``, kept as evidence (in its own transaction,
so it survives the refusal) and raised as an alert.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from airrc.alerts import Alerts
from airrc.crypto.keys import NodeIdentity
from airrc.crypto.trust import NodeCard
from airrc.errors import InconsistentCheckpoint, LedgerError, ProofError, StaleSize
from airrc.ledger.checkpoint import (
    Checkpoint,
    NoteSignature,
    SignedNote,
    cosign,
    parse_note,
    parse_tree_size,
    verify_checkpoint,
)
from airrc.ledger.merkle import HASH_SIZE, verify_consistency
from airrc.ledger.tables import WitnessCosignature, WitnessEvidence, WitnessState
from airrc.store.db import Store, utcnow
from airrc.trust.peers import TrustStore

__all__ = [
    "MAX_PROOF_LINES",
    "InconsistentCheckpoint",
    "StaleSize",
    "Witness",
    "WitnessEvidence",
    "WitnessResult",
    "WitnessState",
    "parse_add_checkpoint",
]

MAX_PROOF_LINES = 63
MAX_REQUEST = 80 * 1024


@dataclass(frozen=True)
class WitnessResult:
    peer: NodeCard
    checkpoint: Checkpoint
    cosignature: NoteSignature


def parse_add_checkpoint(body: bytes) -> tuple[int, list[bytes], SignedNote]:
    """Parse a C2SP add-checkpoint request body: ``old N``, proof lines, a blank line, the checkpoint."""
    if len(body) > MAX_REQUEST:
        raise LedgerError("add-checkpoint request is too large", code="ledger.note_too_large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LedgerError("request is not UTF-8", code="ledger.malformed_request") from exc
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise LedgerError(
            "request lacks the blank line before the checkpoint", code="ledger.malformed_request"
        )
    lines = head.split("\n")
    first = lines[0]
    old_size = parse_tree_size(first[4:]) if first.startswith("old ") else None
    if old_size is None:
        raise LedgerError(
            "request must start with 'old SIZE' (ASCII digits, below 2^63)", code="ledger.malformed_request"
        )
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise LedgerError("too many consistency proof lines", code="ledger.malformed_request")
    proof = []
    for line in lines[1:]:
        try:
            item = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise LedgerError("a proof line is not base64", code="ledger.bad_base64") from exc
        if len(item) != HASH_SIZE:
            raise ProofError("a proof line is not a 32-byte hash", code="ledger.bad_proof")
        proof.append(item)
    return old_size, proof, parse_note(note)


class Witness:
    """This node acting as a witness of its pinned peers' logs."""

    def __init__(
        self, *, name: str, identity: NodeIdentity, trust: TrustStore, alerts: Alerts, store: Store
    ) -> None:
        self.name = name
        self.identity = identity
        self.trust = trust
        self.alerts = alerts
        self.store = store

    def _peer_for(self, session: Session, note: SignedNote) -> NodeCard:
        return self._peer_for_origin(session, note.text.split("\n", 1)[0])

    def _peer_for_origin(self, session: Session, origin: str) -> NodeCard:
        for card in self.trust.peers(session):
            if card.origin == origin:
                return card
        raise LedgerError("no pinned peer keeps a log with this origin", code="ledger.unknown_log")

    def latest(self, session: Session, peer_id: str) -> WitnessState | None:
        return session.get(WitnessState, peer_id)

    def add_checkpoint(
        self, session: Session, old_size: int, proof: list[bytes], note: SignedNote, *, now: int | None = None
    ) -> WitnessResult:
        """Verify and cosign a peer's checkpoint; raise :class:`StaleSize`, ``ledger.inconsistent``, …"""
        peer = self._peer_for(session, note)
        checkpoint = verify_checkpoint(note, peer)
        if old_size > checkpoint.size:
            raise LedgerError("old size exceeds the checkpoint size", code="ledger.bad_size")
        query = select(WitnessState).where(WitnessState.peer_id == peer.id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        state = session.scalar(query)
        known_size = state.size if state is not None else 0
        if old_size != known_size:
            stale = StaleSize(known_size)
            if state is not None and checkpoint.size == state.size and checkpoint.root != state.root:
                # C2SP answers 409 here, but a signed second root for a size we cosigned is a split view:
                # it is kept and alerted like the 422 one (the spec's "MAY log the request").
                stale.evidence = _evidence(peer, state, note, proof, "split_view")
                stale.peer = peer
            raise stale
        self._check_consistency(
            peer=peer, state=state, old_size=old_size, checkpoint=checkpoint, note=note, proof=proof
        )
        timestamp = now or int(time.time())
        signature = cosign(note, self.identity, self.name, timestamp)
        plain_note = SignedNote(note.text, tuple(s for s in note.signatures if s.name == peer.origin))
        if state is None:
            session.add(
                WitnessState(
                    peer_id=peer.id,
                    origin=peer.origin,
                    size=checkpoint.size,
                    root=checkpoint.root,
                    note=plain_note.serialise(),
                    cosignature=signature.line(),
                    updated_at=utcnow(),
                )
            )
        else:
            state.size, state.root = checkpoint.size, checkpoint.root
            state.note, state.cosignature, state.updated_at = (
                plain_note.serialise(),
                signature.line(),
                utcnow(),
            )
        session.add(
            WitnessCosignature(
                peer_id=peer.id,
                size=checkpoint.size,
                root=checkpoint.root,
                timestamp=timestamp,
                line=signature.line(),
                cosigned_at=utcnow(),
            )
        )
        session.flush()
        return WitnessResult(peer, checkpoint, signature)

    def _check_consistency(
        self,
        *,
        peer: NodeCard,
        state: WitnessState | None,
        old_size: int,
        checkpoint: Checkpoint,
        note: SignedNote,
        proof: list[bytes],
    ) -> None:
        if state is None or old_size == 0:
            if proof:
                raise ProofError("a proof from size 0 must be empty", code="ledger.bad_proof")
            return
        try:
            verify_consistency(old_size, checkpoint.size, state.root, checkpoint.root, proof)
        except ProofError as exc:
            if exc.code != "ledger.inconsistent":
                raise
            kind = "split_view" if old_size == checkpoint.size else "inconsistent"
            evidence = _evidence(peer, state, note, proof, kind)
            raise InconsistentCheckpoint(
                f"checkpoint of {peer.name} is inconsistent with the one we cosigned at size {old_size}",
                evidence,
                peer,
            ) from exc

    def submit(self, old_size: int, proof: list[bytes], note: SignedNote) -> WitnessResult:
        """:meth:`add_checkpoint` in its own transaction; a refused inconsistency is kept and alerted."""
        try:
            with self.store.session() as session:
                return self.add_checkpoint(session, old_size, proof, note)
        except (InconsistentCheckpoint, StaleSize) as exc:
            if exc.evidence is not None:
                self._keep_evidence(exc.evidence, exc.peer)
            raise

    def _keep_evidence(self, evidence: WitnessEvidence, peer: NodeCard) -> None:
        # After the refusal rolled back: the evidence and the alert commit on their own.
        with self.store.session() as session:
            session.add(evidence)
            self.alerts.raise_alert(
                session,
                "ledger.inconsistent",
                f"{peer.name} presented a checkpoint inconsistent with the one we cosigned at size "
                f"{evidence.old_size}",
                severity="critical",
                peer=peer.name,
                peer_id=peer.id,
                kind=evidence.kind,
                old_size=evidence.old_size,
            )

    def first_cosigned(self, session: Session, origin: str, above: int) -> WitnessCosignature:
        """The first cosignature we gave ``origin``'s log for a tree larger than ``above`` entries."""
        peer = self._peer_for_origin(session, origin)
        row = session.scalar(
            select(WitnessCosignature)
            .where(WitnessCosignature.peer_id == peer.id, WitnessCosignature.size > above)
            .order_by(WitnessCosignature.size, WitnessCosignature.id)
            .limit(1)
        )
        if row is None:
            raise LedgerError(
                f"we have cosigned no checkpoint of {origin} larger than {above}", code="ledger.not_cosigned"
            )
        return row

    def evidence(self, session: Session, peer_id: str | None = None) -> list[WitnessEvidence]:
        query = select(WitnessEvidence).order_by(WitnessEvidence.id)
        if peer_id is not None:
            query = query.where(WitnessEvidence.peer_id == peer_id)
        return list(session.scalars(query))


def _evidence(
    peer: NodeCard, state: WitnessState, note: SignedNote, proof: list[bytes], kind: str
) -> WitnessEvidence:
    return WitnessEvidence(
        peer_id=peer.id,
        kind=kind,
        old_size=state.size,
        old_note=state.note,
        new_note=note.serialise(),
        proof="\n".join(base64.b64encode(p).decode() for p in proof),
        detected_at=utcnow(),
    )
