"""Federation between real node processes: delivery, audiences, observers, refusals, catch-up."""

import json
import secrets
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from airrc.federation.httpsig import sign_request
from airrc.federation.inbox import Equivocation
from airrc.federation.outbox import OutboxItem
from airrc.statements import Statement, format_timestamp, new_statement_id, sign_statement
from airrc.store.statements import StatementRow
from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.e2e
URL = "/federation/v1/statements"


def _count(node, issuer, **where):
    with node.store.read_session() as s:
        q = select(func.count()).select_from(StatementRow).where(StatementRow.issuer == issuer)
        for key, value in where.items():
            q = q.where(getattr(StatementRow, key) == value)
        return s.scalar(q)


def _delivered(node, peer_id):
    with node.store.read_session() as s:
        pending = s.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.peer_id == peer_id, OutboxItem.state == "pending")
        )
        return pending == 0


def _issue(node, kind, audience, n=1, body=None):
    with node.store.session() as s:
        return [
            node.statements.issue(s, kind=kind, audience=audience, body=body or {"n": i}) for i in range(n)
        ]


def test_three_nodes_deliver_by_audience_with_receipts(cluster):
    for name in ("us-a", "cn-b", "sg-c"):
        cluster.add(name)
    cluster.pin_all()
    cluster.start()
    a, b, c = (cluster.open(n) for n in ("us-a", "cn-b", "sg-c"))
    only_b = _issue(a, "test.note", [b.id], 3)
    b_and_c = _issue(a, "test.note", [b.id, c.id], 2)
    public = _issue(a, "test.note", "public", 1)
    wait_until(lambda: _delivered(a, b.id) and _delivered(a, c.id), what="delivery")
    assert _count(b, a.id, kind="test.note") == 6
    assert _count(c, a.id, kind="test.note") == 3
    with c.store.read_session() as s:
        ids = set(s.scalars(select(StatementRow.statement_id).where(StatementRow.issuer == a.id)))
    assert not {x.statement.id for x in only_b} & ids
    assert {x.statement.id for x in b_and_c + public} <= ids
    # Every delivered item carries the receiver's signed receipt, stored at the sender.
    with a.store.read_session() as s:
        items = list(s.scalars(select(OutboxItem).where(OutboxItem.kind == "test.note")))
        receipts = s.scalar(
            select(func.count())
            .select_from(StatementRow)
            .where(StatementRow.kind == "federation.receipt", StatementRow.local.is_(False))
        )
    assert len(items) == 3 + 4 + 2
    assert all(i.state == "delivered" and i.receipt_id for i in items)
    assert receipts >= 2
    # The receivers logged their receipts in their own ledgers.
    with b.store.read_session() as s:
        receipt_rows = list(s.scalars(select(StatementRow).where(StatementRow.kind == "federation.receipt")))
    assert receipt_rows
    assert all(r.local and r.log_index is not None for r in receipt_rows)
    for node in (a, b, c):
        node.close()


def _post(target, body, *, key, key_id, url=None, headers=None):
    url = url or target.url + URL
    signed = sign_request("POST", url, body, key=key, key_id=key_id)
    return httpx.post(url, content=body, headers=headers or signed.headers, timeout=30), signed


def _batch(*signed):
    return json.dumps({"statements": [s.to_json() for s in signed]}).encode()


def _statement(identity, issuer, seq, kind="test.note", audience=None, body=None):
    st = Statement(
        id=new_statement_id(),
        kind=kind,
        issuer=issuer,
        seq=seq,
        issued_at=format_timestamp(datetime.now(UTC)),
        audience=audience or "public",
        body=body if body is not None else {"x": secrets.token_hex(4)},
    )
    return sign_statement(st, identity.signer)


def test_bad_requests_are_refused_with_codes_and_nothing_is_stored(cluster):
    cluster.add("us-recv")
    cluster.add("cn-send")
    cluster.add("xx-obs", role="observer")
    cluster.pin_all()
    cluster.add("zz-stranger")
    cluster.start("us-recv")
    recv, send, obs, stranger = (cluster.open(n) for n in ("us-recv", "cn-send", "xx-obs", "zz-stranger"))
    target = cluster.nodes["us-recv"]
    key = send.identity.signer

    def next_seq():
        with send.store.session() as s:
            return send.statements.next_seqs(s)

    good = _statement(send.identity, send.id, next_seq(), audience=(recv.id,))
    body = _batch(good)
    cases = []
    # Forged: signed by another key under the sender's key id.
    cases.append(
        (
            "forged",
            _post(target, body, key=stranger.identity.signer, key_id=send.id)[0],
            401,
            "federation.bad_signature",
        )
    )
    # Unknown peer.
    cases.append(
        (
            "unknown",
            _post(target, body, key=stranger.identity.signer, key_id=stranger.id)[0],
            401,
            "federation.unknown_key",
        )
    )
    # Stale created.
    url = target.url + URL
    stale = sign_request(
        "POST", url, body, key=key, key_id=send.id, now=datetime.now(UTC) - timedelta(hours=1)
    )
    cases.append(("stale", httpx.post(url, content=body, headers=stale.headers), 401, "federation.stale"))
    # Body changed after signing.
    signed = sign_request("POST", url, body, key=key, key_id=send.id)
    changed = body.replace(b'"x"', b'"y"')
    cases.append(
        ("changed", httpx.post(url, content=changed, headers=signed.headers), 401, "federation.bad_digest")
    )
    # Unsigned.
    cases.append(
        (
            "unsigned",
            httpx.post(url, content=body, headers={"content-type": "application/json"}),
            401,
            "federation.unsigned",
        )
    )
    # Outside its audience (addressed to the stranger only).
    outside = _statement(send.identity, send.id, next_seq(), audience=(stranger.id,))
    cases.append(
        (
            "audience",
            _post(target, _batch(outside), key=key, key_id=send.id)[0],
            422,
            "statement.not_in_audience",
        )
    )
    # Observer sending a protected kind.
    protected = _statement(obs.identity, obs.id, 1, audience=(recv.id,))
    cases.append(
        (
            "observer",
            _post(target, _batch(protected), key=obs.identity.signer, key_id=obs.id)[0],
            422,
            "federation.observer_forbidden",
        )
    )
    for name, response, status, code in cases:
        assert response.status_code == status, (name, response.text)
        assert (response.json().get("error") or {}).get("code") == code, (name, response.text)
    assert _count(recv, send.id) == 0
    assert _count(recv, obs.id) == 0
    # A valid request goes through; replaying it exactly is refused.
    ok, signed_ok = _post(target, body, key=key, key_id=send.id)
    assert ok.status_code == 200, ok.text
    assert ok.json()["accepted"] == [good.digest().hex()]
    replay = httpx.post(url, content=body, headers=signed_ok.headers)
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "federation.replayed"
    # An observer's ping is accepted.
    ping = _statement(
        obs.identity, obs.id, 2, kind="node.ping", audience=(recv.id,), body={"nonce": "n", "sent_at": "t"}
    )
    assert _post(target, _batch(ping), key=obs.identity.signer, key_id=obs.id)[0].status_code == 200
    for node in (recv, send, obs, stranger):
        node.close()


def test_equivocation_is_kept_and_alerted_and_duplicates_receipted_again(cluster):
    cluster.add("us-eq")
    cluster.add("cn-eq")
    cluster.pin_all()
    cluster.start("us-eq")
    recv, send = cluster.open("us-eq"), cluster.open("cn-eq")
    target = cluster.nodes["us-eq"]
    key = send.identity.signer
    first = _statement(send.identity, send.id, 7, audience=(recv.id,), body={"v": 1})
    second = _statement(send.identity, send.id, 7, audience=(recv.id,), body={"v": 2})
    r1 = _post(target, _batch(first), key=key, key_id=send.id)[0]
    assert r1.status_code == 200
    again = _post(target, _batch(first), key=key, key_id=send.id)[0]
    assert again.status_code == 200
    assert again.json()["receipt"]["statement"]["body"]["accepted"] == [first.digest().hex()]
    r2 = _post(target, _batch(second), key=key, key_id=send.id)[0]
    assert r2.status_code == 422
    assert r2.json()["error"]["code"] == "federation.equivocation"
    with recv.store.read_session() as s:
        evidence = list(s.scalars(select(Equivocation)))
        alerts = recv.alerts.list(s)
    assert len(evidence) == 1
    assert evidence[0].offered_digest == second.digest().hex()
    assert evidence[0].stored_digest == first.digest().hex()
    assert [a.code for a in alerts] == ["federation.equivocation"]
    assert _count(recv, send.id) == 1
    recv.close()
    send.close()


def test_stopped_peer_catches_up_completely(cluster):
    cluster.add("us-up")
    cluster.add("cn-down")
    cluster.pin_all()
    cluster.start("us-up")
    up, down = cluster.open("us-up"), cluster.open("cn-down")
    sent = _issue(up, "test.note", [down.id], 40)
    # While cn-down is away, the outbox retries; some of what it missed is then dropped from the
    # outbox on purpose, so only the pull-based catch-up can bring it.
    with up.store.session() as s:
        ids = list(
            s.scalars(select(OutboxItem.id).where(OutboxItem.peer_id == down.id).order_by(OutboxItem.id))
        )
        s.execute(update(OutboxItem).where(OutboxItem.id.in_(ids[:25])).values(state="refused"))
    cluster.start("cn-down")
    wait_until(lambda: _count(down, up.id, kind="test.note") == 40, timeout=90, what="catch-up")
    with down.store.read_session() as s:
        got = set(
            s.scalars(
                select(StatementRow.statement_id).where(
                    StatementRow.issuer == up.id, StatementRow.kind == "test.note"
                )
            )
        )
    assert got == {x.statement.id for x in sent}
    up.close()
    down.close()


def test_ping_cli_reports_latency_and_waits_through_an_outage(cluster):
    from harness.nodes import airrc

    cluster.add("us-p")
    cluster.add("cn-p")
    cluster.pin_all()
    cluster.start()
    out = airrc(
        "federation", "ping", "cn-p", "--count", "5", "--timeout", "60", home=cluster.nodes["us-p"].home
    )
    assert "5/5 receipted" in out
    assert "p50" in out
    cluster.nodes["cn-p"].stop()
    home = cluster.nodes["us-p"].home

    def ping(count, timeout):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "airrc",
                "federation",
                "ping",
                "cn-p",
                "--count",
                str(count),
                "--timeout",
                str(timeout),
                "--home",
                str(home),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    restart = threading.Timer(3.0, lambda: cluster.start("cn-p"))
    restart.start()
    result = ping(3, 60)
    restart.join()
    assert result.returncode == 0, result.stderr
    cluster.nodes["cn-p"].stop()
    failed = ping(1, 2)
    assert failed.returncode == 1
    assert "federation.ping_timeout" in failed.stderr
