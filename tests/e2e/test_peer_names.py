"""A name speaks for one node: a second node's card under a pinned name is refused at import, so an
AMBER+STRICT report shared with that name reaches exactly the node first pinned under it."""

import json

import pytest
from sqlalchemy import select

from airrc.exchange.policy import PartnerPolicy
from airrc.federation.outbox import OutboxItem
from tests.e2e.conftest import Cluster, cli
from tests.exchange.reports import grid_report

pytestmark = pytest.mark.e2e


def test_a_clashing_name_is_refused_and_amber_strict_reaches_only_the_pinned_id(cluster, tmp_path):
    us = cluster.add("us-names")
    cn = cluster.add("cn-names")
    cluster.pin_all()
    elsewhere = Cluster(tmp_path / "elsewhere")
    impostor = elsewhere.add("cn-names")  # the same name, its own keys and id
    card_file = tmp_path / "impostor.card.json"
    card_file.write_text(cli("card", "export", home=impostor.home).stdout)
    refused = cli("card", "import", str(card_file), home=us.home, check=False)
    assert refused.returncode == 1
    assert "error[trust.name_taken]" in refused.stderr

    node = cluster.open("us-names")
    cn_id = json.loads(cli("card", "export", home=cn.home).stdout)["id"]
    with node.store.session() as session:
        assert [(c.name, c.id) for c in node.trust.peers(session)] == [("cn-names", cn_id)]
        node.exchange.set_policy(session, "cn-names", PartnerPolicy(max_tlp="amber+strict"))
        row = node.exchange.create(session, grid_report(tlp="amber+strict", share_with=["cn-names"]))
        assert json.loads(row.data)["share_with"] == [cn_id]  # stored as the id, never the name
        published = node.exchange.publish(session, str(row.key))
    with node.store.read_session() as session:
        targets = set(session.scalars(select(OutboxItem.peer_id).where(OutboxItem.kind == "exchange.report")))
    assert published.statements
    assert targets == {cn_id}
    node.close()
