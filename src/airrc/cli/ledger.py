"""This node's transparency log, peers' logs, and federation link tests."""

from __future__ import annotations

import base64
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import httpx
import typer
from rich.table import Table

from airrc.cli._common import (
    HomeOpt,
    err,
    open_node,
    out,
)
from airrc.errors import Error

if TYPE_CHECKING:
    from airrc.crypto.trust import NodeCard
    from airrc.node import Node

ledger_app = typer.Typer(no_args_is_help=True, help="This node's transparency log and its peers' logs.")
federation_app = typer.Typer(no_args_is_help=True, help="Node-to-node delivery and link tests.")


PeersOpt = Annotated[list[str] | None, typer.Option("--peer", help="Only these peers (default: all).")]


def _chosen_peers(node: Node, names: list[str] | None) -> list[NodeCard]:
    """The pinned peers named, or all of them."""
    with node.store.read_session() as session:
        return [node.trust.by_name(session, p) for p in names] if names else node.trust.peers(session)


@ledger_app.command("status")
def ledger_status(home: HomeOpt = None) -> None:
    """Tree size, root, latest checkpoint, cosignatures, and what we witnessed of each peer."""
    node = open_node(home)
    with node.store.session() as session:
        state = node.ledger.state(session)
        latest = node.ledger.latest_checkpoint(session)
        cosigs = node.ledger.cosignatures(session, latest.size) if latest is not None else []
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
def ledger_checkpoint(
    raw: Annotated[bool, typer.Option("--raw", help="Print the signed note itself (C2SP format).")] = False,
    home: HomeOpt = None,
) -> None:
    """Sign a checkpoint of the current tree now (the server also does so periodically)."""
    from airrc.ledger.checkpoint import parse_checkpoint_text

    node = open_node(home)
    with node.store.session() as session:
        note = node.ledger.checkpoint(session)
    if raw:
        sys.stdout.write(note.serialise())
        return
    checkpoint = parse_checkpoint_text(note.text)
    out.print(f"checkpoint of [bold]{checkpoint.origin}[/bold]", highlight=False)
    out.print(f"size {checkpoint.size}, root {base64.b64encode(checkpoint.root).decode()}", highlight=False)
    signers = ", ".join(f"{s.name} ({s.key_id.hex()})" for s in note.signatures)
    out.print(f"signed by {len(note.signatures)} key(s): {signers} (Ed25519, ML-DSA-65); --raw for the note")


@ledger_app.command("verify")
def ledger_verify(home: HomeOpt = None) -> None:
    """Recompute every entry, leaf, node and root from storage; check every checkpoint and cosignature."""
    from rich.progress import Progress as RichProgress

    node = open_node(home)
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

    from airrc.federation.log_audit import audit_peer

    node = open_node(home)
    with node.store.session() as session:
        card = node.trust.by_name(session, peer)
    with httpx.Client() as client:
        result = audit_peer(node.store.session, node.witness, card, client)
    out.print(f"[green]consistent[/green]: {card.name} at size {result.checkpoint.size}, cosigned")


@ledger_app.command("publish")
def ledger_publish(
    peer: PeersOpt = None,
    home: HomeOpt = None,
) -> None:
    """Ask peers to witness our latest checkpoint (C2SP add-checkpoint) and keep their cosignatures."""

    from airrc.federation.log_audit import request_cosignature

    node = open_node(home)
    cards = _chosen_peers(node, peer)
    failures = 0
    with httpx.Client() as client:
        for card in cards:
            try:
                result = request_cosignature(node.store.session, node.ledger, card, client)
            except Error as exc:
                failures += 1
                err.print(f"{card.name}: {exc.diagnostics()}", markup=False)
                continue
            when = datetime.fromtimestamp(result.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            out.print(f"{card.name}: cosigned at {when}")
    if failures:
        raise typer.Exit(1)


@ledger_app.command("gossip")
def ledger_gossip(
    peer: PeersOpt = None,
    home: HomeOpt = None,
) -> None:
    """Compare the checkpoints peers cosigned with the ones we were shown; a split view is alerted.

    Exits 1 when a log showed different trees to different witnesses (``ledger.split_view``).
    """
    from airrc.federation.log_audit import gossip_with

    node = open_node(home)
    cards = _chosen_peers(node, peer)
    split = failures = 0
    with httpx.Client() as client:
        for card in cards:
            try:
                verdicts = gossip_with(node.store.session, node.witness, node.ledger, node.card, card, client)
            except Error as exc:
                failures += 1
                err.print(f"{card.name}: {exc.diagnostics()}", markup=False)
                continue
            for v in verdicts:
                if v.outcome == "split_view":
                    split += 1
                    err.print(f"error[ledger.split_view] {v.detail}", markup=False)
                elif v.outcome == "agrees":
                    out.print(
                        f"{card.name} was shown {v.log_name} at size {v.size}: [green]consistent[/green]"
                    )
            if not verdicts:
                out.print(f"{card.name} has cosigned no checkpoint of a log we know")
    if split or failures:
        raise typer.Exit(1)


@ledger_app.command("check-received")
def ledger_check_received(
    peer: PeersOpt = None,
    home: HomeOpt = None,
) -> None:
    """Prove every statement a peer sent us included in the checkpoint of its log we last cosigned.

    Exits 1 when a peer's log lacks one it sent (``ledger.not_in_log``, alerted) or a peer cannot be asked.
    """
    from airrc.federation.log_audit import check_received

    node = open_node(home)
    cards = _chosen_peers(node, peer)
    missing = failures = 0
    with httpx.Client() as client:
        for card in cards:
            checked = 0
            while True:
                report = check_received(node.store.session, node.witness, card, client)
                checked += report.checked
                missing += len(report.missing)
                for item in report.missing:
                    err.print(
                        f"error[ledger.not_in_log] {card.name}'s log of {report.size} entries does not include "
                        f"statement {item.statement_id} ({item.kind}, seq {item.seq}) it sent us",
                        markup=False,
                    )
                if report.left == 0 or report.checked == 0:
                    break
            if report.size == 0:
                out.print(
                    f"{card.name}: no checkpoint of its log cosigned yet (`airrc ledger audit --peer ...`)"
                )
            elif report.left:
                failures += 1
                err.print(
                    f"{card.name}: {report.left} statement(s) left unchecked: it did not answer", markup=False
                )
            else:
                out.print(
                    f"{card.name}: {checked} statement(s) newly proven in its log, all through seq "
                    f"{report.through} (its checkpoint of {report.size} entries that we cosigned)"
                )
    if missing or failures:
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
    from airrc.worker import wait_for_receipts

    node = open_node(home)
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
