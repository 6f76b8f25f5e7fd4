"""Correlating reports: links between reports that share an observable, or a technique and a sector within
a window; near-duplicates (same observables, or similar text across languages); clusters of duplicates."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from airrc.exchange.model import Report
from airrc.exchange.search import words
from airrc.exchange.tables import LinkRow, ReportRow, TermRow

__all__ = ["clusters", "correlate", "links", "normalised_text", "report_terms", "similarity"]

CORRELATION_WINDOW = timedelta(days=30)
SIMILARITY_THRESHOLD = 0.8
SIMILARITY_CANDIDATES = 500


def normalised_text(report: Report) -> str:
    parts = [report.title.en, report.title.zh, report.summary.en, report.summary.zh]
    return " ".join(" ".join(words(p)) for p in parts if p)


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of word trigrams (characters for text without spaces, such as Chinese)."""

    def shingles(text: str) -> set[str]:
        tokens = text.split() if " " in text else list(text)
        if len(tokens) < 3:
            return {" ".join(tokens)} if tokens else set()
        return {" ".join(tokens[i : i + 3]) for i in range(len(tokens) - 2)}

    sa, sb = shingles(a), shingles(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def report_terms(report: Report) -> set[tuple[str, str]]:
    terms: set[tuple[str, str]] = {("category", str(c)) for c in report.categories}
    terms |= {("sector", s) for s in report.sectors}
    terms |= {("technique", t) for t in report.techniques}
    terms |= {(f"obs:{o.type}", o.value[:512]) for o in report.observables}
    return terms


def correlate(session: Session, row: ReportRow, report: Report) -> int:
    """Link ``row`` to reports sharing an observable, or a technique and a sector within the window;
    mark near-duplicates (same observables, or similar text). Returns the number of links made."""
    links: dict[tuple[int, str], tuple[bool, float | None]] = {}
    observables = {(f"obs:{o.type}", o.value[:512]) for o in report.observables}
    for kind, value in observables:
        for other in session.scalars(
            select(TermRow.report_key)
            .where(TermRow.kind == kind, TermRow.value == value, TermRow.report_key != row.key)
            .limit(1000)
        ):
            links[(other, f"observable {kind[4:]} {value}"[:600])] = (False, None)
    moment = row.published_at or row.updated_at
    for technique in report.techniques:
        for sector in report.sectors:
            t = select(TermRow.report_key).where(TermRow.kind == "technique", TermRow.value == technique)
            s = select(TermRow.report_key).where(TermRow.kind == "sector", TermRow.value == sector)
            for other in session.scalars(
                select(ReportRow.key)
                .where(
                    ReportRow.key.in_(t),
                    ReportRow.key.in_(s),
                    ReportRow.key != row.key,
                    ReportRow.updated_at >= moment - CORRELATION_WINDOW,
                    ReportRow.updated_at <= moment + CORRELATION_WINDOW,
                )
                .limit(1000)
            ):
                links[(other, f"technique {technique} in sector {sector}")] = (False, None)
    text = normalised_text(report)
    candidates = session.execute(
        select(ReportRow.key, ReportRow.text, ReportRow.data)
        .where(ReportRow.key != row.key, ReportRow.updated_at >= moment - CORRELATION_WINDOW)
        .order_by(ReportRow.updated_at.desc())
        .limit(SIMILARITY_CANDIDATES)
    ).all()
    for other_key, other_text, other_data in candidates:
        other_obs = {(o["type"], o["value"]) for o in json.loads(other_data).get("observables", [])}
        mine = {(o.type, o.value) for o in report.observables}
        if mine and mine == other_obs:
            links[(other_key, "same observables")] = (True, 1.0)
        score = similarity(text, other_text)
        if score >= SIMILARITY_THRESHOLD:
            links[(other_key, "similar text")] = (True, round(score, 3))
    session.execute(delete(LinkRow).where(or_(LinkRow.a == row.key, LinkRow.b == row.key)))
    for (other, reason), (duplicate, strength) in links.items():
        a, b = sorted((row.key, other))
        session.add(LinkRow(a=a, b=b, reason=reason, duplicate=duplicate, score=strength))
    session.flush()
    return len(links)


def links(session: Session, key: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(LinkRow).where(or_(LinkRow.a == key, LinkRow.b == key)))
    return [
        {
            "report": r.b if r.a == key else r.a,
            "reason": r.reason,
            "duplicate": r.duplicate,
            "score": r.score,
        }
        for r in rows
    ]


def clusters(session: Session) -> list[dict[str, Any]]:
    """Near-duplicate reports (across nodes), grouped by union-find over the duplicate links."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for link in session.scalars(select(LinkRow).where(LinkRow.duplicate.is_(True))):
        parent[find(link.a)] = find(link.b)
    groups: dict[int, list[int]] = {}
    for key in list(parent):
        groups.setdefault(find(key), []).append(key)
    rows = {r.key: r for r in session.scalars(select(ReportRow).where(ReportRow.key.in_(list(parent))))}
    out = []
    for members in groups.values():
        members.sort()
        out.append(
            {
                "reports": [
                    {
                        "key": k,
                        "report_id": rows[k].report_id,
                        "origin": rows[k].origin,
                        "title": json.loads(rows[k].data)["title"],
                    }
                    for k in members
                    if k in rows
                ],
                "origins": sorted({rows[k].origin for k in members if k in rows}),
            }
        )
    return sorted(out, key=lambda c: -len(c["reports"]))
