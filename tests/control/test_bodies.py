"""Human-control statements have registered bodies: what the service issues verifies, and a body that
does not fit its kind (an unknown field, a bad vote, a malformed commitment) is refused on verification."""

from datetime import timedelta

import pytest

from airrc.control import bodies
from airrc.errors import StatementError
from airrc.statements import kind_spec, verify_statement


def _verify(node, signed):
    return verify_statement(
        signed, keyring=node.trust, for_node=node.id, max_bytes=1 << 20, clock_skew=timedelta(minutes=5)
    )


def test_every_control_kind_is_registered_with_its_body():
    for kind, model in {
        "control.request": bodies.RequestBody,
        "control.vote": bodies.VoteBody,
        "control.outcome": bodies.OutcomeBody,
        "control.execution": bodies.ExecutionBody,
    }.items():
        spec = kind_spec(kind)
        assert spec is not None
        assert spec.body_model is model


def test_issued_control_statements_verify_and_misfits_are_refused(node):
    vote = {
        "decision_id": "d-1",
        "request": "r-1",
        "voter": "u-1",
        "voter_key": "AAAA",
        "voter_pq_key": "AAAA",
        "vote": "approve",
        "reason_commitment": "0" * 64,
        "reason": {"recipients": {node.id: "AAAA"}},
        "at": "2026-12-03T00:00:00Z",
        "personal_signature": {"ed25519": "AAAA", "ml-dsa-65": "AAAA"},
    }
    with node.store.session() as session:
        good = node.statements.issue(session, kind="control.vote", audience=[node.id], body=vote, tlp="amber")
        misfits = [
            node.statements.issue(session, kind="control.vote", audience=[node.id], body=body, tlp="amber")
            for body in (
                {**vote, "extra": 1},
                {**vote, "vote": "abstain"},
                {**vote, "reason_commitment": "not hex"},
                {**vote, "personal_signature": "AAAA"},
            )
        ]
    assert _verify(node, good) is good
    for signed in misfits:
        with pytest.raises(StatementError) as refused:
            _verify(node, signed)
        assert refused.value.code == "statement.bad_body"
