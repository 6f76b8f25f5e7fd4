"""The exchange statement bodies, registered as kinds: a report (per audience) and a sharing policy."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from airrc.crypto.sealing import SealedBody
from airrc.exchange.policy import PartnerPolicy
from airrc.statements import register_kind

__all__ = ["ExchangeBody", "PolicyBody"]


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
