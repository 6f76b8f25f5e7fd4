"""10,000 statements while the receiver, then the sender, is SIGKILLed at random moments and restarted."""

import random
import threading
import time

import pytest
from sqlalchemy import func, select

from airrc.federation.outbox import OutboxItem
from airrc.store.statements import Draft, StatementRow
from tests.e2e.conftest import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TOTAL = 10_000
BATCH = 250


def test_exactly_once_in_effect_through_sigkills(cluster):
    cluster.add("us-src")
    cluster.add("cn-dst")
    cluster.pin_all()
    cluster.start()
    src_proc, dst_proc = cluster.nodes["us-src"], cluster.nodes["cn-dst"]
    src, dst = cluster.open("us-src"), cluster.open("cn-dst")
    rng = random.Random(2026)
    issued: list[str] = []
    done = threading.Event()

    def produce():
        for start in range(0, TOTAL, BATCH):
            drafts = [Draft(kind="test.note", audience=[dst.id], body={"n": start + i}) for i in range(BATCH)]
            with src.store.session() as s:
                issued.extend(x.statement.id for x in src.statements.issue_many(s, drafts))
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    # Kill the receiver at random moments, then the sender; restart each time.
    for victim in (dst_proc, dst_proc, dst_proc, src_proc, src_proc, src_proc):
        time.sleep(rng.uniform(0.5, 2.5))
        victim.kill()
        time.sleep(rng.uniform(0.1, 1.0))
        cluster.start(victim.name)
    producer.join(timeout=600)
    assert done.is_set()

    def all_delivered():
        with src.store.read_session() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(OutboxItem)
                    .where(OutboxItem.kind == "test.note", OutboxItem.state == "delivered")
                )
                == TOTAL
            )

    wait_until(all_delivered, timeout=600, what="all receipts")
    with dst.store.read_session() as s:
        rows = list(
            s.execute(
                select(StatementRow.seq, StatementRow.statement_id).where(
                    StatementRow.issuer == src.id, StatementRow.kind == "test.note"
                )
            )
        )
    assert len(rows) == TOTAL
    assert len({seq for seq, _ in rows}) == TOTAL  # each (issuer, seq) stored exactly once
    assert {sid for _, sid in rows} == set(issued)
    with src.store.read_session() as s:
        items = list(
            s.execute(select(OutboxItem.state, OutboxItem.receipt_id).where(OutboxItem.kind == "test.note"))
        )
        receipt_ids = set(
            s.scalars(
                select(StatementRow.statement_id).where(
                    StatementRow.kind == "federation.receipt", StatementRow.issuer == dst.id
                )
            )
        )
    assert len(items) == TOTAL
    assert all(state == "delivered" and rid in receipt_ids for state, rid in items)
    src.close()
    dst.close()
