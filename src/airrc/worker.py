"""The federation worker inside ``airrc serve``: delivery, catch-up, witnessing and link tests."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import select

from airrc.crypto.trust import NodeCard
from airrc.errors import Error
from airrc.federation.sync import sync_peer
from airrc.statements import format_timestamp

if TYPE_CHECKING:
    from airrc.node import Node

__all__ = ["FederationWorker", "PingResult", "issue_ping", "wait_for_receipts"]

log = logging.getLogger(__name__)


def issue_ping(node: Node, peer_id: str) -> str:
    """Issue a ``node.ping`` for ``peer_id`` (the outbox carries it); returns its statement id."""
    with node.store.session() as session:
        signed = node.statements.issue(
            session,
            kind="node.ping",
            audience=[peer_id],
            body={"nonce": secrets.token_hex(8), "sent_at": format_timestamp(datetime.now(UTC))},
        )
    return signed.statement.id


@dataclass(frozen=True)
class PingResult:
    receipted: int
    latencies_ms: list[float]

    def _pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    @property
    def p50_ms(self) -> float:
        return self._pct(0.5)

    @property
    def p99_ms(self) -> float:
        return self._pct(0.99)


def wait_for_receipts(
    node: Node, peer: NodeCard, *, count: int, timeout: float, poll: float = 0.02
) -> PingResult:
    """Issue ``count`` pings to ``peer`` and wait until each one's receipt is stored, or the timeout."""
    from airrc.federation.outbox import OutboxItem
    from airrc.store.statements import StatementRow

    ids = [issue_ping(node, peer.id) for _ in range(count)]
    deadline = time.monotonic() + timeout
    latencies: dict[str, float] = {}
    while True:
        with node.store.read_session() as session:
            rows = session.execute(
                select(StatementRow.statement_id, OutboxItem.created_at, OutboxItem.delivered_at)
                .join(OutboxItem, OutboxItem.statement_row == StatementRow.row_id)
                .where(
                    StatementRow.statement_id.in_(ids),
                    OutboxItem.peer_id == peer.id,
                    OutboxItem.state == "delivered",
                )
            )
            for statement_id, created, delivered in rows:
                if delivered is not None:
                    latencies[statement_id] = (delivered - created).total_seconds() * 1000
        if len(latencies) == count or time.monotonic() > deadline:
            return PingResult(len(latencies), list(latencies.values()))
        time.sleep(poll)


class _Every:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.next = time.monotonic() + min(seconds, 2.0)

    def due(self) -> bool:
        now = time.monotonic()
        if now >= self.next:
            self.next = now + self.seconds
            return True
        return False


class FederationWorker:
    """One background thread; each step is bounded and failures are recorded, never fatal."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        settings = node.settings
        self.sync = _Every(settings.sync_interval_seconds)
        self.witness = _Every(settings.witness_interval_seconds)
        self.link_test = _Every(settings.link_test_interval_seconds)
        self.tasks = [(name, _Every(seconds), fn) for name, seconds, fn in node.periodic_tasks()]

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="airrc-federation", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.node.outbox.wakeup.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def run(self) -> None:
        with httpx.Client() as client:
            while not self.stop_event.is_set():
                busy = self._step(self._deliver, client)
                if self.sync.due():
                    self._step(self._sync, client)
                if self.witness.due():
                    self._step(self._witness, client)
                if self.link_test.due():
                    self._step(self._link_tests, client)
                for name, every, fn in self.tasks:
                    if every.due():
                        self._task(name, fn)
                if not busy:
                    self.node.outbox.wakeup.wait(self.node.settings.federation_poll_seconds)
                    self.node.outbox.wakeup.clear()

    def _step(self, fn: Callable[[httpx.Client], bool], client: httpx.Client) -> bool:
        try:
            return fn(client)
        except Error as exc:
            log.warning("federation step %s failed: %s", fn.__name__, exc.code)
        except Exception as exc:  # noqa: BLE001 - the worker must outlive any one peer's misbehaviour
            log.warning("federation step %s failed: %s", fn.__name__, type(exc).__name__)
        return False

    def _task(self, name: str, fn: Callable[[], object]) -> None:
        try:
            fn()
        except Error as exc:
            log.warning("task %s failed: %s", name, exc.code)
        except Exception as exc:  # noqa: BLE001 - one failing task must not stop the others
            log.warning("task %s failed: %s", name, type(exc).__name__)

    def _peers(self) -> dict[str, object]:
        with self.node.store.read_session() as session:
            return {card.id: card for card in self.node.trust.peers(session)}

    def _deliver(self, client: httpx.Client) -> bool:
        node = self.node
        with node.store.read_session() as session:
            due = node.outbox.due_peers(session)
            cards = {pid: node.trust.current(session, pid) for pid in due}
        busy = False
        for peer_id in due:
            report = node.outbox.deliver(cards[peer_id], client)
            busy = busy or (report.sent > 0 and report.error is None)
        return busy

    def _sync(self, client: httpx.Client) -> bool:
        node = self.node
        with node.store.read_session() as session:
            peers = node.trust.peers(session)
        for peer in peers:
            try:
                sync_peer(
                    peer=peer,
                    node_id=node.id,
                    store=node.store,
                    inbox=node.inbox,
                    outbox=node.outbox,
                    signing_key=node.identity.signer,
                    client=client,
                    limit=node.settings.limits.max_batch_length,
                )
            except (Error, httpx.HTTPError) as exc:
                log.info("catch-up from %s failed: %s", peer.name, getattr(exc, "code", type(exc).__name__))
        return False

    def _witness(self, client: httpx.Client) -> bool:
        from airrc.federation.log_audit import check_received, gossip_with, request_cosignature

        node = self.node
        with node.store.read_session() as session:
            peers = node.trust.peers(session)
        for peer in peers:
            try:
                request_cosignature(node.store.session, node.ledger, peer, client)
            except (Error, httpx.HTTPError) as exc:
                log.info("witnessing by %s failed: %s", peer.name, getattr(exc, "code", type(exc).__name__))
        # Then compare what each peer cosigned with what we were shown (a split view is alerted there).
        for peer in peers:
            try:
                gossip_with(node.store.session, node.witness, node.ledger, node.card, peer, client)
            except (Error, httpx.HTTPError) as exc:
                log.info("gossip with %s failed: %s", peer.name, getattr(exc, "code", type(exc).__name__))
        # And hold what each peer sent us to its log, once a checkpoint we cosigned covers it.
        for peer in peers:
            try:
                check_received(node.store.session, node.witness, peer, client)
            except (Error, httpx.HTTPError) as exc:
                log.info(
                    "inclusion check of %s failed: %s", peer.name, getattr(exc, "code", type(exc).__name__)
                )
        return False

    def _link_tests(self, _client: httpx.Client) -> bool:
        node = self.node
        with node.store.read_session() as session:
            peers = node.trust.peers(session)
        for peer in peers:
            if peer.endpoints:
                issue_ping(node, peer.id)
        return False
