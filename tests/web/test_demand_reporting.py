"""Hospitals report demand (DOMAIN.md L2 demand_collection, §12 (c), V2, §13 min_report_vs_history):
real .xlsx uploads and the form, versions, checks with exact cell locations, the floor, brands, scoping."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
from decimal import Decimal

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.errors import DomainError
from app.demand import services
from app.projects.models import DemandLine, DemandReport
from app.spreadsheets import TemplateStampError
from tests.web.demand_builders import (  # noqa: F401 - fixtures
    AFTER_FREEZE,
    IN_COLLECTION,
    csrf,
    demand_project,
    demand_row,
    error_cells,
    flashes,
    make_institution,
    submit,
    xlsx,
)
from tests.web.project_builders import DEMAND_DUE, T0

pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture()
def world(db, make_user, make_org):
    project, officer, (h1, h2), lots = demand_project(make_user, make_org, institutions=(("H001", "110000"), ("H002", "320000")),
                                                      lots=[dict(generic_name="阿托伐他汀", form_group="口服常释剂型", representative_spec="20mg"),
                                                            dict(generic_name="氨氯地平", form_group="口服常释剂型", representative_spec="5mg")])
    u1 = make_user("institution_user", org=h1)
    u2 = make_user("institution_user", org=h2)
    return project, officer, (h1, h2), (u1, u2), lots


def _reports(db, project):
    return db.session.scalars(select(DemandReport).where(DemandReport.project_id == project.id)
                              .order_by(DemandReport.institution_id, DemandReport.version)).all()


# --- upload: versions, hash, lines ---------------------------------------------------------------------------

def test_upload_creates_a_version_with_the_file_hash_and_lines(db, world):
    project, _, (h1, _), (u1, _), lots = world
    data = xlsx([demand_row(project, h1, 1, spec="20mg", history=1000, reported=900),
                 demand_row(project, h1, 1, spec="10mg", history="2,000", reported="1800.5"),
                 demand_row(project, h1, 2, spec="5mg", history=0, reported=300)])
    result = services.upload_demand_report(project, data, "我的需求.xlsx", actor=u1, now=IN_COLLECTION)
    assert result.ok and result.errors == []
    report = result.report
    assert (report.version, report.status, report.institution_id) == (1, "submitted", h1.id)
    assert report.file_sha256 == hashlib.sha256(data).hexdigest()
    assert report.submitted_by_id == u1.id and report.submitted_at == IN_COLLECTION
    lines = services.report_lines(report)
    assert [(line.lot_id, line.spec, line.historical_usage, line.reported_demand, line.region_code, line.year)
            for line in lines] == [
        (lots[0].id, "20mg", Decimal("1000"), Decimal("900"), "110000", 2030),
        (lots[0].id, "10mg", Decimal("2000"), Decimal("1800.5"), "110000", 2030),
        (lots[1].id, "5mg", Decimal("0"), Decimal("300"), "110000", 2030),
    ]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "demand.submit"))
    assert event.object_id == str(report.id)
    assert event.summary["file_sha256"] == report.file_sha256 and event.summary["source"] == "upload"
    assert event.summary["reported_by_lot"] == {"1": "2700.5", "2": "300"}


def test_each_submission_is_a_new_version_superseding_the_previous_all_kept(db, world):
    project, _, (h1, _), (u1, _), _ = world
    first = submit(project, u1, demand_row(project, h1, 1, reported=900)).report
    second = submit(project, u1, demand_row(project, h1, 1, reported=950)).report
    third = services.submit_demand_lines(project, [services.LineInput(lot_no=1, spec="20mg", historical_usage=Decimal(1000),
                                                                     reported_demand=Decimal(990), year=2030)],
                                         actor=u1, now=IN_COLLECTION).report
    assert [(r.version, r.status) for r in _reports(db, project)] == [(1, "superseded"), (2, "superseded"), (3, "submitted")]
    assert second.supersedes_id == first.id and third.supersedes_id == second.id
    assert third.file_sha256 is None  # typed in the form: no file
    assert services.current_report(project, h1.id).id == third.id
    # Every version keeps its own lines.
    assert [line.reported_demand for line in services.report_lines(first)] == [Decimal(900)]
    assert [line.reported_demand for line in services.report_lines(third)] == [Decimal(990)]


# --- checks with exact locations, all or nothing ----------------------------------------------------------------

def test_bad_cells_are_reported_where_they_are_and_nothing_is_stored(db, world, make_org):
    project, _, (h1, h2), (u1, _), _ = world
    make_institution(make_org, "H009", "110000")
    rows = [
        demand_row(project, h1, 1),                                          # row 2: fine
        demand_row(project, h1, 1, spec="10mg", 项目编号="OTHER-1"),          # row 3: another project
        demand_row(project, h1, 7),                                          # row 4: no lot 7
        demand_row(project, h2, 1, spec="40mg"),                             # row 5: another institution
        demand_row(project, h1, 1, spec="5ml"),                              # row 6: a volume in a tablet lot
        demand_row(project, h1, 2, spec="5mg", reported=-1),                 # row 7: negative demand
        demand_row(project, h1, 2, spec="10mg", history="很多"),              # row 8: not a number
        demand_row(project, h1, 1, spec="20mg"),                             # row 9: same strength twice
        demand_row(project, h1, 2, spec="2.5mg", 省份代码="江苏"),             # row 10: not the institution's province
        demand_row(project, h1, 2, spec="1.25mg", 医疗机构名称="别的医院"),    # row 11: not the registered name
        demand_row(project, h1, 2, spec="abc"),                              # row 12: unreadable spec
        demand_row(project, h1, 2, spec="7.5mg", reported="1.23456"),        # row 13: 5 decimals
    ]
    result = submit(project, u1, *rows)
    assert not result.ok and result.report is None
    sheet = "需求报量"
    assert error_cells(result.errors) == [
        (sheet, 3, "A", "DEMAND_WRONG_PROJECT"),
        (sheet, 4, "B", "DEMAND_UNKNOWN_LOT"),
        (sheet, 5, "C", "DEMAND_WRONG_INSTITUTION"),
        (sheet, 5, "E", "DEMAND_WRONG_PROVINCE"),  # H002's province is not H001's
        (sheet, 6, "G", "DEMAND_SPEC_NOT_IN_LOT"),
        (sheet, 7, "J", "too_small"),
        (sheet, 8, "I", "not_a_number"),
        (sheet, 9, "G", "DEMAND_DUPLICATE_LINE"),
        (sheet, 10, "E", "DEMAND_WRONG_PROVINCE"),
        (sheet, 11, "D", "DEMAND_INSTITUTION_NAME"),
        (sheet, 12, "G", "SPEC_UNPARSEABLE"),
        (sheet, 13, "J", "TOO_PRECISE"),
    ]
    by_row = {}
    for e in result.errors:
        by_row.setdefault(e.row, e)
    assert "OTHER-1" in str(by_row[3].message) and project.code in str(by_row[3].message)
    with force_locale("en"):
        assert str(by_row[9].message).endswith("(first at 2).")
    assert str(by_row[9].message).endswith("（首次在 2）。")  # Chinese by default
    assert by_row[5].value == "H002" and by_row[5].header == "医疗机构代码"
    assert _reports(db, project) == []  # all or nothing
    assert db.session.scalar(select(func.count()).select_from(DemandLine)) == 0


def test_a_refused_upload_is_audited_after_the_rollback(db, world):
    from app.core.tx import finish

    project, _, (h1, _), (u1, _), _ = world
    db.session.commit()
    result = submit(project, u1, demand_row(project, h1, 9))
    assert not result.ok
    finish(False)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "demand.upload_refused"))
    assert event.summary["errors"] == 1 and event.summary["institution_id"] == h1.id
    assert event.summary["file_sha256"] == result.file_sha256


def test_a_product_code_must_belong_to_the_lot(db, world, make_org):
    from app.catalog.models import Product
    from app.projects import services as projects

    project, officer, (h1, _), (u1, _), lots = world
    maker = make_org("supplier")
    ator = Product(nhsa_code="XC10AAA123A001010101234", generic_name="阿托伐他汀钙片", dosage_form="片剂",
                   form_group="口服常释剂型", spec="10mg", pack_qty=7, min_unit="片", manufacturer_id=maker.id)
    other = Product(nhsa_code="XC08CAA456A001010105678", generic_name="氨氯地平片", dosage_form="片剂",
                    form_group="口服常释剂型", spec="5mg", pack_qty=7, min_unit="片", manufacturer_id=maker.id)
    db.session.add_all([ator, other])
    db.session.flush()
    projects.set_eligible_products(lots[0], [ator.id], actor=officer, now=IN_COLLECTION)
    result = submit(project, u1, demand_row(project, h1, 1, spec=None, nhsa_code=ator.nhsa_code),
                    demand_row(project, h1, 1, spec=None, nhsa_code=other.nhsa_code),
                    demand_row(project, h1, 1, spec=None, nhsa_code="XC99ZZZ000A001010100000"))
    assert error_cells(result.errors) == [("需求报量", 3, "F", "DEMAND_PRODUCT_NOT_IN_LOT"),
                                          ("需求报量", 4, "F", "DEMAND_UNKNOWN_PRODUCT")]
    ok = submit(project, u1, demand_row(project, h1, 1, spec=None, nhsa_code=ator.nhsa_code.lower()))
    line = services.report_lines(ok.report)[0]
    assert (line.product_id, line.spec) == (ator.id, "10mg")


def test_missing_columns_reject_the_whole_file(world):
    from app.spreadsheets import MissingColumnsError

    project, _, (h1, _), (u1, _), _ = world
    headers = ("项目编号", "品种序号", "医疗机构代码", "医疗机构名称", "省份代码", "规格", "历史年用量", "年度")
    data = xlsx([[project.code, 1, h1.institution_code, h1.name, "110000", "20mg", 100, 2030]], headers)
    with pytest.raises(MissingColumnsError) as exc:
        services.upload_demand_report(project, data, "d.xlsx", actor=u1, now=IN_COLLECTION)
    assert "报送需求量" in str(exc.value)


# --- the floor (min_report_vs_history) ---------------------------------------------------------------------------

def test_below_the_usual_share_of_history_is_a_stored_warning(db, world):
    project, _, (h1, _), (u1, _), _ = world
    assert services.floor_rule(project) == services.FloorRule(Decimal("0.8"), False)  # §13 default, not required
    result = submit(project, u1, demand_row(project, h1, 1, history=1000, reported=799),
                    demand_row(project, h1, 2, spec="5mg", history=1000, reported=800))
    assert result.ok
    assert [(w["ref"], w["lot_no"], w["spec"]) for w in result.warnings] == [("2", 1, "20mg")]
    stored = services.report_warnings(result.report)
    assert stored == [{"ref": "2", "lot_no": 1, "spec": "20mg", "historical_usage": "1000", "reported_demand": "799",
                       "ratio": "0.8", "minimum": "800.0"}]
    assert "799" in services.warning_text(stored[0]) and "80%" in services.warning_text(stored[0])


def test_the_rulesets_share_is_used_for_the_warning(db, make_user, make_org):
    project, _, (h1,), _ = demand_project(make_user, make_org, preset="nvbp-11", code="D-11")
    user = make_user("institution_user", org=h1)
    from app.projects import services as projects

    projects.set_ruleset(project, "nvbp-11", {"min_report_vs_history": "0.9"}, actor=project_officer(project), now=IN_COLLECTION)
    assert services.floor_rule(project) == services.FloorRule(Decimal("0.9"), False)
    result = submit(project, user, demand_row(project, h1, 1, history=1000, reported=850))
    assert result.ok and len(result.warnings) == 1


def project_officer(project):
    from app.auth.models import User
    from app.extensions import db

    return db.session.scalar(select(User).where(User.id == project.created_by_id))


def test_a_project_that_requires_the_floor_refuses_lower_demand(db, make_user, make_org):
    project, _, (h1,), _ = demand_project(make_user, make_org, code="D-FLOOR", min_report_vs_history="0.8")
    user = make_user("institution_user", org=h1)
    assert services.floor_rule(project) == services.FloorRule(Decimal("0.8"), True)
    result = submit(project, user, demand_row(project, h1, 1, history=1000, reported=799))
    assert error_cells(result.errors) == [("需求报量", 2, "J", "DEMAND_BELOW_FLOOR")]
    assert "800" in str(result.errors[0].message)
    assert submit(project, user, demand_row(project, h1, 1, history=1000, reported=800)).ok
    # A zero history asks for nothing; the form path refuses in the same way.
    with pytest.raises(services.DemandLinesInvalid) as exc:
        services.submit_demand_lines(project, [services.LineInput(lot_no=1, spec="20mg", historical_usage=Decimal(10),
                                                                  reported_demand=Decimal(7), year=2030)],
                                     actor=user, now=IN_COLLECTION)
    assert [(ref, issue.key, issue.code) for ref, issue in exc.value.problems] == [((1, 1), "reported_demand", "DEMAND_BELOW_FLOOR")]


# --- brands (V2) ------------------------------------------------------------------------------------------

def test_brands_only_where_the_ruleset_takes_demand_by_brand(db, world, make_user, make_org):
    project, _, (h1, _), (u1, _), _ = world
    refused = submit(project, u1, demand_row(project, h1, 1, brand="立普妥"))
    assert error_cells(refused.errors) == [("需求报量", 2, "H", "DEMAND_BRAND_NOT_ALLOWED")]

    brand_project, _, (b1,), _ = demand_project(make_user, make_org, code="D-BRAND", preset="nvbp-11",
                                                institutions=(("H101", "440000"),))
    user = make_user("institution_user", org=b1)
    assert services.brand_demand_allowed(brand_project)
    result = submit(brand_project, user, demand_row(brand_project, b1, 1, brand="立普妥", reported=600),
                    demand_row(brand_project, b1, 1, brand="阿乐", reported=400),
                    demand_row(brand_project, b1, 1, brand=None, spec="10mg", reported=900))
    assert result.ok
    assert [(line.preferred_brand, line.reported_demand) for line in services.report_lines(result.report)] == [
        ("立普妥", Decimal(600)), ("阿乐", Decimal(400)), (None, Decimal(900))]


# --- states, deadline, scoping ---------------------------------------------------------------------------

def test_reporting_only_in_demand_collection_before_the_deadline(db, make_user, make_org):
    from app.projects import lifecycle

    project, officer, (h1,), _ = demand_project(make_user, make_org, code="D-STATE", collect=False)
    user = make_user("institution_user", org=h1)
    with pytest.raises(DomainError) as exc:
        submit(project, user, demand_row(project, h1, 1), now=T0)
    assert exc.value.code == "DEMAND_NOT_OPEN"
    lifecycle.transition_project(project, "demand_collection", actor=officer, now=T0)
    with pytest.raises(DomainError) as exc:
        submit(project, user, demand_row(project, h1, 1), now=DEMAND_DUE)
    assert exc.value.code == "DEMAND_DUE_PASSED"
    assert submit(project, user, demand_row(project, h1, 1), now=DEMAND_DUE - dt.timedelta(seconds=1)).ok
    lifecycle.transition_project(project, "demand_frozen", actor=officer, now=AFTER_FREEZE)
    with pytest.raises(DomainError) as exc:
        submit(project, user, demand_row(project, h1, 1), now=AFTER_FREEZE)
    assert exc.value.code == "DEMAND_FROZEN"
    assert [r.status for r in _reports(db, project)] == ["frozen"]


def test_only_a_participating_institutions_own_users_report(db, world, make_user, make_org):
    project, officer, (h1, _), _, _ = world
    outsider = make_user("institution_user", org=make_institution(make_org, "H777", "110000"))
    with pytest.raises(DomainError) as exc:
        submit(project, outsider, demand_row(project, h1, 1))
    assert exc.value.code == "NOT_PARTICIPATING"
    for actor in (officer, make_user("supplier_user"), make_user("supervisor")):
        with pytest.raises(DomainError) as exc:
            submit(project, actor, demand_row(project, h1, 1))
        assert exc.value.code == "DEMAND_REPORT_DENIED"


def test_a_template_of_another_project_is_refused(db, world, make_user, make_org):
    project, officer, (h1, _), (u1, _), _ = world
    other, _, _, _ = demand_project(make_user, make_org, code="D-OTHER", officer=officer, institutions=(("H003", "110000"),))
    from app.projects import services as projects

    projects.add_institutions(other, [h1.id], actor=officer, now=IN_COLLECTION)
    template = services.demand_template(other, actor=u1, now=IN_COLLECTION)
    with pytest.raises(TemplateStampError) as exc:
        services.upload_demand_report(project, template, "other.xlsx", actor=u1, now=IN_COLLECTION)
    assert exc.value.code == "stamp_project"


# --- the template ----------------------------------------------------------------------------------------

def test_the_template_is_prefilled_locked_stamped_and_reads_back(db, world):
    project, _, (h1, _), (u1, _), lots = world
    data = services.demand_template(project, actor=u1, now=IN_COLLECTION)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["需求报量"]
    assert [c.value for c in ws[1]][:5] == ["*项目编号", "*品种序号", "*医疗机构代码", "*医疗机构名称", "*省份代码"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3, max_row=4)]
    assert [r[:7] for r in rows] == [[project.code, 1, "H001", h1.name, "110000", None, "20mg"],
                                     [project.code, 2, "H001", h1.name, "110000", None, "5mg"]]
    assert ws.protection.sheet is True
    assert ws["A3"].protection.locked and ws["E3"].protection.locked
    assert not ws["J3"].protection.locked and not ws["G3"].protection.locked
    stamp = {r[0].value: r[1].value for r in wb["_jicai_template"].iter_rows()}
    assert (stamp["kind"], stamp["version"], stamp["project_code"]) == ("demand", "1", project.code)
    # The hospital fills in its numbers and uploads the template as it is.
    ws["I3"], ws["J3"], ws["I4"], ws["J4"] = 1200, 1100, 300, 250
    buf = io.BytesIO()
    wb.save(buf)
    result = services.upload_demand_report(project, buf.getvalue(), "filled.xlsx", actor=u1, now=IN_COLLECTION)
    assert result.ok, [str(e) for e in result.errors]
    assert [(line.lot_id, line.reported_demand, line.year) for line in services.report_lines(result.report)] == [
        (lots[0].id, Decimal(1100), 2030), (lots[1].id, Decimal(250), 2030)]
    # The next template carries the current report's lines.
    again = openpyxl.load_workbook(io.BytesIO(services.demand_template(project, actor=u1, now=IN_COLLECTION)))["需求报量"]
    assert [again["J3"].value, again["J4"].value] == [1100, 250]


# --- the web pages ----------------------------------------------------------------------------------------

def test_upload_page_stores_a_real_file_and_shows_warnings(db, world, browser, zh_catalog):
    project, _, (h1, _), (u1, _), _ = world
    client = browser(u1)
    url = f"/projects/{project.id}/demand/upload"
    data = xlsx([demand_row(project, h1, 1, history=1000, reported=500)])
    response = client.post(url, data={"csrf_token": csrf(client, url), "file": (io.BytesIO(data), "需求.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and response.location.endswith(f"/projects/{project.id}/demand/mine")
    page = client.get(response.location).get_data(as_text=True)
    shown = flashes(page)
    assert shown[0] == "已从 需求.xlsx 提交第 1 版需求报量。"
    assert shown[1] == "品种 1 规格 20mg：报送需求量 500 低于历史用量 1000 的 80%。"
    assert hashlib.sha256(data).hexdigest() in page
    assert 'id="warnings"' in page and "500" in page
    report = services.current_report(project, h1.id)
    assert report.file_sha256 == hashlib.sha256(data).hexdigest()


def test_upload_page_shows_cell_errors_and_can_return_a_marked_workbook(db, world, browser):
    project, _, (h1, _), (u1, _), _ = world
    client = browser(u1)
    url = f"/projects/{project.id}/demand/upload"
    data = xlsx([demand_row(project, h1, 1), demand_row(project, h1, 5)])
    response = client.post(url, data={"csrf_token": csrf(client, url), "file": (io.BytesIO(data), "d.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "<code>B3</code>" in page and "DEMAND_UNKNOWN_LOT" in page
    response = client.post(url, data={"csrf_token": csrf(client, url), "file": (io.BytesIO(data), "d.xlsx"),
                                      "error_report": "y"}, content_type="multipart/form-data")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    marked = openpyxl.load_workbook(io.BytesIO(response.data))
    errors = marked["错误 Errors"]
    assert [c.value for c in errors[2]][:2] == ["需求报量", "B3"]
    assert marked["需求报量"]["B3"].comment is not None
    assert services.current_report(project, h1.id) is None


def test_the_form_submits_lines_per_lot_and_marks_bad_fields(db, world, browser):
    project, _, (h1, _), (u1, _), lots = world
    client = browser(u1)
    url = f"/projects/{project.id}/demand/form"
    page = client.get(url)
    assert page.status_code == 200
    token = csrf(client, url)
    a, b = lots
    bad = {"csrf_token": token, "year": "2030",
           f"l-{a.id}-0-spec": "20mg", f"l-{a.id}-0-historical_usage": "1,000", f"l-{a.id}-0-reported_demand": "１２００",
           f"l-{a.id}-1-spec": "5ml", f"l-{a.id}-1-historical_usage": "10", f"l-{a.id}-1-reported_demand": "10",
           f"l-{b.id}-0-spec": "5mg", f"l-{b.id}-0-historical_usage": "x", f"l-{b.id}-0-reported_demand": "3"}
    response = client.post(url, data=bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "x" in html and 'aria-invalid="true"' in html
    good = dict(bad)
    good[f"l-{b.id}-0-historical_usage"] = "0"
    response = client.post(url, data=good)
    assert response.status_code == 422
    assert "DEMAND_SPEC_NOT_IN_LOT" not in response.get_data(as_text=True)  # messages, not codes, are shown
    assert services.current_report(project, h1.id) is None
    del good[f"l-{a.id}-1-spec"], good[f"l-{a.id}-1-historical_usage"], good[f"l-{a.id}-1-reported_demand"]
    response = client.post(url, data=good)
    assert response.status_code == 302
    report = services.current_report(project, h1.id)
    assert [(line.lot_id, line.spec, line.historical_usage, line.reported_demand) for line in services.report_lines(report)] == [
        (a.id, "20mg", Decimal(1000), Decimal(1200)), (b.id, "5mg", Decimal(0), Decimal(3))]
    # The form opens again with the current lines.
    assert 'value="1200"' in client.get(url).get_data(as_text=True)


def test_a_hospital_sees_only_its_own_reports(db, world, browser, make_user):
    project, officer, (h1, h2), (u1, u2), _ = world
    r1 = submit(project, u1, demand_row(project, h1, 1)).report
    r2 = submit(project, u2, demand_row(project, h2, 1)).report
    own, other = browser(u1), browser(u2)
    assert own.get(f"/demand/reports/{r1.id}").status_code == 200
    assert own.get(f"/demand/reports/{r2.id}").status_code == 404
    assert other.get(f"/demand/reports/{r1.id}").status_code == 404
    assert browser(officer).get(f"/demand/reports/{r2.id}").status_code == 200
    assert browser(make_user("supervisor")).get(f"/demand/reports/{r2.id}").status_code == 200
    supplier = browser(make_user("supplier_user"))
    assert supplier.get(f"/demand/reports/{r1.id}").status_code == 403
    assert supplier.get(f"/projects/{project.id}/demand/upload").status_code == 403
    mine = own.get(f"/projects/{project.id}/demand/mine").get_data(as_text=True)
    assert h1.name in mine and h2.name not in mine


def test_pages_send_the_hospital_back_when_reporting_is_closed(db, make_user, make_org, browser):
    project, _, (h1,), _ = demand_project(make_user, make_org, code="D-DRAFT", collect=False)
    client = browser(make_user("institution_user", org=h1))
    for path in ("form", "upload", "template"):
        response = client.get(f"/projects/{project.id}/demand/{path}")
        assert response.status_code == 302 and response.location.endswith(f"/projects/{project.id}/demand/mine")
    assert client.get(f"/projects/{project.id}/demand/mine").status_code == 200


def test_template_download_is_an_xlsx_for_the_hospital(db, world, browser):
    project, _, (h1, _), (u1, _), _ = world
    response = browser(u1).get(f"/projects/{project.id}/demand/template")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert f"demand-{project.code}-H001.xlsx" in response.headers["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(response.data))["需求报量"]
    assert ws["C3"].value == "H001"


def test_form_lines_need_a_strength_and_at_least_one_line(db, world):
    project, _, _, (u1, _), _ = world
    line = services.LineInput(lot_no=2, spec=None, historical_usage=Decimal(1), reported_demand=Decimal(1), year=2030)
    with pytest.raises(services.DemandLinesInvalid) as exc:
        services.submit_demand_lines(project, [line], actor=u1, now=IN_COLLECTION)
    ((ref, issue),) = exc.value.problems
    assert (ref, issue.key, issue.code) == ((2, 1), "spec", "DEMAND_STRENGTH_REQUIRED")
    assert "5mg" in str(issue.cell_error().hint)
    with pytest.raises(services.DemandLinesInvalid) as exc:
        services.submit_demand_lines(project, [], actor=u1, now=IN_COLLECTION)
    assert [issue.code for _, issue in exc.value.problems] == ["DEMAND_EMPTY"]
