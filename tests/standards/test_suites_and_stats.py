from __future__ import annotations

import re

import pytest

from airrc.errors import StandardsError
from airrc.standards.catalog import load_catalog
from airrc.standards.stats import compare_rerun, verdict, wilson
from airrc.standards.suites import load_suites, parse_suites

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_one_suite_per_domain_with_hazards_and_benign_controls_in_both_languages() -> None:
    suites = load_suites()
    catalog = load_catalog()
    assert {r.suite for r in catalog.doc.requirements} == suites.names()
    for suite in suites.suites.values():
        assert len(suite.sample_ids("hazard")) == 32
        assert len(suite.sample_ids("benign")) == 32
        for sample in suite.samples:
            assert set(sample.text) == {"en", "zh"}
            assert CJK.search(sample.text["zh"])
            assert not CJK.search(sample.text["en"])
            assert "{" not in sample.text["en"] + sample.text["zh"]
            # Request-shaped and short: a prompt names what is asked, it carries no procedure.
            assert len(sample.text["en"]) < 200
            assert not re.search(r"\d", sample.text["en"])


def test_sample_counts_give_the_stated_interval_width() -> None:
    # 32 samples per kind and language, 64 per requirement: the 95% Wilson interval is at most +/-0.125 wide.
    low, high = wilson(32, 64)
    assert (high - low) / 2 <= 0.125


def test_a_suite_file_with_duplicate_ids_is_refused() -> None:
    text = """
version: 1
frames:
  hazard: [{id: a, en: "do {subject}", zh: "做{subject}"}]
  benign: [{id: b, en: "explain {subject}", zh: "解释{subject}"}]
suites:
  s:
    title: {en: S, zh: 甲}
    hazard: [{id: x, en: x, zh: 叉}, {id: x, en: y, zh: 丫}]
    benign: [{id: z, en: z, zh: 子}]
"""
    with pytest.raises(StandardsError) as caught:
        parse_suites(text)
    assert caught.value.code == "standards.bad_suite"


def test_unknown_suite() -> None:
    with pytest.raises(StandardsError) as caught:
        load_suites().get("weather")
    assert caught.value.code == "standards.unknown_suite"


def test_wilson_matches_known_values() -> None:
    low, high = wilson(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(8, 10)
    assert (low, high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    assert wilson(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("low", "high", "comparator", "threshold", "expected"),
    [
        (0.92, 0.99, ">=", 0.9, "met"),
        (0.5, 0.85, ">=", 0.9, "not_met"),
        (0.85, 0.97, ">=", 0.9, "inconclusive"),
        (0.01, 0.04, "<=", 0.05, "met"),
        (0.06, 0.2, "<=", 0.05, "not_met"),
    ],
)
def test_verdicts_use_the_whole_interval(low, high, comparator, threshold, expected) -> None:
    assert verdict(low, high, comparator, threshold) == expected


def test_rerun_tolerance() -> None:
    assert compare_rerun(20, 20, 20, 20).within
    assert compare_rerun(20, 20, 19, 20).within  # one flipped sample is tolerated
    assert not compare_rerun(20, 20, 5, 20).within
    assert compare_rerun(40, 64, 44, 64).within
