"""Transparency log: appends per second and proof latency, side by side with pymerkle in one run.

airrc's log is measured as the node runs it: SQLite in WAL mode with synchronous=FULL, one transaction per
batch, storing entries plus every level of the tree in tiles (what O(log n) proofs and checkpoints need).
pymerkle 7 runs its SqliteTree (batched ``append_entries``, SQLite defaults: rollback journal, synchronous
FULL) and its InmemoryTree. Targets (issue "Ledger"): batched appends >= pymerkle SqliteTree's rate and
>= 100,000 leaves/s; inclusion and consistency proof p50 < 1 ms at 10^6 leaves, from storage.
"""

from __future__ import annotations

import hashlib
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pymerkle import InmemoryTree, SqliteTree

from _results import write_section
from airrc.crypto.keys import NodeIdentity
from airrc.ledger.log import TransparencyLog
from airrc.ledger.merkle import root
from airrc.store.db import Store

BATCHES = {1: 500, 100: 20_000, 10_000: 200_000}
PROOF_TREE = 1_000_000
QUERIES = 1000


def entries(start: int, count: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(start, start + count)]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def new_airrc(tmp: Path, name: str) -> tuple[Store, TransparencyLog]:
    store = Store(f"sqlite:///{tmp / name}")
    store.upgrade()
    return store, TransparencyLog("bench.example/log", NodeIdentity.generate())


def airrc_append_rate(tmp: Path, batch: int, total: int) -> float:
    store, log = new_airrc(tmp, f"airrc-{batch}.db")
    data = entries(0, total)
    start = time.perf_counter()
    for i in range(0, total, batch):
        with store.session() as session:
            log.append(session, data[i : i + batch])
    rate = total / (time.perf_counter() - start)
    with store.read_session() as session:
        assert log.state(session).root == root(data)
    store.dispose()
    return rate


def pymerkle_append_rate(tree: SqliteTree | InmemoryTree, batch: int, total: int) -> float:
    data = entries(0, total)
    start = time.perf_counter()
    for i in range(0, total, batch):
        tree.append_entries(data[i : i + batch])
    return total / (time.perf_counter() - start)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="airrc-bench-"))
    append_rows = []
    for batch, total in BATCHES.items():
        ours = airrc_append_rate(tmp, batch, total)
        sq = SqliteTree(str(tmp / f"pymerkle-{batch}.db"))
        theirs = pymerkle_append_rate(sq, batch, total)
        sq.close()
        mem = pymerkle_append_rate(InmemoryTree(), batch, total)
        append_rows.append((batch, total, ours, theirs, mem))
        print(f"batch {batch}: airrc {ours:,.0f}/s, pymerkle sqlite {theirs:,.0f}/s, in-memory {mem:,.0f}/s")

    # Proof latency at 10^6 leaves.
    store, log = new_airrc(tmp, "airrc-proofs.db")
    for i in range(0, PROOF_TREE, 20_000):
        with store.session() as session:
            log.append(session, entries(i, 20_000))
    sq = SqliteTree(str(tmp / "pymerkle-proofs.db"))
    sq.append_entries(entries(0, PROOF_TREE))
    mem = InmemoryTree()
    mem.append_entries(entries(0, PROOF_TREE))
    rng = random.Random(42)
    n = PROOF_TREE

    def cold_inclusion() -> None:
        fresh = TransparencyLog(log.origin, log.identity)  # empty tile cache: every tile from SQLite
        with store.read_session() as session:
            fresh.inclusion_proof(session, rng.randrange(n), n)

    def cold_consistency() -> None:
        fresh = TransparencyLog(log.origin, log.identity)
        with store.read_session() as session:
            fresh.consistency_proof(session, rng.randrange(1, n), n)

    def warm_inclusion() -> None:
        with store.read_session() as session:
            log.inclusion_proof(session, rng.randrange(n), n)

    def warm_consistency() -> None:
        with store.read_session() as session:
            log.consistency_proof(session, rng.randrange(1, n), n)

    proof_rows = [
        ("airrc, SQLite, cold tile cache", timed(cold_inclusion, QUERIES), timed(cold_consistency, QUERIES)),
        ("airrc, SQLite, warm tile cache", timed(warm_inclusion, QUERIES), timed(warm_consistency, QUERIES)),
        (
            "pymerkle SqliteTree",
            timed(lambda: sq.prove_inclusion(rng.randrange(1, n + 1), n), 50),
            timed(lambda: sq.prove_consistency(rng.randrange(1, n), n), 50),
        ),
        (
            "pymerkle InmemoryTree",
            timed(lambda: mem.prove_inclusion(rng.randrange(1, n + 1), n), QUERIES),
            timed(lambda: mem.prove_consistency(rng.randrange(1, n), n), QUERIES),
        ),
    ]
    for name, inc, con in proof_rows:
        print(
            f"{name}: inclusion p50 {inc[0]:.3f} ms p99 {inc[1]:.3f} ms; consistency p50 {con[0]:.3f} ms "
            f"p99 {con[1]:.3f} ms"
        )

    batched = [r for r in append_rows if r[0] > 1]
    append_ok = all(r[2] >= r[3] and r[2] >= 100_000 for r in batched if r[0] == 10_000)
    cold = proof_rows[0]
    proofs_ok = cold[1][0] < 1.0 and cold[2][0] < 1.0
    lines = [
        "### Appends (leaves per second, durable commit per batch)",
        "",
        "| batch size | leaves | airrc (SQLite, tiles) | pymerkle SqliteTree | pymerkle InmemoryTree |",
        "|---:|---:|---:|---:|---:|",
        *(f"| {b:,} | {t:,} | {o:,.0f} | {p:,.0f} | {m:,.0f} |" for b, t, o, p, m in append_rows),
        "",
        f"Target: batched appends (10,000) at least pymerkle SqliteTree's rate and >= 100,000 leaves/s: "
        f"**{'met' if append_ok else 'missed'}** ({append_rows[-1][2]:,.0f} vs {append_rows[-1][3]:,.0f} leaves/s).",
        "Batch size 1 is bound by one fsync per commit in both stores.",
        "",
        f"### Proof latency at {PROOF_TREE:,} leaves (ms)",
        "",
        "| implementation | inclusion p50 | inclusion p99 | consistency p50 | consistency p99 |",
        "|---|---:|---:|---:|---:|",
        *(f"| {name} | {i[0]:.3f} | {i[1]:.3f} | {c[0]:.3f} | {c[1]:.3f} |" for name, i, c in proof_rows),
        "",
        f"Target: proof p50 < 1 ms at 10^6 leaves from storage (cold cache, a read transaction per proof "
        f"included): **{'met' if proofs_ok else 'missed'}** (inclusion {cold[1][0]:.3f} ms, consistency "
        f"{cold[2][0]:.3f} ms).",
        "For context, Tessera on POSIX reports about 2,900 entries/s on 12 cores.",
    ]
    write_section("ledger", "\n".join(lines))


if __name__ == "__main__":
    main()
