"""Hotline FLASH notices between two real `airrc serve` processes on loopback, durable SQLite storage.

Latency: from the duty officer's API call that sends a FLASH CI_ATTACK_NOTICE (fields checked, sealed with
HPKE ML-KEM-768+X25519 to both participants, signed, logged) until the receiving node's signed receipt is
stored at the sender. Throughput: notices sent back to back through the API until the last receipt is
stored. Targets (issue "Hotline"): p50 < 25 ms, p99 < 150 ms.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from harness.nodes import DemoNode, airrc, demo_nodes

from _nodes import delivered_at, mark, percentile, start_nodes
from _results import write_section
from airrc.config import Settings
from airrc.node import Node

MESSAGES = 200
WARMUP = 10
BURST = 300
OFFICER = ("olga", "olga duty officer pw")
NOTICE = {
    "sector": "energy_power_grid",
    "country": "US",
    "started_at": "2026-11-22T06:40Z",
    "ai_involvement": "suspected",
    "impact": "outage",
    "request": "containment",
}


def add_officer(node: DemoNode) -> None:
    airrc(
        "user",
        "add",
        OFFICER[0],
        "--role",
        "duty_officer",
        "--password-stdin",
        home=node.home,
        stdin=OFFICER[1] + "\n",
    )


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="airrc-bench-hotline-"))
    with demo_nodes(base) as nodes:
        start_nodes(nodes, before_start=add_officer)
        sender, receiver = nodes
        node = Node(Settings(home=sender.home))
        with httpx.Client(base_url=sender.url, timeout=60) as client:
            token = client.post("/api/v1/auth/login", json={"username": OFFICER[0], "password": OFFICER[1]})
            token.raise_for_status()
            client.headers["authorization"] = f"Bearer {token.json()['token']}"
            channel = client.post("/hotline/v1/channels", json={"participants": [receiver.name]})
            channel.raise_for_status()
            path = f"/hotline/v1/channels/{channel.json()['id']}/messages"
            body = {"format": "CI_ATTACK_NOTICE", "precedence": "FLASH", "fields": NOTICE}

            latencies: list[float] = []
            queued: list[float] = []
            for i in range(MESSAGES + WARMUP):
                started = datetime.now(UTC)
                response = client.post(path, json=body)
                response.raise_for_status()
                stored, queued_ms = delivered_at(node, response.json()["id"], time.monotonic() + 30)
                if i >= WARMUP:
                    latencies.append((stored - started).total_seconds() * 1000)
                    queued.append(queued_ms)
            p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
            q50, q99 = percentile(queued, 0.5), percentile(queued, 0.99)
            print(f"API call -> receipt stored: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
            print(f"sealed, signed and queued -> receipt stored: p50 {q50:.1f} ms, p99 {q99:.1f} ms")

            start = time.monotonic()
            ids = []
            for _ in range(BURST):
                response = client.post(path, json=body)
                response.raise_for_status()
                ids.append(response.json()["id"])
            for message_id in ids:
                delivered_at(node, message_id, time.monotonic() + 120)
            elapsed = time.monotonic() - start
            rate = BURST / elapsed
            print(f"throughput {rate:,.0f} FLASH notices/s ({BURST} in {elapsed:.1f} s)")
        node.close()

    lines = [
        "| measure | result | target | |",
        "|---|---:|---:|---|",
        f"| FLASH notice committed at the sender (sealed, signed, logged, queued) until the receiver's receipt "
        f"is stored there, p50 | {q50:.1f} ms | < 25 ms | **{mark(q50 < 25)}** |",
        f"| same, p99 | {q99:.1f} ms | < 150 ms | **{mark(q99 < 150)}** |",
        f"| from the duty officer's API call (HTTP, token, field checks, sealing) instead, p50 | {p50:.1f} ms | "
        f"< 25 ms | **{mark(p50 < 25)}** |",
        f"| same, p99 | {p99:.1f} ms | < 150 ms | **{mark(p99 < 150)}** |",
        f"| throughput, {BURST} notices sent back to back through the API until the last receipt | "
        f"{rate:,.0f} messages/s | | |",
        "",
        f"{MESSAGES} sequential notices after {WARMUP} warm-up, each sealed (HPKE, ML-KEM-768+X25519) to the other "
        "participant, signed with Ed25519 and ML-DSA-65, logged, delivered over RFC 9421-signed HTTP between two "
        "`airrc serve` processes with SQLite in WAL mode, synchronous=FULL. The receiver opens each notice, "
        "checks it against the format catalog, starts its acknowledgement clock and raises a FLASH alert in the "
        "same transaction as its signed receipt. No reference implementation exists for this; the numbers are "
        "against the issue's targets only.",
    ]
    write_section("hotline", "\n".join(lines))


if __name__ == "__main__":
    main()
