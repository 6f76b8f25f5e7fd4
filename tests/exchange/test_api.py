"""/exchange/v1 over HTTP, in-process: codes and statuses for bad input; nothing half-stored."""

from __future__ import annotations

from fastapi.testclient import TestClient

from airrc.api.app import create_app
from tests.conftest import ADMIN_PASSWORD
from tests.exchange.reports import grid_report
from tests.exchange.test_stix import _misp_bundle


def test_reports_over_the_api(make_node):
    node = make_node("us-api", limits={"max_request_bytes": 64 * 1024})
    peer = make_node("cn-api")
    with node.store.session() as s:
        node.trust.pin_chain(s, peer.card_chain())
    client = TestClient(create_app(node))
    token = client.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()[
        "token"
    ]
    h = {"authorization": f"Bearer {token}"}

    assert client.put("/exchange/v1/policies/cn-api", headers=h, json={"max_tlp": "amber"}).status_code == 200
    created = client.post("/exchange/v1/reports", headers=h, json=grid_report())
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    preview = client.get(f"/exchange/v1/reports/{key}/preview", headers=h).json()
    assert preview[0]["partner"] == "cn-api"
    assert preview[0]["shared"]
    published = client.post(f"/exchange/v1/reports/{key}/publish", headers=h)
    assert published.status_code == 200
    assert len(published.json()["statements"]) == 1
    again = client.post(f"/exchange/v1/reports/{key}/publish", headers=h)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "exchange.already_published"
    stix = client.get(f"/exchange/v1/reports/{key}/stix?partner=cn-api", headers=h).json()
    assert stix["type"] == "bundle"
    listed = client.get("/exchange/v1/reports?sector=energy_power_grid", headers=h).json()
    assert [r["key"] for r in listed["reports"]] == [key]
    # TLP in any case; an unknown filter value is refused listing the valid ones (not an empty page).
    amber = client.get("/exchange/v1/reports?tlp=AMBER", headers=h).json()
    assert [r["key"] for r in amber["reports"]] == [key]
    for query, valid in (("sector=power", "energy_power_grid"), ("tlp=orange", "amber+strict")):
        refused = client.get(f"/exchange/v1/reports?{query}", headers=h)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "exchange.bad_query"
        assert valid in refused.json()["error"]["message"]
    assert client.get("/exchange/v1/atlas?q=deepfake", headers=h).json()

    bad = client.post(
        "/exchange/v1/reports", headers=h, json=grid_report(observables=[{"type": "ipv6", "value": "::zz"}])
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "exchange.bad_observable"
    unknown = client.post(
        "/exchange/v1/reports/00000000-0000-4000-8000-000000000000/revoke", headers=h, json={}
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "exchange.unknown_report"

    imported = client.post(
        "/exchange/v1/stix?origin_country=FR",
        headers=h,
        json=_misp_bundle("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["reports"][0]["status"] == "draft"
    wrong = _misp_bundle("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9")
    wrong["objects"][1]["spec_version"] = "2.0"
    refused = client.post("/exchange/v1/stix?origin_country=FR", headers=h, json=wrong)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "stix.bad_spec_version"
    huge = {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [{"pad": "x" * 70_000}],
    }
    too_large = client.post("/exchange/v1/stix", headers=h, json=huge)
    assert too_large.status_code == 413
    before = client.get("/exchange/v1/reports", headers=h).json()["reports"]
    assert len(before) == 2  # the refused imports stored nothing
