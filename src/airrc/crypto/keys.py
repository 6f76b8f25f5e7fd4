"""Node key bundles: Ed25519 + ML-DSA-65 for signing, ML-KEM-768 + X25519 for HPKE.

Private keys are stored as one JSON file under ``$AIRRC_HOME/keys/``, mode 0600, written by temp file and
``os.replace`` so a crash never leaves half a key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem, x25519
from pydantic import BaseModel, ConfigDict, Field

from airrc.config import NO_NODE_HINT
from airrc.crypto.canonical import b64decode, b64encode
from airrc.crypto.signing import HybridSigner, HybridVerifier
from airrc.errors import ConfigError, CryptoError, InputError

__all__ = ["NodeIdentity", "PublicKeys", "c2sp_ed25519_key_id", "c2sp_vkey", "write_private_file"]

KEY_FILE = "node-keys.json"
HPKE_KEM: Literal["MLKEM768_X25519"] = "MLKEM768_X25519"
ED25519_SIGNATURE_TYPE = b"\x01"


class PublicKeys(BaseModel):
    """The public half of a node's key bundle, base64 raw encodings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ed25519: str = Field(min_length=44, max_length=44)
    ml_dsa_65: str = Field(min_length=1, max_length=2700)
    hpke_kem: Literal["MLKEM768_X25519"] = HPKE_KEM
    ml_kem_768: str = Field(min_length=1, max_length=1600)
    x25519: str = Field(min_length=44, max_length=44)

    def verifier(self) -> HybridVerifier:
        """The signature verifier for these keys; malformed key material raises."""
        try:
            return HybridVerifier(
                ed25519.Ed25519PublicKey.from_public_bytes(b64decode(self.ed25519, what="ed25519 key")),
                mldsa.MLDSA65PublicKey.from_public_bytes(b64decode(self.ml_dsa_65, what="ml-dsa-65 key")),
            )
        except (ValueError, InputError) as exc:
            raise CryptoError("malformed signing public key", code="crypto.bad_key") from exc

    def hpke_public_key(self) -> hpke.MLKEM768X25519PublicKey:
        try:
            return hpke.MLKEM768X25519PublicKey(
                mlkem.MLKEM768PublicKey.from_public_bytes(b64decode(self.ml_kem_768, what="ml-kem key")),
                x25519.X25519PublicKey.from_public_bytes(b64decode(self.x25519, what="x25519 key")),
            )
        except (ValueError, InputError) as exc:
            raise CryptoError("malformed HPKE public key", code="crypto.bad_key") from exc

    def ed25519_raw(self) -> bytes:
        return b64decode(self.ed25519, what="ed25519 key")


# C2SP signed-note signature types: Ed25519 note signatures, and tlog-cosignature/v1 (timestamped Ed25519).
COSIGNATURE_TYPE = b"\x04"


def c2sp_key_id(key_name: str, signature_type: bytes, public_key: bytes) -> bytes:
    """C2SP signed-note key id: SHA-256(name || 0x0A || type || pk)[:4]."""
    return hashlib.sha256(key_name.encode() + b"\n" + signature_type + public_key).digest()[:4]


def c2sp_ed25519_key_id(key_name: str, public_key: bytes) -> bytes:
    """C2SP signed-note key id: SHA-256(name || 0x0A || 0x01 || pk)[:4]."""
    return c2sp_key_id(key_name, ED25519_SIGNATURE_TYPE, public_key)


def c2sp_vkey(key_name: str, public_key: bytes, signature_type: bytes = ED25519_SIGNATURE_TYPE) -> str:
    """C2SP verifier key string ``name+hex(keyid)+base64(type||pk)`` (type 0x01 note signer, 0x04 cosigner)."""
    if not key_name or "+" in key_name or any(ch.isspace() for ch in key_name):
        raise InputError("key name must be non-empty without spaces or '+'", code="input.bad_key_name")
    key_id = c2sp_key_id(key_name, signature_type, public_key)
    material = b64encode(signature_type + public_key)
    return f"{key_name}+{key_id.hex()}+{material}"


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, atomically (temp file, fsync, ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class NodeIdentity:
    """A node's private key bundle."""

    ed25519_key: ed25519.Ed25519PrivateKey
    mldsa_key: mldsa.MLDSA65PrivateKey
    mlkem_key: mlkem.MLKEM768PrivateKey
    x25519_key: x25519.X25519PrivateKey

    @classmethod
    def generate(cls) -> NodeIdentity:
        return cls(
            ed25519.Ed25519PrivateKey.generate(),
            mldsa.MLDSA65PrivateKey.generate(),
            mlkem.MLKEM768PrivateKey.generate(),
            x25519.X25519PrivateKey.generate(),
        )

    @property
    def signer(self) -> HybridSigner:
        return HybridSigner(self.ed25519_key, self.mldsa_key)

    @property
    def hpke_private_key(self) -> hpke.MLKEM768X25519PrivateKey:
        return hpke.MLKEM768X25519PrivateKey(self.mlkem_key, self.x25519_key)

    def public_keys(self) -> PublicKeys:
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        return PublicKeys(
            ed25519=b64encode(self.ed25519_key.public_key().public_bytes(*raw)),
            ml_dsa_65=b64encode(self.mldsa_key.public_key().public_bytes_raw()),
            ml_kem_768=b64encode(self.mlkem_key.public_key().public_bytes_raw()),
            x25519=b64encode(self.x25519_key.public_key().public_bytes(*raw)),
        )

    def to_json(self) -> bytes:
        raw = serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        doc = {
            "v": 1,
            "ed25519": b64encode(self.ed25519_key.private_bytes(*raw)),
            "ml_dsa_65_seed": b64encode(self.mldsa_key.private_bytes_raw()),
            "ml_kem_768_seed": b64encode(self.mlkem_key.private_bytes_raw()),
            "x25519": b64encode(self.x25519_key.private_bytes(*raw)),
        }
        return json.dumps(doc, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> NodeIdentity:
        try:
            doc = json.loads(data)
            if doc.get("v") != 1:
                raise ConfigError("unsupported key file version", code="config.bad_key_file")
            return cls(
                ed25519.Ed25519PrivateKey.from_private_bytes(b64decode(doc["ed25519"])),
                mldsa.MLDSA65PrivateKey.from_seed_bytes(b64decode(doc["ml_dsa_65_seed"])),
                mlkem.MLKEM768PrivateKey.from_seed_bytes(b64decode(doc["ml_kem_768_seed"])),
                x25519.X25519PrivateKey.from_private_bytes(b64decode(doc["x25519"])),
            )
        except (KeyError, TypeError, ValueError, AttributeError, InputError) as exc:
            raise ConfigError("the node key file is malformed", code="config.bad_key_file") from exc

    def save(self, keys_dir: Path, name: str = KEY_FILE) -> Path:
        path = keys_dir / name
        write_private_file(path, self.to_json())
        return path

    @classmethod
    def load(cls, keys_dir: Path, name: str = KEY_FILE) -> NodeIdentity:
        path = keys_dir / name
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError as exc:
            raise ConfigError(f"no node keys at {path}: {NO_NODE_HINT}", code="config.no_keys") from exc
        if mode & 0o077:
            raise ConfigError(
                f"{path} is readable by others (mode {mode:o}); chmod 600 it", code="config.key_permissions"
            )
        return cls.from_json(path.read_bytes())
