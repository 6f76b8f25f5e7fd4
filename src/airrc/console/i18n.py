"""The console's two languages: Babel catalogs under ``locale/`` read once, and a translator per request.

Message ids are the English text. A catalog is read from its ``.po`` file (no compiled ``.mo`` to keep in
step); a msgid missing from the chosen catalog shows in English, and the test suite fails on any.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from babel.messages.pofile import read_po

__all__ = ["LANGUAGES", "Language", "Translator", "catalog", "translator"]

Language = Literal["en", "zh"]
LANGUAGES: dict[Language, str] = {"en": "en", "zh": "zh_Hans"}  # console language -> Babel locale folder
LOCALE = Path(__file__).parent / "locale"
DOMAIN = "console"


@functools.cache
def catalog(language: Language) -> dict[str, str]:
    """msgid -> translation of one language; empty translations are left out."""
    path = LOCALE / LANGUAGES[language] / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        po = read_po(handle, locale=LANGUAGES[language])
    return {str(m.id): str(m.string) for m in po if m.id and isinstance(m.string, str) and m.string}


@dataclass(frozen=True)
class Translator:
    language: Language

    @property
    def html_lang(self) -> str:
        return "zh-Hans" if self.language == "zh" else "en"

    def gettext(self, message: str, **values: Any) -> str:
        text = catalog(self.language).get(message, message)
        return text % values if values else text

    def other(self, message: str) -> str:
        """The same message in the other language (format fields are shown side by side)."""
        return Translator("en" if self.language == "zh" else "zh").gettext(message)


def translator(language: str | None) -> Translator:
    return Translator("zh" if language == "zh" else "en")
