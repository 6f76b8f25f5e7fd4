"""The ``airrc`` command line. Errors print their code and one line, and exit non-zero."""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from airrc.config import Limits, Settings
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
report_app = typer.Typer(no_args_is_help=True, help="Reports of malicious AI use shared with partners.")
stix_app = typer.Typer(no_args_is_help=True, help="STIX 2.1 bundles in and out.")
atlas_app = typer.Typer(no_args_is_help=True, help="The bundled MITRE ATLAS techniques.")
taxii_app = typer.Typer(no_args_is_help=True, help="The TAXII 2.1 server's collections and who may use them.")
hotline_app = typer.Typer(
    no_args_is_help=True, help="The secure bilingual emergency channel (pre-agreed formats, deadlines)."
)
federation_app = typer.Typer(no_args_is_help=True, help="Node-to-node delivery and link tests.")
ledger_app = typer.Typer(no_args_is_help=True, help="This node's transparency log and its peers' logs.")
standards_app = typer.Typer(no_args_is_help=True, help="The AI safety standards catalog and its crosswalk.")
eval_app = typer.Typer(
    no_args_is_help=True, help="Pre-registered model evaluations, attestations, verification, endorsement."
)
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
app.add_typer(hotline_app, name="hotline")
app.add_typer(report_app, name="report")
app.add_typer(stix_app, name="stix")
app.add_typer(atlas_app, name="atlas")
app.add_typer(taxii_app, name="taxii")
app.add_typer(standards_app, name="standards")
app.add_typer(eval_app, name="eval")

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
    from airrc.api.serving import guarded_protocol

    node = _open(home)
    settings = node.settings
    # The event loop, the request thread pool and the federation worker hand work to each other; with
    # the default 5 ms GIL switch interval every hand-off can wait that long (measured in bench/hotline.py).
    sys.setswitchinterval(0.0005)
    uvicorn.run(
        create_app(node, background=True),
        host=host or settings.bind_host,
        port=port if port is not None else settings.bind_port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        http=guarded_protocol(
            header_timeout=settings.http_header_timeout_seconds,
            body_timeout=settings.http_body_timeout_seconds,
        ),
        timeout_keep_alive=5,
        limit_concurrency=settings.http_max_connections,
        h11_max_incomplete_event_size=64 * 1024,
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
        state = (
            f"[red]failing[/red]: {escape(link.last_error or 'unknown')}"
            if link.failing
            else ("ok" if link.last_ok_at else "unknown")
        )
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


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Disable a person or AI system: every token revoked, a person's key inactive in a new roster."""
    node = _open(home)
    with node.store.session() as session:
        row = node.set_user_active(session, username, False)
    out.print(f"[yellow]disabled[/yellow] {row.username}; its tokens are revoked")


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Enable a principal again; also clears a login lock-out."""
    node = _open(home)
    with node.store.session() as session:
        row = node.set_user_active(session, username, True)
    out.print(f"[green]enabled[/green] {row.username}")


@user_app.command("unlock")
def user_unlock(username: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Clear a user's failed logins and lock-out."""
    node = _open(home)
    with node.store.session() as session:
        node.principals.get(session, username)
        node.throttle.unlock(session, username)
    out.print(f"[green]unlocked[/green] {username}")


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
    expires: Annotated[
        float | None,
        typer.Option(help="Lifetime in days (default 30; 1 for a token that can sign, at most 7)."),
    ] = None,
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
        days = expires if expires is not None else (1 if password is not None else 30)
        token = node.principals.create_token(session, row, lifetime=timedelta(days=days), password=password)
    sys.stdout.write(token + "\n")


@token_app.command("list")
def token_list(
    principal: Annotated[str | None, typer.Option("--principal", help="Only this principal's.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    home: HomeOpt = None,
) -> None:
    """List tokens (ids, never secrets): whose, whether they can sign, expiry, revoked."""
    node = _open(home)
    with node.store.session() as session:
        rows = node.principals.tokens(session, principal)
    docs = [
        {
            "id": t.id,
            "principal": u,
            "kind": t.kind,
            "can_sign": t.wrapped_key is not None,
            "expires_at": t.expires_at.isoformat(),
            "revoked": t.revoked,
        }
        for t, u in rows
    ]
    if as_json:
        sys.stdout.write(json.dumps(docs) + "\n")
        return
    table = Table(*(k.replace("_", " ") for k in docs[0]) if docs else ("id",))
    for doc in docs:
        table.add_row(*(str(v) for v in doc.values()))
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="A token id (from token list).")], home: HomeOpt = None
) -> None:
    """Revoke a token at once."""
    node = _open(home)
    with node.store.session() as session:
        node.principals.revoke(session, token_id)
    out.print(f"[yellow]revoked[/yellow] token {token_id}")


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


# -- exchange ---------------------------------------------------------------------------------------------------

MAX_INPUT_FILE = 64 * 1024 * 1024


def _read_json(source: str, limit: int) -> Any:
    """JSON from a file, or from standard input for ``-``; size-limited before parsing."""
    from airrc.crypto.canonical import parse_json

    data = sys.stdin.buffer.read(limit + 1) if source == "-" else _read_file(Path(source), limit)
    return parse_json(data, max_bytes=limit)


def _dump(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def _report_line(row: dict[str, Any]) -> tuple[str, ...]:
    report = row["report"]
    title = report["title"].get("en") or report["title"].get("zh") or ""
    return (
        str(row["key"]),
        row["report_id"][:8],
        row["origin"],
        f"v{row['version']}",
        row["status"],
        row["tlp"].upper(),
        row["severity"],
        title[:60],
    )


@report_app.command("new")
def report_new(
    source: Annotated[str, typer.Argument(help="A report as JSON: a file, or - for standard input.")],
    home: HomeOpt = None,
) -> None:
    """Create a draft report (checked completely: nothing malformed is stored)."""
    node = _open(home)
    doc = _read_json(source, node.settings.limits.max_request_bytes)
    with node.store.session() as session:
        row = node.exchange.create(session, doc)
        out.print(f"draft {row.key} report {row.report_id}")


@report_app.command("edit")
def report_edit(
    report: Annotated[str, typer.Argument(help="Key or report id.")],
    source: Annotated[str, typer.Argument(help="The new content as JSON (file or -).")],
    home: HomeOpt = None,
) -> None:
    """Change a draft, or start the next version of a published report."""
    node = _open(home)
    doc = _read_json(source, node.settings.limits.max_request_bytes)
    with node.store.session() as session:
        row = node.exchange.edit(session, report, doc)
        out.print(f"report {row.report_id} is now draft version {row.version}")


@report_app.command("preview")
def report_preview(report: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """For each partner: whether the report would go and exactly the JSON that would leave."""
    node = _open(home)
    with node.store.read_session() as session:
        _dump([d.to_json() for d in node.exchange.preview(session, report)])


@report_app.command("publish")
def report_publish(report: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Send the report to every partner its policy allows (one statement each; sealed from AMBER up)."""
    node = _open(home)
    with node.store.session() as session:
        result = node.exchange.publish(session, report)
        for d in result.decisions:
            verdict = "[green]sent[/green]" if d.shared else f"[yellow]withheld[/yellow] ({d.reason})"
            out.print(f"{d.partner_name}: {verdict}")
        sent = sum(d.shared for d in result.decisions)
        out.print(
            f"report {result.report.report_id} v{result.report.version} published to {sent} partner(s)"
            if sent
            else f"report {result.report.report_id} v{result.report.version} recorded; it left for nobody"
        )


@report_app.command("revoke")
def report_revoke(
    report: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason")] = "revoked by the issuer",
    home: HomeOpt = None,
) -> None:
    """Withdraw a report from every partner that received it."""
    node = _open(home)
    with node.store.session() as session:
        sent = node.exchange.revoke(session, report, reason)
    out.print(f"revoked; {len(sent)} partner(s) told")


@report_app.command("list")
def report_list(
    category: Annotated[str | None, typer.Option()] = None,
    sector: Annotated[str | None, typer.Option()] = None,
    technique: Annotated[str | None, typer.Option()] = None,
    tlp: Annotated[str | None, typer.Option()] = None,
    origin: Annotated[str | None, typer.Option(help="A peer's name, or 'local'.")] = None,
    text: Annotated[str | None, typer.Option("--text")] = None,
    status: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    home: HomeOpt = None,
) -> None:
    """Reports, ours and received, newest first."""
    from airrc.exchange.service import SearchQuery

    node = _open(home)
    with node.store.read_session() as session:
        names = node.names(session)
        origin_id = next((i for i, n in names.items() if n == origin), origin)
        query = SearchQuery(
            category=category,
            sector=sector,
            technique=technique,
            tlp=tlp,
            origin=origin_id,
            text=text,
            status=status,
            limit=limit,
        )
        rows = [r.to_json(names=names) for r in node.exchange.search(session, query)]
    if as_json:
        _dump(rows)
        return
    table = Table("key", "report", "origin", "ver", "status", "TLP", "severity", "title")
    for row in rows:
        table.add_row(*_report_line(row))
    out.print(table)


@report_app.command("show")
def report_show(report: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """One report with its correlation links."""
    node = _open(home)
    with node.store.read_session() as session:
        names = node.names(session)
        row = node.exchange.get(session, report)
        shares = [
            {**share, "partner": names.get(share["partner_id"], share["partner_id"])}
            for share in node.exchange.shares(session, row.key)
        ]
        _dump({**row.to_json(names=names), "links": node.exchange.links(session, row.key), "shares": shares})


@report_app.command("policy")
def report_policy(
    partner: Annotated[str, typer.Argument(help="Peer name or id.")],
    max_tlp: Annotated[str, typer.Option("--max-tlp")] = "green",
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Allowed; repeat. Default all.")
    ] = None,
    redact: Annotated[list[str] | None, typer.Option("--redact", help="A field never sent; repeat.")] = None,
    scrub_pii: Annotated[bool, typer.Option("--scrub-pii/--no-scrub-pii")] = True,
    home: HomeOpt = None,
) -> None:
    """Set what a partner may receive."""
    from pydantic import ValidationError

    from airrc.exchange.policy import PartnerPolicy

    node = _open(home)
    try:
        policy = PartnerPolicy.model_validate(
            {
                "max_tlp": max_tlp,
                "categories": tuple(category) if category else None,
                "redact": tuple(redact or ()),
                "scrub_pii": scrub_pii,
            }
        )
    except ValidationError as exc:
        err0 = exc.errors()[0]
        raise InputError(f"{err0['loc'][0]}: {err0['msg']}", code="exchange.bad_policy") from exc
    with node.store.session() as session:
        card = node.exchange.set_policy(session, partner, policy)
    out.print(f"policy for {card.name}: up to TLP:{max_tlp.upper()}")


@stix_app.command("export")
def stix_export(
    report: Annotated[str, typer.Argument()],
    partner: Annotated[str | None, typer.Option("--for", help="Exactly what this partner may see.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    home: HomeOpt = None,
) -> None:
    """A report as a STIX 2.1 bundle."""
    node = _open(home)
    with node.store.read_session() as session:
        bundle = node.exchange.export_stix(session, report, partner=partner)
    text = json.dumps(bundle, indent=2, ensure_ascii=False)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(bundle['objects'])} STIX objects to {output}")


@stix_app.command("import")
def stix_import(
    source: Annotated[str, typer.Argument(help="A STIX 2.1 bundle (file or -).")],
    origin_country: Annotated[
        str | None, typer.Option("--origin-country", help="ISO code, for bundles from other tools.")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Draft reports from a STIX 2.1 bundle (MISP, OpenCTI, another node); all of them or none."""
    node = _open(home)
    limit = node.settings.limits.max_request_bytes
    bundle = _read_json(source, limit)
    with node.store.session() as session:
        rows = node.exchange.import_stix(
            session, bundle, origin_country=origin_country or node.settings.country, max_bytes=limit
        )
        for row in rows:
            out.print(f"draft {row.key} report {row.report_id}")


@atlas_app.command("search")
def atlas_search(text: Annotated[str, typer.Argument()]) -> None:
    """MITRE ATLAS techniques matching every word."""
    from airrc.exchange.atlas import load_atlas

    atlas = load_atlas()
    table = Table("technique", "name", "tactics")
    for t in atlas.search(text):
        table.add_row(t.id, t.name, ", ".join(atlas.tactics.get(x, x) for x in t.tactics))
    out.print(table)


@taxii_app.command("collections")
def taxii_collections(home: HomeOpt = None) -> None:
    """The TAXII collections of this node."""
    node = _open(home)
    with node.store.read_session() as session:
        table = Table("id", "title", "kind")
        for c in node.taxii.collections(node.trust.peers(session)):
            table.add_row(c.id, c.title, c.kind)
    out.print(table)


@taxii_app.command("grant")
def taxii_grant(
    principal: Annotated[str, typer.Option("--principal", help="A user or service name.")],
    collection: Annotated[str, typer.Option("--collection", help="Collection id.")],
    read: Annotated[bool, typer.Option("--read/--no-read")] = True,
    write: Annotated[bool, typer.Option("--write/--no-write")] = False,
    home: HomeOpt = None,
) -> None:
    """Let a principal (e.g. a partner's service account) read or write one collection."""
    node = _open(home)
    with node.store.session() as session:
        ids = {c.id for c in node.taxii.collections(node.trust.peers(session))}
        if collection not in ids:
            raise InputError(f"no collection {collection}", code="taxii.unknown_collection")
        row = node.principals.get(session, principal)
        node.taxii.grant(session, row.id, collection, read=read, write=write)
    out.print(f"{principal}: read={read} write={write} on {collection}")


# -- hotline ------------------------------------------------------------------------------------------------

LangOpt = Annotated[str, typer.Option("--lang", help="en, zh or both.")]


def _languages(lang: str) -> tuple[Literal["en", "zh"], ...]:
    if lang not in ("en", "zh", "both"):
        raise InputError("--lang is en, zh or both", code="input.bad_language")
    return ("en", "zh") if lang == "both" else ("en",) if lang == "en" else ("zh",)


def _parse_fields(items: list[str]) -> dict[str, object]:
    """``name=value`` (JSON if it parses, else text); ``name@en=…`` and ``name@zh=…`` build bilingual text,
    and one language alone is marked as the only one used."""
    fields: dict[str, object] = {}
    texts: dict[str, dict[str, str]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"--field takes name=value, got {item!r}", code="input.bad_field_syntax")
        if "@" in name:
            base, _, lang = name.partition("@")
            if lang not in ("en", "zh"):
                raise InputError(f"--field {name}: language is en or zh", code="input.bad_field_syntax")
            texts.setdefault(base, {})[lang] = value
            continue
        try:
            fields[name] = json.loads(value)
        except json.JSONDecodeError:
            fields[name] = value
    for base, by_lang in texts.items():
        if len(by_lang) == 2:
            fields[base] = by_lang
        else:
            ((lang, text),) = by_lang.items()
            fields[base] = {"text": text, "lang": lang}
    return fields


def _print_message(view: dict[str, Any], languages: tuple[str, ...]) -> None:
    head = f"[bold]{view['id']}[/bold]  {view['precedence']} {view['format']}  from {view['sender'][:16]}…"
    out.print(head + f"  #{view['channel_seq']}  {view['issued_at']}")
    for lang in languages:
        out.print(view["rendered"][lang], markup=False, highlight=False)
    for wait in view["awaiting"]:
        who = "us" if not view["outgoing"] else wait["node"][:16] + "…"
        line = f"  {who}: {wait['state']}, deadline {wait['deadline']}"
        if wait["acknowledged_by"]:
            line += f", acknowledged by {wait['acknowledged_by']} at {wait['acknowledged_at']}"
        out.print(line, markup=False, highlight=False)


@hotline_app.command("open")
def hotline_open(
    peers: Annotated[list[str], typer.Argument(help="Peer names or ids to open the channel with.")],
    report: Annotated[
        str | None, typer.Option("--report", help="Open from an exchange report (its statement id).")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Open a crisis channel with one or more peers."""
    node = _open(home)
    with node.store.session() as session:
        channel = node.hotline.open_channel(session, peers, report=report)
    sys.stdout.write(channel.channel_id + "\n")


@hotline_app.command("send")
def hotline_send(
    channel: Annotated[str, typer.Argument(help="Channel id.")],
    format_id: Annotated[
        str, typer.Option("--format", help="A format of the catalog, e.g. CI_ATTACK_NOTICE.")
    ],
    field: Annotated[list[str] | None, typer.Option("--field", help="name=value; repeat per field.")] = None,
    precedence: Annotated[
        str | None, typer.Option("--precedence", help="FLASH, IMMEDIATE, PRIORITY or ROUTINE.")
    ] = None,
    reply_to: Annotated[str | None, typer.Option("--reply-to", help="The message this answers.")] = None,
    home: HomeOpt = None,
) -> None:
    """Send a message in a pre-agreed format, sealed to the channel's participants."""
    node = _open(home)
    with node.store.session() as session:
        row = node.hotline.send(
            session,
            channel,
            format_id=format_id,
            fields=_parse_fields(field or []),
            precedence=precedence,
            in_reply_to=reply_to,
        )
        message_id = row.statement_id
        deadline = min(w.deadline_at for w in node.hotline.view(session, row).waits)
    sys.stdout.write(message_id + "\n")
    err.print(f"sent {row.precedence} {format_id}; acknowledgement due by {deadline.isoformat()}")


@hotline_app.command("inbox")
def hotline_inbox(
    all_: Annotated[bool, typer.Option("--all", help="Include acknowledged messages.")] = False,
    lang: LangOpt = "both",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    home: HomeOpt = None,
) -> None:
    """Received messages waiting for a duty officer, most urgent first."""
    node = _open(home)
    languages = _languages(lang)
    with node.store.read_session() as session:
        views = [
            v.to_json(node.hotline.catalog, languages)
            for v in node.hotline.inbox(session, include_acknowledged=all_)
        ]
    if as_json:
        sys.stdout.write(json.dumps(views, indent=2, ensure_ascii=False) + "\n")
        return
    if not views:
        out.print("no messages waiting")
    for view in views:
        _print_message(view, languages)


@hotline_app.command("ack")
def hotline_ack(
    message: Annotated[str, typer.Argument(help="Message id.")],
    user: Annotated[str, typer.Option("--user", help="The duty officer acknowledging.")],
    password_stdin: PasswordStdin = False,
    home: HomeOpt = None,
) -> None:
    """Acknowledge a received message as a named duty officer (their password unlocks their key)."""
    node = _open(home)
    password = _read_password() if password_stdin else typer.prompt(f"password for {user}", hide_input=True)
    with node.store.session() as session:
        principal = node.principals.unlock(session, user, password)
    with node.store.session() as session:
        wait = node.hotline.acknowledge(session, principal, message)
        statement = wait.ack_statement
    out.print(f"acknowledged by {user}; statement {statement}")


@hotline_app.command("show")
def hotline_show(
    target: Annotated[str, typer.Argument(help="A channel id or a message id.")],
    lang: LangOpt = "both",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    home: HomeOpt = None,
) -> None:
    """A channel with all its messages, or one message, rendered from the catalog."""
    node = _open(home)
    languages = _languages(lang)
    catalog = node.hotline.catalog
    with node.store.read_session() as session:
        from airrc.hotline.service import ChannelRow

        if session.get(ChannelRow, target) is not None:
            channel = node.hotline.channel(session, target)
            names = node.names(session)
            doc: dict[str, Any] = {
                "channel": target,
                "state": channel.state,
                "participants": [names.get(m, m) for m in channel.members],
                "report": channel.report,
                "messages": [m.to_json(catalog, languages) for m in node.hotline.messages(session, target)],
            }
        else:
            doc = {"messages": [node.hotline.message(session, target).to_json(catalog, languages)]}
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    if "channel" in doc:
        out.print(f"channel {target} ({doc['state']}): {', '.join(doc['participants'])}")
    for view in doc["messages"]:
        _print_message(view, languages)


@hotline_app.command("close")
def hotline_close(channel: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Close a crisis channel (a statement to every participant)."""
    node = _open(home)
    with node.store.session() as session:
        node.hotline.close_channel(session, channel)
    out.print(f"channel {channel} closed")


@hotline_app.command("status")
def hotline_status(as_json: Annotated[bool, typer.Option("--json")] = False, home: HomeOpt = None) -> None:
    """Link-test (drill) results per peer and acknowledgements awaited."""
    node = _open(home)
    with node.store.read_session() as session:
        doc = node.hotline.status(session)
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    out.print(f"format catalog digest {doc['catalog_digest']}")
    counts = doc["acknowledgements"]
    out.print(f"awaiting acknowledgement: {counts['awaiting']}, overdue: {counts['overdue']}")
    table = Table("peer", "last drill", "result", "round trip (s)", "last ok", "failures in a row")
    for d in doc["drills"]:
        rtt = f"{d['round_trip_seconds']:.3f}" if d["round_trip_seconds"] is not None else ""
        table.add_row(
            d["peer"],
            d["last_drill"] or "",
            d["result"],
            rtt,
            d["last_ok"] or "",
            str(d["consecutive_failures"]),
        )
    out.print(table)


@hotline_app.command("transcript")
def hotline_transcript(
    channel: Annotated[str, typer.Argument()],
    output: Annotated[Path, typer.Option("--output", "-o")],
    home: HomeOpt = None,
) -> None:
    """Export a channel with every statement's inclusion proof and the checkpoints (fetches peers' proofs)."""
    from airrc.hotline.transcript import export_transcript

    node = _open(home)
    doc = export_transcript(node, channel)
    output.write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    out.print(f"wrote {len(doc['entries'])} statement(s) with proofs to {output}")


@hotline_app.command("verify-transcript")
def hotline_verify_transcript(
    file: Annotated[Path, typer.Argument()],
    lang: LangOpt = "both",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Also check the participants against the nodes pinned at this home."),
    ] = None,
) -> None:
    """Check a transcript offline: cards, checkpoints, signatures, inclusion, commitments, officers."""
    from airrc.crypto.canonical import parse_json
    from airrc.hotline.transcript import verify_transcript

    limit = 256 * 1024 * 1024
    doc = parse_json(_read_file(file, limit), max_bytes=limit)
    report = verify_transcript(doc, max_bytes=Limits().max_statement_bytes)
    unpinned: list[str] = []
    if home is not None:
        node = _open(home)
        with node.store.read_session() as session:
            known = {card.id for card in node.trust.peers(session)} | {node.id}
        unpinned = [p for p in report.participant_ids if p not in known]
        node.close()
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
        return
    languages = _languages(lang)
    out.print(
        f"[green]transcript verified[/green]: channel {report.channel_id}, {report.statements} statements, "
        f"participants {', '.join(report.participants)}, checkpoints "
        + ", ".join(f"{n} at size {s}" for n, s in report.checkpoints.items())
    )
    if not report.catalog_matches:
        out.print("[yellow]the transcript was written with another format catalog[/yellow]")
    for node_id in unpinned:
        out.print(f"[yellow]participant {node_id} is not a node pinned here[/yellow]")
    for m in report.messages:
        out.print(
            f"[bold]{m.id}[/bold] {m.precedence or '(sealed)'} {m.format or ''} from {m.sender} at {m.issued_at}"
        )
        for language in languages:
            if language in m.rendered:
                out.print(m.rendered[language], markup=False, highlight=False)
        out.print(
            f"  receipted by: {', '.join(m.receipted_by) or 'nobody'}; acknowledged: "
            f"{'; '.join(m.acknowledged_by) or 'no'}; escalation steps: {m.escalations}",
            markup=False,
            highlight=False,
        )


# -- standards and evaluations ------------------------------------------------------------------------------

VERDICT_TEXT = {
    "met": ("met", "达标"),
    "not_met": ("not met", "未达标"),
    "inconclusive": ("inconclusive", "无定论"),
    "not_evaluated": ("not evaluated", "未评估"),
}


def _verdict(verdict: str, languages: tuple[str, ...]) -> str:
    en, zh = VERDICT_TEXT.get(verdict, (verdict, verdict))
    return " / ".join(en if lang == "en" else zh for lang in languages)


def _bilingual(text: Any, languages: tuple[str, ...]) -> str:
    return "\n".join(getattr(text, lang) if not isinstance(text, dict) else text[lang] for lang in languages)


@standards_app.command("show")
def standards_show(
    lang: LangOpt = "both",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    _home: HomeOpt = None,  # accepted like everywhere; the catalog ships with the package
) -> None:
    """The catalog: requirements per risk domain with suite, metric, threshold and tier."""
    from airrc.standards.catalog import load_catalog

    catalog = load_catalog()
    if as_json:
        _dump({"version": catalog.version, "digest": catalog.digest, **catalog.doc.model_dump(mode="json")})
        return
    languages = _languages(lang)
    table = Table(title=f"airrc standards catalog v{catalog.version} ({catalog.digest[:16]})")
    for column in ("requirement", "domain", "title", "suite", "metric", "threshold", "tier"):
        table.add_column(column)
    for r in catalog.doc.requirements:
        table.add_row(
            r.id,
            _bilingual(catalog.doc.domains[r.domain], languages),
            _bilingual(r.title, languages),
            r.suite,
            r.metric,
            f"{r.comparator} {r.threshold:g}",
            r.tier,
        )
    out.print(table)


@standards_app.command("crosswalk")
def standards_crosswalk(
    framework: Annotated[str, typer.Option("--framework", help="nist-ai-rmf, nist-ai-600-1, tc260-v1, …")],
    lang: LangOpt = "both",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    _home: HomeOpt = None,
) -> None:
    """Each requirement with the framework's clauses it maps to, or why the framework has none."""
    from airrc.standards.catalog import crosswalk, load_catalog, uncovered_domains

    catalog = load_catalog()
    rows = crosswalk(catalog, framework)
    languages = _languages(lang)
    if as_json:
        _dump(
            [
                {
                    "requirement": row.requirement.id,
                    "clauses": [c.key for c in row.clauses],
                    "none": row.none.model_dump() if row.none else None,
                }
                for row in rows
            ]
        )
        return
    fw = catalog.framework(framework)
    table = Table(title=f"{fw.name} ({framework}) ↔ airrc catalog v{catalog.version}")
    for column in ("requirement", "domain", "clauses"):
        table.add_column(column)
    for row in rows:
        if row.none is not None:
            cell = "no clause: " + _bilingual(row.none, languages)
        else:
            cell = "\n".join(
                f"{c.key}{'' if c.official else ' (local key, no official id)'}: "
                + _clause_title(c.title, c.title_zh, languages)
                for c in row.clauses
            )
        table.add_row(row.requirement.id, row.requirement.domain, cell)
    out.print(table)
    for domain in uncovered_domains(catalog, framework):
        out.print(f"{framework} has no clause for the domain {domain}")


@eval_app.command("plan")
def eval_plan(
    model: Annotated[str, typer.Option("--model", help="inspect provider/name, e.g. gguf/smollm2-135m.")],
    suite: Annotated[list[str], typer.Option("--suite", help="A suite to run (repeatable).")],
    witness: Annotated[
        str | None, typer.Option("--witness", help="The peer whose cosignature seeds the run.")
    ] = None,
    requirement: Annotated[
        list[str] | None, typer.Option("--requirement", help="Only these requirements.")
    ] = None,
    samples_per_kind: Annotated[
        int | None, typer.Option("--samples-per-kind", help="Draw this many hazardous and benign samples.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="en, zh or both.")] = "both",
    epochs: Annotated[int, typer.Option("--epochs")] = 1,
    max_tokens: Annotated[int, typer.Option("--max-tokens")] = 96,
    grader: Annotated[
        str | None, typer.Option("--grader", help="An inspect model that judges refusals (default: markers).")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Register an evaluation before it runs: a signed, logged standards.plan statement."""
    node = _open(home)
    signed = node.standards.plan(
        model=model,
        suites=suite,
        witness=witness,
        requirements=requirement or None,
        languages=_languages(lang),
        samples_per_kind=samples_per_kind,
        epochs=epochs,
        max_tokens=max_tokens,
        grader=grader,
    )
    node.close()
    out.print(
        f"plan registered (seq {signed.statement.seq}); its seed is fixed by the witness's first cosignature"
    )
    sys.stdout.write(signed.statement.id + "\n")


@eval_app.command("run")
def eval_run(
    plan: Annotated[str, typer.Option("--plan", help="The plan's statement id.")],
    model: Annotated[str | None, typer.Option("--model", help="Must be the plan's model.")] = None,
    home: HomeOpt = None,
) -> None:
    """Run a plan through inspect_ai with the seed its first cosigned checkpoint fixes."""
    node = _open(home)
    display = "rich" if sys.stdout.isatty() else "plain"
    with httpx.Client() as client:
        run = node.standards.run(plan, client=client, model=model, display=display)
    node.close()
    out.print(f"seed {run.seed[:16]}… from checkpoint size {run.seed_size}; inspect logs in {run.log_dir}")
    _print_results(json.loads(run.results), ("en", "zh"))
    out.print(f"log digest {run.log_digest}")


def _print_results(results: list[dict[str, Any]], languages: tuple[str, ...]) -> None:
    from airrc.standards.catalog import load_catalog

    catalog = load_catalog()
    table = Table(title="verdicts per requirement")
    for column in ("requirement", "title", "rate", "95% CI", "n", "threshold", "verdict"):
        table.add_column(column)
    for r in results:
        req = catalog.requirements.get(r["requirement"])
        table.add_row(
            r["requirement"],
            _bilingual(req.title, languages) if req else "",
            f"{r['value']:.3f}",
            f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]",
            str(r["n"]),
            f"{r['comparator']} {r['threshold']:g}",
            _verdict(r["verdict"], languages),
        )
    out.print(table)


def _clause_title(title: str | None, title_zh: str | None, languages: tuple[str, ...], limit: int = 0) -> str:
    parts = [
        t for t in ((title if "en" in languages else None), (title_zh if "zh" in languages else None)) if t
    ]
    if limit:
        parts = [t if len(t) <= limit else t[: limit - 1] + "…" for t in parts]
    return " / ".join(parts)


def _print_frameworks(
    frameworks: dict[str, Any], results: list[dict[str, Any]], languages: tuple[str, ...]
) -> None:
    from airrc.standards.catalog import load_catalog

    catalog = load_catalog()
    requirements = catalog.requirements
    evaluated = {requirements[r["requirement"]].domain for r in results if r["requirement"] in requirements}
    table = Table(title="verdicts per framework clause")
    for column in ("framework", "clause", "requirements", "verdict"):
        table.add_column(column)
    for framework_id, rollup in frameworks.items():
        fw = catalog.frameworks.get(framework_id)
        for clause in rollup["clauses"]:
            ref = fw.clause(clause["clause"]) if fw else None
            title = _clause_title(ref.title, ref.title_zh, languages, limit=60) if ref is not None else ""
            table.add_row(
                framework_id,
                f"{clause['clause']} {title}".strip(),
                ", ".join(clause["requirements"]),
                _verdict(clause["verdict"], languages),
            )
        for domain in rollup["uncovered_domains"]:
            if domain in evaluated:
                table.add_row(framework_id, f"(no clause for {domain})", "", "")
    out.print(table)


@eval_app.command("attest")
def eval_attest(
    plan: Annotated[str, typer.Option("--plan", help="The plan's statement id.")], home: HomeOpt = None
) -> None:
    """Issue the standards.attestation of a finished run."""
    node = _open(home)
    signed = node.standards.attest(plan)
    node.close()
    out.print("attestation issued")
    sys.stdout.write(signed.statement.id + "\n")


@eval_app.command("log")
def eval_log(
    attestation: Annotated[str, typer.Argument()],
    output: Annotated[Path, typer.Option("--out", help="Write the canonical log here.")],
    home: HomeOpt = None,
) -> None:
    """Write the canonical evaluation log behind one of our attestations (for verify --log)."""
    node = _open(home)
    data = node.standards.log_for(attestation)
    node.close()
    output.write_bytes(data)
    out.print(f"{len(data)} bytes written to {output}")


@eval_app.command("verify")
def eval_verify(
    attestation: Annotated[str, typer.Argument()],
    log: Annotated[
        Path | None, typer.Option("--log", help="The canonical log (else fetched from the attester).")
    ] = None,
    rerun: Annotated[bool, typer.Option("--rerun", help="Run the plan again here and compare.")] = False,
    endorse: Annotated[
        bool, typer.Option("--endorse", help="Endorse the attestation once verified.")
    ] = False,
    lang: LangOpt = "both",
    home: HomeOpt = None,
) -> None:
    """Check a peer's attestation: signatures, log inclusion, plan-before-run, every verdict; optionally re-run."""
    node = _open(home)
    log_bytes = _read_file(log, node.settings.limits.max_eval_log_bytes) if log is not None else None
    with httpx.Client() as client:
        result = node.standards.verify(
            attestation, client=client, log_bytes=log_bytes, rerun=rerun, progress=err.print
        )
    endorsement = node.standards.endorse(attestation) if endorse else None
    node.close()
    languages = _languages(lang)
    out.print(f"[green]attestation verified[/green]: {', '.join(result.checks)}")
    _print_results([s.to_json() for s in result.scores], languages)
    _print_frameworks(result.body.frameworks, [s.to_json() for s in result.scores], languages)
    if result.rerun is not None:
        out.print(
            "re-run within tolerance: "
            + ", ".join(f"{r.requirement} Δ{r.difference:.3f} ≤ {r.allowed:.3f}" for r in result.rerun)
        )
    if endorsement is not None:
        out.print(f"endorsement {endorsement.statement.id} issued")


@eval_app.command("endorse")
def eval_endorse(attestation: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Endorse a peer's attestation this node has verified."""
    node = _open(home)
    signed = node.standards.endorse(attestation)
    node.close()
    out.print(f"endorsement {signed.statement.id} issued")


@eval_app.command("show")
def eval_show(
    attestation: Annotated[str | None, typer.Argument()] = None,
    lang: LangOpt = "both",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    home: HomeOpt = None,
) -> None:
    """Attestations on this node (ours and peers') with their endorsements; one in detail with its id."""
    node = _open(home)
    with node.store.read_session() as session:
        items = (
            [node.standards.attestation(session, attestation)]
            if attestation
            else node.standards.attestations(session)
        )
        names = node.names(session)
    node.close()
    if as_json:
        _dump(items)
        return
    languages = _languages(lang)
    table = Table(title="attestations")
    for column in ("attestation", "by", "model", "verdicts", "endorsed by", "verified here"):
        table.add_column(column)
    for item in items:
        counts: dict[str, int] = {}
        for r in item["results"]:
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
        table.add_row(
            item["id"],
            names.get(item["issuer"], item["issuer"][:16]),
            item["model"],
            ", ".join(f"{n} {_verdict(v, languages)}" for v, n in sorted(counts.items())),
            ", ".join(
                names.get(e["by"], e["by"][:16]) + (" (re-run)" if e["rerun"] else "")
                for e in item["endorsements"]
            )
            or "-",
            "yes" if item["verified_here"] else "-",
        )
    out.print(table)
    if attestation and items:
        _print_results(items[0]["results"], languages)
        _print_frameworks(items[0]["frameworks"], items[0]["results"], languages)


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
    # Everything this process writes (database, keys, cards, evaluation logs, backups) is the owner's only.
    os.umask(0o077)
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

        # typer vendors its own click; its usage errors are not click's classes, so test by shape.
        if isinstance(exc, click.ClickException) or (hasattr(exc, "show") and hasattr(exc, "exit_code")):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, tomllib.TOMLDecodeError):
            err.print(f"error[config.bad_file]: the home's airrc.toml is not valid TOML: {exc}", markup=False)
            sys.exit(1)
        if isinstance(exc, ValidationError):
            err.print(
                f"error[config.invalid]: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}", markup=False
            )
            sys.exit(1)
        raise
    # Without standalone mode click returns the code of a typer.Exit instead of exiting.
    if isinstance(code, int) and code:
        sys.exit(code)
