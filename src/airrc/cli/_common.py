"""What every command group shares: consoles, the home option, opening the node, reading input."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console

from airrc.config import Settings
from airrc.errors import InputError
from airrc.node import Node

out = Console()
err = Console(stderr=True)

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="AIRRC_HOME",
        help="Node home directory (default ./.airrc if present, else ~/.airrc).",
    ),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
MAX_PASSWORD_INPUT = 1024


def settings_for(home: Path | None, **overrides: object) -> Settings:
    values: dict[str, object] = {k: v for k, v in overrides.items() if v is not None}
    if home is not None:
        values["home"] = home
    return Settings(**values)  # type: ignore[arg-type]


def open_node(home: Path | None) -> Node:
    node = Node(settings_for(home))
    node.store.require_migrated()
    return node


def read_password() -> str:
    data = sys.stdin.read(MAX_PASSWORD_INPUT + 2)
    password = data.rstrip("\r\n")
    if not password:
        raise InputError("no password on standard input", code="input.no_password")
    if len(password) > MAX_PASSWORD_INPUT or "\n" in password:
        raise InputError(
            "the password must be one line of at most 1024 characters", code="input.bad_password"
        )
    return password


def read_file(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", code="input.unreadable_file") from exc


LangOpt = Annotated[str, typer.Option("--lang", help="en, zh or both.")]


def parse_languages(lang: str) -> tuple[Literal["en", "zh"], ...]:
    if lang not in ("en", "zh", "both"):
        raise InputError("--lang is en, zh or both", code="input.bad_language")
    return ("en", "zh") if lang == "both" else ("en",) if lang == "en" else ("zh",)


def read_json(source: str, limit: int) -> Any:
    """JSON from a file, or from standard input for ``-``; size-limited before parsing."""
    from airrc.crypto.canonical import parse_json

    data = sys.stdin.buffer.read(limit + 1) if source == "-" else read_file(Path(source), limit)
    return parse_json(data, max_bytes=limit)


def dump_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
