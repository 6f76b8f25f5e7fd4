"""Node cards: a node's self-signed public identity, its fingerprint id, and key rotation.

A node's id is the fingerprint of its genesis card (serial 0) and never changes. A rotated card keeps id,
name and origin, increments ``serial``, is self-signed by its new keys and also signed by the keys of the
card it replaces (``rotation``). Pure logic: pinning cards in storage lives in :mod:`airrc.trust.peers`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from airrc.crypto.canonical import canonical_bytes, parse_json
from airrc.crypto.keys import COSIGNATURE_TYPE, NodeIdentity, PublicKeys, c2sp_vkey
from airrc.crypto.signing import HybridSignature
from airrc.errors import CardRotationRefused, InputError, SignatureInvalid, TrustError, first_problem

__all__ = [
    "NodeCard",
    "card_fingerprint",
    "make_genesis_card",
    "parse_card",
    "rotate_card",
    "verify_card",
    "verify_rotation",
]

CARD_DOMAIN = "airrc/card/v1"
FINGERPRINT_DOMAIN = b"airrc/node-id/v1\n"
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
Role = Literal["member", "observer"]


class NodeCard(BaseModel):
    """A signed node card as exchanged out of band and pinned by peers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    id: str = Field(pattern=r"^[0-9a-f]{64}$")
    name: str = Field(pattern=NAME_PATTERN)
    origin: str = Field(min_length=1, max_length=200, pattern=r"^[^\s+]+$")
    serial: int = Field(ge=0)
    keys: PublicKeys
    vkey: str = Field(max_length=400)
    # The same Ed25519 key as the witness that cosigns peers' checkpoints (C2SP tlog-cosignature, 0x04).
    cosigner_vkey: str = Field(max_length=400)
    endpoints: tuple[str, ...] = Field(default=(), max_length=16)
    valid_from: datetime
    role: Role = "member"
    signatures: HybridSignature
    rotation: HybridSignature | None = None

    @field_validator("endpoints")
    @classmethod
    def _http_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if not url.startswith(("http://", "https://")) or len(url) > 500 or any(c.isspace() for c in url):
                raise ValueError(f"endpoint {url!r} is not an http(s) URL")
        return value

    @field_validator("valid_from")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("valid_from must carry a timezone")
        return value.astimezone(UTC)

    def unsigned_doc(self) -> dict[str, Any]:
        """The card's JSON without its signatures: what both signatures cover."""
        return self.model_dump(mode="json", by_alias=True, exclude={"signatures", "rotation"})

    def signed_bytes(self) -> bytes:
        return canonical_bytes(self.unsigned_doc())

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def card_fingerprint(unsigned_doc: dict[str, Any]) -> str:
    """The node id a genesis card commits to: SHA-256 over its canonical bytes without ``id``."""
    doc = {k: v for k, v in unsigned_doc.items() if k != "id"}
    return hashlib.sha256(FINGERPRINT_DOMAIN + canonical_bytes(doc)).hexdigest()


def _origin_for(name: str, identity: NodeIdentity) -> str:
    # Derived from the genesis Ed25519 key so it is unique and stays fixed across rotations.
    tag = hashlib.sha256(identity.public_keys().ed25519_raw()).hexdigest()[:16]
    return f"airrc.node/{name}/{tag}"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def make_genesis_card(
    identity: NodeIdentity,
    *,
    name: str,
    endpoints: tuple[str, ...] = (),
    role: Role = "member",
    valid_from: datetime | None = None,
) -> NodeCard:
    """Create and self-sign the first card of a new node; its fingerprint becomes the node id."""
    keys = identity.public_keys()
    origin = _origin_for(name, identity)
    doc: dict[str, Any] = {
        "v": 1,
        "name": name,
        "origin": origin,
        "serial": 0,
        "keys": keys.model_dump(mode="json"),
        "vkey": c2sp_vkey(origin, keys.ed25519_raw()),
        "cosigner_vkey": c2sp_vkey(origin, keys.ed25519_raw(), COSIGNATURE_TYPE),
        "endpoints": list(endpoints),
        "valid_from": (valid_from or _now()).isoformat().replace("+00:00", "Z"),
        "role": role,
    }
    # Round-trip through the model once so the fingerprint covers exactly the normalised form.
    draft = NodeCard.model_validate({**doc, "id": "0" * 64, "signatures": _dummy_signature()})
    unsigned = draft.unsigned_doc()
    node_id = card_fingerprint(unsigned)
    unsigned["id"] = node_id
    signature = identity.signer.sign(CARD_DOMAIN, canonical_bytes(unsigned))
    return NodeCard.model_validate({**unsigned, "signatures": signature.model_dump(by_alias=True)})


def _dummy_signature() -> dict[str, str]:
    return {"ed25519": "", "ml-dsa-65": ""}


def rotate_card(
    previous: NodeCard,
    previous_identity: NodeIdentity,
    new_identity: NodeIdentity,
    *,
    endpoints: tuple[str, ...] | None = None,
    role: Role | None = None,
    valid_from: datetime | None = None,
) -> NodeCard:
    """A successor card with new keys, signed by the new keys and by the keys it replaces."""
    keys = new_identity.public_keys()
    unsigned = previous.unsigned_doc()
    unsigned.update(
        serial=previous.serial + 1,
        keys=keys.model_dump(mode="json"),
        vkey=c2sp_vkey(previous.origin, keys.ed25519_raw()),
        cosigner_vkey=c2sp_vkey(previous.origin, keys.ed25519_raw(), COSIGNATURE_TYPE),
        endpoints=list(endpoints if endpoints is not None else previous.endpoints),
        role=role or previous.role,
        valid_from=(valid_from or _now()).isoformat().replace("+00:00", "Z"),
    )
    normalised = NodeCard.model_validate({**unsigned, "signatures": _dummy_signature()}).signed_bytes()
    return NodeCard.model_validate(
        {
            **unsigned,
            "signatures": new_identity.signer.sign(CARD_DOMAIN, normalised).model_dump(by_alias=True),
            "rotation": previous_identity.signer.sign(CARD_DOMAIN, normalised).model_dump(by_alias=True),
        }
    )


def parse_card(data: bytes | str, *, max_bytes: int = 64 * 1024) -> NodeCard:
    """Parse a card from JSON; shape errors raise ``trust.malformed_card``."""
    doc = parse_json(data, max_bytes=max_bytes)
    try:
        return NodeCard.model_validate(doc)
    except ValidationError as exc:
        raise InputError(f"malformed node card: {_first_error(exc)}", code="trust.malformed_card") from exc


def _first_error(exc: ValidationError) -> str:
    where, message = first_problem(exc, "card")
    return f"{where}: {message}"


def verify_card(card: NodeCard) -> NodeCard:
    """Check a card's self-signature, its vkey, and for a genesis card that the id is its fingerprint."""
    if card.vkey != c2sp_vkey(card.origin, card.keys.ed25519_raw()):
        raise TrustError("card vkey does not match its Ed25519 key", code="trust.bad_vkey")
    if card.cosigner_vkey != c2sp_vkey(card.origin, card.keys.ed25519_raw(), COSIGNATURE_TYPE):
        raise TrustError("card cosigner_vkey does not match its Ed25519 key", code="trust.bad_vkey")
    try:
        card.keys.verifier().verify(CARD_DOMAIN, card.signed_bytes(), card.signatures)
    except SignatureInvalid as exc:
        raise TrustError(f"card self-signature invalid: {exc}", code="trust.bad_card_signature") from exc
    if card.serial == 0:
        if card.rotation is not None:
            raise TrustError("a genesis card carries no rotation signature", code="trust.malformed_card")
        if card_fingerprint(card.unsigned_doc()) != card.id:
            raise TrustError("card id is not the fingerprint of the genesis card", code="trust.bad_card_id")
    elif card.rotation is None:
        raise TrustError(
            "a rotated card must be signed by the keys it replaces", code="trust.rotation_refused"
        )
    return card


def verify_rotation(current: NodeCard, successor: NodeCard) -> NodeCard:
    """Accept ``successor`` only if it continues ``current``: same identity, next serial, signed by it."""
    verify_card(successor)
    if (successor.id, successor.name, successor.origin) != (current.id, current.name, current.origin):
        raise CardRotationRefused("rotated card changes the node's identity")
    if successor.serial != current.serial + 1:
        raise CardRotationRefused(
            f"rotated card has serial {successor.serial}, expected {current.serial + 1}"
        )
    if successor.rotation is None:
        raise CardRotationRefused("rotated card is not signed by the previous keys")
    try:
        current.keys.verifier().verify(CARD_DOMAIN, successor.signed_bytes(), successor.rotation)
    except SignatureInvalid as exc:
        raise CardRotationRefused("rotated card is not signed by the keys it replaces") from exc
    return successor
