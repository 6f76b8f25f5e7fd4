"""Storage of signed statements: atomic per-issuer sequence numbers and the statements table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    select,
    update,
)
from sqlalchemy import insert as core_insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from airrc.crypto.canonical import parse_json
from airrc.crypto.sealing import SealedBody
from airrc.crypto.signing import HybridSigner
from airrc.errors import NotFound, StatementError
from airrc.statements import (
    PUBLIC,
    SignedStatement,
    Statement,
    Tlp,
    format_timestamp,
    new_statement_id,
    parse_signed_statement,
    sign_statement,
)
from airrc.store.db import Base, UTCDateTime, utcnow

__all__ = ["IssuerSeq", "StatementLog", "StatementRow", "StoredHook"]


class IssuerSeq(Base):
    __tablename__ = "issuer_seq"

    issuer: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class StatementRow(Base):
    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint("issuer", "seq", name="uq_statements_issuer_seq"),
        UniqueConstraint("log_index", name="uq_statements_log_index"),
        Index("ix_statements_kind", "kind"),
        Index("ix_statements_issued_at", "issued_at"),
    )

    row_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    statement_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    issuer: Mapped[str] = mapped_column(String(64), nullable=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    audience_public: Mapped[bool] = mapped_column(Boolean, nullable=False)
    tlp: Mapped[str] = mapped_column(String(16), nullable=False)
    local: Mapped[bool] = mapped_column(Boolean, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    log_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    def signed(self, *, max_bytes: int) -> SignedStatement:
        return parse_signed_statement(parse_json(self.data, max_bytes=max_bytes), max_bytes=max_bytes)


class StatementAudience(Base):
    __tablename__ = "statement_audience"

    statement_row: Mapped[int] = mapped_column(
        ForeignKey("statements.row_id", ondelete="CASCADE"), primary_key=True
    )
    node_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


StoredHook = Callable[[Session, SignedStatement, StatementRow], None]


@dataclass
class StatementLog:
    """Issues this node's statements (next seq, sign, store, run hooks: all in the caller's transaction)."""

    node_id: str
    signer: HybridSigner
    max_statement_bytes: int
    hooks: list[StoredHook] = field(default_factory=list)

    def next_seq(self, session: Session) -> int:
        """Reserve the next sequence number for this issuer; the row lock holds until commit."""
        bind = session.get_bind()
        dialect_insert: Any = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
        if bind.dialect.name not in {"postgresql", "sqlite"}:
            dialect_insert = core_insert
        stmt = dialect_insert(IssuerSeq).values(issuer=self.node_id, last_seq=0)
        if hasattr(stmt, "on_conflict_do_nothing"):
            stmt = stmt.on_conflict_do_nothing(index_elements=["issuer"])
        session.execute(stmt)
        result = session.execute(
            update(IssuerSeq)
            .where(IssuerSeq.issuer == self.node_id)
            .values(last_seq=IssuerSeq.last_seq + 1)
            .returning(IssuerSeq.last_seq)
        )
        return int(result.scalar_one())

    def issue(
        self,
        session: Session,
        *,
        kind: str,
        audience: Sequence[str] | str = PUBLIC,
        body: Any = None,
        sealed: SealedBody | None = None,
        tlp: Tlp = "green",
        refs: Sequence[str] = (),
        issued_at: datetime | None = None,
    ) -> SignedStatement:
        """Create, sign and store a statement of this node inside ``session``'s transaction."""
        seq = self.next_seq(session)
        statement = Statement(
            id=new_statement_id(),
            kind=kind,
            issuer=self.node_id,
            seq=seq,
            issued_at=format_timestamp(issued_at or datetime.now(UTC)),
            audience=audience if isinstance(audience, str) else tuple(audience),
            tlp=tlp,
            refs=tuple(refs),
            body=body,
            sealed=sealed,
        )
        signed = sign_statement(statement, self.signer)
        self.store(session, signed, local=True)
        return signed

    def store(self, session: Session, signed: SignedStatement, *, local: bool) -> StatementRow:
        """Insert a (verified) statement and run the hooks; the caller owns the transaction."""
        data = signed.canonical()
        if len(data) > self.max_statement_bytes:
            raise StatementError(
                f"statement is {len(data)} bytes, over the {self.max_statement_bytes} limit",
                code="statement.too_large",
            )
        st = signed.statement
        row = StatementRow(
            statement_id=st.id,
            issuer=st.issuer,
            seq=st.seq,
            kind=st.kind,
            digest=signed.digest().hex(),
            issued_at=st.issued_at_datetime,
            stored_at=utcnow(),
            audience_public=st.audience == PUBLIC,
            tlp=st.tlp,
            local=local,
            data=data,
        )
        session.add(row)
        session.flush()
        if st.audience != PUBLIC:
            session.add_all(StatementAudience(statement_row=row.row_id, node_id=n) for n in st.audience)
        for hook in self.hooks:
            hook(session, signed, row)
        return row

    def get(self, session: Session, statement_id: str) -> SignedStatement:
        row = session.scalar(select(StatementRow).where(StatementRow.statement_id == statement_id))
        if row is None:
            raise NotFound(f"no statement {statement_id}", code="statement.not_found")
        return row.signed(max_bytes=self.max_statement_bytes)

    def by_issuer(
        self, session: Session, issuer: str, *, since: int = 0, limit: int = 100
    ) -> list[StatementRow]:
        return list(
            session.scalars(
                select(StatementRow)
                .where(StatementRow.issuer == issuer, StatementRow.seq > since)
                .order_by(StatementRow.seq)
                .limit(limit)
            )
        )
