import base64
import hashlib
import json

import pytest

from airrc.crypto.keys import NodeIdentity, c2sp_ed25519_key_id
from airrc.crypto.trust import (
    card_fingerprint,
    make_genesis_card,
    parse_card,
    rotate_card,
    verify_card,
    verify_rotation,
)
from airrc.errors import CardRotationRefused, InputError, TrustError


@pytest.fixture(scope="module")
def genesis():
    identity = NodeIdentity.generate()
    return identity, make_genesis_card(identity, name="us-caisi", endpoints=("https://us.example/airrc",))


def test_genesis_card_id_is_its_fingerprint(genesis):
    _, card = genesis
    verify_card(card)
    assert card.id == card_fingerprint(card.unsigned_doc())
    assert card.serial == 0


def test_vkey_follows_c2sp(genesis):
    identity, card = genesis
    name, key_id, material = card.vkey.split("+", 2)
    raw = identity.public_keys().ed25519_raw()
    assert name == card.origin
    assert bytes.fromhex(key_id) == hashlib.sha256(name.encode() + b"\n\x01" + raw).digest()[:4]
    assert bytes.fromhex(key_id) == c2sp_ed25519_key_id(name, raw)
    assert base64.b64decode(material) == b"\x01" + raw


def test_card_json_roundtrip(genesis):
    _, card = genesis
    again = parse_card(json.dumps(card.to_json()))
    assert verify_card(again) == card


def test_tampered_card_is_refused(genesis):
    _, card = genesis
    doc = card.to_json()
    doc["endpoints"] = ["https://attacker.example/"]
    with pytest.raises(TrustError) as err:
        verify_card(parse_card(json.dumps(doc)))
    assert err.value.code == "trust.bad_card_signature"


def test_malformed_card_names_the_field():
    with pytest.raises(InputError) as err:
        parse_card('{"v": 1, "name": "Bad Name"}')
    assert err.value.code == "trust.malformed_card"


def test_rotation_keeps_identity(genesis):
    identity, card = genesis
    new = NodeIdentity.generate()
    rotated = rotate_card(card, identity, new)
    assert verify_rotation(card, rotated) == rotated
    assert (rotated.id, rotated.origin, rotated.serial) == (card.id, card.origin, 1)
    assert rotated.keys == new.public_keys()


def test_rotation_not_signed_by_previous_keys_is_refused(genesis):
    _, card = genesis
    impostor = NodeIdentity.generate()
    # The impostor signs the "rotation" with its own keys instead of the current card's.
    forged = rotate_card(card, impostor, impostor)
    with pytest.raises(CardRotationRefused) as err:
        verify_rotation(card, forged)
    assert err.value.code == "trust.rotation_refused"


def test_rotation_that_skips_a_serial_is_refused(genesis):
    identity, card = genesis
    second = NodeIdentity.generate()
    r1 = rotate_card(card, identity, second)
    r2 = rotate_card(r1, second, NodeIdentity.generate())
    with pytest.raises(CardRotationRefused):
        verify_rotation(card, r2)
    verify_rotation(r1, r2)


def test_rotated_card_without_rotation_signature_is_refused(genesis):
    identity, card = genesis
    rotated = rotate_card(card, identity, NodeIdentity.generate())
    stripped = rotated.model_copy(update={"rotation": None})
    with pytest.raises(TrustError) as err:
        verify_card(stripped)
    assert err.value.code == "trust.rotation_refused"
