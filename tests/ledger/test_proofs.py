"""Offline evidence (ledger/proofs.py): card chains, a keyring over them, checkpoints signed by a chain,
and statements proven in their issuer's log; every way a bundle can be wrong is refused with its code."""

import copy
from datetime import timedelta

import pytest
from sqlalchemy import select

from airrc.crypto.keys import NodeIdentity
from airrc.crypto.trust import make_genesis_card, rotate_card
from airrc.errors import CryptoError, LedgerError, StatementError, TrustError, UnknownIssuer
from airrc.ledger.checkpoint import parse_checkpoint_text
from airrc.ledger.proofs import (
    ChainKeyring,
    decode_hashes,
    encode_hashes,
    proven_item,
    verified_chain,
    verify_note_with_chain,
    verify_proven,
)
from airrc.store.statements import StatementRow

MAX = 1 << 20


@pytest.fixture
def proven(node):
    """Three of the node's statements, each with its proof against one checkpoint of its log."""
    with node.store.session() as session:
        signed = [node.publish_roster(session) for _ in range(3)]
        note = node.ledger.checkpoint(session)
        checkpoint = parse_checkpoint_text(note.text)
        items = []
        for s in signed:
            index = session.scalar(
                select(StatementRow.log_index).where(StatementRow.statement_id == s.statement.id)
            )
            items.append(proven_item(s, index, node.ledger.inclusion_proof(session, index, checkpoint.size)))
    return node, note, checkpoint, items


def _verify(node, checkpoint, item, **kwargs):
    keyring = kwargs.pop("keyring", ChainKeyring({node.id: node.card_chain()}))
    checkpoints = kwargs.pop("checkpoints", {node.id: checkpoint})
    return verify_proven(item, keyring=keyring, checkpoints=checkpoints, max_bytes=MAX)


def _code(fn, *args, **kwargs):
    with pytest.raises((LedgerError, TrustError, StatementError, CryptoError)) as refused:
        fn(*args, **kwargs)
    return refused.value.code


def test_a_proven_statement_verifies_offline(proven):
    node, _note, checkpoint, items = proven
    for item in items:
        assert _verify(node, checkpoint, item).statement.issuer == node.id


def test_wrong_index_or_proof_is_not_in_the_log(proven):
    node, _note, checkpoint, items = proven
    moved = {**items[0], "index": items[1]["index"]}
    assert _code(_verify, node, checkpoint, moved) == "ledger.not_in_log"
    other_proof = {**items[0], "proof": items[1]["proof"]}
    assert _code(_verify, node, checkpoint, other_proof) == "ledger.not_in_log"
    beyond = {**items[0], "index": checkpoint.size}
    assert _code(_verify, node, checkpoint, beyond) == "ledger.not_in_log"


def test_malformed_items_are_bad_proofs(proven):
    node, _note, checkpoint, items = proven
    for broken in (
        "not an object",
        {"index": 0, "proof": []},
        {**items[0], "index": True},
        {**items[0], "index": "0"},
        {**items[0], "proof": "AAAA"},
        {**items[0], "proof": ["not base64!"]},
        {**items[0], "proof": ["AAAA"] * 65},
    ):
        assert _code(_verify, node, checkpoint, broken) == "ledger.bad_proof", broken


def test_the_issuer_needs_a_checkpoint_and_a_card(proven):
    node, _note, checkpoint, items = proven
    assert _code(_verify, node, checkpoint, items[0], checkpoints={}) == "ledger.no_checkpoint"
    with pytest.raises(UnknownIssuer):
        _verify(node, checkpoint, items[0], keyring=ChainKeyring({}))


def test_a_tampered_statement_fails_its_signatures(proven):
    node, _note, checkpoint, items = proven
    tampered = copy.deepcopy(items[0])
    tampered["statement"]["statement"]["body"]["entries"] = []
    with pytest.raises((StatementError, CryptoError)):
        _verify(node, checkpoint, tampered)


def test_checkpoints_verify_only_with_their_nodes_chain(proven):
    node, note, checkpoint, _items = proven
    assert verify_note_with_chain(note, node.card_chain()) == checkpoint
    stranger = make_genesis_card(NodeIdentity.generate(), name="stranger")
    assert _code(verify_note_with_chain, note, [stranger]) == "ledger.bad_checkpoint"


def test_card_chains_are_self_certifying_and_rotations_must_follow():
    first, second = NodeIdentity.generate(), NodeIdentity.generate()
    genesis = make_genesis_card(first, name="sg-aisi")
    rotated = rotate_card(genesis, first, second, valid_from=genesis.valid_from + timedelta(days=1))
    chain = verified_chain([genesis.to_json(), rotated.to_json()])
    assert [c.serial for c in chain] == [0, 1]
    keyring = ChainKeyring({genesis.id: chain})

    def key_at(moment):
        return keyring.verifier_for(genesis.id, moment).ed25519_key.public_bytes_raw()

    assert key_at(rotated.valid_from) == rotated.keys.ed25519_raw()
    assert key_at(genesis.valid_from) == genesis.keys.ed25519_raw()
    assert _code(verified_chain, []) == "trust.bad_chain"
    assert _code(verified_chain, "cards") == "trust.bad_chain"
    assert _code(verified_chain, [{"name": "x"}]) == "trust.bad_chain"
    with pytest.raises((TrustError, CryptoError)):
        verified_chain([rotated.to_json(), genesis.to_json()])
    renamed = {**genesis.to_json(), "name": "us-caisi"}
    with pytest.raises((TrustError, CryptoError)):
        verified_chain([renamed])


def test_hashes_round_trip():
    hashes = [bytes([i]) * 32 for i in range(3)]
    assert decode_hashes(encode_hashes(hashes)) == hashes
