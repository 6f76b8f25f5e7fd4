"""The exchange statement bodies, registered as kinds: a report (per audience) and a sharing policy."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from airrc.crypto.sealing import SealedBody
from airrc.exchange.policy import PartnerPolicy
from airrc.statements import register_kind

__all__ = ["ConsentAnswerBody", "ConsentRequestBody", "ExchangeBody", "PolicyBody"]

_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_NODE = r"^[0-9a-f]{64}$"


@register_kind("exchange.report", description="a report of malicious AI use, one statement per audience")
class ExchangeBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    report_id: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    version: int = Field(ge=1)
    action: Literal["publish", "update", "revoke"]
    report: dict[str, Any] | None = None
    sealed: SealedBody | None = None
    reason: str | None = Field(default=None, max_length=2000)


@register_kind(
    "exchange.policy",
    description="what this node shares with one partner from now on; addressed to that partner, so both "
    "sides can prove which policy was in force when a report was shared",
)
class PolicyBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    partner: str = Field(pattern=r"^[0-9a-f]{64}$")
    policy: PartnerPolicy


@register_kind(
    "exchange.consent_request",
    description="asks a report's originator to let a report built on it reach the named partners",
)
class ConsentRequestBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source_report_id: str = Field(pattern=_UUID)
    report_id: str = Field(pattern=_UUID)
    partners: tuple[Annotated[str, Field(pattern=_NODE)], ...] = Field(min_length=1, max_length=64)


@register_kind(
    "exchange.consent_answer",
    description="the originator's signed grant or refusal of one consent request",
)
class ConsentAnswerBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request: str = Field(pattern=_UUID)
    source_report_id: str = Field(pattern=_UUID)
    report_id: str = Field(pattern=_UUID)
    partners: tuple[Annotated[str, Field(pattern=_NODE)], ...] = Field(min_length=1, max_length=64)
    granted: bool
