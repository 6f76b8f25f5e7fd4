"""What peers send on the hotline, read inside the transaction that stores it: channels opened and closed,
sealed messages opened and checked, acknowledgements checked against the sender's roster, escalations."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from airrc.crypto.sealing import open_sealed
from airrc.errors import HotlineError, HotlineFormatError
from airrc.hotline.channel import (
    AckBody,
    ChannelBody,
    EscalationBody,
    MessageBody,
    MessageContent,
    check_officer_signature,
    content_commitment,
    drill_channel_id,
)
from airrc.hotline.context import HotlineContext
from airrc.hotline.formats import validate_fields
from airrc.hotline.records import await_ack, drill_channel, find_message, issue_ack, store_message
from airrc.hotline.tables import ChannelRow, MessageRow, WaitRow
from airrc.statements import SignedStatement, format_timestamp, parse_signed_statement
from airrc.store.statements import StatementRow

__all__ = ["RECEIVED_KINDS", "receive"]

RECEIVED_KINDS = ("hotline.channel", "hotline.message", "hotline.ack", "hotline.escalation")


def receive(ctx: HotlineContext, session: Session, signed: SignedStatement) -> None:
    """Apply one received hotline statement; a refusal raises (the dispatcher alerts it)."""
    kind = signed.statement.kind
    body = signed.statement.body
    try:
        if kind == "hotline.channel":
            _channel(ctx, session, signed, ChannelBody.model_validate(body))
        elif kind == "hotline.message":
            _message(ctx, session, signed, MessageBody.model_validate(body))
        elif kind == "hotline.ack":
            _ack(ctx, session, signed, AckBody.model_validate(body))
        elif kind == "hotline.escalation":
            _escalation(session, EscalationBody.model_validate(body))
    except ValidationError as exc:
        raise HotlineError(f"malformed {kind} body", code="hotline.malformed") from exc


def _channel(ctx: HotlineContext, session: Session, signed: SignedStatement, body: ChannelBody) -> None:
    st = signed.statement
    if st.issuer not in body.participants or ctx.node_id not in body.participants:
        raise HotlineError(
            "channel participants must include its issuer and us", code="hotline.not_participant"
        )
    row = session.get(ChannelRow, body.channel_id)
    if body.action == "open":
        if row is not None:
            raise HotlineError("the channel id is already in use", code="hotline.channel_exists")
        if body.catalog_digest != ctx.catalog.digest:
            ctx.alerts.raise_alert(
                session,
                "hotline.catalog_mismatch",
                "a peer opened a channel with another format catalog: compare catalog digests",
                channel=body.channel_id,
                theirs=body.catalog_digest,
                ours=ctx.catalog.digest,
            )
        session.add(
            ChannelRow(
                channel_id=body.channel_id,
                kind="crisis",
                opened_by=st.issuer,
                participants=json.dumps(list(body.participants)),
                report=body.report,
                state="open",
                open_statement=st.id,
                opened_at=st.issued_at_datetime,
            )
        )
        return
    if row is None or st.issuer not in row.members:
        raise HotlineError("close of an unknown channel", code="hotline.unknown_channel")
    if row.state == "open":
        row.state, row.close_statement, row.closed_at = "closed", st.id, st.issued_at_datetime


def _message(ctx: HotlineContext, session: Session, signed: SignedStatement, body: MessageBody) -> None:
    st = signed.statement
    opened = open_sealed(
        body.sealed,
        recipient=ctx.identity,
        recipient_id=ctx.node_id,
        sender_id=st.issuer,
        sender_verifier=ctx.trust.verifier_for(st.issuer, st.issued_at_datetime),
        kind="hotline.message",
        max_bytes=ctx.max_statement_bytes,
    )
    try:
        content = MessageContent.model_validate(opened)
    except ValidationError as exc:
        raise HotlineError("the sealed message is malformed", code="hotline.malformed") from exc
    if content.channel_id != body.channel_id or content_commitment(content) != body.commitment:
        raise HotlineError(
            "the sealed content does not match its commitment", code="hotline.commitment_mismatch"
        )
    channel = session.get(ChannelRow, content.channel_id)
    if channel is None and content.drill and content.channel_id == drill_channel_id(st.issuer, ctx.node_id):
        channel = drill_channel(ctx, session, st.issuer)
    if channel is None or st.issuer not in channel.members or ctx.node_id not in channel.members:
        raise HotlineError("a message for a channel we are not in", code="hotline.unknown_channel")
    validate_fields(ctx.catalog, content.format, content.fields)
    if content.precedence not in ctx.catalog.precedences:
        raise HotlineFormatError(
            f"unknown precedence {content.precedence!r}", code="hotline.unknown_precedence"
        )
    replay = session.scalar(
        select(MessageRow.statement_id).where(
            MessageRow.channel_id == content.channel_id,
            MessageRow.sender == st.issuer,
            MessageRow.channel_seq == content.channel_seq,
        )
    )
    if replay is not None:
        raise HotlineError(
            f"message number {content.channel_seq} of this sender was already received",
            code="hotline.replayed",
        )
    row = store_message(session, signed, content, outgoing=False)
    await_ack(ctx, session, row, ctx.node_id)
    if content.drill:
        _auto_ack(ctx, session, row)
    elif content.precedence == "FLASH":
        ctx.alerts.raise_alert(
            session,
            "hotline.flash_received",
            f"FLASH {content.format} received: a duty officer must acknowledge",
            severity="critical",
            message_id=row.statement_id,
            channel=row.channel_id,
        )


def _auto_ack(ctx: HotlineContext, session: Session, message: MessageRow) -> None:
    moment = datetime.now(UTC)
    body = AckBody(
        channel_id=message.channel_id,
        message=message.statement_id,
        message_digest=message.digest,
        acknowledged_at=format_timestamp(moment),
        automatic=True,
    )
    signed = issue_ack(ctx, session, message, body, moment)
    session.execute(
        update(WaitRow)
        .where(WaitRow.message_id == message.statement_id, WaitRow.node_id == ctx.node_id)
        .values(acked_at=moment, ack_statement=signed.statement.id, acked_by="(automatic)")
    )


def _ack(ctx: HotlineContext, session: Session, signed: SignedStatement, body: AckBody) -> None:
    st = signed.statement
    message = find_message(session, body.message)
    if not message.outgoing or message.digest != body.message_digest or message.channel_id != body.channel_id:
        raise HotlineError("an acknowledgement of a message we did not send", code="hotline.unknown_message")
    wait = session.get(WaitRow, (message.statement_id, st.issuer))
    if wait is None:
        raise HotlineError(
            "an acknowledgement from a node that was not asked", code="hotline.not_participant"
        )
    if body.automatic:
        if not message.drill:
            raise HotlineError("only drills are acknowledged automatically", code="hotline.bad_ack")
        officer = "(automatic)"
    else:
        officer = _check_officer(ctx, session, signed, body)
    if wait.acked_at is None:
        acked = datetime.fromisoformat(body.acknowledged_at.replace("Z", "+00:00"))
        wait.acked_at, wait.ack_statement, wait.acked_by = acked, st.id, officer


def _check_officer(ctx: HotlineContext, session: Session, signed: SignedStatement, body: AckBody) -> str:
    """The officer must be a duty officer on the issuer's published roster and must have signed."""
    st = signed.statement
    data = session.scalar(
        select(StatementRow.data)
        .where(
            StatementRow.issuer == st.issuer,
            StatementRow.kind == "node.roster",
            StatementRow.seq < st.seq,
        )
        .order_by(StatementRow.seq.desc())
        .limit(1)
    )
    roster = parse_signed_statement(data, max_bytes=ctx.max_statement_bytes) if data else None
    return check_officer_signature(signed, body, roster)


def _escalation(session: Session, body: EscalationBody) -> None:
    session.execute(
        update(WaitRow)
        .where(
            WaitRow.message_id == body.message,
            WaitRow.node_id == body.awaiting,
            WaitRow.acked_at.is_(None),
        )
        .values(overdue=True)
    )
