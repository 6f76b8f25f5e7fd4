from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from airrc.errors import StandardsError
from airrc.standards.catalog import (
    CATALOG_DIR,
    DOMAINS,
    FRAMEWORK_IDS,
    crosswalk,
    load_catalog,
    parse_catalog,
    rollup,
    uncovered_domains,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def _texts() -> tuple[str, dict[str, str]]:
    frameworks = {
        fid: (CATALOG_DIR / "frameworks" / f"{fid}.yaml").read_text(encoding="utf-8") for fid in FRAMEWORK_IDS
    }
    return (CATALOG_DIR / "catalog.yaml").read_text(encoding="utf-8"), frameworks


def _with(change) -> str:
    text, _ = _texts()
    doc = yaml.safe_load(text)
    change(doc)
    return yaml.safe_dump(doc, allow_unicode=True)


def test_shipped_catalog_covers_five_domains_and_six_frameworks() -> None:
    catalog = load_catalog()
    assert set(catalog.doc.domains) == set(DOMAINS)
    assert set(catalog.frameworks) == set(FRAMEWORK_IDS)
    assert {r.domain for r in catalog.doc.requirements} == set(DOMAINS)
    assert re.fullmatch(r"[0-9a-f]{64}", catalog.digest)
    for requirement in catalog.doc.requirements:
        for text in (requirement.title, requirement.description):
            assert CJK.search(text.zh), requirement.id
            assert text.zh != text.en


def test_every_cited_clause_is_in_its_sourced_list_and_keeps_its_source() -> None:
    catalog = load_catalog()
    for framework_id in FRAMEWORK_IDS:
        framework = catalog.framework(framework_id)
        assert framework.source
        assert framework.licence
        for row in crosswalk(catalog, framework_id):
            assert row.clauses or row.none is not None
            for ref in row.clauses:
                assert framework.clause(ref.key) is not None


def test_crosswalk_says_explicitly_where_a_framework_has_no_clause() -> None:
    catalog = load_catalog()
    assert "military_decision_making" in uncovered_domains(catalog, "eu-gpai-cop")
    assert "military_decision_making" in uncovered_domains(catalog, "fasc-2024")
    assert uncovered_domains(catalog, "nist-ai-rmf") == []
    mil = {r.requirement.id: r for r in crosswalk(catalog, "eu-gpai-cop")}["MIL-1"]
    assert mil.none is not None
    assert CJK.search(mil.none.zh)
    # tc260-v2 has no official ids: the local key is marked as such.
    cyb = {r.requirement.id: r for r in crosswalk(catalog, "tc260-v2")}["CYB-1"]
    assert [c.official for c in cyb.clauses] == [False]


def test_rollup_takes_the_worst_verdict_per_clause() -> None:
    catalog = load_catalog()
    result = rollup(catalog, {"CYB-1": "met", "CI-1": "not_met"})
    measure_26 = next(c for c in result["nist-ai-rmf"]["clauses"] if c["clause"] == "MEASURE 2.6")
    assert measure_26 == {
        "clause": "MEASURE 2.6",
        "official_id": True,
        "requirements": ["CYB-1", "CI-1"],
        "verdict": "not_met",
    }
    assert all("MIL" not in r for c in result["nist-ai-rmf"]["clauses"] for r in c["requirements"])


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (
            lambda d: d["requirements"][0].update(threshold="high"),
            "standards.bad_catalog",
            "requirements.0.threshold",
        ),
        (
            lambda d: d["requirements"][1]["title"].pop("zh"),
            "standards.bad_catalog",
            "requirements.1.title.zh",
        ),
        (
            lambda d: d["requirements"][0]["crosswalk"].pop("tc260-v1"),
            "standards.bad_catalog",
            "requirements.0.crosswalk.tc260-v1",
        ),
        (
            lambda d: d["requirements"][0]["crosswalk"].update({"nist-ai-rmf": ["MEASURE 9.9"]}),
            "standards.unknown_clause",
            "requirements.0.crosswalk.nist-ai-rmf",
        ),
        (
            lambda d: d["requirements"][2].update(suite="no_such_suite"),
            "standards.unknown_suite",
            "requirements.2.suite",
        ),
        (
            lambda d: d["requirements"][3].update(id=d["requirements"][0]["id"]),
            "standards.bad_catalog",
            "requirements.3.id",
        ),
    ],
)
def test_a_bad_catalog_is_refused_naming_the_field(change, code: str, field: str) -> None:
    _, frameworks = _texts()
    with pytest.raises(StandardsError) as caught:
        parse_catalog(_with(change), frameworks, suites=load_catalog().suites())
    assert caught.value.code == code
    assert caught.value.details["field"] == field


def test_a_framework_list_that_lost_a_file_is_refused() -> None:
    text, frameworks = _texts()
    frameworks.pop("tc260-v2")
    with pytest.raises(StandardsError) as caught:
        parse_catalog(text, frameworks)
    assert caught.value.code == "standards.bad_catalog"


def test_the_digest_changes_with_any_threshold() -> None:
    _, frameworks = _texts()
    changed = parse_catalog(_with(lambda d: d["requirements"][0].update(threshold=0.91)), frameworks)
    assert changed.digest != load_catalog().digest


def test_frameworks_keep_their_sources_file() -> None:
    sources = (Path(CATALOG_DIR) / "frameworks" / "SOURCES.md").read_text(encoding="utf-8")
    for framework_id in FRAMEWORK_IDS:
        assert f"{framework_id}.yaml" in sources
