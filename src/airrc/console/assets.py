"""The console's files: its own CSS and script, and the npm packages ``make`` installs into
``node_modules/`` (served from the node, never from a CDN, so the console works with no internet)."""

from __future__ import annotations

import os
from pathlib import Path

from airrc.errors import ConfigError, NotFound

__all__ = ["STATIC", "VENDOR", "vendor_file"]

STATIC = Path(__file__).parent / "static"
# Served name -> path inside node_modules (package.json pins the packages, package-lock.json the versions).
VENDOR = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    "cytoscape.min.js": "cytoscape/dist/cytoscape.min.js",
}


def _node_modules() -> Path | None:
    configured = os.environ.get("AIRRC_CONSOLE_ASSETS")
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "node_modules"
        if (candidate / "htmx.org").is_dir():
            return candidate
    return None


def vendor_file(name: str) -> Path:
    """The installed file served as ``name``; ``console.assets_missing`` when the packages are absent."""
    relative = VENDOR.get(name)
    if relative is None:
        raise NotFound(f"no console asset {name[:64]}", code="console.unknown_asset")
    root = _node_modules()
    path = root / relative if root is not None else None
    if path is None or not path.is_file():
        raise ConfigError(
            "the console's front-end packages are not installed: run `make install` (npm ci)",
            code="console.assets_missing",
        )
    return path
