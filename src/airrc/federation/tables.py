"""Federation's tables: the durable outbox and per-peer links, seen request nonces and equivocation evidence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from airrc.store.db import Base, UTCDateTime, utcnow

__all__ = ["Equivocation", "OutboxItem", "PeerLink", "SeenNonce"]


class SeenNonce(Base):
    __tablename__ = "federation_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    sender: Mapped[str] = mapped_column(String(64), nullable=False)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)


class Equivocation(Base):
    __tablename__ = "federation_equivocations"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    issuer: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    stored_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    offered_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    offered: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class OutboxItem(Base):
    __tablename__ = "federation_outbox"
    __table_args__ = (Index("ix_outbox_peer_state_id", "peer_id", "state", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    peer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    statement_row: Mapped[int] = mapped_column(ForeignKey("statements.row_id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    receipt_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)


class PeerLink(Base):
    """The state of the link to one peer, as delivery and link tests see it."""

    __tablename__ = "federation_links"

    peer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    failing: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    sync_cursor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
