"""Human control on a real node: quorum, veto, expiry and violation; the audit bundle checked by a peer."""

import json
import threading

import httpx
import pytest
from harness.nodes import add_user, airrc

from airrc.control.client import Client, Denied, Expired
from airrc.crypto.trust import NodeCard
from tests.e2e.conftest import cli

pytestmark = pytest.mark.e2e
ACTION = {"operation": "shutdown", "substation": "North-7"}


def _login(url, user, password):
    r = httpx.post(f"{url}/api/v1/auth/login", json={"username": user, "password": password}, timeout=60)
    r.raise_for_status()
    return {"authorization": f"Bearer {r.json()['token']}"}


def test_quorum_veto_expiry_violation_and_audit_bundle(cluster, tmp_path):
    us = cluster.add("us-ctl")
    cn = cluster.add("cn-aud")
    cluster.pin_all()
    for name in ("ann", "bob"):
        add_user(us.home, name, "approver", f"{name} approver pw")
    cli("service", "add", "grid-planner", home=us.home)
    token = cli(
        "token", "create", "--principal", "grid-planner", "--expires", "1", home=us.home
    ).stdout.strip()
    cluster.start()
    card = NodeCard.model_validate(json.loads(airrc("card", "export", home=us.home)))
    sdk = Client(us.url, token, node_card=card, poll_seconds=0.1)
    try:
        _scenario(us, cn, sdk, card, tmp_path)
    finally:
        sdk.close()


def _scenario(us, cn, sdk, card, tmp_path):
    approvers = {n: _login(us.url, n, f"{n} approver pw") for n in ("ann", "bob")}

    def vote_when_pending(votes):
        def run():
            for _ in range(200):
                pending = httpx.get(
                    f"{us.url}/control/v1/decisions?state=pending", headers=approvers["ann"]
                ).json()
                if pending:
                    for who, approve in votes:
                        r = httpx.post(
                            f"{us.url}/control/v1/decisions/{pending[0]['id']}/votes",
                            headers=approvers[who],
                            json={"approve": approve, "reason": "reviewed", "password": f"{who} approver pw"},
                        )
                        assert r.status_code == 200, r.text
                    return
                threading.Event().wait(0.05)

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    # Quorum of two distinct approvers: authorized, checked offline, executed.
    voting = vote_when_pending([("ann", True), ("bob", True)])
    authorization = sdk.require_authorization(
        "critical_infrastructure_shutdown", ACTION, rationale="cascade risk", confidence=0.9, timeout=60
    )
    voting.join()
    authorization.check(ACTION, node_card=card)
    sdk.report_execution(authorization, authorization.decision_id, executed=True)
    # Veto: one approval, one denial.
    voting = vote_when_pending([("ann", True), ("bob", False)])
    with pytest.raises(Denied):
        sdk.require_authorization(
            "critical_infrastructure_shutdown", ACTION, rationale="again", confidence=0.5, timeout=60
        )
    voting.join()
    # No quorum before expiry: no.
    voting = vote_when_pending([("ann", True)])
    with pytest.raises(Expired):
        sdk.require_authorization(
            "critical_infrastructure_shutdown",
            ACTION,
            rationale="third",
            confidence=0.5,
            expiry_seconds=2,
            timeout=60,
        )
    voting.join()
    # Acting without authorization is refused and recorded as a violation, with an alert.
    denied = httpx.get(f"{us.url}/control/v1/decisions?state=denied", headers=approvers["ann"]).json()[0][
        "id"
    ]
    # An approver of this node sees what was asked, not only its commitments.
    shown = json.loads(cli("control", "show", denied, home=us.home).stdout)
    assert (shown["request"]["action"], shown["request"]["rationale"]) == (ACTION, "again")
    assert "action" in cli("control", "pending", home=us.home).stdout
    with pytest.raises(Exception) as violation:
        sdk.report_execution(None, denied, executed=True)
    assert violation.value.code == "control.not_authorized"
    alerts = json.loads(cli("alerts", "list", "--json", home=us.home).stdout)
    assert [a["code"] for a in alerts] == ["control.violation"]
    # The local audit finds exactly that violation.
    local = cli("control", "audit", home=us.home, check=False)
    assert local.returncode == 1
    assert "2 executed, 1 with their quorum" in local.stdout
    assert "control.not_authorized" in local.stdout
    # The peer verifies the bundle without seeing any action detail; a tampered bundle fails.
    bundle = tmp_path / "audit.json"
    cli("control", "export-audit", "-o", str(bundle), home=us.home)
    assert "North-7" not in bundle.read_text()
    checked = cli("control", "verify-audit", str(bundle), home=cn.home, check=False)
    assert "verified" in checked.stdout
    assert "a checkpoint of" in checked.stdout
    assert "complete" in checked.stdout
    assert "control.not_authorized" in checked.stdout
    doc = json.loads(bundle.read_text())
    gap = {
        **doc,
        "statements": [
            i for i in doc["statements"] if i["statement"]["statement"]["kind"] != "control.outcome"
        ],
    }
    (tmp_path / "gap.json").write_text(json.dumps(gap))
    hidden = cli("control", "verify-audit", str(tmp_path / "gap.json"), home=cn.home, check=False)
    assert "error[control.incomplete_bundle]" in hidden.stderr
    for item in doc["statements"]:
        if item["statement"]["statement"]["kind"] == "control.vote":
            item["statement"]["statement"]["body"]["vote"] = "deny"
            break
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc))
    bad = cli("control", "verify-audit", str(tampered), home=cn.home, check=False)
    assert bad.returncode == 1
    assert "error[crypto.bad_signature]" in bad.stderr
