"""Real ``airrc`` node processes on loopback, for the demo, the end-to-end tests and the benchmarks: each
node initialised, served and driven through its CLI and HTTP API, as an operator would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["NAMES", "DemoNode", "add_user", "airrc", "demo_nodes", "exchange_cards", "free_port"]

NAMES = ("us-demo", "cn-demo")
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def airrc(*args: str, home: Path, stdin: str | None = None) -> str:
    """Run an ``airrc`` command as its own process; raise with its stderr on failure."""
    result = subprocess.run(
        [sys.executable, "-m", "airrc", *args, "--home", str(home)],
        input=stdin,
        env={**os.environ, "COLUMNS": "160"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"airrc {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def add_user(home: Path, name: str, role: str, password: str) -> str:
    """``airrc user add NAME --role ROLE`` with the password on stdin, as an operator adds a person."""
    return airrc("user", "add", name, "--role", role, "--password-stdin", home=home, stdin=f"{password}\n")


@dataclass
class DemoNode:
    name: str
    home: Path
    port: int
    password: str
    process: subprocess.Popen[bytes] | None = None
    token: str = ""
    env: dict[str, str] = field(default_factory=dict)
    role: str = "member"
    country: str = "US"
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.home.parent / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def init(self) -> None:
        airrc(
            "init",
            "--name",
            self.name,
            "--public-url",
            self.url,
            "--role",
            self.role,
            "--country",
            self.country,
            "--password-stdin",
            home=self.home,
            stdin=self.password + "\n",
        )

    def create_token(self) -> str:
        """An admin API token for this node (it never signs personally: signing acts send the password)."""
        self.token = airrc(
            "token", "create", "--principal", "admin", "--expires", "1", home=self.home
        ).strip()
        return self.token

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "airrc", "serve", "--home", str(self.home), "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **self.env},
            )

    def wait_healthy(self, client: httpx.Client) -> dict[str, object]:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
            try:
                response = client.get(f"{self.url}/healthz", timeout=2)
                if response.status_code == 200:
                    health: dict[str, object] = response.json()
                    return health
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not become healthy; see {self.log}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; what was committed must be all that counts."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def exchange_cards(nodes: list[DemoNode]) -> None:
    """Every node pins every other node's card, through the CLI, as operators would out of band."""
    cards = {node.name: airrc("card", "export", home=node.home) for node in nodes}
    for node in nodes:
        for other in nodes:
            if other is not node:
                airrc("card", "import", "-", home=node.home, stdin=cards[other.name])


@contextmanager
def demo_nodes(base: Path) -> Iterator[list[DemoNode]]:
    nodes = [
        DemoNode(name, base / name, free_port(), password=f"demo-{name}-password", country=name[:2].upper())
        for name in NAMES
    ]
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()
