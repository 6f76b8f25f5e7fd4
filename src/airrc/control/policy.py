"""Protected decision categories and the pure rules of human control: quorum, veto or majority, expiry.

No I/O beyond reading the shipped catalog. Deny by default: a decision is ``authorized`` only when enough
distinct approvers said yes before it expired; no answer means ``expired``, which means no.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airrc.crypto.canonical import canonical_bytes, salted_commitment
from airrc.errors import ControlError

__all__ = [
    "VOTE_DOMAIN",
    "Category",
    "CategoryCatalog",
    "ControlError",
    "Outcome",
    "Vote",
    "commitment",
    "decide",
    "load_categories",
    "vote_payload",
]

CATALOG_PATH = Path(__file__).parent / "categories.yaml"
COMMITMENT_DOMAIN = b"airrc/control/commitment/v1\n"
VOTE_DOMAIN = "airrc/control/vote/v1"
Outcome = Literal["pending", "authorized", "denied", "expired"]


class Category(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: dict[str, str]
    quorum: int = Field(ge=1, le=50)
    expiry_seconds: int = Field(ge=1, le=7 * 86400)
    rule: Literal["veto", "majority"]
    requesters: tuple[str, ...] = Field(min_length=1)


class CategoryCatalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    categories: dict[str, Category]

    @property
    def digest(self) -> str:
        return hashlib.sha256(canonical_bytes(self.model_dump(mode="json"))).hexdigest()

    def category(self, category_id: str) -> Category:
        found = self.categories.get(category_id)
        if found is None:
            raise ControlError(f"unknown protected category {category_id!r}", code="control.unknown_category")
        return found


def _parse_catalog(text: str) -> CategoryCatalog:
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("categories"), dict):
        raise ControlError("the control catalog is malformed", code="control.bad_catalog")
    for key, value in doc["categories"].items():
        if isinstance(value, dict):
            value.setdefault("id", key)
            if value["id"] != key:
                raise ControlError(f"category {key} names itself {value['id']}", code="control.bad_catalog")
    try:
        catalog = CategoryCatalog.model_validate(doc)
    except ValidationError as exc:
        raise ControlError(
            f"the control catalog is malformed: {exc.errors()[0]['msg']}", code="control.bad_catalog"
        ) from exc
    for category in catalog.categories.values():
        if not {"en", "zh"} <= set(category.title):
            raise ControlError(
                f"category {category.id} needs English and Chinese titles", code="control.bad_catalog"
            )
    return catalog


@cache
def load_categories(path: Path = CATALOG_PATH) -> CategoryCatalog:
    """The shipped catalog (or another file), validated."""
    return _parse_catalog(path.read_text(encoding="utf-8"))


def commitment(salt: bytes, value: Any) -> str:
    """A salted, hiding commitment to a JSON value: hex SHA-256(domain || salt || JCS(value))."""
    return salted_commitment(COMMITMENT_DOMAIN, salt, value)


def vote_payload(
    *, decision_id: str, request_id: str, voter_id: str, approve: bool, reason_commitment: str, at: str
) -> bytes:
    """What an approver signs with their personal key."""
    doc = {
        "v": 1,
        "decision_id": decision_id,
        "request": request_id,
        "voter": voter_id,
        "vote": "approve" if approve else "deny",
        "reason": reason_commitment,
        "at": at,
    }
    return VOTE_DOMAIN.encode() + b"\n" + canonical_bytes(doc)


@dataclass(frozen=True)
class Vote:
    voter_id: str
    approve: bool
    at: datetime


def decide(category: Category, votes: Iterable[Vote], *, expires_at: datetime, now: datetime) -> Outcome:
    """The outcome of a decision given its valid votes; a voter counts once, late votes not at all."""
    on_time = [v for v in votes if v.at <= expires_at]
    approvals = {v.voter_id for v in on_time if v.approve}
    denials = {v.voter_id for v in on_time if not v.approve}
    if category.rule == "veto" and denials:
        return "denied"
    if category.rule == "majority" and len(denials) >= category.quorum:
        return "denied"
    if len(approvals - denials) >= category.quorum:
        return "authorized"
    if now >= expires_at:
        return "expired"
    return "pending"
