"""The two-node scenario behind ``make demo``: real ``airrc`` processes talking HTTP on loopback.

Run it as ``python -m harness.demo [--keep]`` (what ``make demo`` does)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from harness.nodes import DemoNode, add_user, airrc, demo_nodes, exchange_cards

__all__ = ["main", "run_demo"]


SUBSTATION = {"operation": "shutdown", "substation": "North-7", "operator": "demo grid"}


def human_control_scenario(us: DemoNode, cn: DemoNode, base: Path, console: Console) -> None:
    """An AI planner asks to shut a substation down: a quorum of two humans or nothing; then cn audits."""
    from airrc.control.client import Client, Expired
    from airrc.crypto.trust import NodeCard

    console.rule("[bold]human control: AI-proposed grid substation shutdown, quorum of two approvers")
    for name in ("ann", "bob"):
        add_user(us.home, name, "approver", f"{name}-approver-pw")
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
                # The session token never signs: the approver's password unlocks their key for this vote.
                json={
                    "approve": True,
                    "reason": f"{name}: checked with the grid operator",
                    "password": f"{name}-approver-pw",
                },
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


DEMO_SETTINGS = """\
# Written by `airrc demo`: short intervals so the scenario runs in seconds.
checkpoint_interval_seconds = 2

[hotline]
ack_seconds = {FLASH = 8}
deadline_check_seconds = 0.5

[[hotline.roster]]
name = "watch-lead"
contacts = ["watch lead on call"]

[[hotline.roster]]
name = "director"
contacts = ["centre director"]
"""
GRID_NOTICE = [
    "sector=energy_power_grid",
    "country=US",
    "location@en=Northern ring substations",
    "location@zh=北部环网变电站",
    "started_at=2026-11-22T06:40Z",
    "ai_involvement=suspected",
    "impact=outage",
    "request=containment",
]


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _awaiting(node: DemoNode, message_id: str) -> dict[str, Any]:
    doc = json.loads(airrc("hotline", "show", message_id, "--json", home=node.home))
    awaiting: dict[str, Any] = doc["messages"][0]["awaiting"][0]
    return awaiting


GRID_REPORT = {
    "title": {
        "en": "AI voice clone used to order switching at a regional power grid",
        "zh": "人工智能语音克隆被用于下令地区电网倒闸操作",
    },
    "summary": {
        "en": "An attacker used a cloned dispatcher voice and an AI agent to order breaker openings on the "
        "northern ring; operators called back the real dispatcher (reach the watch at +1 202 555 0143, "
        "grid-watch@operator.example). Shift lead Ana Ruiz stopped the sequence after two substations.",
        "zh": "攻击者利用克隆的调度员语音和人工智能代理，下令断开北部环网断路器。",  # noqa: RUF001 (Chinese comma)
    },
    "categories": ["critical_infrastructure_threat", "ai_enabled_fraud"],
    "sectors": ["energy_power_grid"],
    "severity": "critical",
    "harm_types": ["service_disruption"],
    "techniques": ["AML.T0048", "AML.T0052"],
    "observables": [
        {"type": "phone", "value": "+1 202 555 0199"},
        {"type": "domain", "value": "grid-dispatch-verify.example"},
        {"type": "ipv4", "value": "203.0.113.77"},
    ],
    "affected_systems": [{"developer": "ExampleVoice", "model": "clone-xl", "version": "3"}],
    "timeline": [{"at": "2026-11-22T06:40:00Z", "event": {"en": "First call to the northern control room"}}],
    "confidence": 80,
    "tlp": "amber",
    "jurisdiction": {
        "origin_country": "US",
        "legal_basis": "voluntary sharing",
        "onward_transfer": "with_consent",
    },
    "personal_names": ["Ana Ruiz"],
}


def exchange_scenario(us: DemoNode, cn: DemoNode, base: Path, console: Console) -> str:
    """An AMBER report of an AI-enabled attack on a power grid reaches cn-demo under us-demo's policy; a RED
    one stays home. Returns the statement id of the report as cn-demo received it."""
    console.rule("[bold]exchange: an AMBER report of an AI-enabled attack on a power grid")
    airrc(
        "report",
        "policy",
        cn.name,
        "--set",
        "--max-tlp",
        "amber",
        "--redact",
        "affected_systems",
        home=us.home,
    )
    path = base / "grid-report.json"
    path.write_text(json.dumps(GRID_REPORT, ensure_ascii=False), encoding="utf-8")
    key = airrc("report", "new", str(path), home=us.home).split()[1]
    preview = json.loads(airrc("report", "preview", key, home=us.home))[0]
    leaving = json.dumps(preview["view"], ensure_ascii=False)
    console.print(
        f"preview for {preview['partner']}: shared={preview['shared']}; redacted {preview['view']['redacted']}; "
        f"personal name and contacts scrubbed: {'Ana Ruiz' not in leaving and '555 0143' not in leaving}"
    )
    console.print(airrc("report", "publish", key, home=us.home).strip())
    red = dict(GRID_REPORT, tlp="red", title={"en": "Source of the voice model (TLP:RED)"})
    path.write_text(json.dumps(red), encoding="utf-8")
    red_key = airrc("report", "new", str(path), home=us.home).split()[1]
    console.print(airrc("report", "publish", red_key, home=us.home).strip())

    def received() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(
            airrc("report", "list", "--origin", us.name, "--json", home=cn.home)
        )
        return rows

    _wait(lambda: len(received()) == 1, "the report at cn-demo")
    (row,) = received()
    console.print(
        f"[green]cn-demo received report {row['report_id']} (TLP:{row['tlp'].upper()}, sealed in transit): "
        f"{row['report']['title']['zh']}[/green]"
    )
    console.print("[green]the TLP:RED report stayed home: it never became an outgoing statement[/green]")
    shares = json.loads(airrc("report", "show", key, home=us.home))["shares"]
    statement: str = shares[0]["statement"]
    return statement


def hotline_scenario(
    us: DemoNode, cn: DemoNode, base: Path, console: Console, report: str | None = None
) -> None:
    """A FLASH notice of an AI-enabled attack on the grid: receipt, a named officer's acknowledgement,
    both languages; a second notice nobody acknowledges escalates; both transcripts verify offline."""
    console.rule("[bold]hotline: FLASH notice of an AI-enabled attack on a power grid")
    airrc(
        "user",
        "add",
        "wei",
        "--role",
        "duty_officer",
        "--password-stdin",
        home=cn.home,
        stdin="wei-duty-officer\n",
    )
    args = ["hotline", "open", cn.name] + (["--report", report] if report else [])
    channel = airrc(*args, home=us.home).strip()
    console.print(f"us-demo opens crisis channel {channel}" + (f" from report {report}" if report else ""))
    fields = [arg for f in GRID_NOTICE for arg in ("--field", f)]
    send = ["hotline", "send", channel, "--format", "CI_ATTACK_NOTICE", "--precedence", "FLASH", *fields]
    message = airrc(*send, home=us.home).strip()
    _wait(lambda: _awaiting(us, message)["delivered_at"] is not None, "cn-demo's receipt")
    console.print(f"sealed FLASH notice {message} delivered; cn-demo's signed receipt is stored at us-demo")
    console.print("[bold]cn-demo's duty officer reads it in both languages:[/bold]")
    console.print(
        airrc("hotline", "inbox", "--lang", "both", home=cn.home).strip(), markup=False, highlight=False
    )
    airrc(
        "hotline",
        "ack",
        message,
        "--user",
        "wei",
        "--password-stdin",
        home=cn.home,
        stdin="wei-duty-officer\n",
    )
    _wait(lambda: _awaiting(us, message)["acknowledged_by"] == "wei", "the acknowledgement at us-demo")
    console.print(
        "[green]acknowledged by duty officer wei, signed with wei's personal key, verified at us-demo[/green]"
    )
    second = airrc(*send, home=us.home).strip()
    console.print("a second FLASH notice goes unacknowledged (the demo's FLASH deadline is 8 s)…")
    _wait(lambda: _awaiting(us, second)["state"] == "overdue", "the escalation", timeout=90)
    alert = next(
        a
        for a in json.loads(airrc("alerts", "list", "--json", home=us.home))
        if a["code"] == "hotline.overdue"
    )
    console.print(f"[yellow]escalated on both sides: {alert['message']}[/yellow]")
    for node in (us, cn):
        path = base / f"{node.name}-transcript.json"
        _wait(partial(_exported, node, channel, path), f"{node.name}'s transcript")
        verdict = airrc("hotline", "verify-transcript", str(path), "--lang", "en", home=node.home)
        console.print(f"{node.name}'s transcript, verified offline: {verdict.strip().splitlines()[0]}")


def _exported(node: DemoNode, channel: str, path: Path) -> bool:
    """Export once the peer's log has checkpointed everything the channel holds (it does so every 2 s)."""
    try:
        airrc("hotline", "transcript", channel, "-o", str(path), home=node.home)
    except RuntimeError as exc:
        if "hotline.not_yet_checkpointed" in str(exc):
            return False
        raise
    return True


def standards_scenario(us: DemoNode, cn: DemoNode, console: Console) -> None:
    """us-demo plans, runs and attests a small local model on one suite; cn-demo verifies and endorses it."""
    console.rule("[bold]standards: SmolLM2-135M evaluated by us-demo, verified and endorsed by cn-demo")
    plan = airrc(
        "eval",
        "plan",
        "--model",
        "gguf/smollm2-135m",
        "--suite",
        "critical_infrastructure",
        "--samples-per-kind",
        "5",
        "--witness",
        cn.name,
        home=us.home,
    ).split()[-1]
    console.print(
        f"plan {plan} registered and logged before the run; its seed and sample draw come from cn-demo's "
        "first cosignature of a checkpoint that contains it"
    )
    with console.status(
        "running SmolLM2-135M in process: 5 hazardous + 5 benign requests, in English and Chinese…"
    ):
        ran = airrc("eval", "run", "--plan", plan, home=us.home)
    console.print(ran.strip(), markup=False, highlight=False)
    attestation = airrc("eval", "attest", "--plan", plan, home=us.home).split()[-1]
    console.print(f"attestation {attestation} issued by us-demo")

    def shown(node: DemoNode, *args: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(airrc("eval", "show", *args, "--json", home=node.home))
        return rows

    _wait(lambda: any(a["id"] == attestation for a in shown(cn)), "the attestation at cn-demo")
    with console.status(
        "cn-demo verifies: signatures, log inclusion, plan before run, every verdict from the log…"
    ):
        verified = airrc("eval", "verify", attestation, "--endorse", home=cn.home)
    console.print(verified.strip(), markup=False, highlight=False)
    _wait(lambda: bool(shown(us, attestation)[0]["endorsements"]), "the endorsement at us-demo")
    console.print(f"[green]us-demo holds cn-demo's endorsement of attestation {attestation}[/green]")


def run_demo(*, keep: bool = False, console: Console | None = None) -> int:
    console = console or Console()
    base = Path(tempfile.mkdtemp(prefix="airrc-demo-"))
    console.rule("[bold]airrc demo: two sovereign nodes")
    with demo_nodes(base) as nodes:
        with console.status("initialising nodes (keys, genesis cards, databases)…"):
            for node in nodes:
                node.init()
                (node.home / "airrc.toml").write_text(f'country = "{node.country}"\n' + DEMO_SETTINGS)
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
        report = exchange_scenario(nodes[0], nodes[1], base, console)
        hotline_scenario(nodes[0], nodes[1], base, console, report=report)
        human_control_scenario(nodes[0], nodes[1], base, console)
        standards_scenario(nodes[0], nodes[1], console)
        if keep:
            console.print(f"nodes keep running; homes under {base}. Press Ctrl-C to stop.")
            for node in nodes:
                console.print(
                    f"  {node.name}: {node.url}  console {node.url}/console/  (admin password {node.password})"
                )
            try:
                while all(n.process is not None and n.process.poll() is None for n in nodes):
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
            return 0
    console.print("[green]demo finished: both nodes healthy, cards pinned both ways[/green]")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the nodes running and print their URLs")
    args = parser.parse_args()
    raise SystemExit(run_demo(keep=args.keep))


if __name__ == "__main__":
    main()
