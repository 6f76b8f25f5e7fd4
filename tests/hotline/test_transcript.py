"""Transcripts: exported by a participant with every proof, verified offline, tampering refused."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest

from airrc.errors import Error
from airrc.hotline.transcript import export_transcript
from airrc.hotline.transcript_verify import verify_transcript
from tests.hotline.conftest import Net, past
from tests.hotline.test_service import NOTICE

LIMIT = 1 << 20


def _exchange(net: Net) -> tuple[str, str]:
    """A FLASH notice left unacknowledged past its deadline (one escalation), then acknowledged and answered."""
    us, cn = net.nodes["us"], net.nodes["cn"]
    officer = net.officer("cn")
    t0 = past(minutes=30)
    with us.store.session() as s:
        channel_id = us.hotline.open_channel(s, ["cn"], now=t0).channel_id
    with us.store.session() as s:
        message_id = us.hotline.send(
            s, channel_id, format_id="CI_ATTACK_NOTICE", fields=NOTICE, now=t0
        ).statement_id
    net.relay()
    with us.store.session() as s:
        us.hotline.check_deadlines(s, now=t0 + timedelta(seconds=301))
    with cn.store.session() as s:
        cn.hotline.acknowledge(s, officer, message_id, now=t0 + timedelta(seconds=400))
    net.relay()
    with cn.store.session() as s:
        cn.hotline.send(
            s,
            channel_id,
            format_id="FREE_TEXT",
            fields={"text": {"text": "正在调查。", "lang": "zh"}},
            in_reply_to=message_id,
        )
    net.relay()
    for node in (us, cn):
        with node.store.session() as s:
            node.ledger.checkpoint(s)
    return channel_id, message_id


def test_both_sides_export_transcripts_that_verify_offline(net: Net) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    channel_id, message_id = _exchange(net)
    for node in (us, cn):
        doc = json.loads(json.dumps(export_transcript(node, channel_id, client=net.http)))
        report = verify_transcript(doc, max_bytes=LIMIT)
        assert report.participants == ["us", "cn"]
        assert report.opened_by == "us"
        assert report.catalog_matches
        notice = next(m for m in report.messages if m.id == message_id)
        assert notice.opened
        assert notice.format == "CI_ATTACK_NOTICE"
        assert notice.precedence == "FLASH"
        assert notice.receipted_by == ["cn"]
        assert len(notice.acknowledged_by) == 1
        assert "officer-cn" in notice.acknowledged_by[0]
        assert notice.escalations == 1
        assert "能源与电网" in notice.rendered["zh"]
        answer = next(m for m in report.messages if m.id != message_id)
        assert answer.in_reply_to == message_id
        assert answer.sender == "cn"
        assert answer.receipted_by == ["us"]
        assert [e["step"] for e in report.escalations] == [1]


def _kind(doc, kind):
    return next(e for e in doc["entries"] if e["statement"]["statement"]["kind"] == kind)


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (
            lambda d: _kind(d, "hotline.message")["content"]["fields"].update(impact="minor"),
            "hotline.commitment_mismatch",
        ),
        (
            lambda d: _kind(d, "hotline.ack")["statement"]["statement"]["body"].update(
                acknowledged_at="2026-01-01T00:00:00Z"
            ),
            "crypto.bad_signature",
        ),
        (
            lambda d: _kind(d, "hotline.message").update(index=_kind(d, "hotline.message")["index"] + 1),
            "ledger.not_in_log",
        ),
        (lambda d: d["entries"].remove(_kind(d, "node.roster")), "hotline.bad_ack"),
        (
            lambda d: d["checkpoints"].update(
                {k: v.replace("\n\n", "\n\nx", 1) for k, v in d["checkpoints"].items()}
            ),
            None,
        ),
        (lambda d: d["cards"].popitem(), None),
    ],
)
def test_tampered_transcripts_are_refused(net: Net, tamper, code) -> None:
    channel_id, _ = _exchange(net)
    doc = export_transcript(net.nodes["us"], channel_id, client=net.http)
    verify_transcript(copy.deepcopy(doc), max_bytes=LIMIT)
    bad = copy.deepcopy(doc)
    tamper(bad)
    with pytest.raises(Error) as refused:
        verify_transcript(bad, max_bytes=LIMIT)
    if code is not None:
        assert refused.value.code == code


def test_right_after_an_ack_the_transcript_is_witnessed_and_covers_it(net: Net) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    channel_id, _message_id = _exchange(net)
    officer = net.officer("cn")
    with us.store.session() as s:
        second = us.hotline.send(s, channel_id, format_id="CI_ATTACK_NOTICE", fields=NOTICE).statement_id
    net.relay()
    with cn.store.session() as s:
        cn.hotline.acknowledge(s, officer, second)
    net.relay()
    # Neither log has a checkpoint covering the ack yet: export gets ours cosigned by cn and witnesses
    # cn's now, instead of failing.
    doc = json.loads(json.dumps(export_transcript(us, channel_id, client=net.http)))
    report = verify_transcript(doc, max_bytes=LIMIT)
    assert report.witnessed_by == {"us": ["cn"], "cn": ["us"]}
    notice = next(m for m in report.messages if m.id == second)
    assert len(notice.acknowledged_by) == 1


def test_a_checkpoint_no_other_participant_cosigned_is_refused(net: Net) -> None:
    channel_id, _ = _exchange(net)
    doc = export_transcript(net.nodes["us"], channel_id, client=net.http)
    cn_origin = net.nodes["cn"].card.origin
    us_id = net.nodes["us"].id
    # Strip cn's cosignature lines from our checkpoint: only our own signatures vouch for it.
    lines = doc["checkpoints"][us_id].split("\n")
    doc["checkpoints"][us_id] = "\n".join(line for line in lines if f"— {cn_origin} " not in line)
    with pytest.raises(Error) as refused:
        verify_transcript(doc, max_bytes=LIMIT)
    assert refused.value.code == "ledger.not_witnessed"
