"""The ledger's tables: log tiles, state, checkpoints and cosignatures; the witness's state, cosignatures and evidence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from airrc.store.db import Base, UTCDateTime, utcnow

__all__ = [
    "LedgerCheckpoint",
    "LedgerCosignature",
    "LedgerState",
    "LedgerTile",
    "ReceivedInclusion",
    "WitnessCosignature",
    "WitnessEvidence",
    "WitnessState",
]


class WitnessState(Base):
    __tablename__ = "witness_state"

    peer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    origin: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    root: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    cosignature: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class WitnessCosignature(Base):
    """Every cosignature this witness gave, so it can say which was the first for a log at a size.

    Evaluation seeds come from the first cosignature of a checkpoint containing a plan; re-asking for
    another cosignature of the same tree must not give a log a second draw.
    """

    __tablename__ = "witness_cosignatures"
    __table_args__ = (Index("ix_witness_cosignatures_peer_size", "peer_id", "size"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    peer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    root: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
    line: Mapped[str] = mapped_column(Text, nullable=False)
    cosigned_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class WitnessEvidence(Base):
    __tablename__ = "witness_evidence"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    peer_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    old_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    old_note: Mapped[str] = mapped_column(Text, nullable=False)
    new_note: Mapped[str] = mapped_column(Text, nullable=False)
    proof: Mapped[str] = mapped_column(Text, nullable=False)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class LedgerTile(Base):
    __tablename__ = "ledger_tiles"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tile: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class LedgerState(Base):
    __tablename__ = "ledger_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    root: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class LedgerCosignature(Base):
    __tablename__ = "ledger_cosignatures"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    witness_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
    line: Mapped[str] = mapped_column(Text, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class ReceivedInclusion(Base):
    """How far the statements a peer sent us have been proven included in its log."""

    __tablename__ = "ledger_received_inclusion"

    peer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    checked_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
