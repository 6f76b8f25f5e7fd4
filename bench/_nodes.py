"""Two real `airrc serve` processes on loopback for the benchmarks, and small statistics helpers."""

from __future__ import annotations

import time
from datetime import datetime

import httpx
from harness.nodes import DemoNode, exchange_cards
from sqlalchemy import select

from airrc.federation.outbox import OutboxItem
from airrc.node import Node
from airrc.store.statements import StatementRow

ENV = {
    "AIRRC_FEDERATION_POLL_SECONDS": "0.02",
    "AIRRC_LINK_TEST_INTERVAL_SECONDS": "3600",
    "AIRRC_WITNESS_INTERVAL_SECONDS": "3600",
    "AIRRC_SYNC_INTERVAL_SECONDS": "3600",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def mark(ok: bool) -> str:
    return "met" if ok else "missed"


def delivered_at(node: Node, statement_id: str, deadline: float) -> tuple[datetime, float]:
    """Wait until ``statement_id``'s receipt is stored at ``node``; (when it was stored, queued→receipt ms).

    Times come from the sender's database, so polling slowly (it would steal a core of two) costs no
    precision."""
    while time.monotonic() < deadline:
        with node.store.read_session() as s:
            row = s.execute(
                select(OutboxItem.created_at, OutboxItem.delivered_at)
                .join(StatementRow, StatementRow.row_id == OutboxItem.statement_row)
                .where(StatementRow.statement_id == statement_id)
            ).first()
        if row is not None and row[1] is not None:
            return row[1], (row[1] - row[0]).total_seconds() * 1000
        time.sleep(0.01)
    raise TimeoutError(statement_id)


def start_nodes(nodes: list[DemoNode], env: dict[str, str] | None = None, before_start=None) -> None:
    for node in nodes:
        node.env = {**ENV, **(env or {})}
        node.init()
    exchange_cards(nodes)
    for node in nodes:
        node.create_token()
        if before_start is not None:
            before_start(node)
        node.start()
    with httpx.Client() as client:
        for node in nodes:
            node.wait_healthy(client)
