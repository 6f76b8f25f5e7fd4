from datetime import UTC, datetime, timedelta

import pytest

from airrc.crypto.keys import NodeIdentity
from airrc.crypto.trust import make_genesis_card, rotate_card
from airrc.errors import CardRotationRefused, Conflict, TrustError, UnknownIssuer
from airrc.trust.peers import parse_card_chain


@pytest.fixture
def peer():
    first, second = NodeIdentity.generate(), NodeIdentity.generate()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    genesis = make_genesis_card(first, name="cn-aisi", valid_from=t0)
    rotated = rotate_card(genesis, first, second, valid_from=t0 + timedelta(days=30))
    return first, second, genesis, rotated


def test_pin_genesis_then_rotation(database_url, make_node, peer):
    node = make_node("us-peers", database_url=database_url)
    first, second, genesis, rotated = peer
    with node.store.session() as session:
        node.trust.pin_chain(session, [genesis])
    with node.store.session() as session:
        assert node.trust.pin_chain(session, [rotated]) == rotated
        assert [c.serial for c in node.trust.chain(session, genesis.id)] == [0, 1]
        assert [c.name for c in node.trust.peers(session)] == ["cn-aisi"]
    # The key in force depends on when the statement was issued.
    early = node.trust.verifier_for(genesis.id, genesis.valid_from + timedelta(days=1))
    late = node.trust.verifier_for(genesis.id, rotated.valid_from + timedelta(days=1))
    assert early.ed25519_key.public_bytes_raw() == first.public_keys().ed25519_raw()
    assert late.ed25519_key.public_bytes_raw() == second.public_keys().ed25519_raw()


def test_unknown_node_must_start_from_genesis(node, peer):
    _, _, _, rotated = peer
    with pytest.raises(TrustError) as err, node.store.session() as session:
        node.trust.pin_chain(session, [rotated])
    assert err.value.code == "trust.no_genesis"
    with pytest.raises(UnknownIssuer):
        node.trust.verifier_for(rotated.id, datetime.now(UTC))


def test_whole_chain_in_one_file(node, peer):
    _, _, genesis, rotated = peer
    import json

    chain = parse_card_chain(json.dumps([genesis.to_json(), rotated.to_json()]), max_bytes=1 << 20)
    with node.store.session() as session:
        assert node.trust.pin_chain(session, chain).serial == 1


def test_forged_rotation_and_conflicting_card_are_refused(node, peer):
    first, _, genesis, rotated = peer
    impostor = NodeIdentity.generate()
    forged = rotate_card(genesis, impostor, impostor)
    with node.store.session() as session:
        node.trust.pin_chain(session, [genesis])
    with pytest.raises(CardRotationRefused), node.store.session() as session:
        node.trust.pin_chain(session, [forged])
    with node.store.session() as session:
        node.trust.pin_chain(session, [rotated])
    other = rotate_card(genesis, first, NodeIdentity.generate())
    with pytest.raises(Conflict) as err, node.store.session() as session:
        node.trust.pin_chain(session, [other])
    assert err.value.code == "trust.card_conflict"
    with node.store.session() as session:
        assert node.trust.current(session, genesis.id) == rotated


def test_a_second_node_with_a_pinned_name_is_refused_and_a_rotation_keeps_it(node, peer):
    _, _, genesis, rotated = peer
    impostor = make_genesis_card(NodeIdentity.generate(), name="cn-aisi", valid_from=genesis.valid_from)
    own_name = make_genesis_card(NodeIdentity.generate(), name=node.name, valid_from=genesis.valid_from)
    with node.store.session() as session:
        node.trust.pin_chain(session, [genesis])
    for clash in (impostor, own_name):
        with pytest.raises(Conflict) as err, node.store.session() as session:
            node.trust.pin_chain(session, [clash])
        assert err.value.code == "trust.name_taken"
    with node.store.session() as session:
        node.trust.pin_chain(session, [rotated])
        assert node.trust.resolve(session, "cn-aisi").id == genesis.id
        assert node.trust.resolve(session, genesis.id).serial == 1
        assert [c.id for c in node.trust.peers(session)] == [genesis.id]
