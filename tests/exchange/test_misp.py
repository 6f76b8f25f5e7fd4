"""Interoperability with independent STIX tools: every export passes `stix2-validator --strict`, MISP's
own converter (`misp-stix`) imports our bundles keeping every analyst-visible fact, and MISP's STIX 2.1
export of an event becomes a draft report here."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from misp_stix_converter import MISPtoSTIX21Parser, stix_2_to_misp
from pymisp import MISPEvent, MISPGalaxy, MISPGalaxyCluster
from stix2validator import ValidationOptions, validate_instance

from airrc.exchange.policy import PartnerPolicy, decide
from airrc.exchange.stix import TLP2_IDS, report_to_bundle
from airrc.exchange.stix_import import bundle_to_reports, check_bundle
from tests.exchange.test_stix import EVERY_OBSERVABLE, NOW, _bundle


def _strict(bundle: dict) -> None:
    results = validate_instance(bundle, ValidationOptions(version="2.1", strict=True, silent=True))
    assert results.is_valid, [str(e) for e in results.errors]
    assert not results.warnings, [str(w) for w in results.warnings]


@pytest.mark.parametrize("tlp", list(TLP2_IDS))
def test_every_export_passes_the_strict_validator(tlp):
    _report, bundle = _bundle(
        tlp=tlp, observables=EVERY_OBSERVABLE, share_with=["cn"] if tlp == "amber+strict" else []
    )
    _strict(bundle)


def test_a_partner_view_and_a_bare_report_pass_the_strict_validator():
    report, _ = _bundle()
    decision = decide(
        report,
        PartnerPolicy(max_tlp="amber", redact=("affected_systems",)),
        partner_id="b" * 64,
        partner_name="cn",
    )
    view = report_to_bundle(
        report, view=decision.view, author_id="a" * 64, author_name="us", published=NOW, modified=NOW
    )
    _strict(view)
    _, bare = _bundle(techniques=[], observables=[], timeline=[], harm_types=[], affected_systems=[])
    _strict(bare)


def _misp_event(bundle: dict, tmp_path: Path) -> dict:
    """The MISP event misp-stix makes of a bundle (what a MISP instance stores on import)."""
    source = tmp_path / "bundle.json"
    source.write_text(json.dumps(bundle))
    result = stix_2_to_misp(source, output_dir=tmp_path, overwrite=True, debug=True)
    assert not result.get("errors"), result["errors"]
    assert result["success"] == 1
    (output,) = result["results"]
    event = json.loads(Path(output).read_text())
    return event.get("Event", event)


def test_misp_imports_our_bundle_without_losing_what_an_analyst_sees(tmp_path):
    report, bundle = _bundle()
    event = _misp_event(bundle, tmp_path)
    assert event["info"] == report.title.en
    tags = {t["name"] for t in event["Tag"]}
    assert {
        "tlp:amber",
        "critical_infrastructure_threat",
        "ai_enabled_fraud",
        'airrc:severity="high"',
        'airrc:sector="energy_power_grid"',
        'airrc:harm-type="service_disruption"',
        'airrc:origin-country="US"',
        'airrc:onward-transfer="with_consent"',
        f'airrc:report-id="{report.report_id}"',
        'airrc:report-version="1"',
        'airrc:confidence="70"',
    } <= tags
    # The narrative, as MISP's event report.
    assert any(report.summary.en in r["content"] for r in event["EventReport"])
    # The observables: MISP attributes (and a pattern object for our own observable types).
    attributes = {(a["type"], a["value"]) for a in event["Attribute"]}
    assert {("domain", "grid-dispatch.example"), ("ip-dst", "203.0.113.7")} <= attributes
    patterns = [a["value"] for o in event["Object"] for a in o["Attribute"]]
    assert any("+12025550199" in p for p in patterns)
    # The ATLAS technique, by its id.
    clusters = [c for g in event["Galaxy"] for c in g["GalaxyCluster"]]
    assert any(c["meta"].get("external_id") == "AML.T0048" for c in clusters)
    # Everything else (jurisdiction, legal basis, affected systems, timeline, Chinese title) as a note.
    (note,) = event["Note"]
    for fact in (
        "Legal basis: CISA 2015 sharing",
        "Affected AI system: developer: ExampleVoice, model: clone-2, version: 2.1",
        "Timeline 2026-11-22T06:40:00Z: First call to the northern control room",
        report.title.zh,
        "Severity: high",
    ):
        assert fact in note["note"]


def test_a_bundle_that_went_through_misp_comes_back_with_its_facts(tmp_path):
    report, bundle = _bundle()
    event = _misp_event(bundle, tmp_path)
    for note in event.get("Note", []):
        # misp-stix writes note times it cannot read back ("...+00:00+00:00"); a MISP server sets its own.
        note.pop("created", None)
        note.pop("modified", None)
    parser = MISPtoSTIX21Parser()
    parser.parse_misp_event({"Event": event})
    again = json.loads(parser.bundle.serialize())
    check_bundle(again, max_bytes=1 << 22)
    (draft,) = bundle_to_reports(again, origin_country="CN")
    assert draft["tlp"] == "amber"
    assert draft["severity"] == "high"
    assert draft["sectors"] == ["energy_power_grid"]
    assert draft["harm_types"] == ["service_disruption"]
    assert draft["confidence"] == 70
    assert draft["jurisdiction"] == {"origin_country": "US"}  # the tag wins over the importer's default
    assert sorted(draft["categories"]) == sorted(report.categories)
    assert draft["techniques"] == ["AML.T0048"]
    assert {(o["type"], o["value"]) for o in draft["observables"]} >= {
        ("domain", "grid-dispatch.example"),
        ("ipv4", "203.0.113.7"),
        ("phone", "+12025550199"),
    }
    assert report.summary.en in draft["summary"]["en"]


def _native_misp_bundle() -> dict:
    """A MISP event as an analyst makes it, exported by MISP's own converter."""
    event = MISPEvent()
    event.uuid = "5b0a2d8e-3f1c-4b7a-9d6e-0c2f4a6b8d10"
    event.info = "Deepfake CFO voice used in wire fraud"
    event.date = "2026-11-20"
    event.add_tag("tlp:amber")
    event.add_attribute("domain", "cfo-voice.example", to_ids=True)
    event.add_attribute("ip-dst", "198.51.100.23", to_ids=True)
    event.add_attribute("url", "https://pay-now.example/invoice", to_ids=False)
    event.add_attribute("sha256", "ab" * 32, to_ids=True)
    event.add_attribute("comment", "A cloned voice of the CFO asked for an urgent transfer.")
    galaxy = MISPGalaxy()
    galaxy.from_dict(
        name="MITRE ATLAS Attack Pattern",
        type="mitre-atlas-attack-pattern",
        description="MITRE ATLAS techniques",
        uuid=str(uuid.uuid4()),
        namespace="mitre-atlas",
        version="1",
    )
    cluster = MISPGalaxyCluster()
    cluster.from_dict(
        value="External Harms - AML.T0048",
        type="mitre-atlas-attack-pattern",
        description="Harms outside the ML system",
        uuid=str(uuid.uuid4()),
        tag_name='misp-galaxy:mitre-atlas-attack-pattern="External Harms - AML.T0048"',
        meta={"external_id": ["AML.T0048"]},
    )
    galaxy.clusters.append(cluster)
    event.Galaxy = [galaxy]
    parser = MISPtoSTIX21Parser()
    parser.parse_misp_event(event.to_dict())
    return json.loads(parser.bundle.serialize())


def test_a_misp_export_becomes_a_draft_report(net):
    us = net.nodes["us"]
    bundle = _native_misp_bundle()
    with us.store.session() as s:
        (row,) = us.exchange.import_stix(s, bundle, origin_country=us.settings.country)
        key = str(row.key)
    with us.store.read_session() as s:
        draft = us.exchange.get(s, key).report()
    assert draft.tlp == "amber"
    assert draft.title.en == "Deepfake CFO voice used in wire fraud"
    assert "A cloned voice of the CFO asked for an urgent transfer." in draft.summary.en
    assert draft.techniques == ("AML.T0048",)
    assert {(o.type, o.value) for o in draft.observables} == {
        ("domain", "cfo-voice.example"),
        ("ipv4", "198.51.100.23"),
        ("url", "https://pay-now.example/invoice"),
        ("file_sha256", "ab" * 32),
    }
    assert draft.jurisdiction.origin_country == "US"
