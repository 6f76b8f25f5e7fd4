"""The ``media.signal`` statement: "these PDQ hashes are of known deepfake media", shared under TLP with the
partners the sender names, never the media itself. Pure: the body model and its checks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airrc.statements import register_kind

__all__ = ["MAX_HASHES", "REFUSED_LABELS", "SignalBody"]

MAX_HASHES = 64
# Out of scope for this exchange: such material is reported through the channels the law names, not here.
REFUSED_LABELS = ("csam", "child sexual abuse")


@register_kind("media.signal", description="PDQ hashes of known deepfake media, with their label and report")
class SignalBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    signal_id: str = Field(min_length=36, max_length=36)
    media: Literal["image"] = "image"
    hashes: tuple[str, ...] = Field(min_length=1, max_length=MAX_HASHES)
    quality: int = Field(ge=0, le=100)
    label: str = Field(min_length=1, max_length=200)
    report: str | None = Field(default=None, max_length=36, description="exchange report statement id")
    confidence: float = Field(ge=0, le=1)

    @field_validator("hashes")
    @classmethod
    def _hex(cls, hashes: tuple[str, ...]) -> tuple[str, ...]:
        for value in hashes:
            if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
                raise ValueError("a PDQ hash is 64 lowercase hex digits")
        return hashes

    @field_validator("label")
    @classmethod
    def _in_scope(cls, label: str) -> str:
        if any(word in label.lower() for word in REFUSED_LABELS):
            raise ValueError("this label is out of scope for the exchange")
        return label
