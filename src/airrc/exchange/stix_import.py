"""STIX 2.1 bundles from other tools (MISP, OpenCTI) and from peers as draft reports: validation with
stix2-validator, TLP 1.0/2.0 markings, patterns and cyber-observables to observables, ATLAS references and
MISP galaxies to techniques, our extension or machine tags to fields. Pure: no storage, no network.
"""

from __future__ import annotations

import json
import re
from typing import Any, get_args

from airrc.errors import RequestTooLarge, StixError
from airrc.exchange.atlas import load_atlas
from airrc.exchange.model import TLP_ORDER, HarmType, Sector, Severity
from airrc.exchange.stix import ATLAS_SOURCE, EXTENSION_ID, FROM_PATTERN, MAX_OBJECTS, TLP1_IDS, TLP2_IDS

__all__ = ["bundle_to_reports", "check_bundle", "named_report_ids"]


def check_bundle(bundle: Any, *, max_bytes: int) -> list[str]:
    """Validate with stix2-validator; raise naming the first error's object and property; return warnings."""
    size = len(json.dumps(bundle).encode()) if not isinstance(bundle, (bytes, str)) else len(bundle)
    if size > max_bytes:
        raise RequestTooLarge(
            f"the bundle is {size} bytes, over the {max_bytes} limit", code="request.too_large"
        )
    if (
        not isinstance(bundle, dict)
        or bundle.get("type") != "bundle"
        or not isinstance(bundle.get("objects"), list)
    ):
        raise StixError("not a STIX bundle (type 'bundle' with a list of objects)")
    objects = bundle["objects"]
    if len(objects) > MAX_OBJECTS:
        raise RequestTooLarge(f"the bundle holds over {MAX_OBJECTS} objects", code="request.too_large")
    for obj in objects:
        if not isinstance(obj, dict):
            raise StixError("every bundle object is a JSON object")
        if obj.get("spec_version") != "2.1":
            raise StixError(
                f"{obj.get('id', obj.get('type', 'object'))}: spec_version is {obj.get('spec_version')!r}, not '2.1'",
                code="stix.bad_spec_version",
                object=obj.get("id"),
                property="spec_version",
            )
    # Imported here: stix2-validator's dependencies take over a second to import, and most commands never
    # check a bundle.
    from stix2validator import ValidationOptions, validate_instance  # type: ignore[import-untyped]

    results = validate_instance(bundle, ValidationOptions(version="2.1", silent=True))
    if not results.is_valid:
        message = str(results.errors[0]) if results.errors else "invalid STIX"
        where = message.split(":", 1)[0] if message.count("--") else str(bundle.get("id"))
        raise StixError(message, object=where, property=_property_in(message))
    return [str(w) for w in results.warnings][:50]


def _property_in(message: str) -> str | None:
    found = re.search(r"'([a-z_]+)'", message)
    return found.group(1) if found else None


def _tlp_of(markings: list[str], known: dict[str, str]) -> str:
    levels = []
    for ref in markings:
        if ref in known:
            levels.append(known[ref])
        else:
            raise StixError(
                f"unknown marking {ref}",
                code="stix.unknown_marking",
                object=ref,
                property="object_marking_refs",
            )
    return max(levels, key=lambda t: TLP_ORDER[t]) if levels else "amber"


def _observables(indicator: dict[str, Any]) -> list[dict[str, str]]:
    from stix2patterns.pattern import ParseException, Pattern  # type: ignore[import-untyped]

    if indicator.get("pattern_type") != "stix":
        return []
    try:
        inspected = Pattern(indicator["pattern"]).inspect()
    except (ParseException, KeyError, TypeError) as exc:
        raise StixError(
            f"{indicator.get('id')}: pattern does not parse",
            code="stix.bad_pattern",
            object=indicator.get("id"),
            property="pattern",
        ) from exc
    found = []
    for obj_type, comparisons in inspected.comparisons.items():
        for path, op, value in comparisons:
            where = ".".join(str(p) for p in path)
            kind = FROM_PATTERN.get((obj_type, where))
            if kind and op == "=" and isinstance(value, str) and value.startswith("'"):
                found.append({"type": kind, "value": _unquote(value)})
            elif (
                obj_type == "network-traffic"
                and where in ("dst_ref.value", "src_ref.value")
                and op == "="
                and isinstance(value, str)
                and value.startswith("'")
            ):
                # MISP's ip-dst / ip-src attributes: an address inside a network-traffic pattern.
                address = _unquote(value)
                found.append({"type": "ipv6" if ":" in address else "ipv4", "value": address})
    return found


_ATLAS_ID = re.compile(r"\bAML\.T\d{4}(?:\.\d{3})?\b")
# STIX Cyber-observable objects (MISP's observed-data carries them for attributes not marked for IDS).
_SCO_VALUES = {
    "domain-name": "domain",
    "ipv4-addr": "ipv4",
    "ipv6-addr": "ipv6",
    "url": "url",
    "email-addr": "email",
}


def _sco_observables(obj: dict[str, Any]) -> list[dict[str, str]]:
    kind = _SCO_VALUES.get(obj["type"])
    if kind is not None and isinstance(obj.get("value"), str):
        return [{"type": kind, "value": obj["value"]}]
    sha256 = (obj.get("hashes") or {}).get("SHA-256") if obj["type"] == "file" else None
    return [{"type": "file_sha256", "value": sha256.lower()}] if isinstance(sha256, str) else []


def _atlas_ids(obj: dict[str, Any]) -> list[str]:
    """MITRE ATLAS technique ids an object names: our attack-patterns' references, MISP's ATLAS galaxy
    clusters (exported as ``x-misp-galaxy-cluster``) and galaxy tags (as labels)."""
    found: list[str] = []
    if obj["type"] == "attack-pattern":
        found += [
            str(ref.get("external_id"))
            for ref in obj.get("external_references", [])
            if ref.get("source_name") == ATLAS_SOURCE or str(ref.get("external_id", "")).startswith("AML.")
        ]
    if obj["type"] == "x-misp-galaxy-cluster" and "atlas" in str(obj.get("x_misp_type", "")):
        meta = obj.get("x_misp_meta") or {}
        ids = meta.get("external_id") or []
        found += [str(i) for i in (ids if isinstance(ids, list) else [ids])]
        found += _ATLAS_ID.findall(str(obj.get("x_misp_value", "")))
    for label in obj.get("labels") or []:
        if isinstance(label, str) and label.startswith("misp-galaxy:mitre-atlas"):
            found += _ATLAS_ID.findall(label)
    return list(dict.fromkeys(found))


def _unquote(literal: str) -> str:
    return literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")


def bundle_to_reports(bundle: dict[str, Any], *, origin_country: str | None = None) -> list[dict[str, Any]]:
    """Draft report documents from a checked bundle: one per ``report`` or ``grouping``, else one for all.

    Unknown markings, unknown ATLAS ids and malformed patterns raise naming the object and property.
    """
    objects = {o["id"]: o for o in bundle["objects"] if isinstance(o, dict) and "id" in o}
    known = {**TLP1_IDS, **{v: k for k, v in TLP2_IDS.items()}}
    containers = [o for o in objects.values() if o["type"] in ("report", "grouping")]
    if not containers:
        containers = [
            {
                "type": "grouping",
                "id": bundle.get("id", "bundle"),
                "name": f"Imported STIX bundle {bundle.get('id', '')}",
                "object_refs": list(objects),
            }
        ]
    atlas = load_atlas()
    drafts = []
    for container in containers:
        members = [objects[r] for r in container.get("object_refs", []) if r in objects]
        ext = (container.get("extensions") or {}).get(EXTENSION_ID, {})
        markings = list(container.get("object_marking_refs", []))
        for member in members:
            markings += member.get("object_marking_refs", [])
        tlp = ext.get("tlp") or _tlp_of(sorted(set(markings)), known)
        observables: list[dict[str, str]] = []
        for member in members:
            found = _observables(member) if member["type"] == "indicator" else _sco_observables(member)
            observables += [o for o in found if o not in observables]
        techniques = []
        for member in [container, *members]:
            for technique in _atlas_ids(member):
                if technique not in atlas.techniques:
                    raise StixError(
                        f"{member['id']}: unknown ATLAS technique {technique!r}",
                        code="exchange.unknown_technique",
                        object=member["id"],
                        property="external_references",
                    )
                techniques.append(technique)
        name = str(container.get("name") or "Imported report")[:2000]
        # MISP carries free text as comment attributes: they join the narrative.
        comments = [
            str(m["x_misp_value"])
            for m in members
            if m["type"] == "x-misp-attribute" and m.get("x_misp_type") in ("comment", "text")
        ]
        # ... and its event reports (the narrative) come back as STIX notes.
        comments += [str(m["content"]) for m in members if m["type"] == "note" and m.get("content")]
        description = "\n\n".join([str(container.get("description") or name), *comments])[:20_000]
        tagged_country = next(
            iter(_machine_tags(container.get("labels") or []).get("origin-country", [])), None
        )
        country = tagged_country or origin_country
        jurisdiction = ext.get("jurisdiction") or ({"origin_country": country} if country else None)
        if jurisdiction is None:
            raise StixError(
                f"{container['id']}: no origin country (give one for reports from other tools)",
                code="stix.no_origin_country",
                object=container["id"],
                property="extensions",
            )
        labels = [c for c in container.get("labels", []) if isinstance(c, str)]
        # Our machine tags (see _labels) stand in for the extension where a tool such as MISP dropped it.
        tags = _machine_tags(labels)
        draft: dict[str, Any] = {
            "title": ext.get("title") or {"en": name},
            "summary": ext.get("summary") or {"en": description},
            "categories": ext.get("categories") or _categories(labels),
            "sectors": ext.get("sectors") or _known(tags.get("sector", []), get_args(Sector)),
            "severity": ext.get("severity")
            or next(iter(_known(tags.get("severity", []), get_args(Severity))), "medium"),
            "techniques": sorted(set(techniques)),
            "observables": observables,
            "confidence": _confidence(container, tags),
            "tlp": tlp,
            "jurisdiction": jurisdiction,
        }
        for key in ("harm_types", "affected_systems", "timeline"):
            if ext.get(key):
                draft[key] = ext[key]
        if "harm_types" not in draft and _known(tags.get("harm-type", []), get_args(HarmType)):
            draft["harm_types"] = _known(tags["harm-type"], get_args(HarmType))
        drafts.append(draft)
    return drafts


_MACHINE_TAG = re.compile(r'^airrc:([a-z-]{1,40})="([^"]{1,200})"$')


def _machine_tags(labels: list[Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for label in labels:
        match = _MACHINE_TAG.match(label) if isinstance(label, str) else None
        if match:
            found.setdefault(match.group(1), []).append(match.group(2))
    return found


def _confidence(container: dict[str, Any], tags: dict[str, list[str]]) -> int:
    # Our tag first: a tool may round the property to its own scale (MISP's confidence levels).
    tagged = [int(v) for v in tags.get("confidence", []) if v.isdigit() and int(v) <= 100]
    if tagged:
        return tagged[0]
    found = container.get("confidence")
    return found if isinstance(found, int) and 0 <= found <= 100 else 50


def _known(values: list[str], allowed: tuple[Any, ...]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v in allowed))


def _categories(labels: list[str]) -> list[str]:
    from airrc.exchange.model import CATEGORIES

    found = [label for label in labels if label in CATEGORIES]
    return found or ["other"]


_REPORT_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def named_report_ids(bundle: dict[str, Any]) -> list[str]:
    """The airrc report ids a checked bundle names: our extension's ``report_id`` and ``report--`` ids."""
    found = []
    for obj in bundle["objects"]:
        if not isinstance(obj, dict) or obj.get("type") not in ("report", "grouping"):
            continue
        ext = (obj.get("extensions") or {}).get(EXTENSION_ID, {})
        candidates = [ext.get("report_id") if isinstance(ext, dict) else None, str(obj.get("id", ""))]
        for value in candidates:
            bare = value.removeprefix("report--") if isinstance(value, str) else ""
            if _REPORT_UUID.match(bare):
                found.append(bare)
    return list(dict.fromkeys(found))
