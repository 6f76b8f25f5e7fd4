"""The bodies of human-control statements, registered as kinds: a verifier (this node, or a peer reading an
audit bundle) refuses a body that does not fit with ``statement.bad_body``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from airrc.crypto.sealing import SealedBody
from airrc.crypto.signing import HybridSignature
from airrc.statements import register_kind

__all__ = ["AuthorizationBody", "ExecutionBody", "OutcomeBody", "RequestBody", "VoteBody"]

Id = Field(min_length=1, max_length=64)
Stamp = Field(max_length=40)
Commitment = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RecordLink(BaseModel):
    """A control statement's place in this node's control record: the ``n``-th, after ``previous`` (the
    digest of the ``n-1``-th, none for the first). An audit bundle must hold an unbroken run of links, so
    nothing can be left out of the range it covers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int = Field(ge=1, le=2**53 - 1)
    previous: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class _Recorded(_Body):
    # Filled by the service when the statement is issued; bundles refuse a control statement without it.
    record: RecordLink | None = None


@register_kind("control.request", description="an AI system asks for a protected decision")
class RequestBody(_Recorded):
    decision_id: str = Id
    category: str = Field(max_length=64)
    catalog_version: int = Field(ge=0)
    catalog_digest: str = Field(max_length=64)
    quorum: int = Field(ge=1, le=64)
    rule: str = Field(max_length=32)
    requester: str = Id
    requester_kind: Literal["user", "service"]
    action_commitment: str = Commitment
    details_commitment: str = Commitment
    confidence: float = Field(ge=0, le=1)
    evidence: tuple[str, ...] = Field(max_length=64)
    expires_at: str = Stamp
    details: SealedBody


@register_kind("control.vote", description="an approver's personally signed vote on a decision")
class VoteBody(_Recorded):
    decision_id: str = Id
    request: str = Id
    voter: str = Id
    voter_key: str = Field(max_length=64, description="base64 raw Ed25519 personal key")
    voter_pq_key: str = Field(max_length=2700, description="base64 raw ML-DSA-65 personal key")
    vote: Literal["approve", "deny"]
    reason_commitment: str = Commitment
    reason: SealedBody
    at: str = Stamp
    personal_signature: HybridSignature


class AuthorizationBody(_Body):
    id: str = Id
    decision_id: str = Id
    action_commitment: str = Commitment
    expires_at: str = Stamp
    single_use: bool


@register_kind("control.outcome", description="a decision settled: authorized, denied or expired")
class OutcomeBody(_Recorded):
    decision_id: str = Id
    request: str = Id
    outcome: Literal["authorized", "denied", "expired"]
    votes: tuple[str, ...] = Field(max_length=64)
    decided_at: str = Stamp
    authorization: AuthorizationBody | None = None


@register_kind("control.execution", description="what the actuator did, and any violation")
class ExecutionBody(_Recorded):
    decision_id: str = Id
    authorization: str | None = Field(default=None, max_length=64)
    result: Literal["executed", "not_executed"]
    reported_by: str = Id
    violation: str | None = Field(default=None, max_length=64)
    at: str = Stamp


@register_kind(
    "control.audit_mark", description="the end of an exported audit range: the control record's head then"
)
class AuditMarkBody(_Recorded):
    exported_at: str = Stamp
    since: str | None = Field(default=None, max_length=40, description="the range's requested start")
