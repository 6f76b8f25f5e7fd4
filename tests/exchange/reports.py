"""Sample reports for the exchange tests."""

from __future__ import annotations

from typing import Any


def grid_report(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "title": {
            "en": "AI-generated voice used to order a grid switching operation",
            "zh": "人工智能合成语音被用于下达电网倒闸操作指令",
        },
        "summary": {
            "en": "A caller cloned the voice of a dispatcher and asked operators to open breakers; "
            "call back on +1 202 555 0143 or write to j.doe@grid.example. Jane Doe took the call.",
        },
        "categories": ["critical_infrastructure_threat", "ai_enabled_fraud"],
        "sectors": ["energy_power_grid"],
        "severity": "high",
        "harm_types": ["service_disruption"],
        "techniques": ["AML.T0048"],
        "observables": [
            {"type": "phone", "value": "+1 202 555 0199"},
            {"type": "domain", "value": "Grid-Dispatch.example"},
            {"type": "ipv4", "value": "203.0.113.7"},
        ],
        "affected_systems": [{"developer": "ExampleVoice", "model": "clone-2", "version": "2.1"}],
        "timeline": [
            {"at": "2026-11-22T06:40:00Z", "event": {"en": "First call to the northern control room"}}
        ],
        "confidence": 70,
        "tlp": "amber",
        "jurisdiction": {
            "origin_country": "US",
            "legal_basis": "CISA 2015 sharing",
            "onward_transfer": "with_consent",
        },
        "personal_names": ["Jane Doe"],
    }
    doc.update(overrides)
    return doc
