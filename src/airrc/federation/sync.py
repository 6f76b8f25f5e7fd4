"""Catch-up after a partition: pull what a peer issued for us since a cursor, through the inbox."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from airrc.crypto.signing import HybridSigner
from airrc.crypto.trust import NodeCard
from airrc.errors import FederationError
from airrc.federation.inbox import Inbox
from airrc.federation.outbox import Outbox
from airrc.federation.peer_client import PeerClient
from airrc.store.db import Store
from airrc.store.statements import StatementAudience, StatementRow

__all__ = ["NOT_CAUGHT_UP", "statements_for", "sync_peer"]

# Link tests are answered live or not at all; catch-up never re-sends them.
NOT_CAUGHT_UP = ("node.ping",)
STATEMENTS_PATH = "/federation/v1/statements"


def statements_for(
    session: Session, issuer: str, requester: str, since: int, limit: int
) -> tuple[list[bytes], int]:
    """Our statements after ``since`` that ``requester`` may see, and the cursor to continue from."""
    addressed = or_(
        StatementRow.audience_public.is_(True),
        exists().where(
            StatementAudience.statement_row == StatementRow.row_id, StatementAudience.node_id == requester
        ),
    )
    rows = list(
        session.execute(
            select(StatementRow.seq, StatementRow.data)
            .where(
                StatementRow.issuer == issuer,
                StatementRow.seq > since,
                StatementRow.kind.not_in(NOT_CAUGHT_UP),
                addressed,
            )
            .order_by(StatementRow.seq)
            .limit(limit)
        )
    )
    if len(rows) == limit:
        return [bytes(r[1]) for r in rows], int(rows[-1][0])
    # Fewer than asked: everything up to our latest seq has been considered.
    latest = session.scalar(
        select(StatementRow.seq)
        .where(StatementRow.issuer == issuer)
        .order_by(StatementRow.seq.desc())
        .limit(1)
    )
    return [bytes(r[1]) for r in rows], max(since, int(latest or 0))


def sync_peer(
    *,
    peer: NodeCard,
    node_id: str,
    store: Store,
    inbox: Inbox,
    outbox: Outbox,
    signing_key: HybridSigner,
    client: httpx.Client,
    limit: int,
    max_rounds: int = 100,
) -> int:
    """Pull and accept everything ``peer`` issued for us since our cursor; returns how many were new."""
    with store.session() as session:
        cursor = outbox.link(session, peer.id).sync_cursor
    new = 0
    for _ in range(max_rounds):
        doc = _get(
            peer=peer,
            node_id=node_id,
            key=signing_key,
            client=client,
            since=cursor,
            limit=limit,
            outbox=outbox,
        )
        items: list[Any] = doc.get("statements", [])
        following = doc.get("next")
        if not isinstance(items, list) or not isinstance(following, int) or following < cursor:
            raise FederationError(
                f"{peer.name} sent a malformed catch-up page", code="federation.bad_response"
            )
        if items:
            result = inbox.accept(peer, items, receipt=False)
            new += len(result.accepted)
            if result.rejected:
                first = result.rejected[0]
                raise FederationError(f"catch-up from {peer.name} refused: {first.code}", code=first.code)
        with store.session() as session:
            outbox.link(session, peer.id).sync_cursor = following
        if following == cursor or len(items) < limit:
            return new
        cursor = following
    return new


def _get(
    *,
    peer: NodeCard,
    node_id: str,
    key: HybridSigner,
    client: httpx.Client,
    since: int,
    limit: int,
    outbox: Outbox,
) -> dict[str, Any]:
    peers = PeerClient(client, node_id=node_id, key=key, max_age=outbox.request_max_age)
    return peers.signed_get(peer, f"{STATEMENTS_PATH}?since={since}&limit={limit}")
