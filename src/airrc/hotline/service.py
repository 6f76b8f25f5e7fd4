"""The hotline on a node: channels, sealed messages, personally signed acknowledgements, deadlines,
escalation and drills.

Every step is a statement. Plaintext of a message exists only at its sender and its recipients: it is
sealed end-to-end in the statement, and opened into ``hotline_messages`` only by a participant's node.
This class is the one entry point the node, the routes and the CLI use; the work is done by the modules
named in each method, over one shared :class:`~airrc.hotline.context.HotlineContext`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from airrc.errors import Conflict, HotlineError
from airrc.hotline import acknowledging, channels, escalation, receiving, views
from airrc.hotline.channel import EscalationBody
from airrc.hotline.context import HotlineContext
from airrc.hotline.formats import FormatCatalog
from airrc.hotline.records import find_channel, find_message, send_sealed
from airrc.hotline.tables import ChannelRow, MessageRow, WaitRow
from airrc.hotline.views import MessageView
from airrc.principals.accounts import AuthenticatedPrincipal
from airrc.statements import SignedStatement

__all__ = ["ChannelRow", "HotlineError", "HotlineService", "MessageRow", "MessageView", "WaitRow"]


class HotlineService:
    # The kinds this mechanism reads when a peer sends them (registered with the received dispatcher).
    RECEIVED_KINDS = receiving.RECEIVED_KINDS

    def __init__(self, context: HotlineContext) -> None:
        self.context = context
        self.node_id = context.node_id
        self.catalog: FormatCatalog = context.catalog

    # -- channels ----------------------------------------------------------------------------------------

    def open_channel(
        self,
        session: Session,
        participants: Iterable[str],
        *,
        report: str | None = None,
        now: datetime | None = None,
    ) -> ChannelRow:
        """Open a crisis channel with peers (names or ids); this node is always a participant."""
        return channels.open_channel(self.context, session, participants, report=report, now=now)

    def close_channel(self, session: Session, channel_id: str, *, now: datetime | None = None) -> ChannelRow:
        return channels.close_channel(self.context, session, channel_id, now=now)

    def channel(self, session: Session, channel_id: str) -> ChannelRow:
        return find_channel(session, channel_id)

    def is_channel(self, session: Session, channel_id: str) -> bool:
        return session.get(ChannelRow, channel_id) is not None

    def channels(self, session: Session, *, include_drills: bool = False) -> list[ChannelRow]:
        return channels.list_channels(session, include_drills=include_drills)

    # -- sending and acknowledging ---------------------------------------------------------------------------

    def send(
        self,
        session: Session,
        channel_id: str,
        *,
        format_id: str,
        fields: dict[str, Any],
        precedence: str | None = None,
        in_reply_to: str | None = None,
        now: datetime | None = None,
    ) -> MessageRow:
        """Seal a message to every participant, issue it, and start the acknowledgement clocks."""
        channel = find_channel(session, channel_id)
        if channel.state != "open":
            raise Conflict(f"channel {channel_id} is closed", code="hotline.channel_closed")
        return send_sealed(
            self.context,
            session,
            channel,
            format_id=format_id,
            fields=fields,
            precedence=precedence,
            in_reply_to=in_reply_to,
            now=now,
            drill=False,
        )

    def acknowledge(
        self,
        session: Session,
        principal: AuthenticatedPrincipal,
        message_id: str,
        *,
        now: datetime | None = None,
    ) -> WaitRow:
        """A named duty officer acknowledges a received message, signing it with their personal key."""
        return acknowledging.acknowledge(self.context, session, principal, message_id, now=now)

    # -- what peers send ------------------------------------------------------------------------------------

    def receive(self, session: Session, signed: SignedStatement) -> None:
        """One received hotline statement, inside the transaction that stores it."""
        receiving.receive(self.context, session, signed)

    # -- deadlines and drills (the worker's periodic tasks) -------------------------------------------------

    def check_deadlines(self, session: Session, *, now: datetime | None = None) -> list[EscalationBody]:
        """Take every due step of the ladder: resend, tell the next roster level, mark overdue on both sides."""
        return escalation.check_deadlines(self.context, session, now=now)

    def run_drills(self, session: Session, *, interval: timedelta, now: datetime | None = None) -> list[str]:
        """Send a LINK_TEST to every member peer whose last drill is older than ``interval``."""
        return escalation.run_drills(self.context, session, interval=interval, now=now)

    def drill_status(self, session: Session, *, now: datetime | None = None) -> list[dict[str, Any]]:
        return escalation.drill_status(self.context, session, now=now)

    # -- reading ---------------------------------------------------------------------------------------------

    def view(self, session: Session, message: MessageRow) -> MessageView:
        return views.view(self.context, session, message)

    def message(self, session: Session, message_id: str) -> MessageView:
        return views.view(self.context, session, find_message(session, message_id))

    def messages(self, session: Session, channel_id: str) -> list[MessageView]:
        return views.channel_messages(self.context, session, channel_id)

    def inbox(
        self, session: Session, *, include_acknowledged: bool = False, limit: int = 100
    ) -> list[MessageView]:
        """Received crisis messages, unacknowledged first by deadline."""
        return views.inbox(self.context, session, include_acknowledged=include_acknowledged, limit=limit)

    def status(self, session: Session) -> dict[str, Any]:
        """The catalog digest both sides compare, awaited acknowledgements and drill results per peer."""
        return {
            "catalog_digest": self.catalog.digest,
            "acknowledgements": self.counts(session),
            "drills": self.drill_status(session),
        }

    def change_stamp(self, session: Session) -> tuple[int, ...]:
        """Changes whenever the board a duty officer watches would (see :func:`views.change_stamp`)."""
        return views.change_stamp(session)

    def counts(self, session: Session) -> dict[str, int]:
        """Awaited acknowledgements by state, for ``/metrics``."""
        return views.ack_counts(session)
