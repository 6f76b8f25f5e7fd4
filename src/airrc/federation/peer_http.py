"""Signed HTTP to one peer: GET with endpoint failover, the peer's signed JSON answer, its advertised limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519

from airrc.crypto.canonical import parse_json
from airrc.crypto.trust import NodeCard
from airrc.errors import FederationError, InputError
from airrc.federation.httpsig import sign_request, verify_response

__all__ = ["LIMITS_PATH", "FederationError", "PeerLimits", "read_signed_answer", "signed_get"]

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
        key=peer.keys.verifier().ed25519_key,
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


def signed_get(
    peer: NodeCard,
    path: str,
    *,
    node_id: str,
    key: ed25519.Ed25519PrivateKey,
    client: httpx.Client,
    max_age: timedelta,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """GET ``path`` from the first endpoint of ``peer`` that answers, signed by us; its signed JSON answer."""
    last: Exception | None = None
    for endpoint in peer.endpoints:
        url = f"{endpoint.rstrip('/')}{path}"
        signed = sign_request("GET", url, b"", key=key, key_id=node_id)
        try:
            response = client.get(url, headers=signed.headers, timeout=timeout)
        except httpx.TransportError as exc:
            last = exc
            continue
        if response.status_code != 200:
            raise FederationError(
                f"{peer.name} answered {response.status_code} to GET {path.split('?', maxsplit=1)[0]}",
                code="federation.peer_error",
                status=response.status_code,
            )
        return read_signed_answer(
            peer, response, method="GET", url=url, request_headers=signed.headers, max_age=max_age
        )
    raise FederationError(f"no endpoint of {peer.name} answered", code="federation.unreachable") from last
