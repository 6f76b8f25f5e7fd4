"""A TAXII 2.1 server under ``/taxii2/``.

Collections: one view per partner (exactly the STIX of what that partner may see: its sharing decisions,
redactions and scrubbing applied), one per peer for what it shared with us, and a writable inbox whose
objects become draft reports. Objects are stored per collection and version with a monotonically
increasing sequence, so ``next`` cursors are plain positions in storage and survive a restart.
Access: bearer tokens or HTTP Basic with a user's password (throttled like logins); admins and analysts
read every collection and write the inbox; any other principal reads or writes only the collections
granted to it (``airrc taxii grant``). Errors are TAXII error messages carrying our stable code.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from airrc.errors import Error, Forbidden, InputError, NotFound, TaxiiError
from airrc.exchange.collections import STIX_MEDIA, Collection, TaxiiObject, TaxiiStatus, stamp, version_of
from airrc.exchange.web import ExchangeHost, NodeDep
from airrc.principals.accounts import AuthenticatedPrincipal
from airrc.principals.web import BearerOrBasicPrincipal as CurrentPrincipal
from airrc.routing import MAX_ROW_ID, BoundedJSONRoute
from airrc.store.db import utcnow

__all__ = ["TAXII_MEDIA", "error_answer", "router"]

TAXII_MEDIA = "application/taxii+json;version=2.1"
MAX_PAGE = 1000


# -- queries -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    added_after: datetime | None
    types: list[str]
    ids: list[str]
    versions: list[str]
    spec_versions: list[str]
    limit: int
    after_seq: int


def _split(values: list[str] | None) -> list[str]:
    return [v for value in values or [] for v in value.split(",") if v]


def _cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _uncursor(text: str | None) -> int:
    if not text:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().partition(":")
        seq = int(value)
    except ValueError as exc:
        raise InputError("the next cursor is not one this server gave", code="taxii.bad_cursor") from exc
    if kind != "seq" or not 0 <= seq <= MAX_ROW_ID:
        raise InputError("the next cursor is not one this server gave", code="taxii.bad_cursor")
    return seq


def _select(session: Session, collection_id: str, f: Filters) -> tuple[list[TaxiiObject], bool]:
    stmt = select(TaxiiObject).where(
        TaxiiObject.collection_id == collection_id, TaxiiObject.seq > f.after_seq
    )
    if f.added_after is not None:
        stmt = stmt.where(TaxiiObject.date_added > f.added_after)
    if f.types:
        stmt = stmt.where(TaxiiObject.type.in_(f.types))
    if f.ids:
        stmt = stmt.where(TaxiiObject.object_id.in_(f.ids))
    if f.spec_versions:
        stmt = stmt.where(TaxiiObject.spec_version.in_(f.spec_versions))
    versions = f.versions or ["last"]
    if "all" not in versions:
        wanted = []
        if "last" in versions:
            wanted.append(TaxiiObject.is_last.is_(True))
        if "first" in versions:
            wanted.append(TaxiiObject.is_first.is_(True))
        exact = [v for v in versions if v not in ("first", "last")]
        if exact:
            wanted.append(TaxiiObject.version.in_(exact))
        stmt = stmt.where(or_(*wanted))
    rows = list(session.scalars(stmt.order_by(TaxiiObject.seq).limit(f.limit + 1)))
    return rows[: f.limit], len(rows) > f.limit


# -- routes --------------------------------------------------------------------------------------------------

router = APIRouter(prefix="/taxii2", tags=["taxii"], route_class=BoundedJSONRoute)


def _json(doc: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(doc, ensure_ascii=False), status_code=status, media_type=TAXII_MEDIA, headers=headers
    )


def error_answer(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """A TAXII 2.1 error message resource (§3.6.1) with our stable code in ``error_code``."""
    doc = {
        "title": code,
        "description": message,
        "error_code": code,
        "http_status": str(status),
        "details": {"code": code},
    }
    return _json(doc, status=status, headers=headers)


def _media_range(part: str) -> tuple[str, dict[str, str]]:
    kind, *params = (p.strip() for p in part.split(";"))
    values: dict[str, str] = {}
    for param in params:
        name, _, value = param.partition("=")
        values[name.strip().lower()] = value.strip().strip('"')
    return kind.lower(), values


def _is_taxii_21(part: str, *, wildcards: bool) -> bool:
    kind, params = _media_range(part)
    if kind == "application/taxii+json":
        # Without a version the client takes the server's (2.1); any other version is another protocol.
        return params.get("version", "2.1") == "2.1"
    return wildcards and kind in ("*/*", "application/*")


def _check_accept(request: Request) -> None:
    accept = request.headers.get("accept", "*/*")
    if not any(_is_taxii_21(part, wildcards=True) for part in accept.split(",")):
        raise TaxiiError(
            "this server answers application/taxii+json;version=2.1 only", code="taxii.not_acceptable"
        )


def _find_collection(node: ExchangeHost, session: Session, collection_id: str) -> Collection:
    peers = node.trust.peers(session)
    found: Collection | None = next((c for c in node.taxii.collections(peers) if c.id == collection_id), None)
    if found is None:
        raise NotFound(f"no collection {collection_id}", code="taxii.unknown_collection")
    return found


def _collection(
    node: ExchangeHost,
    session: Session,
    principal: AuthenticatedPrincipal,
    collection_id: str,
    *,
    write: bool = False,
) -> Collection:
    found = _find_collection(node, session, collection_id)
    can_read, can_write = node.taxii.rights(session, principal, found)
    if (write and not can_write) or (not write and not can_read):
        raise Forbidden(
            f"no {'write' if write else 'read'} access to collection {collection_id}", code="taxii.forbidden"
        )
    return found


def _filters(
    request: Request,
    limit: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    next_: Annotated[str | None, Query(alias="next", max_length=200)] = None,
    added_after: Annotated[str | None, Query(max_length=40)] = None,
) -> Filters:
    """The paging and ``match[...]`` filters of a request (a dependency of every listing route)."""
    _check_accept(request)
    params = request.query_params
    after: datetime | None = None
    if added_after:
        try:
            after = datetime.fromisoformat(added_after.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError("added_after is an RFC 3339 timestamp", code="taxii.bad_filter") from exc
        if after.tzinfo is None or "T" not in added_after:
            raise InputError("added_after is an RFC 3339 timestamp with a zone", code="taxii.bad_filter")
    return Filters(
        added_after=after,
        types=_split(params.getlist("match[type]")),
        ids=_split(params.getlist("match[id]")),
        versions=_split(params.getlist("match[version]")),
        spec_versions=_split(params.getlist("match[spec_version]")),
        limit=min(limit or 100, MAX_PAGE),
        after_seq=_uncursor(next_),
    )


def _page(
    key: str, items: list[Any], rows: list[TaxiiObject], more: bool, *, empty_ok: bool = False
) -> Response:
    """A TAXII page: ``more``, ``next`` (a storage position), the items, and the date-added headers."""
    if not rows and empty_ok:
        return _json({})
    doc: dict[str, Any] = {"more": more, key: items}
    if more:
        doc["next"] = _cursor(rows[-1].seq)
    return _json(doc, headers=_page_headers(rows))


def _page_headers(rows: list[TaxiiObject]) -> dict[str, str]:
    if not rows:
        return {}
    return {
        "X-TAXII-Date-Added-First": stamp(min(r.date_added for r in rows)),
        "X-TAXII-Date-Added-Last": stamp(max(r.date_added for r in rows)),
    }


FiltersDep = Annotated[Filters, Depends(_filters)]


@router.get("/")
def discovery(request: Request, node: NodeDep, _: CurrentPrincipal) -> Response:
    _check_accept(request)
    root = str(request.url_for("api_root"))
    return _json(
        {
            "title": f"airrc node {node.name}",
            "description": "Reports of malicious AI use shared between AI Risk Reduction Center nodes.",
            "default": root,
            "api_roots": [root],
        }
    )


@router.get("/api/", name="api_root")
def api_root(request: Request, node: NodeDep, _: CurrentPrincipal) -> Response:
    _check_accept(request)
    return _json(
        {
            "title": f"airrc {node.name}",
            "versions": [TAXII_MEDIA],
            "max_content_length": node.settings.limits.max_request_bytes,
        }
    )


@router.get("/api/collections/")
def collections(request: Request, node: NodeDep, principal: CurrentPrincipal) -> Response:
    _check_accept(request)
    with node.store.read_session() as session:
        out = []
        for c in node.taxii.collections(node.trust.peers(session)):
            can_read, can_write = node.taxii.rights(session, principal, c)
            if can_read or can_write:
                out.append(c.to_json(can_read=can_read, can_write=can_write))
    return _json({"collections": out} if out else {})


@router.get("/api/collections/{collection_id}/")
def collection(request: Request, collection_id: str, node: NodeDep, principal: CurrentPrincipal) -> Response:
    _check_accept(request)
    with node.store.read_session() as session:
        found = _find_collection(node, session, collection_id)
        can_read, can_write = node.taxii.rights(session, principal, found)
        if not (can_read or can_write):
            raise Forbidden(f"no access to collection {collection_id}", code="taxii.forbidden")
    return _json(found.to_json(can_read=can_read, can_write=can_write))


def _readable(
    node: ExchangeHost, principal: AuthenticatedPrincipal, collection_id: str, f: Filters
) -> tuple[list[TaxiiObject], bool]:
    """One page of a collection the principal may read."""
    with node.store.read_session() as session:
        _collection(node, session, principal, collection_id)
        return _select(session, collection_id, f)


def _page_of(
    collection_id: str, node: NodeDep, principal: CurrentPrincipal, f: FiltersDep
) -> tuple[list[TaxiiObject], bool]:
    """The filtered page of the path's collection, once the caller's right to read it is checked."""
    return _readable(node, principal, collection_id, f)


PageDep = Annotated[tuple[list[TaxiiObject], bool], Depends(_page_of)]


@router.get("/api/collections/{collection_id}/objects/")
def get_objects(page: PageDep) -> Response:
    rows, more = page
    return _page("objects", [json.loads(r.data) for r in rows], rows, more, empty_ok=True)


@router.get("/api/collections/{collection_id}/objects/{object_id}/")
def get_object(
    collection_id: str,
    object_id: str,
    node: NodeDep,
    principal: CurrentPrincipal,
    f: FiltersDep,
) -> Response:
    rows, more = _readable(node, principal, collection_id, Filters(**{**f.__dict__, "ids": [object_id]}))
    if not rows:
        with node.store.read_session() as session:
            found = session.scalar(
                select(TaxiiObject.seq).where(
                    TaxiiObject.collection_id == collection_id, TaxiiObject.object_id == object_id
                )
            )
        if not found:
            raise NotFound(f"no object {object_id} in this collection", code="taxii.unknown_object")
    return _page("objects", [json.loads(r.data) for r in rows], rows, more)


@router.get("/api/collections/{collection_id}/objects/{object_id}/versions/")
def versions(
    collection_id: str,
    object_id: str,
    node: NodeDep,
    principal: CurrentPrincipal,
    f: FiltersDep,
) -> Response:
    every_version = Filters(**{**f.__dict__, "ids": [object_id], "versions": ["all"]})
    rows, more = _readable(node, principal, collection_id, every_version)
    if not rows and not f.after_seq:
        raise NotFound(f"no object {object_id} in this collection", code="taxii.unknown_object")
    return _page("versions", [r.version for r in rows], rows, more)


@router.get("/api/collections/{collection_id}/manifest/")
def manifest(page: PageDep) -> Response:
    rows, more = page
    manifest_items = [
        {"id": r.object_id, "date_added": stamp(r.date_added), "version": r.version, "media_type": STIX_MEDIA}
        for r in rows
    ]
    return _page("objects", manifest_items, rows, more, empty_ok=True)


@router.post("/api/collections/{collection_id}/objects/")
async def add_objects(
    request: Request, collection_id: str, node: NodeDep, principal: CurrentPrincipal
) -> Response:
    from starlette.concurrency import run_in_threadpool

    _check_accept(request)
    content_type = request.headers.get("content-type", "")
    if not _is_taxii_21(content_type, wildcards=False):
        raise TaxiiError(
            "POST an envelope as application/taxii+json;version=2.1", code="taxii.unsupported_media_type"
        )
    body = await request.body()
    return await run_in_threadpool(_add_objects, node, principal, collection_id, body)


def _add_objects(node: Any, principal: AuthenticatedPrincipal, collection_id: str, body: bytes) -> Response:
    from airrc.crypto.canonical import parse_json

    with node.store.read_session() as session:
        _collection(node, session, principal, collection_id, write=True)
    envelope = parse_json(body, max_bytes=node.settings.limits.max_request_bytes)
    if not isinstance(envelope, dict) or not isinstance(envelope.get("objects"), list):
        raise InputError('an envelope is {"objects": [...]}', code="taxii.bad_envelope")
    objects = envelope["objects"]
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    status_id = str(uuid.uuid4())
    successes, failures = [], []
    try:
        with node.store.session() as session:
            rows = node.exchange.import_stix(
                session,
                bundle,
                origin_country=node.settings.country,
                max_bytes=node.settings.limits.max_request_bytes,
            )
            node.taxii.add(session, collection_id, objects)
            successes = [
                {"id": o["id"], "version": version_of(o), "message": f"{len(rows)} draft report(s) created"}
                for o in objects
            ]
    except Error as exc:
        failures = [
            {"id": o.get("id", "?"), "version": version_of(o), "message": f"{exc.code}: {exc.message}"}
            for o in objects
            if isinstance(o, dict)
        ]
    status = {
        "id": status_id,
        "status": "complete",
        "request_timestamp": stamp(datetime.now(UTC)),
        "total_count": len(objects),
        "success_count": len(successes),
        "successes": successes,
        "failure_count": len(failures),
        "failures": failures,
        "pending_count": 0,
    }
    with node.store.session() as session:
        session.add(
            TaxiiStatus(
                id=status_id, collection_id=collection_id, created_at=utcnow(), data=json.dumps(status)
            )
        )
    return _json(status, status=202)


@router.get("/api/status/{status_id}/")
def get_status(request: Request, status_id: str, node: NodeDep, principal: CurrentPrincipal) -> Response:
    _check_accept(request)
    with node.store.read_session() as session:
        row = session.get(TaxiiStatus, status_id)
        if row is None:
            raise NotFound(f"no status {status_id}", code="taxii.unknown_status")
        _collection(node, session, principal, row.collection_id, write=True)
        return _json(json.loads(row.data))
