import base64

import pytest

from airrc.crypto.keys import NodeIdentity
from airrc.crypto.sealing import SealedBody, open_sealed, seal
from airrc.crypto.signing import HybridSignature
from airrc.errors import ConfigError, SealError, SignatureInvalid

SENDER, ALICE, BOB = "a" * 64, "b" * 64, "c" * 64


@pytest.fixture(scope="module")
def keys():
    return {name: NodeIdentity.generate() for name in ("sender", "alice", "bob")}


def _flip(b64: str, index: int = 5) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_hybrid_signature_verifies(keys):
    signer = keys["sender"].signer
    sig = signer.sign("airrc/test/v1", b"payload")
    signer.verifier.verify("airrc/test/v1", b"payload", sig)


@pytest.mark.parametrize("field", ["ed25519", "ml_dsa_65"])
def test_each_tampered_signature_is_refused(keys, field):
    signer = keys["sender"].signer
    sig = signer.sign("airrc/test/v1", b"payload")
    tampered = sig.model_copy(update={field: _flip(getattr(sig, field))})
    with pytest.raises(SignatureInvalid) as err:
        signer.verifier.verify("airrc/test/v1", b"payload", tampered)
    assert err.value.code == "crypto.bad_signature"
    assert err.value.details["algorithm"] == {"ed25519": "ed25519", "ml_dsa_65": "ml-dsa-65"}[field]


def test_signature_is_bound_to_domain_and_payload(keys):
    signer = keys["sender"].signer
    sig = signer.sign("airrc/test/v1", b"payload")
    for domain, payload in (("airrc/other/v1", b"payload"), ("airrc/test/v1", b"payloaD")):
        with pytest.raises(SignatureInvalid):
            signer.verifier.verify(domain, payload, sig)


def test_signature_from_other_key_is_refused(keys):
    sig = keys["alice"].signer.sign("d", b"m")
    with pytest.raises(SignatureInvalid):
        keys["sender"].signer.verifier.verify("d", b"m", sig)


def test_truncated_signature_is_refused(keys):
    sig = keys["sender"].signer.sign("d", b"m")
    short = HybridSignature(ed25519=sig.ed25519, ml_dsa_65=base64.b64encode(b"x" * 10).decode())
    with pytest.raises(SignatureInvalid, match="wrong length"):
        keys["sender"].signer.verifier.verify("d", b"m", short)


def _seal(keys, body=None):
    return seal(
        body or {"msg": "substation 4 under attack", "n": 1},
        sender=keys["sender"],
        sender_id=SENDER,
        recipients={ALICE: keys["alice"].public_keys(), BOB: keys["bob"].public_keys()},
        kind="hotline.message",
    )


def _open(keys, sealed, who="alice", who_id=ALICE, kind="hotline.message", sender_id=SENDER):
    return open_sealed(
        sealed,
        recipient=keys[who],
        recipient_id=who_id,
        sender_id=sender_id,
        sender_verifier=keys["sender"].signer.verifier,
        kind=kind,
        max_bytes=1 << 20,
    )


def test_seal_opens_for_each_recipient(keys):
    sealed = _seal(keys)
    assert _open(keys, sealed) == {"msg": "substation 4 under attack", "n": 1}
    assert _open(keys, sealed, "bob", BOB)["n"] == 1
    assert b"substation" not in sealed.model_dump_json().encode()


def test_wrong_recipient_cannot_open(keys):
    sealed = _seal(keys)
    # Bob's key on Alice's part: the HPKE decryption fails.
    with pytest.raises(SealError) as err:
        _open(keys, sealed, "bob", ALICE)
    assert err.value.code == "crypto.seal_open_failed"
    with pytest.raises(SealError) as missing:
        _open(keys, sealed, "sender", SENDER)
    assert missing.value.code == "crypto.seal_not_recipient"


@pytest.mark.parametrize("change", ["kind", "sender"])
def test_altered_info_does_not_open(keys, change):
    sealed = _seal(keys)
    kwargs = {"kind": "hotline.ack"} if change == "kind" else {"sender_id": "d" * 64}
    with pytest.raises(SealError) as err:
        _open(keys, sealed, **kwargs)
    assert err.value.code == "crypto.seal_open_failed"


def test_ciphertext_moved_between_recipients_does_not_open(keys):
    sealed = _seal(keys)
    swapped = SealedBody(recipients={ALICE: sealed.recipients[BOB]})
    with pytest.raises(SealError):
        _open(keys, swapped)


def test_inner_signature_must_be_the_senders(keys):
    # Someone holding Alice's public key seals "as the sender" but signs with their own key.
    forged = seal(
        {"x": 1},
        sender=keys["bob"],
        sender_id=SENDER,
        recipients={ALICE: keys["alice"].public_keys()},
        kind="hotline.message",
    )
    with pytest.raises(SealError) as err:
        _open(keys, forged)
    assert err.value.code == "crypto.seal_bad_signature"


def test_key_file_roundtrip_and_permissions(tmp_path):
    identity = NodeIdentity.generate()
    path = identity.save(tmp_path / "keys")
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = NodeIdentity.load(tmp_path / "keys")
    assert loaded.public_keys() == identity.public_keys()
    path.chmod(0o644)
    with pytest.raises(ConfigError) as err:
        NodeIdentity.load(tmp_path / "keys")
    assert err.value.code == "config.key_permissions"
    assert not list((tmp_path / "keys").glob("*.tmp"))
