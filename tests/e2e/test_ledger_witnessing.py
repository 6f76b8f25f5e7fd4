"""Two real ``airrc serve`` processes witness each other's logs over HTTP; a rewrite is caught."""

import json

import httpx
import pytest
from harness.nodes import DemoNode, airrc, demo_nodes, exchange_cards
from sqlalchemy import delete

from airrc.config import Settings
from airrc.ledger.checkpoint import parse_note, verify_checkpoint, verify_cosignature
from airrc.ledger.log import LedgerCheckpoint, LedgerCosignature, LedgerState, LedgerTile
from airrc.node import Node
from tests.e2e.conftest import cli

pytestmark = pytest.mark.e2e


def _issue(home, n, tag):
    node = Node(Settings(home=home))
    with node.store.session() as s:
        for i in range(n):
            node.statements.issue(s, kind="node.ping", body={"nonce": f"{tag}{i}", "sent_at": "t"})
    node.close()


def _card(home):
    return json.loads(airrc("card", "export", home=home))


@pytest.fixture
def nodes(tmp_path):
    with demo_nodes(tmp_path) as pair:
        for node in pair:
            node.init()
        exchange_cards(pair)
        for node in pair:
            node.start()
        with httpx.Client() as client:
            for node in pair:
                node.wait_healthy(client)
        yield pair


def test_nodes_witness_each_other_and_catch_a_rewrite(nodes: list[DemoNode]):
    us, cn = nodes
    _issue(us.home, 30, "a")
    _issue(cn.home, 7, "b")
    # Each asks the other to witness its log (C2SP add-checkpoint over HTTP).
    assert "cosigned" in cli("ledger", "publish", home=us.home).stdout
    assert "cosigned" in cli("ledger", "publish", home=cn.home).stdout
    # The log grows; the next round carries a consistency proof.
    _issue(us.home, 300, "c")
    cli("ledger", "publish", home=us.home)
    # Each audits the other by pulling checkpoint and proof from the public endpoints.
    assert "consistent" in cli("ledger", "audit", "--peer", "us-demo", home=cn.home).stdout
    assert "consistent" in cli("ledger", "audit", "--peer", "cn-demo", home=us.home).stdout
    # us serves its checkpoint with cn's cosignature appended; it verifies with the pinned cards.
    served = httpx.get(f"{us.url}/ledger/v1/checkpoint").text
    note = parse_note(served)
    from airrc.crypto.trust import NodeCard

    us_card, cn_card = NodeCard.model_validate(_card(us.home)), NodeCard.model_validate(_card(cn.home))
    checkpoint = verify_checkpoint(note, us_card)
    assert checkpoint.size >= 331  # plus the receipts us-demo issued for cn-demo's deliveries
    cosigs = [s for s in note.signatures if s.name == cn_card.origin]
    assert cosigs
    verify_cosignature(note, cosigs[0], cn_card)
    cli("ledger", "verify", home=us.home)

    # us rewrites its history: same keys, a different tree of larger size, freshly signed.
    us.stop()
    forged = Node(Settings(home=us.home))
    with forged.store.session() as s:
        for table in (LedgerTile, LedgerState, LedgerCheckpoint, LedgerCosignature):
            s.execute(delete(table))
    with forged.store.session() as s:
        forged.ledger.append(s, [bytes([i % 256]) * 32 for i in range(400)])
        forged.ledger.checkpoint(s)
    forged.close()
    us.start()
    with httpx.Client() as client:
        us.wait_healthy(client)
    refused = cli("ledger", "publish", home=us.home, check=False)
    assert refused.returncode == 1
    assert "ledger.inconsistent" in refused.stderr
    audit = cli("ledger", "audit", "--peer", "us-demo", home=cn.home, check=False)
    assert audit.returncode == 1
    assert "error[ledger.inconsistent]" in audit.stderr
    alerts = json.loads(cli("alerts", "list", "--json", home=cn.home).stdout)
    # The CLI's two attempts, and possibly us-demo's own witness loop: every one refused and alerted.
    assert len(alerts) >= 2
    assert {a["code"] for a in alerts} == {"ledger.inconsistent"}
    cn_node = Node(Settings(home=cn.home))
    with cn_node.store.session() as s:
        evidence = cn_node.witness.evidence(s)
        assert len(evidence) >= 2
        assert evidence[0].old_size >= 331
    cn_node.close()
    # And us's own verification no longer accepts its rewritten log: the statements don't match it.
    broken = cli("ledger", "verify", home=us.home, check=False)
    assert broken.returncode == 1
    assert "ledger.storage_corrupt" in broken.stderr


def test_a_log_that_forks_between_witnesses_is_caught_by_their_gossip(cluster):
    from airrc.ledger.checkpoint import Checkpoint, parse_checkpoint_text, sign_checkpoint
    from airrc.ledger.witness import WitnessState
    from tests.e2e.conftest import wait_until

    us, cn, sg = cluster.add("us-log"), cluster.add("cn-wit"), cluster.add("sg-wit")
    cluster.pin_all()
    cluster.start("us-log", "cn-wit")

    us_id = _card(us.home)["id"]

    def cn_witnessed() -> bool:
        node = cluster.open("cn-wit")
        try:
            with node.store.read_session() as s:
                return s.get(WitnessState, us_id) is not None
        finally:
            node.close()

    wait_until(cn_witnessed, what="us-log's first witnessing round")  # its next is an hour away
    _issue(us.home, 12, "g")
    cli("ledger", "publish", "--peer", "cn-wit", home=us.home)
    # us-log shows sg-wit, started only now, another tree of the same size, signed with its own keys.
    forger = cluster.open("us-log")
    with forger.store.read_session() as s:
        real = parse_checkpoint_text(forger.ledger.checkpoint(s).text)
    forged = sign_checkpoint(Checkpoint(real.origin, real.size, b"\x07" * 32), forger.identity)
    forger.close()
    cluster.start("sg-wit")
    shown = httpx.post(f"{sg.url}/ledger/v1/witness/add-checkpoint", content=f"old 0\n\n{forged.serialise()}")
    assert shown.status_code == 200, shown.text
    # Each witness publishes what it cosigned; comparing them catches the fork on all three nodes.
    for node in (cn, sg, us):
        compared = cli("ledger", "gossip", home=node.home, check=False)
        assert compared.returncode == 1, compared.stdout
        assert "error[ledger.split_view]" in compared.stderr
        alerts = json.loads(cli("alerts", "list", "--json", home=node.home).stdout)
        assert "ledger.split_view" in {a["code"] for a in alerts}
    assert "compromised" in cli("ledger", "gossip", "--peer", "sg-wit", home=us.home, check=False).stderr


def test_what_a_peer_sent_is_proven_in_its_log_once_witnessed(nodes: list[DemoNode]):
    import time

    from sqlalchemy import func, select

    from airrc.store.statements import StatementRow

    us, cn = nodes
    cn_id = _card(cn.home)["id"]
    us_id = _card(us.home)["id"]
    node = Node(Settings(home=us.home))
    with node.store.session() as s:
        for i in range(4):
            node.statements.issue(
                s, kind="node.ping", audience=[cn_id], body={"nonce": f"x{i}", "sent_at": "t"}
            )
    node.close()
    receiver = Node(Settings(home=cn.home))
    deadline = time.monotonic() + 60
    while True:
        with receiver.store.read_session() as s:
            got = s.scalar(
                select(func.count())
                .select_from(StatementRow)
                .where(StatementRow.issuer == us_id, StatementRow.kind == "node.ping")
            )
        if got >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    receiver.close()
    assert got >= 4
    cli("ledger", "publish", "--peer", "cn-demo", home=us.home)  # cn cosigns a checkpoint covering them
    proven = cli("ledger", "check-received", "--peer", "us-demo", home=cn.home).stdout
    assert "us-demo:" in proven
    assert "newly proven in its log" in proven
    again = cli("ledger", "check-received", "--peer", "us-demo", home=cn.home).stdout
    assert "0 statement(s) newly proven" in again
    alerts = json.loads(cli("alerts", "list", "--json", home=cn.home).stdout)
    assert not [a for a in alerts if a["code"] == "ledger.not_in_log"]
