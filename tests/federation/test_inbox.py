"""The inbox: dedupe by issuer, seq and digest; equivocation kept as evidence with an alert, within one
batch as across batches."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import select

from airrc.federation.inbox import Equivocation
from airrc.node import Node
from airrc.statements import Statement, format_timestamp, new_statement_id, sign_statement
from tests.conftest import NodeFactory


def _statement(sender: Node, seq: int, to: Node, body: dict[str, object] | None = None):
    st = Statement(
        id=new_statement_id(),
        kind="test.note",
        issuer=sender.id,
        seq=seq,
        issued_at=format_timestamp(datetime.now(UTC)),
        audience=[to.id],
        body=body if body is not None else {"x": secrets.token_hex(4)},
    )
    return sign_statement(st, sender.identity.signer)


def _pinned_pair(make_node: NodeFactory) -> tuple[Node, Node]:
    recv, send = make_node("us-in"), make_node("cn-in")
    for a, b in ((recv, send), (send, recv)):
        with a.store.session() as session:
            a.trust.pin_chain(session, b.card_chain())
    return recv, send


def _sender_card(recv: Node, send: Node):
    with recv.store.read_session() as session:
        return recv.trust.current(session, send.id)


def test_two_statements_with_one_seq_in_one_batch_leave_evidence_and_an_alert(make_node: NodeFactory):
    recv, send = _pinned_pair(make_node)
    first, second = _statement(send, 9, recv, {"v": 1}), _statement(send, 9, recv, {"v": 2})
    result = recv.inbox.accept(_sender_card(recv, send), [first.to_json(), second.to_json()])
    assert result.accepted == [first.digest().hex()]
    assert [r.code for r in result.rejected] == ["federation.equivocation"]
    with recv.store.read_session() as session:
        evidence = list(session.scalars(select(Equivocation)))
        alerts = [a.code for a in recv.alerts.list(session)]
    assert [(e.seq, e.stored_digest, e.offered_digest) for e in evidence] == [
        (9, first.digest().hex(), second.digest().hex())
    ]
    assert alerts == ["federation.equivocation"]


def test_the_same_statement_twice_is_accepted_once_and_receipted_each_time(make_node: NodeFactory):
    recv, send = _pinned_pair(make_node)
    st = _statement(send, 3, recv)
    once = recv.inbox.accept(_sender_card(recv, send), [st.to_json(), st.to_json()])
    again = recv.inbox.accept(_sender_card(recv, send), [st.to_json()])
    assert once.accepted == [st.digest().hex()] * 2
    assert len(once.stored) == 2
    assert again.receipt is not None
    assert again.receipt.statement.body["accepted"] == [st.digest().hex()]
    with recv.store.read_session() as session:
        assert list(session.scalars(select(Equivocation))) == []
