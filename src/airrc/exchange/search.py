"""Searching reports: filters by indexed terms (categories, sectors, techniques), words of the text (also
Chinese, by character pairs) and columns; newest first, paged by key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from airrc.errors import InputError
from airrc.exchange.model import CATEGORIES, SECTORS
from airrc.exchange.tables import ReportRow, TermRow, WordRow

__all__ = ["MAX_WORDS", "SearchQuery", "report_counts", "search", "search_terms", "words"]


class SearchQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    category: str | None = Field(default=None, max_length=64)
    sector: str | None = Field(default=None, max_length=64)
    technique: str | None = Field(default=None, max_length=32)
    tlp: str | None = Field(default=None, max_length=16)
    origin: str | None = Field(default=None, max_length=64, description="node id, or 'local'")
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = Field(default=None, max_length=200)
    status: str | None = Field(default=None, max_length=12)
    limit: int = Field(default=50, ge=1, le=500)
    after: int | None = Field(default=None, ge=0, description="cursor: the last key of the previous page")

    @classmethod
    def checked(cls, **filters: Any) -> SearchQuery:
        """A query whose filters name known values (TLP in any case); otherwise ``exchange.bad_query``
        listing the valid ones, so a caller is told what to type instead of getting no results."""
        known = {"category": CATEGORIES, "sector": SECTORS, "tlp": TLPS, "status": STATUSES}
        for name, allowed in known.items():
            value = filters.get(name)
            if value is None:
                continue
            if name == "tlp":
                value = filters[name] = str(value).lower()
            if value not in allowed:
                raise InputError(
                    f"{name} {value!r} is not one of: {', '.join(allowed)}", code="exchange.bad_query"
                )
        try:
            return cls(**filters)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise InputError(problems, code="exchange.bad_query") from exc


TLPS = ("clear", "green", "amber", "amber+strict", "red")
STATUSES = ("draft", "published", "revoked")


def words(text: str) -> list[str]:
    return re.findall(r"[\w]+", text.lower())


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
MAX_WORDS = 1000


def search_terms(text: str) -> list[str]:
    """Index terms of free text: words of two or more letters or digits, and pairs of adjacent Chinese
    characters (Chinese has no spaces); the same function reads a query."""
    lowered = text.lower()
    terms = [w for w in re.findall(r"[^\W_]+", _CJK.sub(" ", lowered)) if len(w) >= 2]
    for run in _CJK.findall(lowered):
        terms += [run[i : i + 2] for i in range(len(run) - 1)] if len(run) > 1 else [run]
    return list(dict.fromkeys(t[:64] for t in terms))[:MAX_WORDS]


@dataclass(frozen=True)
class SearchFilter:
    """One indexed condition of a search: a term (``kind`` = ``value``), or a word when ``kind`` is None."""

    kind: str | None
    value: str

    # Counting index entries beyond this tells nothing more about which filter to drive with.
    ESTIMATE_CAP: ClassVar[int] = 5000

    @property
    def table(self) -> type[TermRow] | type[WordRow]:
        return WordRow if self.kind is None else TermRow

    def conditions(self, table: Any) -> list[Any]:
        if self.kind is None:
            return [table.word == self.value]
        return [table.kind == self.kind, table.value == self.value]

    def estimate(self, session: Session) -> int:
        table = self.table
        counted = select(table.report_key).where(*self.conditions(table)).limit(self.ESTIMATE_CAP).subquery()
        return int(session.scalar(select(func.count()).select_from(counted)) or 0)

    def drive(self, stmt: Any) -> tuple[Any, Any]:
        alias = aliased(self.table)
        return stmt.join(alias, alias.report_key == ReportRow.key).where(
            *self.conditions(alias)
        ), alias.report_key

    def holds(self) -> Any:
        table = self.table
        return exists().where(table.report_key == ReportRow.key, *self.conditions(table))


def search(session: Session, query: SearchQuery) -> list[ReportRow]:
    """Filter by indexed terms, words and columns; newest first, paged by ``key``.

    The most selective term or word drives the query: its index yields report keys in descending order,
    so a page stops after ``limit`` matches instead of collecting every report a common filter names.
    The other terms and words are checked per candidate by primary key. Selectivity is estimated by
    counting each filter's index entries up to a cap.
    """
    filters = [
        SearchFilter(kind, value)
        for kind, value in (
            ("category", query.category),
            ("sector", query.sector),
            ("technique", query.technique),
        )
        if value
    ]
    filters += [SearchFilter(None, word) for word in search_terms(query.text or "")[:8]]
    stmt = select(ReportRow)
    key_column: Any = ReportRow.key
    if filters:
        driver = min(filters, key=lambda f: f.estimate(session))
        stmt, key_column = driver.drive(stmt)
        for other in filters:
            if other is not driver:
                stmt = stmt.where(other.holds())
    if query.tlp:
        stmt = stmt.where(ReportRow.tlp == query.tlp)
    if query.status:
        stmt = stmt.where(ReportRow.status == query.status)
    if query.origin == "local":
        stmt = stmt.where(ReportRow.local.is_(True))
    elif query.origin:
        stmt = stmt.where(ReportRow.origin == query.origin)
    if query.since:
        stmt = stmt.where(ReportRow.updated_at >= query.since)
    if query.until:
        stmt = stmt.where(ReportRow.updated_at <= query.until)
    if query.after is not None:
        stmt = stmt.where(key_column < query.after)
    return list(session.scalars(stmt.order_by(key_column.desc()).limit(query.limit)))


def report_counts(session: Session) -> dict[str, int]:
    """Reports by origin: ours (local) and what partners shared (received)."""
    rows = session.execute(select(ReportRow.local, func.count()).group_by(ReportRow.local))
    return {("local" if local else "received"): int(n) for local, n in rows}
