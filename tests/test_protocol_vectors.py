"""docs/protocol-vectors.json must stay true of the implementation (see docs/protocol.md)."""

import base64
import hashlib
import importlib.util
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from airrc.crypto.canonical import canonical_bytes
from airrc.crypto.keys import NodeIdentity
from airrc.crypto.sealing import SealedBody, open_sealed
from airrc.crypto.signing import HybridSignature
from airrc.crypto.trust import NodeCard, card_fingerprint, verify_card
from airrc.statements import STATEMENT_DOMAIN, SignedStatement, Statement

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "docs" / "protocol-vectors.json").read_text())


def _generator():
    spec = importlib.util.spec_from_file_location(
        "protocol_vectors", ROOT / "scripts" / "protocol_vectors.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cards_and_node_ids():
    gen = _generator()
    for who in ("sender", "recipient"):
        card = verify_card(NodeCard.model_validate(VECTORS[f"{who}_card"]))
        assert card.id == card_fingerprint(card.unsigned_doc())
        # Keys re-derive from the published seeds.
        assert card.keys == gen.fixed_identity(who).public_keys()


def test_statement_bytes_digest_and_signatures():
    vec = VECTORS["statement"]
    statement = Statement.model_validate(vec["value"])
    assert statement.signed_bytes().hex() == vec["canonical_hex"]
    assert canonical_bytes(vec["value"]).hex() == vec["canonical_hex"]
    signatures = HybridSignature.model_validate(vec["signatures"])
    sender = NodeCard.model_validate(VECTORS["sender_card"])
    sender.keys.verifier().verify(STATEMENT_DOMAIN, statement.signed_bytes(), signatures)
    # Ed25519 is deterministic: the same key and message give the published signature.
    identity = _generator().fixed_identity("sender")
    message = (vec["signing_input_prefix"]).encode() + bytes.fromhex(vec["canonical_hex"])
    assert base64.b64encode(identity.ed25519_key.sign(message)).decode() == signatures.ed25519
    signed = SignedStatement(statement=statement, signatures=signatures)
    assert signed.canonical().hex() == vec["signed_statement_canonical_hex"]
    assert (
        hashlib.sha256(bytes.fromhex(vec["signed_statement_canonical_hex"])).hexdigest() == vec["digest_hex"]
    )


def test_sealed_body_opens_with_the_published_recipient_key():
    vec = VECTORS["sealed"]
    keys = vec["recipient_private_keys"]
    fixed = _generator().fixed_identity("recipient")
    recipient = NodeIdentity(
        fixed.ed25519_key,
        fixed.mldsa_key,
        mlkem.MLKEM768PrivateKey.from_seed_bytes(base64.b64decode(keys["ml_kem_768_seed"])),
        x25519.X25519PrivateKey.from_private_bytes(base64.b64decode(keys["x25519"])),
    )
    sender = NodeCard.model_validate(VECTORS["sender_card"])
    recipient_card = NodeCard.model_validate(VECTORS["recipient_card"])
    body = open_sealed(
        SealedBody.model_validate(vec["value"]),
        recipient=recipient,
        recipient_id=recipient_card.id,
        sender_id=sender.id,
        sender_verifier=sender.keys.verifier(),
        kind=vec["kind"],
        max_bytes=1 << 20,
    )
    assert body == vec["plaintext_body"]
