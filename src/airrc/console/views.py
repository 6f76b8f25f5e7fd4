"""What each console page shows, read from the mechanisms' services (never from their tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from airrc.console.host import ConsoleHost
from airrc.hotline.views import MessageView, wait_state
from airrc.store.db import utcnow

__all__ = ["AwaitView", "BoardMessage", "PeerStatus", "board", "dashboard"]

# How long before its deadline an unacknowledged message is flagged on the dashboard.
CLOSE_TO_DEADLINE_SECONDS = 120


@dataclass(frozen=True)
class PeerStatus:
    name: str
    failing: bool
    last_ok_at: datetime | None
    latency_ms: float | None
    queued: int
    oldest_queued_seconds: float
    cosigned_size: int | None  # the largest checkpoint of ours this peer cosigned
    cosigned_at: datetime | None
    witnessed_size: int | None  # the largest checkpoint of theirs we cosigned
    witnessed_at: datetime | None


@dataclass(frozen=True)
class AwaitView:
    node: str
    state: str
    deadline: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None


@dataclass
class BoardMessage:
    id: str
    channel_id: str
    sender: str
    precedence: str
    format: str
    outgoing: bool
    issued_at: datetime
    rendered: dict[str, str]
    awaiting: list[AwaitView] = field(default_factory=list)
    ours: AwaitView | None = None  # our own acknowledgement this message waits for, when received

    @property
    def state(self) -> str:
        if self.ours is not None:
            return self.ours.state
        states = {a.state for a in self.awaiting}
        for state in ("overdue", "sent", "delivered", "acknowledged", "answered"):
            if state in states:
                return state
        return "sent"


def _board_message(host: ConsoleHost, view: MessageView, names: dict[str, str]) -> BoardMessage:
    catalog = host.hotline.catalog
    row = view.row
    out = BoardMessage(
        id=row.statement_id,
        channel_id=row.channel_id,
        sender=names.get(row.sender, row.sender[:12]),
        precedence=row.precedence,
        format=row.format,
        outgoing=row.outgoing,
        issued_at=row.issued_at,
        rendered={lang: view.render(catalog, lang) for lang in ("en", "zh")},
    )
    for wait in view.waits:
        await_view = AwaitView(
            node=names.get(wait.node_id, wait.node_id[:12]),
            state=wait_state(wait, view.delivered.get(wait.node_id), row.outgoing),
            deadline=wait.deadline_at,
            acknowledged_by=wait.acked_by,
            acknowledged_at=wait.acked_at,
        )
        out.awaiting.append(await_view)
        if wait.node_id == host.id:
            out.ours = await_view
    return out


def board(host: ConsoleHost, session: Session, *, limit: int = 50) -> dict[str, Any]:
    """The hotline board: messages awaiting our acknowledgement first, then each open channel's latest."""
    names = {host.id: host.name, **{c.id: c.name for c in host.trust.peers(session)}}
    pending = [_board_message(host, v, names) for v in host.hotline.inbox(session, limit=limit)]
    channels = []
    for row in host.hotline.channels(session):
        if row.state != "open":
            continue
        messages = [_board_message(host, v, names) for v in host.hotline.messages(session, row.channel_id)]
        channels.append(
            {
                "id": row.channel_id,
                "participants": [names.get(m, m[:12]) for m in row.members],
                "opened_at": row.opened_at,
                "messages": list(reversed(messages[-limit:])),
            }
        )
    return {"pending": pending, "channels": channels, "formats": host.hotline.catalog}


def dashboard(host: ConsoleHost, session: Session, *, watch_officer: bool) -> dict[str, Any]:
    """Links, checkpoints cosigned both ways, open channels, deadlines and alerts."""
    now = utcnow()
    peers = host.trust.peers(session)
    links = host.outbox.links(session)
    queues = {q.peer_id: q for q in host.outbox.stats(session)}
    cosigned = host.ledger.latest_cosignatures(session)
    statuses = []
    for card in peers:
        link, queue, cosig = links.get(card.id), queues.get(card.id), cosigned.get(card.id)
        witnessed = host.witness.latest(session, card.id)
        statuses.append(
            PeerStatus(
                name=card.name,
                failing=bool(link and link.failing),
                last_ok_at=link.last_ok_at if link else None,
                latency_ms=link.last_latency_ms if link else None,
                queued=queue.depth if queue else 0,
                oldest_queued_seconds=queue.oldest_age_seconds if queue else 0.0,
                cosigned_size=cosig.size if cosig else None,
                cosigned_at=cosig.received_at if cosig else None,
                witnessed_size=witnessed.size if witnessed else None,
                witnessed_at=witnessed.updated_at if witnessed else None,
            )
        )
    checkpoint = host.ledger.latest_checkpoint(session)
    out: dict[str, Any] = {
        "peers": statuses,
        "checkpoint": checkpoint,
        "channels": [],
        "deadlines": [],
        "alerts": [],
    }
    if not watch_officer:
        return out
    names = {host.id: host.name, **{c.id: c.name for c in peers}}
    out["channels"] = [
        {"id": r.channel_id, "participants": [names.get(m, m[:12]) for m in r.members]}
        for r in host.hotline.channels(session)
        if r.state == "open"
    ]
    for view in host.hotline.inbox(session, limit=20):
        message = _board_message(host, view, names)
        ours = message.ours
        if ours is not None and (
            ours.state == "overdue" or (ours.deadline - now).total_seconds() < CLOSE_TO_DEADLINE_SECONDS
        ):
            out["deadlines"].append(message)
    out["alerts"] = host.alerts.list(session, limit=20)
    return out
