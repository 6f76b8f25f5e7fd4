"""Shared by the control tests: a node with approvers, an analyst and an AI system, each with a token."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from airrc.api.app import create_app

PASSWORDS = {
    "ann": "approver ann pass",
    "bob": "approver bob pass",
    "cat": "approver cat pass",
    "dan": "analyst dan pass!",
    "eve": "analyst+approver",
}
ACTION = {"operation": "shutdown", "substation": "North-7", "grid": "test"}


@pytest.fixture
def env(node):
    with node.store.session() as s:
        for name in ("ann", "bob", "cat"):
            node.add_user(s, name, PASSWORDS[name], ["approver"])
        node.add_user(s, "dan", PASSWORDS["dan"], ["analyst"])
        node.add_user(s, "eve", PASSWORDS["eve"], ["analyst", "approver"])
        planner = node.principals.add_service(s, "grid-planner")
        ai_token = node.principals.create_token(s, planner, lifetime=timedelta(hours=1))
    client = TestClient(create_app(node))
    tokens = {"ai": ai_token}
    for name, password in PASSWORDS.items():
        r = client.post("/api/v1/auth/login", json={"username": name, "password": password})
        tokens[name] = r.json()["token"]
        TOKEN_PASSWORDS[tokens[name]] = password
    return node, client, tokens


def h(token):
    return {"authorization": f"Bearer {token}"}


def request_decision(client, token, category="critical_infrastructure_shutdown", expiry=None):
    return client.post(
        "/control/v1/decisions",
        headers=h(token),
        json={
            "category": category,
            "action": ACTION,
            "rationale": "load shedding to stop cascading failure",
            "confidence": 0.82,
            "evidence": [],
            "expiry_seconds": expiry,
        },
    )


# A token never signs: each vote carries its approver's password (looked up by the token here).
TOKEN_PASSWORDS: dict[str, str] = {}


def vote(client, token, decision, approve=True, password=None):
    body = {"approve": approve, "reason": "checked with the grid operator"}
    if (password := TOKEN_PASSWORDS.get(token) if password is None else password) is not None:
        body["password"] = password
    return client.post(f"/control/v1/decisions/{decision}/votes", headers=h(token), json=body)
