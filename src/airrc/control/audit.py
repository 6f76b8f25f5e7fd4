"""Auditing human control from the ledger alone, and audit bundles a peer verifies without seeing details.

:func:`audit` is pure: given signed statements (``control.*`` and the roster statements that publish the
approvers' keys) it checks that every executed protected action had its quorum of distinct approvers, with
valid personal signatures, before execution and before expiry; anything else is a violation.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from airrc.control.policy import ControlError
from airrc.control.service import verify_vote_signature
from airrc.crypto.trust import NodeCard
from airrc.errors import ProofError, UnknownIssuer
from airrc.ledger.checkpoint import (
    SignedNote,
    parse_checkpoint_text,
    parse_note,
    require_cosigned_by,
    verify_checkpoint,
)
from airrc.ledger.log import TransparencyLog
from airrc.ledger.proofs import ChainKeyring, verified_chain, verify_proven
from airrc.statements import SignedStatement
from airrc.store.statements import StatementRow

__all__ = [
    "BUNDLE_FORMAT",
    "AuditReport",
    "BundleCoverage",
    "VerifiedBundle",
    "Violation",
    "audit",
    "export_bundle",
    "record_rows",
    "verify_bundle",
]

BUNDLE_FORMAT = "airrc-control-audit/v1"
MAX_BUNDLE_STATEMENTS = 200_000


@dataclass(frozen=True)
class Violation:
    decision_id: str
    code: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"decision_id": self.decision_id, "code": self.code, "detail": self.detail}


@dataclass
class AuditReport:
    requests: int = 0
    executed: int = 0
    executed_with_quorum: int = 0
    violations: list[Violation] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "executed": self.executed,
            "executed_with_quorum": self.executed_with_quorum,
            "violations": [v.to_json() for v in self.violations],
        }


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _approver_keys(rosters: list[SignedStatement]) -> list[tuple[int, dict[str, tuple[str, bool]]]]:
    """(seq, user id -> (public key, is an active approver)) for each roster, in order."""
    out = []
    for roster in sorted(rosters, key=lambda s: s.statement.seq):
        users = {
            u["user_id"]: (
                _keys_of(u["public_key"], u.get("ml_dsa_65_key")),
                bool(u.get("active")) and "approver" in u.get("roles", []),
            )
            for u in roster.statement.body.get("users", [])
        }
        out.append((roster.statement.seq, users))
    return out


def _keys_of(ed25519_key: str, ml_dsa_65_key: str | None) -> str:
    """Both halves of a personal key, compared as one (a roster's entry against a vote's)."""
    return f"{ed25519_key} {ml_dsa_65_key or ''}"


def _roster_at(
    rosters: list[tuple[int, dict[str, tuple[str, bool]]]], seq: int
) -> dict[str, tuple[str, bool]]:
    current: dict[str, tuple[str, bool]] = {}
    for roster_seq, users in rosters:
        if roster_seq < seq:
            current = users
    return current


@dataclass(frozen=True)
class _Record:
    requests: dict[str, SignedStatement]
    outcomes: dict[str, SignedStatement]
    votes: dict[str, list[SignedStatement]]
    rosters: list[tuple[int, dict[str, tuple[str, bool]]]]


def audit(statements: list[SignedStatement]) -> AuditReport:
    """Check every executed protected action against its request, votes and outcome."""
    by_kind: dict[str, list[SignedStatement]] = {}
    for signed in statements:
        by_kind.setdefault(signed.statement.kind, []).append(signed)
    votes: dict[str, list[SignedStatement]] = {}
    for vote in by_kind.get("control.vote", []):
        votes.setdefault(vote.statement.body["decision_id"], []).append(vote)
    record = _Record(
        requests={s.statement.body["decision_id"]: s for s in by_kind.get("control.request", [])},
        outcomes={s.statement.body["decision_id"]: s for s in by_kind.get("control.outcome", [])},
        votes=votes,
        rosters=_approver_keys(by_kind.get("node.roster", [])),
    )
    report = AuditReport(requests=len(record.requests))
    used: set[str] = set()
    for execution in sorted(by_kind.get("control.execution", []), key=lambda s: s.statement.seq):
        if execution.statement.body.get("result") != "executed":
            continue
        report.executed += 1
        violation = _judge(execution, record, used)
        if violation is None:
            report.executed_with_quorum += 1
        else:
            report.violations.append(violation)
    return report


def _judge(execution: SignedStatement, record: _Record, used: set[str]) -> Violation | None:  # noqa: PLR0911
    body = execution.statement.body
    decision_id = str(body.get("decision_id"))
    if body.get("violation"):
        return Violation(
            decision_id, str(body["violation"]), "the node recorded this execution as a violation"
        )
    request, outcome = record.requests.get(decision_id), record.outcomes.get(decision_id)
    if request is None or outcome is None:
        return Violation(decision_id, "control.no_decision", "no request or outcome for this execution")
    authorization = outcome.statement.body.get("authorization") or {}
    if outcome.statement.body.get("outcome") != "authorized" or not authorization:
        return Violation(decision_id, "control.not_authorized", "the decision was not authorized")
    if authorization.get("id") != body.get("authorization") or authorization["id"] in used:
        return Violation(decision_id, "control.authorization_mismatch", "no fresh authorization is quoted")
    used.add(authorization["id"])
    if outcome.statement.seq >= execution.statement.seq:
        return Violation(
            decision_id, "control.out_of_order", "the authorization was recorded after execution"
        )
    expires_at = _when(request.statement.body["expires_at"])
    if execution.statement.issued_at_datetime > expires_at:
        return Violation(
            decision_id, "control.authorization_expired", "executed after the authorization expired"
        )
    approvers = _valid_approvers(record, decision_id, request, outcome, expires_at)
    quorum = int(request.statement.body.get("quorum", 1))
    if len(approvers) < quorum:
        return Violation(decision_id, "control.no_quorum", f"{len(approvers)} valid approvals of {quorum}")
    return None


def _valid_approvers(
    record: _Record,
    decision_id: str,
    request: SignedStatement,
    outcome: SignedStatement,
    expires_at: datetime,
) -> set[str]:
    """Distinct approvers whose personally signed yes came before the outcome and the expiry, and whose key
    the roster published (with the approver role) before they voted; never the requester."""
    requester = request.statement.body.get("requester")
    approvers: set[str] = set()
    for vote in record.votes.get(decision_id, []):
        vb = vote.statement.body
        try:
            verify_vote_signature(vb)
        except ControlError:
            continue
        key, is_approver = _roster_at(record.rosters, vote.statement.seq).get(vb["voter"], ("", False))
        if (
            vb["vote"] == "approve"
            and vb["voter"] != requester
            and is_approver
            and key == _keys_of(vb["voter_key"], vb.get("voter_pq_key"))
            and _when(vb["at"]) <= expires_at
            and vote.statement.seq < outcome.statement.seq
        ):
            approvers.add(vb["voter"])
    return approvers


# -- bundles -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleCoverage:
    """What a verified bundle provably holds: control records ``first``..``last`` of the issuer's record, with
    nothing left out, closed by an audit mark made at ``exported_at``; proven against a checkpoint of
    ``size`` leaves that the verifier's node cosigned."""

    first: int
    last: int
    since: str | None
    exported_at: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "last": self.last,
            "since": self.since,
            "exported_at": self.exported_at,
            "checkpoint_size": self.size,
        }


@dataclass(frozen=True)
class VerifiedBundle:
    card: NodeCard
    report: AuditReport
    coverage: BundleCoverage


def _incomplete(message: str) -> ControlError:
    return ControlError(message, code="control.incomplete_bundle")


def _record_link(signed: SignedStatement) -> tuple[int, str | None]:
    link = signed.statement.body.get("record") if isinstance(signed.statement.body, dict) else None
    if not isinstance(link, dict) or not isinstance(link.get("n"), int):
        raise _incomplete(f"control statement {signed.statement.id} is not linked into the control record")
    previous = link.get("previous")
    return link["n"], previous if isinstance(previous, str) else None


def _check_record(
    control: list[SignedStatement], before: SignedStatement | None, size: int
) -> BundleCoverage:
    """The control statements form one unbroken run of the record, ending in an audit mark; the run starts
    at the first record or right after ``before``, which was issued before the mark's ``since``."""
    if not control:
        raise _incomplete("the bundle holds no control record")
    linked = sorted(((_record_link(s), s) for s in control), key=lambda item: item[0][0])
    (first, first_previous), _ = linked[0]
    expected_previous = before.digest().hex() if before is not None else None
    if before is not None and _record_link(before)[0] != first - 1:
        raise _incomplete("the statement before the range is not the record just before it")
    if first_previous != expected_previous or (before is None and first != 1):
        raise _incomplete("the bundle does not start where its range starts")
    for ((n, previous), _), ((n_before, _), s_before) in zip(linked[1:], linked, strict=False):
        if n != n_before + 1 or previous != s_before.digest().hex():
            raise _incomplete(f"control record {n_before + 1} is missing from the bundle")
    (last, _), mark = linked[-1]
    if mark.statement.kind != "control.audit_mark":
        raise _incomplete("the bundle does not end with the audit mark its export made")
    since = mark.statement.body.get("since")
    if before is not None and (since is None or before.statement.issued_at_datetime >= _when(since)):
        raise _incomplete("the bundle leaves out records of its own range")
    return BundleCoverage(
        first=first,
        last=last,
        since=since,
        exported_at=str(mark.statement.body.get("exported_at")),
        size=size,
    )


def _parse_bundle(doc: Any) -> tuple[list[Any], Any, SignedNote, list[Any]]:
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
        raise ControlError("not an airrc control audit bundle", code="control.bad_bundle")
    try:
        items, before, note, cards = (
            doc["statements"],
            doc.get("before"),
            parse_note(doc["checkpoint"]),
            doc["cards"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ControlError("the audit bundle is malformed", code="control.bad_bundle") from exc
    if not isinstance(items, list) or len(items) > MAX_BUNDLE_STATEMENTS:
        raise ControlError("the audit bundle is malformed", code="control.bad_bundle")
    return items, before, note, cards


def verify_bundle(
    doc: Any, *, pinned_chain: list[NodeCard] | None, witness: NodeCard, max_bytes: int
) -> VerifiedBundle:
    """Verify an audit bundle and audit it: the issuer's pinned cards, a checkpoint ``witness`` (the
    verifier's own node) cosigned, an inclusion proof for every statement, and an unbroken control record
    closed by the export's audit mark, so nothing in the range was left out. Raises on any failure."""
    items, before_item, note, cards = _parse_bundle(doc)
    chain = verified_chain(cards)
    card = chain[-1]
    if pinned_chain is None or not pinned_chain or pinned_chain[0].id != card.id:
        raise ControlError("the bundle's node is not a pinned peer", code="trust.unknown_issuer")
    if any(p.to_json() != c.to_json() for p, c in zip(pinned_chain, chain, strict=False)):
        raise ControlError("the bundle's cards differ from the pinned ones", code="control.bad_bundle")
    checkpoint = verify_checkpoint(note, card)
    require_cosigned_by(note, witness)
    keyring = ChainKeyring({card.id: chain})

    def proven(item: Any) -> SignedStatement:
        try:
            return verify_proven(
                item, keyring=keyring, checkpoints={card.id: checkpoint}, max_bytes=max_bytes
            )
        except UnknownIssuer as exc:
            raise ControlError("a bundled statement is from another node", code="control.bad_bundle") from exc
        except ProofError as exc:
            if exc.code == "ledger.not_in_log":
                raise ControlError(exc.message, code="control.not_in_log") from exc
            raise ControlError("a bundled statement is malformed", code="control.bad_bundle") from exc

    statements = [proven(item) for item in items]
    before = proven(before_item) if before_item is not None else None
    control = [s for s in statements if s.statement.kind.startswith("control.")]
    coverage = _check_record(control, before, checkpoint.size)
    return VerifiedBundle(card=card, report=audit(statements), coverage=coverage)


def record_rows(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    below: int | None = None,
) -> list[StatementRow]:
    """This node's own logged control statements in the time range, and every roster (approver keys)."""
    query = (
        select(StatementRow)
        .where(
            StatementRow.local.is_(True),
            StatementRow.log_index.is_not(None),
            or_(StatementRow.kind.like("control.%"), StatementRow.kind == "node.roster"),
        )
        .order_by(StatementRow.seq)
    )
    if below is not None:
        query = query.where(StatementRow.log_index < below)
    return [
        row
        for row in session.scalars(query)
        if row.kind == "node.roster"
        or not ((since and row.issued_at < since) or (until and row.issued_at > until))
    ]


def export_bundle(session: Session, *, log: TransparencyLog, chain: list[NodeCard]) -> dict[str, Any]:
    """The control record up to the latest audit mark (from the first record issued at or after the mark's
    ``since``, with the record just before it), the rosters that publish approver keys, and inclusion proofs
    against the largest checkpoint covering the mark that peers cosigned. Bodies carry only commitments;
    details stay sealed to this node. Raises ``control.no_audit_mark`` or ``ledger.not_cosigned``."""
    mark_row = session.scalar(
        select(StatementRow)
        .where(StatementRow.local.is_(True), StatementRow.kind == "control.audit_mark")
        .order_by(StatementRow.seq.desc())
        .limit(1)
    )
    if mark_row is None or mark_row.log_index is None:
        raise ControlError(
            "no audit range was marked; run `airrc control export-audit`", code="control.no_audit_mark"
        )
    mark = json.loads(mark_row.data)["statement"]["body"]
    since = _when(mark["since"]) if mark.get("since") else None
    note_text = log.witnessed_note(session, covering=mark_row.log_index)
    size = parse_checkpoint_text(parse_note(note_text).text).size
    rows = record_rows(session, below=size)
    control = [r for r in rows if r.kind != "node.roster" and r.seq <= mark_row.seq]
    linked = [r for r in control if (json.loads(r.data)["statement"]["body"] or {}).get("record")]
    start = 0 if since is None else next((i for i, r in enumerate(linked) if r.issued_at >= since), 0)

    def item(row: StatementRow) -> dict[str, Any]:
        index = int(row.log_index or 0)
        return {
            "statement": json.loads(row.data),
            "index": index,
            "proof": [base64.b64encode(h).decode() for h in log.inclusion_proof(session, index, size)],
        }

    rosters = [r for r in rows if r.kind == "node.roster"]
    return {
        "format": BUNDLE_FORMAT,
        "cards": [c.to_json() for c in chain],
        "checkpoint": note_text,
        "before": item(linked[start - 1]) if start > 0 else None,
        "statements": [item(r) for r in rosters + linked[start:]],
    }
