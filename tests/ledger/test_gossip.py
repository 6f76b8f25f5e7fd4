"""Witnesses compare what they were shown: a log that forks between two witnesses is caught by all three."""

import hashlib

import pytest
from fastapi.testclient import TestClient

from airrc.api.app import create_app
from airrc.ledger.checkpoint import Checkpoint, parse_checkpoint_text, sign_checkpoint
from airrc.ledger.gossip import check_gossiped, parse_published


@pytest.fixture
def trio(make_node):
    """A log node and two witnesses, every one pinning the other two."""
    nodes = [make_node("us-log"), make_node("cn-witness"), make_node("sg-witness")]
    for node in nodes:
        with node.store.session() as s:
            for other in nodes:
                if other is not node:
                    node.trust.pin_chain(s, other.card_chain())
    return nodes


def _grow(node, n, salt):
    with node.store.session() as s:
        node.ledger.append(s, [hashlib.sha256(f"{salt}{i}".encode()).digest() for i in range(n)])
        return node.ledger.checkpoint(s)


def _witness(witness, log_node, note):
    size = parse_checkpoint_text(note.text).size
    with witness.store.read_session() as s:
        state = witness.witness.latest(s, log_node.id)
    old = state.size if state else 0
    with log_node.store.read_session() as s:
        proof = log_node.ledger.consistency_proof(s, old, size) if 0 < old < size else []
    witness.witness.submit(old, proof, note)


def _gossip(node, reporter, log_node):
    """``node`` compares the checkpoints ``reporter`` publishes (over its real route) with its own view."""
    published = TestClient(create_app(reporter)).get("/ledger/v1/witness/cosigned")
    assert published.status_code == 200

    def consistency(card, old, new):
        assert card.id == log_node.id
        with log_node.store.read_session() as s:
            return log_node.ledger.consistency_proof(s, old, new)

    verdicts = []
    for note in parse_published(published.json()):
        with node.store.session() as s:
            verdicts.append(
                check_gossiped(
                    s,
                    note,
                    reporter=reporter.card,
                    witness=node.witness,
                    log=node.ledger,
                    own=node.card,
                    consistency=consistency,
                )
            )
    return verdicts


def _alerts(node):
    with node.store.read_session() as s:
        return [a for a in node.alerts.list(s) if a.code == "ledger.split_view"]


def test_honest_growth_agrees_at_different_sizes(trio):
    log, cn, sg = trio
    _witness(cn, log, _grow(log, 5, "a"))
    _witness(sg, log, _grow(log, 40, "b"))
    assert [v.outcome for v in _gossip(cn, sg, log)] == ["agrees"]  # 5 vs 45, proven consistent
    assert [v.outcome for v in _gossip(sg, cn, log)] == ["agrees"]
    assert [v.outcome for v in _gossip(log, sg, log)] == ["agrees"]  # the log's own view
    assert not any(_alerts(n) for n in trio)


def test_a_fork_shown_to_two_witnesses_is_alerted_by_all_three(trio):
    log, cn, sg = trio
    real = _grow(log, 8, "a")
    _witness(cn, log, real)
    # The same size, another root, signed with the log's own keys, shown only to sg.
    checkpoint = parse_checkpoint_text(real.text)
    forged = sign_checkpoint(Checkpoint(checkpoint.origin, checkpoint.size, b"\x07" * 32), log.identity)
    sg.witness.submit(0, [], forged)
    assert [v.outcome for v in _gossip(cn, sg, log)] == ["split_view"]
    assert [v.outcome for v in _gossip(sg, cn, log)] == ["split_view"]
    assert [v.outcome for v in _gossip(log, sg, log)] == ["split_view"]
    assert [v.outcome for v in _gossip(log, cn, log)] == ["agrees"]
    for node in trio:
        (alert,) = _alerts(node)
        assert alert.severity == "critical"
    # Comparing again keeps the one piece of evidence and the one alert.
    _gossip(cn, sg, log)
    assert len(_alerts(cn)) == 1
    with cn.store.read_session() as s:
        evidence = [e for e in cn.witness.evidence(s) if e.kind == "split_view"]
    assert len(evidence) == 1
    assert evidence[0].old_note.startswith(real.text)


def test_a_fork_at_a_larger_size_is_caught_by_the_missing_consistency(trio):
    log, cn, sg = trio
    _witness(cn, log, _grow(log, 3, "a"))
    bigger = _grow(log, 10, "b")
    checkpoint = parse_checkpoint_text(bigger.text)
    forged = sign_checkpoint(Checkpoint(checkpoint.origin, checkpoint.size, b"\x09" * 32), log.identity)
    sg.witness.submit(0, [], forged)
    assert [v.outcome for v in _gossip(cn, sg, log)] == ["split_view"]


def test_gossip_that_does_not_verify_is_refused(trio):
    log, cn, sg = trio
    note = _grow(log, 3, "a")
    _witness(sg, log, note)
    doc = TestClient(create_app(sg)).get("/ledger/v1/witness/cosigned").json()
    # Strip sg's cosignature: a checkpoint nobody vouches for is not gossip.
    doc["checkpoints"][0]["checkpoint"] = note.serialise()
    (bare,) = parse_published(doc)
    with cn.store.session() as s, pytest.raises(Exception) as refused:
        check_gossiped(
            s, bare, reporter=sg.card, witness=cn.witness, log=cn.ledger, own=cn.card, consistency=None
        )
    assert refused.value.code == "ledger.bad_gossip"
    with pytest.raises(Exception) as malformed:
        parse_published({"checkpoints": [{"checkpoint": 7}]})
    assert malformed.value.code == "ledger.bad_gossip"
