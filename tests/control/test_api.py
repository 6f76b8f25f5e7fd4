"""The decision flow over the API, in-process: every bad input refused with its code and recorded."""

import time

import pytest

from airrc.control.audit import audit, record_rows
from airrc.statements import parse_signed_statement
from tests.control.conftest import ACTION
from tests.control.conftest import h as _h
from tests.control.conftest import request_decision as _request
from tests.control.conftest import vote as _vote


def _err(r, status, code):
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


def test_bad_inputs_are_refused_with_codes_and_recorded(env):
    node, client, t = env
    _err(_request(client, t["ai"], category="launch_everything"), 422, "control.unknown_category")
    _err(_request(client, t["ann"]), 403, "control.not_a_requester")
    decision = _request(client, t["ai"]).json()["decision"]["id"]
    _err(_vote(client, t["ai"], decision), 403, "control.ai_cannot_vote")
    _err(_vote(client, t["dan"], decision), 403, "auth.forbidden")
    # A session token never signs: without the approver's password, or with a wrong one, no vote.
    _err(_vote(client, t["ann"], decision, password=""), 403, "auth.key_locked")
    _err(_vote(client, t["ann"], decision, password="not ann's password"), 401, "auth.bad_credentials")
    assert _vote(client, t["ann"], decision).json()["state"] == "pending"
    _err(_vote(client, t["ann"], decision), 409, "control.duplicate_vote")
    # A requester that is also an approver may not approve its own request.
    own = _request(client, t["eve"]).json()["decision"]["id"]
    _err(_vote(client, t["eve"], own), 403, "control.requester_cannot_vote")
    # Late approval.
    short = _request(client, t["ai"], expiry=1).json()["decision"]["id"]
    time.sleep(1.2)
    _err(_vote(client, t["bob"], short), 409, "control.expired")
    assert client.get(f"/control/v1/decisions/{short}", headers=_h(t["ann"])).json()["state"] == "expired"
    # Execution reports for an unknown and for a not-authorized decision: violations, refused.
    r = client.post(
        "/control/v1/decisions/00000000-0000-4000-8000-000000000000/execution",
        headers=_h(t["ai"]),
        json={"authorization_id": None, "executed": True},
    )
    _err(r, 404, "control.unknown_decision")
    r = client.post(
        f"/control/v1/decisions/{decision}/execution",
        headers=_h(t["ai"]),
        json={"authorization_id": None, "executed": True},
    )
    _err(r, 422, "control.not_authorized")
    with node.store.read_session() as s:
        codes = [r.code for r in node.control.refusals(s)]
        alerts = [a.code for a in node.alerts.list(s)]
    assert codes == [
        "control.unknown_category",
        "control.not_a_requester",
        "control.ai_cannot_vote",
        "auth.forbidden",
        "auth.key_locked",
        "auth.bad_credentials",
        "control.duplicate_vote",
        "control.requester_cannot_vote",
        "control.expired",
        "control.unknown_decision",
        "control.not_authorized",
    ]
    assert alerts.count("control.violation") == 2
    report = client.get("/control/v1/audit", headers=_h(t["ann"])).json()
    assert report["executed"] == 2
    assert {v["code"] for v in report["violations"]} == {"control.unknown_decision", "control.not_authorized"}


def test_quorum_execution_reuse_and_audit(env):
    node, client, t = env
    decision = _request(client, t["ai"]).json()
    did, salt = decision["decision"]["id"], decision["salt"]
    _vote(client, t["ann"], did)
    state = _vote(client, t["bob"], did).json()
    assert state["state"] == "authorized"
    doc = client.get(f"/control/v1/decisions/{did}", headers=_h(t["ai"])).json()
    from datetime import datetime

    from airrc.control.client import Authorization

    grant = doc["outcome"]["statement"]["body"]["authorization"]
    auth = Authorization(
        did,
        grant["id"],
        doc["outcome"],
        salt,
        datetime.fromisoformat(grant["expires_at"].replace("Z", "+00:00")),
    )
    auth.check(ACTION, node_card=node.card)
    with pytest.raises(Exception) as mismatch:
        auth.check({**ACTION, "substation": "South-1"}, node_card=node.card)
    assert mismatch.value.code == "control.authorization_mismatch"
    r = client.post(
        f"/control/v1/decisions/{did}/execution",
        headers=_h(t["ai"]),
        json={"authorization_id": grant["id"], "executed": True},
    )
    assert r.status_code == 200, r.text
    again = client.post(
        f"/control/v1/decisions/{did}/execution",
        headers=_h(t["ai"]),
        json={"authorization_id": grant["id"], "executed": True},
    )
    _err(again, 409, "control.authorization_reused")
    with node.store.read_session() as s:
        report = audit([parse_signed_statement(r.data, max_bytes=1 << 20) for r in record_rows(s)])
    assert report.executed == 2
    assert report.executed_with_quorum == 1
    assert [v.code for v in report.violations] == ["control.authorization_reused"]


def test_selective_reveal_matches_the_logged_commitments(env):
    node, client, t = env
    did = _request(client, t["ai"]).json()["decision"]["id"]
    with node.store.read_session() as s:
        decision = node.control.get(s, did)
        request = node.statements.get(s, decision.request_statement)
        revealed = node.control.reveal(s, request)
    assert revealed["action"] == ACTION
    assert revealed["action_commitment"] == request.statement.body["action_commitment"]
    import base64

    from airrc.control.policy import commitment

    assert commitment(base64.b64decode(revealed["salt"]), revealed["action"]) == revealed["action_commitment"]
