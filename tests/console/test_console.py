"""The console over the real app: sign-in, CSRF, idle timeout, roles, and a FLASH notice acknowledged with
the officer's personal signature from the hotline board, seen acknowledged on the sender's board."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from airrc.api.app import create_app
from airrc.console.sessions import COOKIE
from airrc.console.tables import ConsoleSession
from airrc.store.db import utcnow
from tests.conftest import ADMIN_PASSWORD
from tests.hotline.conftest import OFFICER_PASSWORD, Net
from tests.hotline.test_service import NOTICE


def _browser(node) -> TestClient:
    return TestClient(create_app(node), base_url="http://testserver", follow_redirects=False)


def _login_form(client: TestClient) -> str:
    page = client.get("/console/login")
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def _sign_in(client: TestClient, username: str, password: str) -> str:
    nonce = _login_form(client)
    answer = client.post("/console/login", data={"username": username, "password": password, "csrf": nonce})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/dashboard"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    return _csrf(client.get("/console/dashboard").text)


def _csrf(html: str) -> str:
    return re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', html).group(1)


def test_sign_in_and_every_refusal(node) -> None:
    with _browser(node) as client:
        assert (
            client.get("/console/dashboard")
            .headers["location"]
            .startswith("/console/login?reason=auth.unauthenticated")
        )
        # A login form posted without the console's own nonce (another site's form) is refused.
        refused = client.post("/console/login", data={"username": "admin", "password": "x", "csrf": "forged"})
        assert refused.status_code == 403
        assert "console.csrf" in refused.text
        nonce = _login_form(client)
        wrong = client.post(
            "/console/login", data={"username": "admin", "password": "wrong password", "csrf": nonce}
        )
        assert wrong.status_code == 401
        assert "auth.bad_credentials" in wrong.text
        assert COOKIE not in client.cookies
        csrf = _sign_in(client, "admin", ADMIN_PASSWORD)
        dashboard = client.get("/console/dashboard")
        assert dashboard.status_code == 200
        assert "Peers and links" in dashboard.text
        # A POST without the session's CSRF token changes nothing.
        assert client.post("/console/language", data={"language": "zh"}).status_code == 403
        assert client.get("/console/dashboard").text.count("Peers and links") == 1
        switched = client.post(
            "/console/language", data={"language": "zh", "csrf": csrf, "back": "/console/dashboard"}
        )
        assert switched.status_code == 303
        assert "对等节点与链路" in client.get("/console/dashboard").text
        # Sign-out revokes the session token: the old cookie no longer opens anything.
        cookie = client.cookies[COOKIE]
        assert client.post("/console/logout", data={"csrf": csrf}).status_code == 303
        client.cookies.set(COOKIE, cookie, path="/console")
        assert client.get("/console/dashboard").status_code == 303


def test_an_idle_session_ends_and_its_token_is_revoked(node) -> None:
    with _browser(node) as client:
        _sign_in(client, "admin", ADMIN_PASSWORD)
        with node.store.session() as session:
            for row in session.query(ConsoleSession):
                row.last_seen_at = utcnow() - timedelta(minutes=node.settings.console_idle_minutes + 1)
        answer = client.get("/console/dashboard")
        assert answer.headers["location"].startswith("/console/login?reason=console.session_expired")
        with node.store.session() as session:
            assert session.query(ConsoleSession).count() == 0
        assert (
            client.get("/console/dashboard")
            .headers["location"]
            .startswith("/console/login?reason=auth.invalid_token")
        )


def test_the_console_checks_roles_as_the_rest_api_does(node) -> None:
    with node.store.session() as session:
        node.add_user(session, "watcher", "an observer password", ["observer"])
    with _browser(node) as client:
        _sign_in(client, "watcher", "an observer password")
        assert client.get("/console/dashboard").status_code == 200
        board = client.get("/console/hotline")
        assert board.status_code == 403
        assert "auth.forbidden" in board.text
        token = client.cookies[COOKIE]
        api = client.get("/hotline/v1/inbox", headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 403


def test_a_flash_notice_is_acknowledged_from_the_board_with_a_personal_signature(net: Net) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    net.officer("us")
    net.officer("cn")
    with cn.store.session() as s:
        channel = cn.hotline.open_channel(s, ["us"]).channel_id
    net.relay()
    with cn.store.session() as s:
        message = cn.hotline.send(
            s, channel, format_id="CI_ATTACK_NOTICE", fields=NOTICE, precedence="FLASH"
        ).statement_id
    net.relay()
    with _browser(us) as client:
        csrf = _sign_in(client, "officer-us", OFFICER_PASSWORD)
        board = client.get("/console/hotline")
        assert board.status_code == 200
        assert f'id="msg-{message}"' in board.text
        assert "FLASH" in board.text
        # Both languages side by side, rendered from the format catalog.
        assert 'lang="zh-Hans"' in board.text
        assert re.search(r"[\u4e00-\u9fff]", board.text)
        url = f"/console/hotline/messages/{message}/ack"
        assert client.post(url, data={"password": OFFICER_PASSWORD}).status_code == 403  # no CSRF token
        wrong = client.post(
            url, data={"password": "not my password", "csrf": csrf}, headers={"HX-Request": "true"}
        )
        assert wrong.status_code == 401
        assert "auth.bad_credentials" in wrong.text
        done = client.post(
            url, data={"password": OFFICER_PASSWORD, "csrf": csrf}, headers={"HX-Request": "true"}
        )
        assert done.status_code == 200, done.text
        assert f'id="msg-{message}"' not in done.text  # no longer awaiting us
        again = client.post(
            url, data={"password": OFFICER_PASSWORD, "csrf": csrf}, headers={"HX-Request": "true"}
        )
        assert again.status_code == 409
        assert "hotline.already_acknowledged" in again.text
    net.relay()
    with _browser(cn) as client:
        _sign_in(client, "officer-cn", OFFICER_PASSWORD)
        row = re.search(
            rf'<tr id="row-{message}">(.*?)</tr>', client.get("/console/hotline").text, re.S
        ).group(1)
        assert "acknowledged" in row
        assert "officer-us" in row


def test_front_end_packages_are_served_from_the_node(node) -> None:
    with _browser(node) as client:
        htmx = client.get("/console/vendor/htmx.min.js")
        assert htmx.status_code == 200
        assert b"htmx" in htmx.content[:2000]
        assert client.get("/console/vendor/cytoscape.min.js").status_code == 200
        assert client.get("/console/vendor/../../etc/passwd").status_code == 404
        unknown = client.get("/console/vendor/jquery.js")
        assert unknown.status_code == 404
        assert "console.unknown_asset" in unknown.text
        assert client.get("/console/static/console.js").status_code == 200
