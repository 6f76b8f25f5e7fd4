"""Per-partner sharing policy: exactly what of a report may leave for each partner. Pure.

Rules, in order: TLP:RED never leaves; nothing above the partner's maximum TLP; AMBER+STRICT only to the
partners the report names; only allowed categories; then the partner's redactions, and PII scrubbing of
free text (emails, phone numbers, and the personal names the report marks). The result is the very JSON
that would be sealed or sent, so a preview shows no more and no less than what leaves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from airrc.exchange.model import TLP_ORDER, Category, Report, Tlp

__all__ = ["REDACTABLE", "PartnerPolicy", "SharingDecision", "decide", "scrub_text"]

Redactable = Literal[
    "observables",
    "affected_systems",
    "timeline",
    "techniques",
    "harm_types",
    "jurisdiction.legal_basis",
]
REDACTABLE: tuple[str, ...] = Redactable.__args__  # type: ignore[attr-defined]
# Never part of any view: who else a report goes to, and the names to scrub.
NEVER_SHARED = ("share_with", "personal_names")


class PartnerPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tlp: Tlp = "green"
    categories: tuple[Category, ...] | None = Field(default=None, description="None: every category")
    redact: tuple[Redactable, ...] = ()
    scrub_pii: bool = True


@dataclass(frozen=True)
class SharingDecision:
    partner_id: str
    partner_name: str
    shared: bool
    reason: str | None
    view: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "partner": self.partner_name,
            "partner_id": self.partner_id,
            "shared": self.shared,
            "reason": self.reason,
            "view": self.view,
        }


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE_CANDIDATE = re.compile(r"\+?\(?\d[\d\s().-]{6,}\d")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_DOTTED = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    if not 9 <= digits <= 15 or _DATE.match(text) or _DOTTED.match(text.strip()):
        return text
    return "[phone]"


def scrub_text(text: str, names: tuple[str, ...]) -> str:
    """``text`` with emails, phone numbers and the marked personal names replaced by ``[email]``,
    ``[phone]`` and ``[name]``."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE_CANDIDATE.sub(_phone, text)
    for name in sorted(names, key=len, reverse=True):
        if name.strip():
            text = re.sub(re.escape(name.strip()), "[name]", text, flags=re.I)
    return text


def _scrub(view: dict[str, Any], names: tuple[str, ...]) -> None:
    def lang_text(doc: Any) -> Any:
        if isinstance(doc, dict):
            return {k: scrub_text(v, names) if isinstance(v, str) else v for k, v in doc.items()}
        return doc

    for key in ("title", "summary"):
        if key in view:
            view[key] = lang_text(view[key])
    for event in view.get("timeline", []):
        event["event"] = lang_text(event["event"])


def decide(
    report: Report, policy: PartnerPolicy | None, *, partner_id: str, partner_name: str
) -> SharingDecision:
    """Whether ``report`` may go to this partner and, if so, the exact JSON that goes."""

    def withheld(reason: str) -> SharingDecision:
        return SharingDecision(partner_id, partner_name, False, reason, None)

    if report.tlp == "red":
        return withheld("tlp.red_never_leaves")
    if policy is None:
        return withheld("policy.no_policy")
    if TLP_ORDER[report.tlp] > TLP_ORDER[policy.max_tlp]:
        return withheld("policy.above_max_tlp")
    # share_with holds pinned ids (names were resolved when the draft was saved): a name never matches.
    if report.tlp == "amber+strict" and partner_id not in report.share_with:
        return withheld("tlp.amber_strict_not_named")
    if policy.categories is not None and not set(report.categories) & set(policy.categories):
        return withheld("policy.category_not_allowed")
    view = report.to_json()
    for key in NEVER_SHARED:
        view.pop(key, None)
    for field in policy.redact:
        head, _, tail = field.partition(".")
        if tail:
            view.get(head, {}).pop(tail, None)
        else:
            view.pop(head, None)
    if policy.scrub_pii:
        _scrub(view, report.personal_names)
    view["redacted"] = sorted(policy.redact)
    return SharingDecision(partner_id, partner_name, True, None, view)
