"""Media tables: every known PDQ hash (ours and received, with its signal and provenance) and the matches
found between them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from airrc.store.db import Base, UTCDateTime

__all__ = ["MediaHashRow", "MediaMatchRow"]

_ID = BigInteger().with_variant(Integer, "sqlite")


class MediaHashRow(Base):
    __tablename__ = "media_hashes"
    __table_args__ = (Index("ix_media_hashes_signal", "signal_id"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    signal_id: Mapped[str] = mapped_column(String(36), nullable=False)
    statement_id: Mapped[str] = mapped_column(String(36), nullable=False)
    origin: Mapped[str] = mapped_column(String(64), nullable=False)
    local: Mapped[bool] = mapped_column(Boolean, nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    report: Mapped[str | None] = mapped_column(String(36), nullable=True)
    tlp: Mapped[str] = mapped_column(String(16), nullable=False)
    confidence: Mapped[float] = mapped_column(Float, nullable=False)
    quality: Mapped[int] = mapped_column(Integer, nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class MediaMatchRow(Base):
    __tablename__ = "media_matches"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    # The hash that arrived, and the known one it is within the radius of.
    new_hash: Mapped[int] = mapped_column(ForeignKey("media_hashes.id"), nullable=False)
    known_hash: Mapped[int] = mapped_column(ForeignKey("media_hashes.id"), nullable=False)
    distance: Mapped[int] = mapped_column(Integer, nullable=False)
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
