"""The pure checks behind verifying an attestation (standards/attestation.py), each fed genuine evidence
from a real plan, run and attestation, then one lie at a time: each lie is refused with its own code."""

import pytest

from airrc.errors import StandardsError
from airrc.standards.attestation import (
    AttestationBody,
    check_against_catalog,
    check_log,
    check_rerun,
    check_results,
)
from airrc.standards.plan import PlanBody
from airrc.standards.scoring import parse_canonical_log, score_requirements


@pytest.fixture
def evidence(attested):
    net, plan_id, attestation_id = attested
    us = net.nodes["us"]
    with us.store.read_session() as session:
        body = AttestationBody.model_validate(us.statements.get(session, attestation_id).statement.body)
        plan = PlanBody.model_validate(us.statements.get(session, plan_id).statement.body)
    log = parse_canonical_log(us.standards.log_for(attestation_id), max_bytes=1 << 24)
    return body, plan, plan_id, log, us.standards.catalog, us.standards.suites


def _code(fn, *args, **kwargs) -> str:
    with pytest.raises(StandardsError) as refused:
        fn(*args, **kwargs)
    return refused.value.code


def test_genuine_evidence_passes_every_check(evidence):
    body, plan, plan_id, log, catalog, suites = evidence
    check_against_catalog(body, plan, catalog, suites)
    check_log(log, attestation=body, plan=plan, plan_id=plan_id, suites=suites)
    scores = check_results(body, plan, catalog, log)
    assert {s.requirement for s in scores} == {r.requirement for r in body.results}
    assert set(check_rerun(body, scores)) == {s.requirement for s in scores}


def test_the_catalog_suites_model_and_configuration_must_match(evidence):
    body, plan, _plan_id, _log, catalog, suites = evidence
    other_suite = plan.suites[0].model_copy(update={"digest": "0" * 64})
    first_requirement = plan.requirements[0]
    cases = [
        ("standards.catalog_mismatch", body.model_copy(update={"catalog_digest": "0" * 64}), plan),
        (
            "standards.catalog_mismatch",
            body,
            plan.model_copy(update={"catalog_version": plan.catalog_version + 1}),
        ),
        ("standards.plan_mismatch", body.model_copy(update={"suites": ()}), plan),
        (
            "standards.suite_mismatch",
            body.model_copy(update={"suites": (other_suite,)}),
            plan.model_copy(update={"suites": (other_suite,)}),
        ),
        (
            "standards.plan_mismatch",
            body,
            plan.model_copy(
                update={
                    "requirements": (
                        first_requirement.model_copy(update={"threshold": 0.5}),
                        *plan.requirements[1:],
                    )
                }
            ),
        ),
        ("standards.plan_mismatch", body.model_copy(update={"model": "another/model"}), plan),
        ("standards.plan_mismatch", body.model_copy(update={"epochs": body.epochs + 1}), plan),
    ]
    for code, lying_body, lying_plan in cases:
        assert _code(check_against_catalog, lying_body, lying_plan, catalog, suites) == code


def test_the_log_must_be_the_attested_one_of_the_drawn_samples(evidence):
    body, plan, plan_id, log, _catalog, suites = evidence

    def check(lying_log, *, keep_digest=False):
        attested = body if keep_digest else body.model_copy(update={"log_digest": lying_log.digest})
        return _code(check_log, lying_log, attestation=attested, plan=plan, plan_id=plan_id, suites=suites)

    assert (
        check(log.model_copy(update={"seed": "1" * 64}), keep_digest=True) == "standards.log_digest_mismatch"
    )
    assert check(log.model_copy(update={"seed": "1" * 64})) == "standards.plan_mismatch"
    assert check(log.model_copy(update={"samples": log.samples[1:]})) == "standards.sample_mismatch"
    doubled = (log.samples[0], *log.samples)
    assert check(log.model_copy(update={"samples": doubled})) == "standards.sample_mismatch"
    first = log.samples[0]
    regraded = first.model_copy(update={"refused": not first.refused})
    assert check(log.model_copy(update={"samples": (regraded, *log.samples[1:])})) == "standards.log_tampered"

    # A complying answer recorded as refused, hidden behind another grader's label the regrade skips.
    relabelled = regraded.model_copy(update={"grader": "model:other/judge"})
    assert (
        check(log.model_copy(update={"samples": (relabelled, *log.samples[1:])}))
        == "standards.grader_mismatch"
    )
    # The model asked something easier than the suite's prompt.
    softened = first.model_copy(update={"input": "What is the capital of France?"})
    assert (
        check(log.model_copy(update={"samples": (softened, *log.samples[1:])})) == "standards.input_mismatch"
    )
    # A hazard recorded as a benign control (or the reverse) flips what passing means.
    flipped = first.model_copy(update={"kind": "benign" if first.kind == "hazard" else "hazard"})
    assert (
        check(log.model_copy(update={"samples": (flipped, *log.samples[1:])})) == "standards.sample_mismatch"
    )


def test_verdicts_and_roll_up_are_recomputed_from_the_log(evidence):
    body, plan, _plan_id, log, catalog, _suites = evidence
    first = body.results[0]
    claims = [
        body.model_copy(update={"results": (first.model_copy(update={"verdict": "met"}), *body.results[1:])}),
        body.model_copy(
            update={
                "results": (first.model_copy(update={"successes": first.successes - 1}), *body.results[1:])
            }
        ),
        body.model_copy(update={"frameworks": {}}),
    ]
    for lie in claims:
        assert _code(check_results, lie, plan, catalog, log) == "standards.verdict_mismatch"
    fewer = body.model_copy(update={"results": body.results[1:]})
    assert _code(check_results, fewer, plan, catalog, log) == "standards.plan_mismatch"


def test_a_rerun_far_from_the_attested_rate_is_refused(evidence):
    body, plan, _plan_id, log, catalog, _suites = evidence
    flipped = [s.model_copy(update={"refused": not s.refused}) for s in log.samples]
    scores = score_requirements(catalog, [r.id for r in plan.requirements], flipped)
    assert _code(check_rerun, body, scores) == "standards.rerun_outside_tolerance"
