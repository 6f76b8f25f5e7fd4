"""Standards on a node: plans, runs, attestations, verification of peers' attestations, endorsements.

Storage and HTTP live here; what is checked lives in the pure modules (:mod:`.plan`, :mod:`.scoring`,
:mod:`.attestation`). The canonical log of each run is kept compressed in ``standards_runs`` and served to
pinned peers over the signed federation API; inspect's own logs stay under ``<home>/evals/<plan>/``.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from airrc.crypto.keys import NodeIdentity
from airrc.crypto.trust import NodeCard
from airrc.errors import (
    Conflict,
    Error,
    FederationError,
    LedgerError,
    NotFound,
    StandardsError,
    first_problem,
)
from airrc.federation.log_audit import (
    fetch_checkpoint,
    fetch_consistency_proof,
    fetch_first_cosignature,
    fetch_verified_inclusion,
    request_cosignature,
)
from airrc.federation.peer_client import PeerClient
from airrc.ledger.checkpoint import (
    Checkpoint,
    SignedNote,
    parse_note,
    verify_checkpoint,
    verify_cosignature,
)
from airrc.ledger.log import LedgerCheckpoint, TransparencyLog
from airrc.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from airrc.ledger.proofs import decode_hashes, encode_hashes
from airrc.ledger.witness import Witness
from airrc.standards.attestation import (
    AttestationBody,
    EndorsementBody,
    RequirementResult,
    RerunResult,
    SeedCheckpoint,
    check_against_catalog,
    check_log,
    check_rerun,
    check_results,
)
from airrc.standards.catalog import Catalog, rollup
from airrc.standards.plan import Generation, PlanBody, derive_seed, make_plan
from airrc.standards.scoring import (
    CANONICAL_FORMAT,
    CanonicalLog,
    RequirementScore,
    parse_canonical_log,
    score_requirements,
)
from airrc.standards.suites import SuiteCatalog
from airrc.standards.tables import RunRow, VerificationRow
from airrc.statements import PUBLIC, SignedStatement, verify_statement
from airrc.store.db import Store, utcnow
from airrc.store.statements import StatementLog, StatementRow
from airrc.trust.peers import TrustStore

if TYPE_CHECKING:
    from inspect_ai.model import Model

__all__ = ["RunRow", "StandardsService", "Verification", "VerificationRow"]

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


@dataclass(frozen=True)
class SeedInfo:
    seed: str
    size: int
    note: str
    cosignature: str


class StandardsService:
    def __init__(
        self,
        *,
        node_id: str,
        identity: NodeIdentity,
        store: Store,
        statements: StatementLog,
        trust: TrustStore,
        log: TransparencyLog,
        witness: Witness,
        catalog: Catalog,
        suites: SuiteCatalog,
        evals_dir: Path,
        max_statement_bytes: int,
        max_log_bytes: int,
        request_max_age: timedelta,
        clock_skew: timedelta,
    ) -> None:
        self.node_id = node_id
        self.identity = identity
        self.store = store
        self.statements = statements
        self.trust = trust
        self.log = log
        self.witness = witness
        self.catalog = catalog
        self.suites = suites
        self.evals_dir = evals_dir
        self.max_statement_bytes = max_statement_bytes
        self.max_log_bytes = max_log_bytes
        self.request_max_age = request_max_age
        self.clock_skew = clock_skew

    # -- planning ------------------------------------------------------------------------------------------

    def plan(
        self,
        *,
        model: str,
        suites: list[str],
        witness: str | None = None,
        requirements: list[str] | None = None,
        languages: tuple[Literal["en", "zh"], ...] = ("en", "zh"),
        samples_per_kind: int | None = None,
        epochs: int = 1,
        max_tokens: int = 96,
        temperature: float = 0.0,
        grader: str | None = None,
    ) -> SignedStatement:
        """Register an evaluation: a signed, logged ``standards.plan``, before anything runs."""
        from airrc.standards.llama import model_digest

        with self.store.session() as session:
            witness_card = self._witness_card(session, witness)
            try:
                body = make_plan(
                    self.catalog,
                    self.suites,
                    model=model,
                    suite_names=suites,
                    witness=witness_card.id,
                    requirement_ids=requirements,
                    model_digest=model_digest(model),
                    languages=languages,
                    generation=Generation(temperature=temperature, max_tokens=max_tokens),
                    epochs=epochs,
                    samples_per_kind=samples_per_kind,
                    grader=grader,
                )
            except ValidationError as exc:
                where, message = first_problem(exc)
                raise StandardsError(
                    f"the plan is invalid at {where}: {message}",
                    code="standards.bad_plan",
                ) from exc
            return self.statements.issue(
                session, kind="standards.plan", audience=PUBLIC, body=body.model_dump(mode="json")
            )

    def _witness_card(self, session: Session, witness: str | None) -> NodeCard:
        peers = self.trust.peers(session)
        if witness is None:
            if len(peers) != 1:
                raise StandardsError(
                    "name the peer whose cosignature will seed the run (--witness)",
                    code="standards.no_witness",
                )
            return peers[0]
        for card in peers:
            if witness in (card.id, card.name):
                return card
        raise StandardsError(f"no pinned peer {witness!r} to witness the plan", code="standards.no_witness")

    def _own_plan(self, session: Session, plan_id: str) -> tuple[SignedStatement, PlanBody, int]:
        row = session.scalar(select(StatementRow).where(StatementRow.statement_id == plan_id))
        if row is None or row.kind != "standards.plan":
            raise NotFound(f"no plan {plan_id}", code="standards.unknown_plan")
        if row.issuer != self.node_id:
            raise StandardsError("this plan was registered by another node", code="standards.not_our_plan")
        signed = row.signed(max_bytes=self.max_statement_bytes)
        return signed, PlanBody.model_validate(signed.statement.body), row.seq - 1

    # -- seed ------------------------------------------------------------------------------------------------

    def seed(self, plan_id: str, client: httpx.Client) -> SeedInfo:
        """The run's seed: from the first checkpoint containing the plan that the plan's witness cosigned.

        If the witness has cosigned none yet, sign a checkpoint now and ask it (C2SP add-checkpoint).
        """
        with self.store.read_session() as session:
            _signed, plan, index = self._own_plan(session, plan_id)
            witness = self.trust.current(session, plan.witness)
        try:
            size, root, line = fetch_first_cosignature(client, witness, self.log.origin, index)
        except (LedgerError, FederationError) as exc:
            if exc.code != "ledger.not_cosigned":
                raise StandardsError(
                    f"cannot reach the plan's witness {witness.name}: {exc.message}", code="standards.no_seed"
                ) from exc
            try:
                request_cosignature(self.store.session, self.log, witness, client)
                size, root, line = fetch_first_cosignature(client, witness, self.log.origin, index)
            except (LedgerError, FederationError) as again:
                raise StandardsError(
                    f"the plan is not yet in a checkpoint cosigned by {witness.name}: {again.message}",
                    code="standards.no_seed",
                ) from again
        with self.store.read_session() as session:
            stored = session.get(LedgerCheckpoint, size)
            if stored is None or stored.root != root:
                raise StandardsError(
                    f"{witness.name} reports a cosigned tree of size {size} that this log never signed",
                    code="standards.bad_seed",
                )
            note = parse_note(stored.note)
        _check_cosignature(note, line, witness)
        return SeedInfo(derive_seed(plan_id, root, line), size, stored.note, line)

    # -- running and attesting -------------------------------------------------------------------------------

    def run(
        self,
        plan_id: str,
        *,
        client: httpx.Client,
        model: str | Model | None = None,
        display: str = "none",
    ) -> RunRow:
        """Run a registered plan with its derived seed; keep the canonical log and the scores."""
        from airrc.standards.llama import model_digest
        from airrc.standards.runner import inspect_version, run_plan

        with self.store.read_session() as session:
            _signed, plan, _index = self._own_plan(session, plan_id)
            existing = session.get(RunRow, plan_id)
            if existing is not None and existing.attestation_id is not None:
                raise Conflict("this plan is already attested", code="standards.already_attested")
        if isinstance(model, str) and model != plan.model:
            raise StandardsError(
                f"the plan registered model {plan.model}, not {model}", code="standards.model_mismatch"
            )
        if model is None and model_digest(plan.model) != plan.model_digest:
            raise StandardsError(
                "the model's weights differ from those the plan registered", code="standards.model_mismatch"
            )
        seed = self.seed(plan_id, client)
        log_dir = self.evals_dir / plan_id
        output = run_plan(
            plan_id=plan_id, plan=plan, seed=seed.seed, log_dir=log_dir, model=model, display=display
        )
        scores = score_requirements(self.catalog, [r.id for r in plan.requirements], output.log.samples)
        with self.store.session() as session:
            row = session.get(RunRow, plan_id)
            if row is None:
                row = RunRow(plan_id=plan_id)
                session.add(row)
            row.model, row.seed, row.seed_size = plan.model, seed.seed, seed.size
            row.seed_note, row.seed_cosignature = seed.note, seed.cosignature
            row.log_dir, row.log_gz = str(log_dir), gzip.compress(output.log.to_bytes(), mtime=0)
            row.log_digest = output.log.digest
            row.results = json.dumps([s.to_json() for s in scores])
            row.inspect_ai_version = inspect_version()
            row.attestation_id, row.finished_at = None, utcnow()
            session.flush()
            session.expunge(row)
        return row

    def attest(self, plan_id: str) -> SignedStatement:
        """Issue the ``standards.attestation`` of a finished run."""
        with self.store.session() as session:
            plan_signed, plan, index = self._own_plan(session, plan_id)
            row = session.get(RunRow, plan_id)
            if row is None:
                raise StandardsError("run the plan before attesting it", code="standards.not_run")
            if row.attestation_id is not None:
                raise Conflict("this plan is already attested", code="standards.already_attested")
            log = self._stored_log(row)
            results = [RequirementResult.model_validate(r) for r in json.loads(row.results)]
            body = AttestationBody(
                plan=plan_id,
                plan_digest=plan_signed.digest().hex(),
                plan_index=index,
                seed_checkpoint=SeedCheckpoint(
                    note=row.seed_note,
                    cosignature=row.seed_cosignature,
                    size=row.seed_size,
                    plan_proof=tuple(encode_hashes(self.log.inclusion_proof(session, index, row.seed_size))),
                ),
                seed=row.seed,
                model=plan.model,
                model_digest=plan.model_digest,
                catalog_version=self.catalog.version,
                catalog_digest=self.catalog.digest,
                suites=plan.suites,
                inspect_ai_version=row.inspect_ai_version,
                config=plan.generation,
                epochs=plan.epochs,
                samples=len(log.samples),
                results=tuple(results),
                frameworks=rollup(self.catalog, {r.requirement: r.verdict for r in results}),
                log_digest=row.log_digest,
                log_format=CANONICAL_FORMAT,
            )
            signed = self.statements.issue(
                session,
                kind="standards.attestation",
                audience=PUBLIC,
                body=body.model_dump(mode="json"),
                refs=(plan_id,),
            )
            row.attestation_id = signed.statement.id
            # Checkpoint now, so a verifier can prove the attestation in our log at once.
            self.log.checkpoint(session)
            return signed

    def _stored_log(self, row: RunRow) -> CanonicalLog:
        return parse_canonical_log(gzip.decompress(row.log_gz), max_bytes=self.max_log_bytes)

    def log_for(self, attestation_id: str) -> bytes:
        """The canonical log behind one of our attestations (what peers fetch to recompute verdicts)."""
        with self.store.read_session() as session:
            row = session.scalar(select(RunRow).where(RunRow.attestation_id == attestation_id))
            if row is None:
                raise NotFound(
                    f"no attestation {attestation_id} of ours", code="standards.unknown_attestation"
                )
            return gzip.decompress(row.log_gz)

    # -- verification -----------------------------------------------------------------------------------------

    def verify(
        self,
        attestation_id: str,
        *,
        client: httpx.Client,
        log_bytes: bytes | None = None,
        rerun: bool = False,
        model: str | Model | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> Verification:
        """Check a peer's attestation end to end; return only when every check held, else raise.

        Signatures; the plan and its digest; catalog and suites; inclusion of plan and attestation in the
        attester's checkpointed log; the seed checkpoint (signed by the attester, first cosigned by the
        plan's witness, containing the plan, consistent with the current log) and the seed; the log (its
        digest, the drawn samples, the judgements) and every verdict and the roll-up recomputed from it; and
        with ``rerun``, a fresh run of the plan on this node within the stated tolerance.
        """
        say = progress or (lambda _msg: None)
        with self.store.read_session() as session:
            signed, plan_signed = self._attestation_and_plan(session, attestation_id)
            attester = self.trust.current(session, signed.statement.issuer)
        body = AttestationBody.model_validate(signed.statement.body)
        plan = PlanBody.model_validate(plan_signed.statement.body)
        result = Verification(signed, body, plan)
        result.checks.append("signatures")
        if plan_signed.digest().hex() != body.plan_digest or plan_signed.statement.seq - 1 != body.plan_index:
            raise StandardsError("the attestation names another plan", code="standards.plan_digest_mismatch")
        result.checks.append("plan")
        check_against_catalog(body, plan, self.catalog, self.suites)
        result.checks.append("catalog")
        say("checking the attester's log")
        current = self._check_in_log(client, attester, [plan_signed, signed])
        result.checks.append("ledger_inclusion")
        self._check_seed(
            client=client, attester=attester, plan_signed=plan_signed, plan=plan, body=body, current=current
        )
        result.checks.append("plan_before_run")
        if log_bytes is None:
            say(f"fetching the evaluation log from {attester.name}")
            log_bytes = self._fetch_log(client, attester, attestation_id)
        log = parse_canonical_log(log_bytes, max_bytes=self.max_log_bytes)
        check_log(log, attestation=body, plan=plan, plan_id=plan_signed.statement.id, suites=self.suites)
        result.checks.append("log")
        result.scores = check_results(body, plan, self.catalog, log)
        result.checks.append("verdicts")
        if rerun:
            say("re-running the plan on this node")
            result.rerun, result.rerun_log_digest = self._rerun(body, plan, plan_signed.statement.id, model)
            result.checks.append("rerun")
        with self.store.session() as session:
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

    def _attestation_and_plan(
        self, session: Session, attestation_id: str
    ) -> tuple[SignedStatement, SignedStatement]:
        row = session.scalar(select(StatementRow).where(StatementRow.statement_id == attestation_id))
        if row is None or row.kind != "standards.attestation":
            raise NotFound(f"no attestation {attestation_id}", code="standards.unknown_attestation")
        signed = self._verified(row)
        try:
            body = AttestationBody.model_validate(signed.statement.body)
        except ValidationError as exc:
            raise StandardsError(
                "the attestation's body is malformed", code="standards.bad_attestation"
            ) from exc
        plan_row = session.scalar(select(StatementRow).where(StatementRow.statement_id == body.plan))
        if plan_row is None or plan_row.kind != "standards.plan":
            raise StandardsError(
                f"the attestation's plan {body.plan} has not reached this node", code="standards.unknown_plan"
            )
        plan_signed = self._verified(plan_row)
        if plan_signed.statement.issuer != signed.statement.issuer:
            raise StandardsError("the plan was registered by another node", code="standards.plan_mismatch")
        return signed, plan_signed

    def _verified(self, row: StatementRow) -> SignedStatement:
        signed = row.signed(max_bytes=self.max_statement_bytes)
        if signed.digest().hex() != row.digest:
            raise StandardsError("a stored statement does not match its digest", code="standards.tampered")
        return verify_statement(
            signed,
            keyring=self.trust,
            for_node=self.node_id,
            max_bytes=self.max_statement_bytes,
            clock_skew=self.clock_skew,
        )

    def _check_in_log(
        self, client: httpx.Client, attester: NodeCard, items: list[SignedStatement]
    ) -> tuple[SignedNote, Checkpoint]:
        if attester.id == self.node_id:
            raise StandardsError(
                "a node does not verify its own attestation", code="standards.own_attestation"
            )
        note, checkpoint = fetch_checkpoint(client, attester)
        for signed in items:
            try:
                fetch_verified_inclusion(
                    client, attester, signed.statement.seq - 1, signed.digest(), checkpoint
                )
            except (LedgerError, FederationError) as exc:
                raise StandardsError(
                    f"statement {signed.statement.id} is not proven in {attester.name}'s log: {exc.message}",
                    code="standards.not_in_log" if exc.code != "ledger.not_yet_checkpointed" else exc.code,
                ) from exc
        return note, checkpoint

    def _check_seed(
        self,
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
        with self.store.read_session() as session:
            witness = self.trust.current(session, plan.witness)
        _check_cosignature(note, seed.cosignature, witness)
        first = self._first_cosignature(client, witness, attester.origin, body.plan_index)
        if first != (seed.size, checkpoint.root, seed.cosignature):
            raise StandardsError(
                f"the seed is not from the first checkpoint containing the plan that {witness.name} cosigned",
                code="standards.seed_not_first",
            )
        if derive_seed(plan_signed.statement.id, checkpoint.root, seed.cosignature) != body.seed:
            raise StandardsError(
                "the seed does not follow from the seed checkpoint", code="standards.bad_seed"
            )

    def _first_cosignature(
        self, client: httpx.Client, witness: NodeCard, origin: str, above: int
    ) -> tuple[int, bytes, str]:
        if witness.id == self.node_id:
            with self.store.read_session() as session:
                row = self.witness.first_cosigned(session, origin, above)
                return row.size, row.root, row.line
        try:
            return fetch_first_cosignature(client, witness, origin, above)
        except (LedgerError, FederationError) as exc:
            raise StandardsError(
                f"cannot ask the plan's witness {witness.name} which cosignature came first: {exc.message}",
                code="standards.witness_unavailable",
            ) from exc

    def _fetch_log(self, client: httpx.Client, attester: NodeCard, attestation_id: str) -> bytes:
        try:
            peers = PeerClient(
                client, node_id=self.node_id, key=self.identity.ed25519_key, max_age=self.request_max_age
            )
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
        return _gunzip(packed, self.max_log_bytes)

    def _rerun(
        self, body: AttestationBody, plan: PlanBody, plan_id: str, model: str | Model | None
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
            log_dir=self.evals_dir / "reruns" / plan_id,
            model=model,
        )
        scores = score_requirements(self.catalog, [r.id for r in plan.requirements], output.log.samples)
        tolerances = check_rerun(body, scores)
        return [
            RerunResult(
                requirement=s.requirement,
                n=s.n,
                successes=s.successes,
                difference=round(tolerances[s.requirement].difference, 6)
                if s.requirement in tolerances
                else 0.0,
                allowed=round(tolerances[s.requirement].allowed, 6) if s.requirement in tolerances else 0.0,
            )
            for s in scores
        ], output.log.digest

    def endorse(self, attestation_id: str) -> SignedStatement:
        """Countersign a peer's attestation this node verified: a ``standards.endorsement`` statement."""
        with self.store.session() as session:
            verification = session.get(VerificationRow, attestation_id)
            if verification is None:
                raise StandardsError(
                    "verify the attestation before endorsing it", code="standards.not_verified"
                )
            if verification.endorsement_id is not None:
                raise Conflict("this attestation is already endorsed", code="standards.already_endorsed")
            signed, _plan = self._attestation_and_plan(session, attestation_id)
            rerun = None if verification.rerun is None else json.loads(verification.rerun)
            body = EndorsementBody(
                attestation=attestation_id,
                attestation_digest=signed.digest().hex(),
                attester=signed.statement.issuer,
                checks=tuple(json.loads(verification.checks)),
                rerun=None if rerun is None else tuple(RerunResult.model_validate(r) for r in rerun),
                rerun_log_digest=verification.rerun_log_digest,
            )
            endorsement = self.statements.issue(
                session,
                kind="standards.endorsement",
                audience=PUBLIC,
                body=body.model_dump(mode="json"),
                refs=(attestation_id,),
            )
            verification.endorsement_id = endorsement.statement.id
            return endorsement

    # -- listing ------------------------------------------------------------------------------------------------

    def attestations(self, session: Session) -> list[dict[str, Any]]:
        """Every attestation this node holds (ours and peers'), with endorsements and our verification."""
        rows = session.scalars(
            select(StatementRow)
            .where(StatementRow.kind.in_(("standards.attestation", "standards.endorsement")))
            .order_by(StatementRow.row_id)
        ).all()
        endorsements: dict[str, list[dict[str, Any]]] = {}
        attestations = []
        for row in rows:
            signed = row.signed(max_bytes=self.max_statement_bytes)
            if row.kind == "standards.endorsement":
                try:
                    endorsement = EndorsementBody.model_validate(signed.statement.body)
                except ValidationError:
                    continue
                endorsements.setdefault(endorsement.attestation, []).append(
                    {
                        "id": signed.statement.id,
                        "by": signed.statement.issuer,
                        "issued_at": signed.statement.issued_at,
                        "checks": list(endorsement.checks),
                        "rerun": endorsement.rerun is not None,
                        "digest": endorsement.attestation_digest,
                    }
                )
            else:
                attestations.append((row, signed))
        out = []
        for row, signed in attestations:
            try:
                body = AttestationBody.model_validate(signed.statement.body)
            except ValidationError:
                continue
            # An endorsement counts only for the exact attestation it countersigned.
            mine = [
                {k: v for k, v in e.items() if k != "digest"}
                for e in endorsements.get(signed.statement.id, [])
                if e["digest"] == signed.digest().hex()
            ]
            verification = session.get(VerificationRow, signed.statement.id)
            out.append(
                {
                    "id": signed.statement.id,
                    "issuer": signed.statement.issuer,
                    "issued_at": signed.statement.issued_at,
                    "local": row.local,
                    "plan": body.plan,
                    "model": body.model,
                    "catalog_version": body.catalog_version,
                    "results": [r.model_dump() for r in body.results],
                    "frameworks": body.frameworks,
                    "log_digest": body.log_digest,
                    "endorsements": mine,
                    "verified_here": None
                    if verification is None
                    else {
                        "checks": json.loads(verification.checks),
                        "rerun": verification.rerun_ok,
                        "at": verification.verified_at.isoformat(),
                    },
                }
            )
        return out

    def attestation(self, session: Session, attestation_id: str) -> dict[str, Any]:
        for item in self.attestations(session):
            if item["id"] == attestation_id:
                return item
        raise NotFound(f"no attestation {attestation_id}", code="standards.unknown_attestation")


def _check_cosignature(note: SignedNote, line: str, witness: NodeCard) -> None:
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
