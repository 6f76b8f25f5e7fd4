"""Deadlines and drills: the escalation ladder for unacknowledged messages (resend, tell the next roster
level, mark overdue on both sides) and the periodic LINK_TEST to every member peer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from airrc.alerts import AlertNotifier, notify_after_commit
from airrc.hotline.channel import EscalationBody, drill_channel_id
from airrc.hotline.context import HotlineContext
from airrc.hotline.deadlines import due_step
from airrc.hotline.records import drill_channel, find_channel, send_sealed
from airrc.hotline.tables import MessageRow, WaitRow
from airrc.statements import format_timestamp

__all__ = ["check_deadlines", "drill_status", "run_drills"]

# Deadline checks take at most this many due waits at a time; the next check takes the rest.
MAX_DUE_PER_CHECK = 500


def check_deadlines(
    ctx: HotlineContext, session: Session, *, now: datetime | None = None
) -> list[EscalationBody]:
    """Take every due step of the ladder: resend, tell the next roster level, mark overdue on both sides."""
    moment = now or datetime.now(UTC)
    rows = session.execute(
        select(WaitRow, MessageRow)
        .join(MessageRow, MessageRow.statement_id == WaitRow.message_id)
        .where(WaitRow.acked_at.is_(None), WaitRow.deadline_at <= moment, MessageRow.drill.is_(False))
        .order_by(WaitRow.deadline_at)
        .limit(MAX_DUE_PER_CHECK)
    ).all()
    steps: list[EscalationBody] = []
    for wait, message in rows:
        step = due_step(
            deadline=wait.deadline_at,
            window=timedelta(seconds=wait.window_seconds),
            steps_done=wait.steps_done,
            max_steps=len(ctx.roster),
            now=moment,
        )
        if step is not None:
            steps.append(_escalate(ctx, session, wait, message, step=step, now=moment))
    return steps


def _escalate(
    ctx: HotlineContext, session: Session, wait: WaitRow, message: MessageRow, *, step: int, now: datetime
) -> EscalationBody:
    outgoing = message.outgoing
    resent = False
    endpoints: tuple[str, ...] = ()
    if outgoing:
        card = ctx.trust.current(session, wait.node_id)
        resent = ctx.outbox.expedite(session, card.id, message.statement_id)
        if resent:
            endpoints = tuple(card.endpoints[1:] + card.endpoints[:1])
    level = ctx.roster[step - 1] if step <= len(ctx.roster) else None
    body = EscalationBody(
        channel_id=message.channel_id,
        message=message.statement_id,
        side="sender" if outgoing else "recipient",
        awaiting=wait.node_id,
        step=step,
        deadline=format_timestamp(wait.deadline_at),
        resent=resent,
        endpoints=endpoints,
        level=level.name if level else None,
        notified=tuple(level.contacts) if level else (),
    )
    channel = find_channel(session, message.channel_id)
    ctx.statements.issue(
        session,
        kind="hotline.escalation",
        audience=channel.members,
        body=body.model_dump(mode="json", exclude_none=True),
        tlp="amber",
        refs=[message.statement_id],
        issued_at=now,
    )
    wait.steps_done, wait.overdue = step, True
    # Our own card is pinned too: the alert names this node as it names a peer.
    who = ctx.trust.current(session, wait.node_id).name
    text = f"{message.precedence} {message.format} not acknowledged by {who}: escalation step {step}"
    if level is not None:
        text += f", told {level.name}"
    details = {"message_id": message.statement_id, "channel": message.channel_id, "step": step}
    if not ctx.roster:
        ctx.alerts.raise_alert(
            session,
            "hotline.nobody_on_call",
            f"{text}; nobody was told: no on-call roster is configured ([hotline] roster in airrc.toml)",
            severity="critical",
            **details,
        )
    ctx.alerts.raise_alert(
        session,
        "hotline.overdue",
        text,
        severity="critical" if message.precedence in ("FLASH", "IMMEDIATE") else "warning",
        **details,
    )
    if level is not None and (level.command or level.webhook_url):
        # Only once the step is committed: a rolled-back escalation must not page anyone.
        notify_after_commit(
            session,
            AlertNotifier(level.webhook_url, level.command),
            {
                "code": "hotline.overdue",
                "message": text,
                "level": level.name,
                "contacts": level.contacts,
                **details,
            },
        )
    return body


def run_drills(
    ctx: HotlineContext, session: Session, *, interval: timedelta, now: datetime | None = None
) -> list[str]:
    """Send a LINK_TEST to every member peer whose last drill is older than ``interval``."""
    moment = now or datetime.now(UTC)
    sent = []
    for card in ctx.trust.peers(session):
        if card.role == "observer" or not card.endpoints:
            continue
        channel = drill_channel(ctx, session, card.id)
        last = session.scalar(
            select(func.max(MessageRow.issued_at)).where(
                MessageRow.channel_id == channel.channel_id, MessageRow.sender == ctx.node_id
            )
        )
        if last is not None and moment - last < interval:
            continue
        count = session.scalar(
            select(func.count()).where(
                MessageRow.channel_id == channel.channel_id, MessageRow.sender == ctx.node_id
            )
        )
        row = send_sealed(
            ctx,
            session,
            channel,
            format_id="LINK_TEST",
            fields={"sequence": int(count or 0) + 1},
            precedence=None,
            in_reply_to=None,
            now=moment,
            drill=True,
        )
        sent.append(row.statement_id)
    return sent


def drill_status(
    ctx: HotlineContext, session: Session, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Per peer: the last drill, whether it was delivered and acknowledged, and its round trip."""
    moment = now or datetime.now(UTC)
    out = []
    for card in ctx.trust.peers(session):
        channel_id = drill_channel_id(ctx.node_id, card.id)
        rows = session.execute(
            select(MessageRow, WaitRow)
            .join(WaitRow, WaitRow.message_id == MessageRow.statement_id)
            .where(MessageRow.channel_id == channel_id, MessageRow.sender == ctx.node_id)
            .order_by(MessageRow.issued_at.desc())
            .limit(50)
        ).all()
        last_ok = next((m.issued_at for m, w in rows if w.acked_at is not None), None)
        latest = rows[0] if rows else None
        result = "never"
        rtt = None
        if latest is not None:
            message, wait = latest
            if wait.acked_at is not None:
                result, rtt = "ok", (wait.acked_at - message.issued_at).total_seconds()
            elif moment > wait.deadline_at:
                result = "failed"
            else:
                result = "pending"
        failures = 0
        for _message, wait in rows:
            if wait.acked_at is not None:
                break
            if moment > wait.deadline_at:
                failures += 1
        out.append(
            {
                "peer": card.name,
                "peer_id": card.id,
                "last_drill": format_timestamp(latest[0].issued_at) if latest else None,
                "result": result,
                "round_trip_seconds": rtt,
                "last_ok": format_timestamp(last_ok) if last_ok is not None else None,
                "consecutive_failures": failures,
            }
        )
    return out
