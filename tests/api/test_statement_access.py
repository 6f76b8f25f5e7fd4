"""GET /api/v1/statements/{id} applies the role rules of the statement's mechanism (probe finding: every
authenticated caller read clear text of report statements that /exchange/v1/reports refuses them)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from airrc.api.app import create_app
from airrc.node import Node

ROLES = ("analyst", "observer", "duty_officer", "evaluator", "approver")


@pytest.fixture
def setup(node: Node):
    tokens = {}
    with node.store.session() as session:
        for role in ROLES:
            row = node.principals.add_user(
                session, f"u-{role.replace('_', '-')}", "a long password 123", [role]
            )
            tokens[role] = node.principals.create_token(session, row, lifetime=timedelta(hours=1))
        service = node.principals.add_service(session, "planner")
        tokens["ai_system"] = node.principals.create_token(session, service, lifetime=timedelta(hours=1))
        report = node.statements.issue(
            session,
            kind="exchange.report",
            body={"report_id": str(uuid.uuid4()), "version": 1, "action": "revoke", "reason": "withdrawn"},
        )
        note = node.statements.issue(session, kind="test.note", body={"n": 1})
        roster = node.publish_roster(session)
    with TestClient(create_app(node)) as client:
        yield client, tokens, {"exchange": report, "test": note, "node": roster}


@pytest.mark.parametrize(
    ("role", "kind", "allowed"),
    [
        ("analyst", "exchange", True),
        ("observer", "exchange", True),
        ("duty_officer", "exchange", True),
        ("evaluator", "exchange", False),
        ("approver", "exchange", False),
        ("ai_system", "exchange", False),
        ("analyst", "test", False),
        ("approver", "node", True),
        ("ai_system", "node", False),
    ],
)
def test_a_statement_is_read_only_by_the_roles_of_its_mechanism(setup, role, kind, allowed):
    client, tokens, statements = setup
    answer = client.get(
        f"/api/v1/statements/{statements[kind].statement.id}",
        headers={"authorization": f"Bearer {tokens[role]}"},
    )
    if allowed:
        assert answer.status_code == 200, answer.text
        assert answer.json()["statement"]["id"] == statements[kind].statement.id
    else:
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "auth.forbidden"
        assert "withdrawn" not in answer.text
