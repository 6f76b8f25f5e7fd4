"""Offline evidence: card chains, a keyring over them, and statements proven in their issuer's log.

What bundles and transcripts carry so a third party can check them with no network and no database: the
issuers' card chains (self-certifying: a node id is its genesis card's fingerprint), each issuer's signed
checkpoint, and for each statement its index and RFC 9162 inclusion proof. Pure: no storage, no network.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from airrc.crypto.signing import HybridVerifier
from airrc.crypto.trust import NodeCard, verify_card, verify_rotation
from airrc.errors import LedgerError, ProofError, TrustError, UnknownIssuer
from airrc.ledger.checkpoint import Checkpoint, SignedNote, verify_checkpoint
from airrc.ledger.merkle import leaf_hash, verify_inclusion
from airrc.statements import SignedStatement, parse_signed_statement, verify_statement

__all__ = [
    "OFFLINE_CLOCK_SKEW",
    "ChainKeyring",
    "decode_hashes",
    "encode_hashes",
    "proven_item",
    "verified_chain",
    "verify_note_with_chain",
    "verify_proven",
]

# Offline there is no "now" worth trusting; a day of skew only stops absurd dates.
OFFLINE_CLOCK_SKEW = timedelta(days=1)


def verified_chain(docs: Any) -> list[NodeCard]:
    """A node's card chain from JSON: the genesis card and every rotation must verify."""
    if not isinstance(docs, list) or not docs or len(docs) > 64:
        raise TrustError("a card chain is a non-empty list of cards", code="trust.bad_chain")
    try:
        chain = [NodeCard.model_validate(doc) for doc in docs]
    except ValidationError as exc:
        raise TrustError("a card in the chain is malformed", code="trust.bad_chain") from exc
    verify_card(chain[0])
    for before, after in itertools.pairwise(chain):
        verify_rotation(before, after)
    return chain


class ChainKeyring:
    """A :class:`~airrc.statements.Keyring` over given card chains (no trust store, no database)."""

    def __init__(self, chains: Mapping[str, Sequence[NodeCard]]) -> None:
        self.chains = {node_id: list(chain) for node_id, chain in chains.items()}

    def verifier_for(self, issuer: str, at: datetime) -> HybridVerifier:
        chain = self.chains.get(issuer)
        if not chain:
            raise UnknownIssuer(f"no card for {issuer[:16]}")
        chosen = chain[0]
        for card in chain:
            if card.valid_from <= at:
                chosen = card
        return chosen.keys.verifier()


def verify_note_with_chain(note: SignedNote, chain: Sequence[NodeCard]) -> Checkpoint:
    """The checkpoint, if any card of the chain signed it (newest first)."""
    last: LedgerError | None = None
    for card in reversed(chain):
        try:
            return verify_checkpoint(note, card)
        except LedgerError as exc:
            last = exc
    raise ProofError("the checkpoint is not signed by its log's node", code="ledger.bad_checkpoint") from last


def encode_hashes(hashes: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def decode_hashes(items: Any) -> list[bytes]:
    if not isinstance(items, list) or len(items) > 64:
        raise ProofError("a proof is a list of at most 64 hashes", code="ledger.bad_proof")
    try:
        return [base64.b64decode(h, validate=True) for h in items]
    except (TypeError, ValueError) as exc:
        raise ProofError("a proof hash is not base64", code="ledger.bad_proof") from exc


def proven_item(signed: SignedStatement, index: int, proof: Sequence[bytes]) -> dict[str, Any]:
    return {"statement": signed.to_json(), "index": index, "proof": encode_hashes(proof)}


def verify_proven(
    item: Any,
    *,
    keyring: ChainKeyring,
    checkpoints: Mapping[str, Checkpoint],
    max_bytes: int,
) -> SignedStatement:
    """A statement with its inclusion proof: both signatures, and inclusion in its issuer's checkpoint."""
    if not isinstance(item, dict):
        raise ProofError("a proven statement is an object", code="ledger.bad_proof")
    statement = item.get("statement")
    if not isinstance(statement, dict):
        raise ProofError("a proven statement carries its signed statement", code="ledger.bad_proof")
    signed = parse_signed_statement(statement, max_bytes=max_bytes)
    issuer = signed.statement.issuer
    verify_statement(
        signed, keyring=keyring, for_node=issuer, max_bytes=max_bytes, clock_skew=OFFLINE_CLOCK_SKEW
    )
    checkpoint = checkpoints.get(issuer)
    if checkpoint is None:
        raise ProofError(f"no checkpoint for {issuer[:16]}", code="ledger.no_checkpoint")
    index = item.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise ProofError("a proven statement needs its log index", code="ledger.bad_proof")
    # A malformed proof is a bad proof, not evidence that the statement is missing from the log.
    proof = decode_hashes(item.get("proof"))
    try:
        verify_inclusion(leaf_hash(signed.digest()), index, checkpoint.size, proof, checkpoint.root)
    except LedgerError as exc:
        raise ProofError(
            f"statement {signed.statement.id} is not in its issuer's checkpointed log",
            code="ledger.not_in_log",
        ) from exc
    return signed
