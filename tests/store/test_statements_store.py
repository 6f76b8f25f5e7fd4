import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import select

from airrc.store.statements import StatementRow


def test_issue_assigns_consecutive_seqs_and_stores(make_node, database_url):
    node = make_node(database_url=database_url)
    with node.store.session() as session:
        issued = [
            node.statements.issue(session, kind="node.ping", body={"nonce": str(i), "sent_at": "x"})
            for i in range(5)
        ]
    seqs = [s.statement.seq for s in issued]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    with node.store.session() as session:
        stored = node.statements.get(session, issued[2].statement.id)
        rows = node.statements.by_issuer(session, node.id)
    assert stored == issued[2]
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[-1].digest == issued[-1].digest().hex()


def test_failed_transaction_leaves_no_gap(make_node, database_url):
    node = make_node(database_url=database_url)
    with node.store.session() as session:
        first = node.statements.issue(session, kind="node.ping", body={"nonce": "a", "sent_at": "x"})
    with pytest.raises(RuntimeError), node.store.session() as session:
        node.statements.issue(session, kind="node.ping", body={"nonce": "b", "sent_at": "x"})
        raise RuntimeError("crash before commit")
    with node.store.session() as session:
        after = node.statements.issue(session, kind="node.ping", body={"nonce": "c", "sent_at": "x"})
    assert after.statement.seq == first.statement.seq + 1


def test_duplicate_issuer_seq_is_refused_by_the_schema(make_node, database_url):
    node = make_node(database_url=database_url)
    with node.store.session() as session:
        signed = node.statements.issue(session, kind="node.ping", body={"nonce": "a", "sent_at": "x"})
    clash = signed.statement.model_copy(update={"id": "00000000-0000-4000-8000-000000000000"})
    from airrc.statements import sign_statement

    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), node.store.session() as session:
        node.statements.store(session, sign_statement(clash, node.identity.signer), local=True)


def test_migrations_reach_head_and_serve_check(make_node, database_url):
    node = make_node(database_url=database_url)
    node.store.require_migrated()
    assert node.store.current_revision() == node.store.head_revision()


WORKER = textwrap.dedent("""
    import sys
    from airrc.config import Settings
    from airrc.node import Node
    node = Node(Settings(home=sys.argv[1], database_url=sys.argv[2]))
    for i in range(int(sys.argv[3])):
        with node.store.session() as session:
            node.statements.issue(session, kind="node.ping", body={"nonce": f"{sys.argv[4]}-{i}", "sent_at": "x"})
    print("done")
""")


@pytest.mark.postgres
def test_two_processes_issue_concurrently_without_gaps(make_node, pg_url):
    node = make_node(database_url=pg_url)
    per_process = 150
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(node.settings.home), pg_url, str(per_process), tag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("p1", "p2")
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        assert out.strip() == "done"
    with node.store.session() as session:
        seqs = list(
            session.scalars(
                select(StatementRow.seq).where(StatementRow.issuer == node.id).order_by(StatementRow.seq)
            )
        )
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) == 1 + 2 * per_process  # the roster statement from init, then both workers


def test_every_file_in_a_new_home_is_the_owners_only(tmp_path):
    import os
    import stat

    from tests.conftest import cli

    home = tmp_path / "us-perms"
    cli("init", "--name", "us-perms", "--country", "US", home=home)
    cli("ledger", "status", home=home)
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "node.db" for p in files)
    loose = {str(p.relative_to(home)): oct(stat.S_IMODE(os.stat(p).st_mode)) for p in files}
    assert all(mode == "0o600" for mode in loose.values()), loose
