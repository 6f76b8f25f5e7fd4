"""The hotline: channels, messages, acknowledgements, status and transcripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from airrc.cli._common import (
    HomeOpt,
    LangOpt,
    PasswordStdin,
    err,
    open_node,
    out,
    parse_languages,
    read_file,
    read_password,
    settings_for,
)
from airrc.errors import InputError

hotline_app = typer.Typer(
    no_args_is_help=True, help="The secure bilingual emergency channel (pre-agreed formats, deadlines)."
)


# -- hotline ------------------------------------------------------------------------------------------------


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


def _with_names(view: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The message view with node names next to node ids (ids stay, for scripts and on request)."""

    def name(node_id: str) -> str:
        return names.get(node_id, node_id[:16] + "…")

    return {
        **view,
        "sender_name": name(view["sender"]),
        "awaiting": [{**wait, "node_name": name(wait["node"])} for wait in view["awaiting"]],
    }


def _print_message(view: dict[str, Any], languages: tuple[str, ...]) -> None:
    head = f"[bold]{view['id']}[/bold]  {view['precedence']} {view['format']}  from {view['sender_name']}"
    out.print(head + f"  #{view['channel_seq']}  {view['issued_at']}")
    for lang in languages:
        out.print(view["rendered"][lang], markup=False, highlight=False)
    for wait in view["awaiting"]:
        line = f"  {wait['node_name']}: {wait['state']}, deadline {wait['deadline']}"
        if wait["acknowledged_by"]:
            line += f", acknowledged by {wait['acknowledged_by']} at {wait['acknowledged_at']}"
        out.print(line, markup=False, highlight=False)


@hotline_app.command("formats")
def hotline_formats(
    name: Annotated[str | None, typer.Argument(help="One format, with its fields and their values.")] = None,
    home: HomeOpt = None,
) -> None:
    """The pre-agreed message formats (English and Chinese); with NAME, its fields."""
    node = open_node(home)
    catalog = node.hotline.catalog
    if name is None:
        table = Table("format", "precedence", "English", "中文")
        for fmt in catalog.formats.values():
            table.add_row(fmt.id, fmt.precedence, fmt.title.en, fmt.title.zh)
        out.print(table)
        return
    fmt = catalog.format(name.upper())
    out.print(f"[bold]{fmt.id}[/bold] v{fmt.version} ({fmt.precedence}): {fmt.title.en} / {fmt.title.zh}")
    table = Table("field", "type", "required", "English", "中文", "values")
    for field_name, spec in fmt.fields.items():
        values = list(spec.values or {}) if spec.type == "enum" else []
        if spec.type == "sector":
            values = list(catalog.sectors)
        table.add_row(
            field_name,
            spec.type,
            "yes" if spec.required else "",
            spec.label.en,
            spec.label.zh,
            ", ".join(values),
        )
    out.print(table)


@hotline_app.command("open")
def hotline_open(
    peers: Annotated[list[str], typer.Argument(help="Peer names or ids to open the channel with.")],
    report: Annotated[
        str | None,
        typer.Option("--report", help="Open from an exchange report: its report id, key or statement id."),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Open a crisis channel with one or more peers."""
    node = open_node(home)
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
    node = open_node(home)
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
    node = open_node(home)
    languages = parse_languages(lang)
    with node.store.read_session() as session:
        names = node.names(session)
        views = [
            _with_names(v.to_json(node.hotline.catalog, languages), names)
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
    node = open_node(home)
    password = read_password() if password_stdin else typer.prompt(f"password for {user}", hide_input=True)
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
    node = open_node(home)
    languages = parse_languages(lang)
    catalog = node.hotline.catalog
    with node.store.read_session() as session:
        if node.hotline.is_channel(session, target):
            channel = node.hotline.channel(session, target)
            names = node.names(session)
            doc: dict[str, Any] = {
                "channel": target,
                "state": channel.state,
                "participants": [names.get(m, m) for m in channel.members],
                "report": channel.report,
                "messages": [
                    _with_names(m.to_json(catalog, languages), names)
                    for m in node.hotline.messages(session, target)
                ],
            }
        else:
            names = node.names(session)
            message = node.hotline.message(session, target).to_json(catalog, languages)
            doc = {"messages": [_with_names(message, names)]}
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
    node = open_node(home)
    with node.store.session() as session:
        node.hotline.close_channel(session, channel)
    out.print(f"channel {channel} closed")


@hotline_app.command("status")
def hotline_status(as_json: Annotated[bool, typer.Option("--json")] = False, home: HomeOpt = None) -> None:
    """Link-test (drill) results per peer and acknowledgements awaited."""
    node = open_node(home)
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
    """Export a channel with every statement's inclusion proof and checkpoints cosigned by the other side.

    Our checkpoint is offered to the other members to cosign and theirs are witnessed now, so a
    statement issued a moment ago is covered."""
    from airrc.hotline.transcript import export_transcript

    node = open_node(home)
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
    from airrc.hotline.transcript_verify import verify_transcript

    limits = settings_for(home).limits
    limit = limits.max_input_file_bytes
    doc = parse_json(read_file(file, limit), max_bytes=limit)
    report = verify_transcript(doc, max_bytes=limits.max_statement_bytes)
    unpinned: list[str] = []
    if home is not None:
        node = open_node(home)
        with node.store.read_session() as session:
            known = {card.id for card in node.trust.peers(session)} | {node.id}
        unpinned = [p for p in report.participant_ids if p not in known]
        node.close()
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
        return
    languages = parse_languages(lang)
    out.print(
        f"[green]transcript verified[/green]: channel {report.channel_id}, {report.statements} statements, "
        f"participants {', '.join(report.participants)}, checkpoints "
        + ", ".join(
            f"{n} at size {s} (cosigned by {', '.join(report.witnessed_by.get(n, []))})"
            for n, s in report.checkpoints.items()
        )
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
