"""The TAXII 2.1 server driven by taxii2-client over real HTTP (uvicorn in a thread)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import requests
import uvicorn
from harness.nodes import free_port
from taxii2client.v21 import Server, as_pages

from airrc.api.app import create_app
from airrc.exchange.policy import PartnerPolicy
from airrc.exchange.search import SearchQuery
from airrc.exchange.stix import TLP1_IDS
from airrc.node import Node
from tests.exchange.reports import grid_report
from tests.hotline.conftest import Net


class Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


@contextmanager
def served(node: Node) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(node), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _token(node: Node, name: str, roles=("observer",)) -> tuple[str, str]:
    with node.store.session() as s:
        principal = node.principals.add_service(s, name, roles)
        return principal.id, node.principals.create_token(s, principal, lifetime=timedelta(hours=1))


def _publish(node: Node, **overrides) -> None:
    with node.store.session() as s:
        key = node.exchange.create(s, grid_report(**overrides)).key
    with node.store.session() as s:
        node.exchange.publish(s, str(key))


def test_taxii2_client_drives_every_endpoint(net: Net) -> None:
    us = net.nodes["us"]
    with us.store.session() as s:
        us.exchange.set_policy(s, "cn", PartnerPolicy(max_tlp="amber", redact=("affected_systems",)))
        us.exchange.set_policy(s, "sg", PartnerPolicy(max_tlp="green"))
    _publish(us)  # amber: cn only
    _publish(us, tlp="green", observables=[{"type": "url", "value": "https://fake-grid.example/login"}])
    _publish(us, tlp="red")  # nobody
    cn_principal, cn_token = _token(us, "taxii-cn")
    _, admin_token = _token(us, "taxii-analyst", roles=("analyst",))
    with us.store.read_session() as s:
        cn_id = us.trust.by_name(s, "cn").id
        sg_id = us.trust.by_name(s, "sg").id
    view_cn = us.taxii.collection_id("view", cn_id)
    view_sg = us.taxii.collection_id("view", sg_id)
    with us.store.session() as s:
        us.taxii.grant(s, cn_principal, view_cn, read=True, write=False)

    with served(us) as url:
        partner = Server(f"{url}/taxii2/", auth=Bearer(cn_token))
        assert partner.title == "airrc node us"
        (root,) = partner.api_roots
        assert root.versions == ["application/taxii+json;version=2.1"]
        (collection,) = root.collections  # a partner sees only its own view
        assert collection.id == view_cn
        assert collection.can_read
        assert not collection.can_write

        objects = [
            o for page in as_pages(collection.get_objects, per_request=3) for o in page.get("objects", [])
        ]
        reports = [o for o in objects if o["type"] == "report"]
        assert {r["extensions"][next(iter(r["extensions"]))]["tlp"] for r in reports} == {"amber", "green"}
        extensions = [next(iter(r["extensions"].values())) for r in reports]
        assert all("affected_systems" not in e and e["redacted"] == ["affected_systems"] for e in extensions)
        assert "Jane Doe" not in str(objects)  # scrubbed

        indicators = collection.get_objects(type="indicator")["objects"]
        assert indicators
        assert {o["type"] for o in indicators} == {"indicator"}
        one = collection.get_object(reports[0]["id"])
        assert [o["id"] for o in one["objects"]] == [reports[0]["id"]]
        assert collection.object_versions(reports[0]["id"])["versions"] == [reports[0]["modified"]]
        manifest = collection.get_manifest()
        assert {m["id"] for m in manifest["objects"]} == {o["id"] for o in objects}
        assert collection.get_objects(spec_version="2.0") == {}
        assert collection.get_objects(added_after="2999-01-01T00:00:00Z") == {}
        headers = requests.get(
            f"{url}/taxii2/api/collections/{view_cn}/objects/",
            headers={"Authorization": f"Bearer {cn_token}", "Accept": "application/taxii+json;version=2.1"},
            timeout=10,
        ).headers
        assert headers["X-TAXII-Date-Added-First"]
        assert headers["X-TAXII-Date-Added-Last"]
        assert headers["Content-Type"].startswith("application/taxii+json;version=2.1")

        denied = requests.get(
            f"{url}/taxii2/api/collections/{view_sg}/objects/",
            headers={"Authorization": f"Bearer {cn_token}", "Accept": "application/taxii+json;version=2.1"},
            timeout=10,
        )
        assert denied.status_code == 403
        assert denied.json()["error_code"] == "taxii.forbidden"
        wrong_accept = requests.get(
            f"{url}/taxii2/",
            headers={"Authorization": f"Bearer {cn_token}", "Accept": "text/html"},
            timeout=10,
        )
        assert wrong_accept.status_code == 406
        assert requests.get(f"{url}/taxii2/", timeout=10).status_code == 401

        # an analyst writes into the inbox: a MISP-style bundle with TLP 1.0 becomes a draft report
        analyst = Server(f"{url}/taxii2/", auth=Bearer(admin_token))
        inbox = next(c for c in analyst.api_roots[0].collections if c.can_write)
        misp = {
            "objects": [
                {
                    "type": "report",
                    "spec_version": "2.1",
                    "id": "report--1b5c1e47-2d86-4c43-8f3a-6a7d0f0c2e11",
                    "created": "2026-11-20T10:00:00.000Z",
                    "modified": "2026-11-20T10:00:00.000Z",
                    "name": "Voice-cloning fraud against a bank",
                    "published": "2026-11-20T10:00:00.000Z",
                    "labels": ["ai_enabled_fraud"],
                    "object_refs": ["indicator--2c1f0b5e-8d2a-4f7e-9a61-3b0c4d5e6f70"],
                    "object_marking_refs": [next(iter(TLP1_IDS))],
                },
                {
                    "type": "indicator",
                    "spec_version": "2.1",
                    "id": "indicator--2c1f0b5e-8d2a-4f7e-9a61-3b0c4d5e6f70",
                    "created": "2026-11-20T10:00:00.000Z",
                    "modified": "2026-11-20T10:00:00.000Z",
                    "pattern": "[domain-name:value = 'bank-verify.example']",
                    "pattern_type": "stix",
                    "valid_from": "2026-11-20T10:00:00Z",
                },
            ]
        }
        # another tool's bundle carries no origin country: the node's own (asked for at init) is used
        with us.store.read_session() as s:
            drafts_before = len(us.exchange.search(s, SearchQuery(status="draft")))
        status = inbox.add_objects(misp)
        assert status.status == "complete"
        assert (status.success_count, status.failure_count) == (2, 0)
        with us.store.read_session() as s:
            drafts = us.exchange.search(s, SearchQuery(status="draft"))
            assert len(drafts) == drafts_before + 1
            exported = us.exchange.export_stix(s, reports[0]["id"].removeprefix("report--"), partner="cn")
            drafts_before = len(drafts)
        status = inbox.add_objects({"objects": exported["objects"]})
        assert status.success_count == len(exported["objects"])
        assert status.failure_count == 0
        assert analyst.api_roots[0].get_status(status.id).status == "complete"
        with us.store.read_session() as s:
            assert len(us.exchange.search(s, SearchQuery(status="draft"))) == drafts_before + 1


def test_paging_cursors_survive_a_restart(net: Net) -> None:
    us = net.nodes["us"]
    with us.store.session() as s:
        us.exchange.set_policy(s, "cn", PartnerPolicy(max_tlp="amber"))
    for _ in range(3):
        _publish(us)
    _, token = _token(us, "taxii-reader", roles=("analyst",))
    with us.store.read_session() as s:
        view = us.taxii.collection_id("view", us.trust.by_name(s, "cn").id)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/taxii+json;version=2.1"}
    with served(us) as url:
        first = requests.get(
            f"{url}/taxii2/api/collections/{view}/objects/?limit=4", headers=headers, timeout=10
        ).json()
    assert first["more"]
    assert first["next"]
    with served(us) as url:  # a new server process would read the same storage
        rest = requests.get(
            f"{url}/taxii2/api/collections/{view}/objects/?limit=1000&next={first['next']}",
            headers=headers,
            timeout=10,
        ).json()
        everything = requests.get(
            f"{url}/taxii2/api/collections/{view}/objects/?limit=1000", headers=headers, timeout=10
        ).json()
        bad = requests.get(
            f"{url}/taxii2/api/collections/{view}/objects/?next=garbage!", headers=headers, timeout=10
        )
    assert [o["id"] for o in first["objects"] + rest["objects"]] == [o["id"] for o in everything["objects"]]
    assert bad.status_code == 400
    assert bad.json()["error_code"] == "taxii.bad_cursor"


@pytest.mark.parametrize("objects", [[{"type": "report"}], "not a list"])
def test_bad_envelopes_are_refused(net: Net, objects) -> None:
    us = net.nodes["us"]
    _, token = _token(us, "taxii-writer", roles=("analyst",))
    inbox = us.taxii.collection_id("inbox")
    with served(us) as url:
        response = requests.post(
            f"{url}/taxii2/api/collections/{inbox}/objects/",
            json={"objects": objects},
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/taxii+json;version=2.1",
                "Content-Type": "application/taxii+json;version=2.1",
            },
            timeout=10,
        )
        wrong_type = requests.post(
            f"{url}/taxii2/api/collections/{inbox}/objects/",
            json={"objects": []},
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=10,
        )
    assert response.status_code in (202, 400)
    if response.status_code == 202:
        assert response.json()["failure_count"] == 1
    assert wrong_type.status_code == 415


def test_version_filters(net: Net) -> None:
    from fastapi.testclient import TestClient

    us = net.nodes["us"]
    _, token = _token(us, "taxii-versions", roles=("analyst",))
    inbox = us.taxii.collection_id("inbox")
    base = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--2c1f0b5e-8d2a-4f7e-9a61-3b0c4d5e6f70",
    }
    with us.store.session() as s:
        us.taxii.add(s, inbox, [{**base, "modified": "2026-11-21T00:00:00.000Z"}])
        us.taxii.add(
            s,
            inbox,
            [
                {**base, "modified": "2026-11-23T00:00:00.000Z"},
                {**base, "modified": "2026-11-22T00:00:00.000Z"},
            ],
        )
    client = TestClient(create_app(us))
    h = {"Authorization": f"Bearer {token}", "Accept": "application/taxii+json;version=2.1"}
    url = f"/taxii2/api/collections/{inbox}/objects/"

    def modified(params: str) -> list[str]:
        return sorted(
            o["modified"][:10] for o in client.get(url + params, headers=h).json().get("objects", [])
        )

    assert modified("") == ["2026-11-23"]
    assert modified("?match[version]=first") == ["2026-11-21"]
    assert modified("?match[version]=all") == ["2026-11-21", "2026-11-22", "2026-11-23"]
    assert modified("?match[version]=2026-11-22T00:00:00.000Z") == ["2026-11-22"]
    assert modified("?match[version]=first,last") == ["2026-11-21", "2026-11-23"]
    versions = client.get(f"/taxii2/api/collections/{inbox}/objects/{base['id']}/versions/", headers=h).json()
    assert len(versions["versions"]) == 3


def _taxii_error(response, status: int, code: str) -> dict:
    """A TAXII 2.1 error message resource (§3.6.1), in the TAXII media type, with our stable code."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/taxii+json;version=2.1"
    doc = response.json()
    assert doc["title"]
    assert doc["http_status"] == str(status)
    assert doc["error_code"] == code
    return doc


def test_versions_media_types_errors_and_basic_auth(net: Net) -> None:
    us = net.nodes["us"]
    with us.store.session() as s:
        us.add_user(s, "taxii-user", "taxii user password 1", ["analyst"])
    _, token = _token(us, "taxii-media", roles=("analyst",))
    inbox = us.taxii.collection_id("inbox")
    bearer = {"Authorization": f"Bearer {token}"}
    v21 = "application/taxii+json;version=2.1"
    with served(us) as url:
        root = f"{url}/taxii2/"
        objects = f"{url}/taxii2/api/collections/{inbox}/objects/"
        # TAXII 2.0 is another protocol: not acceptable, not a supported body.
        _taxii_error(
            requests.get(
                root, headers={**bearer, "Accept": "application/taxii+json;version=2.0"}, timeout=10
            ),
            406,
            "taxii.not_acceptable",
        )
        assert requests.get(root, headers={**bearer, "Accept": "application/taxii+json"}, timeout=10).ok
        assert requests.get(root, headers={**bearer, "Accept": f"text/html, {v21}"}, timeout=10).ok
        _taxii_error(
            requests.post(
                objects,
                data=b'{"objects": []}',
                headers={**bearer, "Accept": v21, "Content-Type": "application/taxii+json;version=2.0"},
                timeout=10,
            ),
            415,
            "taxii.unsupported_media_type",
        )
        for limit in ("0", "-1", "x"):
            _taxii_error(
                requests.get(f"{objects}?limit={limit}", headers={**bearer, "Accept": v21}, timeout=10),
                400,
                "input.bad_parameter",
            )
        _taxii_error(
            requests.get(f"{url}/taxii2/api/collections/nope/", headers=bearer, timeout=10),
            404,
            "taxii.unknown_collection",
        )
        anonymous = requests.get(root, timeout=10)
        _taxii_error(anonymous, 401, "auth.unauthenticated")
        assert "Basic" in anonymous.headers["www-authenticate"]

        # HTTP Basic with a user's password, as TAXII clients send it; the same roles as a token.
        server = Server(root, user="taxii-user", password="taxii user password 1")
        assert server.title == "airrc node us"
        assert any(c.can_write for c in server.api_roots[0].collections)
        _taxii_error(
            requests.get(root, auth=("taxii-user", "wrong password"), timeout=10), 401, "auth.bad_credentials"
        )
        _taxii_error(
            requests.get(root, headers={"Authorization": "Basic !!notbase64"}, timeout=10),
            401,
            "auth.bad_credentials",
        )
        # Failures are throttled exactly as logins are.
        for _ in range(6):
            requests.get(root, auth=("taxii-user", "wrong again"), timeout=10)
        _taxii_error(
            requests.get(root, auth=("taxii-user", "wrong again"), timeout=10), 429, "auth.throttled"
        )
