from datetime import UTC, datetime, timedelta

import pytest

from airrc.control.policy import ControlError, Vote, commitment, decide, load_categories

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
EXP = T0 + timedelta(minutes=10)


def _votes(*spec):
    return [Vote(voter, approve, T0 + timedelta(seconds=i)) for i, (voter, approve) in enumerate(spec)]


def test_catalog_has_the_protected_categories_in_both_languages():
    catalog = load_categories()
    assert {
        "lethal_force",
        "strategic_weapons",
        "critical_infrastructure_shutdown",
        "mass_financial_action",
    } <= set(catalog.categories)
    for category in catalog.categories.values():
        assert category.title["en"]
        assert category.title["zh"] != category.title["en"]
        assert "approver" not in category.requesters
    assert len(catalog.digest) == 64
    with pytest.raises(ControlError) as err:
        catalog.category("launch_everything")
    assert err.value.code == "control.unknown_category"


def test_quorum_of_distinct_approvers_authorizes():
    grid = load_categories().category("critical_infrastructure_shutdown")  # quorum 2, veto
    assert decide(grid, _votes(("a", True)), expires_at=EXP, now=T0) == "pending"
    assert decide(grid, _votes(("a", True), ("a", True)), expires_at=EXP, now=T0) == "pending"
    assert decide(grid, _votes(("a", True), ("b", True)), expires_at=EXP, now=T0) == "authorized"


def test_veto_and_majority():
    grid = load_categories().category("critical_infrastructure_shutdown")
    assert decide(grid, _votes(("a", True), ("b", False)), expires_at=EXP, now=T0) == "denied"
    money = load_categories().category("mass_financial_action")  # quorum 2, majority
    assert decide(money, _votes(("a", True), ("b", False)), expires_at=EXP, now=T0) == "pending"
    assert decide(money, _votes(("a", False), ("b", False)), expires_at=EXP, now=T0) == "denied"
    assert (
        decide(money, _votes(("a", True), ("b", False), ("c", True)), expires_at=EXP, now=T0) == "authorized"
    )


def test_no_answer_means_no_and_late_votes_do_not_count():
    grid = load_categories().category("critical_infrastructure_shutdown")
    assert decide(grid, [], expires_at=EXP, now=EXP) == "expired"
    late = [Vote("a", True, T0), Vote("b", True, EXP + timedelta(seconds=1))]
    assert decide(grid, late, expires_at=EXP, now=EXP + timedelta(seconds=2)) == "expired"


def test_commitments_hide_and_bind():
    salt = b"s" * 16
    action = {"substation": "North-7", "op": "shutdown"}
    assert commitment(salt, action) == commitment(salt, dict(reversed(list(action.items()))))
    assert commitment(salt, action) != commitment(b"t" * 16, action)
    assert commitment(salt, action) != commitment(salt, {**action, "substation": "North-8"})
    with pytest.raises(ValueError, match="16 bytes"):
        commitment(b"short", action)
