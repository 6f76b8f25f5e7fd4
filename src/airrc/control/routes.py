"""REST under /control/v1: AI systems request, approvers vote, actuators report, auditors audit."""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from airrc.config import Settings
from airrc.control.audit import audit, record_rows
from airrc.control.policy import ControlError
from airrc.control.service import ControlService
from airrc.errors import Error
from airrc.principals.web import CurrentPrincipal, SigningHostDep, unlock_for_signing
from airrc.routing import BoundedJSONRoute, served_host
from airrc.statements import parse_signed_statement
from airrc.store.db import Store
from airrc.store.statements import StatementLog

__all__ = ["router"]

# Who may read decisions and their statements.
READERS = ("approver", "admin", "duty_officer", "ai_system", "observer")


class ControlHost(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def statements(self) -> StatementLog: ...
    @property
    def control(self) -> ControlService: ...


NodeDep = Annotated[ControlHost, Depends(served_host)]
router = APIRouter(prefix="/control/v1", tags=["control"], route_class=BoundedJSONRoute)


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(max_length=64)
    action: dict[str, Any]
    rationale: str = Field(max_length=20_000)
    confidence: float = Field(ge=0, le=1)
    evidence: list[str] = Field(default_factory=list, max_length=64)
    expiry_seconds: int | None = Field(default=None, ge=1, le=7 * 86400)


class VoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: str = Field(min_length=1, max_length=5000)
    password: str | None = Field(
        default=None, max_length=1024, description="the approver's password: it unlocks their key now"
    )


class ExecutionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    authorization_id: str | None = Field(default=None, max_length=36)
    executed: bool


def _refusing(node: Any, principal: CurrentPrincipal, action: str, decision_id: str | None, fn: Any) -> Any:
    """Run ``fn`` in a transaction; a refusal is recorded after that transaction rolled back."""
    try:
        with node.store.session() as session:
            return fn(session)
    except Error as exc:
        node.control.refuse(principal.username, action, exc.code, decision_id)
        raise


@router.post("/decisions", status_code=201)
def request_decision(body: DecisionRequest, node: NodeDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """An AI system (or a permitted role) asks for a protected decision; keep the salt it answers."""
    receipt = _refusing(
        node,
        principal,
        "request",
        None,
        lambda s: node.control.request(
            s,
            principal,
            category_id=body.category,
            action=body.action,
            rationale=body.rationale,
            confidence=body.confidence,
            evidence=body.evidence,
            expiry_seconds=body.expiry_seconds,
        ),
    )
    return {"decision": receipt.decision.to_json(), "salt": receipt.salt}


@router.get("/decisions")
def list_decisions(
    node: NodeDep, principal: CurrentPrincipal, state: Annotated[str | None, Query(max_length=16)] = None
) -> list[dict[str, Any]]:
    principal.require(*READERS)
    with node.store.session() as session:
        node.control.settle_expired(session)
        return [d.to_json() for d in node.control.decisions(session, state=state)]


@router.get("/decisions/{decision_id}")
def get_decision(decision_id: str, node: NodeDep, principal: CurrentPrincipal) -> dict[str, Any]:
    principal.require(*READERS)
    with node.store.session() as session:
        node.control.settle_expired(session)
        decision = node.control.get(session, decision_id)
        doc = decision.to_json()
        if decision.outcome_statement is not None:
            doc["outcome"] = node.statements.get(session, decision.outcome_statement).to_json()
        return doc


@router.post("/decisions/{decision_id}/votes")
def vote(
    decision_id: str,
    *,
    body: VoteRequest,
    request: Request,
    node: NodeDep,
    signing: SigningHostDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """Approve or deny, signed with the approver's personal key, unlocked by the password sent now."""
    signer = principal
    if principal.kind == "user" and "approver" in principal.roles:
        try:
            signer = unlock_for_signing(request, signing, principal, body.password)
        except Error as exc:
            node.control.refuse(principal.username, "vote", exc.code, decision_id)
            raise
    decision = _refusing(
        node,
        principal,
        "vote",
        decision_id,
        lambda s: node.control.vote(s, signer, decision_id, approve=body.approve, reason=body.reason),
    )
    result: dict[str, Any] = decision.to_json()
    return result


@router.post("/decisions/{decision_id}/execution")
def report_execution(
    decision_id: str, body: ExecutionReport, node: NodeDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The actuator reports what it did, quoting the authorization it checked."""
    principal.require("ai_system", "admin", "duty_officer")
    signed = _refusing(
        node,
        principal,
        "execution",
        decision_id,
        lambda s: node.control.report_execution(
            s, principal, decision_id, authorization_id=body.authorization_id, executed=body.executed
        ),
    )
    violation = signed.statement.body.get("violation")
    if violation:
        # The violation is on record (statement and alert); the report itself is refused with its code.
        node.control.refuse(principal.username, "execution", violation, decision_id)
        raise ControlError(f"executed without a valid authorization: {violation}", code=violation)
    return {"statement": signed.to_json()}


@router.get("/audit")
def run_audit(
    node: NodeDep,
    principal: CurrentPrincipal,
    since: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    principal.require("admin", "approver", "duty_officer", "observer")
    limit = node.settings.limits.max_statement_bytes
    with node.store.read_session() as session:
        rows = record_rows(session, since=since, until=until)
        statements = [parse_signed_statement(r.data, max_bytes=limit) for r in rows]
    return audit(statements).to_json()
