from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from airrc.crypto.keys import NodeIdentity
from airrc.crypto.signing import HybridVerifier
from airrc.crypto.trust import make_genesis_card
from airrc.errors import SignatureInvalid, StatementError, UnknownIssuer
from airrc.statements import (
    SignedStatement,
    Statement,
    format_timestamp,
    kind_spec,
    new_statement_id,
    parse_signed_statement,
    register_kind,
    sign_statement,
    verify_statement,
)

LIMIT = 64 * 1024
SKEW = timedelta(minutes=5)


class DictKeyring:
    def __init__(self, cards):
        self.cards = {c.id: c for c in cards}

    def verifier_for(self, issuer: str, at: datetime) -> HybridVerifier:
        if issuer not in self.cards:
            raise UnknownIssuer("not pinned")
        return self.cards[issuer].keys.verifier()


@pytest.fixture(scope="module")
def parties():
    us, cn = NodeIdentity.generate(), NodeIdentity.generate()
    return {
        "us": (us, make_genesis_card(us, name="us-caisi")),
        "cn": (cn, make_genesis_card(cn, name="cn-aisi")),
    }


def _make(parties, *, issued_at=None, body=None, audience=None, issuer="us"):
    identity, card = parties[issuer]
    statement = Statement(
        id=new_statement_id(),
        kind="test.note",
        issuer=card.id,
        seq=1,
        issued_at=format_timestamp(issued_at or datetime.now(UTC)),
        audience=audience or (parties["cn"][1].id,),
        tlp="amber",
        body=body if body is not None else {"title": "voice-clone fraud against hospital"},
    )
    return sign_statement(statement, identity.signer)


def _verify(parties, signed, *, for_node="cn", now=None, max_bytes=LIMIT):
    keyring = DictKeyring([parties["us"][1], parties["cn"][1]])
    return verify_statement(
        signed,
        keyring=keyring,
        for_node=parties[for_node][1].id,
        max_bytes=max_bytes,
        clock_skew=SKEW,
        now=now,
    )


def test_valid_statement_verifies_and_roundtrips(parties):
    signed = _make(parties)
    again = parse_signed_statement(signed.canonical(), max_bytes=LIMIT)
    assert _verify(parties, again) == signed
    assert again.digest() == signed.digest()


def test_tampered_body_is_refused(parties):
    signed = _make(parties)
    doc = signed.to_json()
    doc["statement"]["body"]["title"] = "nothing happened"
    with pytest.raises(SignatureInvalid) as err:
        _verify(parties, parse_signed_statement(doc, max_bytes=LIMIT))
    assert err.value.code == "crypto.bad_signature"


@pytest.mark.parametrize(("field", "algorithm"), [("ed25519", "ed25519"), ("ml-dsa-65", "ml-dsa-65")])
def test_each_tampered_signature_is_refused(parties, field, algorithm):
    signed = _make(parties)
    doc = signed.to_json()
    other = _make(parties).to_json()  # a valid signature, but over another statement
    doc["signatures"][field] = other["signatures"][field]
    with pytest.raises(SignatureInvalid) as err:
        _verify(parties, parse_signed_statement(doc, max_bytes=LIMIT))
    assert err.value.details["algorithm"] == algorithm


def test_unknown_issuer_is_refused(parties):
    stranger = NodeIdentity.generate()
    card = make_genesis_card(stranger, name="xx-unknown")
    signed = sign_statement(_make(parties).statement.model_copy(update={"issuer": card.id}), stranger.signer)
    with pytest.raises(UnknownIssuer) as err:
        _verify(parties, signed)
    assert err.value.code == "trust.unknown_issuer"


def test_oversize_statement_is_refused(parties):
    signed = _make(parties, body={"blob": "x" * 5000})
    with pytest.raises(StatementError) as err:
        _verify(parties, signed, max_bytes=4096)
    assert err.value.code == "statement.too_large"
    with pytest.raises(Exception) as parse_err:
        parse_signed_statement(signed.canonical(), max_bytes=4096)
    assert parse_err.value.code == "input.too_large"


def test_future_statement_is_refused_but_old_one_accepted(parties):
    now = datetime.now(UTC)
    future = _make(parties, issued_at=now + timedelta(minutes=10))
    with pytest.raises(StatementError) as err:
        _verify(parties, future, now=now)
    assert err.value.code == "statement.from_future"
    within_skew = _make(parties, issued_at=now + timedelta(minutes=4))
    _verify(parties, within_skew, now=now)
    ancient = _make(parties, issued_at=now - timedelta(days=400))
    assert _verify(parties, ancient, now=now) == ancient


def test_statement_outside_audience_is_refused(parties):
    signed = _make(parties, audience=(parties["us"][1].id,))
    with pytest.raises(StatementError) as err:
        _verify(parties, signed, for_node="cn")
    assert err.value.code == "statement.not_in_audience"


def test_malformed_statements_are_refused():
    for raw in (b"{", b"[]", b'{"statement": {}, "signatures": {}}'):
        with pytest.raises(Exception) as err:
            parse_signed_statement(raw, max_bytes=LIMIT)
        assert err.value.code in {"input.malformed_json", "statement.malformed"}


def test_unknown_fields_are_refused(parties):
    doc = _make(parties).to_json()
    doc["statement"]["extra"] = 1
    with pytest.raises(StatementError) as err:
        parse_signed_statement(doc, max_bytes=LIMIT)
    assert err.value.code == "statement.malformed"


def test_non_utc_timestamp_is_refused(parties):
    doc = _make(parties).to_json()
    doc["statement"]["issued_at"] = "2026-11-22T10:00:00+08:00"
    with pytest.raises(StatementError):
        parse_signed_statement(doc, max_bytes=LIMIT)


def test_known_kind_body_is_checked(parties):
    identity, card = parties["us"]
    statement = Statement(
        id=new_statement_id(),
        kind="node.roster",
        issuer=card.id,
        seq=2,
        issued_at=format_timestamp(datetime.now(UTC)),
        audience="public",
        body={"users": "x"},
    )
    with pytest.raises(StatementError) as err:
        _verify(parties, sign_statement(statement, identity.signer))
    assert err.value.code == "statement.bad_body"


def test_registering_a_kind_twice_raises():
    with pytest.raises(ValueError, match="already registered"):

        @register_kind("node.roster")
        class Again(BaseModel):
            pass

    assert kind_spec("node.roster") is not None
    assert kind_spec("unknown.kind") is None
    assert kind_spec("federation.receipt").receipted is False


def test_exactly_one_of_body_and_sealed():
    with pytest.raises(ValueError, match="exactly one"):
        Statement(
            id=new_statement_id(),
            kind="x.y",
            issuer="a" * 64,
            seq=1,
            issued_at=format_timestamp(datetime.now(UTC)),
            audience="public",
        )
    assert SignedStatement.model_config["frozen"] is True
