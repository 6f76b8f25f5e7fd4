"""Verifying a peer's attestation end to end (``airrc eval verify``): signatures, plan, catalog, inclusion
in the attester's log, the seed (first checkpoint containing the plan that the plan's witness cosigned),
the evaluation log and every verdict recomputed from it, and optionally a re-run on this node."""

from __future__ import annotations

import base64
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict, Unpack

import httpx
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from airrc.crypto.trust import NodeCard
from airrc.errors import Error, FederationError, LedgerError, NotFound, StandardsError
from airrc.federation.log_audit import (
    fetch_checkpoint,
    fetch_consistency_proof,
    fetch_first_cosignature,
    fetch_verified_inclusion,
)
from airrc.federation.peer_client import PeerClient
from airrc.ledger.checkpoint import Checkpoint, SignedNote, parse_note, verify_checkpoint, verify_cosignature
from airrc.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from airrc.ledger.proofs import decode_hashes
from airrc.standards.attestation import (
    AttestationBody,
    RerunResult,
    check_against_catalog,
    check_log,
    check_rerun,
    check_results,
)
from airrc.standards.context import StandardsContext
from airrc.standards.plan import PlanBody, derive_seed
from airrc.standards.scoring import RequirementScore, parse_canonical_log, score_requirements
from airrc.standards.tables import VerificationRow
from airrc.statements import SignedStatement, verify_statement
from airrc.store.db import utcnow
from airrc.store.statements import StatementRow

if TYPE_CHECKING:
    from inspect_ai.model import Model

__all__ = [
    "LOG_PATH",
    "Verification",
    "VerifyOptions",
    "attestation_and_plan",
    "check_cosignature",
    "verify_attestation",
]

LOG_PATH = "/federation/v1/standards/logs/"
HTTP_TIMEOUT = 60.0


@dataclass
class Verification:
    attestation: SignedStatement
    body: AttestationBody
    plan: PlanBody
    checks: list[str] = field(default_factory=list)
    scores: list[RequirementScore] = field(default_factory=list)
    rerun: list[RerunResult] | None = None
    rerun_log_digest: str | None = None


class VerifyOptions(TypedDict, total=False):
    """How to verify: the log given (else fetched from the attester), whether to re-run the plan here and
    with which model (else the plan's), and where to report progress."""

    log_bytes: bytes | None
    rerun: bool
    model: str | Model | None
    progress: Callable[[str], None] | None


def verify_attestation(
    ctx: StandardsContext,
    attestation_id: str,
    *,
    client: httpx.Client,
    **options: Unpack[VerifyOptions],
) -> Verification:
    """Check a peer's attestation end to end; return only when every check held, else raise.

    Signatures; the plan and its digest; catalog and suites; inclusion of plan and attestation in the
    attester's checkpointed log; the seed checkpoint (signed by the attester, first cosigned by the
    plan's witness, containing the plan, consistent with the current log) and the seed; the log (its
    digest, the drawn samples, the judgements) and every verdict and the roll-up recomputed from it; and
    with ``rerun``, a fresh run of the plan on this node within the stated tolerance.
    """
    log_bytes, rerun, model = options.get("log_bytes"), options.get("rerun", False), options.get("model")
    say = options.get("progress") or (lambda _msg: None)
    with ctx.store.read_session() as session:
        signed, plan_signed = attestation_and_plan(ctx, session, attestation_id)
        attester = ctx.trust.current(session, signed.statement.issuer)
    body = AttestationBody.model_validate(signed.statement.body)
    plan = PlanBody.model_validate(plan_signed.statement.body)
    result = Verification(signed, body, plan)
    result.checks.append("signatures")
    if plan_signed.digest().hex() != body.plan_digest or plan_signed.statement.seq - 1 != body.plan_index:
        raise StandardsError("the attestation names another plan", code="standards.plan_digest_mismatch")
    result.checks.append("plan")
    check_against_catalog(body, plan, ctx.catalog, ctx.suites)
    result.checks.append("catalog")
    say("checking the attester's log")
    current = _check_in_log(ctx, client, attester, [plan_signed, signed])
    result.checks.append("ledger_inclusion")
    _check_seed(
        ctx, client=client, attester=attester, plan_signed=plan_signed, plan=plan, body=body, current=current
    )
    result.checks.append("plan_before_run")
    if log_bytes is None:
        say(f"fetching the evaluation log from {attester.name}")
        log_bytes = _fetch_log(ctx, client, attester, attestation_id)
    log = parse_canonical_log(log_bytes, max_bytes=ctx.max_log_bytes)
    check_log(log, attestation=body, plan=plan, plan_id=plan_signed.statement.id, suites=ctx.suites)
    result.checks.append("log")
    result.scores = check_results(body, plan, ctx.catalog, log)
    result.checks.append("verdicts")
    if rerun:
        say("re-running the plan on this node")
        result.rerun, result.rerun_log_digest = _rerun(ctx, body, plan, plan_signed.statement.id, model)
        result.checks.append("rerun")
    with ctx.store.session() as session:
        row = session.get(VerificationRow, attestation_id)
        if row is None:
            row = VerificationRow(attestation_id=attestation_id, attester=attester.id)
            session.add(row)
        row.checks = json.dumps(result.checks)
        row.rerun = None if result.rerun is None else json.dumps([r.model_dump() for r in result.rerun])
        row.rerun_log_digest = result.rerun_log_digest
        row.rerun_ok = result.rerun is not None
        row.verified_at = utcnow()
    return result


def attestation_and_plan(
    ctx: StandardsContext, session: Session, attestation_id: str
) -> tuple[SignedStatement, SignedStatement]:
    row = session.scalar(select(StatementRow).where(StatementRow.statement_id == attestation_id))
    if row is None or row.kind != "standards.attestation":
        raise NotFound(f"no attestation {attestation_id}", code="standards.unknown_attestation")
    signed = _verified(ctx, row)
    try:
        body = AttestationBody.model_validate(signed.statement.body)
    except ValidationError as exc:
        raise StandardsError("the attestation's body is malformed", code="standards.bad_attestation") from exc
    plan_row = session.scalar(select(StatementRow).where(StatementRow.statement_id == body.plan))
    if plan_row is None or plan_row.kind != "standards.plan":
        raise StandardsError(
            f"the attestation's plan {body.plan} has not reached this node", code="standards.unknown_plan"
        )
    plan_signed = _verified(ctx, plan_row)
    if plan_signed.statement.issuer != signed.statement.issuer:
        raise StandardsError("the plan was registered by another node", code="standards.plan_mismatch")
    return signed, plan_signed


def _verified(ctx: StandardsContext, row: StatementRow) -> SignedStatement:
    signed = row.signed(max_bytes=ctx.max_statement_bytes)
    if signed.digest().hex() != row.digest:
        raise StandardsError("a stored statement does not match its digest", code="standards.tampered")
    return verify_statement(
        signed,
        keyring=ctx.trust,
        for_node=ctx.node_id,
        max_bytes=ctx.max_statement_bytes,
        clock_skew=ctx.clock_skew,
    )


def _check_in_log(
    ctx: StandardsContext, client: httpx.Client, attester: NodeCard, items: list[SignedStatement]
) -> tuple[SignedNote, Checkpoint]:
    if attester.id == ctx.node_id:
        raise StandardsError("a node does not verify its own attestation", code="standards.own_attestation")
    note, checkpoint = fetch_checkpoint(client, attester)
    for signed in items:
        try:
            fetch_verified_inclusion(client, attester, signed.statement.seq - 1, signed.digest(), checkpoint)
        except (LedgerError, FederationError) as exc:
            raise StandardsError(
                f"statement {signed.statement.id} is not proven in {attester.name}'s log: {exc.message}",
                code="standards.not_in_log" if exc.code != "ledger.not_yet_checkpointed" else exc.code,
            ) from exc
    return note, checkpoint


def _check_seed(
    ctx: StandardsContext,
    *,
    client: httpx.Client,
    attester: NodeCard,
    plan_signed: SignedStatement,
    plan: PlanBody,
    body: AttestationBody,
    current: tuple[SignedNote, Checkpoint],
) -> None:
    seed = body.seed_checkpoint
    try:
        note = parse_note(seed.note)
        checkpoint = verify_checkpoint(note, attester)
    except (LedgerError, FederationError) as exc:
        raise StandardsError(
            "the seed checkpoint is not signed by the attester", code="standards.bad_seed"
        ) from exc
    if checkpoint.size != seed.size or seed.size <= body.plan_index:
        raise StandardsError("the seed checkpoint does not contain the plan", code="standards.bad_seed")
    try:
        verify_inclusion(
            leaf_hash(plan_signed.digest()),
            body.plan_index,
            checkpoint.size,
            decode_hashes(list(seed.plan_proof)),
            checkpoint.root,
        )
    except (LedgerError, FederationError) as exc:
        raise StandardsError("the plan is not in the seed checkpoint", code="standards.bad_seed") from exc
    _current_note, now = current
    if now.size < checkpoint.size:
        raise StandardsError(
            "the attester's log is smaller than its seed checkpoint", code="standards.bad_seed"
        )
    if now.size > checkpoint.size:
        try:
            proof = fetch_consistency_proof(client, attester, checkpoint.size, now.size)
            verify_consistency(checkpoint.size, now.size, checkpoint.root, now.root, proof)
        except (LedgerError, FederationError) as exc:
            raise StandardsError(
                "the seed checkpoint is not consistent with the attester's current log",
                code="standards.bad_seed",
            ) from exc
    with ctx.store.read_session() as session:
        witness = ctx.trust.current(session, plan.witness)
    check_cosignature(note, seed.cosignature, witness)
    first = _first_cosignature(ctx, client, witness, attester.origin, body.plan_index)
    if first != (seed.size, checkpoint.root, seed.cosignature):
        raise StandardsError(
            f"the seed is not from the first checkpoint containing the plan that {witness.name} cosigned",
            code="standards.seed_not_first",
        )
    if derive_seed(plan_signed.statement.id, checkpoint.root, seed.cosignature) != body.seed:
        raise StandardsError("the seed does not follow from the seed checkpoint", code="standards.bad_seed")


def _first_cosignature(
    ctx: StandardsContext, client: httpx.Client, witness: NodeCard, origin: str, above: int
) -> tuple[int, bytes, str]:
    if witness.id == ctx.node_id:
        with ctx.store.read_session() as session:
            row = ctx.witness.first_cosigned(session, origin, above)
            return row.size, row.root, row.line
    try:
        return fetch_first_cosignature(client, witness, origin, above)
    except (LedgerError, FederationError) as exc:
        raise StandardsError(
            f"cannot ask the plan's witness {witness.name} which cosignature came first: {exc.message}",
            code="standards.witness_unavailable",
        ) from exc


def _fetch_log(ctx: StandardsContext, client: httpx.Client, attester: NodeCard, attestation_id: str) -> bytes:
    try:
        peers = PeerClient(client, node_id=ctx.node_id, key=ctx.identity.signer, max_age=ctx.request_max_age)
        doc = peers.signed_get(attester, f"{LOG_PATH}{attestation_id}", timeout=HTTP_TIMEOUT)
    except Error as exc:
        raise StandardsError(
            f"cannot fetch the evaluation log from {attester.name}: {exc.message}",
            code="standards.log_unavailable",
        ) from exc
    try:
        packed = base64.b64decode(str(doc["log"]), validate=True)
    except (KeyError, ValueError) as exc:
        raise StandardsError(f"{attester.name} sent a malformed log", code="standards.bad_log") from exc
    return _gunzip(packed, ctx.max_log_bytes)


def _rerun(
    ctx: StandardsContext, body: AttestationBody, plan: PlanBody, plan_id: str, model: str | Model | None
) -> tuple[list[RerunResult], str]:
    from airrc.standards.llama import model_digest
    from airrc.standards.runner import run_plan

    if model is None and model_digest(plan.model) != plan.model_digest:
        raise StandardsError(
            "this node's copy of the model differs from the attested weights",
            code="standards.model_mismatch",
        )
    output = run_plan(
        plan_id=plan_id,
        plan=plan,
        seed=body.seed,
        log_dir=ctx.evals_dir / "reruns" / plan_id,
        model=model,
    )
    scores = score_requirements(ctx.catalog, [r.id for r in plan.requirements], output.log.samples)
    tolerances = check_rerun(body, scores)
    return [
        RerunResult(
            requirement=s.requirement,
            n=s.n,
            successes=s.successes,
            difference=round(tolerances[s.requirement].difference, 6) if s.requirement in tolerances else 0.0,
            allowed=round(tolerances[s.requirement].allowed, 6) if s.requirement in tolerances else 0.0,
        )
        for s in scores
    ], output.log.digest


def check_cosignature(note: SignedNote, line: str, witness: NodeCard) -> None:
    try:
        cosigned = parse_note(note.text + "\n" + line.rstrip("\n") + "\n")
    except (LedgerError, FederationError) as exc:
        raise StandardsError("the seed cosignature line is malformed", code="standards.bad_seed") from exc
    for signature in cosigned.signatures:
        if signature.line() != line:
            continue
        try:
            verify_cosignature(note, signature, witness)
        except (LedgerError, FederationError) as exc:
            raise StandardsError(
                f"the seed cosignature is not {witness.name}'s", code="standards.bad_seed"
            ) from exc
        return
    raise StandardsError("the seed cosignature line is malformed", code="standards.bad_seed")


def _gunzip(packed: bytes, limit: int) -> bytes:
    try:
        data = gzip.GzipFile(fileobj=io.BytesIO(packed)).read(limit + 1)
    except (OSError, EOFError) as exc:
        raise StandardsError("the evaluation log is not valid gzip", code="standards.bad_log") from exc
    if len(data) > limit:
        raise StandardsError("the evaluation log is over the size limit", code="standards.log_too_large")
    return data
