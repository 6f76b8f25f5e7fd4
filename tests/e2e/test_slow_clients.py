"""Slow clients against a real ``airrc serve``: headers or a body dribbled in are cut off at the configured
deadline, while normal requests on other connections are served meanwhile."""

import socket
import time

import httpx
import pytest

pytestmark = pytest.mark.e2e
ENV = {"AIRRC_HTTP_HEADER_TIMEOUT_SECONDS": "1", "AIRRC_HTTP_BODY_TIMEOUT_SECONDS": "2"}


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closes ``sock`` (reading nothing), or fail after ``seconds``."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        data = sock.recv(1024)
    except TimeoutError:
        pytest.fail(f"the server kept a slow connection open for more than {seconds} s")
    assert data in (b"",) or data.startswith(b"HTTP/1.1 4"), data[:80]
    return time.monotonic() - start


def test_slow_headers_and_slow_bodies_are_cut_off(cluster):
    node = cluster.add("us-slow", env=ENV)
    cluster.start("us-slow")
    with socket.create_connection(("127.0.0.1", node.port)) as headers_slow:
        headers_slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        with httpx.Client() as client:
            assert client.get(f"{node.url}/healthz").status_code == 200
        assert _closed_within(headers_slow, 5) < 4
    with socket.create_connection(("127.0.0.1", node.port)) as body_slow:
        body_slow.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"user'
        )
        assert _closed_within(body_slow, 6) < 5
    with socket.create_connection(("127.0.0.1", node.port)) as idle:
        assert _closed_within(idle, 5) < 4  # connected, sent nothing
    with httpx.Client() as client:
        assert client.get(f"{node.url}/healthz").status_code == 200
