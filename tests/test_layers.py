"""The dependency order of docs/architecture.md holds, and every top-level module has a place in it."""

import subprocess
import sys
import tomllib
from pathlib import Path

import airrc

ROOT = Path(__file__).resolve().parent.parent
# Entry points outside the order: the package marker and ``python -m airrc``.
UNLAYERED = {"__init__", "__main__"}


def _contracts() -> list[dict]:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return doc["tool"]["importlinter"]["contracts"]


def test_every_top_level_module_has_a_layer():
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    placed = {name.strip().removeprefix("airrc.") for layer in layers for name in layer.split("|")}
    package = Path(airrc.__file__).parent
    present = {p.stem for p in package.glob("*.py")} | {
        p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()
    }
    assert present - UNLAYERED <= placed, f"not placed in a layer: {sorted(present - UNLAYERED - placed)}"
    assert placed <= present, f"layers name modules that do not exist: {sorted(placed - present)}"


def test_the_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "0 broken" in result.stdout
