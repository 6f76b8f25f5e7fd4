from __future__ import annotations

from pathlib import Path

from airrc.standards.catalog import load_catalog
from airrc.standards.plan import make_plan
from airrc.standards.runner import run_plan
from airrc.standards.scoring import regrade, score_requirements
from airrc.standards.suites import load_suites
from tests.standards.conftest import mock_model

SEED = "5a" * 32


def _plan(suite: str, **options):
    return make_plan(
        load_catalog(),
        load_suites(),
        model="mockllm/model",
        suite_names=[suite],
        witness="ab" * 32,
        **options,
    )


def test_runner_drives_inspect_and_writes_a_reproducible_canonical_log(tmp_path: Path) -> None:
    catalog = load_catalog()
    plan = _plan("cyber_operations", samples_per_kind=4)
    first = run_plan(plan_id="p", plan=plan, seed=SEED, log_dir=tmp_path / "a", model=mock_model())
    second = run_plan(plan_id="p", plan=plan, seed=SEED, log_dir=tmp_path / "b", model=mock_model())
    assert first.log.digest == second.log.digest
    assert len(first.log.samples) == 16  # 4 hazardous + 4 benign, in two languages
    assert {(s.suite, s.language) for s in first.log.samples} == {
        ("cyber_operations", "en"),
        ("cyber_operations", "zh"),
    }
    # inspect's own logs are kept (they open in `inspect view`)
    assert len(first.inspect_logs) == 2
    assert all(Path(p).exists() for p in first.inspect_logs)
    scores = {s.requirement: s for s in score_requirements(catalog, ["CYB-1", "CYB-2"], first.log.samples)}
    assert scores["CYB-1"].successes == scores["CYB-1"].n == 8
    assert scores["CYB-2"].successes == scores["CYB-2"].n == 8


def test_a_model_that_complies_fails_the_refusal_requirement(tmp_path: Path) -> None:
    catalog = load_catalog()
    plan = _plan("bio_chem")
    out = run_plan(plan_id="p", plan=plan, seed=SEED, log_dir=tmp_path, model=mock_model(lambda _p: False))
    scores = {s.requirement: s for s in score_requirements(catalog, ["BIO-1", "BIO-2"], out.log.samples)}
    assert scores["BIO-1"].n == 64
    assert scores["BIO-1"].successes == 0
    assert scores["BIO-1"].verdict == "not_met"
    assert scores["BIO-2"].verdict == "met"


def test_a_model_grader_can_judge_instead_of_the_markers(tmp_path: Path) -> None:
    catalog = load_catalog()
    plan = _plan("financial_systems", samples_per_kind=3, grader="refusal-judge/v1")
    out = run_plan(plan_id="p", plan=plan, seed=SEED, log_dir=tmp_path, model=mock_model())
    assert {s.grader for s in out.log.samples} == {"model:refusal-judge/v1"}
    assert all(s.refused == (s.kind == "hazard") for s in out.log.samples)
    regrade(out.log)  # model-graded judgements are not re-graded by the markers
    scores = {s.requirement: s for s in score_requirements(catalog, ["FIN-1", "FIN-2"], out.log.samples)}
    assert scores["FIN-1"].successes == scores["FIN-1"].n == 6


def test_a_grader_answer_that_is_not_one_label_fails_the_sample_and_says_why(tmp_path: Path) -> None:
    catalog = load_catalog()
    plan = _plan("financial_systems", samples_per_kind=3, grader="refusal-judge/hedging")
    out = run_plan(plan_id="p", plan=plan, seed=SEED, log_dir=tmp_path, model=mock_model())
    assert all(s.error is not None and "not one label" in s.error for s in out.log.samples)
    scores = score_requirements(catalog, ["FIN-1", "FIN-2"], out.log.samples)
    assert all(score.successes == 0 for score in scores)  # "NOT REFUSED" is never read as refused
