"""The ``airrc`` command line. Errors print their code and one line, and exit non-zero."""

from __future__ import annotations

import base64
import json
import secrets
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from airrc.config import Settings
from airrc.errors import Error, InputError
from airrc.federation.peers import parse_card_chain
from airrc.node import Node

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help="airrc: AI Risk Reduction Center node.")
card_app = typer.Typer(no_args_is_help=True, help="This node's card and peers' cards.")
peer_app = typer.Typer(no_args_is_help=True, help="Pinned peer nodes.")
user_app = typer.Typer(no_args_is_help=True, help="People with roles on this node.")
service_app = typer.Typer(
    no_args_is_help=True, help="AI systems: service principals that may request, never approve."
)
token_app = typer.Typer(no_args_is_help=True, help="API bearer tokens.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
alerts_app = typer.Typer(no_args_is_help=True, help="Alerts an operator must see.")
control_app = typer.Typer(no_args_is_help=True, help="Human control of protected decisions.")
federation_app = typer.Typer(no_args_is_help=True, help="Node-to-node delivery and link tests.")
ledger_app = typer.Typer(no_args_is_help=True, help="This node's transparency log and its peers' logs.")
app.add_typer(card_app, name="card")
app.add_typer(peer_app, name="peer")
app.add_typer(user_app, name="user")
app.add_typer(service_app, name="service")
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")
app.add_typer(alerts_app, name="alerts")
app.add_typer(ledger_app, name="ledger")
app.add_typer(federation_app, name="federation")
app.add_typer(control_app, name="control")

out = Console()
err = Console(stderr=True)

HomeOpt = Annotated[
    Path | None, typer.Option("--home", envvar="AIRRC_HOME", help="Node home directory (default ./.airrc).")
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
MAX_PASSWORD_INPUT = 1024


def _settings(home: Path | None, **overrides: object) -> Settings:
    values: dict[str, object] = {k: v for k, v in overrides.items() if v is not None}
    if home is not None:
        values["home"] = home
    return Settings(**values)  # type: ignore[arg-type]


def _open(home: Path | None) -> Node:
    node = Node(_settings(home))
    node.store.require_migrated()
    return node


def _read_password() -> str:
    data = sys.stdin.read(MAX_PASSWORD_INPUT + 2)
    password = data.rstrip("\r\n")
    if not password:
        raise InputError("no password on standard input", code="input.no_password")
    if len(password) > MAX_PASSWORD_INPUT or "\n" in password:
        raise InputError(
            "the password must be one line of at most 1024 characters", code="input.bad_password"
        )
    return password


@app.command()
def init(
    name: Annotated[str, typer.Option(help="Node name, e.g. us-caisi.")],
    public_url: Annotated[
        list[str] | None, typer.Option("--public-url", help="Endpoint peers reach us at.")
    ] = None,
    admin: Annotated[str, typer.Option(help="Username of the first administrator.")] = "admin",
    role: Annotated[
        str, typer.Option(help="member, or observer (may receive; sends only receipts and pings).")
    ] = "member",
    password_stdin: PasswordStdin = False,
    home: HomeOpt = None,
) -> None:
    """Create a node: keys, genesis card, database, first admin."""
    settings = _settings(home, public_urls=public_url or None)
    password = _read_password() if password_stdin else None
    if role not in ("member", "observer"):
        raise InputError("role is member or observer", code="input.bad_role")
    result = Node.init(
        settings,
        name=name,
        public_urls=tuple(public_url or ()),
        admin_username=admin,
        admin_password=password,
        role="observer" if role == "observer" else "member",
    )
    out.print(f"[green]initialised[/green] node [bold]{name}[/bold] id {result.node.id}")
    out.print(f"home: {settings.home}")
    if result.admin_password is not None:
        out.print(f"admin user [bold]{admin}[/bold] password (shown once): {result.admin_password}")
    result.node.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Bind port.")] = None,
    home: HomeOpt = None,
) -> None:
    """Run the node's HTTP API."""
    import uvicorn

    from airrc.api.app import create_app

    node = _open(home)
    settings = node.settings
    uvicorn.run(
        create_app(node, background=True),
        host=host or settings.bind_host,
        port=port if port is not None else settings.bind_port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )


@card_app.command("export")
def card_export(home: HomeOpt = None) -> None:
    """Print this node's card (or its chain from genesis, after rotations) as JSON."""
    node = _open(home)
    chain = node.card_chain()
    doc = chain[0].to_json() if len(chain) == 1 else [c.to_json() for c in chain]
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")


@card_app.command("import")
def card_import(
    file: Annotated[str, typer.Argument(help="Card JSON file, or - for standard input.")],
    home: HomeOpt = None,
) -> None:
    """Verify a peer's card (or card chain) and pin it."""
    node = _open(home)
    limit = node.settings.limits.max_card_bytes * 64
    data = sys.stdin.buffer.read(limit + 1) if file == "-" else _read_file(Path(file), limit)
    chain = parse_card_chain(data, max_bytes=limit)
    if chain[0].id == node.id:
        raise InputError("that is this node's own card", code="trust.own_card")
    with node.store.session() as session:
        card = node.trust.pin_chain(session, chain)
    out.print(f"[green]pinned[/green] {card.name} ({card.role}) id {card.id} serial {card.serial}")


def _read_file(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", code="input.unreadable_file") from exc


@peer_app.command("list")
def peer_list(home: HomeOpt = None) -> None:
    """List pinned peers."""
    node = _open(home)
    with node.store.session() as session:
        peers = node.trust.peers(session)
        links = {card.id: node.outbox.link(session, card.id) for card in peers}
        queues = {q.peer_id: q for q in node.outbox.stats(session)}
    table = Table("name", "role", "id", "link", "last ok", "queued", "endpoints")
    for card in peers:
        link = links[card.id]
        state = "[red]failing[/red]" if link.failing else ("ok" if link.last_ok_at else "unknown")
        queue = queues.get(card.id)
        table.add_row(
            card.name,
            card.role,
            card.id[:16] + "…",
            state,
            link.last_ok_at.isoformat()[:19] if link.last_ok_at else "-",
            str(queue.depth) if queue else "0",
            " ".join(card.endpoints),
        )
    out.print(table)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument()],
    role: Annotated[list[str], typer.Option("--role", help="Role; repeat for several.")],
    password_stdin: PasswordStdin = False,
    home: HomeOpt = None,
) -> None:
    """Add a person (a personal signing key is made and sealed under their password)."""
    node = _open(home)
    password = _read_password() if password_stdin else secrets.token_urlsafe(18)
    with node.store.session() as session:
        row = node.add_user(session, username, password, role)
    out.print(f"[green]added[/green] {row.username} roles {', '.join(sorted(row.role_set))}")
    if not password_stdin:
        out.print(f"password (shown once): {password}")


@user_app.command("list")
def user_list(home: HomeOpt = None) -> None:
    """List people and AI systems."""
    node = _open(home)
    with node.store.session() as session:
        rows = node.principals.list(session)
    table = Table("username", "kind", "roles", "active")
    for row in rows:
        table.add_row(row.username, row.kind, ", ".join(sorted(row.role_set)), "yes" if row.active else "no")
    out.print(table)


@service_app.command("add")
def service_add(
    name: Annotated[str, typer.Argument()],
    role: Annotated[list[str] | None, typer.Option("--role")] = None,
    home: HomeOpt = None,
) -> None:
    """Register an AI system as a service principal."""
    node = _open(home)
    with node.store.session() as session:
        row = node.principals.add_service(session, name, role or ["ai_system"])
    out.print(f"[green]added[/green] AI system {row.username}")


@token_app.command("create")
def token_create(
    principal: Annotated[
        str, typer.Option("--principal", help="User or AI system the token acts for.")
    ] = "admin",
    expires: Annotated[float, typer.Option(help="Lifetime in days.")] = 30,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Unlock the user's personal key with the password on stdin."),
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Create an API token; prints only the token."""
    node = _open(home)
    password = _read_password() if password_stdin else None
    with node.store.session() as session:
        row = node.principals.get(session, principal)
        if password is not None:
            node.principals.check_password(session, principal, password)
        token = node.principals.create_token(
            session, row, lifetime=timedelta(days=expires), password=password
        )
    sys.stdout.write(token + "\n")


@db_app.command("upgrade")
def db_upgrade(home: HomeOpt = None) -> None:
    """Apply pending database migrations."""
    node = Node(_settings(home))
    node.store.upgrade()
    out.print(f"database at revision {node.store.current_revision()}")


@alerts_app.command("list")
def alerts_list(
    all_: Annotated[bool, typer.Option("--all", help="Include acknowledged alerts.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    home: HomeOpt = None,
) -> None:
    """List open alerts."""
    node = _open(home)
    with node.store.session() as session:
        alerts = [a.to_json() for a in node.alerts.list(session, include_acked=all_)]
    if as_json:
        sys.stdout.write(json.dumps(alerts, indent=2) + "\n")
        return
    table = Table("id", "raised", "severity", "code", "message", "acked by")
    for a in alerts:
        table.add_row(
            str(a["id"]), a["raised_at"][:19], a["severity"], a["code"], a["message"], a["acked_by"] or ""
        )
    out.print(table)


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[int, typer.Argument()],
    by: Annotated[str, typer.Option("--by", help="Who acknowledges.")] = "operator",
    home: HomeOpt = None,
) -> None:
    """Acknowledge an alert."""
    node = _open(home)
    with node.store.session() as session:
        node.alerts.ack(session, alert_id, by=by)
    out.print(f"alert {alert_id} acknowledged")


@ledger_app.command("status")
def ledger_status(home: HomeOpt = None) -> None:
    """Tree size, root, latest checkpoint, cosignatures, and what we witnessed of each peer."""
    node = _open(home)
    with node.store.session() as session:
        state = node.log.state(session)
        latest = node.log.latest_checkpoint(session)
        cosigs = node.log.cosignatures(session, latest.size) if latest is not None else []
        peers = node.trust.peers(session)
        witnessed = {p.id: node.witness.latest(session, p.id) for p in peers}
        evidence = len(node.witness.evidence(session))
    out.print(
        f"log [bold]{node.card.origin}[/bold]: size {state.size}, root {base64.b64encode(state.root).decode()}"
    )
    out.print(
        f"latest checkpoint: size {latest.size if latest else 'none'}, cosigned by {len(cosigs)} witness(es)"
    )
    table = Table("peer", "witnessed size", "updated")
    for peer in peers:
        w = witnessed[peer.id]
        table.add_row(peer.name, str(w.size) if w else "-", w.updated_at.isoformat()[:19] if w else "-")
    out.print(table)
    if evidence:
        out.print(f"[red]{evidence} piece(s) of evidence of inconsistent peer logs kept[/red]")


@ledger_app.command("checkpoint")
def ledger_checkpoint(home: HomeOpt = None) -> None:
    """Sign a checkpoint of the current tree now (the server also does so periodically)."""
    node = _open(home)
    with node.store.session() as session:
        note = node.log.checkpoint(session)
    sys.stdout.write(note.serialise())


@ledger_app.command("verify")
def ledger_verify(home: HomeOpt = None) -> None:
    """Recompute every entry, leaf, node and root from storage; check every checkpoint and cosignature."""
    from rich.progress import Progress as RichProgress

    node = _open(home)
    with RichProgress(console=err, transient=True) as bar:
        tasks: dict[str, object] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))  # type: ignore[arg-type]

        report = node.verify_ledger(progress)
    out.print(
        f"[green]log verified[/green]: {report.size} entries, root {base64.b64encode(report.root).decode()}, "
        f"{report.checkpoints} checkpoint(s), {report.cosignatures} cosignature(s)"
    )


@ledger_app.command("audit")
def ledger_audit(
    peer: Annotated[str, typer.Option("--peer", help="Name of the pinned peer to audit.")],
    home: HomeOpt = None,
) -> None:
    """Fetch a peer's checkpoint and consistency proof; verify against what we last cosigned, then cosign."""
    import httpx

    from airrc.ledger.audit import audit_peer

    node = _open(home)
    with node.store.session() as session:
        card = node.trust.by_name(session, peer)
    with httpx.Client() as client:
        result = audit_peer(node.store.session, node.witness, card, client)
    out.print(f"[green]consistent[/green]: {card.name} at size {result.checkpoint.size}, cosigned")


@ledger_app.command("publish")
def ledger_publish(
    peer: Annotated[list[str] | None, typer.Option("--peer", help="Only these peers (default: all).")] = None,
    home: HomeOpt = None,
) -> None:
    """Ask peers to witness our latest checkpoint (C2SP add-checkpoint) and keep their cosignatures."""
    import httpx

    from airrc.ledger.audit import request_cosignature

    node = _open(home)
    with node.store.session() as session:
        cards = [node.trust.by_name(session, p) for p in peer] if peer else node.trust.peers(session)
    failures = 0
    with httpx.Client() as client:
        for card in cards:
            try:
                result = request_cosignature(node.store.session, node.log, card, client)
            except Error as exc:
                failures += 1
                err.print(f"{card.name}: {exc.diagnostics()}", markup=False)
                continue
            out.print(f"{card.name}: cosigned at {result.timestamp}")
    if failures:
        raise typer.Exit(1)


@federation_app.command("ping")
def federation_ping(
    peer: Annotated[str, typer.Argument(help="Name of the pinned peer.")],
    count: Annotated[int, typer.Option(min=1, max=10_000)] = 5,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every receipt.")] = 30.0,
    home: HomeOpt = None,
) -> None:
    """Send COUNT node.ping statements through the outbox and wait for their receipts (the running
    ``airrc serve`` delivers them, through outages); print p50/p99 latency."""
    from airrc.federation.worker import wait_for_receipts

    node = _open(home)
    with node.store.read_session() as session:
        card = node.trust.by_name(session, peer)
    result = wait_for_receipts(node, card, count=count, timeout=timeout)
    out.print(
        f"{card.name}: {result.receipted}/{count} receipted; latency p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms"
    )
    if result.receipted < count:
        err.print(
            f"error[federation.ping_timeout]: {count - result.receipted} ping(s) not receipted within "
            f"{timeout:g} s",
            markup=False,
        )
        raise typer.Exit(1)


def _decisions_table(rows: list[dict[str, object]]) -> Table:
    table = Table("id", "category", "state", "approvals", "denials", "quorum", "expires")
    for d in rows:
        table.add_row(
            str(d["id"]),
            str(d["category"]),
            str(d["state"]),
            str(d["approvals"]),
            str(d["denials"]),
            str(d["quorum"]),
            str(d["expires_at"]),
        )
    return table


@control_app.command("pending")
def control_pending(home: HomeOpt = None) -> None:
    """Decisions waiting for approvers (expired ones are closed first: no answer means no)."""
    node = _open(home)
    with node.store.session() as session:
        node.control.settle_expired(session)
        rows = [d.to_json() for d in node.control.decisions(session, state="pending")]
    out.print(_decisions_table(rows))


@control_app.command("show")
def control_show(decision_id: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """One decision, with its outcome statement."""
    node = _open(home)
    with node.store.session() as session:
        node.control.settle_expired(session)
        decision = node.control.get(session, decision_id).to_json()
        refusals = [(r.principal, r.action, r.code) for r in node.control.refusals(session, decision_id)]
    sys.stdout.write(json.dumps({**decision, "refusals": refusals}, indent=2) + "\n")


def _vote(decision_id: str, user: str, reason: str, approve: bool, home: Path | None) -> None:
    node = _open(home)
    password = _read_password()
    with node.store.session() as session:
        principal = node.principals.unlock(session, user, password)
    try:
        with node.store.session() as session:
            decision = node.control.vote(session, principal, decision_id, approve=approve, reason=reason)
    except Error as exc:
        node.control.refuse(user, "vote", exc.code, decision_id)
        raise
    out.print(
        f"{'approved' if approve else 'denied'} by {user}: decision is {decision.state} "
        f"({decision.approvals}/{decision.quorum} approvals)"
    )


@control_app.command("reveal")
def control_reveal(decision_id: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Selective disclosure: print a decision's sealed action, rationale and salt, checked against the
    commitments in the log, for the party you choose to show them to."""
    node = _open(home)
    with node.store.read_session() as session:
        decision = node.control.get(session, decision_id)
        request = node.statements.get(session, decision.request_statement)
        revealed = node.control.reveal(session, request)
    sys.stdout.write(json.dumps(revealed, indent=2, ensure_ascii=False) + "\n")


@control_app.command("approve")
def control_approve(
    decision_id: Annotated[str, typer.Argument()],
    user: Annotated[str, typer.Option("--user", help="The approver; their password on stdin.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    home: HomeOpt = None,
) -> None:
    """Approve, signed with your personal key (password read from stdin)."""
    _vote(decision_id, user, reason, True, home)


@control_app.command("deny")
def control_deny(
    decision_id: Annotated[str, typer.Argument()],
    user: Annotated[str, typer.Option("--user", help="The approver; their password on stdin.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    home: HomeOpt = None,
) -> None:
    """Deny, signed with your personal key (password read from stdin)."""
    _vote(decision_id, user, reason, False, home)


@control_app.command("audit")
def control_audit(
    since: Annotated[datetime | None, typer.Option("--from")] = None,
    until: Annotated[datetime | None, typer.Option("--to")] = None,
    home: HomeOpt = None,
) -> None:
    """Prove from the ledger that every executed protected action had its quorum first; list violations."""
    from airrc.control.audit import audit, record_rows
    from airrc.statements import parse_signed_statement

    node = _open(home)
    with node.store.read_session() as session:
        rows = record_rows(session, since=_utc(since), until=_utc(until))
        report = audit(
            [parse_signed_statement(r.data, max_bytes=node.settings.limits.max_statement_bytes) for r in rows]
        )
    _print_audit(report)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _print_audit(report: object) -> None:
    from airrc.control.audit import AuditReport

    assert isinstance(report, AuditReport)  # noqa: S101
    out.print(
        f"{report.requests} request(s); {report.executed} executed, {report.executed_with_quorum} with their "
        f"quorum; {len(report.violations)} violation(s)"
    )
    for v in report.violations:
        out.print(f"  [red]violation[/red] {v.decision_id}: {v.code} ({v.detail})")
    if report.violations:
        raise typer.Exit(1)


@control_app.command("export-audit")
def control_export_audit(
    output: Annotated[Path, typer.Option("--output", "-o")],
    since: Annotated[datetime | None, typer.Option("--from")] = None,
    until: Annotated[datetime | None, typer.Option("--to")] = None,
    home: HomeOpt = None,
) -> None:
    """Write an audit bundle (commitments, proofs, checkpoint) a peer can verify without seeing details."""
    from airrc.control.audit import export_bundle

    node = _open(home)
    with node.store.session() as session:
        bundle = export_bundle(
            session, log=node.log, chain=node.card_chain(), since=_utc(since), until=_utc(until)
        )
    output.write_text(json.dumps(bundle, indent=1, sort_keys=True))
    out.print(f"wrote {len(bundle['statements'])} statement(s) to {output}")


@control_app.command("verify-audit")
def control_verify_audit(file: Annotated[Path, typer.Argument()], home: HomeOpt = None) -> None:
    """Verify a peer's audit bundle against its pinned card and audit it."""
    from airrc.control.audit import verify_bundle
    from airrc.crypto.canonical import parse_json

    node = _open(home)
    limit = 256 * 1024 * 1024
    doc = parse_json(_read_file(file, limit), max_bytes=limit)
    issuer = doc.get("cards", [{}])[0].get("id") if isinstance(doc, dict) and doc.get("cards") else None
    with node.store.read_session() as session:
        pinned = node.trust.chain(session, issuer) if isinstance(issuer, str) else []
    card, report = verify_bundle(doc, pinned_chain=pinned, max_bytes=node.settings.limits.max_statement_bytes)
    out.print(f"bundle from [bold]{card.name}[/bold] verified: signatures, log inclusion, checkpoint")
    _print_audit(report)


@app.command()
def demo(
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave the nodes running and print their URLs.")
    ] = False,
) -> None:
    """Two nodes, real processes, on loopback: the scenario of ``make demo``."""
    from airrc.demo import run_demo

    raise typer.Exit(run_demo(keep=keep, console=out))


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except Error as exc:
        err.print(exc.diagnostics(), markup=False, highlight=False)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        import click
        from pydantic import ValidationError

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, ValidationError):
            err.print(
                f"error[config.invalid]: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}", markup=False
            )
            sys.exit(1)
        raise
    # Without standalone mode click returns the code of a typer.Exit instead of exiting.
    if isinstance(code, int) and code:
        sys.exit(code)
