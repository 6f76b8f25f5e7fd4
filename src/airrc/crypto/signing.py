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

    @classmethod
    def from_b64(cls, ed25519_key: str, ml_dsa_65_key: str) -> HybridVerifier:
        """The verifier for two base64 raw public keys (a person's, as rosters publish them)."""
        try:
            return cls(
                ed25519.Ed25519PublicKey.from_public_bytes(b64decode(ed25519_key, what="ed25519 key")),
                mldsa.MLDSA65PublicKey.from_public_bytes(b64decode(ml_dsa_65_key, what="ml-dsa-65 key")),
            )
        except (InputError, ValueError) as exc:
            raise SignatureInvalid("a public key is malformed", algorithm="encoding") from exc

    def verify(self, domain: str, payload: bytes, signature: HybridSignature) -> None:
        self.verify_message(signing_message(domain, payload), signature)

    def verify_message(self, message: bytes, signature: HybridSignature) -> None:
        """Both halves over ``message`` (already domain-separated by its maker) or raise."""
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
        return self.sign_message(signing_message(domain, payload))

    def sign_message(self, message: bytes) -> HybridSignature:
        """Both halves over ``message``, which the caller has domain-separated."""
        return HybridSignature(
            ed25519=b64encode(self.ed25519_key.sign(message)),
            ml_dsa_65=b64encode(self.mldsa_key.sign(message)),
        )

    @property
    def verifier(self) -> HybridVerifier:
        return HybridVerifier(self.ed25519_key.public_key(), self.mldsa_key.public_key())

    @classmethod
    def generate(cls) -> HybridSigner:
        return cls(ed25519.Ed25519PrivateKey.generate(), mldsa.MLDSA65PrivateKey.generate())

    def private_bytes(self) -> bytes:
        """Ed25519 private key (32 bytes) then the ML-DSA-65 seed (32 bytes): what is sealed at rest."""
        return self.ed25519_key.private_bytes_raw() + self.mldsa_key.private_bytes_raw()

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> HybridSigner:
        if len(raw) != 64:
            raise ValueError("a hybrid private key is 64 bytes")
        return cls(
            ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32]),
            mldsa.MLDSA65PrivateKey.from_seed_bytes(raw[32:]),
        )

    def public_b64(self) -> tuple[str, str]:
        """(Ed25519, ML-DSA-65) raw public keys in base64, as rosters publish them."""
        verifier = self.verifier
        return (
            b64encode(verifier.ed25519_key.public_bytes_raw()),
            b64encode(verifier.mldsa_key.public_bytes_raw()),
        )
