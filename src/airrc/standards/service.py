"""Standards on a node: plans, runs, attestations, verification of peers' attestations, endorsements.

Storage and HTTP live here; what is checked lives in the pure modules (:mod:`.plan`, :mod:`.scoring`,
:mod:`.attestation`). The canonical log of each run is kept compressed in ``standards_runs`` and served to
pinned peers over the signed federation API; inspect's own logs stay under ``<home>/evals/<plan>/``.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Unpack

import httpx
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from airrc.crypto.keys import NodeIdentity
from airrc.crypto.trust import NodeCard
from airrc.errors import (
    Conflict,
    FederationError,
    LedgerError,
    NotFound,
    StandardsError,
    first_problem,
)
from airrc.federation.log_audit import (
    fetch_first_cosignature,
    request_cosignature,
)
from airrc.ledger.checkpoint import (
    parse_note,
)
from airrc.ledger.log import LedgerCheckpoint, TransparencyLog
from airrc.ledger.proofs import encode_hashes
from airrc.ledger.witness import Witness
from airrc.standards.attestation import (
    AttestationBody,
    EndorsementBody,
    RequirementResult,
    RerunResult,
    SeedCheckpoint,
)
from airrc.standards.catalog import Catalog, rollup
from airrc.standards.context import StandardsContext
from airrc.standards.plan import Generation, PlanBody, derive_seed, make_plan
from airrc.standards.scoring import (
    CANONICAL_FORMAT,
    CanonicalLog,
    parse_canonical_log,
    score_requirements,
)
from airrc.standards.suites import SuiteCatalog
from airrc.standards.tables import RunRow, VerificationRow
from airrc.standards.verify import (
    Verification,
    VerifyOptions,
    attestation_and_plan,
    check_cosignature,
    verify_attestation,
)
from airrc.statements import PUBLIC, SignedStatement
from airrc.store.db import Store, utcnow
from airrc.store.statements import StatementLog, StatementRow
from airrc.trust.peers import TrustStore

if TYPE_CHECKING:
    from inspect_ai.model import Model

__all__ = ["RunRow", "StandardsService", "Verification", "VerificationRow"]


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
        self.context = StandardsContext(
            node_id=node_id,
            identity=identity,
            store=store,
            statements=statements,
            trust=trust,
            log=log,
            witness=witness,
            catalog=catalog,
            suites=suites,
            evals_dir=evals_dir,
            max_statement_bytes=max_statement_bytes,
            max_log_bytes=max_log_bytes,
            request_max_age=request_max_age,
            clock_skew=clock_skew,
        )

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
        check_cosignature(note, line, witness)
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

    def verify(
        self, attestation_id: str, *, client: httpx.Client, **options: Unpack[VerifyOptions]
    ) -> Verification:
        """Check a peer's attestation end to end (:func:`~airrc.standards.verify.verify_attestation`)."""
        return verify_attestation(self.context, attestation_id, client=client, **options)

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
            signed, _plan = attestation_and_plan(self.context, session, attestation_id)
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
