"""MITRE ATLAS techniques and tactics, from the copy bundled in ``atlas/atlas.json`` (Apache-2.0, licence
beside it; regenerate with ``scripts/atlas_subset.py``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["Atlas", "Technique", "load_atlas"]

ATLAS_PATH = Path(__file__).parent / "atlas" / "atlas.json"


@dataclass(frozen=True)
class Technique:
    id: str
    name: str
    tactics: tuple[str, ...]
    subtechnique_of: str | None
    description: str


@dataclass(frozen=True)
class Atlas:
    version: str
    tactics: dict[str, str]
    techniques: dict[str, Technique]

    def search(self, text: str, *, limit: int = 20) -> list[Technique]:
        """Techniques whose id, name or description contain every word of ``text`` (names first)."""
        words = [w.lower() for w in text.split() if w]
        if not words:
            return []
        hits = []
        for t in self.techniques.values():
            haystack = f"{t.id} {t.name} {t.description}".lower()
            if all(w in haystack for w in words):
                in_name = all(w in f"{t.id} {t.name}".lower() for w in words)
                hits.append((0 if in_name else 1, t.id, t))
        return [t for _, _, t in sorted(hits, key=lambda h: (h[0], h[1]))][:limit]

    def url(self, technique_id: str) -> str:
        return f"https://atlas.mitre.org/techniques/{technique_id}"


@cache
def load_atlas(path: Path = ATLAS_PATH) -> Atlas:
    doc = json.loads(path.read_text(encoding="utf-8"))
    techniques = {
        t["id"]: Technique(
            t["id"], t["name"], tuple(t["tactics"]), t.get("subtechnique_of"), t["description"]
        )
        for t in doc["techniques"]
    }
    return Atlas(doc["version"], {t["id"]: t["name"] for t in doc["tactics"]}, techniques)
