"""The hotline lifecycle over the real federation code, with a controlled clock."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import select

from airrc.alerts import Alert
from airrc.crypto.sealing import open_sealed
from airrc.crypto.signing import HybridSignature
from airrc.errors import Conflict, Error, Forbidden, SealError
from airrc.federation.sync import sync_peer
from airrc.hotline.channel import AckBody, Officer
from airrc.hotline.service import MessageRow, WaitRow
from airrc.statements import PUBLIC
from airrc.store.statements import StatementRow
from tests.hotline.conftest import Net, past

NOTICE = {
    "sector": "energy_power_grid",
    "country": "US",
    "started_at": "2026-11-22T06:40Z",
    "ai_involvement": "suspected",
    "impact": "degraded",
    "request": "information",
}


def _open(net: Net, *peers: str, at=None):
    us = net.nodes["us"]
    with us.store.session() as s:
        channel = us.hotline.open_channel(s, list(peers), now=at)
        return channel.channel_id


def _send(net: Net, channel_id: str, *, at=None, precedence="FLASH", fields=None, sender="us", reply=None):
    node = net.nodes[sender]
    with node.store.session() as s:
        row = node.hotline.send(
            s,
            channel_id,
            format_id="CI_ATTACK_NOTICE" if reply is None else "INFORMATION_RESPONSE",
            fields=fields or NOTICE,
            precedence=precedence,
            in_reply_to=reply,
            now=at,
        )
        return row.statement_id


def _view(node, message_id):
    with node.store.read_session() as s:
        return node.hotline.message(s, message_id).to_json(node.hotline.catalog)


def _eventually_holds(path, *texts, timeout=30.0) -> bool:
    """Whether ``path`` comes to hold every one of ``texts`` within ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and all(t in path.read_text() for t in texts):
            return True
        time.sleep(0.05)
    return False


def _alerts(node, code):
    with node.store.read_session() as s:
        return list(s.scalars(select(Alert).where(Alert.code == code)))


def test_flash_notice_is_delivered_acknowledged_by_an_officer_and_answered(net: Net) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    officer = net.officer("cn")
    channel_id = _open(net, "cn")
    message_id = _send(net, channel_id)
    assert _view(us, message_id)["awaiting"][0]["state"] == "sent"
    net.relay()

    sent = _view(us, message_id)
    assert sent["awaiting"][0]["state"] == "delivered"
    assert sent["awaiting"][0]["delivered_at"] is not None
    received = _view(cn, message_id)
    assert received["fields"] == NOTICE
    assert "能源与电网" in received["rendered"]["zh"]
    assert "Energy and power grid" in received["rendered"]["en"]
    assert received["rendered"]["zh"].startswith("[特急]")
    with cn.store.read_session() as s:
        assert [v.row.statement_id for v in cn.hotline.inbox(s)] == [message_id]
    assert _alerts(cn, "hotline.flash_received")

    with cn.store.session() as s:
        cn.hotline.acknowledge(s, officer, message_id)
    # The alert that asked for an acknowledgement closes with it.
    (flash,) = _alerts(cn, "hotline.flash_received")
    assert (flash.acked_by, flash.acked_at is not None) == ("officer-cn", True)
    with cn.store.session() as s, pytest.raises(Conflict) as again:
        cn.hotline.acknowledge(s, officer, message_id)
    assert again.value.code == "hotline.already_acknowledged"
    net.relay()
    acked = _view(us, message_id)["awaiting"][0]
    assert acked["state"] == "acknowledged"
    assert acked["acknowledged_by"] == "officer-cn"

    answer = _send(
        net,
        channel_id,
        sender="cn",
        reply=message_id,
        precedence="IMMEDIATE",
        fields={
            "in_reply_to": message_id,
            "confidence": "high",
            "answer": {"en": "We see the same traffic.", "zh": "我们看到了相同的流量。"},
        },
    )
    net.relay()
    assert _view(us, message_id)["awaiting"][0]["state"] == "answered"
    assert _view(us, answer)["in_reply_to"] == message_id


def test_only_duty_officers_with_unlocked_keys_acknowledge(net: Net) -> None:
    cn = net.nodes["cn"]
    net.officer("cn")
    channel_id = _open(net, "cn")
    message_id = _send(net, channel_id)
    net.relay()
    with cn.store.session() as s:
        cn.add_user(s, "ana", "analyst password!", ["analyst"])
    with cn.store.session() as s:
        analyst = cn.principals.unlock(s, "ana", "analyst password!")
    with cn.store.session() as s, pytest.raises(Forbidden) as refused:
        cn.hotline.acknowledge(s, analyst, message_id)
    assert refused.value.code == "hotline.not_duty_officer"


def test_a_node_cannot_invent_an_acknowledgement(net: Net) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    officer = net.officer("cn")
    channel_id = _open(net, "cn")
    message_id = _send(net, channel_id)
    net.relay()
    with cn.store.session() as s:
        message = s.get(MessageRow, message_id)
        forged = AckBody(
            channel_id=channel_id,
            message=message_id,
            message_digest=message.digest,
            acknowledged_at="2026-11-22T07:00:00Z",
            officer=Officer(
                user_id=officer.id,
                username=officer.username,
                public_key=officer.personal_public_keys()[0],
                ml_dsa_65_key=officer.personal_public_keys()[1],
            ),
            officer_signature=HybridSignature(
                ed25519=base64.b64encode(b"\x00" * 64).decode(),
                ml_dsa_65=base64.b64encode(b"\x00" * 3309).decode(),
            ),
        )
        cn.statements.issue(
            s, kind="hotline.ack", audience=[us.id, cn.id], body=forged.model_dump(mode="json"), tlp="amber"
        )
    net.relay()
    assert _view(us, message_id)["awaiting"][0]["state"] == "delivered"
    assert _alerts(us, "hotline.bad_ack")


def test_missed_deadlines_escalate_step_by_step_on_both_sides(net: Net, tmp_path) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    net.officer("cn")
    t0 = past(minutes=120)
    channel_id = _open(net, "cn", at=t0)
    message_id = _send(net, channel_id, at=t0)
    net.relay()
    window = timedelta(seconds=300)

    with us.store.session() as s:
        assert us.hotline.check_deadlines(s, now=t0 + window - timedelta(seconds=1)) == []
    with us.store.session() as s:
        first = us.hotline.check_deadlines(s, now=t0 + window)
    assert [(e.step, e.side, e.level, e.resent) for e in first] == [(1, "sender", "watch-lead", False)]
    with us.store.session() as s:
        assert us.hotline.check_deadlines(s, now=t0 + window + timedelta(seconds=10)) == []
    with cn.store.session() as s:
        theirs = cn.hotline.check_deadlines(s, now=t0 + window)
    assert [(e.step, e.side, e.awaiting) for e in theirs] == [(1, "recipient", cn.id)]
    net.relay()
    assert _view(us, message_id)["awaiting"][0]["state"] == "overdue"
    assert _view(cn, message_id)["awaiting"][0]["overdue"] is True

    with us.store.session() as s:
        second = us.hotline.check_deadlines(s, now=t0 + 2 * window)
        assert [(e.step, e.level, e.notified) for e in second] == [(2, "director", ("director@watch",))]
    with us.store.session() as s:
        assert us.hotline.check_deadlines(s, now=t0 + 10 * window) == []  # the ladder has two levels
    with us.store.read_session() as s:
        kinds = [
            r.kind
            for r in s.scalars(
                select(StatementRow).where(StatementRow.local.is_(True)).order_by(StatementRow.seq)
            )
        ]
    assert kinds.count("hotline.escalation") == 2
    assert len(_alerts(us, "hotline.overdue")) == 2

    # The roster's commands run in their own threads once each step commits.
    assert _eventually_holds(tmp_path / "level1", "watch-lead", message_id)
    assert _eventually_holds(tmp_path / "level2", "director")


def test_an_undelivered_message_is_resent_through_alternate_endpoints(net: Net) -> None:
    us = net.nodes["us"]
    net.officer("cn")
    t0 = past(minutes=60)
    channel_id = _open(net, "cn", at=t0)
    net.relay()
    net.hosts.down.update({"cn.test", "cn-alt.test"})
    message_id = _send(net, channel_id, at=t0)
    net.relay()
    assert _view(us, message_id)["awaiting"][0]["state"] == "sent"
    with us.store.session() as s:
        cn_card = us.trust.by_name(s, "cn")
        (step,) = us.hotline.check_deadlines(s, now=t0 + timedelta(seconds=300))
    assert step.resent
    assert step.endpoints == ("http://cn-alt.test", "http://cn.test")
    assert us.outbox.endpoints_for(cn_card) == ["http://cn-alt.test", "http://cn.test"]
    net.hosts.down.discard("cn-alt.test")
    net.relay()
    assert _view(us, message_id)["awaiting"][0]["delivered_at"] is not None
    assert us.outbox.endpoints_for(cn_card) == ["http://cn.test", "http://cn-alt.test"]


def test_a_node_outside_the_channel_cannot_read_it(net: Net) -> None:
    us, cn, sg = net.nodes["us"], net.nodes["cn"], net.nodes["sg"]
    channel_id = _open(net, "cn")
    message_id = _send(net, channel_id)
    net.relay()
    with sg.store.read_session() as s:
        assert s.scalar(select(StatementRow).where(StatementRow.statement_id == message_id)) is None
        assert s.scalar(select(MessageRow)) is None
    with us.store.read_session() as s:
        signed = us.statements.get(s, message_id)
    assert signed.statement.audience != PUBLIC
    assert sg.id not in signed.statement.audience
    sealed = signed.statement.body["sealed"]
    from airrc.crypto.sealing import SealedBody

    with pytest.raises(SealError):
        open_sealed(
            SealedBody.model_validate(sealed),
            recipient=sg.identity,
            recipient_id=cn.id,
            sender_id=us.id,
            sender_verifier=us.identity.signer.verifier,
            kind="hotline.message",
            max_bytes=1 << 20,
        )
    # sg relaying us's message to cn is refused: only the issuer may push its statements.
    with cn.store.session() as s:
        pushed = cn.inbox.receive(s, sg.card, [signed.to_json()], receipt=False)
    assert [r.code for r in pushed.rejected] == ["federation.not_issuer"]
    # and catch-up from us over HTTP gives sg nothing of the channel
    with sg.store.read_session() as s:
        us_card = sg.trust.current(s, us.id)
    sync_peer(
        peer=us_card,
        node_id=sg.id,
        store=sg.store,
        inbox=sg.inbox,
        outbox=sg.outbox,
        signing_key=sg.identity.signer,
        client=net.http,
        limit=100,
    )
    with sg.store.read_session() as s:
        kinds = set(s.scalars(select(StatementRow.kind).where(StatementRow.issuer == us.id)))
    assert "node.roster" in kinds
    assert not any(k.startswith("hotline.") for k in kinds)
    # no plaintext of the notice at sg, anywhere in its database
    with sg.store.read_session() as s:
        for row in s.scalars(select(StatementRow)):
            assert b"energy_power_grid" not in row.data


def test_replayed_and_tampered_messages_are_refused(net: Net) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    channel_id = _open(net, "cn")
    message_id = _send(net, channel_id)
    net.relay()
    with us.store.read_session() as s:
        original = us.statements.get(s, message_id)
    # us re-issues the same sealed content as a new statement: same sender number, refused as a replay
    with us.store.session() as s:
        us.statements.issue(
            s,
            kind="hotline.message",
            audience=list(original.statement.audience),
            body=original.statement.body,
            tlp="amber",
        )
    net.relay()
    assert _alerts(cn, "hotline.replayed")
    with cn.store.read_session() as s:
        assert len(list(s.scalars(select(MessageRow)))) == 1
    # a tampered statement fails its signature at the federation layer
    doc = original.to_json()
    doc["statement"]["body"]["commitment"] = "0" * 64
    with cn.store.session() as s:
        result = cn.inbox.receive(s, us.card, [doc], receipt=False)
    assert result.rejected
    assert result.rejected[0].code == "crypto.bad_signature"


@pytest.mark.parametrize(
    ("fields", "code", "named"),
    [
        ({k: v for k, v in NOTICE.items() if k != "sector"}, "hotline.missing_field", "sector"),
        ({**NOTICE, "sector": "moon_base"}, "hotline.bad_field", "sector"),
        ({**NOTICE, "impact": "apocalyptic"}, "hotline.bad_field", "impact"),
        ({**NOTICE, "started_at": 1234}, "hotline.bad_field", "started_at"),
        ({**NOTICE, "colour": "red"}, "hotline.unknown_field", "colour"),
    ],
)
def test_bad_messages_are_refused_with_a_code_naming_the_field(net: Net, fields, code, named) -> None:
    us = net.nodes["us"]
    channel_id = _open(net, "cn")
    with us.store.session() as s, pytest.raises(Error) as refused:
        us.hotline.send(s, channel_id, format_id="CI_ATTACK_NOTICE", fields=fields)
    assert refused.value.code == code
    assert named in refused.value.message
    with us.store.session() as s, pytest.raises(Error) as unknown:
        us.hotline.send(s, channel_id, format_id="NO_SUCH_FORMAT", fields={})
    assert unknown.value.code == "hotline.unknown_format"
    with us.store.read_session() as s:
        assert s.scalar(select(MessageRow)) is None


def test_closed_channels_take_no_messages(net: Net) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    channel_id = _open(net, "cn")
    with us.store.session() as s:
        us.hotline.close_channel(s, channel_id)
    net.relay()
    with cn.store.read_session() as s:
        assert cn.hotline.channel(s, channel_id).state == "closed"
    with us.store.session() as s, pytest.raises(Conflict):
        us.hotline.send(s, channel_id, format_id="CI_ATTACK_NOTICE", fields=NOTICE)


def test_drills_are_acknowledged_automatically(net: Net) -> None:
    us = net.nodes["us"]
    with us.store.session() as s:
        sent = us.hotline.run_drills(s, interval=timedelta(days=1))
    assert len(sent) == 2  # cn and sg
    with us.store.session() as s:
        assert us.hotline.run_drills(s, interval=timedelta(days=1)) == []
    net.relay()
    with us.store.read_session() as s:
        status = {row["peer"]: row for row in us.hotline.drill_status(s)}
    assert status["cn"]["result"] == "ok"
    assert status["cn"]["round_trip_seconds"] >= 0
    assert status["sg"]["result"] == "ok"
    with us.store.read_session() as s:
        waits = list(s.scalars(select(WaitRow)))
    assert all(w.acked_by == "(automatic)" for w in waits)


def test_a_rolled_back_escalation_tells_nobody(net: Net, tmp_path) -> None:
    import time

    us = net.nodes["us"]
    net.officer("cn")
    t0 = past(minutes=120)
    channel_id = _open(net, "cn", at=t0)
    _send(net, channel_id, at=t0)
    net.relay()
    due = t0 + timedelta(seconds=300)
    with pytest.raises(RuntimeError), us.store.session() as s:
        assert us.hotline.check_deadlines(s, now=due)
        raise RuntimeError("the transaction fails after the step was taken")
    time.sleep(0.5)
    assert not (tmp_path / "level1").exists()  # the roster was not told of a step that never happened
    with us.store.session() as s:
        assert [e.step for e in us.hotline.check_deadlines(s, now=due)] == [1]
    assert _eventually_holds(tmp_path / "level1", "watch-lead")


def test_an_escalation_with_nobody_on_call_says_so(make_node) -> None:
    us, cn = make_node("us-alone"), make_node("cn-alone")  # no [hotline] roster configured
    for node, other in ((us, cn), (cn, us)):
        with node.store.session() as s:
            node.trust.pin_chain(s, other.card_chain())
    t0 = past(minutes=120)
    with us.store.session() as s:
        channel = us.hotline.open_channel(s, ["cn-alone"], now=t0)
        us.hotline.send(
            s, channel.channel_id, format_id="CI_ATTACK_NOTICE", fields=NOTICE, precedence="FLASH", now=t0
        )
    with us.store.session() as s:
        assert [e.step for e in us.hotline.check_deadlines(s, now=t0 + timedelta(seconds=300))] == [1]
    (alert,) = _alerts(us, "hotline.nobody_on_call")
    assert alert.severity == "critical"
    assert "not acknowledged by cn-alone" in alert.message
    (overdue,) = _alerts(us, "hotline.overdue")
    assert "cn-alone" in overdue.message
