"""The received-statement dispatcher: each kind goes to the handler its mechanism registered, in its own
savepoint; a refusal is reported and rolled back alone, never failing the batch; our own statements and
kinds no mechanism reads are left alone."""

import pytest
from sqlalchemy import select

from airrc.alerts import Alert
from airrc.errors import ExchangeError
from airrc.store.received import ReceivedStatements
from airrc.store.statements import StoredRow


def _signed(node, count):
    with node.store.session() as session:
        return [node.publish_roster(session) for _ in range(count)]


def test_each_kind_goes_to_its_handler_and_a_refusal_stays_alone(node):
    seen, refused = [], []
    dispatcher = ReceivedStatements(refused=lambda _s, signed, exc: refused.append((signed, exc.code)))

    def handle(session, signed):
        seen.append(signed.statement.id)
        node.alerts.raise_alert(session, "test.applied", signed.statement.id)
        if len(seen) == 2:
            raise ExchangeError("the second one is refused", code="exchange.malformed")

    dispatcher.register(["node.roster"], handle)
    first, second, third = _signed(node, 3)
    received = StoredRow(row_id=1, local=False, log_index=None)
    with node.store.session() as session:
        dispatcher(session, [(first, received), (second, received), (third, received)])
    assert seen == [first.statement.id, second.statement.id, third.statement.id]
    assert [(s.statement.id, code) for s, code in refused] == [(second.statement.id, "exchange.malformed")]
    with node.store.read_session() as session:
        applied = set(session.scalars(select(Alert.message).where(Alert.code == "test.applied")))
    # The refused statement's work was rolled back with its savepoint; its neighbours' work was kept.
    assert applied == {first.statement.id, third.statement.id}


def test_own_statements_and_unread_kinds_are_not_dispatched(node):
    calls = []
    dispatcher = ReceivedStatements(refused=lambda *_a: pytest.fail("nothing is refused"))
    dispatcher.register(["exchange.report"], lambda _s, signed: calls.append(signed))
    (roster,) = _signed(node, 1)
    with node.store.session() as session:
        dispatcher(session, [(roster, StoredRow(row_id=1, local=False, log_index=None))])
    dispatcher.register(["node.roster"], lambda _s, signed: calls.append(signed))
    with node.store.session() as session:
        dispatcher(session, [(roster, StoredRow(row_id=1, local=True, log_index=0))])
    assert calls == []


def test_a_kind_has_one_handler(node):
    dispatcher = ReceivedStatements(refused=lambda *_a: None)
    dispatcher.register(["hotline.message"], lambda *_a: None)
    with pytest.raises(ValueError, match="already has a handler"):
        dispatcher.register(["hotline.ack", "hotline.message"], lambda *_a: None)
    assert node.received.kinds() >= {"hotline.message", "hotline.ack", "exchange.report"}


def test_the_node_alerts_what_a_mechanism_refuses(node):
    (roster,) = _signed(node, 1)
    with node.store.session() as session:
        node.alerts.refused_statement(session, roster, ExchangeError("bad", code="exchange.malformed"))
    with node.store.read_session() as session:
        alert = session.scalar(select(Alert).where(Alert.code == "exchange.malformed"))
    assert alert is not None
    assert roster.statement.id in alert.details.decode()
