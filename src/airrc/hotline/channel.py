"""The hotline's statement kinds and what their bodies say. Pure: no storage, no network.

- ``hotline.channel``: a crisis channel opened or closed, with its participants (clear).
- ``hotline.message``: the channel id and a salted commitment in clear; format, precedence, fields, the
  sender's per-channel sequence number and the salt sealed end-to-end to every participant.
- ``hotline.ack``: a human acknowledgement, signed by the duty officer's personal key as well as by the node
  (a drill's automatic acknowledgement carries no officer).
- ``hotline.escalation``: one step of the ladder after a missed deadline (who was told what and when).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from airrc.crypto.canonical import canonical_bytes, salted_commitment
from airrc.crypto.sealing import SealedBody
from airrc.crypto.signing import HybridSignature, HybridVerifier
from airrc.errors import InputError, SignatureInvalid
from airrc.statements import SignedStatement, register_kind

__all__ = [
    "ACK_DOMAIN",
    "AckBody",
    "ChannelBody",
    "EscalationBody",
    "MessageBody",
    "MessageContent",
    "Officer",
    "ack_payload",
    "check_officer_signature",
    "content_commitment",
    "drill_channel_id",
]

ACK_DOMAIN = "airrc/hotline/ack/v1"
COMMITMENT_DOMAIN = b"airrc/hotline/commitment/v1\n"
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
NODE_ID = r"^[0-9a-f]{64}$"
TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"
_DRILL_NAMESPACE = uuid.UUID("6f1f6a52-8c1e-4a55-9a57-0d4f5f1b7a10")


def drill_channel_id(a: str, b: str) -> str:
    """The standing drill channel of two nodes: both sides derive the same id."""
    return str(uuid.uuid5(_DRILL_NAMESPACE, "\n".join(sorted((a, b)))))


@register_kind("hotline.channel", description="a crisis channel opened or closed")
class ChannelBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channel_id: str = Field(pattern=UUID)
    action: Literal["open", "close"]
    participants: tuple[str, ...] = Field(min_length=2, max_length=32)
    catalog_version: int = Field(ge=1)
    catalog_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    report: str | None = Field(default=None, pattern=UUID, description="exchange report statement id")


class MessageContent(BaseModel):
    """The sealed part of a message: what only the participants read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel_id: str = Field(pattern=UUID)
    channel_seq: int = Field(ge=1, description="the sender's number for this message in this channel")
    format: str = Field(max_length=64)
    format_version: int = Field(ge=1)
    precedence: str = Field(max_length=16)
    fields: dict[str, Any]
    in_reply_to: str | None = Field(default=None, pattern=UUID)
    drill: bool = False
    salt: str = Field(pattern=r"^[0-9a-f]{32,64}$")


def content_commitment(content: MessageContent) -> str:
    """The commitment a message carries in clear; an opened transcript shows the content matches it."""
    value = content.model_dump(mode="json", exclude={"salt"})
    return salted_commitment(COMMITMENT_DOMAIN, bytes.fromhex(content.salt), value)


@register_kind("hotline.message", description="a hotline message, sealed to the channel's participants")
class MessageBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channel_id: str = Field(pattern=UUID)
    commitment: str = Field(pattern=r"^[0-9a-f]{64}$")
    sealed: SealedBody


class Officer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str = Field(max_length=64)
    username: str = Field(max_length=64)
    public_key: str = Field(max_length=64, description="base64 raw Ed25519 personal key")
    ml_dsa_65_key: str = Field(max_length=2700, description="base64 raw ML-DSA-65 personal key")


@register_kind(
    "hotline.ack", description="a message acknowledged by a named duty officer (or a drill, automatically)"
)
class AckBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channel_id: str = Field(pattern=UUID)
    message: str = Field(pattern=UUID)
    message_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    acknowledged_at: str = Field(pattern=TIMESTAMP)
    officer: Officer | None = None
    officer_signature: HybridSignature | None = Field(
        default=None, description="the officer's hybrid personal signature over ack_payload"
    )
    automatic: bool = False


def ack_payload(
    *, node_id: str, channel_id: str, message: str, message_digest: str, user_id: str, at: str
) -> bytes:
    """What a duty officer signs with their personal key: this message, by this node, at this time."""
    doc = {
        "v": 1,
        "node": node_id,
        "channel_id": channel_id,
        "message": message,
        "message_digest": message_digest,
        "officer": user_id,
        "at": at,
    }
    return ACK_DOMAIN.encode() + b"\n" + canonical_bytes(doc)


@register_kind("hotline.escalation", description="a step of the escalation ladder after a missed deadline")
class EscalationBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channel_id: str = Field(pattern=UUID)
    message: str = Field(pattern=UUID)
    side: Literal["sender", "recipient"]
    awaiting: str = Field(pattern=NODE_ID, description="whose acknowledgement is overdue")
    step: int = Field(ge=1)
    deadline: str = Field(pattern=TIMESTAMP)
    overdue: bool = True
    resent: bool = False
    endpoints: tuple[str, ...] = Field(default=(), max_length=16)
    level: str | None = Field(default=None, max_length=64, description="the on-call roster level told")
    notified: tuple[str, ...] = Field(default=(), max_length=32)


def check_officer_signature(signed: SignedStatement, body: AckBody, roster: SignedStatement | None) -> str:
    """The acknowledging officer's name, if they are an active duty officer on ``roster`` (the issuer's
    latest roster before the acknowledgement) and their personal signature verifies; else raise."""
    st = signed.statement
    if body.officer is None or body.officer_signature is None:
        raise InputError("a human acknowledgement names and is signed by its officer", code="hotline.bad_ack")
    entry: dict[str, Any] | None = None
    if roster is not None and roster.statement.issuer == st.issuer and roster.statement.kind == "node.roster":
        users = roster.statement.body.get("users", []) if isinstance(roster.statement.body, dict) else []
        entry = next(
            (u for u in users if isinstance(u, dict) and u.get("user_id") == body.officer.user_id), None
        )
    if (
        entry is None
        or not entry.get("active", True)
        or "duty_officer" not in entry.get("roles", [])
        or entry.get("public_key") != body.officer.public_key
        or entry.get("ml_dsa_65_key") != body.officer.ml_dsa_65_key
    ):
        raise InputError(
            f"{body.officer.username} is not a duty officer on the issuer's roster", code="hotline.bad_ack"
        )
    payload = ack_payload(
        node_id=st.issuer,
        channel_id=body.channel_id,
        message=body.message,
        message_digest=body.message_digest,
        user_id=body.officer.user_id,
        at=body.acknowledged_at,
    )
    try:
        verifier = HybridVerifier.from_b64(body.officer.public_key, body.officer.ml_dsa_65_key)
        verifier.verify_message(payload, body.officer_signature)
    except SignatureInvalid as exc:
        raise InputError(
            f"the officer's signature does not verify ({exc.details.get('algorithm', 'hybrid')})",
            code="hotline.bad_ack",
        ) from exc
    return body.officer.username
