"""Committed volume = effective frozen demand × ratio(winners), rounded per institution half-up, summed
per province and nationally, the total never rounded (DOMAIN.md V1)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.errors import DomainError
from app.demand import services
from app.demand.services import compute_committed_volumes
from tests.web.demand_builders import (  # noqa: F401 - fixtures
    AFTER_FREEZE,
    IN_COLLECTION,
    demand_project,
    demand_row,
    open_bidding,
    submit,
)

pytestmark = pytest.mark.usefixtures("fast_passwords")

AFATINIB = dict(generic_name="阿法替尼", form_group="口服常释剂型", representative_spec="30mg")
MEROPENEM = dict(generic_name="美罗培南", form_group="注射剂", representative_spec="0.5g", drug_class="special_anti_infective",
                 form_class="small_volume_injection")


def _project(make_user, make_org, institutions, *, code="V-1", overrides=None):
    project, officer, orgs, lots = demand_project(make_user, make_org, code=code, institutions=institutions,
                                                  lots=[AFATINIB, MEROPENEM])
    if overrides:
        from app.projects import services as projects

        projects.set_ruleset(project, "nvbp-4", overrides, actor=officer, now=IN_COLLECTION)
    users = [make_user("institution_user", org=org) for org in orgs]
    return project, officer, orgs, users, lots


def _report(project, org, user, *lines):
    """lines: (lot_no, spec, units) reported with the same history (no floor warning)."""
    rows = [demand_row(project, org, lot_no, spec=spec, history=units, reported=units) for lot_no, spec, units in lines]
    result = submit(project, user, *rows)
    assert result.ok, [str(e) for e in result.errors]
    return result.report


def _freeze_and_open(project, officer):
    services.freeze_demand(project, actor=officer, now=AFTER_FREEZE)
    open_bidding(project, officer)


def _by_institution(rows):
    return {row.institution_id: row for row in rows}


def test_afatinib_one_institution_rounds_half_up(db, make_user, make_org):
    project, officer, (h1,), (u1,), (afatinib, _) = _project(make_user, make_org, (("H001", "110000"),))
    _report(project, h1, u1, (1, "30mg", 596327))
    _freeze_and_open(project, officer)
    one = compute_committed_volumes(project, {afatinib.id: 1})
    assert [(r.institution_id, r.reported_demand, r.ratio, r.committed_volume, r.region_code) for r in one] == [
        (h1.id, Decimal(596327), Decimal("0.5"), Decimal(298164), "110000")]  # 298,163.5 → 298,164
    two = compute_committed_volumes(project, {afatinib.id: 2})
    assert (two[0].ratio, two[0].committed_volume) == (Decimal("0.6"), Decimal(357796))  # 357,796.2
    assert two.national_totals() == {afatinib.id: Decimal(357796)}


def test_rounding_per_institution_differs_from_rounding_the_total(db, make_user, make_org):
    project, officer, orgs, users, (afatinib, _) = _project(
        make_user, make_org, (("H001", "110000"), ("H002", "110000"), ("H003", "320000")))
    for org, user, units in zip(orgs, users, (199109, 199109, 198109)):  # 596,327 in all
        _report(project, org, user, (1, "30mg", units))
    _freeze_and_open(project, officer)
    rows = compute_committed_volumes(project, {afatinib.id: 1})
    assert [r.committed_volume for r in rows] == [Decimal(99555), Decimal(99555), Decimal(99055)]  # each x.5 rounds up
    assert rows.region_totals() == {(afatinib.id, "110000"): Decimal(199110), (afatinib.id, "320000"): Decimal(99055)}
    national = rows.national_totals()[afatinib.id]
    assert national == Decimal(298165)
    total_rounded = (Decimal(596327) * Decimal("0.5")).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    assert total_rounded == Decimal(298164) and national != total_rounded  # the total is never rounded itself


def test_meropenem_special_anti_infective_ratios(db, make_user, make_org):
    project, officer, orgs, users, (_, meropenem) = _project(
        make_user, make_org, (("H001", "110000"), ("H002", "310000"), ("H003", "440000")), code="V-MERO")
    for org, user, units in zip(orgs, users, (2428963, 2428962, 2428962)):  # 7,286,887 in all
        _report(project, org, user, (2, "0.5g", units))
    _freeze_and_open(project, officer)
    expected = {
        1: (Decimal("0.3"), [728689, 728689, 728689]),     # 728,688.9 / 728,688.6 / 728,688.6
        2: (Decimal("0.4"), [971585, 971585, 971585]),     # 971,585.2 / 971,584.8 / 971,584.8
        3: (Decimal("0.5"), [1214482, 1214481, 1214481]),  # 1,214,481.5 / 1,214,481 / 1,214,481
        4: (Decimal("0.5"), [1214482, 1214481, 1214481]),  # ≥ 3 winners: 50 %
    }
    for winners, (ratio, volumes) in expected.items():
        rows = compute_committed_volumes(project, {meropenem.id: winners})
        assert {r.ratio for r in rows} == {ratio}
        assert [r.committed_volume for r in rows] == [Decimal(v) for v in volumes]
        assert rows.national_totals() == {meropenem.id: Decimal(sum(volumes))}
        assert sum(r.reported_demand for r in rows) == Decimal(7286887)
    # Against the unrounded national figures 2,186,066.1 / 2,914,754.8 / 3,643,443.5:
    assert [sum(v) for _, v in expected.values()][:3] == [2186067, 2914755, 3643444]


def test_strengths_are_summed_per_institution_before_rounding(db, make_user, make_org):
    project, officer, (h1,), (u1,), (afatinib, _) = _project(make_user, make_org, (("H001", "110000"),))
    _report(project, h1, u1, (1, "30mg", 1), (1, "40mg", 1), (1, "20mg", 1))
    _freeze_and_open(project, officer)
    (row,) = compute_committed_volumes(project, {afatinib.id: 1})
    assert row.reported_demand == Decimal(3) and row.committed_volume == Decimal(2)  # 1.5 → 2, not 3 × round(0.5)


def test_approved_amendments_count_refused_ones_do_not(db, make_user, make_org):
    project, officer, (h1, h2), (u1, u2), (afatinib, _) = _project(
        make_user, make_org, (("H001", "110000"), ("H002", "110000")))
    r1 = _report(project, h1, u1, (1, "30mg", 1000))
    r2 = _report(project, h2, u2, (1, "30mg", 2000))
    services.freeze_demand(project, actor=officer, now=AFTER_FREEZE)
    (l1,), (l2,) = services.report_lines(r1), services.report_lines(r2)
    a1 = services.request_amendment(l1, actor=u1, new_reported_demand="1201", reason="扩科", now=AFTER_FREEZE)
    a2 = services.request_amendment(l2, actor=u2, new_reported_demand="1", reason="误报", now=AFTER_FREEZE)
    services.decide_amendment(a1, actor=officer, approve=True, now=AFTER_FREEZE)
    services.decide_amendment(a2, actor=officer, approve=False, note="不予调整", now=AFTER_FREEZE)
    open_bidding(project, officer)
    rows = _by_institution(compute_committed_volumes(project, {afatinib.id: 1}))
    assert (rows[h1.id].reported_demand, rows[h1.id].committed_volume) == (Decimal(1201), Decimal(601))
    assert (rows[h2.id].reported_demand, rows[h2.id].committed_volume) == (Decimal(2000), Decimal(1000))
    assert l1.reported_demand == Decimal(1000)  # the frozen row itself never changes


def test_overrides_zero_winners_and_refusals(db, make_user, make_org):
    project, officer, (h1,), (u1,), (afatinib, meropenem) = _project(make_user, make_org, (("H001", "110000"),))
    _report(project, h1, u1, (1, "30mg", 1001), (2, "0.5g", 10))
    services.freeze_demand(project, actor=officer, now=AFTER_FREEZE)
    with pytest.raises(DomainError) as exc:  # the RuleSet is frozen when bidding opens
        compute_committed_volumes(project, {afatinib.id: 1})
    assert exc.value.code == "RULESET_NOT_FROZEN"
    open_bidding(project, officer)
    rows = compute_committed_volumes(project, {afatinib.id: 2, meropenem.id: 0}, ratio_overrides={afatinib.id: "0.65"})
    assert [(r.lot_id, r.ratio, r.committed_volume) for r in rows] == [(afatinib.id, Decimal("0.65"), Decimal(651))]  # 650.65
    for bad, code in (({afatinib.id: -1}, "WINNERS_INVALID"), ({10**9: 1}, "LOT_NOT_IN_PROJECT")):
        with pytest.raises(DomainError) as exc:
            compute_committed_volumes(project, bad)
        assert exc.value.code == code
    with pytest.raises(DomainError) as exc:
        compute_committed_volumes(project, {afatinib.id: 1}, ratio_overrides={afatinib.id: "1.5"})
    assert exc.value.code == "VOLUME_RATIO_INVALID"


def test_the_corps_is_folded_into_xinjiang_unless_separate(db, make_user, make_org):
    merged, officer, (h1,), (u1,), (afatinib, _) = _project(make_user, make_org, (("H660", "660000"),))
    _report(merged, h1, u1, (1, "30mg", 10))
    _freeze_and_open(merged, officer)
    assert [r.region_code for r in compute_committed_volumes(merged, {afatinib.id: 1})] == ["650000"]
    separate, officer2, (h2,), (u2,), (afatinib2, _) = _project(make_user, make_org, (("H661", "660000"),), code="V-XPCC",
                                                                overrides={"xpcc_separate": True})
    _report(separate, h2, u2, (1, "30mg", 10))
    _freeze_and_open(separate, officer2)
    assert [r.region_code for r in compute_committed_volumes(separate, {afatinib2.id: 1})] == ["660000"]


def test_store_committed_volumes_once_per_selection_run(db, make_user, make_org):
    from app.bidding.models import CommittedVolume, SelectionRun
    from app.projects.lifecycle import frozen_ruleset

    project, officer, orgs, users, (afatinib, _) = _project(make_user, make_org, (("H001", "110000"), ("H002", "320000")))
    _report(project, orgs[0], users[0], (1, "30mg", 596327))
    _report(project, orgs[1], users[1], (1, "30mg", 3))
    _freeze_and_open(project, officer)
    run = SelectionRun(project_id=project.id, ruleset_version_id=frozen_ruleset(project).id, problem={}, problem_sha256="0" * 64,
                       result={}, solver_version="test")
    db.session.add(run)
    db.session.flush()
    rows = compute_committed_volumes(project, {afatinib.id: 1})
    assert services.store_committed_volumes(run, rows, actor=officer) == 2
    stored = db.session.scalars(select(CommittedVolume).where(CommittedVolume.selection_run_id == run.id)
                                .order_by(CommittedVolume.institution_id)).all()
    assert [(c.institution_id, c.region_code, c.reported_demand, c.ratio, c.committed_volume) for c in stored] == [
        (orgs[0].id, "110000", Decimal(596327), Decimal("0.5"), Decimal(298164)),
        (orgs[1].id, "320000", Decimal(3), Decimal("0.5"), Decimal(2)),
    ]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "committed_volume.store"))
    assert event.summary["lots"] == {str(afatinib.id): {"ratio": "0.5", "total": "298166"}}
    with pytest.raises(DomainError) as exc:
        services.store_committed_volumes(run, rows, actor=officer)
    assert exc.value.code == "COMMITTED_VOLUMES_STORED"
    with pytest.raises(DomainError) as exc:
        services.store_committed_volumes(run, rows, actor=users[0])
    assert exc.value.code == "DEMAND_OFFICER_ONLY"
