"""HTTP to pinned peers, in one place: endpoint failover, RFC 9421 signed requests and signed answers, and
one error family (:class:`~airrc.errors.FederationError`). The outbox, catch-up, the audit of peers' logs,
witnessing requests and the standards log fetches all go through :class:`PeerClient`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from airrc.crypto.canonical import parse_json
from airrc.crypto.signing import HybridSigner
from airrc.crypto.trust import NodeCard
from airrc.errors import FederationError, InputError
from airrc.federation.httpsig import sign_request, verify_response

__all__ = ["LIMITS_PATH", "MAX_ANSWER_BYTES", "PeerAnswer", "PeerClient", "PeerLimits", "read_signed_answer"]

LIMITS_PATH = "/federation/v1/limits"
# A peer's signed answer (a page of catch-up, an evaluation log) is read whole; beyond this it is refused.
MAX_ANSWER_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class PeerLimits:
    """What a peer accepts in one push (its ``GET /federation/v1/limits``), or ours when it does not say."""

    max_request_bytes: int
    max_statement_bytes: int
    max_batch_length: int
    advertised: bool

    @classmethod
    def from_answer(cls, peer: NodeCard, doc: dict[str, Any]) -> PeerLimits:
        values = [doc.get(k) for k in ("max_request_bytes", "max_statement_bytes", "max_batch_length")]
        if not all(type(v) is int and 1 <= v <= 1 << 40 for v in values):
            raise FederationError(f"{peer.name} sent malformed limits", code="federation.bad_response")
        request, statement, length = (int(v) for v in values)  # type: ignore[arg-type]
        return cls(request, statement, length, advertised=True)


def read_signed_answer(
    peer: NodeCard,
    response: httpx.Response,
    *,
    method: str,
    url: str,
    request_headers: dict[str, str],
    max_age: timedelta,
) -> dict[str, Any]:
    """A peer's answer to our signed request: its RFC 9421 signature checked, then parsed as a JSON object."""
    verify_response(
        response.status_code,
        response.headers.multi_items(),
        response.content,
        request_method=method,
        request_url=url,
        request_headers=request_headers.items(),
        key=peer.keys.verifier(),
        key_id=peer.id,
        max_age=max_age,
    )
    try:
        doc = parse_json(response.content, max_bytes=MAX_ANSWER_BYTES)
    except InputError as exc:
        raise FederationError(
            f"the answer of {peer.name} is not JSON we accept: {exc.code}", code="federation.bad_response"
        ) from exc
    if not isinstance(doc, dict):
        raise FederationError(f"the answer of {peer.name} is not an object", code="federation.bad_response")
    return doc


@dataclass(frozen=True)
class PeerAnswer:
    """A peer's HTTP answer, with the URL that answered and the headers we sent (a signed answer covers them)."""

    response: httpx.Response
    url: str
    request_headers: dict[str, str]


class PeerClient:
    """Requests to pinned peers over one ``httpx.Client``, as this node (``node_id`` signs with ``key``).

    Each request tries the peer's endpoints in order (or the order given) until one answers at the
    transport level; no endpoint answering is ``federation.unreachable``, none at all
    ``federation.no_endpoint``, an unexpected status ``federation.peer_error`` (its ``status`` in the
    details), a bad signature or body on a signed answer ``federation.bad_response``."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        node_id: str | None = None,
        key: HybridSigner | None = None,
        max_age: timedelta = timedelta(minutes=5),
        timeout: float = 30.0,
    ) -> None:
        """Without ``node_id`` and ``key`` only unsigned requests can be made (the public ledger endpoints)."""
        self.http = http
        self.node_id = node_id
        self.key = key
        self.max_age = max_age
        self.timeout = timeout

    def request(
        self,
        peer: NodeCard,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        params: dict[str, int | str] | None = None,
        headers: dict[str, str] | None = None,
        signed: bool = False,
        endpoints: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> PeerAnswer:
        """The first transport-level answer from ``peer``'s endpoints, whatever its status."""
        order = list(peer.endpoints if endpoints is None else endpoints)
        if not order:
            raise FederationError(f"{peer.name} has no endpoints", code="federation.no_endpoint")
        last: Exception | None = None
        for endpoint in order:
            url = endpoint.rstrip("/") + path
            if params:
                url = str(httpx.URL(url, params=params))
            sent = dict(headers or {})
            if signed:
                if self.key is None or self.node_id is None:
                    raise ValueError("signed requests need this node's id and key")
                sent |= sign_request(method, url, body, key=self.key, key_id=self.node_id).headers
            try:
                response = self.http.request(
                    method, url, content=body or None, headers=sent, timeout=timeout or self.timeout
                )
            except httpx.TransportError as exc:
                last = exc
                continue
            return PeerAnswer(response, url, sent)
        raise FederationError(
            f"no endpoint of {peer.name} answered ({type(last).__name__})", code="federation.unreachable"
        ) from last

    def get(self, peer: NodeCard, path: str, params: dict[str, int | str] | None = None) -> httpx.Response:
        """An unsigned GET (the public ledger endpoints) that must answer 200."""
        answer = self.request(peer, "GET", path, params=params)
        _require_ok(peer, answer, "GET", path)
        return answer.response

    def post_text(self, peer: NodeCard, path: str, text: str) -> httpx.Response:
        """An unsigned text POST (C2SP add-checkpoint); the caller reads the status."""
        return self.request(
            peer, "POST", path, body=text.encode(), headers={"content-type": "text/plain; charset=utf-8"}
        ).response

    def signed_get(self, peer: NodeCard, path: str, *, timeout: float | None = None) -> dict[str, Any]:
        """A signed GET that must answer 200 with a signed JSON object."""
        answer = self.request(peer, "GET", path, signed=True, timeout=timeout)
        _require_ok(peer, answer, "GET", path)
        return self.read_signed(peer, answer, "GET")

    def read_signed(self, peer: NodeCard, answer: PeerAnswer, method: str) -> dict[str, Any]:
        return read_signed_answer(
            peer,
            answer.response,
            method=method,
            url=answer.url,
            request_headers=answer.request_headers,
            max_age=self.max_age,
        )


def _require_ok(peer: NodeCard, answer: PeerAnswer, method: str, path: str) -> None:
    status = answer.response.status_code
    if status != 200:
        raise FederationError(
            f"{peer.name} answered {status} to {method} {path.split('?', maxsplit=1)[0]}",
            code="federation.peer_error",
            status=status,
            body=answer.response.text[:200],
        )
