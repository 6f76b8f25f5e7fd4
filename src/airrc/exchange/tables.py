"""The exchange's tables: reports, their search terms and words, partner policies, shares and links."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from airrc.exchange.model import Report, parse_report
from airrc.statements import format_timestamp
from airrc.store.db import Base, UTCDateTime

__all__ = [
    "ConsentRow",
    "DerivationRow",
    "LinkRow",
    "PolicyRow",
    "ReportRow",
    "ShareRow",
    "TermRow",
    "WordRow",
]


class ReportRow(Base):
    __tablename__ = "exchange_reports"
    __table_args__ = (
        UniqueConstraint("origin", "report_id", name="uq_exchange_origin_report"),
        Index("ix_exchange_reports_updated", "updated_at"),
        Index("ix_exchange_reports_status_tlp", "status", "tlp"),
        Index("ix_exchange_reports_statement", "statement_id"),
    )

    key: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    report_id: Mapped[str] = mapped_column(String(36), nullable=False)
    origin: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    local: Mapped[bool] = mapped_column(Boolean, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)  # draft | published | revoked
    tlp: Mapped[str] = mapped_column(String(16), nullable=False)
    severity: Mapped[str] = mapped_column(String(12), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)  # normalised title + summary, for search
    data: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A received report: the exchange.report statement that brought its current version (what a hotline
    # channel opened from it refers to).
    statement_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    def report(self) -> Report:
        return parse_report(json.loads(self.data), received=not self.local)

    def to_json(self, *, names: dict[str, str] | None = None) -> dict[str, Any]:
        return {
            "key": self.key,
            "report_id": self.report_id,
            "origin": (names or {}).get(self.origin, self.origin),
            "origin_id": self.origin,
            "local": self.local,
            "version": self.version,
            "status": self.status,
            "tlp": self.tlp,
            "severity": self.severity,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
            "published_at": format_timestamp(self.published_at) if self.published_at else None,
            "report": json.loads(self.data),
        }


class TermRow(Base):
    """An indexed property of a report: category, sector, technique or observable (``obs:<type>``)."""

    __tablename__ = "exchange_terms"
    __table_args__ = (Index("ix_exchange_terms_lookup", "kind", "value", "report_key"),)

    report_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    value: Mapped[str] = mapped_column(String(512), primary_key=True)


class WordRow(Base):
    """A word of a report's title and summary (Chinese as character pairs): free-text search is indexed."""

    __tablename__ = "exchange_words"
    __table_args__ = (Index("ix_exchange_words_word", "word", "report_key"),)

    report_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    word: Mapped[str] = mapped_column(String(64), primary_key=True)


class PolicyRow(Base):
    __tablename__ = "exchange_policies"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ShareRow(Base):
    """Which partner received which version of one of our reports, in which statement."""

    __tablename__ = "exchange_shares"

    report_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36), nullable=False)
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class LinkRow(Base):
    """Two reports linked by correlation (``a < b``); near-duplicates also form clusters."""

    __tablename__ = "exchange_links"

    a: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    b: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    reason: Mapped[str] = mapped_column(String(600), primary_key=True)
    duplicate: Mapped[bool] = mapped_column(Boolean, nullable=False)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)


class DerivationRow(Base):
    """A report id one of our drafts was made from (a STIX bundle naming it), so its terms travel with it."""

    __tablename__ = "exchange_derivations"

    report_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_report_id: Mapped[str] = mapped_column(String(36), primary_key=True)


class ConsentRow(Base):
    """One request to share a partner's report onward, and the originator's answer.

    ``requester`` asks ``originator`` to let its report ``report_id`` (built on the originator's
    ``source_report_id``) reach ``partners``; ``state`` is requested, granted or refused."""

    __tablename__ = "exchange_consents"
    __table_args__ = (Index("ix_exchange_consents_source", "source_report_id", "report_id"),)

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    requester: Mapped[str] = mapped_column(String(64), nullable=False)
    originator: Mapped[str] = mapped_column(String(64), nullable=False)
    source_report_id: Mapped[str] = mapped_column(String(36), nullable=False)
    report_id: Mapped[str] = mapped_column(String(36), nullable=False)
    partners: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of node ids
    state: Mapped[str] = mapped_column(String(12), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    def partner_ids(self) -> list[str]:
        return list(json.loads(self.partners))
