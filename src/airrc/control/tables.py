"""Human control's tables: decisions, votes and refusals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from airrc.store.db import Base, UTCDateTime

__all__ = ["DecisionRow", "RecordHeadRow", "RefusalRow", "VoteRow"]


class RecordHeadRow(Base):
    """The head of this node's control record (one row): how many control statements, the last digest.
    Locked while a control statement is issued, so the record never forks."""

    __tablename__ = "control_record_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False)
    digest: Mapped[str | None] = mapped_column(String(64), nullable=True)


class DecisionRow(Base):
    __tablename__ = "control_decisions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), nullable=False)
    requester_id: Mapped[str] = mapped_column(String(36), nullable=False)
    request_statement: Mapped[str] = mapped_column(String(36), nullable=False)
    action_commitment: Mapped[str] = mapped_column(String(64), nullable=False)
    quorum: Mapped[int] = mapped_column(Integer, nullable=False)
    rule: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    outcome_statement: Mapped[str | None] = mapped_column(String(36), nullable=True)
    authorization_id: Mapped[str | None] = mapped_column(String(36), nullable=True, unique=True)
    authorization_used: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class VoteRow(Base):
    __tablename__ = "control_votes"

    decision_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    voter_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    approve: Mapped[bool] = mapped_column(Boolean, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    statement_id: Mapped[str] = mapped_column(String(36), nullable=False)


class RefusalRow(Base):
    """Refused attempts (late, duplicate or unauthorised votes, bad execution reports): kept, never lost."""

    __tablename__ = "control_refusals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    principal: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
