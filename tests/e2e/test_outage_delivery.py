"""A peer's outage must not leave delivery stuck: 1,000 sealed hotline messages queued while the receiver is
down (about 13 MB, over three times its 4 MiB request limit) are all delivered and receipted once it is back."""

import json

import pytest
from sqlalchemy import func, select

from airrc.federation.outbox import OutboxItem
from airrc.hotline.service import MessageRow
from airrc.store.statements import StatementRow
from tests.e2e.conftest import cli, wait_until

pytestmark = pytest.mark.e2e
TOTAL = 1_000
FIELDS = {
    "sector": "energy_power_grid",
    "country": "US",
    "started_at": "2026-11-22T06:40Z",
    "ai_involvement": "suspected",
    "impact": "outage",
    "request": "containment",
}


def test_a_thousand_hotline_messages_queued_through_an_outage_are_all_receipted(cluster):
    us_proc = cluster.add("us-out")
    cn_proc = cluster.add("cn-out")
    for node in (us_proc, cn_proc):
        # No escalation during the test: every message waits for its receipt, not for an officer.
        (node.home / "airrc.toml").write_text("[hotline]\nack_seconds = {FLASH = 86400}\n")
    cluster.pin_all()
    cluster.start("us-out")
    us, cn = cluster.open("us-out"), cluster.open("cn-out")
    with us.store.session() as session:
        channel_id = us.hotline.open_channel(session, ["cn-out"]).channel_id
    sent: list[str] = []
    for start in range(0, TOTAL, 100):
        with us.store.session() as session:
            for _ in range(start, start + 100):
                row = us.hotline.send(session, channel_id, format_id="CI_ATTACK_NOTICE", fields=FIELDS)
                sent.append(row.statement_id)
    with us.store.read_session() as session:
        queued = session.scalar(
            select(func.sum(func.length(StatementRow.data)))
            .join(OutboxItem, OutboxItem.statement_row == StatementRow.row_id)
            .where(OutboxItem.kind == "hotline.message", OutboxItem.state == "pending")
        )
    assert queued > 3 * cn.settings.limits.max_request_bytes

    cluster.start("cn-out")

    def all_receipted() -> bool:
        with us.store.read_session() as session:
            done = session.scalar(
                select(func.count())
                .select_from(OutboxItem)
                .join(StatementRow, OutboxItem.statement_row == StatementRow.row_id)
                .where(
                    StatementRow.statement_id.in_(sent),
                    OutboxItem.state == "delivered",
                    OutboxItem.receipt_id.is_not(None),
                )
            )
        return done == TOTAL

    wait_until(all_receipted, timeout=300, what="a receipt for every message")
    with cn.store.read_session() as session:
        received = set(session.scalars(select(MessageRow.statement_id).where(MessageRow.outgoing.is_(False))))
    assert received >= set(sent)

    def outbox_drained() -> bool:
        # Not a single read: the worker queues new statements of its own meanwhile (periodic link tests),
        # so "nothing stuck" means every item, old or new, reaches delivered.
        with us.store.read_session() as session:
            left = session.execute(
                select(OutboxItem.kind, OutboxItem.state, OutboxItem.attempts).where(
                    OutboxItem.state != "delivered"
                )
            ).all()
        if left:
            print("not yet delivered:", left)
        return not left

    wait_until(outbox_drained, timeout=120, what="every outbox item delivered")
    peers = cli("peer", "list", home=us_proc.home).stdout
    assert "failing" not in peers
    alerts = json.loads(cli("alerts", "list", "--json", home=us_proc.home).stdout)
    assert not [a for a in alerts if a["code"] == "federation.too_large_for_peer"]
