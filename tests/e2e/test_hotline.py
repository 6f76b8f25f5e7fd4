"""The hotline between real ``airrc serve`` processes: seconds-long deadlines, escalation, a duty officer's
acknowledgement, transcripts verified offline, a third node that reads nothing, and SIGKILLs that lose
nothing."""

import json
import subprocess
import sys

import pytest
from sqlalchemy import select

from airrc.hotline.service import ChannelRow, MessageRow
from airrc.store.statements import StatementRow
from tests.e2e.conftest import cli, wait_until

pytestmark = pytest.mark.e2e
OFFICER_PW = "olga duty officer pw"
NOTICE_FIELDS = [
    "sector=energy_power_grid",
    "country=US",
    "started_at=2026-11-22T06:40Z",
    "ai_involvement=suspected",
    "impact=outage",
    "request=containment",
]


def _send(node, channel_id):
    fields = [arg for f in NOTICE_FIELDS for arg in ("--field", f)]
    return cli(
        "hotline",
        "send",
        channel_id,
        "--format",
        "CI_ATTACK_NOTICE",
        "--precedence",
        "FLASH",
        *fields,
        home=node.home,
    ).stdout.strip()


def _state(node, message_id):
    doc = json.loads(cli("hotline", "show", message_id, "--json", home=node.home).stdout)
    return doc["messages"][0]["awaiting"][0]


def _inbox(node):
    return json.loads(cli("hotline", "inbox", "--json", home=node.home).stdout)


def _configure(nodes, tmp_path, flash_seconds):
    """Deadlines and roster in each home's airrc.toml, which `airrc serve` and the CLI both read."""
    for node in nodes:
        (node.home / "airrc.toml").write_text(
            "[hotline]\n"
            f"ack_seconds = {{FLASH = {flash_seconds}}}\n"
            "deadline_check_seconds = 0.2\n"
            "[[hotline.roster]]\n"
            'name = "watch-lead"\n'
            'contacts = ["lead@watch"]\n'
            f'command = ["sh", "-c", "cat >> {tmp_path}/told"]\n'
        )


ENV = {"AIRRC_CHECKPOINT_INTERVAL_SECONDS": "1"}


def _started(cluster, tmp_path, names, *, flash_seconds):
    """Nodes configured, pinned to each other and serving; the second has duty officer olga."""
    nodes = [cluster.add(name, env=ENV) for name in names]
    _configure(nodes, tmp_path, flash_seconds=flash_seconds)
    cluster.pin_all()
    cli(
        "user",
        "add",
        "olga",
        "--role",
        "duty_officer",
        "--password-stdin",
        home=nodes[1].home,
        stdin=OFFICER_PW + "\n",
    )
    cluster.start()
    return nodes


def test_flash_notice_escalates_is_acknowledged_and_both_transcripts_verify(cluster, tmp_path):
    us, cn, sg = _started(cluster, tmp_path, ("us-hot", "cn-hot", "sg-out"), flash_seconds=3)

    channel_id = cli("hotline", "open", "cn-hot", home=us.home).stdout.strip()
    message_id = _send(us, channel_id)
    wait_until(lambda: [m["id"] for m in _inbox(cn)] == [message_id], what="the notice at cn")
    received = _inbox(cn)[0]
    # Names, not ids: the sender and the waiting node are named.
    assert received["sender_name"] == "us-hot"
    assert [w["node_name"] for w in received["awaiting"]] == ["cn-hot"]
    plain = cli("hotline", "inbox", home=cn.home).stdout
    assert "from us-hot" in plain
    assert "cn-hot: " in plain
    assert received["sender"][:16] not in plain
    assert "Energy and power grid" in received["rendered"]["en"]
    assert "能源与电网" in received["rendered"]["zh"]
    wait_until(lambda: _state(us, message_id)["delivered_at"] is not None, what="cn's receipt at us")

    # nobody acknowledges within the 3 s deadline: escalation on both sides
    wait_until(lambda: _state(us, message_id)["state"] == "overdue", what="overdue at us")
    wait_until(lambda: _state(cn, message_id)["overdue"], what="overdue at cn")
    wait_until(
        lambda: (tmp_path / "told").exists() and message_id in (tmp_path / "told").read_text(),
        what="roster told",
    )
    assert "watch-lead" in (tmp_path / "told").read_text()
    alerts = cli("alerts", "list", "--json", home=us.home).stdout
    assert "hotline.overdue" in alerts

    acked = cli(
        "hotline",
        "ack",
        message_id,
        "--user",
        "olga",
        "--password-stdin",
        home=cn.home,
        stdin=OFFICER_PW + "\n",
    )
    assert "acknowledged by olga" in acked.stdout
    wait_until(lambda: _state(us, message_id)["acknowledged_by"] == "olga", what="the ack at us")

    for node, name in ((us, "us"), (cn, "cn")):
        path = tmp_path / f"{name}-transcript.json"

        # Right after the ack, at once: the exporter has its checkpoint cosigned and witnesses the other's.
        cli("hotline", "transcript", channel_id, "-o", str(path), home=node.home)
        verified = subprocess.run(
            [sys.executable, "-m", "airrc", "hotline", "verify-transcript", str(path), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        report = json.loads(verified.stdout)
        notice = next(m for m in report["messages"] if m["id"] == message_id)
        assert notice["receipted_by"] == ["cn-hot"]
        assert report["witnessed_by"] == {"us-hot": ["cn-hot"], "cn-hot": ["us-hot"]}
        assert len(notice["acknowledged_by"]) == 1
        assert "olga" in notice["acknowledged_by"][0]
        assert notice["escalations"] >= 2  # us's and cn's first step
        tampered = json.loads(path.read_text())
        for entry in tampered["entries"]:
            if "content" in entry:
                entry["content"]["fields"]["impact"] = "minor"
        bad = tmp_path / f"{name}-tampered.json"
        bad.write_text(json.dumps(tampered))
        refused = subprocess.run(
            [sys.executable, "-m", "airrc", "hotline", "verify-transcript", str(bad)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert refused.returncode == 1
        assert "hotline.commitment_mismatch" in refused.stderr

    # drills: each node sent its daily LINK_TEST at start; the receiving nodes acknowledged them automatically
    def drills_ok():
        drills = json.loads(cli("hotline", "status", "--json", home=us.home).stdout)["drills"]
        return {d["peer"]: d["result"] for d in drills} == {"cn-hot": "ok", "sg-out": "ok"}

    wait_until(drills_ok, what="link tests acknowledged")

    # sg, outside the channel, holds nothing of it
    status = json.loads(cli("hotline", "status", "--json", home=sg.home).stdout)
    assert status["acknowledgements"] == {"awaiting": 0, "overdue": 0}
    node = cluster.open("sg-out")
    try:
        with node.store.read_session() as session:
            assert session.get(ChannelRow, channel_id) is None
            assert not session.scalars(select(MessageRow).where(MessageRow.channel_id == channel_id)).first()
            assert session.scalar(select(StatementRow).where(StatementRow.statement_id == message_id)) is None
            for data in session.scalars(select(StatementRow.data)):
                assert channel_id.encode() not in data
                assert b"energy_power_grid" not in data
    finally:
        node.close()


@pytest.mark.slow
def test_sigkill_of_either_node_during_a_flash_exchange_loses_nothing(cluster, tmp_path):
    us, cn = _started(cluster, tmp_path, ("us-kill", "cn-kill"), flash_seconds=300)
    channel_id = cli("hotline", "open", "cn-kill", home=us.home).stdout.strip()

    cn.kill()  # the recipient dies: messages wait in us's outbox
    first = [_send(us, channel_id) for _ in range(3)]
    us.kill()  # and the sender dies with them undelivered
    cluster.start("us-kill", "cn-kill")
    wait_until(lambda: {m["id"] for m in _inbox(cn)} == set(first), what="all notices at cn after restarts")

    for message_id in first:
        cli(
            "hotline",
            "ack",
            message_id,
            "--user",
            "olga",
            "--password-stdin",
            home=cn.home,
            stdin=OFFICER_PW + "\n",
        )
    cn.kill()  # acknowledgements committed at cn, perhaps not yet delivered
    second = _send(us, channel_id)
    cluster.start("cn-kill")
    wait_until(
        lambda: all(_state(us, m)["acknowledged_by"] == "olga" for m in first),
        what="every ack at us after the kill",
    )
    wait_until(lambda: second in {m["id"] for m in _inbox(cn)}, what="the later notice at cn")
    with_ids = {m["id"] for m in json.loads(cli("hotline", "inbox", "--all", "--json", home=cn.home).stdout)}
    assert with_ids == {*first, second}  # nothing lost, nothing doubled
