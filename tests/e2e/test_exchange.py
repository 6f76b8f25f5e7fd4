"""Two real nodes exchange reports under a policy; RED stays home; revocation follows the report."""

import json
import sqlite3

import pytest

from tests.e2e.conftest import cli, wait_until
from tests.exchange.reports import grid_report

pytestmark = pytest.mark.e2e


def test_reports_cross_between_real_nodes_under_policy(cluster, tmp_path):
    us, cn = cluster.add("us-ex"), cluster.add("cn-ex")
    cluster.pin_all()
    cluster.start()
    assert f"listening on {us.url}" in us.log.read_text()  # `airrc serve` says where it listens
    cli("report", "policy", "cn-ex", "--set", "--max-tlp", "amber", "--redact", "observables", home=us.home)
    # Showing never changes: options without --set are refused, and the policy stays AMBER.
    shown = cli("report", "policy", "cn-ex", "--max-tlp", "green", home=us.home, check=False)
    assert shown.returncode == 1
    assert "exchange.policy_needs_set" in shown.stderr
    current = json.loads(cli("report", "policy", "cn-ex", home=us.home).stdout)
    assert (current["set"], current["policy"]["max_tlp"], current["policy"]["redact"]) == (
        True,
        "amber",
        ["observables"],
    )
    (listed,) = json.loads(cli("report", "policies", home=us.home).stdout)
    assert (listed["partner"], listed["policy"]["max_tlp"]) == ("cn-ex", "amber")
    amber, red, bad = tmp_path / "amber.json", tmp_path / "red.json", tmp_path / "bad.json"
    amber.write_text(json.dumps(grid_report()))
    red.write_text(json.dumps(grid_report(tlp="red")))
    bad.write_text(json.dumps(grid_report(techniques=["AML.T9999"])))
    refused = cli("report", "new", str(bad), home=us.home, check=False)
    assert refused.returncode == 1
    assert "exchange.unknown_technique" in refused.stderr
    amber_key = cli("report", "new", str(amber), home=us.home).stdout.split()[1]
    red_key = cli("report", "new", str(red), home=us.home).stdout.split()[1]
    assert "cn-ex: sent" in cli("report", "publish", amber_key, home=us.home).stdout
    assert "tlp.red_never_leaves" in cli("report", "publish", red_key, home=us.home).stdout
    again = cli("report", "publish", amber_key, home=us.home, check=False)
    assert again.returncode == 1
    assert "exchange.already_published" in again.stderr

    def received():
        return json.loads(cli("report", "list", "--origin", "us-ex", "--json", home=cn.home).stdout)

    wait_until(lambda: len(received()) == 1, what="the report at cn")
    # The policy in force was itself a signed statement to cn: both sides hold it.
    with sqlite3.connect(cn.home / "node.db") as db:
        policies = [
            json.loads(row[0])
            for row in db.execute("SELECT data FROM statements WHERE kind = 'exchange.policy'")
        ]
    assert [p["statement"]["body"]["policy"]["max_tlp"] for p in policies] == ["amber"]
    (row,) = received()
    assert row["tlp"] == "amber"
    assert "observables" not in row["report"]
    assert "Jane Doe" not in json.dumps(row)

    revoked = cli("report", "revoke", amber_key, "--reason", "retracted", home=us.home)
    assert "1 partner(s) told" in revoked.stdout
    wait_until(lambda: received()[0]["status"] == "revoked", what="the revocation at cn")

    bundle = json.loads(cli("stix", "export", amber_key, "--for", "cn-ex", home=us.home).stdout)
    assert {o["type"] for o in bundle["objects"]} >= {
        "report",
        "attack-pattern",
        "identity",
        "marking-definition",
    }
    assert "indicator" not in {o["type"] for o in bundle["objects"]}  # observables redacted for cn


def test_a_partners_terms_follow_its_report_onward_and_consent_is_signed(cluster, tmp_path):
    us, cn, _sg = cluster.add("us-on"), cluster.add("cn-on"), cluster.add("sg-on")
    cluster.pin_all()
    cluster.start()
    cli("report", "policy", "cn-on", "--set", "--max-tlp", "green", home=us.home)
    for partner in ("us-on", "sg-on"):
        cli("report", "policy", partner, "--set", "--max-tlp", "green", home=cn.home)
    doc = grid_report(tlp="green", jurisdiction={"origin_country": "US", "onward_transfer": "with_consent"})
    (tmp_path / "r.json").write_text(json.dumps(doc))
    key = cli("report", "new", str(tmp_path / "r.json"), home=us.home).stdout.split()[1]
    assert "cn-on: sent" in cli("report", "publish", key, home=us.home).stdout

    def received():
        return json.loads(cli("report", "list", "--origin", "us-on", "--json", home=cn.home).stdout)

    wait_until(lambda: len(received()) == 1, what="the report at cn")
    report_id = received()[0]["report_id"]
    # cn exports what it received and imports it as its own draft: the terms come with it.
    cli("stix", "export", report_id, "-o", str(tmp_path / "b.json"), home=cn.home)
    draft = cli("stix", "import", str(tmp_path / "b.json"), home=cn.home).stdout.split()[1]
    preview = cli("report", "preview", draft, home=cn.home)
    assert "publish will refuse sg-on" in preview.stderr
    refused = cli("report", "publish", draft, home=cn.home, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error[exchange.onward_prohibited]")
    assert "us-on's report" in refused.stderr
    asked = cli("report", "consent", "request", draft, home=cn.home).stdout
    assert "asked us-on" in asked

    def consents(node):
        return json.loads(cli("report", "consent", "list", "--json", home=node.home).stdout)

    wait_until(lambda: len(consents(us)) == 1, what="the consent request at us")
    (request,) = consents(us)
    assert (request["requester"], request["partners"], request["state"]) == ("cn-on", ["sg-on"], "requested")
    assert any(
        a["code"] == "exchange.consent_requested"
        for a in json.loads(cli("alerts", "list", "--json", home=us.home).stdout)
    )
    assert "granted" in cli("report", "consent", "grant", request["request_id"], home=us.home).stdout
    wait_until(lambda: consents(cn)[0]["state"] == "granted", what="the grant at cn")
    published = cli("report", "publish", draft, home=cn.home).stdout
    assert "sg-on: sent" in published
    assert "us-on: sent" in published
