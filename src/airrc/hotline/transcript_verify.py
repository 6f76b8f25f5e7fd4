"""Offline transcript verification: what a channel transcript proves, checked with nothing but the file.

Card chains are self-certifying, checkpoints are signed by their logs' nodes and cosigned by another
participant, every statement is signed and proven included, every opened message matches the commitment
its sender logged, every human acknowledgement carries a signature by a duty officer on the acknowledging
node's logged roster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from airrc.crypto.trust import NodeCard
from airrc.errors import Error, LedgerError, TranscriptError
from airrc.hotline import channel as wire
from airrc.hotline.formats import load_formats, render
from airrc.ledger.checkpoint import Checkpoint, SignedNote, parse_note, require_cosigned_by
from airrc.ledger.proofs import ChainKeyring, verified_chain, verify_note_with_chain, verify_proven
from airrc.statements import SignedStatement

__all__ = ["MAX_ENTRIES", "TRANSCRIPT_FORMAT", "TranscriptMessage", "TranscriptReport", "verify_transcript"]

TRANSCRIPT_FORMAT = "airrc/hotline-transcript/v1"
MAX_ENTRIES = 100_000
HOTLINE_KINDS = ("hotline.channel", "hotline.message", "hotline.ack", "hotline.escalation")


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
