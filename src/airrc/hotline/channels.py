"""Opening and closing crisis channels: a signed ``hotline.channel`` statement to every participant."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from airrc.errors import Conflict, HotlineError
from airrc.hotline.channel import ChannelBody
from airrc.hotline.context import HotlineContext
from airrc.hotline.records import find_channel
from airrc.hotline.tables import ChannelRow
from airrc.store.statements import StatementRow

__all__ = ["MAX_PARTICIPANTS", "close_channel", "list_channels", "open_channel"]

MAX_PARTICIPANTS = 32


def open_channel(
    ctx: HotlineContext,
    session: Session,
    participants: Iterable[str],
    *,
    report: str | None = None,
    now: datetime | None = None,
) -> ChannelRow:
    """Open a crisis channel with peers (names or ids); this node is always a participant."""
    ids = [ctx.node_id]
    for who in participants:
        card = ctx.trust.resolve(session, who)
        if card.role == "observer":
            raise HotlineError(
                f"{card.name} is an observer and cannot join a channel", code="hotline.observer"
            )
        if card.id not in ids:
            ids.append(card.id)
    if len(ids) < 2:
        raise HotlineError("a channel needs at least one peer", code="hotline.no_participants")
    if len(ids) > MAX_PARTICIPANTS:
        raise HotlineError(f"a channel has at most {MAX_PARTICIPANTS} participants", code="hotline.too_many")
    if report is not None and ctx.report_reference is not None:
        report = ctx.report_reference(session, report)
    if report is not None:
        found = session.scalar(select(StatementRow.kind).where(StatementRow.statement_id == report))
        if found != "exchange.report":
            raise HotlineError(f"no exchange report {report}", code="hotline.unknown_report")
    channel_id = str(uuid.uuid4())
    body = ChannelBody(
        channel_id=channel_id,
        action="open",
        participants=tuple(ids),
        catalog_version=ctx.catalog.version,
        catalog_digest=ctx.catalog.digest,
        report=report,
    )
    signed = ctx.statements.issue(
        session,
        kind="hotline.channel",
        audience=ids,
        body=body.model_dump(mode="json", exclude_none=True),
        tlp="amber",
        refs=[report] if report else [],
        issued_at=now,
    )
    row = ChannelRow(
        channel_id=channel_id,
        kind="crisis",
        opened_by=ctx.node_id,
        participants=json.dumps(ids),
        report=report,
        state="open",
        open_statement=signed.statement.id,
        opened_at=signed.statement.issued_at_datetime,
    )
    session.add(row)
    session.flush()
    return row


def close_channel(
    ctx: HotlineContext, session: Session, channel_id: str, *, now: datetime | None = None
) -> ChannelRow:
    row = find_channel(session, channel_id)
    if row.kind != "crisis":
        raise HotlineError("drill channels stay open", code="hotline.drill_channel")
    if row.state != "open":
        raise Conflict(f"channel {channel_id} is already closed", code="hotline.channel_closed")
    body = ChannelBody(
        channel_id=channel_id,
        action="close",
        participants=tuple(row.members),
        catalog_version=ctx.catalog.version,
        catalog_digest=ctx.catalog.digest,
        report=row.report,
    )
    signed = ctx.statements.issue(
        session,
        kind="hotline.channel",
        audience=row.members,
        body=body.model_dump(mode="json", exclude_none=True),
        tlp="amber",
        refs=[row.open_statement] if row.open_statement else [],
        issued_at=now,
    )
    row.state, row.close_statement, row.closed_at = (
        "closed",
        signed.statement.id,
        signed.statement.issued_at_datetime,
    )
    return row


def list_channels(session: Session, *, include_drills: bool = False) -> list[ChannelRow]:
    query = select(ChannelRow).order_by(ChannelRow.opened_at.desc())
    if not include_drills:
        query = query.where(ChannelRow.kind == "crisis")
    return list(session.scalars(query))
