"""Node administration: init, serve, cards, peers, people, AI systems, tokens, schema, alerts, demo."""

from __future__ import annotations

import json
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from airrc.cli._common import (
    HomeOpt,
    PasswordStdin,
    err,
    open_node,
    out,
    read_file,
    read_password,
    settings_for,
)
from airrc.config import check_country
from airrc.errors import ConfigError, InputError
from airrc.node import Node
from airrc.trust.peers import parse_card_chain

card_app = typer.Typer(no_args_is_help=True, help="This node's card and peers' cards.")
peer_app = typer.Typer(no_args_is_help=True, help="Pinned peer nodes.")
user_app = typer.Typer(no_args_is_help=True, help="People with roles on this node.")
service_app = typer.Typer(
    no_args_is_help=True, help="AI systems: service principals that may request, never approve."
)
token_app = typer.Typer(no_args_is_help=True, help="API bearer tokens.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
alerts_app = typer.Typer(no_args_is_help=True, help="Alerts an operator must see.")


def init(
    name: Annotated[str, typer.Option(help="Node name, e.g. us-caisi.")],
    public_url: Annotated[
        list[str] | None, typer.Option("--public-url", help="Endpoint peers reach us at.")
    ] = None,
    admin: Annotated[str, typer.Option(help="Username of the first administrator.")] = "admin",
    role: Annotated[
        str, typer.Option(help="member, or observer (may receive; sends only receipts and pings).")
    ] = "member",
    country: Annotated[
        str | None,
        typer.Option(help="ISO 3166-1 alpha-2 code of this node's country (asked for when not given)."),
    ] = None,
    password_stdin: PasswordStdin = False,
    home: HomeOpt = None,
) -> None:
    """Create a node: keys, genesis card, database, first admin, and its country."""
    settings = settings_for(home, public_urls=public_url or None)
    if role not in ("member", "observer"):
        raise InputError("role is member or observer", code="input.bad_role")
    if country is None:
        country = settings.country
    if country is None:
        if password_stdin or not sys.stdin.isatty():
            raise ConfigError(
                "give the node's country with --country (ISO 3166-1 alpha-2, e.g. US)",
                code="config.no_country",
            )
        country = typer.prompt("Country of this node (ISO 3166-1 alpha-2, e.g. US)")
    country = check_country(country)
    password = read_password() if password_stdin else None
    result = Node.init(
        settings,
        name=name,
        public_urls=tuple(public_url or ()),
        admin_username=admin,
        admin_password=password,
        role="observer" if role == "observer" else "member",
        country=country,
    )
    out.print(f"[green]initialised[/green] node [bold]{name}[/bold] ({country}) id {result.node.id}")
    out.print(f"home: {settings.home}")
    if result.admin_password is not None:
        out.print(f"admin user [bold]{admin}[/bold] password (shown once): {result.admin_password}")
    result.node.close()


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Bind port.")] = None,
    home: HomeOpt = None,
) -> None:
    """Run the node's HTTP API."""
    import uvicorn

    from airrc.api.app import create_app
    from airrc.api.serving import guarded_protocol

    node = open_node(home)
    settings = node.settings
    if settings.country is None:
        err.print(
            "warning: no country is set (country in airrc.toml, or AIRRC_COUNTRY): reports that other tools "
            "post to the TAXII inbox without an origin country will be refused",
            markup=False,
        )
    bind_host = host or settings.bind_host
    bind_port = port if port is not None else settings.bind_port
    shown = f"[{bind_host}]" if ":" in bind_host else bind_host
    out.print(
        f"airrc node [bold]{node.name}[/bold] listening on http://{shown}:{bind_port} "
        f"(REST /api/v1, TAXII /taxii2/, peers /federation/v1, ledger /ledger/v1)\n"
        f"console: http://{shown}:{bind_port}/console/",
        highlight=False,
    )
    sys.stdout.flush()  # a log file is block-buffered: the operator must see this line now
    # The event loop, the request thread pool and the federation worker hand work to each other; with
    # the default 5 ms GIL switch interval every hand-off can wait that long (measured in bench/hotline.py).
    sys.setswitchinterval(0.0005)
    uvicorn.run(
        create_app(node, background=True),
        host=bind_host,
        port=bind_port,
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
    node = open_node(home)
    chain = node.card_chain()
    doc = chain[0].to_json() if len(chain) == 1 else [c.to_json() for c in chain]
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")


@card_app.command("import")
def card_import(
    file: Annotated[str, typer.Argument(help="Card JSON file, or - for standard input.")],
    home: HomeOpt = None,
) -> None:
    """Verify a peer's card (or card chain) and pin it."""
    node = open_node(home)
    limit = node.settings.limits.max_card_bytes * 64
    data = sys.stdin.buffer.read(limit + 1) if file == "-" else read_file(Path(file), limit)
    chain = parse_card_chain(data, max_bytes=limit)
    if chain[0].id == node.id:
        raise InputError("that is this node's own card", code="trust.own_card")
    with node.store.session() as session:
        card = node.trust.pin_chain(session, chain)
    out.print(f"[green]pinned[/green] {card.name} ({card.role}) id {card.id} serial {card.serial}")


@peer_app.command("list")
def peer_list(home: HomeOpt = None) -> None:
    """List pinned peers."""
    node = open_node(home)
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
    node = open_node(home)
    password = read_password() if password_stdin else secrets.token_urlsafe(18)
    with node.store.session() as session:
        row = node.add_user(session, username, password, role)
    out.print(f"[green]added[/green] {row.username} roles {', '.join(sorted(row.role_set))}")
    if not password_stdin:
        out.print(f"password (shown once): {password}")


@user_app.command("list")
def user_list(home: HomeOpt = None) -> None:
    """List people and AI systems."""
    node = open_node(home)
    with node.store.session() as session:
        rows = node.principals.list(session)
    table = Table("username", "kind", "roles", "active")
    for row in rows:
        table.add_row(row.username, row.kind, ", ".join(sorted(row.role_set)), "yes" if row.active else "no")
    out.print(table)


def _set_active(username: str, active: bool, home: Path | None) -> str:
    node = open_node(home)
    with node.store.session() as session:
        return node.set_user_active(session, username, active).username


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Disable a person or AI system: every token revoked, a person's key inactive in a new roster."""
    name = _set_active(username, False, home)
    out.print(f"[yellow]disabled[/yellow] {name}; its tokens are revoked")


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Enable a principal again; also clears a login lock-out."""
    out.print(f"[green]enabled[/green] {_set_active(username, True, home)}")


@user_app.command("unlock")
def user_unlock(username: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Clear a user's failed logins and lock-out."""
    node = open_node(home)
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
    node = open_node(home)
    with node.store.session() as session:
        row = node.principals.add_service(session, name, role or ["ai_system"])
    out.print(f"[green]added[/green] AI system {row.username}")


@token_app.command("create")
def token_create(
    principal: Annotated[
        str, typer.Option("--principal", help="User or AI system the token acts for.")
    ] = "admin",
    expires: Annotated[float, typer.Option(help="Lifetime in days (at most 366).")] = 30,
    home: HomeOpt = None,
) -> None:
    """Create an API token; prints only the token. A token never signs in a person's name: acknowledging
    or voting through the API takes the person's password in that request."""
    node = open_node(home)
    with node.store.session() as session:
        row = node.principals.get(session, principal)
        token = node.principals.create_token(session, row, lifetime=timedelta(days=expires))
    sys.stdout.write(token + "\n")


@token_app.command("list")
def token_list(
    principal: Annotated[str | None, typer.Option("--principal", help="Only this principal's.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    home: HomeOpt = None,
) -> None:
    """List tokens (ids, never secrets): whose, kind, expiry, revoked."""
    node = open_node(home)
    with node.store.session() as session:
        rows = node.principals.tokens(session, principal)
    docs = [
        {
            "id": t.id,
            "principal": u,
            "kind": t.kind,
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
    node = open_node(home)
    with node.store.session() as session:
        node.principals.revoke(session, token_id)
    out.print(f"[yellow]revoked[/yellow] token {token_id}")


@db_app.command("upgrade")
def db_upgrade(home: HomeOpt = None) -> None:
    """Apply pending database migrations."""
    node = Node(settings_for(home))
    node.store.upgrade()
    out.print(f"database at revision {node.store.current_revision()}")


@alerts_app.command("list")
def alerts_list(
    all_: Annotated[bool, typer.Option("--all", help="Include acknowledged alerts.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    ids: Annotated[
        bool, typer.Option("--ids", help="Only the ids, one per line (for `alerts ack -`).")
    ] = False,
    home: HomeOpt = None,
) -> None:
    """List open alerts."""
    node = open_node(home)
    with node.store.session() as session:
        alerts = [a.to_json() for a in node.alerts.list(session, include_acked=all_)]
    if as_json:
        sys.stdout.write(json.dumps(alerts, indent=2) + "\n")
        return
    if ids:
        sys.stdout.write("".join(f"{a['id']}\n" for a in alerts))
        return
    table = Table("id", "raised", "severity", "code", "message", "acked by")
    for a in alerts:
        table.add_row(
            str(a["id"]), a["raised_at"][:19], a["severity"], a["code"], a["message"], a["acked_by"] or ""
        )
    out.print(table)


@alerts_app.command("ack")
def alerts_ack(
    alert_ids: Annotated[
        list[str], typer.Argument(help="Alert ids; '-' reads them from stdin, one per line.")
    ],
    by: Annotated[str, typer.Option("--by", help="Who acknowledges.")] = "operator",
    home: HomeOpt = None,
) -> None:
    """Acknowledge alerts (all of them, or none when one id is unknown)."""
    words = [w for a in alert_ids for w in (sys.stdin.read(1 << 20).split() if a == "-" else [a])]
    bad = [w for w in words if not (w.isascii() and w.isdigit() and len(w) <= 18)]
    if bad or not words:
        raise InputError(
            f"alert ids are numbers (as `airrc alerts list --ids` prints): {', '.join(bad[:3]) or 'none given'}",
            code="input.bad_alert_id",
        )
    node = open_node(home)
    with node.store.session() as session:
        for word in dict.fromkeys(words):
            node.alerts.ack(session, int(word), by=by)
    out.print(f"{len(set(words))} alert(s) acknowledged: {', '.join(dict.fromkeys(words))}")
