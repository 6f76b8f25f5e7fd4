"""Deepfake media fingerprints: hash images, share their PDQ hashes, match images and hashes, list matches."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast, get_args

import typer
from rich.table import Table

from airrc.cli._common import HomeOpt, dump_json, open_node, out, read_file
from airrc.errors import InputError
from airrc.media.hashing import hash_from_hex
from airrc.statements import Tlp

media_app = typer.Typer(no_args_is_help=True, help="PDQ fingerprints of deepfake media, shared and matched.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
RadiusOpt = Annotated[
    int | None, typer.Option("--radius", min=0, max=63, help="Hamming radius (default 31).")
]


def _print_matches(found: list[dict[str, Any]]) -> None:
    if not found:
        out.print("no known media within the radius")
        return
    table = Table("distance", "from", "label", "report", "tlp", "signal")
    for m in found:
        table.add_row(
            str(m["distance"]), m["origin_name"], m["label"], m["report"] or "", m["tlp"], m["signal"][:8]
        )
    out.print(table)


@media_app.command("hash")
def media_hash(
    files: Annotated[list[Path], typer.Argument()], as_json: JsonOpt = False, home: HomeOpt = None
) -> None:
    """Print the PDQ hash and quality of each image (nothing is stored)."""
    node = open_node(home)
    limit = node.settings.limits.max_media_bytes
    rows = []
    for file in files:
        hashed = node.media.hash(read_file(file, limit))
        rows.append(
            {"file": str(file), "hash": hashed.hex, "quality": hashed.quality, "format": hashed.format}
        )
    node.close()
    if as_json:
        dump_json(rows)
        return
    for row in rows:
        out.print(f"{row['hash']}  quality {row['quality']}  {row['file']}")


@media_app.command("share")
def media_share(
    files: Annotated[list[Path], typer.Argument(help="The images whose hashes to share.")],
    label: Annotated[
        str, typer.Option("--label", help='What they are, e.g. "deepfake of a named minister".')
    ],
    to: Annotated[
        list[str] | None, typer.Option("--to", help="A partner (name or id); repeat for several.")
    ] = None,
    tlp: Annotated[str, typer.Option("--tlp", help="clear, green, amber, amber+strict or red.")] = "amber",
    report: Annotated[str | None, typer.Option("--report", help="The exchange report statement id.")] = None,
    home: HomeOpt = None,
) -> None:
    """Share the images' PDQ hashes (never the images) as a signal, and match them against what is known."""
    level = tlp.lower()
    if level not in get_args(Tlp):
        raise InputError(f"--tlp is one of {', '.join(get_args(Tlp))}", code="input.bad_tlp")
    node = open_node(home)
    limit = node.settings.limits.max_media_bytes
    hashed = [node.media.hash(read_file(file, limit)) for file in files]
    with node.store.session() as session:
        signed, stored = node.media.share(
            session, hashed, label=label, partners=to or [], tlp=cast(Tlp, level), report=report
        )
        names = node.names(session)
    node.close()
    out.print(f"signal {signed.statement.body['signal_id']} ({signed.statement.id}), {len(stored)} hash(es)")
    for row, found in stored:
        if found:
            out.print(f"{row.hash.hex()} matches:")
            _print_matches([m.to_json(names) for m in found])


@media_app.command("match")
def media_match(
    target: Annotated[str, typer.Argument(help="An image file, or a PDQ hash (64 hex digits).")],
    radius: RadiusOpt = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Known media within the radius of an image (rotations and mirror images too) or of a hash."""
    node = open_node(home)
    with node.store.read_session() as session:
        if Path(target).is_file():
            _hashed, found = node.media.match_image(
                session, read_file(Path(target), node.settings.limits.max_media_bytes), radius=radius
            )
        else:
            found = node.media.search(session, [hash_from_hex(target.lower())], radius=radius)
        names = node.names(session)
    node.close()
    docs = [m.to_json(names) for m in found]
    if as_json:
        dump_json(docs)
        return
    _print_matches(docs)


@media_app.command("matches")
def media_matches(as_json: JsonOpt = False, home: HomeOpt = None) -> None:
    """Matches found as hashes arrived, newest first."""
    node = open_node(home)
    with node.store.read_session() as session:
        rows = node.media.matches(session)
    node.close()
    if as_json:
        dump_json(rows)
        return
    table = Table("when", "distance", "new (from, label)", "known (from, label)")
    for m in rows:
        table.add_row(
            m["matched_at"],
            str(m["distance"]),
            f"{m['new']['origin_name']}: {m['new']['label']}",
            f"{m['known']['origin_name']}: {m['known']['label']}",
        )
    out.print(table)
