"""docs/protocol-vectors.json must stay true of the implementation (see docs/protocol.md)."""

import base64
import hashlib
import hmac
import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jcs
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from airrc.crypto.canonical import canonical_bytes, parse_json
from airrc.crypto.keys import NodeIdentity
from airrc.crypto.sealing import SealedBody, open_sealed
from airrc.crypto.signing import HybridSignature
from airrc.crypto.trust import NodeCard, card_fingerprint, verify_card, verify_rotation
from airrc.errors import InputError
from airrc.federation import httpsig
from airrc.ledger.merkle import verify_consistency
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


# -- checks written from the specifications, not through the code under test -------------------------------


def test_sealing_keys_are_x_wing_seeds_expanded():
    gen = _generator()
    keys = VECTORS["sealed"]["recipient_private_keys"]
    seed = base64.b64decode(keys["x_wing_seed"])
    expanded = hashlib.shake_256(seed).digest(96)  # draft-connolly-cfrg-xwing-kem: expandDecapsulationKey
    assert base64.b64decode(keys["ml_kem_768_seed"]) == expanded[:64]
    assert base64.b64decode(keys["x25519"]) == expanded[64:]
    assert gen.expand_x_wing_seed(seed) == (expanded[:64], expanded[64:])


def _labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or b"\0" * 32, b"HPKE-v1" + suite + label + ikm, hashlib.sha256).digest()


def _labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    info = length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info
    out, block, counter = b"", b"", 1
    while len(out) < length:  # HKDF-Expand (RFC 5869)
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def test_sealed_statement_opens_with_x_wing_and_rfc_9180_written_out():
    """X-Wing decapsulation and the RFC 9180 base-mode key schedule by hand: the suite is exactly KEM 0x647A,
    KDF 0x0001, AEAD 0x0002, with ``enc`` = ML-KEM ciphertext || X25519 ephemeral key."""
    vec = VECTORS["sealed"]
    hpke = vec["hpke"]
    assert (hpke["kem_id"], hpke["kdf_id"], hpke["aead_id"]) == (0x647A, 1, 2)
    keys = vec["recipient_private_keys"]
    mlkem_sk = mlkem.MLKEM768PrivateKey.from_seed_bytes(base64.b64decode(keys["ml_kem_768_seed"]))
    x_sk = x25519.X25519PrivateKey.from_private_bytes(base64.b64decode(keys["x25519"]))
    card = NodeCard.model_validate(VECTORS["recipient_card"])
    recipient_id = card.id
    ciphertext = base64.b64decode(vec["value"]["recipients"][recipient_id])
    enc, sealed = ciphertext[:1120], ciphertext[1120:]
    ct_m, ct_x = enc[:1088], enc[1088:]
    pk_x = x_sk.public_key().public_bytes_raw()
    assert base64.b64decode(card.keys.x25519) == pk_x
    ss_m = mlkem_sk.decapsulate(ct_m)
    ss_x = x_sk.exchange(x25519.X25519PublicKey.from_public_bytes(ct_x))
    shared = hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + b"\\.//^\\").digest()  # X-Wing combiner
    suite = b"HPKE" + (0x647A).to_bytes(2, "big") + (1).to_bytes(2, "big") + (2).to_bytes(2, "big")
    info = bytes.fromhex(hpke["info_hex"])
    context = (
        b"\x00"
        + _labeled_extract(suite, b"", b"psk_id_hash", b"")
        + _labeled_extract(suite, b"", b"info_hash", info)
    )
    secret = _labeled_extract(suite, shared, b"secret", b"")
    key = _labeled_expand(suite, secret, b"key", context, 32)
    nonce = _labeled_expand(suite, secret, b"base_nonce", context, 12)
    payload = json.loads(AESGCM(key).decrypt(nonce, sealed, b""))
    assert payload["body"] == vec["plaintext_body"]
    assert payload["recipient"] == recipient_id


def test_jcs_vectors_hold_here_and_in_an_independent_implementation():
    for case in VECTORS["jcs"]["accepted"]:
        expected = bytes.fromhex(case["canonical_hex"])
        assert canonical_bytes(parse_json(case["json"], max_bytes=1 << 16)) == expected
        assert jcs.canonicalize(json.loads(case["json"])) == expected
    for case in VECTORS["jcs"]["refused"]:
        with pytest.raises(InputError) as refused:
            canonical_bytes(parse_json(case["json"], max_bytes=1 << 16))
        assert refused.value.code == case["code"], case


def test_rfc_9421_request_and_response_vectors():
    vec = VECTORS["httpsig"]
    sender = NodeCard.model_validate(VECTORS["sender_card"])
    receiver = NodeCard.model_validate(VECTORS["recipient_card"])
    request = vec["request"]
    long_ago = timedelta(days=365 * 100)  # the vectors are dated; the 300 s window is not what is tested
    sender_id, nonce, _ = httpsig.verify_request(
        request["method"],
        request["url"],
        list(request["headers"].items()),
        request["body"].encode(),
        lookup=lambda k: sender.keys.verifier() if k == sender.id else None,
        max_age=long_ago,
    )
    assert (sender_id, nonce) == (sender.id, "vector-nonce-0001")
    # Ed25519 is deterministic: the same key, time and nonce sign to the same bytes (ML-DSA-65 is randomised,
    # so only its parameters are compared).
    again = httpsig.sign_request(
        request["method"],
        request["url"],
        request["body"].encode(),
        key=_generator().fixed_identity("sender").signer,
        key_id=sender.id,
        now=datetime.fromtimestamp(1795348800, UTC),
        nonce="vector-nonce-0001",
    )
    assert again.headers["signature-input"] == request["headers"]["signature-input"]
    ed25519_member = request["headers"]["signature"].split(", ")[0]
    assert ed25519_member.startswith("airrc=:")
    assert again.headers["signature"].split(", ")[0] == ed25519_member
    response = vec["response"]
    httpsig.verify_response(
        response["status"],
        list(response["headers"].items()),
        response["body"].encode(),
        request_method=request["method"],
        request_url=request["url"],
        request_headers=list(request["headers"].items()),
        key=receiver.keys.verifier(),
        key_id=receiver.id,
        max_age=long_ago,
    )


def _mth(entries: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, recursively as written."""
    if len(entries) == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1 << ((len(entries) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(entries[:k]) + _mth(entries[k:])).digest()


def _root_from_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2."""
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise AssertionError("proof too long")
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0
    return r


def _parse_vkey(vkey: str) -> tuple[str, bytes, bytes, bytes]:
    name, key_id, material = vkey.split("+", 2)
    raw = base64.b64decode(material)
    return name, bytes.fromhex(key_id), raw[:1], raw[1:]


def test_ledger_vectors_checked_from_rfc_9162_and_c2sp():
    vec = VECTORS["ledger"]
    entries = [bytes.fromhex(e) for e in vec["entries_hex"]]
    root = bytes.fromhex(vec["root_hex"])
    assert _mth(entries) == root
    for case in vec["inclusion"]:
        leaf = hashlib.sha256(b"\x00" + entries[case["index"]]).digest()
        proof = [bytes.fromhex(h) for h in case["proof_hex"]]
        assert _root_from_inclusion(case["index"], 7, leaf, proof) == root
    for case in vec["consistency"]:
        old_root = _mth(entries[: case["old"]])
        verify_consistency(case["old"], 7, old_root, root, [bytes.fromhex(h) for h in case["proof_hex"]])

    # The checkpoint: C2SP signed-note, Ed25519 line checked with the log's vkey (type 0x01).
    text, _, signatures = vec["checkpoint_note"].partition("\n\n")
    text += "\n"
    assert text.splitlines()[1:] == ["7", base64.b64encode(root).decode()]
    name, key_id, sig_type, public = _parse_vkey(vec["log_vkey"])
    assert sig_type == b"\x01"
    assert hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4] == key_id
    lines = [line.split(" ") for line in signatures.splitlines()]
    ours = [base64.b64decode(sig) for dash, who, sig in lines if dash == "\u2014" and who == name]
    ed_line = next(s for s in ours if s[:4] == key_id)
    ed25519.Ed25519PublicKey.from_public_bytes(public).verify(ed_line[4:], text.encode())

    # The cosignature: C2SP tlog-cosignature/v1 with the witness card's cosigner_vkey (type 0x04).
    w_name, w_key_id, w_type, w_public = _parse_vkey(vec["witness_cosigner_vkey"])
    assert w_type == b"\x04"
    assert hashlib.sha256(w_name.encode() + b"\n\x04" + w_public).digest()[:4] == w_key_id
    dash, who, material = vec["cosignature_line"].rstrip("\n").split(" ")
    assert (dash, who) == ("\u2014", w_name)
    raw = base64.b64decode(material)
    assert raw[:4] == w_key_id
    timestamp = int.from_bytes(raw[4:12], "big")
    assert timestamp == vec["cosignature_timestamp"]
    message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
    ed25519.Ed25519PublicKey.from_public_bytes(w_public).verify(raw[12:], message)
    witness = NodeCard.model_validate(VECTORS["recipient_card"])
    assert base64.b64decode(witness.keys.ed25519) == w_public  # the cosigner key is the card's Ed25519 key


def test_card_rotation_vector():
    previous = NodeCard.model_validate(VECTORS["card_rotation"]["previous"])
    rotated = NodeCard.model_validate(VECTORS["card_rotation"]["rotated"])
    assert verify_rotation(previous, rotated) == rotated
    assert (rotated.id, rotated.serial) == (previous.id, 1)
