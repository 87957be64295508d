"""The project lifecycle (DOMAIN.md L2, L3): legal moves, roles, guards, the clock, freezes."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.projects import lifecycle, services
from app.projects.lifecycle import TRANSITIONS, effective_state, transition_project
from app.projects.models import DemandAmendment, DemandLine, DemandReport, Lot, RuleSetVersion
from tests.web.project_builders import (
    BID_DEADLINE,
    BIDDING_OPENS,
    DEMAND_DUE,
    OPENING,
    T0,
    build_project,
    give_opening_record,
    to_bidding_open,
    walk,
)

H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
MAIN_LINE = ("draft", "demand_collection", "demand_frozen", "bidding_open", "bidding_closed", "opened", "negotiation",
             "evaluated", "award_proposed", "award_published", "in_execution", "closed")


pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture()
def project_world(db, make_user, make_org):
    project, officer, institutions = build_project(make_user, make_org)
    return project, officer, institutions


def _history(project) -> list[tuple[str, str]]:
    return [(c.from_state, c.to_state) for c in services.state_history(project)]


def _publishable_proposal(db, project, officer, supervisor, *, approved: bool = True, publicity_end=None):
    from app.awards.models import AwardProposal, AwardScenario

    ruleset = lifecycle.frozen_ruleset(project)
    scenario = AwardScenario(project_id=project.id, name="rule draft", mode="rule_draft", status="optimal",
                             ruleset_version_id=ruleset.id, created_by_id=officer.id)
    db.session.add(scenario)
    db.session.flush()
    proposal = AwardProposal(project_id=project.id, scenario_id=scenario.id, status="approved" if approved else "publicised",
                             publicity_start=OPENING + 2 * DAY, publicity_end=publicity_end or OPENING + 5 * DAY,
                             proposed_by_id=officer.id, approved_by_id=supervisor.id if approved else None,
                             approved_at=OPENING + 5 * DAY if approved else None)
    db.session.add(proposal)
    db.session.flush()
    return proposal


# --- the table itself ---------------------------------------------------------------------------------

def test_the_transition_table_is_exactly_domain_l2():
    expected = {(a, b) for a, b in zip(MAIN_LINE, MAIN_LINE[1:]) if (a, b) != ("opened", "negotiation")}
    expected |= {("opened", "negotiation"), ("opened", "evaluated"), ("award_proposed", "evaluated")}
    expected |= {(s, "cancelled") for s in MAIN_LINE[: MAIN_LINE.index("award_published")]}
    assert set(TRANSITIONS) == expected
    assert lifecycle.ORDER == MAIN_LINE
    # Only the clock closes bidding; the opening belongs to the ceremony; everything else is an officer's button.
    assert not TRANSITIONS[("bidding_open", "bidding_closed")].roles
    assert not TRANSITIONS[("bidding_closed", "opened")].manual
    assert {t.roles for k, t in TRANSITIONS.items() if k != ("bidding_open", "bidding_closed")} == {("procurement_officer",)}
    assert {k for k, t in TRANSITIONS.items() if t.needs_reason} == (
        {(s, "cancelled") for s in lifecycle.CANCELLABLE} | {("award_proposed", "evaluated")})


# --- every legal move ---------------------------------------------------------------------------------

def test_a_project_walks_the_whole_main_line(db, project_world, make_user):
    project, officer, _ = project_world
    supervisor = make_user("supervisor")
    to_bidding_open(project, officer)
    assert project.state == "bidding_open"
    assert effective_state(project, BID_DEADLINE - dt.timedelta(seconds=1)) == "bidding_open"
    assert effective_state(project, BID_DEADLINE) == "bidding_closed"
    walk(project, officer, "opened", now=OPENING)  # persists bidding_closed first (the clock's move)
    walk(project, officer, "negotiation", now=OPENING + H)
    walk(project, officer, "evaluated", now=OPENING + DAY)
    walk(project, officer, "award_proposed", now=OPENING + 2 * DAY)
    walk(project, officer, "evaluated", now=OPENING + 3 * DAY, reason="公示期内收到质疑，撤回重评")
    walk(project, officer, "award_proposed", now=OPENING + 3 * DAY + H)
    _publishable_proposal(db, project, officer, supervisor)
    walk(project, officer, "award_published", now=OPENING + 6 * DAY)
    walk(project, officer, "in_execution", now=OPENING + 7 * DAY)
    walk(project, officer, "closed", now=OPENING + 800 * DAY)

    assert project.state == "closed"
    assert _history(project) == [
        ("draft", "demand_collection"), ("demand_collection", "demand_frozen"), ("demand_frozen", "bidding_open"),
        ("bidding_open", "bidding_closed"), ("bidding_closed", "opened"), ("opened", "negotiation"),
        ("negotiation", "evaluated"), ("evaluated", "award_proposed"), ("award_proposed", "evaluated"),
        ("evaluated", "award_proposed"), ("award_proposed", "award_published"), ("award_published", "in_execution"),
        ("in_execution", "closed"),
    ]
    changes = services.state_history(project)
    derived = changes[3]
    assert derived.user_id is None and derived.at == BID_DEADLINE  # the server clock closed bidding at the deadline
    assert all(c.user_id == officer.id for c in changes if c is not derived)
    assert changes[8].reason == "公示期内收到质疑，撤回重评"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "ProcurementProject",
                                                         AuditEvent.object_id == str(project.id))
                                  .order_by(AuditEvent.seq)).all()
    actions = [e.action for e in events]
    assert actions.count("project.transition") == 12 and actions.count("project.state_derived") == 1
    moves = [(e.summary["from"], e.summary["to"]) for e in events if e.action == "project.transition"]
    assert moves[0] == ("draft", "demand_collection") and moves[-1] == ("in_execution", "closed")


def test_opened_may_go_straight_to_evaluated(db, project_world):
    project, officer, _ = project_world
    to_bidding_open(project, officer)
    walk(project, officer, "opened", "evaluated", now=OPENING)
    assert project.state == "evaluated"


@pytest.mark.parametrize("state", sorted(lifecycle.CANCELLABLE))
def test_cancel_with_a_reason_from_every_state_before_award_published(db, project_world, state):
    project, officer, _ = project_world
    project.state = state
    db.session.flush()
    now = T0 if state != "bidding_open" else BID_DEADLINE - H
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "cancelled", actor=officer, reason="   ", now=now)
    assert refused.value.code == "REASON_REQUIRED"
    transition_project(project, "cancelled", actor=officer, reason="国家政策调整，重新组织", now=now)
    assert project.state == "cancelled" and project.cancelled_reason == "国家政策调整，重新组织"
    assert _history(project)[-1] == (state, "cancelled")


@pytest.mark.parametrize("state", ["award_published", "in_execution", "closed", "cancelled"])
def test_no_cancel_from_award_published_on(db, project_world, state):
    project, officer, _ = project_world
    project.state = state
    db.session.flush()
    with pytest.raises(lifecycle.IllegalTransition) as refused:
        transition_project(project, "cancelled", actor=officer, reason="太晚了", now=T0)
    assert refused.value.code == "ILLEGAL_TRANSITION"
    assert project.state == state


def test_withdrawing_a_proposal_needs_a_reason(db, project_world):
    project, officer, _ = project_world
    project.state = "award_proposed"
    db.session.flush()
    with pytest.raises(lifecycle.ProjectError, match="award_proposed to evaluated"):
        transition_project(project, "evaluated", actor=officer, now=T0)


# --- illegal moves ------------------------------------------------------------------------------------

@pytest.mark.parametrize("from_state, to_state", [
    ("draft", "bidding_open"),  # skips demand
    ("draft", "closed"),
    ("demand_frozen", "demand_collection"),  # no way back
    ("bidding_closed", "negotiation"),  # negotiation comes after the opening
    ("negotiation", "opened"),
    ("evaluated", "award_published"),  # no publication without publicity
    ("closed", "draft"),
    ("cancelled", "draft"),
])
def test_illegal_moves_are_refused_naming_both_states(db, project_world, from_state, to_state):
    project, officer, _ = project_world
    project.state = from_state
    db.session.flush()
    before = len(services.state_history(project))
    with pytest.raises(lifecycle.IllegalTransition) as refused:
        transition_project(project, to_state, actor=officer, now=OPENING + DAY)
    err = refused.value
    assert err.code == "ILLEGAL_TRANSITION"
    assert err.params == {"from_state": from_state, "to_state": to_state}
    assert err.message == f"A project cannot move from {from_state} to {to_state}."
    assert project.state == from_state and len(services.state_history(project)) == before


def test_an_unknown_state_is_refused(db, project_world):
    project, officer, _ = project_world
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "published", actor=officer, now=T0)
    assert refused.value.code == "UNKNOWN_STATE"


# --- who moves ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["supplier_user", "supervisor", "institution_user", "platform_admin", "price_officer",
                                  "distributor_user"])
def test_only_officers_move_projects(db, project_world, make_user, role):
    project, _, _ = project_world
    intruder = make_user(role)
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "demand_collection", actor=intruder, now=T0)
    assert refused.value.code == "TRANSITION_NOT_ALLOWED"
    assert "draft to demand_collection" in refused.value.message
    assert project.state == "draft" and not services.state_history(project)


def test_an_officer_of_another_authority_cannot_move_the_project(db, project_world, make_user):
    project, _, _ = project_world
    stranger = make_user("procurement_officer")
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "demand_collection", actor=stranger, now=T0)
    assert refused.value.code == "PROJECT_NOT_YOURS"
    assert not lifecycle.available_moves(project, stranger, T0)


def test_a_refused_move_is_audited_in_its_own_transaction(db, project_world, make_user):
    from app.core.tx import finish

    project, _, _ = project_world
    supplier = make_user("supplier_user")
    db.session.commit()
    with pytest.raises(lifecycle.ProjectError):
        transition_project(project, "demand_collection", actor=supplier, now=T0)
    finish(False)  # the request's rollback: the refusal is still written
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "project.transition_refused"))
    assert event.user_id == supplier.id and event.object_id == str(project.id)
    assert event.summary == {"from": "draft", "to": "demand_collection", "code": "TRANSITION_NOT_ALLOWED"}


def test_available_moves_are_the_officers_buttons(db, project_world, make_user):
    project, officer, _ = project_world
    assert [t.to_state for t in lifecycle.available_moves(project, officer, T0)] == ["demand_collection", "cancelled"]
    assert lifecycle.available_moves(project, make_user("supervisor"), T0) == []
    assert lifecycle.available_moves(project, make_user("supplier_user"), T0) == []
    to_bidding_open(project, officer)
    # While bidding is open only cancelling is a button; after the deadline the opening belongs to the ceremony.
    assert [t.to_state for t in lifecycle.available_moves(project, officer, BID_DEADLINE - H)] == ["cancelled"]
    assert [t.to_state for t in lifecycle.available_moves(project, officer, BID_DEADLINE)] == ["cancelled"]


# --- guards -------------------------------------------------------------------------------------------

def test_demand_collection_needs_lots_institutions_and_a_future_due_date(db, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org, lots=0, institutions=0)
    for code, fix in (("NO_LOTS", lambda: services.add_lot(project, actor=officer, lot_no=1, generic_name="二甲双胍",
                                                           form_group="口服常释剂型", representative_spec="0.5g")),
                      ("NO_INSTITUTIONS", lambda: services.add_institutions(project, [make_org("medical_institution").id],
                                                                            actor=officer))):
        with pytest.raises(lifecycle.ProjectError) as refused:
            transition_project(project, "demand_collection", actor=officer, now=T0)
        assert refused.value.code == code
        fix()
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "demand_collection", actor=officer, now=DEMAND_DUE)
    assert refused.value.code == "DEMAND_DUE_PASSED" and "2030-01-09 09:00" in refused.value.message
    transition_project(project, "demand_collection", actor=officer, now=T0)
    assert project.state == "demand_collection"


def _at_demand_frozen(project, officer):
    walk(project, officer, "demand_collection", now=T0)
    walk(project, officer, "demand_frozen", now=DEMAND_DUE + H)


def test_bidding_open_needs_a_ceiling_on_every_lot(db, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org, lots=3)
    lot2 = db.session.scalar(select(Lot).where(Lot.project_id == project.id, Lot.lot_no == 2))
    services.update_lot(lot2, actor=officer, ceiling_ucp=None)
    _at_demand_frozen(project, officer)
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "bidding_open", actor=officer, now=BIDDING_OPENS + H)
    assert refused.value.code == "LOT_WITHOUT_CEILING" and refused.value.params == {"lots": "2"}
    services.update_lot(lot2, actor=officer, ceiling_ucp="0.8")
    transition_project(project, "bidding_open", actor=officer, now=BIDDING_OPENS + H)
    assert project.state == "bidding_open"


def test_bidding_open_needs_lots_and_a_ruleset(db, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    _at_demand_frozen(project, officer)
    lot = db.session.scalar(select(Lot).where(Lot.project_id == project.id))
    services.remove_lot(lot, actor=officer)
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "bidding_open", actor=officer, now=BIDDING_OPENS + H)
    assert refused.value.code == "NO_LOTS"
    services.add_lot(project, actor=officer, lot_no=1, generic_name="氨氯地平", form_group="口服常释剂型",
                     representative_spec="5mg", ceiling_ucp="0.3")
    for version in db.session.scalars(select(RuleSetVersion).where(RuleSetVersion.project_id == project.id)):
        db.session.delete(version)
    db.session.flush()
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "bidding_open", actor=officer, now=BIDDING_OPENS + H)
    assert refused.value.code == "NO_RULESET"


def test_bidding_open_needs_a_future_deadline_and_the_scheduled_time(db, project_world):
    project, officer, _ = project_world
    _at_demand_frozen(project, officer)
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "bidding_open", actor=officer, now=BIDDING_OPENS - H)
    assert refused.value.code == "BIDDING_NOT_SCHEDULED_YET"
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "bidding_open", actor=officer, now=BID_DEADLINE)
    assert refused.value.code == "BID_DEADLINE_PASSED"
    services.update_project_timeline(project, actor=officer, now=DEMAND_DUE + H, opening_at=None, bid_deadline=None)
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "bidding_open", actor=officer, now=BIDDING_OPENS + H)
    assert refused.value.code == "BID_DEADLINE_MISSING"
    assert project.state == "demand_frozen" and lifecycle.frozen_ruleset(project) is None


def test_bidding_open_waits_for_pending_demand_amendments(db, project_world):
    project, officer, institutions = project_world
    walk(project, officer, "demand_collection", now=T0)
    lot = db.session.scalar(select(Lot).where(Lot.project_id == project.id))
    report = DemandReport(project_id=project.id, institution_id=institutions[0].id, status="submitted",
                          submitted_at=T0 + H)
    db.session.add(report)
    db.session.flush()
    line = DemandLine(report_id=report.id, lot_id=lot.id, region_code="110000", year=2030,
                      historical_usage=Decimal("1000"), reported_demand=Decimal("900"))
    db.session.add(line)
    db.session.flush()
    walk(project, officer, "demand_frozen", now=DEMAND_DUE + H)
    assert report.status == "frozen"  # the submitted report froze with the project
    amendment = DemandAmendment(demand_line_id=line.id, new_reported_demand=Decimal("950"), reason="漏报",
                                requested_by_id=officer.id)
    db.session.add(amendment)
    db.session.flush()
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "bidding_open", actor=officer, now=BIDDING_OPENS + H)
    assert refused.value.code == "AMENDMENTS_PENDING"
    amendment.status = "approved"
    db.session.flush()
    transition_project(project, "bidding_open", actor=officer, now=BIDDING_OPENS + H)
    assert project.state == "bidding_open"
    with pytest.raises(lifecycle.ProjectError) as refused:
        services.remove_lot(lot, actor=officer)
    assert refused.value.code == "PROJECT_FROZEN"


def test_negotiation_is_refused_when_the_ruleset_allows_no_round(db, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    services.set_ruleset(project, "nvbp-4", {"negotiation_max_rounds": 0}, actor=officer)
    to_bidding_open(project, officer)
    walk(project, officer, "opened", now=OPENING)
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "negotiation", actor=officer, now=OPENING + H)
    assert refused.value.code == "NEGOTIATION_DISABLED"


def test_publication_needs_the_publicity_period_and_the_second_approval(db, project_world, make_user):
    project, officer, _ = project_world
    to_bidding_open(project, officer)
    walk(project, officer, "opened", "evaluated", "award_proposed", now=OPENING + H)
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "award_published", actor=officer, now=OPENING + 6 * DAY)
    assert refused.value.code == "NO_AWARD_PROPOSAL"
    proposal = _publishable_proposal(db, project, officer, make_user("supervisor"), approved=False)
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "award_published", actor=officer, now=OPENING + 4 * DAY)
    assert refused.value.code == "PUBLICITY_NOT_OVER"
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "award_published", actor=officer, now=OPENING + 6 * DAY)
    assert refused.value.code == "AWARD_NOT_APPROVED"
    proposal.status, proposal.approved_by_id = "approved", make_user("supervisor").id
    db.session.flush()
    transition_project(project, "award_published", actor=officer, now=OPENING + 6 * DAY)
    assert project.state == "award_published"


# --- the clock ----------------------------------------------------------------------------------------

def test_bidding_closed_is_derived_from_the_clock_and_persisted_by_the_next_write(db, project_world):
    project, officer, _ = project_world
    to_bidding_open(project, officer)
    assert effective_state(project, BID_DEADLINE - dt.timedelta(microseconds=1)) == "bidding_open"
    assert effective_state(project, BID_DEADLINE) == "bidding_closed"  # at the deadline itself bidding is closed
    assert effective_state(project, BID_DEADLINE + DAY) == "bidding_closed"
    assert project.state == "bidding_open"  # reading changes nothing
    # Nobody closes bidding by hand before the deadline.
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "bidding_closed", actor=officer, now=BID_DEADLINE - H)
    assert refused.value.code == "BIDDING_CLOSES_BY_CLOCK"
    assert project.state == "bidding_open"
    # The next write (here a timeline change after the deadline) persists the derived state.
    services.update_project_timeline(project, actor=officer, now=BID_DEADLINE + H, opening_at=OPENING + DAY)
    assert project.state == "bidding_closed"
    assert _history(project)[-1] == ("bidding_open", "bidding_closed")
    with pytest.raises(lifecycle.IllegalTransition):
        transition_project(project, "bidding_closed", actor=officer, now=BID_DEADLINE + H)


def test_the_opening_waits_for_opening_at(db, project_world):
    project, officer, _ = project_world
    to_bidding_open(project, officer)
    with pytest.raises(lifecycle.ProjectError) as refused:
        lifecycle.opening_guard(project, BID_DEADLINE - H)
    assert refused.value.code == "BIDDING_NOT_CLOSED"
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "opened", actor=officer, now=OPENING - dt.timedelta(seconds=1))
    assert refused.value.code == "OPENING_NOT_DUE" and "2030-01-16 11:00" in refused.value.message
    assert project.state == "bidding_closed"  # the refused move still persisted what the clock decided
    lifecycle.opening_guard(project, OPENING)
    # Even at the right time no service call opens the bids without the ceremony's record.
    with pytest.raises(lifecycle.ProjectError) as refused:
        transition_project(project, "opened", actor=officer, now=OPENING)
    assert refused.value.code == "OPENING_RECORD_MISSING" and project.state == "bidding_closed"
    give_opening_record(project, officer, OPENING)
    transition_project(project, "opened", actor=officer, now=OPENING)
    assert project.state == "opened"


def test_a_naive_now_is_refused(db, project_world):
    project, officer, _ = project_world
    with pytest.raises(ValueError, match="naive"):
        effective_state(project, dt.datetime(2030, 1, 1))


# --- RuleSet versions and the freeze -------------------------------------------------------------------

def test_each_ruleset_change_is_a_new_version(db, project_world):
    project, officer, _ = project_world
    v1 = lifecycle.latest_ruleset(project)
    assert (v1.version, v1.preset, v1.overrides) == (1, "nvbp-4", {})
    assert v1.resolved["spread_multiplier"] == "1.8" and v1.frozen_at is None
    v2 = services.set_ruleset(project, "nvbp-10", {"publicity_days": 5, "spread_multiplier": "1.5"}, actor=officer)
    assert v2.version == 2 and v2.resolved["publicity_days"] == 5 and v2.resolved["spread_multiplier"] == "1.5"
    assert services.set_ruleset(project, "nvbp-10", {"spread_multiplier": "1.5", "publicity_days": 5}, actor=officer) is v2
    v3 = services.set_ruleset(project, "nvbp-10", {"diff_price": {"strength_coeff": "1.6"}}, actor=officer)
    assert v3.version == 3 and v3.overrides == {"diff_price.strength_coeff": "1.6"}
    assert v3.resolved["diff_price"]["strength_coeff"] == "1.6"
    assert [v.version for v in services.ruleset_versions(project)] == [3, 2, 1]
    assert v1.resolved["publicity_days"] == 3  # earlier versions are kept as they were


def test_bad_ruleset_fields_are_reported_with_their_path(db, project_world):
    project, officer, _ = project_world
    with pytest.raises(services.RuleSetInvalid) as refused:
        services.set_ruleset(project, "nvbp-4", {"spread_multiplier": 1.8, "no_such_field": 1, "publicity_days": -1},
                             actor=officer)
    paths = {e.path: e.message for e in refused.value.errors}
    assert set(paths) == {"ruleset.spread_multiplier", "ruleset.no_such_field", "ruleset.publicity_days"}
    assert "decimal string" in paths["ruleset.spread_multiplier"]
    assert refused.value.code == "RULESET_INVALID" and refused.value.params["count"] == 3
    with pytest.raises(services.RuleSetInvalid) as refused:
        services.set_ruleset(project, "nvbp-99", {}, actor=officer)
    assert refused.value.errors[0].path == "ruleset.preset"
    assert lifecycle.latest_ruleset(project).version == 1


def test_the_ruleset_freezes_at_bidding_open_for_everyone(db, project_world, make_user):
    project, officer, _ = project_world
    services.set_ruleset(project, "nvbp-11", {"publicity_days": 7}, actor=officer)
    to_bidding_open(project, officer)
    frozen = lifecycle.frozen_ruleset(project)
    assert frozen.version == 3 and frozen.frozen_at == BIDDING_OPENS + H
    assert (frozen.preset, frozen.overrides, frozen.resolved["publicity_days"]) == ("nvbp-11", {"publicity_days": 7}, 7)
    transition = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "project.transition")
                                   .order_by(AuditEvent.seq.desc()))
    assert transition.summary["ruleset_version"] == 3
    admin = make_user("platform_admin")
    for actor in (officer, admin, None):
        with pytest.raises(lifecycle.ProjectFrozen) as refused:
            services.set_ruleset(project, "nvbp-4", {}, actor=actor, now=BIDDING_OPENS + 2 * H)
        assert refused.value.code == "PROJECT_FROZEN" and refused.value.params == {"state": "bidding_open"}
    with pytest.raises(lifecycle.ProjectFrozen):  # later states too, the clock's included
        services.set_ruleset(project, "nvbp-4", {}, actor=officer, now=BID_DEADLINE + H)
    assert lifecycle.latest_ruleset(project) is frozen


def test_before_the_freeze_only_officers_change_the_ruleset(db, project_world, make_user):
    project, _, _ = project_world
    for role in ("platform_admin", "supervisor", "supplier_user"):
        with pytest.raises(lifecycle.ProjectError) as refused:
            services.set_ruleset(project, "nvbp-2", {}, actor=make_user(role))
        assert refused.value.code == "PROJECT_EDIT_DENIED"
    with pytest.raises(lifecycle.ProjectError) as refused:
        services.set_ruleset(project, "nvbp-2", {}, actor=make_user("procurement_officer"))
    assert refused.value.code == "PROJECT_NOT_YOURS"


def test_override_lines_keep_decimals_as_strings():
    overrides, errors = services.parse_override_lines(
        "# comment\n\nspread_multiplier = 1.8\nspread_rule = none\npublicity_days = 5\n"
        "opening_requires_supervisor = false\nlow_price_warning = null\n"
        'max_winners_table = [[1, 3, 1], [4, null, 2]]\ndiff_price.form_coeffs = {"片": 1.1}\nbroken line\n= 3\n')
    assert overrides == {"spread_multiplier": "1.8", "spread_rule": "none", "publicity_days": 5,
                         "opening_requires_supervisor": False, "low_price_warning": None,
                         "max_winners_table": [[1, 3, 1], [4, None, 2]], "diff_price.form_coeffs": {"片": "1.1"}}
    assert [e.line for e in errors] == [10, 11]
    text = services.format_overrides(overrides)
    assert services.parse_override_lines(text) == (overrides, [])
    assert "spread_multiplier = 1.8" in text and "spread_rule = none" in text


# --- lots, ceilings, products, institutions ------------------------------------------------------------

def test_lots_parse_the_representative_spec_and_keep_the_exact_ceiling(db, project_world):
    project, officer, _ = project_world
    lot = services.add_lot(project, actor=officer, lot_no=7, generic_name="氟康唑", form_group="注射剂",
                           form_class="large_volume_injection", drug_class="special_anti_infective",
                           representative_spec="100ml:0.2g", ceiling_ucp="101.670001")
    db.session.expire(lot)
    assert lot.name == "氟康唑注射剂"
    assert (lot.rep_strength_value, lot.rep_strength_unit, lot.rep_fill_volume_ml) == (Decimal("200"), "mg", Decimal("100"))
    assert lot.ceiling_ucp == Decimal("101.670001")
    changed = services.update_lot(lot, actor=officer, ceiling_ucp=Decimal("0.150714"), representative_spec="0.1g")
    assert changed == ["ceiling_ucp", "rep_fill_volume_ml", "rep_strength_value", "representative_spec"]
    assert lot.ceiling_ucp == Decimal("0.150714") and lot.rep_fill_volume_ml is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "lot.update"))
    assert event.summary["before"]["ceiling_ucp"] == "101.670001" and event.summary["after"]["ceiling_ucp"] == "0.150714"


@pytest.mark.parametrize("ceiling, code", [("0", "MONEY_NOT_POSITIVE"), ("-1", "MONEY_NOT_POSITIVE"),
                                           ("abc", "MONEY_INVALID"), ("NaN", "MONEY_INVALID"),
                                           ("0.1234567", "MONEY_TOO_PRECISE")])
def test_bad_ceilings_are_refused(db, project_world, ceiling, code):
    project, officer, _ = project_world
    with pytest.raises(lifecycle.ProjectError) as refused:
        services.add_lot(project, actor=officer, lot_no=9, generic_name="x", form_group="y", representative_spec="1mg",
                         ceiling_ucp=ceiling)
    assert refused.value.code == code and refused.value.params["field"] == "ceiling_ucp"


def test_lot_checks(db, project_world):
    from app.core.errors import InvalidSpec

    project, officer, _ = project_world
    with pytest.raises(TypeError, match="never float"):
        services.add_lot(project, actor=officer, lot_no=9, generic_name="x", form_group="y", representative_spec="1mg",
                         ceiling_ucp=1.5)
    with pytest.raises(InvalidSpec):
        services.add_lot(project, actor=officer, lot_no=9, generic_name="x", form_group="y", representative_spec="复方")
    with pytest.raises(lifecycle.ProjectError) as refused:
        services.add_lot(project, actor=officer, lot_no=9, generic_name="x", form_group="y", representative_spec="100mg/ml")
    assert refused.value.code == "REP_SPEC_NO_AMOUNT"
    with pytest.raises(lifecycle.ProjectError) as refused:
        services.add_lot(project, actor=officer, lot_no=1, generic_name="x", form_group="y", representative_spec="1mg")
    assert refused.value.code == "LOT_NO_TAKEN"
    with pytest.raises(lifecycle.ProjectError) as refused:
        services.add_lot(project, actor=officer, lot_no=2, generic_name="x", form_group="y", representative_spec="1mg",
                         form_class="pill")
    assert refused.value.code == "UNKNOWN_FORM_CLASS"


def test_lots_ceilings_and_products_are_frozen_from_bidding_open(db, project_world, make_user, make_org):
    from app.catalog.models import Product

    project, officer, _ = project_world
    lot = db.session.scalar(select(Lot).where(Lot.project_id == project.id))
    maker = make_org("supplier")
    product = Product(generic_name="阿托伐他汀钙", dosage_form="片剂", spec="20mg", pack_qty=7, min_unit="片",
                      manufacturer_id=maker.id)
    db.session.add(product)
    db.session.flush()
    assert services.set_eligible_products(lot, [product.id], actor=officer) == [product.id]
    to_bidding_open(project, officer)
    admin = make_user("platform_admin")
    attempts = {
        "add": lambda actor: services.add_lot(project, actor=actor, lot_no=2, generic_name="x", form_group="y",
                                              representative_spec="1mg", ceiling_ucp="1"),
        "ceiling": lambda actor: services.update_lot(lot, actor=actor, ceiling_ucp="9.99"),
        "remove": lambda actor: services.remove_lot(lot, actor=actor),
        "products": lambda actor: services.set_eligible_products(lot, [], actor=actor),
    }
    for name, attempt in attempts.items():
        for actor in (officer, admin, None):
            with pytest.raises(lifecycle.ProjectFrozen) as refused:
                attempt(actor)
            assert refused.value.code == "PROJECT_FROZEN", name
    db.session.expire_all()
    assert lot.ceiling_ucp == Decimal("1.5") and services.eligible_product_ids(lot) == [product.id]
    assert len(services.project_lots(project)) == 1


def test_institutions_join_until_demand_is_frozen(db, project_world, make_org):
    project, officer, institutions = project_world
    supplier = make_org("supplier")
    with pytest.raises(lifecycle.ProjectError) as refused:
        services.add_institutions(project, [supplier.id], actor=officer)
    assert refused.value.code == "NOT_AN_INSTITUTION"
    assert services.add_institutions(project, [institutions[0].id], actor=officer) == []  # already in
    walk(project, officer, "demand_collection", now=T0)
    late = make_org("medical_institution")
    assert services.add_institutions(project, [late.id], actor=officer, now=T0) == [late.id]
    walk(project, officer, "demand_frozen", now=DEMAND_DUE + H)
    with pytest.raises(lifecycle.ProjectFrozen):
        services.add_institutions(project, [make_org("medical_institution").id], actor=officer, now=DEMAND_DUE + 2 * H)


def test_demand_is_reported_only_during_collection_then_by_amendment(db, project_world):
    project, officer, _ = project_world
    with pytest.raises(lifecycle.ProjectError) as refused:
        lifecycle.ensure_demand_reporting_open(project, T0)
    assert refused.value.code == "DEMAND_NOT_OPEN"
    walk(project, officer, "demand_collection", now=T0)
    lifecycle.ensure_demand_reporting_open(project, T0)
    with pytest.raises(lifecycle.ProjectFrozen):
        lifecycle.ensure_amendments_open(project, T0)
    walk(project, officer, "demand_frozen", now=DEMAND_DUE + H)
    with pytest.raises(lifecycle.ProjectFrozen) as refused:
        lifecycle.ensure_demand_reporting_open(project, DEMAND_DUE + H)
    assert refused.value.code == "DEMAND_FROZEN" and "amendment rows" in refused.value.message
    lifecycle.ensure_amendments_open(project, DEMAND_DUE + H)
    walk(project, officer, "bidding_open", now=BIDDING_OPENS + H)
    with pytest.raises(lifecycle.ProjectFrozen) as refused:
        lifecycle.ensure_amendments_open(project, BIDDING_OPENS + H)
    assert refused.value.code == "DEMAND_AMENDMENTS_CLOSED"


# --- timeline -----------------------------------------------------------------------------------------

def test_timeline_rules(db, project_world):
    project, officer, _ = project_world
    with pytest.raises(lifecycle.ProjectError) as refused:
        services.update_project_timeline(project, actor=officer, now=T0, opening_at=BID_DEADLINE - H)
    assert refused.value.code == "TIMELINE_ORDER" and refused.value.params == {"later": "opening_at", "earlier": "bid_deadline"}
    with pytest.raises(ValueError, match="aware"):
        services.update_project_timeline(project, actor=officer, now=T0, bid_deadline=dt.datetime(2030, 2, 1))
    assert services.update_project_timeline(project, actor=officer, now=T0, bid_deadline=BID_DEADLINE) == []
    to_bidding_open(project, officer)
    with pytest.raises(lifecycle.ProjectFrozen) as refused:
        services.update_project_timeline(project, actor=officer, now=BIDDING_OPENS + H, demand_due_at=DEMAND_DUE + H)
    assert refused.value.code == "TIMELINE_FROZEN" and refused.value.params["field"] == "demand_due_at"
    with pytest.raises(lifecycle.ProjectError) as refused:  # while bidding is open the deadline only moves later
        services.update_project_timeline(project, actor=officer, now=BIDDING_OPENS + H, bid_deadline=BID_DEADLINE - H)
    assert refused.value.code == "DEADLINE_ONLY_POSTPONED"
    assert services.update_project_timeline(project, actor=officer, now=BIDDING_OPENS + H, bid_deadline=BID_DEADLINE + H,
                                            opening_at=OPENING + H) == ["bid_deadline", "opening_at"]
    assert effective_state(project, BID_DEADLINE) == "bidding_open"  # postponed
    with pytest.raises(lifecycle.ProjectFrozen):  # once the (new) deadline passed it cannot move again
        services.update_project_timeline(project, actor=officer, now=BID_DEADLINE + 2 * H, bid_deadline=BID_DEADLINE + DAY)


# --- reading ------------------------------------------------------------------------------------------

def test_project_summary(db, project_world):
    project, officer, _ = project_world
    to_bidding_open(project, officer)
    summary = services.project_summary(project, BID_DEADLINE)
    assert (summary["state"], summary["effective_state"]) == ("bidding_open", "bidding_closed")
    assert summary["ruleset"]["version"] == 2 and summary["ruleset"]["frozen_at"] == BIDDING_OPENS + H
    assert summary["lots"][0]["ceiling_ucp"] == Decimal("1.5") and summary["lots_without_ceiling"] == []
    assert summary["institutions"] == 1 and summary["timeline"]["bid_deadline"] == BID_DEADLINE


def test_list_projects_is_scoped_by_role(db, make_user, make_org):
    draft, officer, (member,) = build_project(make_user, make_org, code="SCOPE-DRAFT")
    bidding, _, _ = build_project(make_user, make_org, officer, code="SCOPE-BID", institutions=0)
    services.add_institutions(bidding, [member.id], actor=officer)
    to_bidding_open(bidding, officer)
    cancelled_early, _, _ = build_project(make_user, make_org, officer, code="SCOPE-CXL")
    walk(cancelled_early, officer, "cancelled", now=T0, reason="测试")
    cancelled_late, _, _ = build_project(make_user, make_org, officer, code="SCOPE-CXL2")
    to_bidding_open(cancelled_late, officer)
    walk(cancelled_late, officer, "cancelled", now=BIDDING_OPENS + 2 * H, reason="测试")
    mine = {"SCOPE-DRAFT", "SCOPE-BID", "SCOPE-CXL", "SCOPE-CXL2"}

    def codes(user):
        return {p.code for p in services.list_projects(user)} & mine

    assert codes(officer) == mine and codes(make_user("procurement_officer")) == mine
    assert codes(make_user("supervisor")) == mine
    assert codes(make_user("institution_user", org=member)) == {"SCOPE-DRAFT", "SCOPE-BID"}
    assert codes(make_user("institution_user")) == set()
    assert codes(make_user("supplier_user")) == {"SCOPE-BID", "SCOPE-CXL2"}
    for role in ("platform_admin", "price_officer", "distributor_user"):
        assert codes(make_user(role)) == set()
    assert {p.code for p in services.list_projects(officer, state="bidding_open")} & mine == {"SCOPE-BID"}
