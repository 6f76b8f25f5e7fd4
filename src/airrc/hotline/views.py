"""Reading the hotline: messages as a console or CLI shows them (rendered, with their state per awaited
node), a channel's messages, the inbox, and the counts behind ``/metrics``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from airrc.crypto.canonical import parse_json
from airrc.hotline.channel import MessageContent
from airrc.hotline.context import HotlineContext
from airrc.hotline.formats import FormatCatalog, Language, render
from airrc.hotline.records import find_channel
from airrc.hotline.tables import MessageRow, WaitRow
from airrc.statements import format_timestamp

__all__ = ["MessageView", "ack_counts", "change_stamp", "channel_messages", "inbox", "view", "wait_state"]

MAX_INBOX = 1000


@dataclass(frozen=True)
class MessageView:
    """A message as a console or CLI shows it, with its state per awaited node."""

    row: MessageRow
    content: MessageContent
    waits: list[WaitRow]
    delivered: dict[str, datetime | None]

    def render(self, catalog: FormatCatalog, language: Language) -> str:
        return render(
            catalog, self.content.format, self.content.fields, language, precedence=self.row.precedence
        )

    def to_json(self, catalog: FormatCatalog, languages: Sequence[Language] = ("en", "zh")) -> dict[str, Any]:
        return {
            "id": self.row.statement_id,
            "channel_id": self.row.channel_id,
            "sender": self.row.sender,
            "channel_seq": self.row.channel_seq,
            "format": self.row.format,
            "precedence": self.row.precedence,
            "fields": self.content.fields,
            "in_reply_to": self.row.in_reply_to,
            "outgoing": self.row.outgoing,
            "drill": self.row.drill,
            "issued_at": format_timestamp(self.row.issued_at),
            "rendered": {lang: self.render(catalog, lang) for lang in languages},
            "awaiting": [
                {
                    "node": w.node_id,
                    "deadline": format_timestamp(w.deadline_at),
                    "delivered_at": _ts(self.delivered.get(w.node_id)),
                    "acknowledged_at": _ts(w.acked_at),
                    "acknowledged_by": w.acked_by,
                    "ack_statement": w.ack_statement,
                    "answered_by": w.answered_by,
                    "overdue": w.overdue,
                    "escalation_steps": w.steps_done,
                    "state": wait_state(w, self.delivered.get(w.node_id), self.row.outgoing),
                }
                for w in self.waits
            ],
        }


def _ts(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


def wait_state(wait: WaitRow, delivered: datetime | None, outgoing: bool) -> str:
    """answered, acknowledged, overdue, sent (not yet delivered) or delivered."""
    if wait.answered_by:
        return "answered"
    if wait.acked_at:
        return "acknowledged"
    if wait.overdue:
        return "overdue"
    if outgoing and delivered is None:
        return "sent"
    return "delivered"


def view(ctx: HotlineContext, session: Session, message: MessageRow) -> MessageView:
    waits = list(session.scalars(select(WaitRow).where(WaitRow.message_id == message.statement_id)))
    if message.outgoing:
        delivered = ctx.outbox.delivered(session, message.statement_id)
    else:
        delivered = {ctx.node_id: message.stored_at}
    content = MessageContent.model_validate(parse_json(message.content, max_bytes=ctx.max_statement_bytes))
    return MessageView(message, content, waits, delivered)


def channel_messages(ctx: HotlineContext, session: Session, channel_id: str) -> list[MessageView]:
    find_channel(session, channel_id)
    rows = session.scalars(
        select(MessageRow)
        .where(MessageRow.channel_id == channel_id)
        .order_by(MessageRow.issued_at, MessageRow.sender, MessageRow.channel_seq)
    )
    return [view(ctx, session, row) for row in rows]


def inbox(
    ctx: HotlineContext, session: Session, *, include_acknowledged: bool = False, limit: int = 100
) -> list[MessageView]:
    """Received crisis messages, unacknowledged first by deadline."""
    query = (
        select(MessageRow)
        .join(WaitRow, WaitRow.message_id == MessageRow.statement_id)
        .where(MessageRow.outgoing.is_(False), MessageRow.drill.is_(False), WaitRow.node_id == ctx.node_id)
        .order_by(WaitRow.acked_at.is_not(None), WaitRow.deadline_at)
        .limit(min(limit, MAX_INBOX))
    )
    if not include_acknowledged:
        query = query.where(WaitRow.acked_at.is_(None))
    return [view(ctx, session, row) for row in session.scalars(query)]


def ack_counts(session: Session) -> dict[str, int]:
    """Awaited acknowledgements by state, for ``/metrics``."""
    rows = session.execute(
        select(WaitRow.overdue, func.count())
        .join(MessageRow, MessageRow.statement_id == WaitRow.message_id)
        .where(WaitRow.acked_at.is_(None), MessageRow.drill.is_(False))
        .group_by(WaitRow.overdue)
    )
    out = {"awaiting": 0, "overdue": 0}
    for overdue, count in rows:
        out["overdue" if overdue else "awaiting"] += int(count)
    return out


def change_stamp(session: Session) -> tuple[int, ...]:
    """A value that changes whenever a message is stored, acknowledged, answered or falls overdue: what a
    live console polls (two indexed aggregates) before it re-reads anything."""
    messages, newest = session.execute(select(func.count(), func.max(MessageRow.stored_at))).one()
    acked, answered, overdue, steps = session.execute(
        select(
            func.count(WaitRow.acked_at),
            func.count(WaitRow.answered_by),
            func.sum(case((WaitRow.overdue.is_(True), 1), else_=0)),
            func.sum(WaitRow.steps_done),
        )
    ).one()
    moment = int(newest.timestamp() * 1000) if newest is not None else 0
    return (int(messages), moment, int(acked), int(answered), int(overdue or 0), int(steps or 0))
