"""Received statements held to their sender's log.

A peer's statement reaches us before any checkpoint covers it. Once a checkpoint of the peer's log that we
cosigned covers its seq, the peer must prove the statement is leaf ``seq - 1`` of that tree; a proof that
does not verify means the peer told us something its log does not say: kept as evidence and alerted
(``ledger.not_in_log``, critical). A cursor per peer makes each statement checked once. Fetching the proofs
is the caller's I/O, passed in.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from airrc.crypto.trust import NodeCard
from airrc.errors import LedgerError
from airrc.ledger.merkle import leaf_hash, verify_inclusion
from airrc.ledger.tables import ReceivedInclusion, WitnessEvidence
from airrc.ledger.witness import Witness
from airrc.store.db import utcnow
from airrc.store.statements import StatementRow

__all__ = ["MAX_CHECKS_PER_ROUND", "InclusionReport", "InclusionRound", "check_round", "due", "record"]

MAX_CHECKS_PER_ROUND = 200
# (index, size) -> the peer's inclusion proof, or None when it cannot be fetched now.
ProofSource = Callable[[int, int], list[bytes] | None]


@dataclass(frozen=True)
class Pending:
    seq: int
    statement_id: str
    kind: str
    digest: bytes


@dataclass(frozen=True)
class InclusionRound:
    """The statements of one peer a cosigned checkpoint covers and nobody has checked yet."""

    peer_id: str
    size: int
    root: bytes
    note: str
    pending: tuple[Pending, ...]
    backlog: int


@dataclass
class InclusionReport:
    peer_name: str
    size: int
    checked: int = 0
    through: int = 0
    missing: list[Pending] = field(default_factory=list)
    left: int = 0


def due(
    session: Session, witness: Witness, peer_id: str, limit: int = MAX_CHECKS_PER_ROUND
) -> InclusionRound:
    """The next statements of ``peer_id`` to check against the checkpoint of its log we last cosigned."""
    state = witness.latest(session, peer_id)
    cursor = session.get(ReceivedInclusion, peer_id)
    checked = cursor.checked_seq if cursor is not None else 0
    if state is None:
        return InclusionRound(peer_id, 0, b"", "", (), 0)
    covered = (
        StatementRow.issuer == peer_id,
        StatementRow.local.is_(False),
        StatementRow.seq > checked,
        StatementRow.seq <= state.size,
    )
    rows = session.scalars(select(StatementRow).where(*covered).order_by(StatementRow.seq).limit(limit)).all()
    total = session.scalar(select(func.count()).select_from(StatementRow).where(*covered)) or 0
    pending = tuple(Pending(r.seq, r.statement_id, r.kind, bytes.fromhex(r.digest)) for r in rows)
    return InclusionRound(peer_id, state.size, state.root, state.note, pending, total - len(pending))


def check_round(round_: InclusionRound, proofs: ProofSource) -> list[tuple[Pending, list[bytes] | None]]:
    """Each pending statement with the proof that failed to include it, or ``None`` when it is included.

    ``proofs(index, size)`` fetches the peer's inclusion proof; when it cannot (the peer unreachable) the
    round ends there, and the statements after it wait for the next round."""
    results: list[tuple[Pending, list[bytes] | None]] = []
    for item in round_.pending:
        proof = proofs(item.seq - 1, round_.size)
        if proof is None:
            break
        try:
            verify_inclusion(leaf_hash(item.digest), item.seq - 1, round_.size, proof, round_.root)
        except LedgerError:
            results.append((item, proof))
        else:
            results.append((item, None))
    return results


def record(
    session: Session,
    witness: Witness,
    peer: NodeCard,
    round_: InclusionRound,
    results: list[tuple[Pending, list[bytes] | None]],
) -> InclusionReport:
    """Advance the peer's cursor past what was checked; keep and alert every statement its log lacks."""
    report = InclusionReport(peer.name, round_.size, checked=len(results))
    for item, failed in results:
        if failed is None:
            continue
        report.missing.append(item)
        session.add(
            WitnessEvidence(
                peer_id=peer.id,
                kind="not_in_log",
                old_size=item.seq,
                old_note=item.statement_id,
                new_note=round_.note,
                proof=" ".join(base64.b64encode(h).decode() for h in failed),
                detected_at=utcnow(),
            )
        )
        witness.alerts.raise_alert(
            session,
            "ledger.not_in_log",
            f"{peer.name} sent statement {item.statement_id} ({item.kind}, seq {item.seq}) that its log of "
            f"{round_.size} entries, which we cosigned, does not include",
            severity="critical",
            peer=peer.name,
            peer_id=peer.id,
            statement_id=item.statement_id,
            seq=item.seq,
            size=round_.size,
        )
    cursor = session.get(ReceivedInclusion, peer.id)
    through = results[-1][0].seq if results else (cursor.checked_seq if cursor is not None else 0)
    if cursor is None:
        session.add(
            ReceivedInclusion(peer_id=peer.id, checked_seq=through, size=round_.size, checked_at=utcnow())
        )
    elif results:
        cursor.checked_seq, cursor.size, cursor.checked_at = through, round_.size, utcnow()
    report.through = through
    report.left = round_.backlog + len(round_.pending) - len(results)
    return report
