"""What a peer sent us must be in its log: once a checkpoint we cosigned covers it, it is proven included,
and a statement the log lacks is kept as evidence and alerted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from airrc.ledger.inclusion import check_round, due, record
from airrc.ledger.tables import WitnessEvidence
from airrc.statements import Statement, format_timestamp, new_statement_id, sign_statement


@pytest.fixture
def pair(make_node):
    sender, receiver = make_node("us-sender"), make_node("cn-receiver")
    for a, b in ((sender, receiver), (receiver, sender)):
        with a.store.session() as s:
            a.trust.pin_chain(s, b.card_chain())
    return sender, receiver


def _send(sender, receiver, n):
    """``n`` statements issued (and logged) by ``sender``, accepted by ``receiver``'s inbox."""
    with sender.store.session() as s:
        signed = [
            sender.statements.issue(s, kind="test.note", audience=[receiver.id], body={"i": i})
            for i in range(n)
        ]
    with receiver.store.read_session() as s:
        card = receiver.trust.current(s, sender.id)
    assert receiver.inbox.accept(card, [x.to_json() for x in signed]).rejected == []
    return signed


def _witness(receiver, sender):
    with sender.store.session() as s:
        note = sender.ledger.checkpoint(s)
    with receiver.store.read_session() as s:
        state = receiver.witness.latest(s, sender.id)
    old = state.size if state else 0
    with sender.store.read_session() as s:
        size = sender.ledger.state(s).size
        proof = sender.ledger.consistency_proof(s, old, size) if 0 < old < size else []
    receiver.witness.submit(old, proof, note)


def _check(receiver, sender, limit=200):
    def proofs(index, size):
        with sender.store.read_session() as s:
            return sender.ledger.inclusion_proof(s, index, size)

    with receiver.store.read_session() as s:
        round_ = due(s, receiver.witness, sender.id, limit)
    results = check_round(round_, proofs)
    with receiver.store.session() as s:
        return record(s, receiver.witness, sender.card, round_, results)


def _alerts(node):
    with node.store.read_session() as s:
        return [a for a in node.alerts.list(s) if a.code == "ledger.not_in_log"]


def test_statements_are_checked_once_a_cosigned_checkpoint_covers_them(pair):
    sender, receiver = pair
    first = _send(sender, receiver, 3)
    assert _check(receiver, sender).size == 0  # nothing cosigned yet: nothing to hold it to
    _witness(receiver, sender)
    later = _send(sender, receiver, 2)  # not covered by the checkpoint we cosigned
    report = _check(receiver, sender)
    assert (report.checked, report.through, report.missing, report.left) == (
        3,
        first[-1].statement.seq,
        [],
        0,
    )
    assert _check(receiver, sender).checked == 0  # each statement is checked once
    _witness(receiver, sender)
    report = _check(receiver, sender)
    assert (report.checked, report.through) == (2, later[-1].statement.seq)
    assert _alerts(receiver) == []


def test_rounds_are_bounded_and_resume_where_they_stopped(pair):
    sender, receiver = pair
    sent = _send(sender, receiver, 5)
    _witness(receiver, sender)
    first = _check(receiver, sender, limit=2)
    assert (first.checked, first.left) == (2, 3)
    second = _check(receiver, sender, limit=10)
    assert (second.checked, second.through, second.left) == (3, sent[-1].statement.seq, 0)


def test_a_statement_the_senders_log_does_not_hold_is_evidence_and_a_critical_alert(pair):
    sender, receiver = pair
    seq = _send(sender, receiver, 2)[-1].statement.seq + 1
    # The sender signs a statement for us under the next seq but logs a different one under it.
    shown = sign_statement(
        Statement(
            id=new_statement_id(),
            kind="test.note",
            issuer=sender.id,
            seq=seq,
            issued_at=format_timestamp(datetime.now(UTC)),
            audience=[receiver.id],
            body={"shown": "only to the receiver"},
        ),
        sender.identity.signer,
    )
    with receiver.store.read_session() as s:
        card = receiver.trust.current(s, sender.id)
    assert receiver.inbox.accept(card, [shown.to_json()]).rejected == []
    with sender.store.session() as s:
        logged = sender.statements.issue(s, kind="test.note", audience=[receiver.id], body={"logged": True})
    assert logged.statement.seq == seq
    _witness(receiver, sender)

    report = _check(receiver, sender)
    assert [m.statement_id for m in report.missing] == [shown.statement.id]
    assert report.checked == 3
    (alert,) = _alerts(receiver)
    assert alert.severity == "critical"
    assert shown.statement.id in alert.message
    with receiver.store.read_session() as s:
        evidence = s.scalars(select(WitnessEvidence).where(WitnessEvidence.kind == "not_in_log")).all()
    assert [(e.peer_id, e.old_size, e.old_note) for e in evidence] == [(sender.id, seq, shown.statement.id)]
    assert _check(receiver, sender).checked == 0  # kept once, not re-alerted every round


def test_a_peer_that_cannot_answer_leaves_the_rest_for_the_next_round(pair):
    sender, receiver = pair
    sent = _send(sender, receiver, 3)
    _witness(receiver, sender)
    with receiver.store.read_session() as s:
        round_ = due(s, receiver.witness, sender.id)
    answers = iter([[], None])  # a malformed proof (empty), then the peer goes away
    results = check_round(round_, lambda index, size: next(answers))
    with receiver.store.session() as s:
        report = record(s, receiver.witness, sender.card, round_, results)
    assert (report.checked, report.left) == (1, 2)
    assert [m.seq for m in report.missing] == [sent[0].statement.seq]
    assert _check(receiver, sender).checked == 2
