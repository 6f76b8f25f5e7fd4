"""End-to-end sealing with HPKE (RFC 9180), KEM ``MLKEM768_X25519``, HKDF-SHA256, AES-256-GCM.

The plaintext is sealed separately to each recipient. HPKE base mode is anonymous, so the sealed payload
carries the sender's hybrid signature over sender, recipient, kind and body; ``info`` binds the protocol
version, sender id, recipient id and statement kind, so a ciphertext moved to another context won't open.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airrc.crypto.canonical import b64decode, b64encode, canonical_bytes, parse_json
from airrc.crypto.keys import NodeIdentity, PublicKeys
from airrc.crypto.signing import HybridSignature, HybridVerifier
from airrc.errors import InputError, SealError, SignatureInvalid

__all__ = ["SUITE_NAME", "SealedBody", "open_sealed", "seal", "seal_info"]

SUITE_NAME = "MLKEM768_X25519/HKDF_SHA256/AES_256_GCM"
SEAL_VERSION = "airrc/seal/v1"
INNER_DOMAIN = "airrc/sealed-payload/v1"
_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


class SealedBody(BaseModel):
    """A body sealed to each recipient: recipient node id -> base64 HPKE ciphertext."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    suite: str = SUITE_NAME
    recipients: dict[str, str] = Field(min_length=1, max_length=256)


def seal_info(sender_id: str, recipient_id: str, kind: str) -> bytes:
    """The HPKE ``info`` string: binds version, sender, recipient and kind."""
    return "\n".join((SEAL_VERSION, sender_id, recipient_id, kind)).encode()


def _inner(sender_id: str, recipient_id: str, kind: str, body: Any) -> dict[str, Any]:
    return {"v": 1, "sender": sender_id, "recipient": recipient_id, "kind": kind, "body": body}


def seal(
    body: Any,
    *,
    sender: NodeIdentity,
    sender_id: str,
    recipients: dict[str, PublicKeys],
    kind: str,
) -> SealedBody:
    """Seal ``body`` (a JSON value) to every recipient, signed inside by the sender."""
    if not recipients:
        raise InputError("a sealed body needs at least one recipient", code="crypto.no_recipients")
    sealed: dict[str, str] = {}
    for recipient_id, keys in recipients.items():
        inner = _inner(sender_id, recipient_id, kind, body)
        signature = sender.signer.sign(INNER_DOMAIN, canonical_bytes(inner))
        payload = canonical_bytes({**inner, "sig": signature.model_dump(by_alias=True)})
        ciphertext = _SUITE.encrypt(
            payload, keys.hpke_public_key(), info=seal_info(sender_id, recipient_id, kind)
        )
        sealed[recipient_id] = b64encode(ciphertext)
    return SealedBody(recipients=sealed)


def open_sealed(
    sealed: SealedBody,
    *,
    recipient: NodeIdentity,
    recipient_id: str,
    sender_id: str,
    sender_verifier: HybridVerifier,
    kind: str,
    max_bytes: int,
) -> Any:
    """Open the part sealed to ``recipient_id`` and check the sender's inner signature; else raise."""
    if sealed.suite != SUITE_NAME:
        raise SealError(f"unsupported sealing suite {sealed.suite!r}", code="crypto.seal_unsupported")
    encoded = sealed.recipients.get(recipient_id)
    if encoded is None:
        raise SealError("this node is not a recipient of the sealed body", code="crypto.seal_not_recipient")
    ciphertext = b64decode(encoded, what="sealed body")
    if len(ciphertext) > max_bytes:
        raise SealError("sealed body exceeds the size limit", code="crypto.seal_too_large")
    try:
        payload = _SUITE.decrypt(
            ciphertext, recipient.hpke_private_key, info=seal_info(sender_id, recipient_id, kind)
        )
    except (InvalidTag, ValueError) as exc:
        raise SealError("sealed body does not open for this recipient and context") from exc
    doc = parse_json(payload, max_bytes=max_bytes)
    if not isinstance(doc, dict) or "sig" not in doc:
        raise SealError("sealed payload is malformed", code="crypto.seal_malformed")
    sig_doc = doc.pop("sig")
    if doc.keys() != {"v", "sender", "recipient", "kind", "body"} or doc["v"] != 1:
        raise SealError("sealed payload is malformed", code="crypto.seal_malformed")
    if (doc["sender"], doc["recipient"], doc["kind"]) != (sender_id, recipient_id, kind):
        raise SealError("sealed payload names another context", code="crypto.seal_context_mismatch")
    try:
        signature = HybridSignature.model_validate(sig_doc)
        sender_verifier.verify(INNER_DOMAIN, canonical_bytes(doc), signature)
    except ValidationError as exc:
        raise SealError("sealed payload signature is malformed", code="crypto.seal_malformed") from exc
    except SignatureInvalid as exc:
        raise SealError(
            "sealed payload is not signed by the sender", code="crypto.seal_bad_signature"
        ) from exc
    return doc["body"]
