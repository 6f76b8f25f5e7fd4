"""The report model and the sharing policy, without storage."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airrc.errors import Error
from airrc.exchange.model import CATEGORIES, TLP_ORDER, parse_report
from airrc.exchange.policy import REDACTABLE, PartnerPolicy, decide, scrub_text
from tests.exchange.reports import grid_report

RID = "6f1f6a52-8c1e-4a55-9a57-0d4f5f1b7a10"


def _report(**overrides):
    return parse_report({"report_id": RID, **grid_report(**overrides)})


def test_observables_are_checked_and_normalised():
    report = _report()
    values = {o.type: o.value for o in report.observables}
    assert values == {"phone": "+12025550199", "domain": "grid-dispatch.example", "ipv4": "203.0.113.7"}


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        (
            {"observables": [{"type": "ipv4", "value": "300.1.2.3"}]},
            "exchange.bad_observable",
            "observables.0.value",
        ),
        (
            {"observables": [{"type": "file_sha256", "value": "abc"}]},
            "exchange.bad_observable",
            "observables.0.value",
        ),
        (
            {"observables": [{"type": "ipv6", "value": "2001:db8::zz"}]},
            "exchange.bad_observable",
            "observables.0.value",
        ),
        ({"techniques": ["AML.T9999"]}, "exchange.unknown_technique", "techniques"),
        ({"categories": ["space_piracy"]}, "exchange.invalid", "categories.0"),
        ({"tlp": "amber+strict"}, "exchange.invalid", "report"),
        ({"jurisdiction": {"origin_country": "XX"}}, "exchange.invalid", "jurisdiction.origin_country"),
        ({"title": {}}, "exchange.invalid", "title"),
    ],
)
def test_bad_reports_are_refused_naming_the_field(overrides, code, field):
    with pytest.raises(Error) as refused:
        _report(**overrides)
    assert refused.value.code == code
    assert refused.value.message.startswith(field)


def test_pii_is_scrubbed_from_free_text_only():
    text = "Call +1 (202) 555-0143 or mail a.b@c.org; Jane Doe saw 203.0.113.7 on 2026-11-22 at 06:40."
    assert (
        scrub_text(text, ("Jane Doe",))
        == "Call [phone] or mail [email]; [name] saw 203.0.113.7 on 2026-11-22 at 06:40."
    )


def test_the_view_is_what_leaves():
    report = _report()
    policy = PartnerPolicy(max_tlp="amber", redact=("observables", "jurisdiction.legal_basis"))
    decision = decide(report, policy, partner_id="p" * 64, partner_name="cn")
    assert decision.shared
    view = decision.view
    assert "observables" not in view
    assert "legal_basis" not in view["jurisdiction"]
    assert "personal_names" not in view
    assert "share_with" not in view
    leaving = json.dumps(view)
    assert "Jane Doe" not in leaving
    assert "j.doe@grid.example" not in leaving
    assert "555 0143" not in leaving
    assert view["redacted"] == ["jurisdiction.legal_basis", "observables"]
    assert parse_report(view, received=True).report_id == RID


tlps = st.sampled_from(list(TLP_ORDER))
partners = st.sampled_from(["cn", "sg", "uk"])


@st.composite
def reports_and_policies(draw):
    tlp = draw(tlps)
    named = draw(st.lists(partners, min_size=1, max_size=3, unique=True)) if tlp == "amber+strict" else []
    categories = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True))
    report = _report(tlp=tlp, share_with=[n * 32 for n in named], categories=categories)
    policy = draw(
        st.one_of(
            st.none(),
            st.builds(
                PartnerPolicy,
                max_tlp=tlps,
                categories=st.one_of(st.none(), st.lists(st.sampled_from(CATEGORIES), max_size=3).map(tuple)),
                redact=st.lists(st.sampled_from(REDACTABLE), max_size=3, unique=True).map(tuple),
                scrub_pii=st.booleans(),
            ),
        )
    )
    return report, policy, draw(partners)


@settings(max_examples=300, deadline=None)
@given(reports_and_policies())
def test_red_never_leaves_and_amber_strict_reaches_only_named_partners(case):
    report, policy, partner = case
    decision = decide(report, policy, partner_id=partner * 32, partner_name=partner)
    if report.tlp == "red":
        assert not decision.shared
        assert decision.view is None
    if report.tlp == "amber+strict" and partner * 32 not in report.share_with:
        assert not decision.shared
    if decision.shared:
        assert policy is not None
        assert TLP_ORDER[report.tlp] <= TLP_ORDER[policy.max_tlp]
        assert decision.view["tlp"] == report.tlp
        for field in policy.redact:
            head, _, tail = field.partition(".")
            assert (tail not in decision.view[head]) if tail else head not in decision.view


def test_every_problem_of_a_report_is_named_at_once():
    with pytest.raises(Error) as refused:
        _report(categories=["space_piracy"], severity="apocalyptic", jurisdiction={"origin_country": "XX"})
    message = refused.value.message
    for field in ("categories.0", "severity", "jurisdiction.origin_country"):
        assert field in message
