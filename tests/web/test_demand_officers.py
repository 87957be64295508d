"""Officers follow demand (completeness by region and institution), remind, freeze it, and decide the
amendment rows hospitals file afterwards (DOMAIN.md L2 demand_frozen: frozen rows never change)."""
from __future__ import annotations

import io
import re
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.errors import DomainError
from app.demand import services
from app.notifications.models import Notification
from app.projects import lifecycle
from app.projects.models import DemandAmendment, DemandLine
from tests.web.demand_builders import (  # noqa: F401 - fixtures
    AFTER_BIDDING_OPENS,
    AFTER_FREEZE,
    IN_COLLECTION,
    csrf,
    demand_project,
    demand_row,
    flashes,
    open_bidding,
    submit,
)

pytestmark = pytest.mark.usefixtures("fast_passwords")

INSTITUTIONS = (("B01", "110000"), ("B02", "110000"), ("J01", "320000"), ("G01", "440000"))


@pytest.fixture()
def world(db, make_user, make_org):
    project, officer, orgs, lots = demand_project(
        make_user, make_org, code="D-OFF", institutions=INSTITUTIONS,
        lots=[dict(generic_name="阿托伐他汀", form_group="口服常释剂型", representative_spec="20mg"),
              dict(generic_name="氨氯地平", form_group="口服常释剂型", representative_spec="5mg")])
    users = [make_user("institution_user", org=org) for org in orgs]
    return project, officer, orgs, users, lots


def _report_all(project, orgs, users):
    b01, b02, j01, _ = orgs
    submit(project, users[0], demand_row(project, b01, 1, reported=900), demand_row(project, b01, 1, spec="10mg", reported=100),
           demand_row(project, b01, 2, spec="5mg", reported=50))
    submit(project, users[1], demand_row(project, b02, 1, reported=1000))
    submit(project, users[2], demand_row(project, j01, 2, spec="5mg", reported=70))
    submit(project, users[2], demand_row(project, j01, 2, spec="5mg", reported=75))  # a second version counts


def test_completeness_by_region_and_by_institution(db, world):
    project, _, orgs, users, lots = world
    _report_all(project, orgs, users)
    data = services.demand_completeness(project)
    assert (data.expected, data.reported) == (4, 3)
    assert [o.institution_code for o in data.missing] == ["G01"]
    assert [(r.region_code, r.expected, r.reported, r.share, dict(r.totals)) for r in data.regions] == [
        ("110000", 2, 2, Decimal("100.0"), {lots[0].id: Decimal(2000), lots[1].id: Decimal(50)}),
        ("320000", 1, 1, Decimal("100.0"), {lots[1].id: Decimal(75)}),
        ("440000", 1, 0, Decimal("0"), {}),
    ]
    assert data.totals == {lots[0].id: Decimal(2000), lots[1].id: Decimal(125)}
    by_code = {i.institution.institution_code: i for i in data.institutions}
    assert (by_code["B01"].report.version, by_code["B01"].lines, by_code["B01"].totals) == (
        1, 3, {lots[0].id: Decimal(1000), lots[1].id: Decimal(50)})
    assert by_code["J01"].report.version == 2 and by_code["G01"].report is None


def test_completeness_page_and_export(db, world, browser, make_user, zh_catalog):
    project, officer, orgs, users, lots = world
    _report_all(project, orgs, users)
    for viewer in (officer, make_user("supervisor"), make_user("procurement_officer")):
        page = browser(viewer).get(f"/projects/{project.id}/demand/completeness")
        assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "应报 4 家医疗机构，已报送 3 家。" in html
    region_row = re.search(r'<tr data-region="110000">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]*)</td>', region_row) == ["2", "2", "100.0", "2,000", "50"]
    assert "提醒" not in html  # another authority's officer only reads
    own = browser(officer).get(f"/projects/{project.id}/demand/completeness").get_data(as_text=True)
    assert "提醒 1 家未报送的医疗机构" in own
    export = browser(officer).get(f"/projects/{project.id}/demand/export")
    ws = openpyxl.load_workbook(io.BytesIO(export.data)).active
    rows = {r[0]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    assert rows["B01"][3] == 1 and rows["B01"][6:] == (1000, 50)
    assert rows["G01"][4] == "未报送"
    for role in ("institution_user", "supplier_user"):
        assert browser(make_user(role)).get(f"/projects/{project.id}/demand/completeness").status_code == 403


def test_reminders_go_to_institutions_without_a_report(db, world, browser):
    project, officer, orgs, users, _ = world
    submit(project, users[0], demand_row(project, orgs[0], 1))
    sent = services.send_demand_reminders(project, actor=officer, link="/x", now=IN_COLLECTION)
    assert [o.institution_code for o in sent] == ["B02", "J01", "G01"]
    notes = db.session.scalars(select(Notification).where(Notification.kind == "reminder").order_by(Notification.id)).all()
    assert [n.org_id for n in notes] == [orgs[1].id, orgs[2].id, orgs[3].id]
    assert all(project.code in n.title for n in notes)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "demand.remind"))
    assert event.summary["institutions"] == [orgs[1].id, orgs[2].id, orgs[3].id]
    # The web button: another officer cannot, the project's officer can.
    client = browser(officer)
    url = f"/projects/{project.id}/demand/completeness"
    response = client.post(f"/projects/{project.id}/demand/remind", data={"csrf_token": csrf(client, url), "confirm": "1"})
    assert response.status_code == 302
    assert len(db.session.scalars(select(Notification).where(Notification.kind == "reminder")).all()) == 6
    with pytest.raises(DomainError) as exc:
        services.send_demand_reminders(project, actor=users[0], now=IN_COLLECTION)
    assert exc.value.code == "DEMAND_OFFICER_ONLY"


def test_reminders_and_freezing_only_in_demand_collection(db, world, make_user):
    project, officer, orgs, users, _ = world
    other = make_user("procurement_officer")
    with pytest.raises(DomainError) as exc:
        services.send_demand_reminders(project, actor=other, now=IN_COLLECTION)
    assert exc.value.code == "PROJECT_NOT_YOURS"
    submit(project, users[0], demand_row(project, orgs[0], 1))
    services.freeze_demand(project, actor=officer, now=AFTER_FREEZE)
    assert project.state == "demand_frozen"
    assert services.current_report(project, orgs[0].id).status == "frozen"
    with pytest.raises(DomainError) as exc:
        services.send_demand_reminders(project, actor=officer, now=AFTER_FREEZE)
    assert exc.value.code == "DEMAND_FROZEN"


def test_freeze_button(db, world, browser, zh_catalog):
    project, officer, orgs, users, _ = world
    submit(project, users[0], demand_row(project, orgs[0], 1))
    client = browser(officer)
    url = f"/projects/{project.id}/demand/completeness"
    response = client.post(f"/projects/{project.id}/demand/freeze", data={"csrf_token": csrf(client, url)})
    assert response.status_code == 302 and project.state == "demand_collection"  # not confirmed: nothing happens
    response = client.post(f"/projects/{project.id}/demand/freeze", data={"csrf_token": csrf(client, url), "confirm": "1"})
    assert response.status_code == 302
    db.session.refresh(project)
    assert project.state == "demand_frozen"
    hospital = browser(users[0])
    response = hospital.get(f"/projects/{project.id}/demand/upload")
    assert response.status_code == 302
    assert "报送需求已冻结" in flashes(hospital.get(response.location).get_data(as_text=True))[0]


# --- amendments -----------------------------------------------------------------------------------------

@pytest.fixture()
def frozen(world):
    project, officer, orgs, users, lots = world
    _report_all(project, orgs, users)
    services.freeze_demand(project, actor=officer, now=AFTER_FREEZE)
    return world


def _line(project, org, lot, spec):
    report = services.current_report(project, org.id)
    return next(line for line in services.report_lines(report) if line.lot_id == lot.id and line.spec == spec)


def test_an_approved_amendment_changes_the_effective_demand_never_the_frozen_row(db, frozen):
    project, officer, orgs, users, lots = frozen
    line = _line(project, orgs[0], lots[0], "20mg")
    amendment = services.request_amendment(line, actor=users[0], new_reported_demand="1,200", reason="新院区开业",
                                           now=AFTER_FREEZE)
    assert (amendment.status, amendment.new_reported_demand) == ("pending", Decimal(1200))
    assert services.effective_demand(line) == Decimal(900)
    with pytest.raises(DomainError) as exc:
        services.request_amendment(line, actor=users[0], new_reported_demand="1300", reason="再改", now=AFTER_FREEZE)
    assert exc.value.code == "AMENDMENT_PENDING"
    services.decide_amendment(amendment, actor=officer, approve=True, now=AFTER_FREEZE)
    assert amendment.status == "approved" and amendment.decided_by_id == officer.id
    db.session.refresh(line)
    assert line.reported_demand == Decimal(900)  # the frozen row stays
    assert services.effective_demand(line) == Decimal(1200)
    data = services.demand_completeness(project)
    assert data.totals[lots[0].id] == Decimal(2300)
    note = db.session.scalar(select(Notification).where(Notification.org_id == orgs[0].id, Notification.kind == "info"))
    assert project.code in note.title
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert "demand.amendment_request" in actions and "demand.amendment_approve" in actions


def test_refusals_need_a_reason_and_leave_demand_as_it_was(db, frozen):
    project, officer, orgs, users, lots = frozen
    line = _line(project, orgs[1], lots[0], "20mg")
    amendment = services.request_amendment(line, actor=users[1], new_reported_demand="10", reason="误报",
                                           now=AFTER_FREEZE)
    with pytest.raises(DomainError) as exc:
        services.decide_amendment(amendment, actor=officer, approve=False, now=AFTER_FREEZE)
    assert exc.value.code == "REASON_REQUIRED_REFUSE"
    services.decide_amendment(amendment, actor=officer, approve=False, note="无依据", now=AFTER_FREEZE)
    assert amendment.status == "rejected" and services.effective_demand(line) == Decimal(1000)
    with pytest.raises(DomainError) as exc:
        services.decide_amendment(amendment, actor=officer, approve=True, now=AFTER_FREEZE)
    assert exc.value.code == "AMENDMENT_DECIDED"


def test_who_and_when_amendments_are_allowed(db, frozen, make_user):
    project, officer, orgs, users, lots = frozen
    line = _line(project, orgs[0], lots[0], "20mg")
    with pytest.raises(DomainError) as exc:  # another hospital
        services.request_amendment(line, actor=users[1], new_reported_demand="1", reason="x", now=AFTER_FREEZE)
    assert exc.value.code == "NOT_YOUR_REPORT"
    for bad, code in (("-5", "NEGATIVE"), ("abc", "AMENDMENT_VALUE"), ("900", "AMENDMENT_NO_CHANGE")):
        with pytest.raises(DomainError) as exc:
            services.request_amendment(line, actor=users[0], new_reported_demand=bad, reason="x", now=AFTER_FREEZE)
        assert exc.value.code == code
    with pytest.raises(DomainError) as exc:
        services.request_amendment(line, actor=users[0], new_reported_demand="1", reason=" ", now=AFTER_FREEZE)
    assert exc.value.code == "REASON_REQUIRED_AMEND"
    amendment = services.request_amendment(line, actor=users[0], new_reported_demand="1", reason="x", now=AFTER_FREEZE)
    with pytest.raises(DomainError) as exc:
        services.decide_amendment(amendment, actor=make_user("procurement_officer"), approve=True, now=AFTER_FREEZE)
    assert exc.value.code == "PROJECT_NOT_YOURS"
    # A pending amendment stops bidding from opening; once decided, bidding opens and amendments close.
    problems = lifecycle.guard_problems(project, "bidding_open", AFTER_BIDDING_OPENS)
    assert "AMENDMENTS_PENDING" in [p.code for p in problems]
    services.decide_amendment(amendment, actor=officer, approve=True, now=AFTER_FREEZE)
    open_bidding(project, officer)
    with pytest.raises(DomainError) as exc:
        services.request_amendment(line, actor=users[0], new_reported_demand="2", reason="x", now=AFTER_BIDDING_OPENS)
    assert exc.value.code == "DEMAND_AMENDMENTS_CLOSED"


def test_amendment_pages(db, frozen, browser, make_user):
    project, officer, orgs, users, lots = frozen
    line = _line(project, orgs[0], lots[0], "20mg")
    hospital = browser(users[0])
    mine = f"/projects/{project.id}/demand/mine"
    page = hospital.get(mine).get_data(as_text=True)
    assert "申请调整" in page or "Request amendment" in page
    url = f"/projects/{project.id}/demand/amendments"
    response = hospital.post(url, data={"csrf_token": csrf(hospital, mine), "line_id": str(line.id),
                                        "new_reported_demand": "950", "reason": "扩容"})
    assert response.status_code == 302
    amendment = db.session.scalar(select(DemandAmendment).where(DemandAmendment.demand_line_id == line.id))
    assert amendment.new_reported_demand == Decimal(950)
    # Another hospital can neither amend this line nor see the amendment.
    other = browser(users[1])
    response = other.post(url, data={"csrf_token": csrf(other, mine), "line_id": str(line.id),
                                     "new_reported_demand": "1", "reason": "x"})
    assert response.status_code == 404
    assert f'data-amendment="{amendment.id}"' not in other.get(url).get_data(as_text=True)
    assert f'data-amendment="{amendment.id}"' in hospital.get(url).get_data(as_text=True)
    # The supervisor reads, the project's officer decides.
    assert f'data-amendment="{amendment.id}"' in browser(make_user("supervisor")).get(url).get_data(as_text=True)
    client = browser(officer)
    response = client.post(f"/demand/amendments/{amendment.id}/decide",
                           data={"csrf_token": csrf(client, url), "decision": "approve"})
    assert response.status_code == 302
    db.session.refresh(amendment)
    assert amendment.status == "approved"
    report_page = client.get(f"/demand/reports/{line.report_id}").get_data(as_text=True)
    assert "950" in report_page
    assert db.session.get(DemandLine, line.id).reported_demand == Decimal(900)


# --- the floor (min_report_vs_history) -------------------------------------------------------------------

def test_officers_make_the_project_require_the_floor(db, world, make_user):
    project, officer, orgs, users, _ = world
    assert services.set_demand_floor(project, "80%", actor=officer, now=IN_COLLECTION) == Decimal("0.8")
    assert services.floor_rule(project) == services.FloorRule(Decimal("0.8"), True)
    result = submit(project, users[0], demand_row(project, orgs[0], 1, history=1000, reported=700))
    assert [e.code for e in result.errors] == ["DEMAND_BELOW_FLOOR"]
    for bad in ("1.2", "abc", "0.12345", "-0.1"):
        with pytest.raises(DomainError) as exc:
            services.set_demand_floor(project, bad, actor=officer, now=IN_COLLECTION)
        assert exc.value.code == "DEMAND_FLOOR_INVALID"
    with pytest.raises(DomainError) as exc:
        services.set_demand_floor(project, "0.5", actor=make_user("procurement_officer"), now=IN_COLLECTION)
    assert exc.value.code == "PROJECT_NOT_YOURS"
    assert services.set_demand_floor(project, "", actor=officer, now=IN_COLLECTION) is None
    assert services.floor_rule(project).enforced is False
    assert submit(project, users[0], demand_row(project, orgs[0], 1, history=1000, reported=700)).ok
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "demand.floor").order_by(AuditEvent.seq)).all()
    assert [(e.summary["before"], e.summary["after"]) for e in events] == [(None, "0.8"), ("0.8000", None)]
    services.freeze_demand(project, actor=officer, now=AFTER_FREEZE)
    with pytest.raises(DomainError) as exc:
        services.set_demand_floor(project, "0.8", actor=officer, now=AFTER_FREEZE)
    assert exc.value.code == "DEMAND_FLOOR_FROZEN"


def test_floor_form_on_the_completeness_page(db, world, browser):
    project, officer, _, _, _ = world
    client = browser(officer)
    url = f"/projects/{project.id}/demand/completeness"
    response = client.post(f"/projects/{project.id}/demand/floor",
                           data={"csrf_token": csrf(client, url), "confirm": "1", "min_report_vs_history": "0.75"})
    assert response.status_code == 302
    db.session.refresh(project)
    assert project.min_report_vs_history == Decimal("0.75")
    assert 'value="0.75"' in client.get(url).get_data(as_text=True)
