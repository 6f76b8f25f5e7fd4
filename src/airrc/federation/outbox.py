"""Durable delivery: every statement for a peer waits in the outbox until that peer's receipt is stored.

Rows are written in the transaction that issues the statement, so nothing is lost by a crash; delivery is
at-least-once on the wire and exactly-once in effect (the receiver dedupes by issuer, seq and digest).
Per peer, items go in order: a failing head item holds back the ones after it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import (
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from airrc.crypto.signing import HybridSigner
from airrc.crypto.trust import NodeCard
from airrc.errors import Error, FederationError, InputError
from airrc.federation.context import FederationComponent, FederationContext
from airrc.federation.peer_client import PeerAnswer, PeerClient, PeerLimits
from airrc.federation.sizing import BATCH_FRAME, PeerSizes, pack_batch
from airrc.federation.tables import OutboxItem, PeerLink
from airrc.statements import PUBLIC, SignedStatement, kind_spec, parse_signed_statement, verify_statement
from airrc.store.db import utcnow
from airrc.store.statements import StatementRow, StoredRow

__all__ = [
    "NOT_PUSHED",
    "DeliveryReport",
    "FederationError",
    "Outbox",
    "OutboxItem",
    "PeerLimits",
    "PeerLink",
    "QueueStats",
]

log = logging.getLogger(__name__)
# Receipts travel back in the HTTP response that caused them; they are never pushed.
NOT_PUSHED = frozenset({"federation.receipt"})
STATEMENTS_PATH = "/federation/v1/statements"
TOO_LARGE = "413 request too large"


@dataclass(frozen=True)
class QueueStats:
    peer_id: str
    depth: int
    oldest_age_seconds: float


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    delivered: int
    refused: int
    error: str | None = None


class Outbox(FederationComponent):
    """Enqueue this node's statements for their recipients, and deliver them."""

    def __init__(
        self,
        context: FederationContext,
        *,
        signing_key: HybridSigner,
        max_backoff: timedelta,
        link_failure_after: timedelta,
    ) -> None:
        super().__init__(context)
        self.signing_key = signing_key
        self.max_backoff = max_backoff
        self.link_failure_after = link_failure_after
        # Set when this process queues something, so the worker delivers at once instead of at its next poll.
        self.wakeup = threading.Event()
        # Peers to reach through their alternate endpoints first (a hotline escalation asked for it).
        self._alternates_first: set[str] = set()
        self._alternates_lock = threading.Lock()
        self.sizes = PeerSizes(
            PeerLimits(
                self.max_request_bytes, self.max_statement_bytes, self.max_batch_length, advertised=False
            )
        )

    def prefer_alternates(self, peer_id: str) -> None:
        """Until the next successful delivery, try ``peer_id``'s endpoints after the first one first."""
        with self._alternates_lock:
            self._alternates_first.add(peer_id)
        self.wakeup.set()

    def endpoints_for(self, peer: NodeCard) -> list[str]:
        endpoints = list(peer.endpoints)
        with self._alternates_lock:
            if peer.id in self._alternates_first and len(endpoints) > 1:
                return endpoints[1:] + endpoints[:1]
        return endpoints

    # -- enqueue (a StatementLog hook: same transaction as the statement) ----------------------------------

    def enqueue(self, session: Session, pairs: list[tuple[SignedStatement, StoredRow]]) -> None:
        """Queue each local statement for each of its recipients (a StatementLog hook)."""
        now = utcnow()
        peers: list[str] | None = None
        known: set[str] = set()
        items: list[dict[str, Any]] = []
        for signed, row in pairs:
            st = signed.statement
            if not row.local or st.kind in NOT_PUSHED:
                continue
            if st.audience == PUBLIC:
                if peers is None:
                    peers = [card.id for card in self.trust.peers(session)]
                targets = peers
            else:
                targets = [n for n in st.audience if n != self.node_id]
            if not targets:
                continue
            if st.tlp == "red":
                # RED is for the named recipients' eyes in person only: it never becomes an outgoing statement.
                raise InputError(
                    "a TLP:RED statement never leaves this node", code="federation.red_never_leaves"
                )
            for peer_id in targets:
                if peer_id not in known:
                    self.trust.current(session, peer_id)  # unknown recipients raise trust.unknown_issuer
                    known.add(peer_id)
                items.append(
                    {
                        "peer_id": peer_id,
                        "statement_row": row.row_id,
                        "kind": st.kind,
                        "digest": signed.digest().hex(),
                        "state": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
        if items:
            session.execute(insert(OutboxItem), items)
            event.listen(session, "after_commit", lambda _s: self.wakeup.set(), once=True)

    # -- inspection ----------------------------------------------------------------------------------------

    def stats(self, session: Session) -> list[QueueStats]:
        now = utcnow()
        rows = session.execute(
            select(OutboxItem.peer_id, func.count(), func.min(OutboxItem.created_at))
            .where(OutboxItem.state == "pending")
            .group_by(OutboxItem.peer_id)
        )
        out = []
        for peer_id, depth, oldest in rows:
            oldest_at = oldest if oldest is None or oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
            out.append(
                QueueStats(peer_id, int(depth), (now - oldest_at).total_seconds() if oldest_at else 0.0)
            )
        return out

    def delivered(self, session: Session, statement_id: str) -> dict[str, datetime | None]:
        """Per recipient of one of our statements: when it was delivered (None while still queued)."""
        rows = session.execute(
            select(OutboxItem.peer_id, OutboxItem.delivered_at)
            .join(StatementRow, StatementRow.row_id == OutboxItem.statement_row)
            .where(StatementRow.statement_id == statement_id)
        )
        return {row.peer_id: row.delivered_at for row in rows}

    def receipt_ids(self, session: Session, statement_rows: Sequence[int]) -> set[str]:
        """The ids of the peers' receipts that covered any of these stored rows of ours."""
        return set(
            session.scalars(
                select(OutboxItem.receipt_id).where(
                    OutboxItem.statement_row.in_(statement_rows), OutboxItem.receipt_id.is_not(None)
                )
            )
        )

    def expedite(self, session: Session, peer_id: str, statement_id: str) -> bool:
        """If ``statement_id`` still waits for ``peer_id``: retry the peer's queue at once, alternate
        endpoints first, and return True. Everything queued before it goes first: delivery stays in order."""
        pending = session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .join(StatementRow, StatementRow.row_id == OutboxItem.statement_row)
            .where(
                OutboxItem.peer_id == peer_id,
                OutboxItem.state == "pending",
                StatementRow.statement_id == statement_id,
            )
        )
        if not pending:
            return False
        self.prefer_alternates(peer_id)
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.peer_id == peer_id, OutboxItem.state == "pending")
            .values(next_attempt_at=utcnow())
        )
        return True

    def due_peers(self, session: Session) -> list[str]:
        return list(
            session.scalars(
                select(OutboxItem.peer_id)
                .where(OutboxItem.state == "pending", OutboxItem.next_attempt_at <= utcnow())
                .distinct()
            )
        )

    def links(self, session: Session) -> dict[str, PeerLink]:
        """Every peer's link state recorded so far, by peer id (read only: no row is created)."""
        return {row.peer_id: row for row in session.scalars(select(PeerLink))}

    def link(self, session: Session, peer_id: str) -> PeerLink:
        row = session.get(PeerLink, peer_id)
        if row is None:
            row = PeerLink(peer_id=peer_id, failing=False, sync_cursor=0)
            session.add(row)
            session.flush()
        return row

    # -- delivery ------------------------------------------------------------------------------------------

    def peer_limits(self, peer: NodeCard, client: httpx.Client) -> PeerLimits:
        """The peer's advertised limits (signed answer, cached); ours when it does not say."""
        return self.sizes.limits(peer, self.peer_client(client))

    def deliver(self, peer: NodeCard, client: httpx.Client) -> DeliveryReport:
        """Send the next batch of pending items for ``peer``; record receipts, refusals or the failure.

        A batch holds as many items as fit the peer's advertised request size and batch length; a 413
        answer halves the bound for that peer and the next call sends less; a statement that alone exceeds
        what the peer says it accepts is refused here (``federation.too_large_for_peer``), with an alert,
        so it cannot hold back the ones after it."""
        with self.store.read_session() as session:
            head = list(
                session.execute(
                    select(
                        OutboxItem.id,
                        OutboxItem.next_attempt_at,
                        OutboxItem.digest,
                        StatementRow.data,
                        OutboxItem.created_at,
                    )
                    .join(StatementRow, StatementRow.row_id == OutboxItem.statement_row)
                    .where(OutboxItem.peer_id == peer.id, OutboxItem.state == "pending")
                    .order_by(OutboxItem.id)
                    .limit(self.max_batch_length)
                )
            )
        if not head or head[0][1] > utcnow():
            return DeliveryReport(0, 0, 0)
        limits = self.peer_limits(peer, client)
        first = bytes(head[0][3])
        if limits.advertised and (
            len(first) > limits.max_statement_bytes or BATCH_FRAME + len(first) > limits.max_request_bytes
        ):
            self._too_large(peer, head[0][0], len(first), limits)
            return DeliveryReport(1, 0, 1)
        batch = pack_batch(head, limits, self.sizes.bound(peer.id))
        body = b'{"statements":[' + b",".join(bytes(r[3]) for r in batch) + b"]}"
        try:
            answer = self._post(peer, client, body)
            if answer.response.status_code == 413:
                return self._answered_too_large(peer, batch, len(body))
            outcome = self._read_response(peer, client, answer)
        except (Error, httpx.HTTPError) as exc:
            code = exc.code if isinstance(exc, Error) else f"transport.{type(exc).__name__}"
            self._failed([r[0] for r in batch], peer, code)
            return DeliveryReport(len(batch), 0, 0, code)
        return self._record(peer, batch, outcome)

    def _answered_too_large(self, peer: NodeCard, batch: Sequence[Any], size: int) -> DeliveryReport:
        """The peer refused the body as too large: send less next time, and say so on the link at once."""
        self.sizes.answered_too_large(peer.id, size)
        if len(batch) > 1:
            # Not the items' fault: they go again at once, in smaller batches.
            with self.store.session() as session:
                self._link_failing(session, peer, f"{TOO_LARGE} ({size} bytes, {len(batch)} statements)")
            return DeliveryReport(len(batch), 0, 0, "federation.request_too_large")
        # One statement, within what the peer advertised, still refused: retry with back-off and alert.
        self._failed([batch[0][0]], peer, f"{TOO_LARGE} (one statement of {size} bytes)", failing_now=True)
        return DeliveryReport(1, 0, 0, "federation.request_too_large")

    def _too_large(self, peer: NodeCard, item_id: int, size: int, limits: PeerLimits) -> None:
        reason = "federation.too_large_for_peer"
        with self.store.session() as session:
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item_id, OutboxItem.state == "pending")
                .values(state="refused", last_error=reason)
            )
            kind = session.scalar(select(OutboxItem.kind).where(OutboxItem.id == item_id))
            self.alerts.raise_alert(
                session,
                reason,
                f"a {kind} statement of {size} bytes can never reach {peer.name}, which accepts requests of "
                f"at most {limits.max_request_bytes} bytes and statements of {limits.max_statement_bytes}",
                severity="critical",
                peer=peer.name,
                size=size,
                max_request_bytes=limits.max_request_bytes,
            )

    def peer_client(self, client: httpx.Client) -> PeerClient:
        return PeerClient(client, node_id=self.node_id, key=self.signing_key, max_age=self.request_max_age)

    def _post(self, peer: NodeCard, client: httpx.Client, body: bytes) -> PeerAnswer:
        answer = self.peer_client(client).request(
            peer, "POST", STATEMENTS_PATH, body=body, signed=True, endpoints=self.endpoints_for(peer)
        )
        with self._alternates_lock:
            self._alternates_first.discard(peer.id)
        return answer

    def _read_response(self, peer: NodeCard, client: httpx.Client, answer: PeerAnswer) -> dict[str, Any]:
        if answer.response.status_code not in (200, 422):
            raise FederationError(
                f"{peer.name} answered {answer.response.status_code}", code="federation.peer_error"
            )
        return self.peer_client(client).read_signed(peer, answer, "POST")

    def _record(self, peer: NodeCard, head: Sequence[Any], doc: dict[str, Any]) -> DeliveryReport:
        accepted = {str(d) for d in doc.get("accepted", []) if isinstance(d, str)}
        rejected = {str(r.get("digest")): r for r in doc.get("rejected", []) if isinstance(r, dict)}
        receipt: SignedStatement | None = None
        if doc.get("receipt") is not None:
            receipt = parse_signed_statement(doc["receipt"], max_bytes=self.max_statement_bytes)
            verify_statement(
                receipt,
                keyring=self.trust,
                for_node=self.node_id,
                max_bytes=self.max_statement_bytes,
                clock_skew=self.clock_skew,
            )
            if receipt.statement.issuer != peer.id or receipt.statement.kind != "federation.receipt":
                raise FederationError("the receipt is not the peer's", code="federation.bad_receipt")
        receipted = set(receipt.statement.body.get("accepted", [])) if receipt is not None else set()
        now = utcnow()
        refused = 0
        with self.store.session() as session:
            if receipt is not None:
                exists = session.scalar(
                    select(StatementRow.row_id).where(
                        StatementRow.issuer == receipt.statement.issuer,
                        StatementRow.seq == receipt.statement.seq,
                    )
                )
                if exists is None:
                    self.statements.store(session, receipt, local=False)
            kinds = dict(
                session.execute(
                    select(OutboxItem.id, OutboxItem.kind).where(
                        OutboxItem.id.in_([r[0] for r in head]), OutboxItem.state == "pending"
                    )
                ).all()
            )
            with_receipt = [r[0] for r in head if r[0] in kinds and r[2] in receipted]
            without = [
                r[0]
                for r in head
                if r[0] in kinds
                and r[2] not in receipted
                and r[2] in accepted
                and not _is_receipted(kinds[r[0]])
            ]
            if with_receipt and receipt is not None:
                session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id.in_(with_receipt))
                    .values(state="delivered", delivered_at=now, receipt_id=receipt.statement.id)
                )
            if without:
                session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id.in_(without))
                    .values(state="delivered", delivered_at=now)
                )
            delivered = len(with_receipt) + len(without)
            for item_id, _due, digest, _data, _created in head:
                if (
                    item_id not in kinds
                    or item_id in with_receipt
                    or item_id in without
                    or digest not in rejected
                ):
                    continue
                reason = str(rejected[digest].get("code", "unknown"))[:200]
                session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id == item_id)
                    .values(state="refused", last_error=reason)
                )
                refused += 1
                self.alerts.raise_alert(
                    session,
                    "federation.refused",
                    f"{peer.name} refused a {kinds[item_id]} statement: {reason}",
                    peer=peer.name,
                    digest=digest,
                    reason=reason,
                )
            link = self.link(session, peer.id)
            link.last_ok_at, link.failing, link.last_error = now, False, None
            link.last_latency_ms = (
                (now - oldest).total_seconds() * 1000 if (oldest := _oldest(head)) else None
            )
        return DeliveryReport(len(head), delivered, refused)

    def _failed(self, item_ids: list[int], peer: NodeCard, code: str, *, failing_now: bool = False) -> None:
        now = utcnow()
        with self.store.session() as session:
            head = session.get(OutboxItem, item_ids[0])
            attempts = (head.attempts if head else 0) + 1
            # Exponential backoff with full jitter, capped.
            delay = min(self.max_backoff.total_seconds(), 0.2 * 2 ** min(attempts, 20))
            due = now + timedelta(seconds=random.uniform(delay / 2, delay))  # noqa: S311 - jitter, not a secret
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(item_ids))
                .values(attempts=OutboxItem.attempts + 1, next_attempt_at=due, last_error=code[:200])
            )
            link = self.link(session, peer.id)
            since_ok = now - (link.last_ok_at or (head.created_at if head else now))
            if failing_now or since_ok > self.link_failure_after:
                self._link_failing(
                    session,
                    peer,
                    code,
                    detail=f"no delivery to {peer.name} for {int(since_ok.total_seconds())} s",
                )
            else:
                link.last_failure_at, link.last_error = now, code[:200]

    def _link_failing(
        self, session: Session, peer: NodeCard, reason: str, *, detail: str | None = None
    ) -> None:
        """Mark the link failing with its cause; the alert is raised once, when it starts failing."""
        link = self.link(session, peer.id)
        link.last_failure_at, link.last_error = utcnow(), reason[:200]
        if not link.failing:
            link.failing = True
            self.alerts.raise_alert(
                session,
                "federation.link_failing",
                f"{detail or f'delivery to {peer.name} failing'}: {reason}",
                peer=peer.name,
                reason=reason[:200],
            )


def _oldest(head: Sequence[Any]) -> datetime | None:
    return min((r[4] for r in head), default=None)


def _is_receipted(kind: str) -> bool:
    spec = kind_spec(kind)
    return spec is None or spec.receipted
