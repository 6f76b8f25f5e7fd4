"""Witnesses compare notes: each publishes the checkpoint it last cosigned for every log it witnesses, and
each checks what the others were shown against what it was shown.

A log that shows one root to one witness and another root to a second cannot produce a consistency proof
between them; the two checkpoints, both signed by the log, are kept as evidence and alerted
(``ledger.split_view``) on every node that compares them, the log's own node included (its key signed a tree
it never had). Fetching the consistency proof is the caller's I/O, passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from airrc.crypto.trust import NodeCard
from airrc.errors import LedgerError, ProofError
from airrc.ledger.checkpoint import Checkpoint, SignedNote, parse_note, verify_checkpoint, verify_cosignature
from airrc.ledger.log import TransparencyLog
from airrc.ledger.merkle import verify_consistency
from airrc.ledger.tables import WitnessEvidence, WitnessState
from airrc.ledger.witness import Witness
from airrc.store.db import utcnow

__all__ = ["MAX_GOSSIP_ENTRIES", "GossipVerdict", "check_gossiped", "parse_published", "published"]

MAX_GOSSIP_ENTRIES = 1000
ConsistencySource = Callable[[NodeCard, int, int], list[bytes]]
Outcome = Literal["agrees", "split_view", "not_compared"]


@dataclass(frozen=True)
class GossipVerdict:
    origin: str
    log_name: str | None
    size: int
    outcome: Outcome
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "log": self.log_name,
            "size": self.size,
            "outcome": self.outcome,
            "detail": self.detail,
        }


def published(session: Session) -> list[dict[str, Any]]:
    """What this witness publishes: for each log it witnesses, the last checkpoint it cosigned, with the
    log's signatures and its own cosignature (self-authenticating: no signature on the list is needed)."""
    return [
        {"origin": row.origin, "size": row.size, "checkpoint": row.note + row.cosignature}
        for row in session.scalars(select(WitnessState).order_by(WitnessState.origin))
    ]


def parse_published(doc: Any) -> list[SignedNote]:
    """The checkpoints in another witness's published list; ``ledger.bad_gossip`` when it is malformed."""
    entries = doc.get("checkpoints") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or len(entries) > MAX_GOSSIP_ENTRIES:
        raise LedgerError("the published checkpoints are malformed", code="ledger.bad_gossip")
    notes = []
    for entry in entries:
        text = entry.get("checkpoint") if isinstance(entry, dict) else None
        if not isinstance(text, str):
            raise LedgerError("a published checkpoint is malformed", code="ledger.bad_gossip")
        notes.append(parse_note(text))
    return notes


def _log_card(session: Session, witness: Witness, own: NodeCard, origin: str) -> NodeCard | None:
    if origin == own.origin:
        return own
    return next((c for c in witness.trust.peers(session) if c.origin == origin), None)


def _verified(note: SignedNote, card: NodeCard, reporter: NodeCard) -> Checkpoint:
    try:
        checkpoint = verify_checkpoint(note, card)
        lines = [s for s in note.signatures if s.name == reporter.origin]
        verify_cosignature(note, lines[0], reporter)
    except (LedgerError, ProofError, IndexError) as exc:
        raise LedgerError(
            f"{reporter.name} published a checkpoint of {card.name} that does not verify "
            "(the log's signatures and the reporter's cosignature are both required)",
            code="ledger.bad_gossip",
        ) from exc
    return checkpoint


def check_gossiped(
    session: Session,
    note: SignedNote,
    *,
    reporter: NodeCard,
    witness: Witness,
    log: TransparencyLog,
    own: NodeCard,
    consistency: ConsistencySource,
) -> GossipVerdict:
    """Compare one checkpoint ``reporter`` cosigned with what we hold of the same log; keep and alert a
    split view. Raises ``ledger.bad_gossip`` when the log's signatures or the reporter's cosignature fail."""
    origin = note.text.split("\n", 1)[0]
    card = _log_card(session, witness, own, origin)
    if card is None or card.id == reporter.id:
        return GossipVerdict(origin, None, 0, "not_compared", "not a log we know")
    checkpoint = _verified(note, card, reporter)
    if card.id == own.id:
        ours = log.state(session)
        if checkpoint.size <= ours.size and log.root_at(session, checkpoint.size) == checkpoint.root:
            return GossipVerdict(origin, card.name, checkpoint.size, "agrees")
        detail = (
            f"our key signed a tree of {checkpoint.size} entries that our log never had and "
            f"{reporter.name} cosigned it: the log key may be compromised"
        )
        return _split(session, witness, card, reporter, note, checkpoint, None, ours.size, detail)
    state = witness.latest(session, card.id)
    if state is None:
        return GossipVerdict(origin, card.name, checkpoint.size, "not_compared", "we have not witnessed it")
    if _consistent(state, checkpoint, lambda old, new: consistency(card, old, new)):
        return GossipVerdict(origin, card.name, checkpoint.size, "agrees")
    detail = (
        f"{card.name} showed {reporter.name} a tree of {checkpoint.size} entries inconsistent with the "
        f"one of {state.size} it showed us"
    )
    return _split(session, witness, card, reporter, note, checkpoint, state.note, state.size, detail)


def _consistent(
    state: WitnessState, checkpoint: Checkpoint, proof_for: Callable[[int, int], list[bytes]]
) -> bool:
    if checkpoint.size == state.size:
        return checkpoint.root == state.root
    (old, old_root), (new, new_root) = sorted([(state.size, state.root), (checkpoint.size, checkpoint.root)])
    try:
        verify_consistency(old, new, old_root, new_root, proof_for(old, new))
    except ProofError as exc:
        if exc.code != "ledger.inconsistent":
            raise
        return False
    return True


def _split(  # noqa: PLR0917 - one call site, every value named there
    session: Session,
    witness: Witness,
    card: NodeCard,
    reporter: NodeCard,
    note: SignedNote,
    checkpoint: Checkpoint,
    ours_note: str | None,
    ours_size: int,
    detail: str,
) -> GossipVerdict:
    size = checkpoint.size
    shown = note.serialise()
    known = session.scalar(
        select(WitnessEvidence.id).where(
            WitnessEvidence.peer_id == card.id,
            WitnessEvidence.kind == "split_view",
            WitnessEvidence.new_note == shown,
        )
    )
    if known is None:
        session.add(
            WitnessEvidence(
                peer_id=card.id,
                kind="split_view",
                old_size=ours_size,
                old_note=ours_note or "",
                new_note=shown,
                proof="",
                detected_at=utcnow(),
            )
        )
        witness.alerts.raise_alert(
            session,
            "ledger.split_view",
            detail,
            severity="critical",
            log=card.name,
            log_id=card.id,
            reporter=reporter.name,
            size=size,
            our_size=ours_size,
        )
    return GossipVerdict(card.origin, card.name, size, "split_view", detail)
