"""Onward transfer: a partner's terms hold for everything built on its report — a re-imported STIX bundle or
a report citing its observables — and consent is asked and granted by signed statements."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from airrc.errors import Error
from airrc.exchange.policy import PartnerPolicy
from airrc.exchange.search import SearchQuery
from airrc.exchange.tables import ConsentRow
from airrc.store.statements import StatementRow
from tests.exchange.reports import grid_report
from tests.hotline.conftest import Net


def _shared_by_us(net: Net, terms: str) -> str:
    """us publishes a GREEN report with ``terms`` to cn and sg; returns its report id."""
    us = net.nodes["us"]
    doc = grid_report(tlp="green", jurisdiction={"origin_country": "US", "onward_transfer": terms})
    with us.store.session() as s:
        for partner in ("cn", "sg"):
            us.exchange.set_policy(s, partner, PartnerPolicy(max_tlp="green"))
        row = us.exchange.create(s, doc)
        us.exchange.publish(s, str(row.key))
        report_id = row.report_id
    net.relay()
    return report_id


def _reimported(node, report_id: str) -> int:
    """``node`` exports the partner's report it received to STIX and imports it again as its own draft."""
    with node.store.session() as s:
        bundle = node.exchange.export_stix(s, report_id)
        (row,) = node.exchange.import_stix(s, bundle, origin_country=None)
        return row.key


def _issued(node) -> int:
    with node.store.read_session() as s:
        return s.scalar(select(func.count()).select_from(StatementRow).where(StatementRow.local.is_(True)))


def _publish(node, key):
    with node.store.session() as s:
        return node.exchange.publish(s, str(key))


def _citing(node, observable: dict[str, str]) -> int:
    doc = grid_report(
        tlp="green",
        observables=[observable],
        jurisdiction={"origin_country": "CN", "onward_transfer": "allowed"},
        title={"en": "Our own report", "zh": "我们自己的报告"},
    )
    with node.store.session() as s:
        return node.exchange.create(s, doc).key


@pytest.fixture(autouse=True)
def _cn_shares_green(net: Net) -> None:
    cn = net.nodes["cn"]
    with cn.store.session() as s:
        for partner in ("us", "sg"):
            cn.exchange.set_policy(s, partner, PartnerPolicy(max_tlp="green"))


def test_a_prohibited_report_cannot_be_shared_onward_by_any_route(net: Net) -> None:
    cn = net.nodes["cn"]
    report_id = _shared_by_us(net, "prohibited")
    with cn.store.read_session() as s:
        assert [r.report_id for r in cn.exchange.search(s, SearchQuery())] == [report_id]
    before = _issued(cn)
    for key in (_reimported(cn, report_id), _citing(cn, {"type": "ipv4", "value": "203.0.113.7"})):
        with pytest.raises(Error) as caught:
            _publish(cn, key)
        assert caught.value.code == "exchange.onward_prohibited"
        assert "sg" in caught.value.message
        assert report_id in caught.value.message
        with cn.store.read_session() as s:
            assert cn.exchange.get(s, str(key)).status == "draft"  # nothing half-done
        with pytest.raises(Error) as asked, cn.store.session() as s:
            cn.exchange.request_consent(s, str(key))
        assert asked.value.code == "exchange.onward_prohibited"
    assert _issued(cn) == before  # nothing was issued, not even to the originator
    # A report of our own that shares nothing with it goes as its policy says.
    assert _publish(cn, _citing(cn, {"type": "ipv4", "value": "198.51.100.9"})).statements


def test_going_back_to_the_originator_is_not_onward(net: Net) -> None:
    cn = net.nodes["cn"]
    report_id = _shared_by_us(net, "prohibited")
    with cn.store.session() as s:
        cn.exchange.set_policy(s, "sg", PartnerPolicy(max_tlp="clear"))  # sg gets nothing GREEN from cn
    result = _publish(cn, _reimported(cn, report_id))
    assert [d.partner_name for d in result.decisions if d.shared] == ["us"]


def test_with_consent_asks_the_originator_and_shares_with_whom_it_granted(net: Net) -> None:
    us, cn = net.nodes["us"], net.nodes["cn"]
    report_id = _shared_by_us(net, "with_consent")
    key = _reimported(cn, report_id)
    with pytest.raises(Error) as caught:
        _publish(cn, key)
    assert caught.value.code == "exchange.onward_prohibited"
    assert "without its consent" in caught.value.message
    with cn.store.read_session() as s:
        (blocked,) = cn.exchange.onward_blocked(s, str(key))
        assert blocked.partners == (net.nodes["sg"].id,)
    with cn.store.session() as s:
        (asked,) = cn.exchange.request_consent(s, str(key))
        request_id = asked.request_id
    net.relay()
    with us.store.read_session() as s:
        theirs = s.get(ConsentRow, request_id)
        assert (theirs.state, theirs.requester, theirs.partner_ids()) == (
            "requested",
            cn.id,
            [net.nodes["sg"].id],
        )
        alert = next(a for a in us.alerts.list(s) if a.code == "exchange.consent_requested")
        assert request_id in alert.message
        assert "cn asks" in alert.message
    with us.store.session() as s:
        assert us.exchange.onward.answer(s, request_id, grant=True).state == "granted"
    with pytest.raises(Error) as twice, us.store.session() as s:
        us.exchange.onward.answer(s, request_id, grant=False)
    assert twice.value.code == "exchange.answered"
    net.relay()
    with cn.store.read_session() as s:
        assert s.get(ConsentRow, request_id).state == "granted"
        assert cn.exchange.onward_blocked(s, str(key)) == []
    result = _publish(cn, key)
    assert sorted(d.partner_name for d in result.decisions if d.shared) == ["sg", "us"]


def test_a_refusal_keeps_it_blocked_and_only_the_originator_can_answer(net: Net) -> None:
    us, cn, sg = net.nodes["us"], net.nodes["cn"], net.nodes["sg"]
    report_id = _shared_by_us(net, "with_consent")
    key = _citing(cn, {"type": "domain", "value": "grid-dispatch.example"})
    with cn.store.session() as s:
        (asked,) = cn.exchange.request_consent(s, str(key))
        request_id = asked.request_id
    # sg, not the originator, cannot grant what us was asked.
    from airrc.exchange.bodies import ConsentAnswerBody

    forged = ConsentAnswerBody(
        request=request_id,
        source_report_id=report_id,
        report_id=asked.report_id,
        partners=(sg.id,),
        granted=True,
    )
    with pytest.raises(Error) as caught, cn.store.session() as s:
        cn.exchange.onward._received_answer(s, "00000000-0000-4000-8000-000000000000", sg.id, forged)
    assert caught.value.code == "exchange.bad_consent"
    net.relay()
    with us.store.session() as s:
        us.exchange.onward.answer(s, request_id, grant=False)
    net.relay()
    with cn.store.read_session() as s:
        assert s.get(ConsentRow, request_id).state == "refused"
    with pytest.raises(Error) as still:
        _publish(cn, key)
    assert still.value.code == "exchange.onward_prohibited"
