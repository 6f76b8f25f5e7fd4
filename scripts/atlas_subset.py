"""Regenerate src/airrc/exchange/atlas/atlas.json from MITRE ATLAS (../shared/data/mitre-atlas/ATLAS.yaml).

The product needs tactic and technique ids, names, tactics and a short description; case studies and
mitigations stay out. The licence travels beside the data.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import yaml

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "mitre-atlas"
TARGET = Path(__file__).resolve().parents[1] / "src" / "airrc" / "exchange" / "atlas"


def first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())[:600]


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    doc = yaml.safe_load((source / "ATLAS.yaml").read_text(encoding="utf-8"))
    matrix = doc["matrices"][0]
    out = {
        "source": "MITRE ATLAS",
        "version": doc["version"],
        "tactics": [{"id": t["id"], "name": t["name"]} for t in matrix["tactics"]],
        "techniques": [
            {
                "id": t["id"],
                "name": t["name"],
                "tactics": t.get("tactics", []),
                "subtechnique_of": t.get("subtechnique-of"),
                "description": first_paragraph(t.get("description", "")),
            }
            for t in matrix["techniques"]
        ],
    }
    TARGET.mkdir(parents=True, exist_ok=True)
    (TARGET / "atlas.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.copyfile(source / "LICENSE", TARGET / "LICENSE")
    print(f"{len(out['techniques'])} techniques, {len(out['tactics'])} tactics from ATLAS {out['version']}")


if __name__ == "__main__":
    main()
