"""Every answer under /federation/v1/ is signed (RFC 9421), refusals included: a peer can prove what it
was told, and a man in the middle cannot forge a 401 to make a sender give up on a batch."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from airrc.api.app import create_app
from airrc.errors import FederationAuthError
from airrc.federation import httpsig

URL = "http://testserver/federation/v1/statements"


@pytest.fixture
def pair(make_node):
    receiver, sender = make_node("us-recv"), make_node("cn-send")
    with receiver.store.session() as s:
        receiver.trust.pin_chain(s, sender.card_chain())
    return receiver, sender


def _check(receiver, response, request_headers, *, bound=True, status=None, method="POST", url=URL) -> None:
    httpsig.verify_response(
        response.status_code if status is None else status,
        response.headers.items(),
        response.content,
        request_method=method,
        request_url=url,
        request_headers=request_headers.items(),
        key=receiver.identity.signer.verifier,
        key_id=receiver.id,
        max_age=timedelta(minutes=5),
        bound=bound,
    )


def test_refusals_are_signed_and_bound_to_the_request(pair, make_node):
    receiver, sender = pair
    stranger = make_node("xx-stranger")
    with TestClient(create_app(receiver)) as client:
        # Unsigned: nothing to bind to but the method and target, which the answer covers.
        unsigned = client.post(
            URL, content=b'{"statements":[]}', headers={"content-type": "application/json"}
        )
        assert unsigned.status_code == 401
        assert unsigned.json()["error"]["code"] == "federation.unsigned"
        _check(receiver, unsigned, {"content-type": "application/json"}, bound=False)
        with pytest.raises(
            FederationAuthError
        ):  # a bound verifier refuses it: it covers no request signature
            _check(receiver, unsigned, {"content-type": "application/json"}, bound=True)

        # Signed by an unpinned key: refused, and the refusal is bound to that very request.
        body = b'{"statements":[]}'
        signed = httpsig.sign_request("POST", URL, body, key=stranger.identity.signer, key_id=stranger.id)
        unknown = client.post(URL, content=body, headers=signed.headers)
        assert unknown.status_code == 401
        assert unknown.json()["error"]["code"] == "federation.unknown_key"
        _check(receiver, unknown, signed.headers, bound=True)

        # A body that is not a batch, from a pinned peer: a signed 4xx too.
        junk = b'{"statements": 7}'
        signed = httpsig.sign_request("POST", URL, junk, key=sender.identity.signer, key_id=sender.id)
        refused = client.post(URL, content=junk, headers=signed.headers)
        assert 400 <= refused.status_code < 500
        assert refused.json()["error"]["code"] != "internal.error"
        _check(receiver, refused, signed.headers, bound=True)
        # The signature does not carry over to another answer: a tampered status or body fails.
        with pytest.raises(FederationAuthError):
            _check(receiver, refused, signed.headers, status=200)

        # Outside /federation/v1/ answers are not signed.
        assert "signature" not in client.get("/api/v1/nothing-here").headers


def test_behind_a_tls_proxy_the_public_base_url_is_the_signed_target(make_node):
    # The proxy terminates https://airrc.example/gw and forwards to this server as plain http.
    public = "https://airrc.example/gw"
    receiver = make_node("us-proxied", public_base_url=public, endpoints=(public,))
    sender = make_node("cn-caller")
    with receiver.store.session() as s:
        receiver.trust.pin_chain(s, sender.card_chain())
    signed_url = f"{public}/federation/v1/limits"
    with TestClient(create_app(receiver)) as client:
        request = httpsig.sign_request("GET", signed_url, b"", key=sender.identity.signer, key_id=sender.id)
        answer = client.get("/federation/v1/limits", headers=request.headers)
        assert answer.status_code == 200, answer.text
        # The answer is bound to the URL the sender signed, so the sender's own check passes.
        _check(receiver, answer, request.headers, method="GET", url=signed_url)
        # A request signed for the internal address is not one a peer made through the proxy.
        inner = httpsig.sign_request(
            "GET",
            "http://testserver/federation/v1/limits",
            b"",
            key=sender.identity.signer,
            key_id=sender.id,
        )
        refused = client.get("/federation/v1/limits", headers=inner.headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "federation.bad_signature"
