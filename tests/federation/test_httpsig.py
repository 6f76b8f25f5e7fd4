"""The RFC 9421 profile between nodes: a well-signed request verifies, and every refusal has its code,
with requests built by hand (the signing library used directly where our signer would not err)."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from http_message_signatures import HTTPMessageSigner, algorithms

from airrc.errors import FederationAuthError
from airrc.federation import httpsig

KEY = ed25519.Ed25519PrivateKey.generate()
OTHER = ed25519.Ed25519PrivateKey.generate()
URL = "http://cn.example:8443/federation/v1/statements"
BODY = b'{"statements":[]}'
MAX_AGE = timedelta(minutes=5)


def _lookup(key_id: str):
    return KEY.public_key() if key_id == "node-a" else None


def _verify(headers, *, url=URL, body=BODY, method="POST", lookup=_lookup):
    return httpsig.verify_request(method, url, list(headers.items()), body, lookup=lookup, max_age=MAX_AGE)


def _refused(headers, **kwargs) -> str:
    with pytest.raises(FederationAuthError) as refused:
        _verify(headers, **kwargs)
    return refused.value.code


def _hand_signed(*, components=httpsig.REQUEST_COMPONENTS, nonce="n-1", tag=httpsig.TAG, created=None):
    request = httpsig._Request("POST", URL, httpsig._Headers([("content-type", "application/json")]))
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519, key_resolver=httpsig._Keys(lambda _k: None, KEY)
    )
    signer.sign(
        request,
        key_id="node-a",
        created=created or datetime.now(UTC),
        nonce=nonce,
        label=httpsig.LABEL,
        tag=tag,
        covered_component_ids=components,
        body=BODY,
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
    assert _refused(_signed(), lookup=lambda _k: OTHER.public_key()) == "federation.bad_signature"
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
        key=key.public_key(),
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
