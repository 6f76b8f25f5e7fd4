"""Transparency log: RFC 9162 Merkle tree, C2SP checkpoints, proofs and witnessing."""

from airrc.ledger.checkpoint import Checkpoint, SignedNote, parse_note, sign_checkpoint, verify_checkpoint
from airrc.ledger.log import TransparencyLog
from airrc.ledger.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from airrc.ledger.witness import Witness

__all__ = [
    "Checkpoint",
    "SignedNote",
    "TransparencyLog",
    "Witness",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "parse_note",
    "root",
    "sign_checkpoint",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
]
