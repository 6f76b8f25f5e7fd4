"""Catch-up (federation/sync.py): a node pulls what a peer issued for it since its cursor, over signed HTTP,
page by page; only what it may see, never link tests, each statement once."""

from sqlalchemy import func, select

from airrc.federation.sync import statements_for, sync_peer
from airrc.store.statements import StatementRow
from tests.hotline.conftest import Net


def _sync(net: Net, node_name: str, peer_name: str, limit: int = 100) -> int:
    node, peer = net.nodes[node_name], net.nodes[peer_name]
    with node.store.read_session() as session:
        card = node.trust.current(session, peer.id)
    return sync_peer(
        peer=card,
        node_id=node.id,
        store=node.store,
        inbox=node.inbox,
        outbox=node.outbox,
        signing_key=node.identity.signer,
        client=net.http,
        limit=limit,
    )


def _held(node, issuer_id: str) -> int:
    with node.store.read_session() as session:
        return int(session.scalar(select(func.count()).where(StatementRow.issuer == issuer_id)) or 0)


def test_pages_hold_only_what_the_requester_may_see_and_never_pings(net: Net) -> None:
    us, cn, sg = net.nodes["us"], net.nodes["cn"], net.nodes["sg"]
    with us.store.session() as session:
        for _ in range(5):
            us.publish_roster(session)
        us.hotline.open_channel(session, ["cn"])  # for us and cn only
        us.statements.issue(session, kind="node.ping", audience=[cn.id], body={"nonce": "n", "sent_at": "x"})
    with us.store.read_session() as session:
        latest = session.scalar(select(func.max(StatementRow.seq)).where(StatementRow.issuer == us.id))
        for_cn, _ = statements_for(session, us.id, cn.id, 0, 1000)
        for_sg, end = statements_for(session, us.id, sg.id, 0, 1000)
        first, cursor = statements_for(session, us.id, cn.id, 0, 2)
        rest, _ = statements_for(session, us.id, cn.id, cursor, 1000)
    kinds_cn = [b'"kind":"hotline.channel"' in item for item in for_cn]
    assert any(kinds_cn)
    assert not any(b'"kind":"hotline.channel"' in item for item in for_sg)
    assert not any(b'"kind":"node.ping"' in item for item in for_cn)
    assert end == latest  # fewer than asked: the cursor moves to the latest seq considered
    assert len(first) == 2
    assert first + rest == for_cn


def test_a_node_back_from_an_outage_catches_up_once(net: Net) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    net.hosts.down.add("cn.test")
    with us.store.session() as session:
        for _ in range(7):
            us.publish_roster(session)
    before = _held(cn, us.id)
    net.hosts.down.discard("cn.test")
    assert _sync(net, "cn", "us", limit=3) >= 7  # three pages of at most three
    assert _held(cn, us.id) >= before + 7
    assert _sync(net, "cn", "us") == 0  # the cursor moved on: nothing twice
    with cn.store.read_session() as session:
        assert cn.outbox.link(session, us.id).sync_cursor > 0
