"""Reports of malicious AI use, STIX bundles, ATLAS search, TAXII collections."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from airrc.cli._common import (
    HomeOpt,
    dump_json,
    err,
    open_node,
    out,
    read_json,
)
from airrc.errors import InputError

if TYPE_CHECKING:
    from airrc.crypto.trust import NodeCard
    from airrc.exchange.policy import PartnerPolicy

report_app = typer.Typer(no_args_is_help=True, help="Reports of malicious AI use shared with partners.")
stix_app = typer.Typer(no_args_is_help=True, help="STIX 2.1 bundles in and out.")
atlas_app = typer.Typer(no_args_is_help=True, help="The bundled MITRE ATLAS techniques.")
taxii_app = typer.Typer(no_args_is_help=True, help="The TAXII 2.1 server's collections and who may use them.")
consent_app = typer.Typer(
    no_args_is_help=True, help="Consent to share a partner's report onward: asked, granted, refused."
)
report_app.add_typer(consent_app, name="consent")


# -- exchange ---------------------------------------------------------------------------------------------------


def _report_line(row: dict[str, Any]) -> tuple[str, ...]:
    report = row["report"]
    title = report["title"].get("en") or report["title"].get("zh") or ""
    return (
        str(row["key"]),
        row["report_id"][:8],
        row["origin"],
        f"v{row['version']}",
        row["status"],
        row["tlp"].upper(),
        row["severity"],
        title[:60],
    )


@report_app.command("new")
def report_new(
    source: Annotated[str, typer.Argument(help="A report as JSON: a file, or - for standard input.")],
    home: HomeOpt = None,
) -> None:
    """Create a draft report (checked completely: nothing malformed is stored)."""
    node = open_node(home)
    doc = read_json(source, node.settings.limits.max_request_bytes)
    with node.store.session() as session:
        row = node.exchange.create(session, doc)
        out.print(f"draft {row.key} report {row.report_id}")


TEMPLATE: dict[str, Any] = {
    "title": {
        "en": "AI-cloned voice used to order a grid switching operation",
        "zh": "人工智能合成语音冒充调度员",
    },
    "summary": {"en": "What happened, how AI was used, what was affected, what is asked of partners."},
    "categories": ["critical_infrastructure_threat"],
    "sectors": ["energy_power_grid"],
    "severity": "high",
    "harm_types": ["service_disruption"],
    "techniques": ["AML.T0048"],
    "observables": [{"type": "domain", "value": "grid-dispatch.example"}],
    "affected_systems": [{"developer": "ExampleVoice", "model": "clone-2", "version": "2.1"}],
    "timeline": [{"at": "2026-11-22T06:40:00Z", "event": {"en": "First call to the control room"}}],
    "confidence": 70,
    "tlp": "amber",
    "jurisdiction": {"origin_country": "US", "legal_basis": "", "onward_transfer": "with_consent"},
    "personal_names": ["names to scrub from the text before it leaves"],
}


@report_app.command("template")
def report_template(home: HomeOpt = None) -> None:  # home: accepted like every report command
    """An example report as JSON on stdout (edit it, then `report new FILE`); the allowed values on stderr."""
    from typing import get_args

    from airrc.exchange.model import CATEGORIES, SECTORS, HarmType, ObservableType, Severity, Tlp

    sys.stdout.write(json.dumps(TEMPLATE, indent=2, ensure_ascii=False) + "\n")
    guide = {
        "categories": CATEGORIES,
        "sectors": SECTORS,
        "severity": get_args(Severity),
        "harm_types": get_args(HarmType),
        "observables[].type": get_args(ObservableType),
        "tlp": get_args(Tlp),
        "techniques": ("MITRE ATLAS ids: airrc atlas search WORDS",),
        "jurisdiction.onward_transfer": ("allowed", "with_consent", "prohibited"),
        "title / summary": ("{en, zh}: at least one language",),
    }
    for field, values in guide.items():
        err.print(f"# {field}: {', '.join(values)}", markup=False, highlight=False)


@report_app.command("edit")
def report_edit(
    report: Annotated[str, typer.Argument(help="Key or report id.")],
    source: Annotated[str, typer.Argument(help="The new content as JSON (file or -).")],
    home: HomeOpt = None,
) -> None:
    """Change a draft, or start the next version of a published report."""
    node = open_node(home)
    doc = read_json(source, node.settings.limits.max_request_bytes)
    with node.store.session() as session:
        row = node.exchange.edit(session, report, doc)
        out.print(f"report {row.report_id} is now draft version {row.version}")


@report_app.command("preview")
def report_preview(report: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """For each partner: whether the report would go and exactly the JSON that would leave."""
    node = open_node(home)
    with node.store.read_session() as session:
        dump_json([d.to_json() for d in node.exchange.preview(session, report)])
        for b in node.exchange.onward_blocked(session, report):
            r = b.restriction
            names = ", ".join(node.exchange.onward.describe_partners(session, b.partners))
            err.print(
                f"warning: built on {r.originator_name}'s report {r.source_report_id} ({r.why}), shared onward "
                f"{'never' if r.terms == 'prohibited' else 'only with its consent'}: publish will refuse {names}",
                markup=False,
            )


@report_app.command("publish")
def report_publish(report: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Send the report to every partner its policy allows (one statement each; sealed from AMBER up)."""
    node = open_node(home)
    with node.store.session() as session:
        result = node.exchange.publish(session, report)
        for d in result.decisions:
            verdict = "[green]sent[/green]" if d.shared else f"[yellow]withheld[/yellow] ({d.reason})"
            out.print(f"{d.partner_name}: {verdict}")
        sent = sum(d.shared for d in result.decisions)
        out.print(
            f"report {result.report.report_id} v{result.report.version} published to {sent} partner(s)"
            if sent
            else f"report {result.report.report_id} v{result.report.version} recorded; it left for nobody"
        )


@consent_app.command("request")
def consent_request(
    report: Annotated[str, typer.Argument(help="Our draft built on a partner's report.")],
    home: HomeOpt = None,
) -> None:
    """Ask the originators whose consent the draft needs, for the partners it would reach (signed requests)."""
    node = open_node(home)
    with node.store.session() as session:
        rows = node.exchange.request_consent(session, report)
        shown = [node.exchange.onward.describe(session, r) for r in rows]
    if not shown:
        out.print("no consent is needed: nothing it is built on restricts the partners it would reach")
    for c in shown:
        out.print(
            f"asked {c['originator']} (request {c['request_id']}) to let it reach {', '.join(c['partners'])}"
        )


@consent_app.command("grant")
def consent_grant(
    request: Annotated[str, typer.Argument(help="The request id, from `report consent list`.")],
    refuse: Annotated[bool, typer.Option("--refuse", help="Refuse instead of granting.")] = False,
    home: HomeOpt = None,
) -> None:
    """Answer a partner's request to share a report built on ours onward (a signed answer)."""
    node = open_node(home)
    with node.store.session() as session:
        consent = node.exchange.onward.answer(session, request, grant=not refuse)
        shown = node.exchange.onward.describe(session, consent)
    out.print(
        f"{shown['state']}: {shown['requester']} may{' not' if refuse else ''} share it with {', '.join(shown['partners'])}"
    )


@consent_app.command("list")
def consent_list(json_out: Annotated[bool, typer.Option("--json")] = False, home: HomeOpt = None) -> None:
    """Consent requests we made and were asked, with their answers."""
    node = open_node(home)
    with node.store.read_session() as session:
        rows = [node.exchange.onward.describe(session, r) for r in node.exchange.onward.consents(session)]
    if json_out:
        dump_json(rows)
        return
    table = Table("request", "direction", "requester", "originator", "source report", "partners", "state")
    for c in rows:
        table.add_row(
            c["request_id"],
            c["direction"],
            c["requester"],
            c["originator"],
            c["source_report_id"],
            ", ".join(c["partners"]),
            c["state"],
        )
    out.print(table)


@report_app.command("revoke")
def report_revoke(
    report: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason")] = "revoked by the issuer",
    home: HomeOpt = None,
) -> None:
    """Withdraw a report from every partner that received it."""
    node = open_node(home)
    with node.store.session() as session:
        sent = node.exchange.revoke(session, report, reason)
    out.print(f"revoked; {len(sent)} partner(s) told")


@report_app.command("list")
def report_list(
    category: Annotated[str | None, typer.Option()] = None,
    sector: Annotated[str | None, typer.Option()] = None,
    technique: Annotated[str | None, typer.Option()] = None,
    tlp: Annotated[str | None, typer.Option()] = None,
    origin: Annotated[str | None, typer.Option(help="A peer's name, or 'local'.")] = None,
    text: Annotated[str | None, typer.Option("--text")] = None,
    status: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    home: HomeOpt = None,
) -> None:
    """Reports, ours and received, newest first."""
    from airrc.exchange.search import SearchQuery

    node = open_node(home)
    with node.store.read_session() as session:
        names = node.names(session)
        origin_id = next((i for i, n in names.items() if n == origin), origin)
        query = SearchQuery.checked(
            category=category,
            sector=sector,
            technique=technique,
            tlp=tlp,
            origin=origin_id,
            text=text,
            status=status,
            limit=limit,
        )
        rows = [r.to_json(names=names) for r in node.exchange.search(session, query)]
    if as_json:
        dump_json(rows)
        return
    table = Table("key", "report", "origin", "ver", "status", "TLP", "severity", "title")
    for row in rows:
        table.add_row(*_report_line(row))
    out.print(table)


@report_app.command("show")
def report_show(report: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """One report with its correlation links."""
    node = open_node(home)
    with node.store.read_session() as session:
        names = node.names(session)
        row = node.exchange.get(session, report)
        shares = [
            {**share, "partner": names.get(share["partner_id"], share["partner_id"])}
            for share in node.exchange.shares(session, row.key)
        ]
        dump_json(
            {**row.to_json(names=names), "links": node.exchange.links(session, row.key), "shares": shares}
        )


@report_app.command("policy")
def report_policy(
    partner: Annotated[str, typer.Argument(help="Peer name or id.")],
    set_: Annotated[
        bool, typer.Option("--set", help="Replace the policy with the options given (without: show it).")
    ] = False,
    max_tlp: Annotated[
        str | None, typer.Option("--max-tlp", help="clear, green (default), amber or amber+strict.")
    ] = None,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Allowed; repeat. Default all.")
    ] = None,
    redact: Annotated[list[str] | None, typer.Option("--redact", help="A field never sent; repeat.")] = None,
    scrub_pii: Annotated[
        bool | None, typer.Option("--scrub-pii/--no-scrub-pii", help="Default: scrub.")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Show what a partner may receive; with --set, replace it (a logged statement to that partner)."""
    from pydantic import ValidationError

    from airrc.exchange.policy import PartnerPolicy

    node = open_node(home)
    if not set_:
        if max_tlp is not None or category or redact or scrub_pii is not None:
            raise InputError(
                "showing a policy never changes it: add --set to replace it", code="exchange.policy_needs_set"
            )
        with node.store.read_session() as session:
            card, current = node.exchange.policy(session, partner)
        dump_json(_policy_json(card, current))
        return
    try:
        policy = PartnerPolicy.model_validate(
            {
                "max_tlp": (max_tlp or "green").lower(),
                "categories": tuple(category) if category else None,
                "redact": tuple(redact or ()),
                "scrub_pii": scrub_pii is not False,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InputError(problems, code="exchange.bad_policy") from exc
    with node.store.session() as session:
        card = node.exchange.set_policy(session, partner, policy)
    out.print(f"policy for {card.name}: up to TLP:{policy.max_tlp.upper()}")


@report_app.command("policies")
def report_policies(home: HomeOpt = None) -> None:
    """Every partner and the policy in force toward it (the default where none was set)."""
    node = open_node(home)
    with node.store.read_session() as session:
        policies = node.exchange.policies(session)
        peers = node.trust.peers(session)
    dump_json([_policy_json(card, policies.get(card.id)) for card in peers])


def _policy_json(card: NodeCard, policy: PartnerPolicy | None) -> dict[str, Any]:
    """A partner's policy as shown: the default where none was set, and whether one was."""
    from airrc.exchange.policy import PartnerPolicy

    shown = (policy or PartnerPolicy()).model_dump(mode="json")
    return {"partner": card.name, "partner_id": card.id, "set": policy is not None, "policy": shown}


@stix_app.command("export")
def stix_export(
    report: Annotated[str, typer.Argument()],
    partner: Annotated[str | None, typer.Option("--for", help="Exactly what this partner may see.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    home: HomeOpt = None,
) -> None:
    """A report as a STIX 2.1 bundle."""
    node = open_node(home)
    with node.store.read_session() as session:
        bundle = node.exchange.export_stix(session, report, partner=partner)
    text = json.dumps(bundle, indent=2, ensure_ascii=False)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(bundle['objects'])} STIX objects to {output}")


@stix_app.command("import")
def stix_import(
    source: Annotated[str, typer.Argument(help="A STIX 2.1 bundle (file or -).")],
    origin_country: Annotated[
        str | None, typer.Option("--origin-country", help="ISO code, for bundles from other tools.")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Draft reports from a STIX 2.1 bundle (MISP, OpenCTI, another node); all of them or none."""
    node = open_node(home)
    limit = node.settings.limits.max_request_bytes
    bundle = read_json(source, limit)
    with node.store.session() as session:
        rows = node.exchange.import_stix(
            session, bundle, origin_country=origin_country or node.settings.country, max_bytes=limit
        )
        for row in rows:
            out.print(f"draft {row.key} report {row.report_id}")


@atlas_app.command("search")
def atlas_search(text: Annotated[str, typer.Argument()]) -> None:
    """MITRE ATLAS techniques matching every word."""
    from airrc.exchange.atlas import load_atlas

    atlas = load_atlas()
    table = Table("technique", "name", "tactics")
    for t in atlas.search(text):
        table.add_row(t.id, t.name, ", ".join(atlas.tactics.get(x, x) for x in t.tactics))
    out.print(table)


@taxii_app.command("collections")
def taxii_collections(home: HomeOpt = None) -> None:
    """The TAXII collections of this node."""
    node = open_node(home)
    with node.store.read_session() as session:
        table = Table("id", "title", "kind")
        for c in node.taxii.collections(node.trust.peers(session)):
            table.add_row(c.id, c.title, c.kind)
    out.print(table)


@taxii_app.command("grant")
def taxii_grant(
    principal: Annotated[str, typer.Option("--principal", help="A user or service name.")],
    collection: Annotated[str, typer.Option("--collection", help="Collection id.")],
    read: Annotated[bool, typer.Option("--read/--no-read")] = True,
    write: Annotated[bool, typer.Option("--write/--no-write")] = False,
    home: HomeOpt = None,
) -> None:
    """Let a principal (e.g. a partner's service account) read or write one collection."""
    node = open_node(home)
    with node.store.session() as session:
        ids = {c.id for c in node.taxii.collections(node.trust.peers(session))}
        if collection not in ids:
            raise InputError(f"no collection {collection}", code="taxii.unknown_collection")
        row = node.principals.get(session, principal)
        node.taxii.grant(session, row.id, collection, read=read, write=write)
    out.print(f"{principal}: read={read} write={write} on {collection}")
