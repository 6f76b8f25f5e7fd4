"""Publishing under per-partner policies over the real federation code; correlation and search."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from airrc.errors import Conflict, Error, NotFound
from airrc.exchange.policy import PartnerPolicy
from airrc.exchange.receiving import open_body
from airrc.exchange.search import SearchQuery
from airrc.exchange.service import ExchangeBody, ReportRow
from airrc.federation.outbox import OutboxItem
from airrc.store.statements import StatementRow
from tests.exchange.reports import grid_report
from tests.hotline.conftest import Net


def _policies(net: Net, **policies: PartnerPolicy) -> None:
    us = net.nodes["us"]
    with us.store.session() as s:
        for partner, policy in policies.items():
            us.exchange.set_policy(s, partner, policy)


def _create(node, doc):
    with node.store.session() as s:
        return node.exchange.create(s, doc).key


def _publish(node, key):
    with node.store.session() as s:
        return node.exchange.publish(s, str(key))


def test_a_report_reaches_each_partner_as_its_policy_allows(net: Net) -> None:
    us, cn, sg = net.nodes["us"], net.nodes["cn"], net.nodes["sg"]
    _policies(
        net,
        cn=PartnerPolicy(max_tlp="amber", redact=("affected_systems",)),
        sg=PartnerPolicy(max_tlp="green"),
    )
    key = _create(us, grid_report())
    with us.store.read_session() as s:
        preview = {d.partner_name: d for d in us.exchange.preview(s, str(key))}
    assert preview["cn"].shared
    assert not preview["sg"].shared
    assert preview["sg"].reason == "policy.above_max_tlp"
    result = _publish(us, key)
    assert len(result.statements) == 1
    net.relay()
    with cn.store.read_session() as s:
        (row,) = cn.exchange.search(s, SearchQuery())
        assert row.origin == us.id
        assert not row.local
        assert row.status == "published"
        assert row.to_json()["report"] == preview["cn"].view  # exactly what the preview showed
        assert "affected_systems" not in row.to_json()["report"]
        stored = s.scalar(select(StatementRow).where(StatementRow.statement_id == result.statements[0]))
        assert b"Jane" not in stored.data
        assert b"grid-dispatch" not in stored.data
    with sg.store.read_session() as s:
        assert sg.exchange.search(s, SearchQuery()) == []

    with us.store.session() as s, pytest.raises(Conflict) as again:
        us.exchange.publish(s, str(key))
    assert again.value.code == "exchange.already_published"

    with us.store.session() as s:
        us.exchange.edit(s, str(key), grid_report(severity="critical"))
    _publish(us, key)
    net.relay()
    with cn.store.read_session() as s:
        (row,) = cn.exchange.search(s, SearchQuery())
        assert row.version == 2
        assert row.report().severity == "critical"

    with us.store.session() as s:
        (revocation,) = us.exchange.revoke(
            s, str(key), "retracted after review by Jane Doe, jane@grid.example"
        )
    net.relay()
    with cn.store.read_session() as s:
        assert cn.exchange.search(s, SearchQuery())[0].status == "revoked"
        stored = s.scalar(select(StatementRow).where(StatementRow.statement_id == revocation))
        # AMBER: the reason travels sealed, like the report; what is sealed was scrubbed first.
        assert b"retracted" not in stored.data
        assert "reason" not in stored.signed(max_bytes=1 << 20).statement.body
        opened = open_body(
            cn.exchange,
            stored.signed(max_bytes=1 << 20),
            ExchangeBody.model_validate(stored.signed(max_bytes=1 << 20).statement.body).sealed,
        )
    assert opened == {"reason": "retracted after review by [name], [email]"}
    # Withdrawn in every TAXII collection on both sides: a new version of the report with revoked: true.
    with us.store.read_session() as s:
        sent = _latest_report(us, s, us.taxii.collection_id("view", cn.id))
        exported = us.exchange.export_stix(s, str(key))
    with cn.store.read_session() as s:
        got = _latest_report(cn, s, cn.taxii.collection_id("from", us.id))
    for obj in (sent, got):
        assert obj["revoked"] is True
        assert obj["modified"] > obj["created"]
    (report_object,) = [o for o in exported["objects"] if o["type"] == "report"]
    assert report_object["revoked"] is True
    with us.store.session() as s, pytest.raises(NotFound) as unknown:
        us.exchange.revoke(s, "00000000-0000-4000-8000-000000000000", "x")
    assert unknown.value.code == "exchange.unknown_report"


def test_green_reports_travel_in_clear_and_red_ones_never_leave(net: Net) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    _policies(net, cn=PartnerPolicy(max_tlp="red"), sg=PartnerPolicy(max_tlp="red"))
    green = _publish(us, _create(us, grid_report(tlp="green")))
    red = _publish(us, _create(us, grid_report(tlp="red")))
    assert len(green.statements) == 2
    assert red.statements == []
    assert all(d.reason == "tlp.red_never_leaves" for d in red.decisions)
    net.relay()
    with cn.store.read_session() as s:
        assert [r.tlp for r in cn.exchange.search(s, SearchQuery())] == ["green"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tlp=st.sampled_from(["clear", "green", "amber", "amber+strict", "red"]),
    named=st.lists(st.sampled_from(["cn", "sg"]), min_size=1, max_size=2, unique=True),
    max_cn=st.sampled_from(["green", "amber", "amber+strict", "red"]),
    max_sg=st.sampled_from(["green", "amber", "amber+strict", "red"]),
)
def test_published_statements_respect_red_and_amber_strict(net: Net, tlp, named, max_cn, max_sg) -> None:
    us = net.nodes["us"]
    _policies(net, cn=PartnerPolicy(max_tlp=max_cn), sg=PartnerPolicy(max_tlp=max_sg))
    doc = grid_report(tlp=tlp, share_with=named if tlp == "amber+strict" else [])
    result = _publish(us, _create(us, doc))
    with us.store.read_session() as s:
        rows = s.execute(
            select(StatementRow.tlp, OutboxItem.peer_id)
            .join(OutboxItem, OutboxItem.statement_row == StatementRow.row_id)
            .where(StatementRow.statement_id.in_(result.statements))
        ).all()
        names = {c.id: c.name for c in us.trust.peers(s)}
    assert "red" not in {t for t, _ in rows}
    if tlp == "red":
        assert rows == []
    if tlp == "amber+strict":
        assert {names[p] for _, p in rows} <= set(named)


def test_correlation_links_reports_and_clusters_near_duplicates(net: Net) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    with cn.store.session() as s:
        cn.exchange.set_policy(s, "us", PartnerPolicy(max_tlp="amber"))
    _policies(net, cn=PartnerPolicy(max_tlp="amber"))
    ours = _create(us, grid_report())
    _publish(us, ours)
    theirs = _create(cn, grid_report(title={"en": "Cloned dispatcher voice asks operators to open breakers"}))
    _publish(cn, theirs)
    other = _create(
        us,
        grid_report(
            title={"en": "Deepfake video of a minister"},
            summary={"en": "A fabricated video circulates before the vote."},
            categories=["deepfake_disinformation"],
            sectors=["elections"],
            observables=[{"type": "ipv4", "value": "203.0.113.7"}],
            techniques=[],
        ),
    )
    _publish(us, other)
    net.relay()
    with us.store.read_session() as s:
        received = us.exchange.search(s, SearchQuery(origin=cn.id))
        assert len(received) == 1
        links = us.exchange.links(s, ours)
        reasons = {(link["report"], link["reason"]) for link in links}
        assert (received[0].key, "same observables") in reasons
        assert (received[0].key, "technique AML.T0048 in sector energy_power_grid") in reasons
        assert (other, "observable ipv4 203.0.113.7") in reasons
        clusters = us.exchange.clusters(s)
        assert {r["key"] for r in clusters[0]["reports"]} == {ours, received[0].key}
        assert clusters[0]["origins"] == sorted([us.id, cn.id])


def test_search_filters_and_pages(net: Net) -> None:
    us = net.nodes["us"]
    keys = [_create(us, grid_report(severity="low")) for _ in range(5)]
    _create(us, grid_report(categories=["deepfake_disinformation"], sectors=["elections"], techniques=[]))
    with us.store.read_session() as s:
        assert len(us.exchange.search(s, SearchQuery(sector="energy_power_grid"))) == 5
        assert len(us.exchange.search(s, SearchQuery(category="deepfake_disinformation"))) == 1
        assert len(us.exchange.search(s, SearchQuery(technique="AML.T0048"))) == 5
        assert len(us.exchange.search(s, SearchQuery(text="dispatcher voice"))) == 6
        assert len(us.exchange.search(s, SearchQuery(text="语音"))) == 6  # Chinese, by character pairs
        assert us.exchange.search(s, SearchQuery(text="dispatcher submarine")) == []
        # several filters: the most selective drives, the others are checked per report
        combined = SearchQuery(sector="energy_power_grid", technique="AML.T0048", text="dispatcher")
        assert len(us.exchange.search(s, combined)) == 5
        assert us.exchange.search(s, SearchQuery(sector="elections", technique="AML.T0048")) == []
        assert len(us.exchange.search(s, SearchQuery(sector="elections", text="dispatcher"))) == 1
        pages, after = [], None
        while True:
            page = us.exchange.search(
                s, SearchQuery(sector="energy_power_grid", text="voice", limit=2, after=after)
            )
            if not page:
                break
            pages += [r.key for r in page]
            after = page[-1].key
        assert pages == sorted(keys, reverse=True)
        first = us.exchange.search(s, SearchQuery(limit=4))
        rest = us.exchange.search(s, SearchQuery(limit=4, after=first[-1].key))
        assert [r.key for r in first + rest] == sorted([*keys, keys[-1] + 1], reverse=True)


def test_a_bad_report_stores_nothing(net: Net) -> None:
    us = net.nodes["us"]
    with us.store.session() as s, pytest.raises(Error) as refused:
        us.exchange.create(s, grid_report(observables=[{"type": "ipv4", "value": "1.2.3"}]))
    assert refused.value.code == "exchange.bad_observable"
    with us.store.read_session() as s:
        assert s.scalar(select(ReportRow)) is None


def _latest_report(node, session, collection_id):
    import json

    from airrc.exchange.collections import TaxiiObject

    rows = session.scalars(
        select(TaxiiObject).where(
            TaxiiObject.collection_id == collection_id,
            TaxiiObject.type == "report",
            TaxiiObject.is_last.is_(True),
        )
    ).all()
    (row,) = rows
    return json.loads(row.data)


def test_a_watched_report_alerts_and_opens_a_hotline_channel_until_revoked(net: Net) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    _policies(net, cn=PartnerPolicy(max_tlp="amber"))
    key = _create(us, grid_report(severity="critical"))
    draft = _create(us, grid_report(severity="low"))
    _publish(us, key)
    net.relay()
    with cn.store.read_session() as s:
        (row,) = cn.exchange.search(s, SearchQuery())
        alerts = [a for a in cn.alerts.list(s) if a.code == "exchange.watched_report"]
    (alert,) = alerts
    assert alert.severity == "critical"
    assert f"airrc hotline open us --report {row.report_id}" in alert.message
    # The stable report id (and the key) open a channel that refers to the statement that brought it.
    with cn.store.session() as s:
        channel = cn.hotline.open_channel(s, ["us"], report=row.report_id)
        assert channel.report == row.statement_id
        assert cn.hotline.open_channel(s, ["us"], report=str(row.key)).report == row.statement_id
    with us.store.session() as s:
        (share,) = us.exchange.shares(s, key)
        assert us.hotline.open_channel(s, ["cn"], report=row.report_id).report == share["statement"]
        with pytest.raises(Error) as unpublished:
            us.hotline.open_channel(s, ["cn"], report=str(draft))
        assert unpublished.value.code == "exchange.not_published"
    with us.store.session() as s:
        us.exchange.revoke(s, str(key), "withdrawn")
    net.relay()
    for node, peer in ((us, "cn"), (cn, "us")):
        with node.store.session() as s, pytest.raises(Conflict) as revoked:
            node.hotline.open_channel(s, [peer], report=row.report_id)
        assert revoked.value.code == "exchange.revoked"
    # A low-severity report is not watched.
    _publish(us, draft)
    net.relay()
    with cn.store.read_session() as s:
        assert len([a for a in cn.alerts.list(s) if a.code == "exchange.watched_report"]) == 1
