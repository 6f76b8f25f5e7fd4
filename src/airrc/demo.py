"""The two-node scenario behind ``make demo``: real ``airrc`` processes talking HTTP on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

__all__ = ["DemoNode", "demo_nodes", "exchange_cards", "run_demo"]

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
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"airrc {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


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
            "--password-stdin",
            home=self.home,
            stdin=self.password + "\n",
        )

    def create_token(self) -> str:
        """An admin API token (the personal key unlocked by the password) for this node."""
        self.token = airrc(
            "token",
            "create",
            "--principal",
            "admin",
            "--expires",
            "1",
            "--password-stdin",
            home=self.home,
            stdin=self.password + "\n",
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
    nodes = [DemoNode(name, base / name, free_port(), password=f"demo-{name}-password") for name in NAMES]
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()


SUBSTATION = {"operation": "shutdown", "substation": "North-7", "operator": "demo grid"}


def human_control_scenario(us: DemoNode, cn: DemoNode, base: Path, console: Console) -> None:
    """An AI planner asks to shut a substation down: a quorum of two humans or nothing; then cn audits."""
    from airrc.control.client import Client, Expired
    from airrc.crypto.trust import NodeCard

    console.rule("[bold]human control: AI-proposed grid substation shutdown, quorum of two approvers")
    for name in ("ann", "bob"):
        airrc(
            "user",
            "add",
            name,
            "--role",
            "approver",
            "--password-stdin",
            home=us.home,
            stdin=f"{name}-approver-pw\n",
        )
    airrc("service", "add", "grid-planner", home=us.home)
    token = airrc("token", "create", "--principal", "grid-planner", "--expires", "1", home=us.home).strip()
    card = NodeCard.model_validate_json(airrc("card", "export", home=us.home))
    with httpx.Client(timeout=60) as http:
        sessions = {}
        for name in ("ann", "bob"):
            r = http.post(
                f"{us.url}/api/v1/auth/login", json={"username": name, "password": f"{name}-approver-pw"}
            )
            r.raise_for_status()
            sessions[name] = {"authorization": f"Bearer {r.json()['token']}"}
        sdk = Client(us.url, token, node_card=card, http=http, poll_seconds=0.2)

        def approve(decision_id: str, name: str) -> None:
            http.post(
                f"{us.url}/control/v1/decisions/{decision_id}/votes",
                headers=sessions[name],
                json={"approve": True, "reason": f"{name}: checked with the grid operator"},
            ).raise_for_status()

        decision_id, salt = sdk.request(
            "critical_infrastructure_shutdown",
            SUBSTATION,
            confidence=0.87,
            rationale="cascading overload predicted on the northern ring",
            expiry_seconds=3,
        )
        approve(decision_id, "ann")
        console.print("planner asks; ann approves; bob does not answer (quorum 2)…")
        try:
            sdk.wait(decision_id, salt, timeout=30)
            raise RuntimeError("a decision without its quorum was authorized")
        except Expired:
            console.print(
                "[yellow]expired with 1/2 approvals: no answer means no; the denial is on record[/yellow]"
            )
        decision_id, salt = sdk.request(
            "critical_infrastructure_shutdown",
            SUBSTATION,
            confidence=0.91,
            rationale="overload confirmed by the operator",
        )
        approve(decision_id, "ann")
        approve(decision_id, "bob")
        authorization = sdk.wait(decision_id, salt, timeout=30)
        authorization.check(SUBSTATION, node_card=card)
        sdk.report_execution(authorization, decision_id, executed=True)
        console.print(
            "[green]ann and bob approve: authorized, checked offline by the actuator, executed[/green]"
        )
    bundle = base / "control-audit.json"
    airrc("control", "export-audit", "-o", str(bundle), home=us.home)
    verdict = airrc("control", "verify-audit", str(bundle), home=cn.home)
    console.print(f"cn-demo verifies us-demo's audit bundle without seeing the action:\n{verdict.strip()}")


def run_demo(*, keep: bool = False, console: Console | None = None) -> int:
    console = console or Console()
    base = Path(tempfile.mkdtemp(prefix="airrc-demo-"))
    console.rule("[bold]airrc demo: two sovereign nodes")
    with demo_nodes(base) as nodes:
        with console.status("initialising nodes (keys, genesis cards, databases)…"):
            for node in nodes:
                node.init()
        with console.status("exchanging cards out of band…"):
            exchange_cards(nodes)
            for node in nodes:
                node.create_token()
        with console.status("starting `airrc serve` processes…"):
            for node in nodes:
                node.start()
        table = Table("node", "url", "health", "node id", "pinned peers")
        with httpx.Client() as client:
            for node in nodes:
                health = node.wait_healthy(client)
                peers = client.get(
                    f"{node.url}/api/v1/peers", headers={"authorization": f"Bearer {node.token}"}
                )
                peers.raise_for_status()
                names = ", ".join(p["name"] for p in peers.json())
                table.add_row(node.name, node.url, str(health["status"]), str(health["id"])[:16] + "…", names)
        console.print(table)
        with console.status("link test: us-demo pings cn-demo through the federation…"):
            ping = airrc(
                "federation", "ping", "cn-demo", "--count", "20", "--timeout", "60", home=nodes[0].home
            )
        console.print(ping.strip())
        human_control_scenario(nodes[0], nodes[1], base, console)
        if keep:
            console.print(f"nodes keep running; homes under {base}. Press Ctrl-C to stop.")
            for node in nodes:
                console.print(f"  {node.name}: {node.url}  (admin password {node.password})")
            try:
                while all(n.process is not None and n.process.poll() is None for n in nodes):
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
            return 0
    console.print("[green]demo finished: both nodes healthy, cards pinned both ways[/green]")
    return 0
