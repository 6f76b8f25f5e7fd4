"""REST under /exchange/v1: reports, per-partner previews, publication, policies, STIX, clusters, search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from airrc.crypto.canonical import parse_json
from airrc.exchange.atlas import load_atlas
from airrc.exchange.policy import PartnerPolicy
from airrc.exchange.search import SearchQuery
from airrc.exchange.web import ExchangeHost, NodeDep
from airrc.principals.accounts import AuthenticatedPrincipal
from airrc.principals.web import CurrentPrincipal
from airrc.routing import MAX_ROW_ID, BoundedJSONRoute

__all__ = ["router"]

router = APIRouter(prefix="/exchange/v1", tags=["exchange"], route_class=BoundedJSONRoute)
READERS = ("admin", "analyst", "duty_officer", "observer")
WRITERS = ("admin", "analyst")


async def _json_body(request: Request, node: ExchangeHost) -> Any:
    return parse_json(await request.body(), max_bytes=node.settings.limits.max_request_bytes)


@router.post("/reports", status_code=201)
async def create_report(request: Request, node: NodeDep, principal: CurrentPrincipal) -> dict[str, Any]:
    principal.require(*WRITERS)
    doc = await _json_body(request, node)

    def create() -> dict[str, Any]:
        with node.store.session() as session:
            return node.exchange.create(session, doc).to_json()

    return await run_in_threadpool(create)


@router.put("/reports/{report}")
async def edit_report(
    report: str, request: Request, node: NodeDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    principal.require(*WRITERS)
    doc = await _json_body(request, node)

    def edit() -> dict[str, Any]:
        with node.store.session() as session:
            return node.exchange.edit(session, report, doc).to_json()

    return await run_in_threadpool(edit)


@router.get("/reports")
def search_reports(
    node: NodeDep,
    principal: CurrentPrincipal,
    *,
    category: Annotated[str | None, Query(max_length=64)] = None,
    sector: Annotated[str | None, Query(max_length=64)] = None,
    technique: Annotated[str | None, Query(max_length=32)] = None,
    tlp: Annotated[str | None, Query(max_length=16)] = None,
    origin: Annotated[str | None, Query(max_length=64)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=12)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[int | None, Query(ge=0, le=MAX_ROW_ID)] = None,
) -> dict[str, Any]:
    """Filter reports (ours and received); page with ``after`` = the last ``key`` of the previous page."""
    principal.require(*READERS)
    query = SearchQuery.checked(
        category=category,
        sector=sector,
        technique=technique,
        tlp=tlp,
        origin=origin,
        since=since,
        until=until,
        text=q,
        status=status,
        limit=limit,
        after=after,
    )
    with node.store.read_session() as session:
        names = node.names(session)
        rows = node.exchange.search(session, query)
        return {
            "reports": [r.to_json(names=names) for r in rows],
            "next": rows[-1].key if len(rows) == limit else None,
        }


@router.get("/reports/{report}")
def show_report(report: str, node: NodeDep, principal: CurrentPrincipal) -> dict[str, Any]:
    principal.require(*READERS)
    with node.store.read_session() as session:
        row = node.exchange.get(session, report)
        return {
            **row.to_json(names=node.names(session)),
            "links": node.exchange.links(session, row.key),
            "shares": node.exchange.shares(session, row.key),
        }


@router.get("/reports/{report}/preview")
def preview(report: str, node: NodeDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """For each partner: whether the report would go, and exactly the JSON that would leave."""
    principal.require(*WRITERS)
    with node.store.read_session() as session:
        return [d.to_json() for d in node.exchange.preview(session, report)]


@router.post("/reports/{report}/publish")
def publish(report: str, node: NodeDep, principal: CurrentPrincipal) -> dict[str, Any]:
    principal.require(*WRITERS)
    with node.store.session() as session:
        result = node.exchange.publish(session, report)
        return {
            "report": result.report.to_json(),
            "statements": result.statements,
            "partners": [
                {"partner": d.partner_name, "shared": d.shared, "reason": d.reason} for d in result.decisions
            ],
        }


@router.post("/reports/{report}/revoke")
async def revoke(report: str, request: Request, node: NodeDep, principal: CurrentPrincipal) -> dict[str, Any]:
    principal.require(*WRITERS)
    doc = await _json_body(request, node) if await request.body() else {}
    reason = str(doc.get("reason", "revoked")) if isinstance(doc, dict) else "revoked"

    def do() -> dict[str, Any]:
        with node.store.session() as session:
            return {"statements": node.exchange.revoke(session, report, reason[:2000])}

    return await run_in_threadpool(do)


@router.get("/reports/{report}/stix")
def export_stix(
    report: str,
    node: NodeDep,
    principal: CurrentPrincipal,
    partner: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    principal.require(*READERS)
    with node.store.read_session() as session:
        return node.exchange.export_stix(session, report, partner=partner)


@router.post("/stix", status_code=201)
async def import_stix(
    request: Request,
    node: NodeDep,
    principal: CurrentPrincipal,
    origin_country: Annotated[str | None, Query(max_length=2)] = None,
) -> dict[str, Any]:
    """Draft reports from a STIX 2.1 bundle; an invalid bundle stores nothing and names what is wrong."""
    principal.require(*WRITERS)
    bundle = await _json_body(request, node)

    def do() -> dict[str, Any]:
        with node.store.session() as session:
            rows = node.exchange.import_stix(
                session,
                bundle,
                origin_country=origin_country,
                max_bytes=node.settings.limits.max_request_bytes,
            )
            return {"reports": [r.to_json() for r in rows]}

    return await run_in_threadpool(do)


@router.put("/policies/{partner}")
def set_policy(
    partner: str, policy: PartnerPolicy, node: NodeDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    principal.require("admin")
    with node.store.session() as session:
        card = node.exchange.set_policy(session, partner, policy)
        return {"partner": card.name, "partner_id": card.id, "policy": policy.model_dump(mode="json")}


@router.get("/policies")
def policies(node: NodeDep, principal: CurrentPrincipal) -> dict[str, Any]:
    principal.require(*WRITERS)
    with node.store.read_session() as session:
        names = node.names(session)
        # Keyed by node id (a name is shown, never used as a key).
        return {
            "policies": [
                {"partner_id": k, "partner": names.get(k), "policy": v.model_dump(mode="json")}
                for k, v in sorted(node.exchange.policies(session).items())
            ]
        }


@router.get("/clusters")
def clusters(node: NodeDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Near-duplicate reports across nodes."""
    principal.require(*READERS)
    with node.store.read_session() as session:
        return node.exchange.clusters(session)


@router.get("/atlas")
def atlas(
    principal: CurrentPrincipal, q: Annotated[str, Query(min_length=1, max_length=200)]
) -> list[dict[str, Any]]:
    _reader(principal)
    return [
        {"id": t.id, "name": t.name, "tactics": list(t.tactics), "description": t.description}
        for t in load_atlas().search(q)
    ]


def _reader(principal: AuthenticatedPrincipal) -> None:
    principal.require(*READERS)


@router.get("/consents")
def consents(node: NodeDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Requests to share a partner's report onward, ours and theirs, with their answers."""
    principal.require(*WRITERS)
    with node.store.read_session() as session:
        onward = node.exchange.onward
        return {"consents": [onward.describe(session, c) for c in onward.consents(session)]}


@router.post("/reports/{report}/consent", status_code=201)
def request_consent(report: str, node: NodeDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Ask the originators whose consent the draft needs, for the partners it would reach."""
    principal.require(*WRITERS)
    with node.store.session() as session:
        rows = node.exchange.request_consent(session, report)
        return {"requests": [node.exchange.onward.describe(session, r) for r in rows]}


class ConsentAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grant: bool


@router.post("/consents/{request_id}/answer")
def answer_consent(
    request_id: str, answer: ConsentAnswer, node: NodeDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Grant or refuse a partner's request to share a report built on ours (a signed answer)."""
    principal.require(*WRITERS)
    with node.store.session() as session:
        consent = node.exchange.onward.answer(session, request_id[:36], grant=answer.grant)
        return node.exchange.onward.describe(session, consent)
