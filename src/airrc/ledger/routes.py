"""Public ledger endpoints (C2SP-style: they carry only hashes) and the witness's add-checkpoint."""

from __future__ import annotations

import base64
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from airrc.ledger.gossip import published
from airrc.ledger.log import TransparencyLog
from airrc.ledger.witness import StaleSize, Witness, parse_add_checkpoint
from airrc.principals.web import ReadSessionDep, SessionDep
from airrc.routing import BoundedJSONRoute, served_host

__all__ = ["MAX_ENTRIES_PER_REQUEST", "router"]

MAX_ENTRIES_PER_REQUEST = 1000
SIZE = Annotated[int, Query(ge=0, le=2**63 - 1)]


class LedgerHost(Protocol):
    @property
    def ledger(self) -> TransparencyLog: ...
    @property
    def witness(self) -> Witness: ...


NodeDep = Annotated[LedgerHost, Depends(served_host)]
router = APIRouter(prefix="/ledger/v1", tags=["ledger"], route_class=BoundedJSONRoute)


def _b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(i).decode() for i in items]


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(node: NodeDep, session: SessionDep) -> PlainTextResponse:
    """The latest signed checkpoint, with every cosignature peers returned appended as signature lines."""
    return PlainTextResponse(node.ledger.served_checkpoint(session), media_type="text/plain; charset=utf-8")


@router.get("/entries")
def entries(node: NodeDep, session: ReadSessionDep, start: SIZE, end: SIZE) -> dict[str, list[str]]:
    """Entries [start, end), at most 1000 at a time: each the SHA-256 of one signed statement."""
    if end - start > MAX_ENTRIES_PER_REQUEST:
        end = start + MAX_ENTRIES_PER_REQUEST
    return {"entries": _b64(node.ledger.entries(session, start, end))}


@router.get("/proof/inclusion")
def inclusion(node: NodeDep, session: ReadSessionDep, index: SIZE, size: SIZE) -> dict[str, list[str]]:
    return {"hashes": _b64(node.ledger.inclusion_proof(session, index, size))}


@router.get("/proof/consistency")
def consistency(node: NodeDep, session: ReadSessionDep, old: SIZE, size: SIZE) -> dict[str, list[str]]:
    return {"hashes": _b64(node.ledger.consistency_proof(session, old, size))}


@router.post("/witness/add-checkpoint")
async def add_checkpoint(request: Request, node: NodeDep) -> Response:
    """C2SP tlog-witness add-checkpoint: answers the cosignature line, or 409 with the size we know."""
    body = await request.body()
    old_size, proof, note = parse_add_checkpoint(body)
    try:
        # In the thread pool: the event loop must never wait on a database lock.
        result = await run_in_threadpool(node.witness.submit, old_size, proof, note)
    except StaleSize as stale:
        # Set as a header: Starlette would append a charset to a text/* media type, which C2SP does not allow.
        return Response(f"{stale.size}\n", status_code=409, headers={"content-type": "text/x.tlog.size"})
    return PlainTextResponse(result.cosignature.line(), media_type="text/plain; charset=utf-8")


@router.get("/witness/cosigned")
def cosigned(node: NodeDep, session: ReadSessionDep) -> dict[str, object]:
    """Gossip: for every log this node witnesses, the last checkpoint it cosigned (the log's signatures and
    ours), so other witnesses can compare what they were shown (``docs/ledger.md``)."""
    return {"witness": node.ledger.origin, "checkpoints": published(session)}


@router.get("/witness/first-cosigned")
def first_cosigned(
    node: NodeDep,
    session: ReadSessionDep,
    origin: Annotated[str, Query(min_length=1, max_length=200)],
    above: SIZE,
) -> dict[str, object]:
    """The first cosignature this witness gave ``origin``'s log for a tree of more than ``above`` entries.

    Evaluation seeds depend on it (``docs/standards.md``); anyone may ask, it carries only a size, a root
    and the witness's own signature line.
    """
    row = node.witness.first_cosigned(session, origin, above)
    return {
        "origin": origin,
        "size": row.size,
        "root": base64.b64encode(row.root).decode(),
        "timestamp": row.timestamp,
        "cosignature": row.line,
    }
