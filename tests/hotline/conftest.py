"""Three in-process nodes joined by a real HTTP stack (FastAPI apps behind an httpx transport), so the
hotline runs over the real federation code with a clock the tests control."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from airrc.api.app import create_app
from airrc.node import Node
from airrc.principals.accounts import AuthenticatedPrincipal
from tests.conftest import NodeFactory

OFFICER_PASSWORD = "duty officer password"


class _Hosts(httpx.BaseTransport):
    """Routes each request to the in-process app of the node whose host it names."""

    def __init__(self) -> None:
        self.apps: dict[str, TestClient] = {}
        self.down: set[str] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down or host not in self.apps:
            raise httpx.ConnectError(f"{host} is unreachable", request=request)
        # Starlette's TestClient speaks httpx2 when it is installed; the node's code speaks httpx: bridge them.
        answer = self.apps[host].request(
            request.method,
            str(request.url),
            headers=request.headers.multi_items(),
            content=request.read(),
            follow_redirects=False,
        )
        return httpx.Response(
            answer.status_code, headers=answer.headers.multi_items(), content=answer.content, request=request
        )


@dataclass
class Net:
    nodes: dict[str, Node]
    hosts: _Hosts
    http: httpx.Client
    officers: dict[str, AuthenticatedPrincipal] = field(default_factory=dict)

    def relay(self, rounds: int = 4) -> None:
        """Deliver every pending outbox item between the nodes until nothing moves."""
        for _ in range(rounds):
            moved = 0
            for node in self.nodes.values():
                with node.store.read_session() as session:
                    due = node.outbox.due_peers(session)
                    cards = [node.trust.current(session, peer) for peer in due]
                for card in cards:
                    moved += node.outbox.deliver(card, self.http).delivered
            if not moved:
                return

    def officer(self, name: str) -> AuthenticatedPrincipal:
        """A duty officer of node ``name`` with their personal key unlocked (created on first use)."""
        if name not in self.officers:
            node = self.nodes[name]
            with node.store.session() as session:
                node.add_user(session, f"officer-{name}", OFFICER_PASSWORD, ["duty_officer"])
            with node.store.session() as session:
                self.officers[name] = node.principals.unlock(session, f"officer-{name}", OFFICER_PASSWORD)
            self.relay()
        return self.officers[name]


def past(minutes: float = 60) -> datetime:
    """A start time in the past, so a controlled clock can move forward without dating anything in the future."""
    return datetime.now(UTC) - timedelta(minutes=minutes)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[Callable[[str], str | None]]:
    """Each node's database: SQLite files, or one PostgreSQL database per node on the test server."""
    if request.param == "sqlite":
        yield lambda _name: None
        return
    server = request.getfixturevalue("pg_server")
    created: list[str] = []

    def database(name: str) -> str:
        db = f"t_{name}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server.admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        created.append(db)
        return str(server.url(db))

    yield database
    with psycopg.connect(server.admin_conninfo(), autocommit=True) as conn:
        for db in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture
def net(make_node: NodeFactory, backend: Callable[[str], str | None], tmp_path) -> Iterator[Net]:
    roster = [
        {
            "name": "watch-lead",
            "contacts": ["lead@watch"],
            "command": ["sh", "-c", f"cat >> {tmp_path}/level1"],
        },
        {
            "name": "director",
            "contacts": ["director@watch"],
            "command": ["sh", "-c", f"cat >> {tmp_path}/level2"],
        },
    ]
    nodes = {
        name: make_node(
            name,
            database_url=backend(name),
            endpoints=(f"http://{name}.test",) if name != "cn" else ("http://cn.test", "http://cn-alt.test"),
            hotline={"roster": roster},
        )
        for name in ("us", "cn", "sg")
    }
    for node in nodes.values():
        with node.store.session() as session:
            for other in nodes.values():
                if other is not node:
                    node.trust.pin_chain(session, other.card_chain())
    hosts = _Hosts()
    apps = [TestClient(create_app(node)) for node in nodes.values()]
    for name, app in zip(nodes, apps, strict=True):
        hosts.apps[f"{name}.test"] = app
    hosts.apps["cn-alt.test"] = hosts.apps["cn.test"]
    with httpx.Client(transport=hosts) as http:
        yield Net(nodes, hosts, http)
    for app in apps:
        app.close()
