"""Every console string exists in both catalogs; every Chinese string is Chinese and not its English twin."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2.ext import babel_extract

from airrc.console import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"
CJK = re.compile(r"[\u3400-\u9fff]")


def _msgids() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        with path.open("rb") as handle:
            for _line, _func, message, _comments in babel_extract(handle, ["_"], [], {}):
                text = message if isinstance(message, str) else message[0]
                if text:
                    found.add(text)
    return found


def test_every_msgid_is_translated_in_both_languages_and_no_entry_is_stale() -> None:
    used = _msgids()
    assert len(used) > 40
    for language in ("en", "zh"):
        catalog = i18n.catalog(language)
        assert sorted(used - set(catalog)) == [], language
        assert sorted(set(catalog) - used) == [], language


def test_chinese_strings_are_chinese_and_keep_their_placeholders() -> None:
    zh = i18n.catalog("zh")
    for msgid, text in zh.items():
        assert CJK.search(text), msgid
        assert text != msgid
        assert re.findall(r"%\(\w+\)s", text) == re.findall(r"%\(\w+\)s", msgid), msgid


def test_a_translator_formats_and_falls_back() -> None:
    zh = i18n.translator("zh")
    assert zh.gettext("from %(peer)s", peer="cn-cac") == "来自 cn-cac"
    assert i18n.translator("fr").language == "en"
