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
    insert,
    select,
)
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

__all__ = [
    "Draft",
    "IssuerSeq",
    "LogAppend",
    "StatementAudience",
    "StatementLog",
    "StatementRow",
    "StoredHook",
    "StoredRow",
]


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


@dataclass(frozen=True)
class StoredRow:
    """Where a statement was stored: what the hooks need."""

    row_id: int
    local: bool
    log_index: int | None


StoredHook = Callable[[Session, list[tuple[SignedStatement, StoredRow]]], None]
LogAppend = Callable[[Session, list[bytes]], int]


@dataclass(frozen=True)
class Draft:
    """What a caller wants said; :meth:`StatementLog.issue_many` adds id, seq, time and signatures."""

    kind: str
    audience: Sequence[str] | str = PUBLIC
    body: Any = None
    sealed: SealedBody | None = None
    tlp: Tlp = "green"
    refs: Sequence[str] = ()
    issued_at: datetime | None = None


@dataclass
class StatementLog:
    """Issues this node's statements (next seq, sign, store, run hooks: all in the caller's transaction)."""

    node_id: str
    signer: HybridSigner
    max_statement_bytes: int
    hooks: list[StoredHook] = field(default_factory=list)
    # Appends our own statements' digests to our log, in the same transaction, before they are stored.
    log_append: LogAppend | None = None

    def next_seqs(self, session: Session, count: int = 1) -> int:
        """Reserve ``count`` sequence numbers; returns the first. The row lock holds until commit."""
        connection = session.connection()
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        bump = "UPDATE issuer_seq SET last_seq = last_seq + ? WHERE issuer = ? RETURNING last_seq".replace(
            "?", mark
        )
        row = connection.exec_driver_sql(bump, (count, self.node_id)).first()
        if row is None:
            create = "INSERT INTO issuer_seq (issuer, last_seq) VALUES (?, 0) ON CONFLICT (issuer) DO NOTHING"
            connection.exec_driver_sql(create.replace("?", mark), (self.node_id,))
            row = connection.exec_driver_sql(bump, (count, self.node_id)).first()
        if row is None:
            raise StatementError("could not reserve a sequence number", code="store.seq_unavailable")
        return int(row[0]) - count + 1

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
        """Create, sign and store one statement of this node inside ``session``'s transaction."""
        draft = Draft(
            kind=kind, audience=audience, body=body, sealed=sealed, tlp=tlp, refs=refs, issued_at=issued_at
        )
        return self.issue_many(session, [draft])[0]

    def issue_many(self, session: Session, drafts: Sequence[Draft]) -> list[SignedStatement]:
        """Issue several statements with consecutive seqs in one transaction (one log append, one commit)."""
        if not drafts:
            return []
        first = self.next_seqs(session, len(drafts))
        now = format_timestamp(datetime.now(UTC))
        signed = [
            sign_statement(
                Statement(
                    id=new_statement_id(),
                    kind=d.kind,
                    issuer=self.node_id,
                    seq=first + i,
                    issued_at=format_timestamp(d.issued_at) if d.issued_at else now,
                    audience=d.audience if isinstance(d.audience, str) else tuple(d.audience),
                    tlp=d.tlp,
                    refs=tuple(d.refs),
                    body=d.body,
                    sealed=d.sealed,
                ),
                self.signer,
            )
            for i, d in enumerate(drafts)
        ]
        self.store_many(session, signed, local=True)
        return signed

    def store(self, session: Session, signed: SignedStatement, *, local: bool) -> StoredRow:
        """Insert one (verified) statement and run the hooks; the caller owns the transaction."""
        return self.store_many(session, [signed], local=local)[0]

    def store_many(
        self, session: Session, items: Sequence[SignedStatement], *, local: bool
    ) -> list[StoredRow]:
        """Insert (verified) statements, log our own, and run the hooks once for all of them."""
        if not items:
            return []
        datas = [signed.canonical() for signed in items]
        for data in datas:
            if len(data) > self.max_statement_bytes:
                raise StatementError(
                    f"statement is {len(data)} bytes, over the {self.max_statement_bytes} limit",
                    code="statement.too_large",
                )
        log_indices: list[int | None] = [None] * len(items)
        if local and self.log_append is not None:
            first = self.log_append(session, [signed.digest() for signed in items])
            log_indices = [first + i for i in range(len(items))]
        now = utcnow()
        values = [
            {
                "statement_id": signed.statement.id,
                "issuer": signed.statement.issuer,
                "seq": signed.statement.seq,
                "kind": signed.statement.kind,
                "digest": signed.digest().hex(),
                "issued_at": signed.statement.issued_at_datetime,
                "stored_at": now,
                "audience_public": signed.statement.audience == PUBLIC,
                "tlp": signed.statement.tlp,
                "local": local,
                "data": data,
                "log_index": index,
            }
            for signed, data, index in zip(items, datas, log_indices, strict=True)
        ]
        row_ids = list(
            session.execute(
                insert(StatementRow).returning(StatementRow.row_id, sort_by_parameter_order=True), values
            ).scalars()
        )
        audience = [
            {"statement_row": row_id, "node_id": n}
            for signed, row_id in zip(items, row_ids, strict=True)
            if signed.statement.audience != PUBLIC
            for n in signed.statement.audience
        ]
        if audience:
            session.execute(insert(StatementAudience), audience)
        rows = [StoredRow(row_id, local, index) for row_id, index in zip(row_ids, log_indices, strict=True)]
        pairs = list(zip(items, rows, strict=True))
        for hook in self.hooks:
            hook(session, pairs)
        return rows

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
