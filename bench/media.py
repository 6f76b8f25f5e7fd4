"""PDQ index at 10^6 and 10^7 hashes (random and clustered), radius 31: our exact multi-index hashing beside
numpy brute force and, when installed, threatexchange's PDQ index (HMA's FAISS-based one).

Per size and data set: build time, single-query p50/p99, queries/s over a batch, recall against brute force
(on a sample of queries; it must be 1.0 for ours), resident memory, and memory after 1,000 add/remove cycles.
Targets (issue "Media"): >= 5,000 queries/s batched and p99 < 2 ms single at 10^7; <= 1.5 GiB resident at
10^7; build < 60 s. Sizes can be narrowed with AIRRC_BENCH_MEDIA_SIZES=1000000.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _results import write_section
from airrc.media.index import PdqIndex, brute_force

RADIUS = 31
QUERIES = 2_000
RECALL_SAMPLE = 40
SIZES = tuple(int(s) for s in os.environ.get("AIRRC_BENCH_MEDIA_SIZES", "1000000,10000000").split(","))


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def flip(rng: np.random.Generator, rows: np.ndarray, max_bits: int) -> np.ndarray:
    out = rows.copy()
    for row in out:
        for bit in rng.choice(256, int(rng.integers(0, max_bits + 1)), replace=False):
            row[bit // 8] ^= 1 << (7 - bit % 8)
    return out


def dataset(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "random":
        return rng.integers(0, 256, (size, 32), dtype=np.uint8)
    # Clustered: near-duplicates around 10^4 centres (as copies of one viral image are), each row a centre with
    # up to 24 of its bits flipped, vectorised in chunks to keep generation fast.
    centres = rng.integers(0, 256, (10_000, 32), dtype=np.uint8)
    data = centres[rng.integers(0, len(centres), size)]
    for _ in range(24):
        keep = rng.random(size) < 0.5
        bits = rng.integers(0, 256, size)
        data[np.arange(size)[keep], bits[keep] // 8] ^= (1 << (7 - bits[keep] % 8)).astype(np.uint8)
    return data


def queries_for(data: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    near = flip(rng, data[rng.integers(0, len(data), QUERIES // 2)], RADIUS)
    far = rng.integers(0, 256, (QUERIES - len(near), 32), dtype=np.uint8)
    return np.concatenate([near, far])


def measure(search, data: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    """Single-query p50/p99, queries/s over the whole batch, and recall against brute force on a sample;
    ``search(query) -> set of row numbers``."""
    singles = []
    for q in queries[:500]:
        t = time.perf_counter()
        search(q)
        singles.append(time.perf_counter() - t)
    t = time.perf_counter()
    for q in queries:
        search(q)
    qps = len(queries) / (time.perf_counter() - t)
    hits = total = 0
    for q in queries[:: max(1, len(queries) // RECALL_SAMPLE)][:RECALL_SAMPLE]:
        truth = {row for row, _d in brute_force(data, q.tobytes(), RADIUS)}
        hits += len(truth & search(q))
        total += len(truth)
    return {
        "p50_ms": statistics.median(singles) * 1000,
        "p99_ms": float(np.percentile(singles, 99)) * 1000,
        "qps": qps,
        "recall": hits / total if total else 1.0,
    }


def bench_ours(data: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    index = PdqIndex()
    index.add(data)
    index.merge()
    build = time.perf_counter() - started
    resident = rss_mib()
    timing = measure(lambda q: {slot for slot, _d in index.search(q.tobytes(), RADIUS)}, data, queries)
    rng = np.random.default_rng(9)
    for _ in range(1_000):
        slots = index.add(rng.integers(0, 256, (100, 32), dtype=np.uint8))
        index.remove(slots.tolist())
    gc.collect()
    return timing | {
        "build_s": build,
        "rss_mib": resident - before,
        "rss_after_cycles_mib": rss_mib() - before,
    }


def bench_brute(data: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    times = []
    for q in queries[:20]:
        t = time.perf_counter()
        brute_force(data, q.tobytes(), RADIUS)
        times.append(time.perf_counter() - t)
    return {"p50_ms": statistics.median(times) * 1000, "qps": 1 / statistics.mean(times)}


def bench_threatexchange(data: np.ndarray, queries: np.ndarray) -> dict[str, float] | None:
    try:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex  # type: ignore[import-not-found]
    except ImportError:
        return None
    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    index = PDQIndex.build([(row.tobytes().hex(), i) for i, row in enumerate(data)])
    build = time.perf_counter() - started
    resident = rss_mib()
    timing = measure(lambda q: {int(m.metadata) for m in index.query(q.tobytes().hex())}, data, queries)
    return timing | {"build_s": build, "rss_mib": resident - before}


def main() -> None:
    rng = np.random.default_rng(2026)
    lines = [
        "PDQ index, radius 31, on this machine (2 cores). `ours`: exact multi-index hashing "
        "(`airrc.media.index`); `brute`: numpy over all hashes; `threatexchange`: its PDQ index when installed.",
        "",
        "| size | data | impl | build s | p50 ms | p99 ms | queries/s | recall | RSS MiB | RSS after 1,000 cycles |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for size in SIZES:
        for kind in ("random", "clustered"):
            data = dataset(kind, size, rng)
            queries = queries_for(data, rng)
            ours = bench_ours(data, queries)
            lines.append(
                f"| {size:,} | {kind} | ours | {ours['build_s']:.1f} | {ours['p50_ms']:.2f} | {ours['p99_ms']:.2f} | "
                f"{ours['qps']:,.0f} | {ours['recall']:.3f} | {ours['rss_mib']:,.0f} | {ours['rss_after_cycles_mib']:,.0f} |"
            )
            brute = bench_brute(data, queries)
            lines.append(
                f"| {size:,} | {kind} | brute | - | {brute['p50_ms']:.1f} | - | {brute['qps']:,.1f} | 1.000 | - | - |"
            )
            reference = bench_threatexchange(data, queries) if size <= 1_000_000 else None
            if reference is not None:
                lines.append(
                    f"| {size:,} | {kind} | threatexchange | {reference['build_s']:.1f} | {reference['p50_ms']:.2f} | "
                    f"{reference['p99_ms']:.2f} | {reference['qps']:,.0f} | {reference['recall']:.3f} | "
                    f"{reference['rss_mib']:,.0f} | - |"
                )
            if size >= 10_000_000:
                verdicts.append(
                    f"- {kind} at {size:,}: {ours['qps']:,.0f} queries/s (target 5,000: "
                    f"{'met' if ours['qps'] >= 5000 else 'missed'}), p99 {ours['p99_ms']:.2f} ms (target 2: "
                    f"{'met' if ours['p99_ms'] < 2 else 'missed'}), RSS {ours['rss_mib']:,.0f} MiB (target 1,536: "
                    f"{'met' if ours['rss_mib'] <= 1536 else 'missed'}), build {ours['build_s']:.0f} s (target 60: "
                    f"{'met' if ours['build_s'] < 60 else 'missed'}), recall {ours['recall']:.3f} (must be 1.0)"
                )
            print(lines[-1], flush=True)
            del data
            gc.collect()
    if verdicts:
        lines += ["", *verdicts]
    write_section("media", "\n".join(lines))


if __name__ == "__main__":
    main()
