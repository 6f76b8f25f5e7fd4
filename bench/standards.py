"""Standards benchmark: our runner beside bare inspect_ai on the same 500 mockllm samples; attestation verify/s.

Bare inspect_ai evaluates the same tasks (same datasets, same scorer) with ``inspect_ai.eval`` and nothing
else. Our runner adds what an attestation needs: the seeded sample draw, reading every sample back from
inspect's logs into the canonical log, its digest, and the scores with intervals. Target: < 10% overhead.
The two are run alternately, three times each; medians are compared.

Verification: the work a peer does per attestation once it holds the statements and the log (both hybrid
signatures, the plan and catalog checks, the sample draw, every judgement re-graded, every score, verdict
and the framework roll-up recomputed). Network round trips to the attester are not included.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.standards.conftest import mock_model

from _results import write_section
from airrc.crypto.keys import NodeIdentity
from airrc.crypto.trust import make_genesis_card
from airrc.ledger.proofs import ChainKeyring
from airrc.standards.attestation import (
    AttestationBody,
    SeedCheckpoint,
    check_against_catalog,
    check_log,
    check_results,
)
from airrc.standards.catalog import load_catalog, rollup
from airrc.standards.plan import make_plan
from airrc.standards.runner import build_tasks, run_plan
from airrc.standards.scoring import score_requirements, verdicts
from airrc.standards.suites import load_suites
from airrc.statements import Statement, new_statement_id, sign_statement, verify_statement

SEED = "3c" * 32
PLAN_ID = "5e1f0c2a-0b7d-4c53-9d8e-3f2a1b4c5d6e"
ROUNDS = 3
VERIFY_ROUNDS = 20


def _plan():
    catalog, suites = load_catalog(), load_suites()
    # 5 suites x (25 hazardous + 25 benign) x 2 languages = 500 samples
    return make_plan(
        catalog,
        suites,
        model="mockllm/model",
        suite_names=sorted(suites.names()),
        witness="ab" * 32,
        samples_per_kind=25,
    )


def bare(plan, log_dir: Path) -> float:
    from inspect_ai import eval as inspect_eval

    tasks = build_tasks(plan, SEED)
    start = time.perf_counter()
    logs = inspect_eval(tasks, model=mock_model(), log_dir=str(log_dir), display="none", max_tasks=1)
    elapsed = time.perf_counter() - start
    assert sum(len(log.samples or []) for log in logs) == 500
    return elapsed


def ours(plan, log_dir: Path) -> tuple[float, object]:
    start = time.perf_counter()
    out = run_plan(plan_id=PLAN_ID, plan=plan, seed=SEED, log_dir=log_dir, model=mock_model())
    score_requirements(load_catalog(), [r.id for r in plan.requirements], out.log.samples)
    elapsed = time.perf_counter() - start
    assert len(out.log.samples) == 500
    return elapsed, out.log


def verify_rate(plan, log) -> tuple[float, float]:
    catalog, suites = load_catalog(), load_suites()
    scores = score_requirements(catalog, [r.id for r in plan.requirements], log.samples)
    identity = NodeIdentity.generate()
    card = make_genesis_card(identity, name="bench", endpoints=("http://bench.test",))
    keyring = ChainKeyring({card.id: [card]})

    def signed(kind: str, body: dict) -> object:
        return sign_statement(
            Statement(
                id=new_statement_id(),
                kind=kind,
                issuer=card.id,
                seq=1,
                issued_at="2026-11-22T00:00:00Z",
                audience="public",
                tlp="green",
                refs=(),
                body=body,
            ),
            identity.signer,
        )

    plan_statement = signed("standards.plan", plan.model_dump(mode="json"))
    body = AttestationBody(
        plan=PLAN_ID,
        plan_digest="0" * 64,
        plan_index=0,
        seed_checkpoint=SeedCheckpoint(note="bench", cosignature="bench", size=1, plan_proof=()),
        seed=SEED,
        model=plan.model,
        catalog_version=catalog.version,
        catalog_digest=catalog.digest,
        suites=plan.suites,
        inspect_ai_version="bench",
        config=plan.generation,
        epochs=plan.epochs,
        samples=len(log.samples),
        results=tuple(s.to_json() for s in scores),
        frameworks=rollup(catalog, verdicts(scores)),
        log_digest=log.digest,
        log_format=log.format,
    )
    attestation = signed("standards.attestation", body.model_dump(mode="json"))
    raw = log.to_bytes()
    from airrc.standards.scoring import parse_canonical_log

    def once() -> None:
        for statement in (plan_statement, attestation):
            verify_statement(
                statement, keyring=keyring, for_node=card.id, max_bytes=1 << 22, clock_skew=timedelta(days=1)
            )
        parsed = AttestationBody.model_validate(attestation.statement.body)
        the_log = parse_canonical_log(raw, max_bytes=1 << 26)
        check_against_catalog(parsed, plan, catalog, suites)
        check_log(the_log, attestation=parsed, plan=plan, plan_id=PLAN_ID, suites=suites)
        check_results(parsed, plan, catalog, the_log)

    once()
    times = []
    for _ in range(VERIFY_ROUNDS):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return 1 / median, median * 1000


def main() -> None:
    plan = _plan()
    bare_times, our_times = [], []
    log = None
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        bare(plan, base / "warm-bare")  # imports and first-use costs paid once, outside the timings
        for i in range(ROUNDS):
            bare_times.append(bare(plan, base / f"bare-{i}"))
            elapsed, log = ours(plan, base / f"ours-{i}")
            our_times.append(elapsed)
            print(f"round {i + 1}: bare {bare_times[-1]:.2f} s, ours {our_times[-1]:.2f} s", flush=True)
    b, o = statistics.median(bare_times), statistics.median(our_times)
    overhead = (o - b) / b * 100
    rate, per_ms = verify_rate(plan, log)
    met = "met" if overhead < 10 else "missed"
    body = f"""
Same 500 mockllm samples (5 suites x 25 hazardous + 25 benign x English and Chinese), same scorer, model
answers set their own token usage. Medians of {ROUNDS} alternating runs.

| run | median s | samples/s |
|---|---|---|
| bare `inspect_ai.eval` | {b:.2f} | {500 / b:.0f} |
| airrc runner (draw, eval, canonical log, digest, scores) | {o:.2f} | {500 / o:.0f} |

Runner overhead: **{overhead:+.1f}%** (target < 10%: **{met}**).

Attestation verification without the network (both hybrid signatures, plan and catalog checks, sample
draw, re-grading all 500 judgements, scores, verdicts and framework roll-up): **{rate:.1f} attestations/s**
({per_ms:.1f} ms each).
"""
    print(body)
    write_section("standards", body)


if __name__ == "__main__":
    main()
