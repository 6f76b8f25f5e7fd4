"""The hotline's stored records, shared by sending, receiving and escalation: channels and messages looked
up, messages stored with their acknowledgement clocks, acknowledgements issued, drill channels made."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from airrc.crypto.canonical import canonical_bytes
from airrc.crypto.sealing import seal
from airrc.errors import HotlineError, HotlineFormatError, NotFound
from airrc.hotline.channel import AckBody, MessageBody, MessageContent, content_commitment, drill_channel_id
from airrc.hotline.context import HotlineContext
from airrc.hotline.formats import validate_fields
from airrc.hotline.tables import ChannelRow, MessageRow, WaitRow
from airrc.statements import SignedStatement
from airrc.store.db import utcnow

__all__ = [
    "await_ack",
    "drill_channel",
    "find_channel",
    "find_message",
    "issue_ack",
    "send_sealed",
    "store_message",
]


def find_channel(session: Session, channel_id: str) -> ChannelRow:
    row = session.get(ChannelRow, channel_id)
    if row is None:
        raise NotFound(f"no channel {channel_id}", code="hotline.unknown_channel")
    return row


def find_message(session: Session, message_id: str) -> MessageRow:
    row = session.get(MessageRow, message_id)
    if row is None:
        raise NotFound(f"no message {message_id}", code="hotline.unknown_message")
    return row


def send_sealed(
    ctx: HotlineContext,
    session: Session,
    channel: ChannelRow,
    *,
    format_id: str,
    fields: dict[str, Any],
    precedence: str | None,
    in_reply_to: str | None,
    now: datetime | None,
    drill: bool,
) -> MessageRow:
    """Seal a message to every other participant, issue it, and start their acknowledgement clocks."""
    catalog = ctx.catalog
    fmt = catalog.format(format_id)
    level = precedence or fmt.precedence
    if level not in catalog.precedences:
        raise HotlineFormatError(f"unknown precedence {level!r}", code="hotline.unknown_precedence")
    checked = validate_fields(catalog, format_id, fields)
    if in_reply_to is not None:
        original = session.get(MessageRow, in_reply_to)
        if original is None or original.channel_id != channel.channel_id:
            raise HotlineError(
                f"no message {in_reply_to} in this channel to answer", code="hotline.unknown_message"
            )
    last = session.scalar(
        select(func.max(MessageRow.channel_seq)).where(
            MessageRow.channel_id == channel.channel_id, MessageRow.sender == ctx.node_id
        )
    )
    content = MessageContent(
        channel_id=channel.channel_id,
        channel_seq=int(last or 0) + 1,
        format=format_id,
        format_version=fmt.version,
        precedence=level,
        fields=checked,
        in_reply_to=in_reply_to,
        drill=drill,
        salt=secrets.token_hex(16),
    )
    members = channel.members
    # The sender keeps the plaintext in its own table; sealing is for the other participants.
    recipients = {m: ctx.trust.current(session, m).keys for m in members if m != ctx.node_id}
    sealed = seal(
        content.model_dump(mode="json"),
        sender=ctx.identity,
        sender_id=ctx.node_id,
        recipients=recipients,
        kind="hotline.message",
    )
    body = MessageBody(channel_id=channel.channel_id, commitment=content_commitment(content), sealed=sealed)
    signed = ctx.statements.issue(
        session,
        kind="hotline.message",
        audience=members,
        body=body.model_dump(mode="json"),
        tlp="amber",
        refs=[in_reply_to] if in_reply_to else [],
        issued_at=now,
    )
    row = store_message(session, signed, content, outgoing=True)
    for member in members:
        if member != ctx.node_id:
            await_ack(ctx, session, row, member)
    return row


def store_message(
    session: Session, signed: SignedStatement, content: MessageContent, *, outgoing: bool
) -> MessageRow:
    """The plaintext row of a message we sent or opened; a reply marks what it answers as answered."""
    st = signed.statement
    row = MessageRow(
        statement_id=st.id,
        channel_id=content.channel_id,
        sender=st.issuer,
        channel_seq=content.channel_seq,
        format=content.format,
        precedence=content.precedence,
        content=canonical_bytes(content.model_dump(mode="json")),
        digest=signed.digest().hex(),
        in_reply_to=content.in_reply_to,
        outgoing=outgoing,
        drill=content.drill,
        issued_at=st.issued_at_datetime,
        stored_at=utcnow(),
    )
    session.add(row)
    if content.in_reply_to is not None:
        session.execute(
            update(WaitRow)
            .where(WaitRow.message_id == content.in_reply_to, WaitRow.node_id == st.issuer)
            .values(answered_by=st.id)
        )
    session.flush()
    return row


def await_ack(ctx: HotlineContext, session: Session, message: MessageRow, node_id: str) -> None:
    """Start the acknowledgement clock for ``node_id``; the window is the one agreed with the peer."""
    peer = message.sender if node_id == ctx.node_id else node_id
    card = ctx.trust.current(session, peer)
    window = ctx.windows.window(message.precedence, card.id, card.name)
    session.add(
        WaitRow(
            message_id=message.statement_id,
            node_id=node_id,
            deadline_at=message.issued_at + window,
            window_seconds=int(window.total_seconds()),
            steps_done=0,
            overdue=False,
        )
    )


def issue_ack(
    ctx: HotlineContext, session: Session, message: MessageRow, body: AckBody, now: datetime
) -> SignedStatement:
    channel = find_channel(session, message.channel_id)
    return ctx.statements.issue(
        session,
        kind="hotline.ack",
        audience=channel.members,
        body=body.model_dump(mode="json", exclude_none=True),
        tlp="amber",
        refs=[message.statement_id],
        issued_at=now,
    )


def drill_channel(ctx: HotlineContext, session: Session, peer_id: str) -> ChannelRow:
    """The standing drill channel with a peer (the same id on both sides), made on first use."""
    channel_id = drill_channel_id(ctx.node_id, peer_id)
    row = session.get(ChannelRow, channel_id)
    if row is None:
        row = ChannelRow(
            channel_id=channel_id,
            kind="drill",
            opened_by=min(ctx.node_id, peer_id),
            participants=json.dumps(sorted((ctx.node_id, peer_id))),
            state="open",
            opened_at=utcnow(),
        )
        session.add(row)
        session.flush()
    return row
