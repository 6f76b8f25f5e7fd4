"""The hotline's tables: channels, messages (both directions) and acknowledgement waits."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from airrc.store.db import Base, UTCDateTime

__all__ = ["ChannelRow", "MessageRow", "WaitRow"]


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
