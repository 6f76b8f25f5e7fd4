"""The standards catalog: requirements per risk domain, framework clause lists, and the crosswalk between them.

Pure: reads the shipped YAML, validates it (an error names the field), and answers questions about it. The
digest covers the requirements and every framework list, so an attestation names exactly what it measured
against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airrc.crypto.canonical import canonical_bytes
from airrc.errors import StandardsError, first_problem

__all__ = [
    "DOMAINS",
    "FRAMEWORK_IDS",
    "Bilingual",
    "Catalog",
    "ClauseRef",
    "CrosswalkRow",
    "Framework",
    "Requirement",
    "Verdict",
    "crosswalk",
    "load_catalog",
    "parse_catalog",
    "rollup",
]

CATALOG_DIR = Path(__file__).parent / "catalog"
DOMAINS = (
    "cyber_operations",
    "bio_chem",
    "financial_systems",
    "critical_infrastructure",
    "military_decision_making",
)
FRAMEWORK_IDS = ("nist-ai-rmf", "nist-ai-600-1", "tc260-v1", "tc260-v2", "eu-gpai-cop", "fasc-2024")
Domain = Literal[
    "cyber_operations", "bio_chem", "financial_systems", "critical_infrastructure", "military_decision_making"
]
Metric = Literal["hazard_refusal_rate", "benign_answer_rate"]
Verdict = Literal["met", "not_met", "inconclusive", "not_evaluated"]


class Bilingual(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    en: str = Field(min_length=1, max_length=2000)
    zh: str = Field(min_length=1, max_length=2000)

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class NoClause(BaseModel):
    """An explicit statement that a framework has no clause for a requirement, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    none: Bilingual


class Requirement(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[A-Z]{2,8}-[0-9]{1,3}$")
    domain: Domain
    title: Bilingual
    description: Bilingual
    suite: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    metric: Metric
    comparator: Literal[">=", "<="]
    threshold: float = Field(ge=0.0, le=1.0)
    tier: Literal["critical", "high", "moderate", "low"]
    comparability_version: int = Field(ge=1)
    crosswalk: dict[str, list[str] | NoClause]


class MetricSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    en: str
    zh: str
    kind: Literal["hazard", "benign"]


class Confidence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["wilson"]
    level: float = Field(gt=0.5, lt=1.0)


class Clause(BaseModel):
    """One clause of a sourced framework list; fields beyond these (sources, notes) are kept as read."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str | None = None
    local_key: str | None = None
    title: str | None = None
    title_zh: str | None = None
    level: str | None = None
    parent: str | None = None

    @property
    def key(self) -> str:
        return self.id if self.id is not None else str(self.local_key)


class Framework(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    name: str
    name_zh: str | None = None
    publisher: str
    published: str
    source: str
    licence: str
    clauses: list[Clause] = Field(min_length=1)
    gaps: list[str] = Field(default_factory=list)

    def clause(self, key: str) -> Clause | None:
        for clause in self.clauses:
            if key in (clause.id, clause.local_key):
                return clause
        return None


class CatalogDoc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    confidence: Confidence
    domains: dict[Domain, Bilingual]
    metrics: dict[Metric, MetricSpec]
    requirements: list[Requirement] = Field(min_length=1)


@dataclass(frozen=True)
class Catalog:
    doc: CatalogDoc
    frameworks: dict[str, Framework]
    digest: str

    @property
    def version(self) -> int:
        return self.doc.version

    @property
    def requirements(self) -> dict[str, Requirement]:
        return {r.id: r for r in self.doc.requirements}

    def requirement(self, requirement_id: str) -> Requirement:
        found = self.requirements.get(requirement_id)
        if found is None:
            raise StandardsError(
                f"no requirement {requirement_id!r} in catalog version {self.version}",
                code="standards.unknown_requirement",
            )
        return found

    def framework(self, framework_id: str) -> Framework:
        found = self.frameworks.get(framework_id)
        if found is None:
            raise StandardsError(
                f"no framework {framework_id!r}; known: {', '.join(self.frameworks)}",
                code="standards.unknown_framework",
            )
        return found

    def suites(self) -> set[str]:
        return {r.suite for r in self.doc.requirements}


def _malformed(where: str, exc: ValidationError) -> StandardsError:
    location, message = first_problem(exc)
    return StandardsError(
        f"{where} is malformed at {location}: {message}",
        code="standards.bad_catalog",
        field=location,
    )


def _yaml(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StandardsError(f"{where} is not valid YAML", code="standards.bad_catalog") from exc


def parse_catalog(
    catalog_text: str, framework_texts: Mapping[str, str], *, suites: Iterable[str] | None = None
) -> Catalog:
    """Validate a catalog and its framework lists; ``suites`` (when given) are the suite names that exist."""
    try:
        doc = CatalogDoc.model_validate(_yaml(catalog_text, "the catalog"))
    except ValidationError as exc:
        raise _malformed("the catalog", exc) from exc
    frameworks: dict[str, Framework] = {}
    for framework_id, text in framework_texts.items():
        try:
            framework = Framework.model_validate(_yaml(text, f"framework {framework_id}"))
        except ValidationError as exc:
            raise _malformed(f"framework list {framework_id}", exc) from exc
        if framework.id != framework_id:
            raise StandardsError(
                f"framework file {framework_id} declares id {framework.id!r}", code="standards.bad_catalog"
            )
        frameworks[framework_id] = framework
    if set(frameworks) != set(FRAMEWORK_IDS):
        raise StandardsError(
            f"the catalog needs exactly the frameworks {', '.join(FRAMEWORK_IDS)}",
            code="standards.bad_catalog",
            field="frameworks",
        )
    _check_references(doc, frameworks, None if suites is None else set(suites))
    digest = hashlib.sha256(
        canonical_bytes(
            {
                "catalog": doc.model_dump(mode="json"),
                "frameworks": {k: v.model_dump(mode="json") for k, v in sorted(frameworks.items())},
            }
        )
    ).hexdigest()
    return Catalog(doc=doc, frameworks=frameworks, digest=digest)


def _check_references(doc: CatalogDoc, frameworks: Mapping[str, Framework], suites: set[str] | None) -> None:
    seen: set[str] = set()
    for index, requirement in enumerate(doc.requirements):
        where = f"requirements.{index}"
        if requirement.id in seen:
            raise StandardsError(
                f"requirement {requirement.id} appears twice",
                code="standards.bad_catalog",
                field=f"{where}.id",
            )
        seen.add(requirement.id)
        if suites is not None and requirement.suite not in suites:
            raise StandardsError(
                f"requirement {requirement.id} names unknown suite {requirement.suite!r}",
                code="standards.unknown_suite",
                field=f"{where}.suite",
            )
        for framework_id in FRAMEWORK_IDS:
            entry = requirement.crosswalk.get(framework_id)
            field = f"{where}.crosswalk.{framework_id}"
            if entry is None:
                raise StandardsError(
                    f"requirement {requirement.id} says nothing about {framework_id}: list clauses or say none",
                    code="standards.bad_catalog",
                    field=field,
                )
            if isinstance(entry, NoClause):
                continue
            if not entry:
                raise StandardsError(
                    f"requirement {requirement.id}: an empty clause list for {framework_id}; say none instead",
                    code="standards.bad_catalog",
                    field=field,
                )
            for key in entry:
                if frameworks[framework_id].clause(key) is None:
                    raise StandardsError(
                        f"requirement {requirement.id} cites {key!r}, which is not in the sourced {framework_id} list",
                        code="standards.unknown_clause",
                        field=field,
                    )
        for framework_id in requirement.crosswalk:
            if framework_id not in FRAMEWORK_IDS:
                raise StandardsError(
                    f"requirement {requirement.id} cites unknown framework {framework_id!r}",
                    code="standards.unknown_framework",
                    field=f"{where}.crosswalk.{framework_id}",
                )
        if doc.metrics.get(requirement.metric) is None:
            raise StandardsError(
                f"requirement {requirement.id} uses metric {requirement.metric} the catalog does not define",
                code="standards.bad_catalog",
                field=f"{where}.metric",
            )


@cache
def load_catalog() -> Catalog:
    """The catalog shipped in the package (checked against the shipped suites)."""
    from airrc.standards.suites import load_suites

    texts = {
        framework_id: (CATALOG_DIR / "frameworks" / f"{framework_id}.yaml").read_text(encoding="utf-8")
        for framework_id in FRAMEWORK_IDS
    }
    return parse_catalog(
        (CATALOG_DIR / "catalog.yaml").read_text(encoding="utf-8"), texts, suites=load_suites().names()
    )


# -- crosswalk and roll-up -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClauseRef:
    key: str
    official: bool  # False for tc260-v2's project-local keys: that list has no official ids
    title: str | None
    title_zh: str | None


@dataclass(frozen=True)
class CrosswalkRow:
    requirement: Requirement
    clauses: tuple[ClauseRef, ...]
    none: Bilingual | None


def crosswalk(catalog: Catalog, framework_id: str) -> list[CrosswalkRow]:
    """Each requirement with the clauses of ``framework_id`` it maps to, or the reason there are none."""
    framework = catalog.framework(framework_id)
    rows = []
    for requirement in catalog.doc.requirements:
        entry = requirement.crosswalk[framework_id]
        if isinstance(entry, NoClause):
            rows.append(CrosswalkRow(requirement, (), entry.none))
            continue
        refs = []
        for key in entry:
            clause = framework.clause(key)
            if clause is None:  # refused when the catalog was parsed; kept for type narrowing
                raise StandardsError(f"{framework_id} has no clause {key!r}", code="standards.unknown_clause")
            refs.append(ClauseRef(key, clause.id is not None, clause.title, clause.title_zh))
        rows.append(CrosswalkRow(requirement, tuple(refs), None))
    return rows


def uncovered_domains(catalog: Catalog, framework_id: str) -> list[str]:
    """Domains for which ``framework_id`` has no clause at all (every requirement there says none)."""
    rows = crosswalk(catalog, framework_id)
    return [d for d in DOMAINS if all(r.none is not None for r in rows if r.requirement.domain == d)]


_SEVERITY: dict[str, int] = {"not_met": 3, "inconclusive": 2, "met": 1}


def rollup(catalog: Catalog, verdicts: Mapping[str, str]) -> dict[str, Any]:
    """Per framework: each clause's verdict, the worst over the evaluated requirements that map to it.

    Requirements absent from ``verdicts`` were not evaluated and do not count; a clause none of whose
    requirements was evaluated is left out. Domains the framework does not cover are listed as such.
    """
    result: dict[str, Any] = {}
    for framework_id in FRAMEWORK_IDS:
        clauses: dict[str, dict[str, Any]] = {}
        for row in crosswalk(catalog, framework_id):
            verdict = verdicts.get(row.requirement.id)
            if verdict is None:
                continue
            for ref in row.clauses:
                entry = clauses.setdefault(
                    ref.key, {"clause": ref.key, "official_id": ref.official, "requirements": []}
                )
                entry["requirements"].append(row.requirement.id)
                worst = entry.get("verdict")
                if worst is None or _SEVERITY[verdict] > _SEVERITY[worst]:
                    entry["verdict"] = verdict
        result[framework_id] = {
            "clauses": [clauses[k] for k in sorted(clauses)],
            "uncovered_domains": uncovered_domains(catalog, framework_id),
        }
    return result
