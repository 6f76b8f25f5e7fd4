"""Receiving statements from peers: verify, dedupe, detect equivocation, store and receipt in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from airrc.crypto.canonical import parse_json
from airrc.crypto.trust import NodeCard
from airrc.errors import Error, FederationBusy, InputError
from airrc.federation.context import FederationComponent, FederationContext
from airrc.federation.httpsig import FederationAuthError
from airrc.federation.tables import Equivocation, SeenNonce
from airrc.statements import SignedStatement, kind_spec, parse_signed_statement, verify_statement
from airrc.store.db import utcnow
from airrc.store.statements import StatementRow

__all__ = [
    "OBSERVER_KINDS",
    "BatchResult",
    "Equivocation",
    "Inbox",
    "Rejection",
    "SeenNonce",
]

# An observer (Track II participant) may receive everything but send only these kinds.
OBSERVER_KINDS = frozenset(
    {"federation.receipt", "ledger.cosignature", "node.ping", "node.card", "node.roster"}
)


@dataclass(frozen=True)
class Rejection:
    index: int
    digest: str | None
    code: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "digest": self.digest, "code": self.code, "message": self.message}


@dataclass
class BatchResult:
    accepted: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    stored: list[SignedStatement] = field(default_factory=list)
    receipt: SignedStatement | None = None
    equivocations: list[Equivocation] = field(default_factory=list)


class Inbox(FederationComponent):
    """Accepts batches of statements from authenticated peers."""

    def __init__(self, context: FederationContext) -> None:
        super().__init__(context)
        self.replay_window = context.request_max_age

    def remember_nonce(self, session: Session, nonce: str, sender: str) -> bool:
        """Record a request nonce; False if it was already seen inside the replay window."""
        now = utcnow()
        session.execute(delete(SeenNonce).where(SeenNonce.seen_at < now - self.replay_window * 2))
        if session.get(SeenNonce, nonce) is not None:
            return False
        session.add(SeenNonce(nonce=nonce, sender=sender, seen_at=now))
        try:
            session.flush()
        except IntegrityError:
            return False
        return True

    def parse_batch(self, body: bytes) -> list[Any]:
        doc = parse_json(body, max_bytes=self.max_request_bytes)
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("statements"), list)
            or set(doc) != {"statements"}
        ):
            raise InputError('a batch is {"statements": [...]}', code="federation.malformed_batch")
        items: list[Any] = doc["statements"]
        if not items:
            raise InputError("empty batch", code="federation.malformed_batch")
        if len(items) > self.max_batch_length:
            raise InputError(
                f"batch of {len(items)} exceeds {self.max_batch_length}", code="federation.batch_too_large"
            )
        return items

    def accept(
        self, sender: NodeCard, items: list[Any], *, receipt: bool = True, nonce: str | None = None
    ) -> BatchResult:
        """:meth:`receive` in one transaction (with the request's nonce, so a replay stores nothing);
        equivocation evidence and alerts are committed after it."""
        with self.store.session() as session:
            if nonce is not None and not self.remember_nonce(session, nonce, sender.id):
                raise FederationAuthError("this request was already received", code="federation.replayed")
            result = self.receive(session, sender, items, receipt=receipt)
        if result.equivocations:
            with self.store.session() as session:
                session.add_all(result.equivocations)
                for ev in result.equivocations:
                    self.alerts.raise_alert(
                        session,
                        "federation.equivocation",
                        f"{sender.name} sent two different statements with seq {ev.seq}",
                        severity="critical",
                        peer=sender.name,
                        seq=ev.seq,
                        stored=ev.stored_digest,
                        offered=ev.offered_digest,
                    )
        return result

    def receive(
        self, session: Session, sender: NodeCard, items: list[Any], *, receipt: bool = True
    ) -> BatchResult:
        """Verify and store what can be accepted; issue one receipt listing the accepted digests.

        Equivocations found are returned in the result for the caller to keep (see :meth:`accept`).
        """
        result = BatchResult()
        pending: dict[tuple[str, int], str] = {}
        new: list[SignedStatement] = []
        for index, item in enumerate(items):
            digest: str | None = None
            try:
                signed = (
                    parse_signed_statement(item, max_bytes=self.max_statement_bytes)
                    if isinstance(item, dict)
                    else _not_an_object()
                )
                digest = signed.digest().hex()
                self._accept_one(session, sender, signed, digest, result=result, pending=pending, new=new)
            except Error as exc:
                result.rejected.append(Rejection(index, digest, exc.code, exc.message))
        try:
            with session.begin_nested():
                self.statements.store_many(session, new, local=False)
        except IntegrityError as exc:
            # The same statements arrived at the same moment by another path (push and catch-up): the
            # sender retries and then finds them stored, so nothing is lost or doubled.
            raise FederationBusy("the batch raced another delivery of the same statements; retry") from exc
        receipted = [
            d
            for d, s in zip(result.accepted, result.stored, strict=True)
            if (spec := kind_spec(s.statement.kind)) is None or spec.receipted
        ]
        if receipt and receipted:
            result.receipt = self.statements.issue(
                session,
                kind="federation.receipt",
                audience=[sender.id],
                body={"accepted": receipted, "from": sender.id},
            )
        return result

    def _accept_one(
        self,
        session: Session,
        sender: NodeCard,
        signed: SignedStatement,
        digest: str,
        *,
        result: BatchResult,
        pending: dict[tuple[str, int], str],
        new: list[SignedStatement],
    ) -> None:
        st = signed.statement
        if st.issuer != sender.id:
            raise InputError("a peer may only push statements it issued", code="federation.not_issuer")
        if sender.role == "observer" and st.kind not in OBSERVER_KINDS:
            raise InputError(f"an observer may not issue {st.kind}", code="federation.observer_forbidden")
        verify_statement(
            signed,
            keyring=self.trust,
            for_node=self.node_id,
            max_bytes=self.max_statement_bytes,
            clock_skew=self.clock_skew,
        )
        existing = session.scalar(
            select(StatementRow.digest).where(StatementRow.issuer == st.issuer, StatementRow.seq == st.seq)
        )
        # The same seq with another digest, stored before or earlier in this batch: evidence and an alert.
        earlier = existing if existing is not None else pending.get((st.issuer, st.seq))
        if earlier is not None and earlier != digest:
            result.equivocations.append(
                Equivocation(
                    issuer=sender.id,
                    seq=st.seq,
                    stored_digest=earlier,
                    offered_digest=digest,
                    offered=signed.canonical(),
                    detected_at=utcnow(),
                )
            )
            where = "an earlier statement" if existing is not None else "another statement in this batch"
            raise InputError(f"{sender.name} reused seq {st.seq} of {where}", code="federation.equivocation")
        if earlier is None:
            pending[(st.issuer, st.seq)] = digest
            new.append(signed)
        result.accepted.append(digest)
        result.stored.append(signed)

    def evidence(self, session: Session) -> list[Equivocation]:
        return list(session.scalars(select(Equivocation).order_by(Equivocation.id)))


def _not_an_object() -> SignedStatement:
    raise InputError("each batch item must be a JSON object", code="statement.malformed")
