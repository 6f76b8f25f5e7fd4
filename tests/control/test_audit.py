"""The audit of executed protected actions (control/audit.py), over one genuine decision (requested by an
AI system, approved by two approvers, executed once), then one falsified record at a time: each falsification
is named by its violation code."""

from datetime import timedelta

import pytest

from airrc.control.audit import audit, record_rows
from airrc.statements import SignedStatement, format_timestamp, parse_signed_statement
from tests.control.conftest import h, request_decision, vote


@pytest.fixture
def record(env) -> list[SignedStatement]:
    node, client, tokens = env
    decision = request_decision(client, tokens["ai"]).json()["decision"]["id"]
    vote(client, tokens["ann"], decision)
    vote(client, tokens["bob"], decision)
    outcome = client.get(f"/control/v1/decisions/{decision}", headers=h(tokens["ai"])).json()["outcome"]
    grant = outcome["statement"]["body"]["authorization"]["id"]
    executed = client.post(
        f"/control/v1/decisions/{decision}/execution",
        headers=h(tokens["ai"]),
        json={"authorization_id": grant, "executed": True},
    )
    assert executed.status_code == 200, executed.text
    with node.store.read_session() as session:
        return [parse_signed_statement(row.data, max_bytes=1 << 20) for row in record_rows(session)]


def _one(statements, kind):
    (found,) = [s for s in statements if s.statement.kind == kind]
    return found


def _with(signed: SignedStatement, **changes) -> SignedStatement:
    """The same statement with some fields changed (audit judges content; signatures are the bundle's job)."""
    body = {**signed.statement.body, **changes.pop("body", {})}
    return signed.model_copy(
        update={"statement": signed.statement.model_copy(update={"body": body, **changes})}
    )


def _replace(statements, kind, replacement):
    return [replacement if s.statement.kind == kind else s for s in statements]


def _violations(statements) -> list[str]:
    return [v.code for v in audit(statements).violations]


def test_a_genuine_record_is_clean(record):
    report = audit(record)
    assert (report.requests, report.executed, report.executed_with_quorum) == (1, 1, 1)
    assert report.clean


def test_an_execution_without_its_decision_or_authorization(record):
    without_outcome = [s for s in record if s.statement.kind != "control.outcome"]
    assert _violations(without_outcome) == ["control.no_decision"]
    outcome = _one(record, "control.outcome")
    denied = _with(outcome, body={"outcome": "denied", "authorization": None})
    assert _violations(_replace(record, "control.outcome", denied)) == ["control.not_authorized"]
    execution = _one(record, "control.execution")
    other_grant = _with(execution, body={"authorization": "another-authorization"})
    assert _violations(_replace(record, "control.execution", other_grant)) == [
        "control.authorization_mismatch"
    ]
    twice = [*record, _with(execution, seq=execution.statement.seq + 100)]
    assert _violations(twice) == ["control.authorization_mismatch"]


def test_an_execution_before_its_outcome_or_after_expiry(record):
    outcome, execution = _one(record, "control.outcome"), _one(record, "control.execution")
    early = _with(execution, seq=outcome.statement.seq - 1)
    assert _violations(_replace(record, "control.execution", early)) == ["control.out_of_order"]
    request = _one(record, "control.request")
    expired = _with(
        request,
        body={"expires_at": format_timestamp(execution.statement.issued_at_datetime - timedelta(seconds=1))},
    )
    assert _violations(_replace(record, "control.request", expired)) == ["control.authorization_expired"]


def test_quorum_counts_only_valid_approvals(record):
    votes = [s for s in record if s.statement.kind == "control.vote"]
    assert len(votes) == 2
    one_vote = [s for s in record if s is not votes[1]]
    assert _violations(one_vote) == ["control.no_quorum"]
    forged = _with(votes[1], body={"reason_commitment": "0" * 64})  # no longer what the approver signed
    assert _violations([forged if s is votes[1] else s for s in record]) == ["control.no_quorum"]
    outcome = _one(record, "control.outcome")
    late = _with(votes[1], seq=outcome.statement.seq + 1)
    assert _violations([late if s is votes[1] else s for s in record]) == ["control.no_quorum"]
    request = _one(record, "control.request")
    by_requester = _with(request, body={"requester": votes[1].statement.body["voter"]})
    assert _violations(_replace(record, "control.request", by_requester)) == ["control.no_quorum"]
    unpublished = [s for s in record if s.statement.kind != "node.roster"]
    assert _violations(unpublished) == ["control.no_quorum"]


def test_a_violation_the_node_recorded_stays_a_violation(record):
    execution = _one(record, "control.execution")
    recorded = _with(execution, body={"violation": "control.not_authorized"})
    assert _violations(_replace(record, "control.execution", recorded)) == ["control.not_authorized"]
