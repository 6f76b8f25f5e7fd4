"""RFC 8785 canonical JSON and strict base64 helpers."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import rfc8785

from airrc.errors import InputError

__all__ = ["b64decode", "b64encode", "canonical_bytes", "parse_json", "salted_commitment", "sha256_hex"]


# I-JSON (RFC 7493 §2.2): beyond ±(2^53-1) a number is not exactly an IEEE double everywhere. The bound
# holds for every form of a number (17, 17.0, 1.7e1), so an implementation that parses all numbers as
# doubles (as RFC 8785 does) and one that keeps integers exact agree on what may be signed.
MAX_CANONICAL_MAGNITUDE = 2**53 - 1


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 (JCS) serialisation of a JSON value; a number of magnitude above 2^53-1 (in any form)
    or not finite is ``input.not_canonicalizable``."""
    _check_canonical_numbers(value)
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InputError("value cannot be canonicalised as JSON", code="input.not_canonicalizable") from exc


def _check_canonical_numbers(value: Any) -> None:
    for item in _leaves(value):
        # ``not <=`` is also true of NaN.
        if isinstance(item, float) and not (abs(item) <= MAX_CANONICAL_MAGNITUDE):
            raise InputError(
                "a number beyond ±(2^53-1) or not finite cannot be signed (RFC 7493 §2.2)",
                code="input.not_canonicalizable",
            )


def _leaves(value: Any) -> Iterator[Any]:
    """Every object key and scalar of a JSON value, without recursion (depth is the parser's bound)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        else:
            yield item


def parse_json(data: bytes | str, *, max_bytes: int) -> Any:
    """Parse untrusted JSON with a size bound; duplicate keys are refused."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise InputError(f"JSON document exceeds {max_bytes} bytes", code="input.too_large")

    def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, val in pairs:
            if key in out:
                raise InputError(f"duplicate key {key!r} in JSON object", code="input.malformed_json")
            out[key] = val
        return out

    if b"\\u0000" in raw and _ESCAPED_NUL.search(raw):
        # PostgreSQL cannot store NUL in text, and no field of ours needs it: refused everywhere alike.
        raise InputError("JSON strings may not contain NUL (\\u0000)", code="input.nul_character")
    try:
        value = json.loads(
            raw,
            object_pairs_hook=_no_duplicates,
            parse_int=_bounded_int,
            parse_float=_bounded_float,
            parse_constant=_no_constant,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError("malformed JSON", code="input.malformed_json") from exc
    if _ESCAPED_SURROGATE.search(raw):
        _refuse_lone_surrogates(value)
    return value


# A surrogate can only arrive escaped (raw UTF-8 cannot encode one); a valid pair decodes to one character.
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(value: Any) -> None:
    # Not text at all: it cannot be stored as UTF-8, signed (RFC 8785 sorts keys by UTF-16) or shown.
    for item in _leaves(value):
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InputError(
                    "JSON strings may not contain an unpaired surrogate (\\ud800-\\udfff)",
                    code="input.lone_surrogate",
                ) from exc


MAX_JSON_INT = 2**63 - 1
# \u0000 preceded by an even number of backslashes (an odd number would make it literal text).
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


def _bounded_int(text: str) -> int:
    # Refused before int() is called: Python's own limit (4,300 digits) would raise a bare ValueError,
    # and storage columns hold 64-bit integers.
    value = int(text) if len(text) <= 20 else MAX_JSON_INT + 1
    if not -MAX_JSON_INT <= value <= MAX_JSON_INT:
        raise InputError(
            f"a JSON integer is outside ±(2^63-1): {text[:24]}{'…' if len(text) > 24 else ''}",
            code="input.number_out_of_range",
        )
    return value


def _bounded_float(text: str) -> float:
    # The same bound as integers, whatever the form: 9.3e18 and 9300000000000000000 alike.
    value = float(text)
    if not abs(value) <= MAX_JSON_INT:
        raise InputError(
            f"a JSON number is outside ±(2^63-1): {text[:24]}{'…' if len(text) > 24 else ''}",
            code="input.number_out_of_range",
        )
    return value


def _no_constant(text: str) -> Any:
    # Python's json reads NaN, Infinity and -Infinity; JSON (RFC 8259) has no such literals.
    raise InputError(f"{text} is not JSON", code="input.malformed_json")


def b64encode(data: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, *, what: str = "value") -> bytes:
    """Strict standard base64: wrong alphabet, padding or length is refused."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise InputError(f"{what} is not valid base64", code="input.bad_base64") from exc


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def salted_commitment(domain: bytes, salt: bytes, value: Any) -> str:
    """A salted, hiding commitment to a JSON value: hex SHA-256(domain || salt || JCS(value))."""
    if len(salt) < 16:
        raise ValueError("commitment salts are at least 16 bytes")
    return hashlib.sha256(domain + salt + canonical_bytes(value)).hexdigest()
