"""REST under /standards/v1: the catalog and crosswalk, plans, attestations, verification and endorsement.

Running a plan takes minutes and a model on this machine, so it is a CLI command (``airrc eval run``), not a
request; everything else is here for the console.
"""

from __future__ import annotations

import base64
import gzip
from typing import Annotated, Any, Literal, Protocol

import httpx
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from airrc.federation.routes import FederationHost, authenticate_peer, signed_answer
from airrc.principals.accounts import AuthenticatedPrincipal
from airrc.principals.web import ReadSessionDep, require_roles
from airrc.routing import BoundedJSONRoute, served_host
from airrc.standards.catalog import FRAMEWORK_IDS, crosswalk, uncovered_domains
from airrc.standards.service import StandardsService

__all__ = ["peer_router", "router"]


class StandardsHost(Protocol):
    @property
    def standards(self) -> StandardsService: ...


class StandardsPeerHost(FederationHost, StandardsHost, Protocol):
    """Answering a peer's signed request for one of our evaluation logs."""


NodeDep = Annotated[StandardsHost, Depends(served_host)]
PeerNodeDep = Annotated[StandardsPeerHost, Depends(served_host)]
router = APIRouter(prefix="/standards/v1", tags=["standards"], route_class=BoundedJSONRoute)
# Under the federation prefix: peers fetch evaluation logs with the same signed requests as everything else.
peer_router = APIRouter(prefix="/federation/v1", tags=["federation"], route_class=BoundedJSONRoute)
EvaluatorDep = Annotated[AuthenticatedPrincipal, Depends(require_roles("admin", "evaluator"))]
READERS = ("admin", "evaluator", "analyst", "observer", "approver")
ReaderDep = Annotated[AuthenticatedPrincipal, Depends(require_roles(*READERS))]


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(max_length=500)
    suites: list[str] = Field(min_length=1, max_length=16)
    witness: str | None = Field(default=None, max_length=64)
    requirements: list[str] | None = Field(default=None, max_length=64)
    languages: list[Literal["en", "zh"]] = Field(default=["en", "zh"], min_length=1, max_length=2)
    samples_per_kind: int | None = Field(default=None, ge=1, le=10_000)
    epochs: int = Field(default=1, ge=1, le=10)
    max_tokens: int = Field(default=96, ge=1, le=4096)


@router.get("/catalog")
def catalog(node: NodeDep, _: ReaderDep) -> dict[str, Any]:
    """Requirements per domain, bilingual, with the catalog's version and digest."""
    cat = node.standards.catalog
    return {
        "version": cat.version,
        "digest": cat.digest,
        "confidence": cat.doc.confidence.model_dump(),
        "domains": {k: v.model_dump() for k, v in cat.doc.domains.items()},
        "requirements": [r.model_dump(mode="json", exclude={"crosswalk"}) for r in cat.doc.requirements],
        "frameworks": {
            k: {"name": f.name, "publisher": f.publisher, "published": f.published, "gaps": f.gaps}
            for k, f in cat.frameworks.items()
        },
    }


@router.get("/crosswalk")
def crosswalk_table(
    node: NodeDep, _: ReaderDep, framework: Annotated[str, Query(max_length=32)]
) -> dict[str, Any]:
    """Each requirement with its clauses in ``framework``, or the explicit reason there are none."""
    cat = node.standards.catalog
    rows = crosswalk(cat, framework)
    return {
        "framework": framework,
        "frameworks": list(FRAMEWORK_IDS),
        "uncovered_domains": uncovered_domains(cat, framework),
        "rows": [
            {
                "requirement": row.requirement.id,
                "domain": row.requirement.domain,
                "title": row.requirement.title.model_dump(),
                "clauses": [
                    {"id": c.key, "official_id": c.official, "title": c.title, "title_zh": c.title_zh}
                    for c in row.clauses
                ],
                "none": row.none.model_dump() if row.none is not None else None,
            }
            for row in rows
        ],
    }


@router.post("/plans", status_code=201)
async def create_plan(request: PlanRequest, node: NodeDep, _: EvaluatorDep) -> dict[str, Any]:
    """Register an evaluation (a signed ``standards.plan``) before anything runs."""
    signed = await run_in_threadpool(
        node.standards.plan,
        model=request.model,
        suites=request.suites,
        witness=request.witness,
        requirements=request.requirements,
        languages=tuple(request.languages),
        samples_per_kind=request.samples_per_kind,
        epochs=request.epochs,
        max_tokens=request.max_tokens,
    )
    return {"plan": signed.statement.id, "body": signed.statement.body}


@router.post("/plans/{plan_id}/attest", status_code=201)
async def attest(plan_id: str, node: NodeDep, _: EvaluatorDep) -> dict[str, Any]:
    signed = await run_in_threadpool(node.standards.attest, plan_id)
    return {"attestation": signed.statement.id, "body": signed.statement.body}


@router.get("/attestations")
def attestations(node: NodeDep, session: ReadSessionDep, _: ReaderDep) -> dict[str, Any]:
    """Every attestation this node holds, ours and peers', with endorsements and our verification."""
    return {"attestations": node.standards.attestations(session)}


@router.get("/attestations/{attestation_id}")
def attestation(attestation_id: str, node: NodeDep, session: ReadSessionDep, _: ReaderDep) -> dict[str, Any]:
    return node.standards.attestation(session, attestation_id)


def _verify(node: Any, attestation_id: str) -> dict[str, Any]:
    with httpx.Client() as client:
        result = node.standards.verify(attestation_id, client=client)
    return {
        "attestation": attestation_id,
        "checks": result.checks,
        "results": [s.to_json() for s in result.scores],
    }


@router.post("/attestations/{attestation_id}/verify")
async def verify(attestation_id: str, node: NodeDep, _: EvaluatorDep) -> dict[str, Any]:
    """Verify a peer's attestation (fetching its log); a re-run is a CLI command (``--rerun``)."""
    return await run_in_threadpool(_verify, node, attestation_id)


@router.post("/attestations/{attestation_id}/endorse", status_code=201)
async def endorse(attestation_id: str, node: NodeDep, _: EvaluatorDep) -> dict[str, Any]:
    signed = await run_in_threadpool(node.standards.endorse, attestation_id)
    return {"endorsement": signed.statement.id, "body": signed.statement.body}


@peer_router.get("/standards/logs/{attestation_id}")
async def standards_log(attestation_id: str, request: Request, node: PeerNodeDep) -> Response:
    """The canonical evaluation log behind one of our attestations, for a pinned peer that verifies it."""
    body = await request.body()
    return await run_in_threadpool(_standards_log, node, request, body, attestation_id)


def _standards_log(node: StandardsPeerHost, request: Request, body: bytes, attestation_id: str) -> Response:
    authenticate_peer(node, request, body)
    packed = gzip.compress(node.standards.log_for(attestation_id), mtime=0)
    return signed_answer(
        node, request, 200, {"attestation": attestation_id, "log": base64.b64encode(packed).decode()}
    )
