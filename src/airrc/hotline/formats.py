"""The pre-agreed bilingual hotline formats: load the catalog, check a message's fields, render it in English
and in Chinese. Pure: no storage, no network.

A message is a format id plus typed fields. Everything a reader sees comes from the catalog (titles, labels,
enum values, sector and country names), so both sides read the same meaning in their own language. Free
text is either written in both languages or marked with the one language used.
"""

from __future__ import annotations

import gettext
import hashlib
import math
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pycountry
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from airrc.crypto.canonical import canonical_bytes
from airrc.errors import HotlineFormatError, first_problem

__all__ = [
    "LANGUAGES",
    "FieldSpec",
    "FormatCatalog",
    "HotlineFormatError",
    "MessageFormat",
    "country_name",
    "load_formats",
    "render",
    "validate_fields",
]

CATALOG_PATH = Path(__file__).parent / "formats.yaml"
LANGUAGES = ("en", "zh")
Language = Literal["en", "zh"]
MAX_SHORT_TEXT = 2000
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?Z$")
FieldType = Literal["enum", "sector", "country", "utc_time", "duration", "number", "short_text", "reference"]


class Text(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)

    def get(self, language: Language) -> str:
        return self.en if language == "en" else self.zh


class Precedence(Text):
    ack_seconds: int = Field(ge=1)


class FieldSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: FieldType
    required: bool
    label: Text
    values: dict[str, Text] | None = None

    @model_validator(mode="after")
    def _enum_has_values(self) -> FieldSpec:
        if (self.type == "enum") != bool(self.values):
            raise ValueError("enum fields, and only they, list values")
        return self


class MessageFormat(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    version: int = Field(ge=1)
    precedence: str
    title: Text
    fields: dict[str, FieldSpec]


class FormatCatalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    precedences: dict[str, Precedence]
    sectors: dict[str, Text]
    formats: dict[str, MessageFormat]

    @property
    def digest(self) -> str:
        """What two nodes compare to know they read messages the same way."""
        return hashlib.sha256(canonical_bytes(self.model_dump(mode="json"))).hexdigest()

    def format(self, format_id: str) -> MessageFormat:
        found = self.formats.get(format_id)
        if found is None:
            raise HotlineFormatError(f"unknown message format {format_id!r}", code="hotline.unknown_format")
        return found

    def texts(self) -> list[tuple[str, Text]]:
        """Every bilingual string of the catalog with where it sits, for checking."""
        out: list[tuple[str, Text]] = [(f"precedence {k}", v) for k, v in self.precedences.items()]
        out += [(f"sector {k}", v) for k, v in self.sectors.items()]
        for fmt in self.formats.values():
            out.append((f"{fmt.id} title", fmt.title))
            for name, spec in fmt.fields.items():
                out.append((f"{fmt.id}.{name} label", spec.label))
                out += [(f"{fmt.id}.{name}={k}", v) for k, v in (spec.values or {}).items()]
        return out


def _parse(text: str) -> FormatCatalog:
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("formats"), dict):
        raise HotlineFormatError("the format catalog is malformed", code="hotline.bad_catalog")
    for key, value in doc["formats"].items():
        if isinstance(value, dict):
            value.setdefault("id", key)
    try:
        catalog = FormatCatalog.model_validate(doc)
    except ValidationError as exc:
        where, message = first_problem(exc)
        raise HotlineFormatError(
            f"the format catalog is malformed at {where}: {message}",
            code="hotline.bad_catalog",
        ) from exc
    for fmt in catalog.formats.values():
        if fmt.precedence not in catalog.precedences:
            raise HotlineFormatError(f"{fmt.id} names an unknown precedence", code="hotline.bad_catalog")
    return catalog


@cache
def load_formats(path: Path = CATALOG_PATH) -> FormatCatalog:
    return _parse(path.read_text(encoding="utf-8"))


@cache
def _zh_countries() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])


def country_name(code: str, language: Language) -> str:
    """The ISO 3166-1 name of an alpha-2 code, in English or Chinese (pycountry's translations)."""
    country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    if country is None:
        raise HotlineFormatError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return str(country.name) if language == "en" else _zh_countries().gettext(country.name)


def _check_value(name: str, spec: FieldSpec, value: Any, catalog: FormatCatalog) -> Any:  # noqa: PLR0911, PLR0912
    def bad(why: str) -> HotlineFormatError:
        return HotlineFormatError(f"field {name}: {why}")

    if spec.type == "enum":
        if not isinstance(value, str) or value not in (spec.values or {}):
            raise bad(f"must be one of {', '.join(sorted(spec.values or {}))}")
        return value
    if spec.type == "sector":
        if not isinstance(value, str) or value not in catalog.sectors:
            raise bad(f"must be a sector id: {', '.join(sorted(catalog.sectors))}")
        return value
    if spec.type == "country":
        if not isinstance(value, str):
            raise bad("must be an ISO 3166-1 alpha-2 code")
        country_name(value, "en")
        return value.upper()
    if spec.type == "utc_time":
        if not isinstance(value, str) or not _UTC.match(value):
            raise bad("must be an RFC 3339 UTC time ending in Z")
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value
    if spec.type == "duration":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 366 * 86400:
            raise bad("must be whole seconds, at most a year")
        return value
    if spec.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise bad("must be a finite number")
        return value
    if spec.type == "reference":
        if not isinstance(value, str) or not _UUID.match(value):
            raise bad("must be a statement id")
        return value
    return _check_text(name, value)


def _check_text(name: str, value: Any) -> dict[str, str]:
    """Free text: both languages, or one language marked as the only one used."""
    if not isinstance(value, dict):
        raise HotlineFormatError(f"field {name}: text is {{'en': …, 'zh': …}} or {{'text': …, 'lang': …}}")
    if set(value) == {"en", "zh"}:
        texts = value
    elif set(value) == {"text", "lang"} and value["lang"] in LANGUAGES:
        texts = {"text": value["text"], "lang": value["lang"]}
    else:
        raise HotlineFormatError(
            f"field {name}: text is {{'en': …, 'zh': …}} or {{'text': …, 'lang': 'en'|'zh'}}"
        )
    for key in ("en", "zh", "text"):
        text = texts.get(key)
        if text is None:
            continue
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_SHORT_TEXT:
            raise HotlineFormatError(f"field {name}: text must be 1 to {MAX_SHORT_TEXT} characters")
    return dict(texts)


def validate_fields(catalog: FormatCatalog, format_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of a message, checked against its format; unknown or missing fields are refused."""
    fmt = catalog.format(format_id)
    if not isinstance(fields, dict):
        raise HotlineFormatError("fields must be an object")
    unknown = set(fields) - set(fmt.fields)
    if unknown:
        raise HotlineFormatError(
            f"{format_id} has no field {sorted(unknown)[0]}; its fields: {', '.join(fmt.fields)}",
            code="hotline.unknown_field",
        )
    checked: dict[str, Any] = {}
    for name, spec in fmt.fields.items():
        if name not in fields or fields[name] is None:
            if spec.required:
                raise HotlineFormatError(f"{format_id} requires {name}", code="hotline.missing_field")
            continue
        checked[name] = _check_value(name, spec, fields[name], catalog)
    return checked


_ONLY = {"en": {"zh": " [written in Chinese only]", "en": ""}, "zh": {"en": "［仅以英文撰写］", "zh": ""}}


def _duration(seconds: int, language: Language) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = (("d", "天"), ("h", "小时"), ("min", "分钟"), ("s", "秒"))
    parts = [(n, u) for n, u in zip((days, hours, minutes, secs), units, strict=True) if n]
    if not parts:
        return "0 s" if language == "en" else "0秒"
    if language == "en":
        return " ".join(f"{n} {u[0]}" for n, u in parts)
    return "".join(f"{n}{u[1]}" for n, u in parts)


def _render_value(spec: FieldSpec, value: Any, catalog: FormatCatalog, language: Language) -> str:  # noqa: PLR0911
    if spec.type == "enum":
        return (spec.values or {})[value].get(language)
    if spec.type == "sector":
        return catalog.sectors[value].get(language)
    if spec.type == "country":
        return f"{country_name(value, language)} ({value})"
    if spec.type == "utc_time":
        return str(value).replace("T", " ").replace("Z", " UTC")
    if spec.type == "duration":
        return _duration(int(value), language)
    if spec.type in ("number", "reference"):
        return str(value)
    if "text" in value:
        return str(value["text"]) + _ONLY[language][value["lang"]]
    return str(value[language])


def render(
    catalog: FormatCatalog,
    format_id: str,
    fields: dict[str, Any],
    language: Language,
    *,
    precedence: str | None = None,
) -> str:
    """The whole message in one language, every word of it from the catalog or the sender's own text."""
    fmt = catalog.format(format_id)
    checked = validate_fields(catalog, format_id, fields)
    level = catalog.precedences[precedence or fmt.precedence]
    colon = ": " if language == "en" else "："
    lines = [f"[{level.get(language)}] {fmt.title.get(language)}"]
    for name, spec in fmt.fields.items():
        if name in checked:
            lines.append(
                f"{spec.label.get(language)}{colon}{_render_value(spec, checked[name], catalog, language)}"
            )
    return "\n".join(lines)
