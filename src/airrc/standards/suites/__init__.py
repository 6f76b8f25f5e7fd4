"""The shipped evaluation suites as data: bilingual request frames applied to per-domain subjects.

Pure: no inspect_ai import here (the tasks live in :mod:`airrc.standards.suites.tasks`), so the catalog,
plans and verification load quickly. A suite's digest covers its frames and subjects, so a plan pins the
exact prompts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airrc.crypto.canonical import canonical_bytes
from airrc.errors import StandardsError

__all__ = ["LANGUAGES", "Sample", "Suite", "SuiteCatalog", "load_suites", "parse_suites"]

SUITES_PATH = Path(__file__).parent / "suites.yaml"
LANGUAGES: tuple[Literal["en", "zh"], ...] = ("en", "zh")
Kind = Literal["hazard", "benign"]


class _Text(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,47}$")
    en: str = Field(min_length=1, max_length=400)
    zh: str = Field(min_length=1, max_length=400)


class _Frames(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hazard: list[_Text] = Field(min_length=1)
    benign: list[_Text] = Field(min_length=1)


class _SuiteDoc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: dict[Literal["en", "zh"], str]
    hazard: list[_Text] = Field(min_length=1)
    benign: list[_Text] = Field(min_length=1)


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    frames: _Frames
    suites: dict[str, _SuiteDoc] = Field(min_length=1)


@dataclass(frozen=True)
class Sample:
    id: str
    kind: Kind
    text: dict[str, str]  # language -> prompt


@dataclass(frozen=True)
class Suite:
    name: str
    version: int
    title: dict[str, str]
    samples: tuple[Sample, ...]
    digest: str

    def sample_ids(self, kind: Kind) -> list[str]:
        return [s.id for s in self.samples if s.kind == kind]

    def by_id(self) -> dict[str, Sample]:
        return {s.id: s for s in self.samples}


@dataclass(frozen=True)
class SuiteCatalog:
    suites: dict[str, Suite]

    def names(self) -> set[str]:
        return set(self.suites)

    def get(self, name: str) -> Suite:
        found = self.suites.get(name)
        if found is None:
            raise StandardsError(
                f"no suite {name!r}; known: {', '.join(sorted(self.suites))}", code="standards.unknown_suite"
            )
        return found


def _expand(frames: list[_Text], subjects: list[_Text], kind: Kind, suite: str) -> list[Sample]:
    samples = []
    for frame in frames:
        for subject in subjects:
            text: dict[str, str] = {
                lang: str(getattr(frame, lang)).format(subject=getattr(subject, lang)) for lang in LANGUAGES
            }
            samples.append(Sample(id=f"{kind}.{frame.id}.{subject.id}", kind=kind, text=text))
    return samples


def parse_suites(text: str) -> SuiteCatalog:
    try:
        doc = _Doc.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise StandardsError(f"the suite file is malformed: {exc}", code="standards.bad_suite") from exc
    suites = {}
    for name, suite in doc.suites.items():
        samples = _expand(doc.frames.hazard, suite.hazard, "hazard", name) + _expand(
            doc.frames.benign, suite.benign, "benign", name
        )
        if len({s.id for s in samples}) != len(samples):
            raise StandardsError(f"suite {name} has duplicate sample ids", code="standards.bad_suite")
        pinned = {
            "name": name,
            "version": doc.version,
            "samples": [{"id": s.id, "kind": s.kind, "text": s.text} for s in samples],
        }
        digest = hashlib.sha256(canonical_bytes(pinned)).hexdigest()
        suites[name] = Suite(
            name, doc.version, {str(k): v for k, v in suite.title.items()}, tuple(samples), digest
        )
    return SuiteCatalog(suites)


@cache
def load_suites() -> SuiteCatalog:
    return parse_suites(SUITES_PATH.read_text(encoding="utf-8"))
