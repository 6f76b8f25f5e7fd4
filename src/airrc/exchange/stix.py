"""STIX 2.1 export: a report as a bundle (report, indicators, ATLAS attack-patterns, identity, a facts note,
TLP 2.0 markings, our fields under a published extension-definition), and the constants import shares
(``stix_import.py`` reads bundles). Pure: no storage, no network.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from airrc.errors import StixError
from airrc.exchange.atlas import load_atlas
from airrc.exchange.model import Report

__all__ = [
    "EXTENSION_ID",
    "TLP1_IDS",
    "TLP2_IDS",
    "StixError",
    "report_to_bundle",
    "tlp_marking",
]

# The official TLP 2.0 marking-definition ids (FIRST TLP 2.0 in STIX 2.1, as published by OASIS).
TLP2_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
# TLP 1.0 as the STIX 2.1 specification predefines it; MISP and OpenCTI still send these.
TLP1_IDS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",  # WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
EXTENSION_ID = "extension-definition--3a0e1a53-7c5f-4b1c-9f55-0e6f0f3f2f5a"
EXTENSION_SCHEMA = (
    "airrc report fields, defined in docs/stix-extension.md of the airrc source: report_id, version, "
    "categories, sectors, severity, tlp, jurisdiction, title, summary, harm_types, affected_systems, timeline, "
    "redacted."
)
_NAMESPACE = uuid.UUID("b5b0c7a4-6f0e-4d4e-8a57-1f4e0c9d2a61")
TLP_CREATED = "2022-10-01T00:00:00.000Z"
MAX_OBJECTS = 100_000
ATLAS_SOURCE = "mitre-atlas"

_PATTERNS = {
    "ipv4": ("ipv4-addr", "value"),
    "ipv6": ("ipv6-addr", "value"),
    "domain": ("domain-name", "value"),
    "url": ("url", "value"),
    "email": ("email-addr", "value"),
    "file_sha256": ("file", "hashes.'SHA-256'"),
    "pdq": ("x-airrc-media", "pdq"),
    "phone": ("x-airrc-phone", "number"),
    "wallet": ("x-airrc-wallet", "address"),
    "prompt": ("x-airrc-prompt", "text"),
    "model": ("x-airrc-model", "name"),
}
FROM_PATTERN = {(obj, prop.replace("'", "")): kind for kind, (obj, prop) in _PATTERNS.items()}
FROM_PATTERN[("file", "hashes.SHA256")] = "file_sha256"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _id(kind: str, *parts: str) -> str:
    """A stable id for the same thing across exports; STIX wants UUIDv4 for domain objects, so the name-based
    hash is given version 4 bits (deterministic, and well-formed as v4)."""
    digest = uuid.uuid5(_NAMESPACE, chr(10).join(parts)).bytes
    return f"{kind}--{uuid.UUID(bytes=digest, version=4)}"


def tlp_marking(tlp: str) -> dict[str, Any]:
    """The TLP 2.0 marking-definition object (the stix2 package predefines only TLP 1.0)."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_IDS[tlp],
        "created": TLP_CREATED,
        "name": f"TLP:{tlp.upper()}",
        "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp}},
    }


def _extension_definition(identity_id: str) -> dict[str, Any]:
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": identity_id,
        "created": "2026-11-22T00:00:00.000Z",
        "modified": "2026-11-22T00:00:00.000Z",
        "name": "airrc report",
        "description": "airrc's fields of a report of malicious AI use (categories, sectors, severity, harms, "
        "affected AI systems, timeline, jurisdiction, Chinese text).",
        "schema": EXTENSION_SCHEMA,
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    }


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def report_to_bundle(
    report: Report,
    *,
    view: dict[str, Any] | None = None,
    author_id: str,
    author_name: str,
    published: datetime,
    modified: datetime,
    revoked: bool = False,
) -> dict[str, Any]:
    """A STIX 2.1 bundle of one report version (``view``: what a partner may see, when exporting for one);
    a withdrawn report's ``report`` object carries ``revoked: true``."""
    doc = view if view is not None else report.to_json()
    created = _stamp(published)
    changed = _stamp(max(modified, published))
    identity_id = _id("identity", "node", author_id)
    marking = TLP2_IDS[report.tlp]
    common = {"spec_version": "2.1", "created_by_ref": identity_id, "object_marking_refs": [marking]}
    objects: list[dict[str, Any]] = [
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": identity_id,
            "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z",
            "name": author_name,
            "identity_class": "organization",
            "description": f"airrc node {author_id}",
        },
        tlp_marking(report.tlp),
        _extension_definition(identity_id),
    ]
    refs: list[str] = []
    # Text comes from the view: a partner's export carries its scrubbed text, never the original.
    title = doc["title"].get("en") or doc["title"].get("zh") or ""
    summary = doc["summary"].get("en") or doc["summary"].get("zh") or title
    for obs in doc.get("observables") or []:
        kind, value = obs["type"], obs["value"]
        obj_type, prop = _PATTERNS[kind]
        ind_id = _id("indicator", report.report_id, kind, value)
        objects.append(
            {
                "type": "indicator",
                "id": ind_id,
                "created": created,
                "modified": changed,
                "name": f"{kind} {value}"[:250],
                "description": f"Observed in: {title}"[:2000],
                "indicator_types": ["malicious-activity"],
                "pattern": f"[{obj_type}:{prop} = '{_escape(value)}']",
                "pattern_type": "stix",
                "valid_from": created,
                **common,
            }
        )
        refs.append(ind_id)
    atlas = load_atlas()
    for technique in doc.get("techniques") or []:
        ap_id = _id("attack-pattern", technique)
        objects.append(
            {
                "type": "attack-pattern",
                "id": ap_id,
                "created": created,
                "modified": changed,
                "name": atlas.techniques[technique].name,
                # The address is in the description, not the reference: a reference with a URL must also
                # carry the hash of what it points at (stix2-validator --strict, 302), and ATLAS pages change.
                "description": f"MITRE ATLAS {technique}: {atlas.url(technique)}",
                "external_references": [{"source_name": ATLAS_SOURCE, "external_id": technique}],
                **common,
            }
        )
        refs.append(ap_id)
    note_id = _id("note", report.report_id, str(report.version))
    objects.append(
        {
            "type": "note",
            "id": note_id,
            "created": created,
            "modified": changed,
            "abstract": f"airrc report {report.report_id} v{report.version}: facts"[:250],
            "content": _facts_text(report, doc),
            "object_refs": [f"report--{report.report_id}"],
            **common,
        }
    )
    extension = {
        "extension_type": "property-extension",
        "report_id": report.report_id,
        "version": report.version,
        "categories": list(report.categories),
        "sectors": list(report.sectors),
        "severity": report.severity,
        "tlp": report.tlp,
        "jurisdiction": doc["jurisdiction"],
        "title": doc["title"],
        "summary": doc["summary"],
    }
    for key in ("harm_types", "affected_systems", "timeline", "redacted"):
        if doc.get(key):
            extension[key] = doc[key]
    objects.append(
        {
            "type": "report",
            "id": f"report--{report.report_id}",
            "created": created,
            "modified": changed,
            "name": title[:250],
            "description": summary,
            "report_types": ["threat-report"],
            "published": changed,
            "confidence": report.confidence,
            "labels": _labels(report, doc),
            "object_refs": [*refs, note_id],
            "extensions": {EXTENSION_ID: extension},
            **({"revoked": True} if revoked else {}),
            **common,
        }
    )
    return {"type": "bundle", "id": _id("bundle", report.report_id, str(report.version)), "objects": objects}


def _labels(report: Report, doc: dict[str, Any]) -> list[str]:
    """Categories as they are, then machine tags (``airrc:key="value"``), which MISP keeps as tags and
    any STIX consumer shows: the facts that would otherwise live only in our extension."""
    tags = [
        *report.categories,
        f'airrc:severity="{report.severity}"',
        f'airrc:confidence="{report.confidence}"',
    ]
    tags += [f'airrc:sector="{sector}"' for sector in report.sectors]
    tags += [f'airrc:harm-type="{harm}"' for harm in doc.get("harm_types") or []]
    jurisdiction = doc["jurisdiction"]
    tags.append(f'airrc:origin-country="{jurisdiction["origin_country"]}"')
    tags.append(f'airrc:onward-transfer="{jurisdiction.get("onward_transfer", "with_consent")}"')
    tags += [f'airrc:report-id="{report.report_id}"', f'airrc:report-version="{report.version}"']
    return tags


def _facts_text(report: Report, doc: dict[str, Any]) -> str:
    """Every analyst-visible fact of the report as plain text (a STIX ``note``): what a tool that ignores
    our extension still shows its users."""
    jurisdiction = doc["jurisdiction"]
    lines = [
        f"Report {report.report_id}, version {report.version}, TLP:{report.tlp.upper()}",
        f"Severity: {report.severity}",
        f"Categories: {', '.join(report.categories)}",
        f"Sectors: {', '.join(report.sectors) or '-'}",
        f"Origin country: {jurisdiction['origin_country']}; onward transfer: "
        f"{jurisdiction.get('onward_transfer', 'with_consent')}",
    ]
    if jurisdiction.get("legal_basis"):
        lines.append(f"Legal basis: {jurisdiction['legal_basis']}")
    if doc.get("harm_types"):
        lines.append(f"Harm types: {', '.join(doc['harm_types'])}")
    for system in doc.get("affected_systems") or []:
        described = ", ".join(f"{k}: {v}" for k, v in sorted(system.items()))
        lines.append(f"Affected AI system: {described}")
    for event in doc.get("timeline") or []:
        text = event["event"].get("en") or event["event"].get("zh") or ""
        lines.append(f"Timeline {event['at']}: {text}")
    for field_name, label in (("title", "标题"), ("summary", "摘要")):
        if doc[field_name].get("zh"):
            lines.append(f"{label}: {doc[field_name]['zh']}")
    if doc.get("redacted"):
        lines.append(f"Withheld from this recipient: {', '.join(doc['redacted'])}")
    return "\n".join(lines)
