"""Human control of protected decisions: pending, votes, reveal, audits."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from airrc.cli._common import (
    HomeOpt,
    err,
    open_node,
    out,
    read_file,
    read_json,
    read_password,
)
from airrc.errors import ControlError, Error, Forbidden

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from airrc.node import Node

control_app = typer.Typer(no_args_is_help=True, help="Human control of protected decisions.")


def _decisions_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("id", "category", "action", "state", "approvals", "denials", "quorum", "expires")
    for d in rows:
        action = json.dumps(d.get("request", {}).get("action"), ensure_ascii=False)
        table.add_row(
            str(d["id"]),
            str(d["category"]),
            action if len(action) <= 60 else action[:59] + "…",
            str(d["state"]),
            str(d["approvals"]),
            str(d["denials"]),
            str(d["quorum"]),
            str(d["expires_at"]),
        )
    return table


def _with_request(node: Node, session: Session, decision: Any) -> dict[str, Any]:
    """A decision with what it asks, opened for this node's own approvers: the action and rationale
    (checked against the logged commitments)."""
    request = node.statements.get(session, decision.request_statement)
    opened = node.control.reveal(session, request)
    return {**decision.to_json(), "request": {"action": opened["action"], "rationale": opened["rationale"]}}


@control_app.command("pending")
def control_pending(home: HomeOpt = None) -> None:
    """Decisions waiting for approvers (expired ones are closed first: no answer means no)."""
    node = open_node(home)
    with node.store.session() as session:
        node.control.settle_expired(session)
        rows = [_with_request(node, session, d) for d in node.control.decisions(session, state="pending")]
    out.print(_decisions_table(rows))


@control_app.command("show")
def control_show(decision_id: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """One decision, with its outcome statement."""
    node = open_node(home)
    with node.store.session() as session:
        node.control.settle_expired(session)
        decision = _with_request(node, session, node.control.get(session, decision_id))
        refusals = [(r.principal, r.action, r.code) for r in node.control.refusals(session, decision_id)]
    sys.stdout.write(json.dumps({**decision, "refusals": refusals}, indent=2) + "\n")


def _vote(decision_id: str, user: str, reason: str, approve: bool, home: Path | None) -> None:
    node = open_node(home)
    password = read_password()
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
    """The proof of what a decision asked, to hand to someone outside this node (an auditor, a peer): its
    sealed action, rationale and salt, checked against the commitments in the log. (Approvers here see the
    request in `control show` and `control pending`.)"""
    node = open_node(home)
    with node.store.read_session() as session:
        decision = node.control.get(session, decision_id)
        request = node.statements.get(session, decision.request_statement)
        revealed = node.control.reveal(session, request)
    sys.stdout.write(json.dumps(revealed, indent=2, ensure_ascii=False) + "\n")


@control_app.command("request")
def control_request(
    service: Annotated[str, typer.Option("--as", help="The requesting service principal (an AI system).")],
    category: Annotated[str, typer.Option(help="A decision category of this node's catalog.")],
    action: Annotated[str, typer.Option(help="The action as a JSON object: a file, or - for stdin.")],
    rationale: Annotated[str, typer.Option(help="Why the system proposes it.")],
    confidence: Annotated[float, typer.Option(help="The system's confidence, 0 to 1.")],
    evidence: Annotated[
        list[str] | None, typer.Option("--evidence", help="A statement id backing it; repeat.")
    ] = None,
    expiry_seconds: Annotated[int | None, typer.Option(help="At most the category's expiry.")] = None,
    home: HomeOpt = None,
) -> None:
    """Ask for a protected decision as a service principal, as the REST API and SDK do; prints the decision
    and the salt the requester keeps to check the authorization offline."""
    from airrc.principals.accounts import AuthenticatedPrincipal

    node = open_node(home)
    doc = read_json(action, node.settings.limits.max_request_bytes)
    if not isinstance(doc, dict):
        raise ControlError("the action is a JSON object", code="control.bad_request")
    with node.store.read_session() as session:
        row = node.principals.get(session, service)
    if row.kind != "service" or not row.active:
        raise Forbidden(f"{service} is not an active service principal", code="control.not_a_requester")
    principal = AuthenticatedPrincipal(row.id, row.username, "service", row.role_set, "cli")
    try:
        with node.store.session() as session:
            receipt = node.control.request(
                session,
                principal,
                category_id=category,
                action=doc,
                rationale=rationale,
                confidence=confidence,
                evidence=list(evidence or ()),
                expiry_seconds=expiry_seconds,
            )
    except Error as exc:
        node.control.refuse(service, "request", exc.code, None)
        raise
    sys.stdout.write(
        json.dumps({"decision": receipt.decision.to_json(), "salt": receipt.salt}, indent=2) + "\n"
    )


DecisionArg = Annotated[str, typer.Argument()]
ApproverOpt = Annotated[str, typer.Option("--user", help="The approver; their password on stdin.")]
ReasonOpt = Annotated[str, typer.Option(help="Why.")]


@control_app.command("approve")
def control_approve(
    decision_id: DecisionArg, user: ApproverOpt, reason: ReasonOpt, home: HomeOpt = None
) -> None:
    """Approve, signed with your personal key (password read from stdin)."""
    _vote(decision_id, user, reason, True, home)


@control_app.command("deny")
def control_deny(
    decision_id: DecisionArg, user: ApproverOpt, reason: ReasonOpt, home: HomeOpt = None
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

    node = open_node(home)
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
    since: Annotated[
        datetime | None, typer.Option("--from", help="First record issued at or after this time (UTC).")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Close the control record with an audit mark, have peers cosign a checkpoint covering it, and write a
    bundle (commitments, proofs, checkpoint) a peer can verify without seeing details and check for gaps."""
    import httpx

    from airrc.control.audit import export_bundle
    from airrc.federation.log_audit import request_cosignature

    node = open_node(home)
    with node.store.session() as session:
        node.control.mark_export(session, _utc(since))
    with node.store.session() as session:
        peers = node.trust.peers(session)
    with httpx.Client() as client:
        for card in peers:
            try:
                request_cosignature(node.store.session, node.ledger, card, client)
            except Error as exc:
                err.print(f"{card.name} did not cosign: {exc.diagnostics()}", markup=False)
    with node.store.session() as session:
        bundle = export_bundle(session, log=node.ledger, chain=node.card_chain())
    output.write_text(json.dumps(bundle, indent=1, sort_keys=True))
    out.print(f"wrote {len(bundle['statements'])} statement(s) to {output}")


@control_app.command("verify-audit")
def control_verify_audit(file: Annotated[Path, typer.Argument()], home: HomeOpt = None) -> None:
    """Verify a peer's audit bundle against its pinned card and a checkpoint this node cosigned, check that
    no record of its range is missing, and audit it."""
    from airrc.control.audit import verify_bundle
    from airrc.crypto.canonical import parse_json

    node = open_node(home)
    limit = node.settings.limits.max_input_file_bytes
    doc = parse_json(read_file(file, limit), max_bytes=limit)
    issuer = doc.get("cards", [{}])[0].get("id") if isinstance(doc, dict) and doc.get("cards") else None
    with node.store.read_session() as session:
        pinned = node.trust.chain(session, issuer) if isinstance(issuer, str) else []
    verified = verify_bundle(
        doc, pinned_chain=pinned, witness=node.card, max_bytes=node.settings.limits.max_statement_bytes
    )
    c = verified.coverage
    out.print(
        f"bundle from [bold]{verified.card.name}[/bold] verified: signatures, log inclusion, a checkpoint of "
        f"{c.size} we cosigned; control records {c.first}..{c.last} complete "
        f"(from {c.since or 'the first record'} to the audit mark of {c.exported_at})"
    )
    _print_audit(verified.report)
