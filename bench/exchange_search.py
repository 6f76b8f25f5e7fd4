"""Exchange search at 10^4 and 10^6 reports: the same queries, timed through ``ExchangeService.search``.

Reports are written straight into a real node's SQLite tables (report rows, their indexed terms and their
words, built by the same tokenizer the service uses), because publishing 10^6 reports through the API would
measure the publishing path, not search. Titles and summaries draw words from the bundled ATLAS names and
descriptions with a Zipf-like skew, in English and in Chinese. Each query runs 40 times with fresh random
parameters; p50 and p95 are reported. Target (issue "Exchange": indexed so it stays fast at 10^6): every
query's p50 at 10^6 within 2x of its p50 at 10^4 (or under 10 ms).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sqlalchemy import text

from _results import write_section
from airrc.config import Settings
from airrc.exchange.atlas import load_atlas
from airrc.exchange.model import CATEGORIES, SECTORS
from airrc.exchange.search import SearchQuery, search_terms
from airrc.node import Node

SIZES = (10_000, 1_000_000)
RUNS = 40
BATCH = 20_000
TLPS = ("clear", "green", "amber", "amber+strict", "red")
ZH_WORDS = [
    "电网",
    "攻击",
    "深度伪造",
    "诈骗",
    "医院",
    "勒索软件",
    "金融",
    "模型",
    "漏洞",
    "选举",
    "虚假信息",
    "供水",
    "交通",
    "通信",
    "政府",
    "国防",
    "钓鱼",
    "语音",
    "克隆",
    "数据",
    "泄露",
    "关键",
    "基础设施",
    "人工智能",
    "恶意",
    "使用",
    "跨境",
    "报告",
    "事件",
    "威胁",
]
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=700)


def vocabulary() -> list[str]:
    atlas = load_atlas()
    words: list[str] = []
    for technique in atlas.techniques.values():
        words += search_terms(f"{technique.name} {technique.description}")
    return list(dict.fromkeys(w for w in words if w.isascii()))


class Generator:
    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary()
        self.weights = [1 / (rank + 1) for rank in range(len(self.words))]
        self.techniques = sorted(load_atlas().techniques)
        self.origins = [f"{i:064x}" for i in range(1, 6)]

    def report(self, key: int) -> tuple[tuple, list[tuple], list[tuple]]:
        rng = self.rng
        title = " ".join(rng.choices(self.words, self.weights, k=6))
        summary = " ".join(rng.choices(self.words, self.weights, k=20))
        zh = "".join(rng.choices(ZH_WORDS, k=6))
        updated = START + timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))
        origin = rng.choice(self.origins)
        terms = {("category", rng.choice(CATEGORIES)), ("sector", rng.choice(SECTORS))}
        terms |= {("technique", t) for t in rng.sample(self.techniques, 2)}
        terms.add(("obs:domain", f"host{rng.randrange(200_000)}.example"))
        data = json.dumps({"title": {"en": title, "zh": zh}})
        row = (
            key,
            f"{key:08x}-0000-4000-8000-000000000000",
            origin,
            origin == self.origins[0],
            1,
            "published",
            rng.choice(TLPS),
            "high",
            f"{title} {summary}",
            data,
            updated.isoformat(),
            updated.isoformat(),
            updated.isoformat(),
        )
        words = search_terms(f"{title} {summary} {zh}")
        return row, [(key, k, v) for k, v in terms], [(key, w) for w in words]


def load(node: Node, gen: Generator, start: int, end: int) -> None:
    reports_sql = (
        "INSERT INTO exchange_reports (key, report_id, origin, local, version, status, tlp, severity, text, "
        "data, created_at, updated_at, published_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    for first in range(start, end, BATCH):
        rows, terms, words = [], [], []
        for key in range(first, min(first + BATCH, end)):
            r, t, w = gen.report(key)
            rows.append(r)
            terms += t
            words += w
        with node.store.session() as session:
            connection = session.connection()
            connection.exec_driver_sql(reports_sql, rows)
            connection.exec_driver_sql("INSERT INTO exchange_terms VALUES (?,?,?)", terms)
            connection.exec_driver_sql("INSERT INTO exchange_words VALUES (?,?)", words)
        print(f"  {min(first + BATCH, end):,} reports", end="\r", flush=True)
    print()


def queries(gen: Generator) -> dict[str, Callable[[random.Random], SearchQuery]]:
    common = gen.words[:30]
    return {
        "category": lambda r: SearchQuery(category=r.choice(CATEGORIES)),
        "category + sector": lambda r: SearchQuery(category=r.choice(CATEGORIES), sector=r.choice(SECTORS)),
        "technique + TLP": lambda r: SearchQuery(technique=r.choice(gen.techniques), tlp=r.choice(TLPS)),
        "one word": lambda r: SearchQuery(text=r.choice(common)),
        "two words": lambda r: SearchQuery(text=" ".join(r.sample(common, 2))),
        "Chinese text": lambda r: SearchQuery(text=r.choice(ZH_WORDS)),
        "origin + last 30 days": lambda r: SearchQuery(
            origin=r.choice(gen.origins), since=START + SPAN - timedelta(days=30)
        ),
        "deep page (category, after)": lambda r: SearchQuery(
            category=r.choice(CATEGORIES), after=r.randrange(1, gen_size[0])
        ),
    }


gen_size = [0]


def measure(node: Node, gen: Generator) -> dict[str, tuple[float, float, float]]:
    rng = random.Random(11)
    out = {}
    for name, make in queries(gen).items():
        times, hits = [], []
        for _ in range(RUNS):
            query = make(rng)
            with node.store.read_session() as session:
                start = time.perf_counter()
                rows = node.exchange.search(session, query)
                times.append((time.perf_counter() - start) * 1000)
            hits.append(len(rows))
        times.sort()
        out[name] = (statistics.median(times), times[int(0.95 * (len(times) - 1))], statistics.mean(hits))
        print(f"  {name}: p50 {out[name][0]:.2f} ms, p95 {out[name][1]:.2f} ms, {out[name][2]:.0f} hits/page")
    return out


def _node(home: Path) -> Node:
    if (home / "card.json").exists():
        return Node(Settings(home=home))
    return Node.init(Settings(home=home), name="search-bench", admin_password="x" * 16, country="US").node


def _loaded(node: Node) -> int:
    with node.store.read_session() as session:
        return int(session.execute(text("SELECT coalesce(max(key), 0) FROM exchange_reports")).scalar_one())


def main() -> None:
    results: dict[int, dict[str, tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # AIRRC_BENCH_SEARCH_HOME keeps the loaded nodes between runs (loading 10^6 reports takes minutes).
        base = Path(os.environ.get("AIRRC_BENCH_SEARCH_HOME") or tmp)
        for size in SIZES:
            node = _node(base / f"search-{size}")
            gen = Generator()
            if _loaded(node) != size:
                print(f"loading {size:,} reports…")
                began = time.perf_counter()
                load(node, gen, 1, size + 1)
                print(f"  loaded in {time.perf_counter() - began:.0f} s")
            gen_size[0] = size
            print(f"{size:,} reports:")
            results[size] = measure(node, gen)
            node.close()
    small, large = SIZES
    lines = [
        "| query | p50 at 10^4 (ms) | p50 at 10^6 (ms) | p95 at 10^6 (ms) | results/page | within 2x (or < 10 ms) |",
        "|---|---|---|---|---|---|",
    ]
    all_met = True
    for name in results[small]:
        a, b = results[small][name], results[large][name]
        met = b[0] <= 2 * a[0] or b[0] < 10
        all_met &= met
        lines.append(
            f"| {name} | {a[0]:.2f} | {b[0]:.2f} | {b[1]:.2f} | {b[2]:.0f} | {'met' if met else 'missed'} |"
        )
    body = (
        f"Search through `ExchangeService.search` (SQLite, WAL) over synthetic reports written straight into a "
        f"node's tables: each with a category, a sector, two ATLAS techniques, an observable, English and "
        f"Chinese text; {RUNS} queries of each kind with random parameters, pages of 50.\n\n"
        + "\n".join(lines)
        + f"\n\nAll queries stay fast at 10^6 reports: **{'met' if all_met else 'missed'}**.\n"
    )
    print(body)
    write_section("exchange search", body)


if __name__ == "__main__":
    main()
