"""Cryptography of airrc: canonical JSON, hybrid signatures, HPKE sealing, node keys and cards."""

from airrc.crypto.canonical import b64decode, b64encode, canonical_bytes, parse_json, sha256_hex
from airrc.crypto.keys import NodeIdentity, PublicKeys, c2sp_vkey, write_private_file
from airrc.crypto.sealing import SealedBody, open_sealed, seal
from airrc.crypto.signing import HybridSignature, HybridSigner, HybridVerifier
from airrc.crypto.trust import (
    NodeCard,
    card_fingerprint,
    make_genesis_card,
    parse_card,
    rotate_card,
    verify_card,
    verify_rotation,
)

__all__ = [
    "HybridSignature",
    "HybridSigner",
    "HybridVerifier",
    "NodeCard",
    "NodeIdentity",
    "PublicKeys",
    "SealedBody",
    "b64decode",
    "b64encode",
    "c2sp_vkey",
    "canonical_bytes",
    "card_fingerprint",
    "make_genesis_card",
    "open_sealed",
    "parse_card",
    "parse_json",
    "rotate_card",
    "seal",
    "sha256_hex",
    "verify_card",
    "verify_rotation",
    "write_private_file",
]
