"""/hotline/v1 over HTTP: a duty officer's token opens, sends and acknowledges; errors carry codes."""

from __future__ import annotations

from tests.hotline.conftest import OFFICER_PASSWORD, Net
from tests.hotline.test_service import NOTICE


def _login(net: Net, name: str) -> dict[str, str]:
    net.officer(name)
    app = net.hosts.apps[f"{name}.test"]
    r = app.post("/api/v1/auth/login", json={"username": f"officer-{name}", "password": OFFICER_PASSWORD})
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['token']}"}


def test_the_hotline_over_http(net: Net) -> None:
    us_api, cn_api = net.hosts.apps["us.test"], net.hosts.apps["cn.test"]
    us_h, cn_h = _login(net, "us"), _login(net, "cn")
    assert us_api.get("/hotline/v1/channels").status_code == 401
    formats = us_api.get("/hotline/v1/formats", headers=us_h).json()
    assert len(formats["digest"]) == 64
    assert "CI_ATTACK_NOTICE" in formats["formats"]

    opened = us_api.post("/hotline/v1/channels", headers=us_h, json={"participants": ["cn"]})
    assert opened.status_code == 201, opened.text
    channel_id = opened.json()["id"]
    sent = us_api.post(
        f"/hotline/v1/channels/{channel_id}/messages",
        headers=us_h,
        json={"format": "CI_ATTACK_NOTICE", "precedence": "FLASH", "fields": NOTICE},
    )
    assert sent.status_code == 201, sent.text
    message_id = sent.json()["id"]
    net.relay()

    inbox = cn_api.get("/hotline/v1/inbox?lang=zh", headers=cn_h).json()
    assert [m["id"] for m in inbox] == [message_id]
    assert set(inbox[0]["rendered"]) == {"zh"}
    assert "特急" in inbox[0]["rendered"]["zh"]
    # The session token alone cannot sign: the officer's password unlocks their key for this act.
    locked = cn_api.post(f"/hotline/v1/messages/{message_id}/ack", headers=cn_h)
    assert locked.status_code == 403
    assert locked.json()["error"]["code"] == "auth.key_locked"
    wrong = cn_api.post(
        f"/hotline/v1/messages/{message_id}/ack", headers=cn_h, json={"password": "not the password"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "auth.bad_credentials"
    acked = cn_api.post(
        f"/hotline/v1/messages/{message_id}/ack", headers=cn_h, json={"password": OFFICER_PASSWORD}
    )
    assert acked.status_code == 200, acked.text
    again = cn_api.post(
        f"/hotline/v1/messages/{message_id}/ack", headers=cn_h, json={"password": OFFICER_PASSWORD}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "hotline.already_acknowledged"
    net.relay()
    shown = us_api.get(f"/hotline/v1/channels/{channel_id}", headers=us_h).json()
    assert shown["messages"][0]["awaiting"][0]["state"] == "acknowledged"

    bad = us_api.post(
        f"/hotline/v1/channels/{channel_id}/messages",
        headers=us_h,
        json={"format": "CI_ATTACK_NOTICE", "fields": {**NOTICE, "impact": "total"}},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "hotline.bad_field"
    assert "impact" in bad.json()["error"]["message"]
    unknown = us_api.get("/hotline/v1/channels/00000000-0000-4000-8000-000000000000", headers=us_h)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "hotline.unknown_channel"

    status = us_api.get("/hotline/v1/status", headers=us_h).json()
    assert {d["peer"] for d in status["drills"]} == {"cn", "sg"}
    metrics = us_api.get("/metrics", headers=us_h).text
    assert "airrc_hotline_unacknowledged" in metrics
    assert 'airrc_hotline_drill_ok{peer="cn"}' in metrics

    closed = us_api.post(f"/hotline/v1/channels/{channel_id}/close", headers=us_h)
    assert closed.status_code == 200
    assert closed.json()["state"] == "closed"
