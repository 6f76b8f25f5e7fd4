"""Reports of malicious AI use: the model both sides read. Pure: no storage, no network.

A report has a stable ``report_id`` across versions and audiences; every field is checked here (ATLAS ids
against the bundled ATLAS, observables by type, countries by ISO 3166-1), so nothing malformed is stored.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any, Literal

import pycountry
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from airrc.errors import ExchangeError, first_problem
from airrc.exchange.atlas import load_atlas

__all__ = [
    "CATEGORIES",
    "SECTORS",
    "TLP_ORDER",
    "AffectedSystem",
    "ExchangeError",
    "Jurisdiction",
    "LangText",
    "Observable",
    "Report",
    "TimelineEvent",
    "parse_report",
]

Category = Literal[
    "ai_enabled_cybercrime",
    "ai_enabled_fraud",
    "deepfake_disinformation",
    "non_state_actor_attack",
    "critical_infrastructure_threat",
    "bio_chem_misuse",
    "model_vulnerability",
    "other",
]
Sector = Literal[
    "health",
    "energy_power_grid",
    "water",
    "finance",
    "transport",
    "telecom",
    "government",
    "defense",
    "elections",
    "other",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
SECTORS: tuple[str, ...] = Sector.__args__  # type: ignore[attr-defined]
Severity = Literal["low", "medium", "high", "critical"]
HarmType = Literal[
    "financial_loss",
    "service_disruption",
    "physical_harm",
    "loss_of_life",
    "privacy_violation",
    "disinformation",
    "election_interference",
    "intellectual_property",
    "other",
]
Tlp = Literal["clear", "green", "amber", "amber+strict", "red"]
TLP_ORDER: dict[str, int] = {"clear": 0, "green": 1, "amber": 2, "amber+strict": 3, "red": 4}
ObservableType = Literal[
    "domain", "url", "ipv4", "ipv6", "email", "file_sha256", "pdq", "prompt", "model", "wallet", "phone"
]
MAX_TEXT = 20_000

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_URL = re.compile(r"^(https?|hxxps?|ftp)://[^\s/$.?#][^\s]{0,2000}$", re.I)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_WALLET = re.compile(r"^[A-Za-z0-9:]{20,128}$")


class LangText(BaseModel):
    """Free text in English, Chinese or both."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    en: str | None = Field(default=None, max_length=MAX_TEXT)
    zh: str | None = Field(default=None, max_length=MAX_TEXT)

    @model_validator(mode="after")
    def _one_language_at_least(self) -> LangText:
        if not (self.en or "").strip() and not (self.zh or "").strip():
            raise ValueError("text needs English or Chinese")
        return self

    def any(self) -> str:
        return self.en or self.zh or ""


class Observable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ObservableType
    value: str = Field(min_length=1, max_length=4096)

    @field_validator("value")
    @classmethod
    def _valid_for_type(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("type")
        return normalise_observable(kind, value) if isinstance(kind, str) else value


def normalise_observable(kind: str, value: str) -> str:  # noqa: PLR0911, PLR0912
    """The canonical form of an observable (what correlation compares); raises ``ValueError`` when bad."""
    text = value.strip()
    if kind == "ipv4":
        try:
            return str(ipaddress.IPv4Address(text))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IPv4 address") from exc
    if kind == "ipv6":
        try:
            return str(ipaddress.IPv6Address(text))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IPv6 address") from exc
    if kind == "domain":
        text = text.lower().rstrip(".")
        if not _DOMAIN.match(text):
            raise ValueError(f"{value!r} is not a domain name")
        return text
    if kind == "email":
        text = text.lower()
        if not _EMAIL.match(text):
            raise ValueError(f"{value!r} is not an email address")
        return text
    if kind == "url":
        if not _URL.match(text):
            raise ValueError(f"{value!r} is not a URL")
        return text
    if kind == "file_sha256":
        text = text.lower()
        if not _HEX64.match(text):
            raise ValueError("a file SHA-256 is 64 hex digits")
        return text
    if kind == "pdq":
        text = text.lower()
        if not _HEX64.match(text):
            raise ValueError("a PDQ hash is 256 bits, 64 hex digits")
        return text
    if kind == "phone":
        text = re.sub(r"[\s().-]", "", text)
        if not _PHONE.match(text):
            raise ValueError(f"{value!r} is not an E.164 phone number (+ and 7 to 15 digits)")
        return text
    if kind == "wallet":
        if not _WALLET.match(text):
            raise ValueError(f"{value!r} is not a wallet address")
        return text
    return " ".join(text.split())  # prompt, model: whitespace-normalised


class AffectedSystem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    developer: str = Field(min_length=1, max_length=200)
    model: str = Field(min_length=1, max_length=200)
    version: str | None = Field(default=None, max_length=100)


class TimelineEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    event: LangText

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timeline times carry a timezone")
        return value


class Jurisdiction(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    origin_country: str = Field(min_length=2, max_length=2)
    legal_basis: str | None = Field(default=None, max_length=2000)
    onward_transfer: Literal["allowed", "with_consent", "prohibited"] = "with_consent"

    @field_validator("origin_country")
    @classmethod
    def _iso_country(cls, value: str) -> str:
        if pycountry.countries.get(alpha_2=value.upper()) is None:
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
        return value.upper()


class Report(BaseModel):
    """One version of a report of malicious AI use."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    report_id: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    version: int = Field(default=1, ge=1)
    title: LangText
    summary: LangText
    categories: tuple[Category, ...] = Field(min_length=1, max_length=8)
    sectors: tuple[Sector, ...] = Field(default=(), max_length=10)
    severity: Severity = "medium"
    harm_types: tuple[HarmType, ...] = Field(default=(), max_length=9)
    techniques: tuple[str, ...] = Field(default=(), max_length=64)
    observables: tuple[Observable, ...] = Field(default=(), max_length=1000)
    affected_systems: tuple[AffectedSystem, ...] = Field(default=(), max_length=100)
    timeline: tuple[TimelineEvent, ...] = Field(default=(), max_length=200)
    confidence: int = Field(default=50, ge=0, le=100)
    tlp: Tlp = "amber"
    share_with: tuple[str, ...] = Field(
        default=(),
        max_length=64,
        description="the named partners of an AMBER+STRICT report (names or ids; stored as ids)",
    )
    jurisdiction: Jurisdiction
    personal_names: tuple[str, ...] = Field(
        default=(), max_length=100, description="names to scrub from free text before a report leaves"
    )

    @field_validator("techniques")
    @classmethod
    def _known_techniques(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        atlas = load_atlas()
        for technique in value:
            if technique not in atlas.techniques:
                raise ValueError(f"unknown ATLAS technique {technique!r}")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _strict_names_its_partners(self, info: ValidationInfo) -> Report:
        # A partner's view never lists who else received it (see policy.NEVER_SHARED).
        received = bool(info.context and info.context.get("received"))
        if self.tlp == "amber+strict" and not self.share_with and not received:
            raise ValueError("an AMBER+STRICT report names the partners it may reach (share_with)")
        return self

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def parse_report(doc: Any, *, received: bool = False) -> Report:
    """A report from untrusted JSON (``received``: a partner's view of it); the first problem is named with
    its field and a stable code."""
    if received and isinstance(doc, dict):
        doc = {k: v for k, v in doc.items() if k != "redacted"}
    try:
        return Report.model_validate(doc, context={"received": received})
    except ValidationError as exc:
        where, message = first_problem(exc, "report")
        message = message.removeprefix("Value error, ")
        code = "exchange.invalid"
        if "ATLAS" in message:
            code = "exchange.unknown_technique"
        elif where.startswith("observables"):
            code = "exchange.bad_observable"
        # The code names the first problem; the message lists them all, so one edit fixes the file.
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'report'}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()[:20]
        ]
        more = f" (and {len(exc.errors()) - 20} more)" if len(exc.errors()) > 20 else ""
        raise ExchangeError("; ".join(problems) + more, code=code, field=where) from exc
