"""The hotline on a node: channels, sealed messages, personally signed acknowledgements, deadlines,
escalation and drills.

Every step is a statement. Plaintext of a message exists only at its sender and its recipients: it is
sealed end-to-end in the statement, and opened into ``hotline_messages`` only by a participant's node.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Boolean, Index, Integer, LargeBinary, String, UniqueConstraint, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from airrc.alerts import AlertNotifier, Alerts
from airrc.api.auth import AuthenticatedPrincipal
from airrc.config import RosterLevel
from airrc.crypto.canonical import canonical_bytes, parse_json
from airrc.crypto.keys import NodeIdentity
from airrc.crypto.sealing import open_sealed, seal
from airrc.crypto.trust import NodeCard
from airrc.errors import Conflict, Forbidden, InputError, NotFound
from airrc.federation.outbox import Outbox, OutboxItem
from airrc.federation.peers import TrustStore
from airrc.hotline.channel import (
    AckBody,
    ChannelBody,
    EscalationBody,
    MessageBody,
    MessageContent,
    Officer,
    ack_payload,
    check_officer_signature,
    content_commitment,
    drill_channel_id,
)
from airrc.hotline.deadlines import AckWindows, due_step
from airrc.hotline.formats import FormatCatalog, HotlineFormatError, Language, render, validate_fields
from airrc.statements import SignedStatement, format_timestamp, parse_signed_statement
from airrc.store.db import Base, Store, UTCDateTime, utcnow
from airrc.store.statements import StatementLog, StatementRow

__all__ = [
    "ChannelRow",
    "HotlineError",
    "HotlineService",
    "MessageRow",
    "MessageView",
    "WaitRow",
]

DUTY_ROLES = ("duty_officer",)
MAX_PARTICIPANTS = 32


class HotlineError(InputError):
    default_code = "hotline.error"


class ChannelRow(Base):
    __tablename__ = "hotline_channels"

    channel_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # crisis | drill
    opened_by: Mapped[str] = mapped_column(String(64), nullable=False)
    participants: Mapped[str] = mapped_column(String(2200), nullable=False)  # JSON list of node ids
    report: Mapped[str | None] = mapped_column(String(36), nullable=True)
    state: Mapped[str] = mapped_column(String(8), nullable=False)
    open_statement: Mapped[str | None] = mapped_column(String(36), nullable=True)
    close_statement: Mapped[str | None] = mapped_column(String(36), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def members(self) -> list[str]:
        members: list[str] = json.loads(self.participants)
        return members


class MessageRow(Base):
    """A message this node sent or opened: plaintext lives only at the channel's participants."""

    __tablename__ = "hotline_messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "sender", "channel_seq", name="uq_hotline_channel_sender_seq"),
        Index("ix_hotline_messages_channel", "channel_id", "issued_at"),
    )

    statement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(36), nullable=False)
    sender: Mapped[str] = mapped_column(String(64), nullable=False)
    channel_seq: Mapped[int] = mapped_column(Integer, nullable=False)
    format: Mapped[str] = mapped_column(String(64), nullable=False)
    precedence: Mapped[str] = mapped_column(String(16), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    in_reply_to: Mapped[str | None] = mapped_column(String(36), nullable=True)
    outgoing: Mapped[bool] = mapped_column(Boolean, nullable=False)
    drill: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class WaitRow(Base):
    """An acknowledgement awaited from one node (a recipient, or this node for what it received)."""

    __tablename__ = "hotline_waits"
    __table_args__ = (Index("ix_hotline_waits_open", "acked_at", "deadline_at"),)

    message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    window_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ack_statement: Mapped[str | None] = mapped_column(String(36), nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    steps_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    overdue: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


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
                    "state": _state(w, self.delivered.get(w.node_id), self.row.outgoing),
                }
                for w in self.waits
            ],
        }


def _ts(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


def _state(wait: WaitRow, delivered: datetime | None, outgoing: bool) -> str:
    if wait.answered_by:
        return "answered"
    if wait.acked_at:
        return "acknowledged"
    if wait.overdue:
        return "overdue"
    if outgoing and delivered is None:
        return "sent"
    return "delivered"


class HotlineService:
    def __init__(
        self,
        *,
        node_id: str,
        identity: NodeIdentity,
        store: Store,
        statements: StatementLog,
        trust: TrustStore,
        outbox: Outbox,
        alerts: Alerts,
        catalog: FormatCatalog,
        windows: AckWindows,
        roster: Sequence[RosterLevel],
        max_statement_bytes: int,
    ) -> None:
        self.node_id = node_id
        self.identity = identity
        self.store = store
        self.statements = statements
        self.trust = trust
        self.outbox = outbox
        self.alerts = alerts
        # What peers send, read inside the transaction that stores it (a StatementLog hook).
        self.on_stored = alerts.receiving(lambda kind: kind.startswith("hotline."), self._receive)
        self.catalog = catalog
        self.windows = windows
        self.roster = list(roster)
        self.max_statement_bytes = max_statement_bytes

    # -- channels ------------------------------------------------------------------------------------------

    def _resolve(self, session: Session, who: str) -> NodeCard:
        return self.trust.resolve(session, who)

    def open_channel(
        self,
        session: Session,
        participants: Iterable[str],
        *,
        report: str | None = None,
        now: datetime | None = None,
    ) -> ChannelRow:
        """Open a crisis channel with peers (names or ids); this node is always a participant."""
        ids = [self.node_id]
        for who in participants:
            card = self._resolve(session, who)
            if card.role == "observer":
                raise HotlineError(
                    f"{card.name} is an observer and cannot join a channel", code="hotline.observer"
                )
            if card.id not in ids:
                ids.append(card.id)
        if len(ids) < 2:
            raise HotlineError("a channel needs at least one peer", code="hotline.no_participants")
        if len(ids) > MAX_PARTICIPANTS:
            raise HotlineError(
                f"a channel has at most {MAX_PARTICIPANTS} participants", code="hotline.too_many"
            )
        if report is not None:
            found = session.scalar(select(StatementRow.kind).where(StatementRow.statement_id == report))
            if found != "exchange.report":
                raise HotlineError(f"no exchange report {report}", code="hotline.unknown_report")
        channel_id = str(uuid.uuid4())
        body = ChannelBody(
            channel_id=channel_id,
            action="open",
            participants=tuple(ids),
            catalog_version=self.catalog.version,
            catalog_digest=self.catalog.digest,
            report=report,
        )
        signed = self.statements.issue(
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
            opened_by=self.node_id,
            participants=json.dumps(ids),
            report=report,
            state="open",
            open_statement=signed.statement.id,
            opened_at=signed.statement.issued_at_datetime,
        )
        session.add(row)
        session.flush()
        return row

    def close_channel(self, session: Session, channel_id: str, *, now: datetime | None = None) -> ChannelRow:
        row = self.channel(session, channel_id)
        if row.kind != "crisis":
            raise HotlineError("drill channels stay open", code="hotline.drill_channel")
        if row.state != "open":
            raise Conflict(f"channel {channel_id} is already closed", code="hotline.channel_closed")
        body = ChannelBody(
            channel_id=channel_id,
            action="close",
            participants=tuple(row.members),
            catalog_version=self.catalog.version,
            catalog_digest=self.catalog.digest,
            report=row.report,
        )
        signed = self.statements.issue(
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

    def channel(self, session: Session, channel_id: str) -> ChannelRow:
        row = session.get(ChannelRow, channel_id)
        if row is None:
            raise NotFound(f"no channel {channel_id}", code="hotline.unknown_channel")
        return row

    def channels(self, session: Session, *, include_drills: bool = False) -> list[ChannelRow]:
        query = select(ChannelRow).order_by(ChannelRow.opened_at.desc())
        if not include_drills:
            query = query.where(ChannelRow.kind == "crisis")
        return list(session.scalars(query))

    # -- sending -------------------------------------------------------------------------------------------

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
        channel = self.channel(session, channel_id)
        if channel.state != "open":
            raise Conflict(f"channel {channel_id} is closed", code="hotline.channel_closed")
        return self._send(
            session,
            channel,
            format_id=format_id,
            fields=fields,
            precedence=precedence,
            in_reply_to=in_reply_to,
            now=now,
            drill=False,
        )

    def _send(
        self,
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
        fmt = self.catalog.format(format_id)
        level = precedence or fmt.precedence
        if level not in self.catalog.precedences:
            raise HotlineFormatError(f"unknown precedence {level!r}", code="hotline.unknown_precedence")
        checked = validate_fields(self.catalog, format_id, fields)
        if in_reply_to is not None:
            original = session.get(MessageRow, in_reply_to)
            if original is None or original.channel_id != channel.channel_id:
                raise HotlineError(
                    f"no message {in_reply_to} in this channel to answer", code="hotline.unknown_message"
                )
        last = session.scalar(
            select(func.max(MessageRow.channel_seq)).where(
                MessageRow.channel_id == channel.channel_id, MessageRow.sender == self.node_id
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
        recipients = {m: self.trust.current(session, m).keys for m in members if m != self.node_id}
        sealed = seal(
            content.model_dump(mode="json"),
            sender=self.identity,
            sender_id=self.node_id,
            recipients=recipients,
            kind="hotline.message",
        )
        body = MessageBody(
            channel_id=channel.channel_id, commitment=content_commitment(content), sealed=sealed
        )
        signed = self.statements.issue(
            session,
            kind="hotline.message",
            audience=members,
            body=body.model_dump(mode="json"),
            tlp="amber",
            refs=[in_reply_to] if in_reply_to else [],
            issued_at=now,
        )
        row = self._store_message(session, signed, content, outgoing=True)
        for member in members:
            if member != self.node_id:
                self._await(session, row, member)
        return row

    def _store_message(
        self, session: Session, signed: SignedStatement, content: MessageContent, *, outgoing: bool
    ) -> MessageRow:
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

    def _await(self, session: Session, message: MessageRow, node_id: str) -> None:
        """Start the acknowledgement clock for ``node_id``; the window is the one agreed with the peer."""
        peer = message.sender if node_id == self.node_id else node_id
        card = self.trust.current(session, peer)
        window = self.windows.window(message.precedence, card.id, card.name)
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

    # -- acknowledgement -----------------------------------------------------------------------------------

    def acknowledge(
        self,
        session: Session,
        principal: AuthenticatedPrincipal,
        message_id: str,
        *,
        now: datetime | None = None,
    ) -> WaitRow:
        """A named duty officer acknowledges a received message, signing it with their personal key."""
        if not principal.roles & set(DUTY_ROLES) or principal.kind != "user":
            raise Forbidden(f"{principal.username} is not a duty officer", code="hotline.not_duty_officer")
        message = self._message(session, message_id)
        if message.outgoing:
            raise HotlineError(
                "a node acknowledges what it received, not what it sent", code="hotline.own_message"
            )
        wait = session.get(WaitRow, (message_id, self.node_id))
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
            node_id=self.node_id,
            channel_id=message.channel_id,
            message=message_id,
            message_digest=message.digest,
            user_id=principal.id,
            at=at,
        )
        public = principal.personal_key.public_key().public_bytes_raw()
        body = AckBody(
            channel_id=message.channel_id,
            message=message_id,
            message_digest=message.digest,
            acknowledged_at=at,
            officer=Officer(
                user_id=principal.id,
                username=principal.username,
                public_key=base64.b64encode(public).decode(),
            ),
            officer_signature=base64.b64encode(principal.sign_personally(payload)).decode(),
        )
        signed = self._issue_ack(session, message, body, moment)
        wait.acked_at, wait.ack_statement, wait.acked_by = moment, signed.statement.id, principal.username
        return wait

    def _issue_ack(
        self, session: Session, message: MessageRow, body: AckBody, now: datetime
    ) -> SignedStatement:
        channel = self.channel(session, message.channel_id)
        return self.statements.issue(
            session,
            kind="hotline.ack",
            audience=channel.members,
            body=body.model_dump(mode="json", exclude_none=True),
            tlp="amber",
            refs=[message.statement_id],
            issued_at=now,
        )

    def _message(self, session: Session, message_id: str) -> MessageRow:
        row = session.get(MessageRow, message_id)
        if row is None:
            raise NotFound(f"no message {message_id}", code="hotline.unknown_message")
        return row

    # -- what peers send (a StatementLog hook, inside the receiving transaction) ----------------------------

    def _receive(self, session: Session, signed: SignedStatement) -> None:
        kind = signed.statement.kind
        body = signed.statement.body
        try:
            if kind == "hotline.channel":
                self._receive_channel(session, signed, ChannelBody.model_validate(body))
            elif kind == "hotline.message":
                self._receive_message(session, signed, MessageBody.model_validate(body))
            elif kind == "hotline.ack":
                self._receive_ack(session, signed, AckBody.model_validate(body))
            elif kind == "hotline.escalation":
                self._receive_escalation(session, signed, EscalationBody.model_validate(body))
        except ValidationError as exc:
            raise HotlineError(f"malformed {kind} body", code="hotline.malformed") from exc

    def _receive_channel(self, session: Session, signed: SignedStatement, body: ChannelBody) -> None:
        st = signed.statement
        if st.issuer not in body.participants or self.node_id not in body.participants:
            raise HotlineError(
                "channel participants must include its issuer and us", code="hotline.not_participant"
            )
        row = session.get(ChannelRow, body.channel_id)
        if body.action == "open":
            if row is not None:
                raise HotlineError("the channel id is already in use", code="hotline.channel_exists")
            if body.catalog_digest != self.catalog.digest:
                self.alerts.raise_alert(
                    session,
                    "hotline.catalog_mismatch",
                    "a peer opened a channel with another format catalog: compare catalog digests",
                    channel=body.channel_id,
                    theirs=body.catalog_digest,
                    ours=self.catalog.digest,
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

    def _receive_message(self, session: Session, signed: SignedStatement, body: MessageBody) -> None:
        st = signed.statement
        opened = open_sealed(
            body.sealed,
            recipient=self.identity,
            recipient_id=self.node_id,
            sender_id=st.issuer,
            sender_verifier=self.trust.verifier_for(st.issuer, st.issued_at_datetime),
            kind="hotline.message",
            max_bytes=self.max_statement_bytes,
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
        if (
            channel is None
            and content.drill
            and content.channel_id == drill_channel_id(st.issuer, self.node_id)
        ):
            channel = self._drill_channel(session, st.issuer)
        if channel is None or st.issuer not in channel.members or self.node_id not in channel.members:
            raise HotlineError("a message for a channel we are not in", code="hotline.unknown_channel")
        validate_fields(self.catalog, content.format, content.fields)
        if content.precedence not in self.catalog.precedences:
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
        row = self._store_message(session, signed, content, outgoing=False)
        self._await(session, row, self.node_id)
        if content.drill:
            self._auto_ack(session, row)
        elif content.precedence == "FLASH":
            self.alerts.raise_alert(
                session,
                "hotline.flash_received",
                f"FLASH {content.format} received: a duty officer must acknowledge",
                severity="critical",
                message_id=row.statement_id,
                channel=row.channel_id,
            )

    def _auto_ack(self, session: Session, message: MessageRow) -> None:
        moment = datetime.now(UTC)
        body = AckBody(
            channel_id=message.channel_id,
            message=message.statement_id,
            message_digest=message.digest,
            acknowledged_at=format_timestamp(moment),
            automatic=True,
        )
        signed = self._issue_ack(session, message, body, moment)
        session.execute(
            update(WaitRow)
            .where(WaitRow.message_id == message.statement_id, WaitRow.node_id == self.node_id)
            .values(acked_at=moment, ack_statement=signed.statement.id, acked_by="(automatic)")
        )

    def _receive_ack(self, session: Session, signed: SignedStatement, body: AckBody) -> None:
        st = signed.statement
        message = self._message(session, body.message)
        if (
            not message.outgoing
            or message.digest != body.message_digest
            or message.channel_id != body.channel_id
        ):
            raise HotlineError(
                "an acknowledgement of a message we did not send", code="hotline.unknown_message"
            )
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
            officer = self._check_officer(session, signed, body)
        if wait.acked_at is None:
            acked = datetime.fromisoformat(body.acknowledged_at.replace("Z", "+00:00"))
            wait.acked_at, wait.ack_statement, wait.acked_by = acked, st.id, officer

    def _check_officer(self, session: Session, signed: SignedStatement, body: AckBody) -> str:
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
        roster = parse_signed_statement(data, max_bytes=self.max_statement_bytes) if data else None
        return check_officer_signature(signed, body, roster)

    def _receive_escalation(self, session: Session, signed: SignedStatement, body: EscalationBody) -> None:
        session.execute(
            update(WaitRow)
            .where(
                WaitRow.message_id == body.message,
                WaitRow.node_id == body.awaiting,
                WaitRow.acked_at.is_(None),
            )
            .values(overdue=True)
        )

    # -- deadlines and escalation --------------------------------------------------------------------------

    def check_deadlines(self, session: Session, *, now: datetime | None = None) -> list[EscalationBody]:
        """Take every due step of the ladder: resend, tell the next roster level, mark overdue on both sides."""
        moment = now or datetime.now(UTC)
        rows = session.execute(
            select(WaitRow, MessageRow)
            .join(MessageRow, MessageRow.statement_id == WaitRow.message_id)
            .where(WaitRow.acked_at.is_(None), WaitRow.deadline_at <= moment, MessageRow.drill.is_(False))
            .order_by(WaitRow.deadline_at)
            .limit(500)
        ).all()
        steps: list[EscalationBody] = []
        for wait, message in rows:
            step = due_step(
                deadline=wait.deadline_at,
                window=timedelta(seconds=wait.window_seconds),
                steps_done=wait.steps_done,
                max_steps=len(self.roster),
                now=moment,
            )
            if step is not None:
                steps.append(self._escalate(session, wait, message, step, moment))
        return steps

    def _escalate(
        self, session: Session, wait: WaitRow, message: MessageRow, step: int, now: datetime
    ) -> EscalationBody:
        outgoing = message.outgoing
        resent = False
        endpoints: tuple[str, ...] = ()
        if outgoing:
            card = self.trust.current(session, wait.node_id)
            resent = self._resend(session, message, card, now)
            if resent:
                endpoints = tuple(card.endpoints[1:] + card.endpoints[:1])
        level = self.roster[step - 1] if step <= len(self.roster) else None
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
        channel = self.channel(session, message.channel_id)
        self.statements.issue(
            session,
            kind="hotline.escalation",
            audience=channel.members,
            body=body.model_dump(mode="json", exclude_none=True),
            tlp="amber",
            refs=[message.statement_id],
            issued_at=now,
        )
        wait.steps_done, wait.overdue = step, True
        who = "us" if wait.node_id == self.node_id else self.trust.current(session, wait.node_id).name
        text = f"{message.precedence} {message.format} not acknowledged by {who}: escalation step {step}"
        if level is not None:
            text += f", told {level.name}"
        details = {"message_id": message.statement_id, "channel": message.channel_id, "step": step}
        self.alerts.raise_alert(
            session,
            "hotline.overdue",
            text,
            severity="critical" if message.precedence in ("FLASH", "IMMEDIATE") else "warning",
            **details,
        )
        if level is not None and (level.command or level.webhook_url):
            AlertNotifier(level.webhook_url, level.command).notify(
                {
                    "code": "hotline.overdue",
                    "message": text,
                    "level": level.name,
                    "contacts": level.contacts,
                    **details,
                }
            )
        return body

    def _resend(self, session: Session, message: MessageRow, card: NodeCard, now: datetime) -> bool:
        """Still undelivered: retry at once, alternate endpoints first. Delivered: nothing to resend."""
        pending = session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .join(StatementRow, StatementRow.row_id == OutboxItem.statement_row)
            .where(
                OutboxItem.peer_id == card.id,
                OutboxItem.state == "pending",
                StatementRow.statement_id == message.statement_id,
            )
        )
        if not pending:
            return False
        self.outbox.prefer_alternates(card.id)
        # Everything before the message goes first: delivery to a peer stays in order.
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.peer_id == card.id, OutboxItem.state == "pending")
            .values(next_attempt_at=now)
        )
        return True

    # -- drills ----------------------------------------------------------------------------------------------

    def _drill_channel(self, session: Session, peer_id: str) -> ChannelRow:
        channel_id = drill_channel_id(self.node_id, peer_id)
        row = session.get(ChannelRow, channel_id)
        if row is None:
            row = ChannelRow(
                channel_id=channel_id,
                kind="drill",
                opened_by=min(self.node_id, peer_id),
                participants=json.dumps(sorted((self.node_id, peer_id))),
                state="open",
                opened_at=utcnow(),
            )
            session.add(row)
            session.flush()
        return row

    def run_drills(self, session: Session, *, interval: timedelta, now: datetime | None = None) -> list[str]:
        """Send a LINK_TEST to every member peer whose last drill is older than ``interval``."""
        moment = now or datetime.now(UTC)
        sent = []
        for card in self.trust.peers(session):
            if card.role == "observer" or not card.endpoints:
                continue
            channel = self._drill_channel(session, card.id)
            last = session.scalar(
                select(func.max(MessageRow.issued_at)).where(
                    MessageRow.channel_id == channel.channel_id, MessageRow.sender == self.node_id
                )
            )
            if last is not None and moment - last < interval:
                continue
            count = session.scalar(
                select(func.count()).where(
                    MessageRow.channel_id == channel.channel_id, MessageRow.sender == self.node_id
                )
            )
            row = self._send(
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

    def drill_status(self, session: Session, *, now: datetime | None = None) -> list[dict[str, Any]]:
        """Per peer: the last drill, whether it was delivered and acknowledged, and its round trip."""
        moment = now or datetime.now(UTC)
        out = []
        for card in self.trust.peers(session):
            channel_id = drill_channel_id(self.node_id, card.id)
            rows = session.execute(
                select(MessageRow, WaitRow)
                .join(WaitRow, WaitRow.message_id == MessageRow.statement_id)
                .where(MessageRow.channel_id == channel_id, MessageRow.sender == self.node_id)
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
                    "last_drill": _ts(latest[0].issued_at) if latest else None,
                    "result": result,
                    "round_trip_seconds": rtt,
                    "last_ok": _ts(last_ok),
                    "consecutive_failures": failures,
                }
            )
        return out

    # -- reading -----------------------------------------------------------------------------------------------

    def view(self, session: Session, message: MessageRow) -> MessageView:
        waits = list(session.scalars(select(WaitRow).where(WaitRow.message_id == message.statement_id)))
        delivered: dict[str, datetime | None] = {}
        if message.outgoing:
            rows = session.execute(
                select(OutboxItem.peer_id, OutboxItem.delivered_at)
                .join(StatementRow, StatementRow.row_id == OutboxItem.statement_row)
                .where(StatementRow.statement_id == message.statement_id)
            )
            delivered = dict(rows.all())
        else:
            delivered = {self.node_id: message.stored_at}
        content = MessageContent.model_validate(
            parse_json(message.content, max_bytes=self.max_statement_bytes)
        )
        return MessageView(message, content, waits, delivered)

    def message(self, session: Session, message_id: str) -> MessageView:
        return self.view(session, self._message(session, message_id))

    def messages(self, session: Session, channel_id: str) -> list[MessageView]:
        self.channel(session, channel_id)
        rows = session.scalars(
            select(MessageRow)
            .where(MessageRow.channel_id == channel_id)
            .order_by(MessageRow.issued_at, MessageRow.sender, MessageRow.channel_seq)
        )
        return [self.view(session, row) for row in rows]

    def inbox(
        self, session: Session, *, include_acknowledged: bool = False, limit: int = 100
    ) -> list[MessageView]:
        """Received crisis messages, unacknowledged first by deadline."""
        query = (
            select(MessageRow)
            .join(WaitRow, WaitRow.message_id == MessageRow.statement_id)
            .where(
                MessageRow.outgoing.is_(False), MessageRow.drill.is_(False), WaitRow.node_id == self.node_id
            )
            .order_by(WaitRow.acked_at.is_not(None), WaitRow.deadline_at)
            .limit(min(limit, 1000))
        )
        if not include_acknowledged:
            query = query.where(WaitRow.acked_at.is_(None))
        return [self.view(session, row) for row in session.scalars(query)]

    def status(self, session: Session) -> dict[str, Any]:
        """The catalog digest both sides compare, awaited acknowledgements and drill results per peer."""
        return {
            "catalog_digest": self.catalog.digest,
            "acknowledgements": self.counts(session),
            "drills": self.drill_status(session),
        }

    def counts(self, session: Session) -> dict[str, int]:
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
