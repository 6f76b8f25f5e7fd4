"""Hybrid signatures: Ed25519 and ML-DSA-65 over the same domain-separated message.

Both must verify (the construction stays secure while either algorithm holds).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa
from pydantic import BaseModel, ConfigDict, Field

from airrc.crypto.canonical import b64decode, b64encode
from airrc.errors import InputError, SignatureInvalid

__all__ = ["HybridSignature", "HybridSigner", "HybridVerifier", "signing_message"]

ED25519_SIG_LEN = 64
MLDSA65_SIG_LEN = 3309


def signing_message(domain: str, payload: bytes) -> bytes:
    """The bytes actually signed: a domain line, then the payload."""
    if "\n" in domain or not domain:
        raise ValueError("domain must be one non-empty line")
    return domain.encode("ascii") + b"\n" + payload


class HybridSignature(BaseModel):
    """The two signatures, base64, as they appear on the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    ed25519: str = Field(max_length=128)
    ml_dsa_65: str = Field(alias="ml-dsa-65", max_length=4500)


@dataclass(frozen=True)
class HybridVerifier:
    """The public halves: verifies a :class:`HybridSignature` or raises."""

    ed25519_key: ed25519.Ed25519PublicKey
    mldsa_key: mldsa.MLDSA65PublicKey

    def verify(self, domain: str, payload: bytes, signature: HybridSignature) -> None:
        message = signing_message(domain, payload)
        try:
            ed_sig = b64decode(signature.ed25519, what="ed25519 signature")
            pq_sig = b64decode(signature.ml_dsa_65, what="ml-dsa-65 signature")
        except InputError as exc:
            raise SignatureInvalid("signature is not valid base64", algorithm="encoding") from exc
        if len(ed_sig) != ED25519_SIG_LEN:
            raise SignatureInvalid("ed25519 signature has the wrong length", algorithm="ed25519")
        if len(pq_sig) != MLDSA65_SIG_LEN:
            raise SignatureInvalid("ml-dsa-65 signature has the wrong length", algorithm="ml-dsa-65")
        try:
            self.ed25519_key.verify(ed_sig, message)
        except InvalidSignature as exc:
            raise SignatureInvalid("ed25519 signature does not verify", algorithm="ed25519") from exc
        try:
            self.mldsa_key.verify(pq_sig, message)
        except InvalidSignature as exc:
            raise SignatureInvalid("ml-dsa-65 signature does not verify", algorithm="ml-dsa-65") from exc


@dataclass(frozen=True)
class HybridSigner:
    """The private halves of a hybrid signing key."""

    ed25519_key: ed25519.Ed25519PrivateKey
    mldsa_key: mldsa.MLDSA65PrivateKey

    def sign(self, domain: str, payload: bytes) -> HybridSignature:
        message = signing_message(domain, payload)
        return HybridSignature(
            ed25519=b64encode(self.ed25519_key.sign(message)),
            ml_dsa_65=b64encode(self.mldsa_key.sign(message)),
        )

    @property
    def verifier(self) -> HybridVerifier:
        return HybridVerifier(self.ed25519_key.public_key(), self.mldsa_key.public_key())
