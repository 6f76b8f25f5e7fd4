"""The decision flow on a node: requests by AI systems, personally signed votes, outcomes, executions.

Every step is a statement in this node's ledger (audience: this node only). Action details and reasons are
sealed to this node; the statements carry salted commitments, so the record can be audited by anyone holding
it without disclosing what was decided, and revealed selectively later.
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from airrc.alerts import Alerts
from airrc.control.bodies import (
    AuditMarkBody,
    AuthorizationBody,
    ExecutionBody,
    OutcomeBody,
    RecordLink,
    RequestBody,
    VoteBody,
)
from airrc.control.policy import CategoryCatalog, Vote, commitment, decide, vote_payload
from airrc.control.tables import DecisionRow, RecordHeadRow, RefusalRow, VoteRow
from airrc.crypto.keys import NodeIdentity, PublicKeys
from airrc.crypto.sealing import SealedBody, open_sealed, seal
from airrc.crypto.signing import HybridSignature, HybridVerifier
from airrc.errors import ControlError, Forbidden
from airrc.principals.accounts import AuthenticatedPrincipal
from airrc.statements import SignedStatement, format_timestamp
from airrc.store.db import Store, utcnow
from airrc.store.statements import StatementLog

__all__ = ["ControlService", "Decision", "DecisionRow", "RefusalRow", "RequestReceipt"]


@dataclass(frozen=True)
class Decision:
    id: str
    category: str
    state: str
    quorum: int
    rule: str
    expires_at: datetime
    approvals: int
    denials: int
    request_statement: str
    outcome_statement: str | None
    authorization_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "state": self.state,
            "quorum": self.quorum,
            "rule": self.rule,
            "expires_at": format_timestamp(self.expires_at),
            "approvals": self.approvals,
            "denials": self.denials,
            "request_statement": self.request_statement,
            "outcome_statement": self.outcome_statement,
            "authorization_id": self.authorization_id,
        }


@dataclass(frozen=True)
class RequestReceipt:
    """What the requesting system keeps: the decision id and the salt that opens its commitment."""

    decision: Decision
    salt: str


class ControlService:
    def __init__(
        self,
        *,
        node_id: str,
        node_keys: PublicKeys,
        identity: NodeIdentity,
        store: Store,
        statements: StatementLog,
        alerts: Alerts,
        catalog: CategoryCatalog,
    ) -> None:
        self.node_id = node_id
        self.node_keys = node_keys
        self.identity = identity
        self.store = store
        self.statements = statements
        self.alerts = alerts
        self.catalog = catalog

    # -- helpers -------------------------------------------------------------------------------------------

    def _issue(self, session: Session, kind: str, body: BaseModel) -> SignedStatement:
        """Issue a control statement as the next link of the control record."""
        query = select(RecordHeadRow).where(RecordHeadRow.id == 1)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        head = session.scalar(query)
        if head is None:
            head = RecordHeadRow(id=1, n=0, digest=None)
            session.add(head)
        link = RecordLink(n=head.n + 1, previous=head.digest)
        signed = self.statements.issue(
            session,
            kind=kind,
            audience=[self.node_id],
            body=body.model_copy(update={"record": link}).model_dump(mode="json"),
            tlp="amber",
        )
        head.n, head.digest = link.n, signed.digest().hex()
        session.flush()
        return signed

    def mark_export(self, session: Session, since: datetime | None = None) -> SignedStatement:
        """Close an audit range: a ``control.audit_mark`` linked after every control statement so far."""
        now = utcnow()
        return self._issue(
            session,
            "control.audit_mark",
            AuditMarkBody(
                exported_at=format_timestamp(now), since=format_timestamp(since) if since else None
            ),
        )

    def _seal(self, kind: str, value: Any) -> SealedBody:
        return seal(
            value,
            sender=self.identity,
            sender_id=self.node_id,
            recipients={self.node_id: self.node_keys},
            kind=kind,
        )

    def refuse(self, principal: str, action: str, code: str, decision_id: str | None) -> None:
        """Record a refused attempt (call after the refused transaction has rolled back)."""
        with self.store.session() as session:
            session.add(
                RefusalRow(
                    decision_id=decision_id, principal=principal[:64], action=action, code=code, at=utcnow()
                )
            )

    def _decision(self, session: Session, row: DecisionRow) -> Decision:
        votes = list(session.scalars(select(VoteRow).where(VoteRow.decision_id == row.id)))
        return Decision(
            row.id,
            row.category,
            row.state,
            row.quorum,
            row.rule,
            row.expires_at,
            sum(v.approve for v in votes),
            sum(not v.approve for v in votes),
            row.request_statement,
            row.outcome_statement,
            row.authorization_id,
        )

    def _row(self, session: Session, decision_id: str, *, lock: bool = False) -> DecisionRow:
        query = select(DecisionRow).where(DecisionRow.id == decision_id)
        if lock and session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            raise ControlError(f"no decision {decision_id}", code="control.unknown_decision")
        return row

    # -- requests ------------------------------------------------------------------------------------------

    def request(
        self,
        session: Session,
        principal: AuthenticatedPrincipal,
        *,
        category_id: str,
        action: dict[str, Any],
        rationale: str,
        confidence: float,
        evidence: list[str],
        expiry_seconds: int | None = None,
    ) -> RequestReceipt:
        category = self.catalog.category(category_id)
        if not principal.roles & set(category.requesters):
            raise Forbidden(
                f"{principal.username} may not request {category_id}", code="control.not_a_requester"
            )
        if not 0.0 <= confidence <= 1.0:
            raise ControlError("confidence is between 0 and 1", code="control.bad_request")
        lifetime = min(expiry_seconds or category.expiry_seconds, category.expiry_seconds)
        now = utcnow()
        expires_at = now + timedelta(seconds=lifetime)
        decision_id = str(uuid.uuid4())
        salt = os.urandom(16)
        details = {"action": action, "rationale": rationale}
        body = RequestBody(
            decision_id=decision_id,
            category=category.id,
            catalog_version=self.catalog.version,
            catalog_digest=self.catalog.digest,
            quorum=category.quorum,
            rule=category.rule,
            requester=principal.id,
            requester_kind="user" if principal.kind == "user" else "service",
            action_commitment=commitment(salt, action),
            details_commitment=commitment(salt, details),
            confidence=confidence,
            evidence=tuple(evidence[:64]),
            expires_at=format_timestamp(expires_at),
            details=self._seal("control.request", {**details, "salt": base64.b64encode(salt).decode()}),
        )
        signed = self._issue(session, "control.request", body)
        row = DecisionRow(
            id=decision_id,
            category=category.id,
            requester_id=principal.id,
            request_statement=signed.statement.id,
            action_commitment=body.action_commitment,
            quorum=category.quorum,
            rule=category.rule,
            created_at=now,
            expires_at=expires_at,
            state="pending",
            authorization_used=False,
        )
        session.add(row)
        session.flush()
        return RequestReceipt(self._decision(session, row), base64.b64encode(salt).decode())

    # -- votes ---------------------------------------------------------------------------------------------

    def vote(
        self,
        session: Session,
        principal: AuthenticatedPrincipal,
        decision_id: str,
        *,
        approve: bool,
        reason: str,
    ) -> Decision:
        row = self._row(session, decision_id, lock=True)
        if principal.kind != "user":
            raise Forbidden("AI systems may request, never approve", code="control.ai_cannot_vote")
        principal.require("approver")
        if principal.id == row.requester_id:
            raise Forbidden(
                "the requester may not vote on its own request", code="control.requester_cannot_vote"
            )
        now = utcnow()
        self._settle(session, row, now)
        if row.state != "pending":
            code = "control.expired" if row.state == "expired" else "control.closed"
            raise ControlError(f"the decision is {row.state}", code=code)
        if session.get(VoteRow, (decision_id, principal.id)) is not None:
            raise ControlError("this approver has already voted", code="control.duplicate_vote")
        salt = os.urandom(16)
        reason_commitment = commitment(salt, reason)
        at = format_timestamp(now)
        payload = vote_payload(
            decision_id=decision_id,
            request_id=row.request_statement,
            voter_id=principal.id,
            approve=approve,
            reason_commitment=reason_commitment,
            at=at,
        )
        signature = principal.sign_personally(payload)
        ed_public, pq_public = principal.personal_public_keys()
        signed = self._issue(
            session,
            "control.vote",
            VoteBody(
                decision_id=decision_id,
                request=row.request_statement,
                voter=principal.id,
                voter_key=ed_public,
                voter_pq_key=pq_public,
                vote="approve" if approve else "deny",
                reason_commitment=reason_commitment,
                reason=self._seal(
                    "control.vote", {"reason": reason, "salt": base64.b64encode(salt).decode()}
                ),
                at=at,
                personal_signature=signature,
            ),
        )
        session.add(
            VoteRow(
                decision_id=decision_id,
                voter_id=principal.id,
                approve=approve,
                at=now,
                statement_id=signed.statement.id,
            )
        )
        session.flush()
        self._settle(session, row, now)
        return self._decision(session, row)

    def _settle(self, session: Session, row: DecisionRow, now: datetime) -> None:
        """Issue the outcome statement once the decision is decided."""
        if row.state != "pending":
            return
        votes = [
            Vote(v.voter_id, v.approve, v.at)
            for v in session.scalars(select(VoteRow).where(VoteRow.decision_id == row.id))
        ]
        outcome = decide(self.catalog.category(row.category), votes, expires_at=row.expires_at, now=now)
        if outcome == "pending":
            return
        authorization = None
        if outcome == "authorized":
            row.authorization_id = str(uuid.uuid4())
            authorization = AuthorizationBody(
                id=row.authorization_id,
                decision_id=row.id,
                action_commitment=row.action_commitment,
                expires_at=format_timestamp(row.expires_at),
                single_use=True,
            )
        body = OutcomeBody(
            decision_id=row.id,
            request=row.request_statement,
            outcome=outcome,
            votes=tuple(
                sorted(
                    v.statement_id
                    for v in session.scalars(select(VoteRow).where(VoteRow.decision_id == row.id))
                )
            ),
            decided_at=format_timestamp(now),
            authorization=authorization,
        )
        signed = self._issue(session, "control.outcome", body)
        row.state, row.outcome_statement = outcome, signed.statement.id
        if outcome != "authorized":
            row.authorization_id = None

    def settle_expired(self, session: Session) -> int:
        """Close every pending decision whose time ran out: expired, which means no."""
        now = utcnow()
        rows = list(
            session.scalars(
                select(DecisionRow).where(DecisionRow.state == "pending", DecisionRow.expires_at <= now)
            )
        )
        for row in rows:
            self._settle(session, row, now)
        return len(rows)

    # -- execution -----------------------------------------------------------------------------------------

    def report_execution(
        self,
        session: Session,
        principal: AuthenticatedPrincipal,
        decision_id: str,
        *,
        authorization_id: str | None,
        executed: bool,
    ) -> SignedStatement:
        """Record what the actuator did. Executing without a valid, unused authorization is a violation."""
        row = session.scalar(select(DecisionRow).where(DecisionRow.id == decision_id))
        now = utcnow()
        if row is not None:
            self._settle(session, row, now)
        problem: str | None = None
        if row is None:
            problem = "control.unknown_decision"
        elif row.state != "authorized":
            problem = "control.not_authorized"
        elif authorization_id != row.authorization_id:
            problem = "control.authorization_mismatch"
        elif row.authorization_used:
            problem = "control.authorization_reused"
        elif executed and now > row.expires_at:
            problem = "control.authorization_expired"
        if problem is not None and not executed:
            raise ControlError(f"execution report refused: {problem}", code=problem)
        body = ExecutionBody(
            decision_id=decision_id,
            authorization=authorization_id,
            result="executed" if executed else "not_executed",
            reported_by=principal.id,
            violation=problem,
            at=format_timestamp(now),
        )
        signed = self._issue(session, "control.execution", body)
        if problem is not None:
            self.alerts.raise_alert(
                session,
                "control.violation",
                f"a protected action was executed without a valid authorization ({problem})",
                severity="critical",
                decision=decision_id,
                reason=problem,
                reporter=principal.username,
            )
            return signed
        assert row is not None  # noqa: S101 - checked above
        row.authorization_used = True
        return signed

    # -- reads ---------------------------------------------------------------------------------------------

    def get(self, session: Session, decision_id: str) -> Decision:
        row = self._row(session, decision_id)
        return self._decision(session, row)

    def decisions(self, session: Session, *, state: str | None = None, limit: int = 100) -> list[Decision]:
        query = select(DecisionRow).order_by(DecisionRow.created_at.desc()).limit(min(limit, 1000))
        if state is not None:
            query = query.where(DecisionRow.state == state)
        return [self._decision(session, r) for r in session.scalars(query)]

    def reveal(self, session: Session, signed_request: SignedStatement) -> dict[str, Any]:
        """Open a request's sealed details (selective disclosure): action, rationale and the salt, checked
        against the commitments the logged statement carries, so a peer can verify what it is shown."""
        body = signed_request.statement.body
        opened = open_sealed(
            SealedBody.model_validate(body["details"]),
            recipient=self.identity,
            recipient_id=self.node_id,
            sender_id=self.node_id,
            sender_verifier=self.node_keys.verifier(),
            kind="control.request",
            max_bytes=1 << 20,
        )
        salt = base64.b64decode(opened["salt"])
        details = {"action": opened["action"], "rationale": opened["rationale"]}
        if (
            commitment(salt, opened["action"]) != body["action_commitment"]
            or commitment(salt, details) != body["details_commitment"]
        ):
            raise ControlError("sealed details do not match their commitments", code="control.bad_commitment")
        return {
            "decision_id": body["decision_id"],
            "request_statement": signed_request.statement.id,
            "action": opened["action"],
            "rationale": opened["rationale"],
            "salt": opened["salt"],
            "action_commitment": body["action_commitment"],
            "details_commitment": body["details_commitment"],
        }

    def refusals(self, session: Session, decision_id: str | None = None) -> list[RefusalRow]:
        query = select(RefusalRow).order_by(RefusalRow.id)
        if decision_id is not None:
            query = query.where(RefusalRow.decision_id == decision_id)
        return list(session.scalars(query))


def verify_vote_signature(body: dict[str, Any]) -> None:
    """Check an approver's personal signature inside a ``control.vote`` body; raise if it fails."""
    try:
        verifier = HybridVerifier.from_b64(body["voter_key"], body["voter_pq_key"])
        payload = vote_payload(
            decision_id=body["decision_id"],
            request_id=body["request"],
            voter_id=body["voter"],
            approve=body["vote"] == "approve",
            reason_commitment=body["reason_commitment"],
            at=body["at"],
        )
        verifier.verify_message(payload, HybridSignature.model_validate(body["personal_signature"]))
    except Exception as exc:
        raise ControlError(
            "a vote's personal signature does not verify", code="control.bad_vote_signature"
        ) from exc
