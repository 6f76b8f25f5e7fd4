from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from airrc.api.app import create_app
from airrc.errors import InputError
from airrc.store.db import utcnow
from tests.conftest import ADMIN_PASSWORD


@pytest.fixture
def client(node):
    with TestClient(create_app(node)) as test_client:
        yield test_client


def _token(client, username="admin", password=ADMIN_PASSWORD):
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['token']}"}


def _error(response, status, code):
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert "Traceback" not in response.text


def test_healthz_is_public(client, node):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["id"] == node.id


def test_openapi_is_served(client):
    assert "/api/v1/auth/login" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    "path", ["/api/v1/node", "/api/v1/peers", "/metrics", "/api/v1/users", "/api/v1/alerts"]
)
def test_every_route_requires_authentication(client, path):
    _error(client.get(path), 401, "auth.unauthenticated")


def test_wrong_token_is_refused(client):
    for token in ("nonsense", "airrc_0000000000000000_secret", "airrc_x"):
        _error(
            client.get("/api/v1/node", headers={"authorization": f"Bearer {token}"}),
            401,
            "auth.invalid_token",
        )


def test_expired_token_is_refused(client, node):
    with node.store.session() as session:
        admin = node.principals.get(session, "admin")
        token = node.principals.create_token(session, admin, lifetime=timedelta(seconds=60))
        from airrc.principals.accounts import TokenRow

        session.get(TokenRow, token.split("_")[1]).expires_at = utcnow() - timedelta(seconds=1)
    _error(
        client.get("/api/v1/node", headers={"authorization": f"Bearer {token}"}), 401, "auth.invalid_token"
    )


def test_revoked_token_is_refused(client, node):
    headers = _token(client)
    assert client.get("/api/v1/node", headers=headers).status_code == 200
    with node.store.session() as session:
        node.principals.revoke(session, headers["authorization"].split("_")[1])
    _error(client.get("/api/v1/node", headers=headers), 401, "auth.invalid_token")


def test_bad_password_and_unknown_user_answer_alike(client):
    wrong = client.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong password!!"})
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "wrong password!!"})
    _error(wrong, 401, "auth.bad_credentials")
    _error(unknown, 401, "auth.bad_credentials")
    assert wrong.json() == unknown.json()


def test_wrong_role_is_forbidden(client):
    admin = _token(client)
    created = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "ana", "password": "analyst password 1", "roles": ["analyst"]},
    )
    assert created.status_code == 201, created.text
    analyst = _token(client, "ana", "analyst password 1")
    _error(client.get("/api/v1/users", headers=analyst), 403, "auth.forbidden")
    _error(client.get("/api/v1/alerts", headers=analyst), 403, "auth.forbidden")
    assert client.get("/api/v1/node", headers=analyst).status_code == 200


def test_adding_a_user_publishes_the_roster(client, node):
    admin = _token(client)
    client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "duty1", "password": "duty officer pass", "roles": ["duty_officer"]},
    )
    with node.store.session() as session:
        rows = node.statements.by_issuer(session, node.id)
        roster = rows[-1].signed(max_bytes=1 << 20).statement
    assert roster.kind == "node.roster"
    assert {u["username"] for u in roster.body["users"]} == {"admin", "duty1"}


def test_request_body_over_limit_is_413(make_node):
    node = make_node("small", limits={"max_request_bytes": 2048})
    with TestClient(create_app(node)) as client:
        response = client.post(
            "/api/v1/auth/login", content=b"x" * 5000, headers={"content-type": "application/json"}
        )
        _error(response, 413, "request.too_large")

        def chunks():  # no Content-Length: the limit applies while streaming
            for _ in range(10):
                yield b"y" * 1000

        streamed = client.post(
            "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
        )
        _error(streamed, 413, "request.too_large")


def test_malformed_json_is_400(client):
    response = client.post(
        "/api/v1/auth/login", content=b'{"username": ', headers={"content-type": "application/json"}
    )
    _error(response, 400, "input.malformed_json")
    admin = _token(client)
    verify = client.post("/api/v1/statements/verify", content=b"{not json", headers=admin)
    _error(verify, 400, "input.malformed_json")


def test_verify_endpoint_checks_statements(client, node):
    admin = _token(client)
    with node.store.session() as session:
        signed = node.statements.issue(session, kind="node.ping", body={"nonce": "n", "sent_at": "t"})
    ok = client.post("/api/v1/statements/verify", content=signed.canonical(), headers=admin)
    assert ok.status_code == 200
    assert ok.json()["digest"] == signed.digest().hex()
    doc = signed.to_json()
    doc["statement"]["body"]["nonce"] = "m"
    import json

    _error(
        client.post("/api/v1/statements/verify", content=json.dumps(doc), headers=admin),
        422,
        "crypto.bad_signature",
    )


def test_metrics_count_alerts(client, node):
    with node.store.session() as session:
        node.alerts.raise_alert(session, "ledger.inconsistent", "peer log rewritten", severity="critical")
    text = client.get("/metrics", headers=_token(client)).text
    assert 'airrc_alerts{code="ledger.inconsistent",severity="critical",state="open"} 1.0' in text
    assert "airrc_statements" in text


def test_metrics_need_an_operator_or_a_monitor_account(client, node):
    tokens = {}
    with node.store.session() as session:
        for name, roles in (
            ("taxii-partner", ["observer"]),
            ("prometheus", ["monitor"]),
            ("bot", ["ai_system"]),
        ):
            principal = node.principals.add_service(session, name, roles)
            tokens[name] = node.principals.create_token(session, principal, lifetime=timedelta(hours=1))
    for name in ("taxii-partner", "bot"):
        _error(
            client.get("/metrics", headers={"authorization": f"Bearer {tokens[name]}"}), 403, "auth.forbidden"
        )
    scraped = client.get("/metrics", headers={"authorization": f"Bearer {tokens['prometheus']}"})
    assert scraped.status_code == 200
    assert "airrc_statements" in scraped.text
    # A monitor account reads metrics and nothing else.
    _error(
        client.get("/api/v1/alerts", headers={"authorization": f"Bearer {tokens['prometheus']}"}),
        403,
        "auth.forbidden",
    )


def test_alerts_list_and_ack_over_api(client, node):
    with node.store.session() as session:
        alert = node.alerts.raise_alert(session, "federation.link_failing", "cn-demo unreachable")
    admin = _token(client)
    listed = client.get("/api/v1/alerts", headers=admin).json()
    assert [a["id"] for a in listed] == [alert.id]
    assert client.post(f"/api/v1/alerts/{alert.id}/ack", headers=admin).json()["acked_by"] == "admin"
    _error(client.post(f"/api/v1/alerts/{alert.id}/ack", headers=admin), 409, "alert.already_acked")
    _error(client.post("/api/v1/alerts/9999/ack", headers=admin), 404, "alert.not_found")
    assert client.get("/api/v1/alerts", headers=admin).json() == []


def test_unknown_route_has_error_body(client):
    _error(client.get("/nope"), 404, "http.not_found")


def test_a_bad_role_lists_the_valid_ones(node):
    with node.store.session() as session, pytest.raises(InputError) as refused:
        node.add_user(session, "newcomer", "a long enough password", ["dutyofficer"])
    assert refused.value.code == "auth.bad_role"
    assert "duty_officer" in refused.value.message
    with node.store.session() as session, pytest.raises(InputError) as service:
        node.principals.add_service(session, "bot2", ["approver"])
    assert "ai_system" in service.value.message
