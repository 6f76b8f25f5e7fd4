"""A named duty officer acknowledges a received message, signing it with their personal key."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from airrc.errors import Conflict, Forbidden, HotlineError, NotFound
from airrc.hotline.channel import AckBody, Officer, ack_payload
from airrc.hotline.context import HotlineContext
from airrc.hotline.records import find_message, issue_ack
from airrc.hotline.tables import WaitRow
from airrc.principals.accounts import AuthenticatedPrincipal
from airrc.statements import format_timestamp

__all__ = ["DUTY_ROLES", "acknowledge"]

DUTY_ROLES = ("duty_officer",)


def acknowledge(
    ctx: HotlineContext,
    session: Session,
    principal: AuthenticatedPrincipal,
    message_id: str,
    *,
    now: datetime | None = None,
) -> WaitRow:
    """Issue the officer's signed acknowledgement of ``message_id``; only a duty officer with an unlocked
    personal key may, once per message."""
    if not principal.roles & set(DUTY_ROLES) or principal.kind != "user":
        raise Forbidden(f"{principal.username} is not a duty officer", code="hotline.not_duty_officer")
    message = find_message(session, message_id)
    if message.outgoing:
        raise HotlineError(
            "a node acknowledges what it received, not what it sent", code="hotline.own_message"
        )
    wait = session.get(WaitRow, (message_id, ctx.node_id))
    if wait is None:
        raise NotFound(f"no acknowledgement awaited for {message_id}", code="hotline.unknown_message")
    if wait.acked_at is not None:
        raise Conflict(f"{message_id} is already acknowledged", code="hotline.already_acknowledged")
    if principal.personal_key is None:
        raise Forbidden(
            "this session has no unlocked personal key; log in with a password", code="auth.key_locked"
        )
    moment = now or datetime.now(UTC)
    at = format_timestamp(moment)
    payload = ack_payload(
        node_id=ctx.node_id,
        channel_id=message.channel_id,
        message=message_id,
        message_digest=message.digest,
        user_id=principal.id,
        at=at,
    )
    ed_public, pq_public = principal.personal_public_keys()
    body = AckBody(
        channel_id=message.channel_id,
        message=message_id,
        message_digest=message.digest,
        acknowledged_at=at,
        officer=Officer(
            user_id=principal.id,
            username=principal.username,
            public_key=ed_public,
            ml_dsa_65_key=pq_public,
        ),
        officer_signature=principal.sign_personally(payload),
    )
    signed = issue_ack(ctx, session, message, body, moment)
    wait.acked_at, wait.ack_statement, wait.acked_by = moment, signed.statement.id, principal.username
    ctx.alerts.resolve(session, "hotline.flash_received", by=principal.username, message_id=message_id)
    return wait
