"""Audit bundles: verified against a checkpoint the verifier cosigned, and refused when a record is left out."""

import base64
import copy
import time
from datetime import UTC, datetime

import pytest

from airrc.control.audit import export_bundle, verify_bundle
from airrc.ledger.checkpoint import parse_checkpoint_text, parse_note, verify_cosignature
from tests.control.conftest import request_decision, vote

MAX = 1 << 20


def _cosign(node, witness):
    """``witness`` cosigns ``node``'s latest checkpoint, as over federation, in process."""
    with node.store.session() as s:
        note = node.ledger.checkpoint(s)
        size = parse_checkpoint_text(note.text).size
    with witness.store.read_session() as s:
        state = witness.witness.latest(s, node.id)
    old = state.size if state is not None else 0
    with node.store.session() as s:
        proof = node.ledger.consistency_proof(s, old, size) if 0 < old < size else []
    result = witness.witness.submit(old, proof, note)
    cosigned = verify_cosignature(note, result.cosignature, witness.card)
    with node.store.session() as s:
        node.ledger.add_cosignature(s, size, witness.id, cosigned.timestamp, cosigned.line)


def _export(node, witness, since=None):
    with node.store.session() as s:
        node.control.mark_export(s, since)
    _cosign(node, witness)
    with node.store.session() as s:
        return export_bundle(s, log=node.ledger, chain=node.card_chain())


def _code(bundle, pinned, witness):
    with pytest.raises(Exception) as refused:
        verify_bundle(bundle, pinned_chain=pinned, witness=witness.card, max_bytes=MAX)
    return refused.value.code


def _kinds(bundle):
    return [item["statement"]["statement"]["kind"] for item in bundle["statements"]]


def _without(bundle, kind):
    """The bundle with its first statement of ``kind`` left out."""
    dropped = copy.deepcopy(bundle)
    dropped["statements"].pop(_kinds(bundle).index(kind))
    return dropped


def test_bundle_is_verified_against_our_cosignature_and_gaps_are_refused(env, make_node):
    node, client, t = env
    cn = make_node("cn-auditor")
    stranger = make_node("eu-stranger")
    with node.store.session() as s, pytest.raises(Exception) as unmarked:
        export_bundle(s, log=node.ledger, chain=node.card_chain())
    assert unmarked.value.code == "control.no_audit_mark"
    with node.store.session() as s:
        node.control.mark_export(s)
    with node.store.session() as s, pytest.raises(Exception) as uncosigned:
        export_bundle(s, log=node.ledger, chain=node.card_chain())
    assert uncosigned.value.code == "ledger.not_cosigned"
    for other in (cn, stranger):
        with other.store.session() as s:
            other.trust.pin_chain(s, node.card_chain())
    with cn.store.read_session() as s:
        pinned = cn.trust.chain(s, node.id)

    did = request_decision(client, t["ai"]).json()["decision"]["id"]
    vote(client, t["ann"], did)
    vote(client, t["bob"], did)
    bundle = _export(node, cn)
    assert "North-7" not in str(bundle)
    verified = verify_bundle(bundle, pinned_chain=pinned, witness=cn.card, max_bytes=MAX)
    assert verified.card.id == node.id
    assert verified.report.requests == 1
    # mark, request, two votes, outcome, mark: records 1..6 with nothing left out
    assert (verified.coverage.first, verified.coverage.last, verified.coverage.since) == (1, 6, None)

    # A vote, or the closing mark, left out is caught even though every statement left in is proven.
    assert _code(_without(bundle, "control.vote"), pinned, cn) == "control.incomplete_bundle"
    tail = copy.deepcopy(bundle)
    tail["statements"].pop()
    assert _code(tail, pinned, cn) == "control.incomplete_bundle"
    # A node that never cosigned the checkpoint cannot be shown a private view of the log.
    with stranger.store.read_session() as s:
        stranger_pinned = stranger.trust.chain(s, node.id)
    assert _code(bundle, stranger_pinned, stranger) == "ledger.not_witnessed"
    assert _code(bundle, [], cn) == "trust.unknown_issuer"

    # A range: from a moment on, with the record just before it to show where the range starts.
    time.sleep(0.01)
    since = datetime.now(UTC)
    time.sleep(0.01)
    second = request_decision(client, t["ai"]).json()["decision"]["id"]
    vote(client, t["cat"], second)
    ranged = _export(node, cn, since)
    verified = verify_bundle(ranged, pinned_chain=pinned, witness=cn.card, max_bytes=MAX)
    assert (verified.coverage.first, verified.coverage.last) == (7, 9)
    assert verified.coverage.since is not None
    assert ranged["before"]["statement"]["statement"]["kind"] == "control.audit_mark"
    no_before = {**copy.deepcopy(ranged), "before": None}
    assert _code(no_before, pinned, cn) == "control.incomplete_bundle"
    # An older record passed off as the one before the range (hiding the records between) is refused.
    old_vote = copy.deepcopy(bundle["statements"][_kinds(bundle).index("control.vote")])
    size = parse_checkpoint_text(parse_note(ranged["checkpoint"]).text).size
    with node.store.read_session() as s:
        old_vote["proof"] = [
            base64.b64encode(h).decode() for h in node.ledger.inclusion_proof(s, old_vote["index"], size)
        ]
    earlier = {**copy.deepcopy(ranged), "before": old_vote}
    assert _code(earlier, pinned, cn) == "control.incomplete_bundle"
    assert _code(_without(ranged, "control.request"), pinned, cn) == "control.incomplete_bundle"
    # Tampering breaks a signature.
    tampered = copy.deepcopy(ranged)
    tampered["statements"][_kinds(ranged).index("control.vote")]["statement"]["statement"]["body"]["vote"] = (
        "deny"
    )
    assert _code(tampered, pinned, cn) == "crypto.bad_signature"
