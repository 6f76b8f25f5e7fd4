"""Node-to-node endpoints; every request and response is signed (RFC 9421)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from airrc.crypto.keys import NodeIdentity
from airrc.crypto.signing import HybridVerifier
from airrc.crypto.trust import NodeCard
from airrc.errors import UnknownIssuer
from airrc.federation.httpsig import FederationAuthError, sign_response, verify_request
from airrc.federation.inbox import Inbox
from airrc.federation.sync import statements_for
from airrc.routing import BoundedJSONRoute, served_host
from airrc.trust.host import TrustHost

__all__ = ["FederationHost", "authenticate_peer", "router", "signed_answer", "target_uri"]


class FederationHost(TrustHost, Protocol):
    """What answering a peer needs: who we are, our keys, storage, pinned peers and the inbox."""

    @property
    def id(self) -> str: ...
    @property
    def identity(self) -> NodeIdentity: ...
    @property
    def inbox(self) -> Inbox: ...
    @property
    def federation_max_age(self) -> timedelta: ...


NodeDep = Annotated[FederationHost, Depends(served_host)]

router = APIRouter(prefix="/federation/v1", tags=["federation"], route_class=BoundedJSONRoute)


def target_uri(node: FederationHost, request: Request) -> str:
    """The request's RFC 9421 ``@target-uri`` as the peer addressed it: with ``public_base_url`` set (a
    reverse proxy in front), that base followed by the path and query this server received."""
    base = node.settings.public_base_url
    if base is None:
        return str(request.url)
    query = request.url.query
    return base.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def authenticate_peer(
    node: FederationHost, request: Request, body: bytes, *, record_nonce: bool = True
) -> tuple[NodeCard, str]:
    """The pinned peer that signed this request, after the whole signing profile and the replay check."""
    cards: dict[str, NodeCard] = {}

    def lookup(key_id: str) -> HybridVerifier | None:
        try:
            with node.store.read_session() as session:
                card = node.trust.current(session, key_id)
        except UnknownIssuer:
            return None
        if card.id == node.id:
            return None
        cards[key_id] = card
        return card.keys.verifier()

    sender_id, nonce, _created = verify_request(
        request.method,
        target_uri(node, request),
        request.headers.items(),
        body,
        lookup=lookup,
        max_age=node.federation_max_age,
    )
    card = cards.get(sender_id)
    if card is None:
        raise FederationAuthError("the request is signed by an unknown key", code="federation.unknown_key")
    if record_nonce:
        with node.store.session() as session:
            if not node.inbox.remember_nonce(session, nonce, sender_id):
                raise FederationAuthError("this request was already received", code="federation.replayed")
    return card, nonce


def signed_answer(node: FederationHost, request: Request, status: int, doc: dict[str, Any]) -> Response:
    body = json.dumps(doc, separators=(",", ":")).encode()
    headers = sign_response(
        status,
        body,
        request_method=request.method,
        request_url=target_uri(node, request),
        request_headers=request.headers.items(),
        key=node.identity.signer,
        key_id=node.id,
    )
    headers.pop("content-type", None)
    return Response(body, status_code=status, headers=headers, media_type="application/json")


@router.post("/statements")
async def push(request: Request, node: NodeDep) -> Response:
    """Accept a batch; answer with our signed receipt for what was accepted and a code for each refusal."""
    body = await request.body()
    # Storage work runs in the thread pool: blocking the event loop on a database lock could deadlock.
    return await run_in_threadpool(_push, node, request, body)


def _push(node: FederationHost, request: Request, body: bytes) -> Response:
    # The nonce is recorded in the same transaction as the batch it authenticates.
    sender, nonce = authenticate_peer(node, request, body, record_nonce=False)
    items = node.inbox.parse_batch(body)
    result = node.inbox.accept(sender, items, nonce=nonce)
    doc: dict[str, Any] = {
        "receipt": result.receipt.to_json() if result.receipt is not None else None,
        "accepted": result.accepted,
        "rejected": [r.to_json() for r in result.rejected],
    }
    if not result.accepted and result.rejected:
        first = result.rejected[0]
        doc["error"] = {"code": first.code, "message": first.message}
        return signed_answer(node, request, 422, doc)
    return signed_answer(node, request, 200, doc)


@router.get("/statements")
async def pull(
    request: Request,
    node: NodeDep,
    since: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> Response:
    """Catch-up: what we issued after ``since`` that the signing peer may see."""
    body = await request.body()
    return await run_in_threadpool(_pull, node, request, body, since, limit)


def _pull(node: FederationHost, request: Request, body: bytes, since: int, limit: int) -> Response:
    sender, _nonce = authenticate_peer(node, request, body)
    limit = min(limit, node.settings.limits.max_batch_length)
    with node.store.read_session() as session:
        items, following = statements_for(session, node.id, sender.id, since, limit)
    docs = [json.loads(item) for item in items]
    return signed_answer(node, request, 200, {"statements": docs, "next": following})


@router.get("/limits")
async def limits(request: Request, node: NodeDep) -> Response:
    """What one push may hold here, so a peer sizes its batches to fit (a 413 is never the way to learn)."""
    body = await request.body()
    return await run_in_threadpool(_limits, node, request, body)


def _limits(node: FederationHost, request: Request, body: bytes) -> Response:
    authenticate_peer(node, request, body)
    bounds = node.settings.limits
    doc = {
        "max_request_bytes": bounds.max_request_bytes,
        "max_statement_bytes": bounds.max_statement_bytes,
        "max_batch_length": bounds.max_batch_length,
    }
    return signed_answer(node, request, 200, doc)
