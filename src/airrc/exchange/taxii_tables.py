"""The TAXII server's tables: objects per collection and version, grants, and add-object statuses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from airrc.store.db import Base, UTCDateTime

__all__ = ["TaxiiGrant", "TaxiiObject", "TaxiiStatus"]


class TaxiiObject(Base):
    __tablename__ = "taxii_objects"
    __table_args__ = (
        UniqueConstraint("collection_id", "object_id", "version", name="uq_taxii_object_version"),
        Index("ix_taxii_collection_seq", "collection_id", "seq"),
        Index("ix_taxii_collection_object", "collection_id", "object_id", "seq"),
        # match[version] defaults to "last": pages of latest versions read an index, not the collection.
        Index("ix_taxii_collection_last", "collection_id", "is_last", "seq"),
        Index("ix_taxii_collection_first", "collection_id", "is_first", "seq"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    collection_id: Mapped[str] = mapped_column(String(36), nullable=False)
    object_id: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[str] = mapped_column(String(40), nullable=False)
    spec_version: Mapped[str] = mapped_column(String(8), nullable=False)
    date_added: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    data: Mapped[str] = mapped_column(Text, nullable=False)
    is_last: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    is_first: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class TaxiiGrant(Base):
    __tablename__ = "taxii_grants"

    principal_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    can_read: Mapped[bool] = mapped_column(Boolean, nullable=False)
    can_write: Mapped[bool] = mapped_column(Boolean, nullable=False)


class TaxiiStatus(Base):
    __tablename__ = "taxii_status"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    data: Mapped[str] = mapped_column(Text, nullable=False)
