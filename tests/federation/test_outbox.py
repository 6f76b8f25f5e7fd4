"""Outbox delivery against a real receiving app: batches sized to the peer's advertised limits, 413 answers
split, a statement that can never fit refused with an alert, and the link's cause shown at once."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from airrc.api.app import create_app
from airrc.federation.outbox import OutboxItem
from airrc.federation.peer_client import PeerLimits
from airrc.federation.sizing import BATCH_FRAME, pack_batch
from airrc.node import Node
from airrc.store.statements import Draft
from tests.conftest import NodeFactory
from tests.hotline.conftest import _Hosts


class _Proxy(httpx.BaseTransport):
    """A front end with a smaller body limit than the node behind it advertises (answers 413 itself)."""

    def __init__(self, inner: httpx.BaseTransport, limit: int | None) -> None:
        self.inner, self.limit, self.bodies = inner, limit, []  # type: ignore[var-annotated]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if request.method == "POST":
            self.bodies.append(len(body))
        if self.limit is not None and len(body) > self.limit:
            return httpx.Response(413, json={"error": {"code": "request.too_large"}}, request=request)
        return self.inner.handle_request(request)


@pytest.fixture
def pair(make_node: NodeFactory) -> Iterator[tuple[Node, Node, _Hosts]]:
    us = make_node("us", endpoints=("http://us.test",))
    cn = make_node(
        "cn",
        endpoints=("http://cn.test",),
        limits={"max_request_bytes": 64 * 1024, "max_statement_bytes": 48 * 1024},
    )
    for a, b in ((us, cn), (cn, us)):
        with a.store.session() as session:
            a.trust.pin_chain(session, b.card_chain())
    hosts = _Hosts()
    hosts.apps["cn.test"] = TestClient(create_app(cn))
    hosts.apps["us.test"] = TestClient(create_app(us))
    return us, cn, hosts


def _notes(node: Node, to: Node, sizes: list[int]) -> None:
    drafts = [
        Draft(kind="test.note", audience=[to.id], body={"n": i, "pad": "x" * n}) for i, n in enumerate(sizes)
    ]
    with node.store.session() as session:
        node.statements.issue_many(session, drafts)


def _drain(node: Node, peer: Node, http: httpx.Client, rounds: int = 50) -> None:
    target = _card(node, peer)
    for _ in range(rounds):
        report = node.outbox.deliver(target, http)
        if report.sent == 0:
            return


def _card(node: Node, peer: Node):
    with node.store.read_session() as session:
        return node.trust.current(session, peer.id)


def _states(node: Node) -> dict[str, int]:
    with node.store.read_session() as session:
        rows = session.execute(
            select(OutboxItem.state, func.count())
            .where(OutboxItem.kind == "test.note")
            .group_by(OutboxItem.state)
        )
        return {state: int(count) for state, count in rows.all()}


def test_a_batch_is_the_longest_prefix_that_fits_bytes_and_length():
    head = [(i, None, "d", b"x" * 100, None) for i in range(10)]
    limits = PeerLimits(
        max_request_bytes=BATCH_FRAME + 3 * 100 + 2,
        max_statement_bytes=1000,
        max_batch_length=500,
        advertised=True,
    )
    assert len(pack_batch(head, limits, None)) == 3
    assert len(pack_batch(head, limits, BATCH_FRAME + 100)) == 1
    shorter = PeerLimits(1 << 20, 1000, 2, advertised=True)
    assert len(pack_batch(head, shorter, None)) == 2
    # One item always goes, even above a learnt bound (the peer's own limit was checked before).
    assert len(pack_batch(head, limits, 10)) == 1


def test_batches_fit_the_limits_the_peer_advertises(pair):
    us, cn, hosts = pair
    proxy = _Proxy(hosts, limit=None)
    _notes(us, cn, [20_000] * 12)  # ~240 KB for a peer that takes 64 KiB per request
    with httpx.Client(transport=proxy) as http:
        _drain(us, cn, http)
        advertised = us.outbox.peer_limits(_card(us, cn), http)
    assert advertised == PeerLimits(64 * 1024, 48 * 1024, 500, advertised=True)
    assert _states(us) == {"delivered": 12}
    assert proxy.bodies
    assert max(proxy.bodies) <= 64 * 1024


def test_a_413_splits_the_batch_and_the_link_says_why_at_once(pair):
    us, cn, hosts = pair
    proxy = _Proxy(hosts, limit=30_000)  # a front end stricter than what cn advertises
    _notes(us, cn, [8_000] * 20)
    with httpx.Client(transport=proxy) as http:
        first = us.outbox.deliver(_card(us, cn), http)
        assert first.error == "federation.request_too_large"
        with us.store.session() as s:
            link = us.outbox.link(s, cn.id)
            assert link.failing
            assert link.last_error.startswith("413 request too large")
            assert [a.code for a in us.alerts.list(s)] == ["federation.link_failing"]
        _drain(us, cn, http)
    assert _states(us) == {"delivered": 20}
    with us.store.session() as s:
        link = us.outbox.link(s, cn.id)
        assert not link.failing
        assert link.last_error is None


def test_a_statement_that_can_never_fit_is_refused_with_an_alert_and_holds_nothing_back(pair):
    us, cn, hosts = pair
    _notes(us, cn, [1_000, 60_000, 1_000])  # the middle one exceeds cn's 48 KiB statement limit
    with httpx.Client(transport=hosts) as http:
        _drain(us, cn, http)
    assert _states(us) == {"delivered": 2, "refused": 1}
    with us.store.session() as s:
        refused = s.scalar(select(OutboxItem).where(OutboxItem.state == "refused"))
        assert refused.last_error == "federation.too_large_for_peer"
        alerts = [a for a in us.alerts.list(s) if a.code == "federation.too_large_for_peer"]
    assert len(alerts) == 1
    assert alerts[0].severity == "critical"


def test_limits_are_answered_only_to_pinned_peers_and_signed(pair):
    _us, cn, _hosts = pair
    with TestClient(create_app(cn)) as client:
        assert client.get("/federation/v1/limits").status_code == 401
