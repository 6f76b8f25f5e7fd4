"""Channel transcript export: every statement of a channel with its inclusion proof in its issuer's log.

:func:`export_transcript` runs on a participant's node: it fetches peers' checkpoints and proofs over
their public ledger endpoints and checks them before writing. Offline verification of the file is
:mod:`airrc.hotline.transcript_verify`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from airrc.crypto.canonical import parse_json
from airrc.crypto.trust import NodeCard
from airrc.errors import Error, LedgerError, TranscriptError
from airrc.federation.log_audit import audit_peer, fetch_verified_inclusion, request_cosignature
from airrc.hotline.service import ChannelRow, MessageRow
from airrc.hotline.transcript_verify import TRANSCRIPT_FORMAT
from airrc.ledger.checkpoint import (
    Checkpoint,
    parse_checkpoint_text,
    parse_note,
)
from airrc.ledger.proofs import (
    proven_item,
)
from airrc.statements import format_timestamp
from airrc.store.statements import StatementRow

if TYPE_CHECKING:
    from airrc.config import Settings
    from airrc.federation.outbox import Outbox
    from airrc.hotline.service import HotlineService
    from airrc.ledger.log import TransparencyLog
    from airrc.ledger.witness import Witness
    from airrc.store.db import Store
    from airrc.trust.peers import TrustStore


class TranscriptHost(Protocol):
    """What exporting a transcript reads (the node provides it)."""

    @property
    def id(self) -> str: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def hotline(self) -> HotlineService: ...
    @property
    def trust(self) -> TrustStore: ...
    @property
    def ledger(self) -> TransparencyLog: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def witness(self) -> Witness: ...


__all__ = ["TranscriptHost", "export_transcript"]

log = logging.getLogger(__name__)


# -- export ------------------------------------------------------------------------------------------------


def _channel_rows(session: Session, node: TranscriptHost, channel: ChannelRow) -> list[StatementRow]:
    """The channel's statements, the receipts that cover them, and the rosters its acknowledgements need."""
    ids = {channel.open_statement, channel.close_statement}
    ids |= set(
        session.scalars(select(MessageRow.statement_id).where(MessageRow.channel_id == channel.channel_id))
    )
    rows = {
        r.statement_id: r
        for r in session.scalars(select(StatementRow).where(StatementRow.statement_id.in_(ids)))
    }
    candidates = session.scalars(
        select(StatementRow).where(
            StatementRow.kind.in_(("hotline.ack", "hotline.escalation")),
            StatementRow.issued_at >= channel.opened_at,
        )
    )
    limit = node.settings.limits.max_statement_bytes
    acks: list[tuple[StatementRow, dict[str, Any]]] = []
    for row in candidates:
        doc = parse_json(row.data, max_bytes=limit)["statement"]
        if isinstance(doc.get("body"), dict) and doc["body"].get("channel_id") == channel.channel_id:
            rows[row.statement_id] = row
            if row.kind == "hotline.ack" and doc["body"].get("officer"):
                acks.append((row, doc["body"]))
    ours = [r.row_id for r in rows.values() if r.local]
    receipt_ids = node.outbox.receipt_ids(session, ours)
    theirs = {r.digest for r in rows.values() if not r.local}
    if theirs:
        for row in session.scalars(
            select(StatementRow).where(
                StatementRow.kind == "federation.receipt",
                StatementRow.local.is_(True),
                StatementRow.issued_at >= channel.opened_at,
            )
        ):
            accepted = parse_json(row.data, max_bytes=limit)["statement"]["body"].get("accepted", [])
            if theirs & set(accepted):
                rows[row.statement_id] = row
    for row in session.scalars(select(StatementRow).where(StatementRow.statement_id.in_(receipt_ids))):
        rows[row.statement_id] = row
    for row, _body in acks:
        roster = session.scalar(
            select(StatementRow)
            .where(
                StatementRow.issuer == row.issuer,
                StatementRow.kind == "node.roster",
                StatementRow.seq < row.seq,
            )
            .order_by(StatementRow.seq.desc())
            .limit(1)
        )
        if roster is not None:
            rows[roster.statement_id] = roster
    return sorted(rows.values(), key=lambda r: (r.issued_at, r.issuer, r.seq))


def export_transcript(
    node: TranscriptHost, channel_id: str, *, client: httpx.Client | None = None
) -> dict[str, Any]:
    """The channel as a self-contained, offline-verifiable document (plaintext of its messages included).

    Every log's checkpoint in it carries a cosignature by another participant: ours is offered to the other
    members to cosign now (so a statement issued a moment ago is covered), and each peer's current
    checkpoint is witnessed by us now, with a consistency proof from the one we last cosigned."""
    limit = node.settings.limits.max_statement_bytes
    with node.store.read_session() as session:
        channel = node.hotline.channel(session, channel_id)
        rows = _channel_rows(session, node, channel)
        chains = {m: node.trust.chain(session, m) for m in channel.members}
        contents = {
            m.statement_id: json.loads(m.content)
            for m in session.scalars(select(MessageRow).where(MessageRow.channel_id == channel_id))
        }
    peers = {m: chains[m][-1] if chains.get(m) else _unknown(m) for m in channel.members if m != node.id}
    owned_client = client is None
    http = client or httpx.Client()
    try:
        notes = {node.id: _own_witnessed_note(node, peers.values(), rows, http)}
        own = parse_checkpoint_text(parse_note(notes[node.id]).text)
        proofs: dict[str, tuple[int, list[bytes]]] = {}
        with node.store.read_session() as session:
            for r in rows:
                if r.local and r.log_index is not None:
                    index = int(r.log_index)
                    proofs[r.statement_id] = (index, node.ledger.inclusion_proof(session, index, own.size))
        for peer_id in {r.issuer for r in rows if not r.local}:
            card = peers[peer_id] if peer_id in peers else _unknown(peer_id)
            notes[peer_id], checkpoint = _witness_peer_now(node, card, http)
            for row in rows:
                if row.issuer == peer_id and not row.local:
                    proofs[row.statement_id] = (row.seq - 1, _peer_proof(http, card, row, checkpoint))
    finally:
        if owned_client:
            http.close()
    entries = []
    for row in rows:
        signed = row.signed(max_bytes=limit)
        index, proof = proofs[row.statement_id]
        item = proven_item(signed, index, proof)
        if row.statement_id in contents:
            item["content"] = contents[row.statement_id]
        entries.append(item)
    return {
        "format": TRANSCRIPT_FORMAT,
        "channel_id": channel_id,
        "exported_by": node.id,
        "exported_at": format_timestamp(datetime.now(UTC)),
        "catalog_digest": node.hotline.catalog.digest,
        "cards": {node_id: [c.to_json() for c in chain] for node_id, chain in chains.items()},
        "checkpoints": notes,
        "entries": entries,
    }


def _own_witnessed_note(
    node: TranscriptHost, peers: Iterable[NodeCard], rows: list[StatementRow], http: httpx.Client
) -> str:
    for card in peers:
        try:
            request_cosignature(node.store.session, node.ledger, card, http)
        except Error as exc:  # another member's cosignature may do; none at all is refused below
            log.info("%s did not cosign our checkpoint: %s", card.name, exc.code)
    covering = max((int(r.log_index) for r in rows if r.local and r.log_index is not None), default=-1)
    with node.store.read_session() as session:
        try:
            return node.ledger.witnessed_note(session, covering=covering)
        except LedgerError as exc:
            raise TranscriptError(
                "no other participant has cosigned a checkpoint of our log covering the channel; "
                "retry when a peer is reachable",
                code="ledger.not_cosigned",
            ) from exc


def _witness_peer_now(node: TranscriptHost, card: NodeCard, http: httpx.Client) -> tuple[str, Checkpoint]:
    try:
        audit_peer(node.store.session, node.witness, card, http)
    except Error as exc:  # what we cosigned before may still cover its statements
        log.info("witnessing %s now failed: %s", card.name, exc.code)
    with node.store.read_session() as session:
        state = node.witness.latest(session, card.id)
    if state is None:
        raise TranscriptError(
            f"we have not witnessed {card.name}'s log; retry when it is reachable", code="ledger.not_cosigned"
        )
    return state.note + state.cosignature, parse_checkpoint_text(parse_note(state.note).text)


def _unknown(peer_id: str) -> NodeCard:
    raise TranscriptError(f"no pinned card for {peer_id[:16]}", code="trust.unknown_issuer")


def _peer_proof(http: httpx.Client, card: NodeCard, row: StatementRow, checkpoint: Checkpoint) -> list[bytes]:
    try:
        return fetch_verified_inclusion(http, card, row.seq - 1, bytes.fromhex(row.digest), checkpoint)
    except LedgerError as exc:
        if exc.code == "ledger.not_yet_checkpointed":
            raise TranscriptError(
                f"{card.name} has not yet checkpointed statement {row.statement_id}; retry after its next checkpoint",
                code="hotline.not_yet_checkpointed",
            ) from exc
        if exc.code == "ledger.not_in_log":
            raise TranscriptError(
                f"{card.name}'s log does not include its statement {row.statement_id}",
                code="ledger.not_in_log",
            ) from exc
        raise
