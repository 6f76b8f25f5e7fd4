"""How ``--help`` names an option's value: words an operator knows (TEXT, INTEGER, PATH, a choice list), never
Python types; a flag shows none."""

from __future__ import annotations

import re
from typing import Any

from typer import core

__all__ = ["install"]

_WORDS = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "NUMBER",
    "Path": "PATH",
    "path": "PATH",
    "file": "FILE",
    "directory": "DIRECTORY",
    "datetime": "DATETIME",
}
_LIST = re.compile(r"^list\[(.*)\]$")


def shown_type(label: str | None, *, is_flag: bool) -> str | None:
    """The help column for a value typer would label ``<label>``."""
    if is_flag or label is None:
        return None
    repeated = label.endswith("...")
    bare = label.removesuffix("...").removeprefix("<").removesuffix(">")
    inner = _LIST.match(bare)
    if inner:
        bare, repeated = inner.group(1), True
    if bare == "bool":
        return None
    words = "|".join(_WORDS.get(part, part) for part in bare.split("|"))
    return f"{words}..." if repeated else words


def install() -> None:
    """Replace typer's type column for every option and argument of this process's commands."""
    for cls in (core.TyperOption, core.TyperArgument):
        original = cls.display_type_rich

        def display(self: Any, ctx: Any, _original: Any = original) -> str | None:
            if self.metavar is not None:
                return str(self.metavar)
            return shown_type(_original(self, ctx), is_flag=bool(getattr(self, "is_flag", False)))

        cls.display_type_rich = display  # type: ignore[method-assign]
