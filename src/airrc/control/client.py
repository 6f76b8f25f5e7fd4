"""The SDK an AI system and its actuator use: ask, wait, check offline, act, report.

``require_authorization`` returns only when a quorum of humans authorized the action; it raises
:class:`Denied` or :class:`Expired` otherwise, so an integration cannot fall through the negative path.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NotRequired, Required, TypedDict, Unpack

import httpx

from airrc.control.policy import ControlError, commitment
from airrc.crypto.trust import NodeCard
from airrc.errors import Denied, Error, Expired
from airrc.statements import STATEMENT_DOMAIN, parse_signed_statement

__all__ = ["Authorization", "Client", "Denied", "Expired", "Reasons"]


@dataclass(frozen=True)
class Authorization:
    """A signed, single-use authorization and what it covers."""

    decision_id: str
    authorization_id: str
    outcome: dict[str, Any]
    salt: str
    expires_at: datetime

    def check(self, action: dict[str, Any], *, node_card: NodeCard, now: datetime | None = None) -> None:
        """Offline check before acting: signed by the node, authorized, for exactly this action, not expired."""
        signed = parse_signed_statement(self.outcome, max_bytes=1 << 20)
        st = signed.statement
        node_card.keys.verifier().verify(STATEMENT_DOMAIN, st.signed_bytes(), signed.signatures)
        if (
            st.issuer != node_card.id
            or st.kind != "control.outcome"
            or st.body.get("outcome") != "authorized"
        ):
            raise ControlError("this is not an authorization by the node", code="control.not_authorized")
        grant = st.body.get("authorization") or {}
        if grant.get("id") != self.authorization_id or grant.get("decision_id") != self.decision_id:
            raise ControlError(
                "the authorization is for another decision", code="control.authorization_mismatch"
            )
        if grant.get("action_commitment") != commitment(base64.b64decode(self.salt), action):
            raise ControlError(
                "the authorization does not cover this action", code="control.authorization_mismatch"
            )
        if (now or datetime.now(UTC)) > self.expires_at:
            raise ControlError("the authorization has expired", code="control.authorization_expired")


class Reasons(TypedDict, total=False):
    """Why an AI system asks: its rationale and confidence (required), evidence statement ids, and a
    shorter expiry than the category's."""

    rationale: Required[str]
    confidence: Required[float]
    evidence: NotRequired[list[str] | None]
    expiry_seconds: NotRequired[int | None]


class Client:
    """HTTP client for ``/control/v1`` with a bearer token of the AI system's own."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        node_card: NodeCard,
        http: httpx.Client | None = None,
        poll_seconds: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.node_card = node_card
        self._owns_http = http is None
        self.http = http or httpx.Client(timeout=30)
        self.headers = {"authorization": f"Bearer {token}"}
        self.poll_seconds = poll_seconds

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, self.base_url + path, headers=self.headers, **kwargs)
        if response.status_code >= 400:
            try:
                err = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                err = {"code": "http.error", "message": response.text[:200]}
            raise Error(str(err.get("message")), code=str(err.get("code")))
        return response.json()

    def request(self, category: str, action: dict[str, Any], **why: Unpack[Reasons]) -> tuple[str, str]:
        """Ask for a decision; returns (decision id, salt)."""
        doc = self._call(
            "POST",
            "/control/v1/decisions",
            json={
                "category": category,
                "action": action,
                "rationale": why["rationale"],
                "confidence": why["confidence"],
                "evidence": why.get("evidence") or [],
                "expiry_seconds": why.get("expiry_seconds"),
            },
        )
        return str(doc["decision"]["id"]), str(doc["salt"])

    def wait(self, decision_id: str, salt: str, *, timeout: float) -> Authorization:
        """Block until the decision is decided; raise unless it was authorized."""
        deadline = time.monotonic() + timeout
        while True:
            doc = self._call("GET", f"/control/v1/decisions/{decision_id}")
            state = doc["state"]
            if state == "authorized":
                grant = doc["outcome"]["statement"]["body"]["authorization"]
                return Authorization(
                    decision_id,
                    grant["id"],
                    doc["outcome"],
                    salt,
                    datetime.fromisoformat(grant["expires_at"].replace("Z", "+00:00")),
                )
            if state == "denied":
                raise Denied(f"decision {decision_id} was denied")
            if state == "expired":
                raise Expired(f"decision {decision_id} expired without a quorum: no")
            if time.monotonic() > deadline:
                raise ControlError(
                    f"no outcome for {decision_id} within {timeout:g} s", code="control.timeout"
                )
            time.sleep(self.poll_seconds)

    def require_authorization(
        self, category: str, action: dict[str, Any], *, timeout: float = 3600.0, **why: Unpack[Reasons]
    ) -> Authorization:
        """Request, wait and check offline; returns a checked authorization or raises."""
        decision_id, salt = self.request(category, action, **why)
        authorization = self.wait(decision_id, salt, timeout=timeout)
        authorization.check(action, node_card=self.node_card)
        return authorization

    def report_execution(
        self, authorization: Authorization | None, decision_id: str, *, executed: bool
    ) -> Any:
        return self._call(
            "POST",
            f"/control/v1/decisions/{decision_id}/execution",
            json={
                "authorization_id": authorization.authorization_id if authorization else None,
                "executed": executed,
            },
        )
