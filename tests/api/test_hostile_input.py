"""Hostile numbers, dates and bytes get a typed 400/404 with our error body, never a 500 (probe findings)."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from airrc.api.app import create_app
from airrc.node import Node
from tests.conftest import ADMIN_PASSWORD

HUGE = "1" + "0" * 5_000  # beyond Python's 4,300-digit int limit
BIG = "99999999999999999999999999"  # beyond 64-bit storage


@pytest.fixture
def client(node: Node):
    with TestClient(create_app(node), raise_server_exceptions=False) as c:
        token = c.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
        c.headers["authorization"] = f"Bearer {token['token']}"
        yield c


def _typed(response, *statuses: int) -> str:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    doc = response.json()
    # TAXII answers its own error resource (with our code in error_code); everything else our error body.
    code = doc["error_code"] if "error_code" in doc else doc["error"]["code"]
    assert code != "internal.error"
    return code


@pytest.mark.parametrize(
    "path",
    ["/api/v1/auth/login", "/exchange/v1/reports", "/hotline/v1/channels", "/control/v1/decisions"],
)
@pytest.mark.parametrize("number", [HUGE, BIG, "-" + BIG])
def test_json_integers_beyond_range_are_refused_in_every_json_route(client, path, number):
    body = '{"username": ' + number + ', "count": ' + number + "}"
    code = _typed(client.post(path, content=body, headers={"content-type": "application/json"}), 400)
    assert code == "input.number_out_of_range"


@pytest.mark.parametrize(
    "path",
    [
        f"/exchange/v1/reports/{BIG}",
        "/api/v1/alerts/9223372036854775808/ack",
        f"/exchange/v1/reports?after={BIG}",
        "/exchange/v1/reports?since=2020-01-01T00:00:00",
        "/exchange/v1/reports?until=2020-01-01",
        "/control/v1/audit?from=2020-01-01T00:00:00",
        "/control/v1/audit?from=2020-01-01",
        f"/ledger/v1/proofs/inclusion?index={BIG}&size=1",
    ],
)
def test_out_of_range_ids_cursors_and_zoneless_times_are_refused(client, path):
    method = client.post if path.endswith("/ack") else client.get
    _typed(method(path), 400, 404)


def test_taxii_cursors_and_dates_are_refused(client, node: Node):
    collections = client.get(
        "/taxii2/api/collections/", headers={"accept": "application/taxii+json;version=2.1"}
    )
    assert collections.status_code == 200, collections.text
    found = collections.json().get("collections", [])
    if not found:
        pytest.fail("the admin sees no TAXII collection")
    base = f"/taxii2/api/collections/{found[0]['id']}/objects/"
    accept = {"accept": "application/taxii+json;version=2.1"}
    cursor = base64.urlsafe_b64encode(BIG.encode()).decode().rstrip("=")
    for query in (f"?next={cursor}", "?added_after=2020-01-01", "?added_after=2020-01-01T00:00:00"):
        _typed(client.get(base + query, headers=accept), 400)


def test_add_checkpoint_with_a_huge_or_non_ascii_old_size_is_400(client):
    for first in ("old 1" + "0" * 5_000, "old \u0661", "old 99999999999999999999"):
        body = f"{first}\n\nexample.org/log\n1\nAAAA\n\n— x y\n".encode()
        code = _typed(client.post("/ledger/v1/witness/add-checkpoint", content=body), 400)
        assert code == "ledger.malformed_request"


def test_an_unexpected_exception_is_our_error_body_and_the_connection_stays_usable(node: Node):
    app = create_app(node)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    with TestClient(app, raise_server_exceptions=False) as c:
        answer = c.get("/boom")
        assert answer.status_code == 500
        assert answer.json() == {"error": {"code": "internal.error", "message": "internal error"}}
        assert "secret" not in answer.text
        assert c.get("/healthz").status_code == 200


@pytest.mark.postgres
def test_nul_bytes_are_400_on_postgresql_as_on_sqlite(make_node, pg_server):
    import uuid

    import psycopg

    db = f"t_nul_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    node = make_node("us-nul", database_url=str(pg_server.url(db)))
    with TestClient(create_app(node), raise_server_exceptions=False) as c:
        token = c.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
        c.headers["authorization"] = f"Bearer {token['token']}"
        login = c.post(
            "/api/v1/auth/login",
            content='{"username": "adm\\u0000in", "password": "x"}',
            headers={"content-type": "application/json"},
        )
        assert _typed(login, 400) == "input.nul_character"
        report = c.post("/exchange/v1/reports", content='{"title": {"en": "a\\u0000b"}}')
        assert _typed(report, 400) == "input.nul_character"
        for path in (
            "/exchange/v1/reports/ab%00cd",
            "/exchange/v1/reports?q=a%00b",
            "/hotline/v1/messages/%00",
        ):
            assert _typed(c.get(path), 400) == "input.nul_character"


def test_a_peer_pushing_a_hostile_number_gets_a_typed_400(make_node):
    from airrc.federation.httpsig import sign_request

    recv, send = make_node("us-push"), make_node("cn-push")
    with recv.store.session() as session:
        recv.trust.pin_chain(session, send.card_chain())
    body = ('{"statements": [' + HUGE + "]}").encode()
    url = "http://testserver/federation/v1/statements"
    signed = sign_request("POST", url, body, key=send.identity.signer, key_id=send.id)
    with TestClient(create_app(recv), raise_server_exceptions=False) as c:
        answer = c.post(url, content=body, headers=signed.headers)
    assert _typed(answer, 400) == "input.number_out_of_range"
