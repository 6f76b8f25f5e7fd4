"""RFC 9421 HTTP Message Signatures between nodes (Ed25519 key of the pinned card), strict profile.

Requests cover ``@method``, ``@target-uri``, ``content-digest`` (RFC 9530, SHA-256, checked against the
body) and ``content-type``, with ``created``, ``keyid`` (the sender's node id), a ``nonce`` and the tag
``airrc-federation/v1``. Verification always passes ``max_age``, the body and the required components to
the library, and remembers nonces for the replay window. Responses cover ``@status``, ``content-digest``,
``content-type`` and the request's ``@method``, ``@target-uri`` and ``signature-input`` (``;req``), so a
response cannot be replayed against another request.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ed25519
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from airrc.errors import FederationAuthError

__all__ = [
    "REQUEST_COMPONENTS",
    "RESPONSE_COMPONENTS",
    "TAG",
    "UNBOUND_RESPONSE_COMPONENTS",
    "FederationAuthError",
    "SignedRequest",
    "sign_request",
    "sign_response",
    "verify_request",
    "verify_response",
]

TAG = "airrc-federation/v1"
LABEL = "airrc"
REQUEST_COMPONENTS = ("@method", "@target-uri", "content-digest", "content-type")
RESPONSE_COMPONENTS = (
    "@status",
    "content-digest",
    "content-type",
    '"@method";req',
    '"@target-uri";req',
    '"signature-input";req',
)
# An answer to a request that carries no Signature-Input (a stranger's, or one refused as unsigned) cannot
# cover it; it is signed over the rest. Peers' own requests are always signed, so their verifier requires all.
UNBOUND_RESPONSE_COMPONENTS = RESPONSE_COMPONENTS[:-1]
MAX_NONCE = 64


class _Headers:
    """Ordered field lines with the small mapping interface the library needs."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = [(k.lower(), v) for k, v in items]

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for k, _ in self._items))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k == name.lower() for k, _ in self._items)

    def __getitem__(self, name: str) -> str:
        values = [v for k, v in self._items if k == name.lower()]
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def get(self, name: str, default: str | None = None) -> str | None:
        try:
            return self[name]
        except KeyError:
            return default

    def __setitem__(self, name: str, value: str) -> None:
        self._items = [(k, v) for k, v in self._items if k != name.lower()]
        self._items.append((name.lower(), value))

    def __delitem__(self, name: str) -> None:
        self._items = [(k, v) for k, v in self._items if k != name.lower()]


@dataclass
class _Request:
    method: str
    url: str
    headers: _Headers


@dataclass
class _Response:
    status_code: int
    headers: _Headers
    request: _Request


@dataclass(frozen=True)
class SignedRequest:
    """What a client sends: the headers to add and the exact body bytes."""

    headers: dict[str, str]
    body: bytes


class _Keys(HTTPSignatureKeyResolver):
    def __init__(
        self,
        lookup: Callable[[str], ed25519.Ed25519PublicKey | None],
        private: ed25519.Ed25519PrivateKey | None = None,
    ) -> None:
        self.lookup = lookup
        self.private = private

    def resolve_public_key(self, key_id: str) -> ed25519.Ed25519PublicKey | None:
        return self.lookup(key_id)

    def resolve_private_key(self, key_id: str) -> ed25519.Ed25519PrivateKey:
        if self.private is None:
            raise KeyError(key_id)
        return self.private


@dataclass
class NonceCache:
    """Nonces seen inside the replay window, in memory (the inbox also records them durably)."""

    window: timedelta
    seen: dict[str, datetime] = field(default_factory=dict)


def _signer(private_key: ed25519.Ed25519PrivateKey) -> HTTPMessageSigner:
    return HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519, key_resolver=_Keys(lambda _k: None, private_key)
    )


def sign_request(
    method: str,
    url: str,
    body: bytes,
    *,
    key: ed25519.Ed25519PrivateKey,
    key_id: str,
    content_type: str = "application/json",
    now: datetime | None = None,
    nonce: str | None = None,
) -> SignedRequest:
    """Sign a request; returns the headers to send (Content-Digest, Content-Type, Signature-Input, Signature).

    ``now`` and ``nonce`` are for test vectors only: a fresh random nonce is what makes replay detectable."""
    request = _Request(method.upper(), url, _Headers([("content-type", content_type)]))
    _signer(key).sign(
        request,
        key_id=key_id,
        created=now or datetime.now(UTC),
        nonce=nonce or secrets.token_urlsafe(18),
        label=LABEL,
        tag=TAG,
        covered_component_ids=REQUEST_COMPONENTS,
        body=body,
    )
    return SignedRequest(dict(request.headers.items()), body)


def _check_nonce(nonce: str | None) -> str:
    if not nonce or len(nonce) > MAX_NONCE:
        raise FederationAuthError("the request signature carries no usable nonce", code="federation.no_nonce")
    return nonce


def verify_request(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    lookup: Callable[[str], ed25519.Ed25519PublicKey | None],
    max_age: timedelta,
) -> tuple[str, str, datetime]:
    """Verify a node-to-node request; return (sender key id, nonce, created). Raise with a specific code.

    Replay (the nonce seen before) is checked by the caller against its durable nonce store.
    """
    fields = _Headers(headers)
    if "signature" not in fields or "signature-input" not in fields:
        raise FederationAuthError("the request is not signed", code="federation.unsigned")
    request = _Request(method.upper(), url, fields)
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=_Keys(lookup))
    try:
        results = verifier.verify(
            request, max_age=max_age, expect_tag=TAG, require_components=REQUEST_COMPONENTS, body=body
        )
    except InvalidSignature as exc:
        raise FederationAuthError(_classify(str(exc)), code=_code_for(str(exc))) from exc
    except (HTTPMessageSignaturesException, ValueError, KeyError) as exc:
        raise FederationAuthError(
            "the request signature is malformed", code="federation.bad_signature"
        ) from exc
    if len(results) != 1:
        raise FederationAuthError("exactly one airrc signature is expected", code="federation.bad_signature")
    params = results[0].parameters
    key_id = str(params.get("keyid", ""))
    created = datetime.fromtimestamp(int(params["created"]), UTC)
    if created - datetime.now(UTC) > max_age:
        raise FederationAuthError("the request is dated in the future", code="federation.stale")
    return key_id, _check_nonce(results[0].nonce), created


def _code_for(text: str) -> str:
    lowered = text.lower()
    if "digest" in lowered:
        return "federation.bad_digest"
    if "allowable age" in lowered or "expired" in lowered or '"created"' in lowered:
        return "federation.stale"
    if "not covered" in lowered or "required component" in lowered:
        return "federation.under_covered"
    if "key" in lowered and ("unknown" in lowered or "resolve" in lowered or "not found" in lowered):
        return "federation.unknown_key"
    return "federation.bad_signature"


def _classify(text: str) -> str:
    return {
        "federation.stale": "the request signature is too old or lacks its creation time",
        "federation.under_covered": "the request signature does not cover the required components",
        "federation.bad_digest": "the body does not match its signed Content-Digest",
        "federation.unknown_key": "the request is signed by an unknown key",
    }.get(_code_for(text), "the request signature does not verify")


def sign_response(
    status: int,
    body: bytes,
    *,
    request_method: str,
    request_url: str,
    request_headers: Iterable[tuple[str, str]],
    key: ed25519.Ed25519PrivateKey,
    key_id: str,
    content_type: str = "application/json",
    now: datetime | None = None,
) -> dict[str, str]:
    """Headers that sign a response and bind it to the request it answers."""
    request = _Request(request_method.upper(), request_url, _Headers(request_headers))
    response = _Response(status, _Headers([("content-type", content_type)]), request)
    bound = "signature-input" in request.headers
    # A request field the library cannot serialise as a component: the answer covers what can be covered.
    for covered in (
        (RESPONSE_COMPONENTS, UNBOUND_RESPONSE_COMPONENTS) if bound else (UNBOUND_RESPONSE_COMPONENTS,)
    ):
        response = _Response(status, _Headers([("content-type", content_type)]), request)
        try:
            _signer(key).sign(
                response,
                key_id=key_id,
                created=now or datetime.now(UTC),
                label=LABEL,
                tag=TAG,
                covered_component_ids=covered,
                body=body,
            )
            break
        except (HTTPMessageSignaturesException, ValueError, KeyError):
            if covered is UNBOUND_RESPONSE_COMPONENTS:
                raise
    return dict(response.headers.items())


def verify_response(
    status: int,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    request_method: str,
    request_url: str,
    request_headers: Iterable[tuple[str, str]],
    key: ed25519.Ed25519PublicKey,
    key_id: str,
    max_age: timedelta,
    bound: bool = True,
) -> None:
    """Verify that a response was signed by the expected peer for this very request; raise otherwise.

    ``bound=False`` accepts an answer to an unsigned request (covering all but ``signature-input;req``)."""
    request = _Request(request_method.upper(), request_url, _Headers(request_headers))
    response = _Response(status, _Headers(headers), request)
    if "signature" not in response.headers:
        raise FederationAuthError("the response is not signed", code="federation.unsigned_response")
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519, key_resolver=_Keys(lambda k: key if k == key_id else None)
    )
    try:
        verifier.verify(
            response,
            max_age=max_age,
            expect_tag=TAG,
            require_components=RESPONSE_COMPONENTS if bound else UNBOUND_RESPONSE_COMPONENTS,
            body=body,
        )
    except (InvalidSignature, HTTPMessageSignaturesException, ValueError, KeyError) as exc:
        raise FederationAuthError(
            "the response signature does not verify", code="federation.bad_response"
        ) from exc
