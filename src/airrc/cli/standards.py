"""The standards catalog and crosswalk; evaluation plans, runs, attestations, verification."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from airrc.cli._common import (
    HomeOpt,
    LangOpt,
    dump_json,
    err,
    open_node,
    out,
    parse_languages,
    read_file,
)

standards_app = typer.Typer(no_args_is_help=True, help="The AI safety standards catalog and its crosswalk.")
eval_app = typer.Typer(
    no_args_is_help=True, help="Pre-registered model evaluations, attestations, verification, endorsement."
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
        dump_json(
            {"version": catalog.version, "digest": catalog.digest, **catalog.doc.model_dump(mode="json")}
        )
        return
    languages = parse_languages(lang)
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
    languages = parse_languages(lang)
    if as_json:
        dump_json(
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
    node = open_node(home)
    signed = node.standards.plan(
        model=model,
        suites=suite,
        witness=witness,
        requirements=requirement or None,
        languages=parse_languages(lang),
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
    node = open_node(home)
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
    node = open_node(home)
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
    node = open_node(home)
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
    node = open_node(home)
    log_bytes = read_file(log, node.settings.limits.max_eval_log_bytes) if log is not None else None
    with httpx.Client() as client:
        result = node.standards.verify(
            attestation, client=client, log_bytes=log_bytes, rerun=rerun, progress=err.print
        )
    endorsement = node.standards.endorse(attestation) if endorse else None
    node.close()
    languages = parse_languages(lang)
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
    node = open_node(home)
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
    node = open_node(home)
    with node.store.read_session() as session:
        items = (
            [node.standards.attestation(session, attestation)]
            if attestation
            else node.standards.attestations(session)
        )
        names = node.names(session)
    node.close()
    if as_json:
        dump_json(items)
        return
    languages = parse_languages(lang)
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
