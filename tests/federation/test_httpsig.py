"""The RFC 9421 profile between nodes: a well-signed request verifies, and every refusal has its code,
with requests built by hand (the signing library used directly where our signer would not err)."""

from datetime import UTC, datetime, timedelta

import pytest
from http_message_signatures import HTTPMessageSigner, algorithms

from airrc.crypto.keys import NodeIdentity
from airrc.crypto.signing import HybridSigner
from airrc.errors import FederationAuthError
from airrc.federation import httpsig

KEY = NodeIdentity.generate().signer
OTHER = NodeIdentity.generate().signer
URL = "http://cn.example:8443/federation/v1/statements"
BODY = b'{"statements":[]}'
MAX_AGE = timedelta(minutes=5)


def _lookup(key_id: str):
    return KEY.verifier if key_id == "node-a" else None


def _verify(headers, *, url=URL, body=BODY, method="POST", lookup=_lookup):
    return httpsig.verify_request(method, url, list(headers.items()), body, lookup=lookup, max_age=MAX_AGE)


def _refused(headers, **kwargs) -> str:
    with pytest.raises(FederationAuthError) as refused:
        _verify(headers, **kwargs)
    return refused.value.code


def _hand_signed(
    *,
    components=httpsig.REQUEST_COMPONENTS,
    nonce="n-1",
    tag=httpsig.TAG,
    created=None,
    halves=(
        (httpsig.LABEL, algorithms.ED25519, "ed25519_key"),
        (httpsig.PQ_LABEL, httpsig.MLDSA65, "mldsa_key"),
    ),
    key: HybridSigner = KEY,
    pq_nonce=None,
):
    request = httpsig._Request("POST", URL, httpsig._Headers([("content-type", "application/json")]))
    for i, (label, algorithm, half) in enumerate(halves):
        signer = HTTPMessageSigner(
            signature_algorithm=algorithm, key_resolver=httpsig._Keys(lambda _k: None, getattr(key, half))
        )
        signer.sign(
            request,
            key_id="node-a",
            created=created or datetime.now(UTC),
            nonce=pq_nonce if (i and pq_nonce) else nonce,
            label=label,
            tag=tag,
            covered_component_ids=components,
            body=BODY,
            append_if_signature_exists=i > 0,
            use_existing_digest=i > 0,
        )
    return dict(request.headers.items())


def _signed(**kwargs):
    return httpsig.sign_request("POST", URL, BODY, key=KEY, key_id="node-a", **kwargs).headers


def test_a_well_signed_request_verifies_to_its_sender_and_nonce():
    key_id, nonce, created = _verify(_signed())
    assert key_id == "node-a"
    assert 16 <= len(nonce) <= httpsig.MAX_NONCE
    assert abs(datetime.now(UTC) - created) < timedelta(seconds=5)


def test_unsigned_and_malformed_signatures_are_refused():
    assert _refused({"content-type": "application/json"}) == "federation.unsigned"
    garbled = _signed() | {"signature": "airrc=:AAAA:"}
    assert _refused(garbled) == "federation.bad_signature"
    unparsable = _signed() | {"signature-input": "airrc=((("}
    assert _refused(unparsable) == "federation.bad_signature"


def test_any_change_to_a_covered_part_breaks_the_signature():
    headers = _signed()
    assert _refused(headers, body=b'{"statements":[1]}') == "federation.bad_digest"
    assert _refused(headers, url=URL + "?since=0") == "federation.bad_signature"
    assert _refused(headers, method="PUT") == "federation.bad_signature"
    assert _refused(headers | {"content-type": "text/plain"}) == "federation.bad_signature"


def test_keys_must_be_the_pinned_ones():
    assert _refused(_signed(), lookup=lambda _k: OTHER.verifier) == "federation.bad_signature"
    assert _refused(_signed(), lookup=lambda _k: None) == "federation.unknown_key"


def test_old_and_future_dated_requests_are_stale():
    now = datetime.now(UTC)
    assert _refused(_signed(now=now - 2 * MAX_AGE)) == "federation.stale"
    assert _refused(_signed(now=now + 2 * MAX_AGE)) == "federation.stale"


def test_the_profile_components_tag_and_nonce_are_required():
    assert _refused(_hand_signed(components=("@method", "@target-uri"))) == "federation.under_covered"
    assert _refused(_hand_signed(nonce=None)) == "federation.no_nonce"
    assert _refused(_hand_signed(nonce="x" * (httpsig.MAX_NONCE + 1))) == "federation.no_nonce"
    assert _refused(_hand_signed(tag="someone-else/v1")) == "federation.bad_signature"


def test_both_halves_of_the_hybrid_signature_are_required():
    assert _verify(_hand_signed())[0] == "node-a"
    ed25519_only = _hand_signed(halves=((httpsig.LABEL, algorithms.ED25519, "ed25519_key"),))
    assert _refused(ed25519_only) == "federation.missing_pq_signature"
    pq_only = _hand_signed(halves=((httpsig.PQ_LABEL, httpsig.MLDSA65, "mldsa_key"),))
    assert _refused(pq_only) == "federation.bad_signature"
    # The ML-DSA half by another key, grafted onto a genuine Ed25519 half.
    genuine, forged = _hand_signed(), _hand_signed(key=OTHER)
    grafted = genuine | {
        "signature": genuine["signature"].split(", ")[0] + ", " + forged["signature"].split(", ")[1],
    }
    assert _refused(grafted) == "federation.bad_signature"
    # Each half verified under its own algorithm: an Ed25519 signature labelled airrc-pq is refused.
    swapped = _hand_signed(
        halves=(
            (httpsig.LABEL, algorithms.ED25519, "ed25519_key"),
            (httpsig.PQ_LABEL, algorithms.ED25519, "ed25519_key"),
        )
    )
    assert _refused(swapped) == "federation.bad_signature"
    assert _refused(_hand_signed(pq_nonce="n-2")) == "federation.bad_signature"


def test_the_two_labels_carry_their_algorithms():
    signature_input = _signed()["signature-input"]
    assert "airrc=(" in signature_input
    assert 'alg="ed25519"' in signature_input
    assert "airrc-pq=(" in signature_input
    assert 'alg="ml-dsa-65"' in signature_input


def _response(status=200, body=b'{"ok":true}', request_headers=None):
    request_headers = request_headers or _signed()
    headers = httpsig.sign_response(
        status,
        body,
        request_method="POST",
        request_url=URL,
        request_headers=request_headers.items(),
        key=KEY,
        key_id="node-a",
    )
    return headers, request_headers


def _verify_response(headers, request_headers, *, status=200, body=b'{"ok":true}', url=URL, key=KEY):
    httpsig.verify_response(
        status,
        list(headers.items()),
        body,
        request_method="POST",
        request_url=url,
        request_headers=request_headers.items(),
        key=key.verifier,
        key_id="node-a",
        max_age=MAX_AGE,
    )


def test_a_response_is_bound_to_its_status_body_and_request():
    headers, request_headers = _response()
    _verify_response(headers, request_headers)
    refusals = [
        {"status": 422},
        {"body": b'{"ok":false}'},
        {"url": URL.replace("cn.example", "mallory.example")},
        {"key": OTHER},
    ]
    for change in refusals:
        with pytest.raises(FederationAuthError) as refused:
            _verify_response(headers, request_headers, **change)
        assert refused.value.code == "federation.bad_response", change
    # Replayed as the answer to another request (another signature-input): refused.
    with pytest.raises(FederationAuthError) as replayed:
        _verify_response(headers, _signed())
    assert replayed.value.code == "federation.bad_response"
    with pytest.raises(FederationAuthError) as unsigned:
        _verify_response({"content-type": "application/json"}, request_headers)
    assert unsigned.value.code == "federation.unsigned_response"
    ed25519_only = {
        "content-type": headers["content-type"],
        "content-digest": headers["content-digest"],
        "signature-input": headers["signature-input"].split(", airrc-pq=")[0],
        "signature": headers["signature"].split(", airrc-pq=")[0],
    }
    with pytest.raises(FederationAuthError) as half:
        _verify_response(ed25519_only, request_headers)
    assert half.value.code == "federation.missing_pq_signature"
