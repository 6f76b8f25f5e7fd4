import hashlib
import random
import subprocess
import sys
import textwrap

import pytest

from airrc.errors import InputError, LedgerError
from airrc.ledger.checkpoint import parse_note, verify_checkpoint
from airrc.ledger.merkle import consistency_proof, inclusion_proof, leaf_hash, root, verify_inclusion


def _entries(n, salt=b""):
    return [hashlib.sha256(salt + i.to_bytes(8, "big")).digest() for i in range(n)]


def test_stored_tree_matches_the_reference_at_every_size(make_node, database_url):
    node = make_node(database_url=database_url)
    with node.store.session() as session:
        existing = node.ledger.entries(session, 0, node.ledger.state(session).size)
    rng = random.Random(7)
    all_entries = list(existing)
    while len(all_entries) < 700:
        batch = _entries(rng.choice([1, 2, 3, 17, 255, 256, 257]), salt=str(len(all_entries)).encode())
        with node.store.session() as session:
            first = node.ledger.append(session, batch)
        assert first == len(all_entries)
        all_entries += batch
        with node.store.session() as session:
            state = node.ledger.state(session)
        assert state.size == len(all_entries)
        assert state.root == root(all_entries)
    with node.store.session() as session:
        assert node.ledger.entries(session, 0, len(all_entries)) == all_entries
        for size in (1, 2, 255, 256, 257, 511, 512, 513, len(all_entries)):
            assert node.ledger.root_at(session, size) == root(all_entries[:size])
            for index in {0, size // 2, size - 1}:
                proof = node.ledger.inclusion_proof(session, index, size)
                assert proof == inclusion_proof(all_entries[:size], index)
                verify_inclusion(leaf_hash(all_entries[index]), index, size, proof, root(all_entries[:size]))
            for old in {0, 1, size // 3, size - 1, size}:
                assert node.ledger.consistency_proof(session, old, size) == consistency_proof(
                    all_entries[:size], old
                )


def test_statements_issued_are_logged_in_the_same_transaction(node):
    with node.store.session() as session:
        signed = node.statements.issue(session, kind="node.ping", body={"nonce": "1", "sent_at": "t"})
        row_index = node.statements.by_issuer(session, node.id)[-1].log_index
        assert node.ledger.entries(session, row_index, row_index + 1) == [signed.digest()]
    with pytest.raises(RuntimeError), node.store.session() as session:
        node.statements.issue(session, kind="node.ping", body={"nonce": "2", "sent_at": "t"})
        raise RuntimeError
    with node.store.session() as session:
        assert node.ledger.state(session).size == row_index + 1


def test_checkpoints_are_signed_once_per_size(node):
    with node.store.session() as session:
        first = node.ledger.checkpoint(session)
        again = node.ledger.checkpoint(session)
        assert first.serialise() == again.serialise()
        node.ledger.append(session, _entries(3))
        second = node.ledger.checkpoint(session)
    checkpoint = verify_checkpoint(parse_note(second.serialise()), node.card)
    assert checkpoint.size == verify_checkpoint(first, node.card).size + 3


def test_bad_requests_are_typed(node):
    with node.store.session() as session:
        size = node.ledger.state(session).size
        for call in (
            lambda: node.ledger.inclusion_proof(session, size, size),
            lambda: node.ledger.inclusion_proof(session, 0, size + 1),
            lambda: node.ledger.consistency_proof(session, size + 1, size),
            lambda: node.ledger.entries(session, size, size + 5),
            lambda: node.ledger.root_at(session, size + 1),
        ):
            with pytest.raises(LedgerError) as err:
                call()
            assert err.value.code in {"ledger.bad_index", "ledger.bad_size", "ledger.bad_range"}
        for bad in ([], [b"short"]):
            with pytest.raises(InputError):
                node.ledger.append(session, bad)


APPENDER = textwrap.dedent("""
    import hashlib, sys
    from airrc.config import Settings
    from airrc.node import Node
    node = Node(Settings(home=sys.argv[1], database_url=sys.argv[2]))
    for i in range(int(sys.argv[3])):
        with node.store.session() as session:
            batch = [hashlib.sha256(f"{sys.argv[4]}-{i}-{j}".encode()).digest() for j in range(1 + i % 5)]
            node.ledger.append(session, batch)
    print("done")
""")


@pytest.mark.postgres
def test_two_processes_appending_to_one_postgres_log_leave_a_consistent_tree(make_node, pg_url):
    node = make_node(database_url=pg_url)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(node.settings.home), pg_url, "120", tag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    with node.store.session() as session:
        state = node.ledger.state(session)
        entries = node.ledger.entries(session, 0, 1000) if state.size <= 1000 else None
        assert state.size == 1 + 2 * sum(1 + i % 5 for i in range(120))
        everything = []
        for start in range(0, state.size, 1000):
            everything += node.ledger.entries(session, start, start + 1000)
        assert entries is None or entries == everything[:1000]
        assert state.root == root(everything)
        assert len(set(everything)) == state.size
        assert node.ledger.root_at(session, state.size, cached=False) == state.root


def test_a_batch_of_statements_ends_with_a_signed_checkpoint(node):
    from airrc.ledger.checkpoint import parse_checkpoint_text
    from airrc.store.statements import Draft

    with node.store.session() as session:
        node.statements.issue(session, kind="node.ping", body={"nonce": "single", "sent_at": "t"})
        single_size = node.ledger.state(session).size
        latest = node.ledger.latest_checkpoint(session)
    assert latest is None or latest.size < single_size  # one entry: no checkpoint of its own
    drafts = [Draft(kind="node.ping", body={"nonce": str(i), "sent_at": "t"}) for i in range(3)]
    with node.store.session() as session:
        node.statements.issue_many(session, drafts)
        size = node.ledger.state(session).size
        note = node.ledger.checkpoint(session)
        latest = node.ledger.latest_checkpoint(session)
    assert latest.size == size == single_size + 3
    assert parse_checkpoint_text(note.text).size == size
