"""Runs a plan's suites through inspect_ai and turns inspect's logs into the canonical log.

The inspect logs stay where ``log_dir`` says (``inspect view --log-dir DIR`` opens them); the canonical log
is what an attestation's digest covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airrc.errors import StandardsError
from airrc.standards.plan import PlanBody, draw_samples, generation_seed
from airrc.standards.scoring import CanonicalLog, LoggedSample, canonical_log
from airrc.standards.suites import load_suites

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog
    from inspect_ai.model import Model

__all__ = ["RunOutput", "inspect_version", "run_plan", "samples_from_logs"]

SCORER = "refusal_scorer"


@dataclass(frozen=True)
class RunOutput:
    log: CanonicalLog
    inspect_logs: list[str]


def inspect_version() -> str:
    from importlib.metadata import version

    return version("inspect_ai")


def build_tasks(plan: PlanBody, seed: str) -> list[Any]:
    """One inspect task per planned suite and language, on the samples the seed draws."""
    from airrc.standards.suites.tasks import refusal_suite

    suites = load_suites()
    tasks = []
    for planned in plan.suites:
        suite = suites.get(planned.name)
        if suite.digest != planned.digest:
            raise StandardsError(
                f"suite {suite.name} changed since the plan was registered", code="standards.suite_mismatch"
            )
        ids = ",".join(draw_samples(suite, seed, plan.samples_per_kind))
        for language in plan.languages:
            tasks.append(refusal_suite(suite=suite.name, language=language, samples=ids, grader=plan.grader))
    return tasks


def run_plan(
    *,
    plan_id: str,
    plan: PlanBody,
    seed: str,
    log_dir: Path,
    model: str | Model | None = None,
    display: str = "none",
) -> RunOutput:
    """Evaluate ``model`` (the plan's unless given) on the plan's suites with the seed; raise if any task fails."""
    from inspect_ai import eval as inspect_eval

    from airrc.standards.llama import close_models  # importing registers the in-process gguf provider

    tasks = build_tasks(plan, seed)
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        logs = inspect_eval(
            tasks,
            model=model if model is not None else plan.model,
            log_dir=str(log_dir),
            log_format="eval",
            display=display,  # type: ignore[arg-type]
            epochs=plan.epochs,
            temperature=plan.generation.temperature,
            max_tokens=plan.generation.max_tokens,
            seed=generation_seed(seed),
            max_tasks=1,
            score_display=False,
        )
    finally:
        close_models()
    failed = [log for log in logs if log.status != "success"]
    if failed:
        error = failed[0].error.message if failed[0].error is not None else failed[0].status
        raise StandardsError(f"the evaluation did not complete: {error}", code="standards.run_failed")
    samples = samples_from_logs(logs)
    return RunOutput(canonical_log(plan_id, plan.model, seed, samples), [log.location for log in logs])


def samples_from_logs(logs: list[EvalLog]) -> list[LoggedSample]:
    """The canonical records of every sample in inspect's logs (read back from disk if not in memory)."""
    from inspect_ai.log import read_eval_log

    out = []
    for log in logs:
        full = log if log.samples is not None else read_eval_log(log.location)
        meta = full.eval.metadata or {}
        for sample in full.samples or []:
            score = (sample.scores or {}).get(SCORER)
            if score is None or score.metadata is None:
                raise StandardsError(
                    f"sample {sample.id} of {full.eval.task} has no score", code="standards.run_failed"
                )
            out.append(
                LoggedSample(
                    suite=str(meta["suite"]),
                    language=str(meta["language"]),
                    id=str(sample.id),
                    epoch=sample.epoch,
                    kind=str(score.metadata["kind"]),
                    input=sample.input if isinstance(sample.input, str) else str(sample.input),
                    completion=sample.output.completion,
                    refused=bool(score.metadata["refused"]),
                    grader=str(score.metadata["grader"]),
                    error=sample.error.message
                    if sample.error is not None
                    else (str(score.metadata["grader_error"]) if "grader_error" in score.metadata else None),
                )
            )
    return out
