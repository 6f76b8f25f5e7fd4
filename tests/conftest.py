"""Shared fixtures: a real PostgreSQL server started in a temp dir, database URLs, nodes."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pycountry
import pytest

from airrc.config import Settings
from airrc.node import Node
from airrc.principals.accounts import KdfParams, Principals

# Small argon2 parameters keep the suite fast; production defaults are tested in tests/api/test_auth.py.
FAST_KDF = KdfParams(time_cost=1, memory_kib=8192, parallelism=1)
ADMIN_PASSWORD = "correct horse battery staple"


def _pg_bindir() -> Path:
    explicit = os.environ.get("AIRRC_PG_BINDIR")
    if explicit:
        return Path(explicit)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    for candidate in reversed(candidates):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries not found (run scripts/ensure-postgres.sh)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def admin_conninfo(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname=postgres"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A throwaway PostgreSQL server. Failing to start it fails the tests that need it; never skips."""
    bindir = _pg_bindir()
    as_root = os.geteuid() == 0
    # PostgreSQL refuses to run as root: as root, the data dir belongs to the postgres user and lives
    # outside pytest's 0700 temp dirs.
    base = Path(tempfile.mkdtemp(prefix="airrc-pg-", dir="/tmp"))
    data, sockets, logfile = base / "data", base / "sock", base / "server.log"
    sockets.mkdir()
    prefix: list[str] = []
    if as_root:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
        base.chmod(0o700)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(logfile),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    server = PgServer("127.0.0.1", port, "postgres")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(server.admin_conninfo(), connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database on the test server."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_server.admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.url(name)
    with psycopg.connect(pg_server.admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'node.db'}"
    return str(request.getfixturevalue("pg_url"))


NodeFactory = Callable[..., Node]


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[NodeFactory]:
    """Create initialised nodes under tmp_path (SQLite unless a database URL is given)."""
    nodes: list[Node] = []

    def factory(
        name: str = "us-test",
        *,
        database_url: str | None = None,
        endpoints: tuple[str, ...] | None = None,
        **settings: object,
    ) -> Node:
        home = tmp_path / name
        values: dict[str, object] = {"home": home, "database_url": database_url, **settings}
        # As `airrc init` asks: the country is the name's prefix where that is one (us, cn, sg), else US.
        prefix = name[:2].upper()
        result = Node.init(
            Settings(**values),
            name=name,  # type: ignore[arg-type]
            public_urls=endpoints or (f"http://127.0.0.1:1/{name}",),
            admin_password=ADMIN_PASSWORD,
            principals=Principals(FAST_KDF),
            country=prefix if pycountry.countries.get(alpha_2=prefix) else "US",
        )
        nodes.append(result.node)
        return result.node

    yield factory
    for node in nodes:
        node.close()


@pytest.fixture
def node(make_node: NodeFactory) -> Node:
    return make_node()


def cli(
    *args: str, home: Path, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``airrc ARGS --home HOME`` as its own process, as an operator would; assert success if ``check``."""
    result = subprocess.run(
        [sys.executable, "-m", "airrc", *args, "--home", str(home)],
        input=stdin,
        env={**os.environ, "COLUMNS": "200"},  # tables print whole cells, not wrapped ones
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr + result.stdout
    return result
