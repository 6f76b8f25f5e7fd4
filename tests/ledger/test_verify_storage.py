"""``ledger verify``: every kind of tampering with stored log data is found and named."""

import hashlib

import pytest
from sqlalchemy import select, update

from airrc.errors import LedgerError
from airrc.ledger.log import LedgerCheckpoint, LedgerTile
from airrc.store.statements import StatementRow


@pytest.fixture
def busy_node(make_node, database_url):
    node = make_node(database_url=database_url)
    with node.store.session() as s:
        for i in range(600):
            node.statements.issue(s, kind="node.ping", body={"nonce": str(i), "sent_at": "t"})
        node.ledger.checkpoint(s)
    return node


def _flip_hash(node, level, index):
    with node.store.session() as s:
        tile = s.get(LedgerTile, (level, index // 256))
        data = bytearray(tile.data)
        data[(index % 256) * 32] ^= 0x01
        s.execute(
            update(LedgerTile)
            .where(LedgerTile.level == level, LedgerTile.tile == index // 256)
            .values(data=bytes(data))
        )


def _expect_failure(node, fragment):
    with pytest.raises(LedgerError) as err:
        node.verify_ledger()
    assert err.value.code == "ledger.storage_corrupt"
    assert fragment in err.value.message
    with node.store.session() as s:
        assert [a.code for a in node.alerts.list(s)] == ["ledger.storage_corrupt"]


def test_untouched_log_verifies(busy_node):
    report = busy_node.verify_ledger()
    assert report.size == 601
    assert report.checkpoints == 1


def test_tampered_entry_is_named(busy_node):
    _flip_hash(busy_node, -1, 321)
    _expect_failure(busy_node, "entry 321")


def test_tampered_leaf_hash_is_named(busy_node):
    _flip_hash(busy_node, 0, 17)
    _expect_failure(busy_node, "leaf 17")


def test_tampered_subtree_hash_is_named(busy_node):
    _flip_hash(busy_node, 3, 5)
    _expect_failure(busy_node, "level 3 node 5")


def test_tampered_statement_is_named(busy_node):
    with busy_node.store.session() as s:
        row = s.scalar(select(StatementRow).where(StatementRow.log_index == 42))
        row.data = row.data.replace(b'"nonce":"41"', b'"nonce":"XX"')
    _expect_failure(busy_node, "entry 42")


def test_tampered_checkpoint_is_named(busy_node):
    with busy_node.store.session() as s:
        row = s.scalar(select(LedgerCheckpoint))
        lines = row.note.split("\n")
        lines[2] = __import__("base64").b64encode(hashlib.sha256(b"forged").digest()).decode()
        row.note = "\n".join(lines)
    _expect_failure(busy_node, "checkpoint")


def test_missing_tile_is_named(busy_node):
    with busy_node.store.session() as s:
        s.delete(s.get(LedgerTile, (0, 1)))
    _expect_failure(busy_node, "level 0")


def test_tampered_digest_column_is_named(busy_node):
    with busy_node.store.session() as s:
        row = s.scalar(select(StatementRow).where(StatementRow.log_index == 7))
        row.digest = "0" * 64
        statement_id = row.statement_id
    _expect_failure(busy_node, f"statement {statement_id}: its digest column")


def test_tampered_received_statement_is_named(make_node, busy_node):
    from tests.federation.test_inbox import _statement

    peer = make_node("cn-verify")
    with busy_node.store.session() as s:
        busy_node.trust.pin_chain(s, peer.card_chain())
    received = _statement(peer, 1, busy_node, {"said": "original"})
    with busy_node.store.read_session() as s:
        card = busy_node.trust.current(s, peer.id)
    assert busy_node.inbox.accept(card, [received.to_json()], receipt=False).accepted
    busy_node.verify_ledger()
    with busy_node.store.session() as s:
        row = s.scalar(select(StatementRow).where(StatementRow.statement_id == received.statement.id))
        # A consistent forgery: bytes and digest column changed together, so only the signature tells.
        row.data = row.data.replace(b"original", b"tampered")
        row.digest = hashlib.sha256(row.data).hexdigest()
    _expect_failure(busy_node, f"received statement {received.statement.id} no longer verifies")
