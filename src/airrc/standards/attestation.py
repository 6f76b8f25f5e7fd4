"""Attestation and endorsement statements, and the checks that recompute an attestation. Pure.

Everything here works on values the caller fetched (statements, checkpoints, proofs, the canonical log):
storage and HTTP stay in :mod:`airrc.standards.service`. Each check raises a :class:`StandardsError` with
its own code; a function returns only when everything it was asked to check holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from airrc.errors import StandardsError
from airrc.standards.catalog import Catalog, rollup
from airrc.standards.plan import NODE_ID, SHA256, Generation, PlanBody, PlannedSuite, draw_samples
from airrc.standards.scoring import (
    DETERMINISTIC_GRADER,
    CanonicalLog,
    RequirementScore,
    regrade,
    score_requirements,
    verdicts,
)
from airrc.standards.stats import Tolerance, compare_rerun
from airrc.standards.suites import SuiteCatalog
from airrc.statements import register_kind

__all__ = [
    "AttestationBody",
    "EndorsementBody",
    "RequirementResult",
    "SeedCheckpoint",
    "check_against_catalog",
    "check_log",
    "check_rerun",
    "check_results",
]

UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class SeedCheckpoint(BaseModel):
    """The first checkpoint containing the plan that the plan's witness cosigned, and that cosignature."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    note: str = Field(max_length=20_000, description="the attester's signed checkpoint note")
    cosignature: str = Field(max_length=1000, description="the witness's first cosignature line for it")
    size: int = Field(ge=1)
    plan_proof: tuple[str, ...] = Field(max_length=64, description="the plan's inclusion proof at this size")


class LanguageCount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int = Field(ge=0)
    successes: int = Field(ge=0)


class RequirementResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    requirement: str = Field(max_length=16)
    metric: str = Field(max_length=64)
    comparator: str = Field(max_length=2)
    threshold: float
    n: int = Field(ge=0)
    successes: int = Field(ge=0)
    value: float
    ci_low: float
    ci_high: float
    verdict: str = Field(pattern=r"^(met|not_met|inconclusive|not_evaluated)$")
    by_language: dict[str, LanguageCount]


@register_kind("standards.attestation", description="signed results of a pre-registered evaluation")
class AttestationBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    plan: str = Field(pattern=UUID)
    plan_digest: str = Field(pattern=SHA256)
    plan_index: int = Field(ge=0)
    seed_checkpoint: SeedCheckpoint
    seed: str = Field(pattern=SHA256)
    model: str = Field(max_length=500)
    model_digest: str | None = Field(default=None, pattern=SHA256)
    catalog_version: int = Field(ge=1)
    catalog_digest: str = Field(pattern=SHA256)
    suites: tuple[PlannedSuite, ...] = Field(min_length=1, max_length=16)
    inspect_ai_version: str = Field(max_length=64)
    config: Generation
    epochs: int = Field(ge=1)
    samples: int = Field(ge=0, description="samples in the log (every language and epoch)")
    results: tuple[RequirementResult, ...] = Field(min_length=1, max_length=64)
    frameworks: dict[str, Any]
    log_digest: str = Field(pattern=SHA256)
    log_format: str = Field(max_length=64)


class RerunResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    requirement: str = Field(max_length=16)
    n: int = Field(ge=0)
    successes: int = Field(ge=0)
    difference: float
    allowed: float


@register_kind("standards.endorsement", description="a peer's countersignature of an attestation it verified")
class EndorsementBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    attestation: str = Field(pattern=UUID)
    attestation_digest: str = Field(pattern=SHA256)
    attester: str = Field(pattern=NODE_ID)
    checks: tuple[str, ...] = Field(max_length=32)
    rerun: tuple[RerunResult, ...] | None = None
    rerun_log_digest: str | None = Field(default=None, pattern=SHA256)


def check_against_catalog(
    attestation: AttestationBody, plan: PlanBody, catalog: Catalog, suites: SuiteCatalog
) -> None:
    """The plan, the attestation and this node's catalog and suites name the same things."""
    if (attestation.catalog_version, attestation.catalog_digest) != (catalog.version, catalog.digest):
        raise StandardsError(
            f"the attestation is for catalog version {attestation.catalog_version} "
            f"({attestation.catalog_digest[:12]}); this node has version {catalog.version} ({catalog.digest[:12]})",
            code="standards.catalog_mismatch",
        )
    if (plan.catalog_version, plan.catalog_digest) != (catalog.version, catalog.digest):
        raise StandardsError("the plan names another catalog", code="standards.catalog_mismatch")
    if attestation.suites != plan.suites:
        raise StandardsError(
            "the attestation's suites differ from the plan's", code="standards.plan_mismatch"
        )
    for planned in plan.suites:
        if suites.get(planned.name).digest != planned.digest:
            raise StandardsError(
                f"suite {planned.name} differs from this node's copy", code="standards.suite_mismatch"
            )
    for planned_req in plan.requirements:
        requirement = catalog.requirement(planned_req.id)
        if (requirement.metric, requirement.comparator, requirement.threshold) != (
            planned_req.metric,
            planned_req.comparator,
            planned_req.threshold,
        ):
            raise StandardsError(
                f"the plan's threshold for {requirement.id} is not the catalog's",
                code="standards.plan_mismatch",
            )
    if (attestation.model, attestation.model_digest) != (plan.model, plan.model_digest):
        raise StandardsError(
            "the attestation names another model than its plan", code="standards.plan_mismatch"
        )
    if (attestation.config, attestation.epochs) != (plan.generation, plan.epochs):
        raise StandardsError(
            "the attestation ran another configuration than planned", code="standards.plan_mismatch"
        )


def check_log(
    log: CanonicalLog, *, attestation: AttestationBody, plan: PlanBody, plan_id: str, suites: SuiteCatalog
) -> None:
    """The log is the one attested, of this plan, run with the derived seed on exactly the drawn samples."""
    if log.digest != attestation.log_digest:
        raise StandardsError(
            "the evaluation log's digest is not the attested one", code="standards.log_digest_mismatch"
        )
    if (log.plan, log.seed, log.model) != (plan_id, attestation.seed, plan.model):
        raise StandardsError("the log belongs to another plan, seed or model", code="standards.plan_mismatch")
    found = log.sample_ids()
    expected: dict[tuple[str, str], list[str]] = {}
    for planned in plan.suites:
        drawn = sorted(draw_samples(suites.get(planned.name), attestation.seed, plan.samples_per_kind))
        for language in plan.languages:
            expected[(planned.name, language)] = drawn
    if found != expected:
        raise StandardsError(
            "the log's samples are not the ones the seed draws from the plan",
            code="standards.sample_mismatch",
        )
    per_sample: dict[tuple[str, str, str], int] = {}
    for sample in log.samples:
        key = (sample.suite, sample.language, sample.id)
        per_sample[key] = per_sample.get(key, 0) + 1
    if any(count != plan.epochs for count in per_sample.values()):
        raise StandardsError("the log does not hold every planned epoch", code="standards.sample_mismatch")
    check_samples(log, plan, suites)
    regrade(log)


def check_samples(log: CanonicalLog, plan: PlanBody, suites: SuiteCatalog) -> None:
    """Every sample was asked the suite's own prompt, is of the suite's kind, and was judged by the plan's
    grader: a relabelled grader or kind, or an edited prompt, would let a recorded judgement stand unchecked."""
    grader = DETERMINISTIC_GRADER if plan.grader is None else f"model:{plan.grader}"
    for sample in log.samples:
        where = f"sample {sample.suite}/{sample.language}/{sample.id}"
        if sample.grader != grader:
            raise StandardsError(
                f"{where} was judged by {sample.grader}, the plan's grader is {grader}",
                code="standards.grader_mismatch",
            )
        planned = suites.get(sample.suite).by_id().get(sample.id)
        if planned is None or planned.kind != sample.kind:
            raise StandardsError(f"{where} is not of its suite's kind", code="standards.sample_mismatch")
        if planned.text[sample.language] != sample.input:
            raise StandardsError(
                f"{where} was asked something other than the suite's prompt", code="standards.input_mismatch"
            )


def check_results(
    attestation: AttestationBody, plan: PlanBody, catalog: Catalog, log: CanonicalLog
) -> list[RequirementScore]:
    """Recompute every requirement's score and verdict and the framework roll-up from the log."""
    scores = score_requirements(catalog, [r.id for r in plan.requirements], log.samples)
    attested = {r.requirement: r for r in attestation.results}
    if set(attested) != {s.requirement for s in scores}:
        raise StandardsError(
            "the attestation reports other requirements than planned", code="standards.plan_mismatch"
        )
    for score in scores:
        claim = attested[score.requirement]
        if (claim.n, claim.successes, claim.verdict) != (score.n, score.successes, score.verdict):
            raise StandardsError(
                f"{score.requirement}: the log gives {score.successes}/{score.n} ({score.verdict}), "
                f"the attestation says {claim.successes}/{claim.n} ({claim.verdict})",
                code="standards.verdict_mismatch",
            )
    if rollup(catalog, verdicts(scores)) != attestation.frameworks:
        raise StandardsError(
            "the per-framework roll-up does not follow from the verdicts", code="standards.verdict_mismatch"
        )
    return scores


def check_rerun(
    attestation: AttestationBody, rerun_scores: Sequence[RequirementScore]
) -> Mapping[str, Tolerance]:
    """Every requirement of a re-run agrees with the attested rate within the stated tolerance."""
    attested = {r.requirement: r for r in attestation.results}
    out: dict[str, Tolerance] = {}
    for score in rerun_scores:
        claim = attested[score.requirement]
        if claim.n == 0 or score.n == 0:
            continue
        tolerance = compare_rerun(claim.successes, claim.n, score.successes, score.n)
        out[score.requirement] = tolerance
        if not tolerance.within:
            raise StandardsError(
                f"{score.requirement}: re-run rate {score.successes}/{score.n} differs from the attested "
                f"{claim.successes}/{claim.n} by {tolerance.difference:.3f} (allowed {tolerance.allowed:.3f})",
                code="standards.rerun_outside_tolerance",
            )
    return out
