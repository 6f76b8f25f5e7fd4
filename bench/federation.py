"""Node-to-node federation between two real `airrc serve` processes on loopback, durable SQLite storage.

Latency: a `node.ping` queued inside the sender (through its API, as a mechanism would issue it) until the
receiver's signed receipt is stored at the sender. Throughput: statements issued into the sender in
batches while its worker delivers, until the last receipt is stored. Targets (issue "Federation"):
p50 < 20 ms, p99 < 100 ms, >= 300 statements/s on this 2-core machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from harness.nodes import demo_nodes
from sqlalchemy import func, select

from _nodes import delivered_at, mark, percentile, start_nodes
from _results import write_section
from airrc.config import Settings
from airrc.federation.outbox import OutboxItem
from airrc.node import Node
from airrc.store.statements import Draft

PINGS = 200
STATEMENTS = 3000
BATCH = 100


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="airrc-bench-fed-"))
    with demo_nodes(base) as nodes:
        start_nodes(nodes)
        sender, receiver = nodes
        node = Node(Settings(home=sender.home))
        latencies: list[float] = []
        with httpx.Client(headers={"authorization": f"Bearer {sender.token}"}) as client:
            for i in range(PINGS + 10):
                response = client.post(f"{sender.url}/api/v1/federation/ping", json={"peer": receiver.name})
                response.raise_for_status()
                _, latency = delivered_at(node, response.json()["statements"][0], time.monotonic() + 30)
                if i >= 10:  # warm-up
                    latencies.append(latency)
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        print(f"latency p50 {p50:.1f} ms, p99 {p99:.1f} ms")

        receiver_id = Node(Settings(home=receiver.home)).id
        start = time.monotonic()
        for offset in range(0, STATEMENTS, BATCH):
            drafts = [
                Draft(kind="bench.note", audience=[receiver_id], body={"n": offset + i}) for i in range(BATCH)
            ]
            with node.store.session() as s:
                node.statements.issue_many(s, drafts)

        def pending() -> int:
            with node.store.read_session() as s:
                return int(
                    s.scalar(
                        select(func.count()).select_from(OutboxItem).where(OutboxItem.state == "pending")
                    )
                    or 0
                )

        while pending():
            if time.monotonic() - start > 600:
                raise TimeoutError("throughput run did not finish")
            time.sleep(0.05)
        elapsed = time.monotonic() - start
        rate = STATEMENTS / elapsed
        print(f"throughput {rate:,.0f} statements/s ({STATEMENTS} in {elapsed:.1f} s)")
        node.close()

    lines = [
        "| measure | result | target | |",
        "|---|---:|---:|---|",
        f"| latency p50 (queued at sender until the receipt is stored there) | {p50:.1f} ms | < 20 ms | "
        f"**{mark(p50 < 20)}** |",
        f"| latency p99 | {p99:.1f} ms | < 100 ms | **{mark(p99 < 100)}** |",
        f"| sustained throughput, issue + deliver + receipt, batches of {BATCH} | {rate:,.0f} statements/s | "
        f">= 300/s | **{mark(rate >= 300)}** |",
        "",
        f"{PINGS} sequential pings after 10 warm-up; {STATEMENTS} statements for throughput. Both nodes are real "
        "`airrc serve` processes with SQLite in WAL mode, synchronous=FULL; every statement carries Ed25519 and "
        "ML-DSA-65 signatures, every request and response an RFC 9421 signature, every batch a signed receipt "
        "logged in the receiver's ledger.",
    ]
    write_section("federation", "\n".join(lines))


if __name__ == "__main__":
    main()
