"""Write docs/protocol-vectors.json: test vectors for docs/protocol.md, computed by the implementation.

Keys come from fixed seeds so anyone can re-derive them. Ed25519 signatures are deterministic; ML-DSA-65
(hedged) and HPKE (ephemeral keys) are randomized, so for those the vectors give one valid output that an
independent implementation must accept. tests/test_protocol_vectors.py checks the file stays true.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem, x25519

from airrc.crypto.canonical import b64encode, canonical_bytes, parse_json
from airrc.crypto.keys import NodeIdentity
from airrc.crypto.sealing import seal, seal_info
from airrc.crypto.trust import NodeCard, make_genesis_card, rotate_card
from airrc.federation.httpsig import sign_request, sign_response
from airrc.ledger import merkle
from airrc.ledger.checkpoint import Checkpoint, cosign, sign_checkpoint
from airrc.statements import STATEMENT_DOMAIN, Statement, sign_statement

OUT = Path(__file__).resolve().parent.parent / "docs" / "protocol-vectors.json"


def fixed_identity(label: str) -> NodeIdentity:
    def seed(part: str, n: int) -> bytes:
        out = b""
        counter = 0
        while len(out) < n:
            out += hashlib.sha256(f"airrc test vector/{label}/{part}/{counter}".encode()).digest()
            counter += 1
        return out[:n]

    mlkem_seed, x25519_scalar = expand_x_wing_seed(x_wing_seed(label))
    return NodeIdentity(
        ed25519.Ed25519PrivateKey.from_private_bytes(seed("ed25519", 32)),
        mldsa.MLDSA65PrivateKey.from_seed_bytes(seed("ml-dsa-65", 32)),
        mlkem.MLKEM768PrivateKey.from_seed_bytes(mlkem_seed),
        x25519.X25519PrivateKey.from_private_bytes(x25519_scalar),
    )


def x_wing_seed(label: str) -> bytes:
    """The 32-byte X-Wing (MLKEM768-X25519) private key of a vector identity, as X-Wing libraries load it."""
    return hashlib.sha256(f"airrc test vector/{label}/x-wing/0".encode()).digest()


def expand_x_wing_seed(seed: bytes) -> tuple[bytes, bytes]:
    """X-Wing's key expansion: SHAKE256(seed, 96) = ML-KEM-768 seed (d || z, 64 bytes) || X25519 scalar."""
    expanded = hashlib.shake_256(seed).digest(96)
    return expanded[:64], expanded[64:]


MOMENT = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
NONCE = "vector-nonce-0001"

JCS_CASES = [
    r'{"b": 2, "a": 1, "\u20ac": "euro", "\ud83d\ude00": "smile", "\u00e9": "e-acute"}',
    r"[1.0, 0.1, 1e-7, -0.0, 1E2, 9007199254740991, -9007199254740991, 0.000001, 123456789012345.6]",
    r'{"s": "tab\tnewline\nquote\"backslash\\ctrl\u001f del\u007f"}',
    r'{"nested": {"z": [true, false, null], "y": {}}, "empty": []}',
]
JCS_REFUSED = [
    (r"[9007199254740992]", "input.not_canonicalizable"),
    (r"[9007199254740993.0]", "input.not_canonicalizable"),
    (r"[9.1e15]", "input.not_canonicalizable"),
    (r"[295147905179352830000.0]", "input.number_out_of_range"),
    (r"[1e21]", "input.number_out_of_range"),
    (r"[9223372036854775808]", "input.number_out_of_range"),
    (r"[1e400]", "input.number_out_of_range"),
    (r"[NaN]", "input.malformed_json"),
    (r'{"a": "\ud800"}', "input.lone_surrogate"),
    (r'{"a": "\u0000"}', "input.nul_character"),
    (r'{"a": 1, "a": 2}', "input.malformed_json"),
]


def _jcs() -> dict[str, object]:
    accepted = []
    for text in JCS_CASES:
        value = parse_json(text, max_bytes=1 << 16)
        accepted.append({"json": text, "canonical_hex": canonical_bytes(value).hex()})
    return {"accepted": accepted, "refused": [{"json": t, "code": c} for t, c in JCS_REFUSED]}


def _httpsig(
    sender: NodeIdentity, sender_id: str, receiver: NodeIdentity, receiver_id: str
) -> dict[str, object]:
    url = "https://cn.example/airrc/federation/v1/statements"
    body = b'{"statements":[]}'
    request = sign_request("POST", url, body, key=sender.signer, key_id=sender_id, now=MOMENT, nonce=NONCE)
    answer = b'{"receipt":null,"accepted":[],"rejected":[]}'
    response = sign_response(
        200,
        answer,
        request_method="POST",
        request_url=url,
        request_headers=request.headers.items(),
        key=receiver.signer,
        key_id=receiver_id,
        now=MOMENT,
    )
    return {
        "request": {"method": "POST", "url": url, "body": body.decode(), "headers": request.headers},
        "response": {"status": 200, "body": answer.decode(), "headers": response},
        "note": "request by sender_card's keys, response by recipient_card's, each with two signatures: "
        "label airrc (Ed25519, deterministic) and airrc-pq (ML-DSA-65, randomised: verify it, do not compare "
        "its bytes); created is fixed, so verifiers of these vectors must not apply the 300 s window",
    }


def _ledger(
    sender: NodeIdentity, sender_card: NodeCard, witness: NodeIdentity, witness_card: NodeCard
) -> dict[str, object]:
    entries = [hashlib.sha256(f"statement {i}".encode()).digest() for i in range(7)]
    tree_root = merkle.root(entries)
    checkpoint = Checkpoint(sender_card.origin, len(entries), tree_root)
    note = sign_checkpoint(checkpoint, sender)
    timestamp = int(MOMENT.timestamp())
    cosignature = cosign(note, witness, witness_card.origin, timestamp)
    return {
        "entries_hex": [e.hex() for e in entries],
        "leaf_hashes_hex": [merkle.leaf_hash(e).hex() for e in entries],
        "root_hex": tree_root.hex(),
        "inclusion": [
            {"index": i, "size": 7, "proof_hex": [h.hex() for h in merkle.inclusion_proof(entries, i)]}
            for i in range(7)
        ],
        "consistency": [
            {"old": old, "size": 7, "proof_hex": [h.hex() for h in merkle.consistency_proof(entries, old)]}
            for old in range(1, 8)
        ],
        "checkpoint_note": note.serialise(),
        "log_vkey": sender_card.vkey,
        "cosignature_line": cosignature.line(),
        "cosignature_timestamp": timestamp,
        "witness_cosigner_vkey": witness_card.cosigner_vkey,
    }


def build() -> dict[str, object]:
    sender, recipient = fixed_identity("sender"), fixed_identity("recipient")
    moment = MOMENT
    sender_card = make_genesis_card(
        sender, name="us-vector", endpoints=("https://us.example/airrc",), valid_from=moment
    )
    recipient_card = make_genesis_card(
        recipient, name="cn-vector", endpoints=("https://cn.example/airrc",), valid_from=moment
    )
    statement = Statement(
        id="00000000-0000-4000-8000-000000000001",
        kind="example.note",
        issuer=sender_card.id,
        seq=1,
        issued_at="2026-11-22T12:00:00Z",
        audience=(recipient_card.id,),
        tlp="amber",
        refs=(),
        body={"title": "AI voice-clone fraud against a hospital", "severity": "high"},
    )
    signed = sign_statement(statement, sender.signer)
    sealed_body = {"message": "CI_ATTACK_NOTICE", "sector": "energy_power_grid"}
    sealed = seal(
        sealed_body,
        sender=sender,
        sender_id=sender_card.id,
        recipients={recipient_card.id: recipient.public_keys()},
        kind="hotline.message",
    )
    return {
        "note": "Generated by scripts/protocol_vectors.py; see docs/protocol.md.",
        "seeds": "each key from SHA-256('airrc test vector/<who>/<algorithm>/<counter>') blocks",
        "sender_card": sender_card.to_json(),
        "recipient_card": recipient_card.to_json(),
        "statement": {
            "value": statement.to_json(),
            "signing_input_prefix": STATEMENT_DOMAIN + "\n",
            "canonical_hex": statement.signed_bytes().hex(),
            "signatures": signed.signatures.model_dump(by_alias=True),
            "signed_statement_canonical_hex": signed.canonical().hex(),
            "digest_hex": signed.digest().hex(),
        },
        "sealed": {
            "kind": "hotline.message",
            "plaintext_body": sealed_body,
            "value": sealed.model_dump(mode="json"),
            "recipient_private_keys": {
                "x_wing_seed": b64encode(x_wing_seed("recipient")),
                "ml_kem_768_seed": b64encode(recipient.mlkem_key.private_bytes_raw()),
                "x25519": b64encode(recipient.x25519_key.private_bytes_raw()),
            },
            "hpke": {
                "mode": 0,
                "kem_id": 0x647A,
                "kdf_id": 0x0001,
                "aead_id": 0x0002,
                "info_hex": seal_info(sender_card.id, recipient_card.id, "hotline.message").hex(),
                "aad_hex": "",
                "public_key_layout": "ML-KEM-768 public key (1184 bytes) || X25519 public key (32 bytes)",
                "ciphertext_layout": "enc (ML-KEM-768 ciphertext 1088 bytes || X25519 ephemeral 32 bytes) "
                "|| AES-256-GCM ciphertext and tag",
            },
        },
        "jcs": _jcs(),
        "httpsig": _httpsig(sender, sender_card.id, recipient, recipient_card.id),
        "ledger": _ledger(sender, sender_card, recipient, recipient_card),
        "card_rotation": {
            "previous": sender_card.to_json(),
            "rotated": rotate_card(
                sender_card, sender, fixed_identity("sender-rotated"), valid_from=moment
            ).to_json(),
        },
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT}")
