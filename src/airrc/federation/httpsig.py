"""RFC 9421 HTTP Message Signatures between nodes, strict profile, hybrid like everything else we sign.

Every request and answer carries two signatures over the same components and parameters: label ``airrc``
(Ed25519) and label ``airrc-pq`` (ML-DSA-65, ``alg="ml-dsa-65"``), both with the pinned card's keys. Both
must verify; a message with only one is refused (``federation.missing_pq_signature``).

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
from typing import Any

from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric import mldsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureAlgorithm,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from airrc.crypto.signing import HybridSigner, HybridVerifier
from airrc.errors import FederationAuthError

__all__ = [
    "LABEL",
    "PQ_LABEL",
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
PQ_LABEL = "airrc-pq"
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


class MLDSA65(HTTPSignatureAlgorithm):
    """ML-DSA-65 (FIPS 204) for RFC 9421. Not in the IANA registry yet: our ``alg`` value is ``ml-dsa-65``."""

    algorithm_id = "ml-dsa-65"

    def __init__(
        self,
        public_key: mldsa.MLDSA65PublicKey | None = None,
        private_key: mldsa.MLDSA65PrivateKey | None = None,
    ) -> None:
        self.public_key = public_key
        self.private_key = private_key

    def sign(self, message: bytes) -> bytes:
        if self.private_key is None:
            raise HTTPMessageSignaturesException("no ML-DSA-65 private key")
        return self.private_key.sign(message)

    def verify(self, signature: bytes, message: bytes) -> None:
        if self.public_key is None:
            raise HTTPMessageSignaturesException("no ML-DSA-65 public key")
        try:
            self.public_key.verify(signature, message)
        except CryptoInvalidSignature as exc:
            raise InvalidSignature("the ml-dsa-65 signature does not verify") from exc


# (label, algorithm, which half of a hybrid key): signed and verified in this order, both required.
_HALVES: tuple[tuple[str, type[HTTPSignatureAlgorithm], str], ...] = (
    (LABEL, algorithms.ED25519, "ed25519_key"),
    (PQ_LABEL, MLDSA65, "mldsa_key"),
)


class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, lookup: Callable[[str], object | None], private: object | None = None) -> None:
        self.lookup = lookup
        self.private = private

    def resolve_public_key(self, key_id: str) -> object | None:
        return self.lookup(key_id)

    def resolve_private_key(self, key_id: str) -> object:
        if self.private is None:
            raise KeyError(key_id)
        return self.private


@dataclass
class NonceCache:
    """Nonces seen inside the replay window, in memory (the inbox also records them durably)."""

    window: timedelta
    seen: dict[str, datetime] = field(default_factory=dict)


def _sign_both(
    message: _Request | _Response,
    key: HybridSigner,
    *,
    key_id: str,
    created: datetime,
    covered: tuple[str, ...],
    body: bytes,
    nonce: str | None = None,
) -> None:
    for label, algorithm, half in _HALVES:
        HTTPMessageSigner(
            signature_algorithm=algorithm, key_resolver=_Keys(lambda _k: None, getattr(key, half))
        ).sign(
            message,
            key_id=key_id,
            created=created,
            nonce=nonce,
            label=label,
            tag=TAG,
            covered_component_ids=covered,
            body=body,
            append_if_signature_exists=label != LABEL,
            use_existing_digest=label != LABEL,
        )


def _verify_both(
    message: _Request | _Response,
    lookup: Callable[[str], HybridVerifier | None],
    *,
    max_age: timedelta,
    required: tuple[str, ...],
    body: bytes,
) -> list[Any]:
    """Each half verified under its own label; the two must agree on key id, time and nonce."""
    labels = _labels(message.headers.get("signature-input") or "")
    if PQ_LABEL not in labels and LABEL in labels:
        raise FederationAuthError(
            "the message carries no ML-DSA-65 signature (label airrc-pq)",
            code="federation.missing_pq_signature",
        )
    results = []
    for label, algorithm, half in _HALVES:

        def resolve(key_id: str, half: str = half) -> object | None:
            verifier = lookup(key_id)
            return None if verifier is None else getattr(verifier, half)

        verifier = HTTPMessageVerifier(signature_algorithm=algorithm, key_resolver=_Keys(resolve))
        found = verifier.verify(
            message,
            max_age=max_age,
            expect_tag=TAG,
            expect_label=label,
            require_components=required,
            body=body,
        )
        if len(found) != 1:
            raise FederationAuthError(
                f"exactly one {label} signature is expected", code="federation.bad_signature"
            )
        results.append(found[0])
    first, second = (r.parameters for r in results)
    if any(first.get(p) != second.get(p) for p in ("keyid", "created", "nonce")):
        raise FederationAuthError(
            "the two signatures disagree on key, time or nonce", code="federation.bad_signature"
        )
    return results


def _labels(signature_input: str) -> set[str]:
    try:
        return set(HTTPMessageVerifier._parse_signature_dictionary(signature_input))
    except Exception:  # noqa: BLE001 - a malformed field is refused by the verifier itself
        return set()


def sign_request(
    method: str,
    url: str,
    body: bytes,
    *,
    key: HybridSigner,
    key_id: str,
    content_type: str = "application/json",
    now: datetime | None = None,
    nonce: str | None = None,
) -> SignedRequest:
    """Sign a request; returns the headers to send (Content-Digest, Content-Type, Signature-Input, Signature).

    ``now`` and ``nonce`` are for test vectors only: a fresh random nonce is what makes replay detectable."""
    request = _Request(method.upper(), url, _Headers([("content-type", content_type)]))
    _sign_both(
        request,
        key,
        key_id=key_id,
        created=now or datetime.now(UTC),
        covered=REQUEST_COMPONENTS,
        body=body,
        nonce=nonce or secrets.token_urlsafe(18),
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
    lookup: Callable[[str], HybridVerifier | None],
    max_age: timedelta,
) -> tuple[str, str, datetime]:
    """Verify a node-to-node request; return (sender key id, nonce, created). Raise with a specific code.

    Replay (the nonce seen before) is checked by the caller against its durable nonce store.
    """
    fields = _Headers(headers)
    if "signature" not in fields or "signature-input" not in fields:
        raise FederationAuthError("the request is not signed", code="federation.unsigned")
    request = _Request(method.upper(), url, fields)
    try:
        results = _verify_both(request, lookup, max_age=max_age, required=REQUEST_COMPONENTS, body=body)
    except InvalidSignature as exc:
        raise FederationAuthError(_classify(str(exc)), code=_code_for(str(exc))) from exc
    except (HTTPMessageSignaturesException, ValueError, KeyError) as exc:
        raise FederationAuthError(
            "the request signature is malformed", code="federation.bad_signature"
        ) from exc
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
    key: HybridSigner,
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
            _sign_both(
                response, key, key_id=key_id, created=now or datetime.now(UTC), covered=covered, body=body
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
    key: HybridVerifier,
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
    try:
        _verify_both(
            response,
            lambda k: key if k == key_id else None,
            max_age=max_age,
            required=RESPONSE_COMPONENTS if bound else UNBOUND_RESPONSE_COMPONENTS,
            body=body,
        )
    except FederationAuthError as exc:
        if exc.code == "federation.missing_pq_signature":
            raise
        raise FederationAuthError(
            "the response signature does not verify", code="federation.bad_response"
        ) from exc
    except (InvalidSignature, HTTPMessageSignaturesException, ValueError, KeyError) as exc:
        raise FederationAuthError(
            "the response signature does not verify", code="federation.bad_response"
        ) from exc
