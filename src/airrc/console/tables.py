"""The console's tables: a signed-in browser's last use, and each person's console language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from airrc.store.db import Base, UTCDateTime

__all__ = ["ConsolePreference", "ConsoleSession"]


class ConsoleSession(Base):
    """One browser sign-in: the session token it holds (hashed in ``tokens``) and when it was last used
    (the idle timeout)."""

    __tablename__ = "console_sessions"

    token_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tokens.id", ondelete="CASCADE"), primary_key=True
    )
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ConsolePreference(Base):
    __tablename__ = "console_preferences"

    principal_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), nullable=False)
