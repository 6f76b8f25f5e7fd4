"""Channel transcripts: every statement of a channel with its inclusion proof in its issuer's log.

:func:`export_transcript` runs on a participant's node (it fetches peers' checkpoints and proofs over
their public ledger endpoints and checks them before writing). :func:`verify_transcript` is pure and
offline: card chains are self-certifying, checkpoints are signed by their logs' nodes, every statement is
signed and proven included, every opened message matches the commitment its sender logged, every human
acknowledgement carries a signature by a duty officer on the acknowledging node's logged roster.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from airrc.crypto.canonical import parse_json
from airrc.crypto.trust import NodeCard
from airrc.errors import Error, LedgerError, TranscriptError
from airrc.federation.log_audit import audit_peer, fetch_verified_inclusion, request_cosignature
from airrc.hotline import channel as wire
from airrc.hotline.formats import load_formats, render
from airrc.hotline.service import ChannelRow, MessageRow
from airrc.ledger.checkpoint import (
    Checkpoint,
    SignedNote,
    parse_checkpoint_text,
    parse_note,
    require_cosigned_by,
)
from airrc.ledger.proofs import (
    ChainKeyring,
    proven_item,
    verified_chain,
    verify_note_with_chain,
    verify_proven,
)
from airrc.statements import SignedStatement, format_timestamp
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


__all__ = [
    "TRANSCRIPT_FORMAT",
    "TranscriptHost",
    "TranscriptReport",
    "export_transcript",
    "verify_transcript",
]

TRANSCRIPT_FORMAT = "airrc/hotline-transcript/v1"
MAX_ENTRIES = 100_000
log = logging.getLogger(__name__)
HOTLINE_KINDS = ("hotline.channel", "hotline.message", "hotline.ack", "hotline.escalation")


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


# -- offline verification ----------------------------------------------------------------------------------


@dataclass
class TranscriptMessage:
    id: str
    sender: str
    channel_seq: int | None
    issued_at: str
    format: str | None
    precedence: str | None
    opened: bool
    in_reply_to: str | None
    receipted_by: list[str] = field(default_factory=list)
    acknowledged_by: list[str] = field(default_factory=list)
    escalations: int = 0
    rendered: dict[str, str] = field(default_factory=dict)


@dataclass
class TranscriptReport:
    channel_id: str
    participants: list[str]
    participant_ids: list[str]
    checkpoints: dict[str, int]
    witnessed_by: dict[str, list[str]]
    statements: int
    opened_by: str
    closed: bool
    report: str | None
    messages: list[TranscriptMessage]
    escalations: list[dict[str, Any]]
    catalog_matches: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "channel_id": self.channel_id,
            "participants": self.participants,
            "participant_ids": self.participant_ids,
            "checkpoints": self.checkpoints,
            "witnessed_by": self.witnessed_by,
            "statements": self.statements,
            "opened_by": self.opened_by,
            "closed": self.closed,
            "report": self.report,
            "catalog_matches": self.catalog_matches,
            "messages": [m.__dict__ for m in self.messages],
            "escalations": self.escalations,
        }


def _parse_envelope(
    doc: Any,
) -> tuple[str, dict[str, list[NodeCard]], dict[str, Checkpoint], dict[str, list[str]], list[Any]]:
    if not isinstance(doc, dict) or doc.get("format") != TRANSCRIPT_FORMAT:
        raise TranscriptError("not an airrc hotline transcript")
    cards, notes, entries = doc.get("cards"), doc.get("checkpoints"), doc.get("entries")
    channel_id = doc.get("channel_id")
    if (
        not isinstance(channel_id, str)
        or not isinstance(cards, dict)
        or not isinstance(notes, dict)
        or not isinstance(entries, list)
        or len(entries) > MAX_ENTRIES
    ):
        raise TranscriptError("the transcript is malformed")
    chains: dict[str, list[NodeCard]] = {}
    for node_id, docs in cards.items():
        chain = verified_chain(docs)
        if chain[0].id != node_id:
            raise TranscriptError("a card chain is filed under another node's id", code="trust.bad_chain")
        chains[node_id] = chain
    checkpoints = {}
    witnessed: dict[str, list[str]] = {}
    for node_id, text in notes.items():
        if node_id not in chains or not isinstance(text, str):
            raise TranscriptError("a checkpoint from a node without cards")
        note = parse_note(text)
        checkpoints[node_id] = verify_note_with_chain(note, chains[node_id])
        witnessed[node_id] = _cosigners(note, node_id, chains)
    return channel_id, chains, checkpoints, witnessed, entries


def _cosigners(note: SignedNote, log_id: str, chains: dict[str, list[NodeCard]]) -> list[str]:
    """The other participants whose cosignature over ``note`` verifies; ``ledger.not_witnessed`` if none
    (a checkpoint only its own log vouches for could be a view shown to this transcript alone)."""
    found = []
    for node_id, chain in chains.items():
        if node_id == log_id:
            continue
        for card in reversed(chain):
            try:
                require_cosigned_by(note, card)
            except LedgerError:
                continue
            found.append(chain[-1].name)
            break
    if not found:
        raise TranscriptError(
            f"the checkpoint of {chains[log_id][-1].name} carries no cosignature by another participant",
            code="ledger.not_witnessed",
        )
    return found


def verify_transcript(doc: Any, *, max_bytes: int) -> TranscriptReport:  # noqa: PLR0912, PLR0915
    """Check a transcript offline; return what it proves, or raise naming what failed."""
    channel_id, chains, checkpoints, witnessed, entries = _parse_envelope(doc)
    keyring = ChainKeyring(chains)
    names = {node_id: chain[-1].name for node_id, chain in chains.items()}
    proven: list[tuple[SignedStatement, dict[str, Any]]] = []
    seen: set[str] = set()
    for item in entries:
        signed = verify_proven(item, keyring=keyring, checkpoints=checkpoints, max_bytes=max_bytes)
        if signed.statement.id in seen:
            raise TranscriptError(f"statement {signed.statement.id} appears twice")
        seen.add(signed.statement.id)
        proven.append((signed, item))
    opens = [
        s
        for s, _ in proven
        if s.statement.kind == "hotline.channel" and s.statement.body.get("action") == "open"
    ]
    if len(opens) != 1:
        raise TranscriptError("a transcript holds its channel's one opening statement")
    opening = _model(wire.ChannelBody, opens[0])
    if opening.channel_id != channel_id:
        raise TranscriptError("the opening statement is for another channel")
    participants = set(opening.participants)
    if opens[0].statement.issuer not in participants or not participants <= set(chains):
        raise TranscriptError("the transcript lacks a participant's cards")
    rosters = [s for s, _ in proven if s.statement.kind == "node.roster"]
    digests = {s.digest().hex(): s for s, _ in proven}
    messages: dict[str, TranscriptMessage] = {}
    acks: list[tuple[SignedStatement, wire.AckBody]] = []
    escalations: list[dict[str, Any]] = []
    closed = False
    catalog = load_formats()
    for signed, item in proven:
        st = signed.statement
        if st.kind in HOTLINE_KINDS and st.issuer not in participants:
            raise TranscriptError(f"statement {st.id} is from a node outside the channel")
        if st.kind == "hotline.channel":
            body = _model(wire.ChannelBody, signed)
            if body.channel_id != channel_id:
                raise TranscriptError(f"statement {st.id} is for another channel")
            closed = closed or body.action == "close"
        elif st.kind == "hotline.message":
            messages[st.id] = _message(signed, item.get("content"), channel_id, catalog, names)
        elif st.kind == "hotline.ack":
            ack = _model(wire.AckBody, signed)
            if ack.channel_id != channel_id:
                raise TranscriptError(f"statement {st.id} is for another channel")
            acks.append((signed, ack))
        elif st.kind == "hotline.escalation":
            esc = _model(wire.EscalationBody, signed)
            if esc.channel_id != channel_id:
                raise TranscriptError(f"statement {st.id} is for another channel")
            escalations.append(
                {
                    "by": names.get(st.issuer, st.issuer),
                    "message": esc.message,
                    "step": esc.step,
                    "side": esc.side,
                    "awaiting": names.get(esc.awaiting, esc.awaiting),
                    "level": esc.level,
                    "notified": list(esc.notified),
                    "resent": esc.resent,
                    "at": st.issued_at,
                }
            )
            if esc.message in messages:
                messages[esc.message].escalations += 1
    for signed, ack in acks:
        message = messages.get(ack.message)
        target = digests.get(ack.message_digest)
        if message is None or target is None or target.statement.id != ack.message:
            raise TranscriptError(
                f"acknowledgement {signed.statement.id} names a message not in the transcript"
            )
        who = "(automatic)"
        if not ack.automatic:
            roster = _roster_before(rosters, signed)
            try:
                who = wire.check_officer_signature(signed, ack, roster)
            except Error as exc:
                raise TranscriptError(
                    f"acknowledgement {signed.statement.id}: {exc.message}", code=exc.code
                ) from exc
        message.acknowledged_by.append(
            f"{names.get(signed.statement.issuer)}: {who} at {ack.acknowledged_at}"
        )
    for signed, _ in proven:
        if signed.statement.kind != "federation.receipt":
            continue
        for digest in signed.statement.body.get("accepted", []):
            target = digests.get(digest)
            if target is not None and target.statement.id in messages:
                messages[target.statement.id].receipted_by.append(names.get(signed.statement.issuer, "?"))
    return TranscriptReport(
        channel_id=channel_id,
        participants=[names[p] for p in opening.participants],
        participant_ids=list(opening.participants),
        checkpoints={names[n]: c.size for n, c in checkpoints.items()},
        witnessed_by={names[n]: w for n, w in witnessed.items()},
        statements=len(proven),
        opened_by=names[opens[0].statement.issuer],
        closed=closed,
        report=opening.report,
        messages=sorted(messages.values(), key=lambda m: (m.issued_at, m.sender, m.channel_seq or 0)),
        escalations=escalations,
        catalog_matches=doc.get("catalog_digest") == catalog.digest,
    )


def _model(model: Any, signed: SignedStatement) -> Any:
    try:
        return model.model_validate(signed.statement.body)
    except ValidationError as exc:
        raise TranscriptError(f"statement {signed.statement.id} has a malformed body") from exc


def _message(
    signed: SignedStatement, content_doc: Any, channel_id: str, catalog: Any, names: dict[str, str]
) -> TranscriptMessage:
    st = signed.statement
    body = _model(wire.MessageBody, signed)
    if body.channel_id != channel_id:
        raise TranscriptError(f"message {st.id} is for another channel")
    message = TranscriptMessage(
        id=st.id,
        sender=names.get(st.issuer, st.issuer),
        channel_seq=None,
        issued_at=st.issued_at,
        format=None,
        precedence=None,
        opened=False,
        in_reply_to=None,
    )
    if content_doc is None:
        return message
    try:
        content = wire.MessageContent.model_validate(content_doc)
    except ValidationError as exc:
        raise TranscriptError(f"the opened content of message {st.id} is malformed") from exc
    if content.channel_id != channel_id or wire.content_commitment(content) != body.commitment:
        raise TranscriptError(
            f"the opened content of message {st.id} does not match what its sender logged",
            code="hotline.commitment_mismatch",
        )
    message.channel_seq, message.format, message.precedence = (
        content.channel_seq,
        content.format,
        content.precedence,
    )
    message.opened, message.in_reply_to = True, content.in_reply_to
    try:
        message.rendered = {
            lang: render(catalog, content.format, content.fields, lang, precedence=content.precedence)
            for lang in ("en", "zh")
        }
    except Error:
        message.rendered = {}
    return message


def _roster_before(rosters: Iterable[SignedStatement], ack: SignedStatement) -> SignedStatement | None:
    earlier = [
        r
        for r in rosters
        if r.statement.issuer == ack.statement.issuer and r.statement.seq < ack.statement.seq
    ]
    return max(earlier, key=lambda r: r.statement.seq) if earlier else None
