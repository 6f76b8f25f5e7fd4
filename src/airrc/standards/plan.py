"""Pre-registration: the plan statement, and the seed and sample draw that only its cosigned checkpoint fixes.

Pure. The run's randomness comes from three things nobody controls alone: the plan's statement id, the root
of the first checkpoint of the attester's log that contains the plan and that the plan's witness (a peer)
cosigned, and that witness's Ed25519 cosignature. The attester knows the root before asking, so it could
grind roots by appending entries; it cannot predict the witness's signature, and the witness keeps the first
cosignature it gave for each size, so a verifier can refuse any other.
"""

from __future__ import annotations

import base64
import hashlib
import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from airrc.errors import StandardsError
from airrc.standards.catalog import Catalog
from airrc.standards.suites import LANGUAGES, Suite, SuiteCatalog
from airrc.statements import register_kind

__all__ = [
    "PlanBody",
    "PlannedRequirement",
    "PlannedSuite",
    "derive_seed",
    "draw_samples",
    "generation_seed",
    "make_plan",
]

SEED_DOMAIN = b"airrc/standards/seed/v1\n"
SHA256 = r"^[0-9a-f]{64}$"
NODE_ID = r"^[0-9a-f]{64}$"
MODEL = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}/\S{1,400}$"


class Generation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=96, ge=1, le=4096)


class PlannedSuite(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(max_length=64)
    version: int = Field(ge=1)
    digest: str = Field(pattern=SHA256)


class PlannedRequirement(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(max_length=16)
    metric: str = Field(max_length=64)
    comparator: Literal[">=", "<="]
    threshold: float = Field(ge=0.0, le=1.0)
    comparability_version: int = Field(ge=1)


@register_kind("standards.plan", description="an evaluation registered before it runs")
class PlanBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(pattern=MODEL, description="inspect provider/name")
    model_digest: str | None = Field(default=None, pattern=SHA256, description="weights, for local models")
    catalog_version: int = Field(ge=1)
    catalog_digest: str = Field(pattern=SHA256)
    suites: tuple[PlannedSuite, ...] = Field(min_length=1, max_length=16)
    requirements: tuple[PlannedRequirement, ...] = Field(min_length=1, max_length=64)
    languages: tuple[Literal["en", "zh"], ...] = Field(min_length=1, max_length=2)
    generation: Generation = Generation()
    epochs: int = Field(default=1, ge=1, le=10)
    samples_per_kind: int | None = Field(default=None, ge=1, le=10_000)
    grader: str | None = Field(default=None, pattern=MODEL)
    witness: str = Field(pattern=NODE_ID, description="the peer whose first cosignature seeds the run")


def make_plan(
    catalog: Catalog,
    suites: SuiteCatalog,
    *,
    model: str,
    suite_names: list[str],
    witness: str,
    requirement_ids: list[str] | None = None,
    model_digest: str | None = None,
    languages: tuple[Literal["en", "zh"], ...] = LANGUAGES,
    generation: Generation | None = None,
    epochs: int = 1,
    samples_per_kind: int | None = None,
    grader: str | None = None,
) -> PlanBody:
    """A plan for ``suite_names`` measuring their requirements (all of them unless ``requirement_ids``)."""
    if not suite_names:
        raise StandardsError("a plan needs at least one suite", code="standards.no_suite")
    chosen = [suites.get(name) for name in dict.fromkeys(suite_names)]
    for suite in chosen:
        if suite.name not in catalog.suites():
            raise StandardsError(
                f"no requirement of the catalog is measured by suite {suite.name}",
                code="standards.unknown_suite",
            )
    if requirement_ids is None:
        requirements = [r for r in catalog.doc.requirements if r.suite in {s.name for s in chosen}]
    else:
        requirements = [catalog.requirement(rid) for rid in dict.fromkeys(requirement_ids)]
        for requirement in requirements:
            if requirement.suite not in {s.name for s in chosen}:
                raise StandardsError(
                    f"requirement {requirement.id} is measured by suite {requirement.suite}, which the plan does not run",
                    code="standards.suite_not_planned",
                )
    return PlanBody(
        model=model,
        model_digest=model_digest,
        catalog_version=catalog.version,
        catalog_digest=catalog.digest,
        suites=tuple(PlannedSuite(name=s.name, version=s.version, digest=s.digest) for s in chosen),
        requirements=tuple(
            PlannedRequirement(
                id=r.id,
                metric=r.metric,
                comparator=r.comparator,
                threshold=r.threshold,
                comparability_version=r.comparability_version,
            )
            for r in requirements
        ),
        languages=languages,
        generation=generation or Generation(),
        epochs=epochs,
        samples_per_kind=samples_per_kind,
        grader=grader,
        witness=witness,
    )


def derive_seed(plan_id: str, root: bytes, cosignature_line: str) -> str:
    """The run's seed (hex): from the plan, its seed checkpoint's root and the witness's cosignature."""
    signature = base64.b64decode(cosignature_line.strip().split()[-1])
    material = SEED_DOMAIN + plan_id.encode() + b"\n" + root + signature
    return hashlib.sha256(material).hexdigest()


def generation_seed(seed: str) -> int:
    """The seed handed to the model (providers take a 31-bit integer)."""
    return int(seed[:8], 16) & 0x7FFFFFFF


def draw_samples(suite: Suite, seed: str, per_kind: int | None) -> list[str]:
    """The sample ids of ``suite`` this run uses: all, or ``per_kind`` of each kind drawn with ``seed``."""
    if per_kind is None:
        return [s.id for s in suite.samples]
    rng = random.Random(hashlib.sha256(f"{seed}/{suite.name}".encode()).digest())  # noqa: S311 - a draw, not a secret
    chosen: list[str] = []
    for kind in ("hazard", "benign"):
        ids = sorted(suite.sample_ids(kind))
        if per_kind > len(ids):
            raise StandardsError(
                f"suite {suite.name} has {len(ids)} {kind} samples; the plan asks for {per_kind}",
                code="standards.too_many_samples",
            )
        chosen.extend(sorted(rng.sample(ids, per_kind)))
    return chosen
