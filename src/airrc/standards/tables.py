"""The standards tables: evaluation runs with their logs, and verifications of peers' attestations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from airrc.store.db import Base, UTCDateTime, utcnow

__all__ = ["RunRow", "VerificationRow"]


class RunRow(Base):
    """A plan's run on this node: its seed, results and canonical log (until and after it is attested)."""

    __tablename__ = "standards_runs"

    plan_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model: Mapped[str] = mapped_column(String(500), nullable=False)
    seed: Mapped[str] = mapped_column(String(64), nullable=False)
    seed_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    seed_note: Mapped[str] = mapped_column(Text, nullable=False)
    seed_cosignature: Mapped[str] = mapped_column(Text, nullable=False)
    log_dir: Mapped[str] = mapped_column(Text, nullable=False)
    log_gz: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    log_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    results: Mapped[str] = mapped_column(Text, nullable=False)
    inspect_ai_version: Mapped[str] = mapped_column(String(64), nullable=False)
    attestation_id: Mapped[str | None] = mapped_column(String(36), nullable=True, unique=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class VerificationRow(Base):
    """A peer's attestation that this node verified (only successful verifications are kept)."""

    __tablename__ = "standards_verifications"

    attestation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    attester: Mapped[str] = mapped_column(String(64), nullable=False)
    checks: Mapped[str] = mapped_column(Text, nullable=False)
    rerun: Mapped[str | None] = mapped_column(Text, nullable=True)
    rerun_log_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rerun_ok: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    endorsement_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
