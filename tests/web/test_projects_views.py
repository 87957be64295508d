"""Project pages: Chinese by default, Beijing time in and out, CSRF on every POST, role and org scoping."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.projects import lifecycle, services
from app.projects.models import Lot, ProcurementProject, ProjectInstitution
from tests.web.conftest import assert_po_fragment_complete, page_csrf_token
from tests.web.project_builders import BID_DEADLINE, build_project, to_bidding_open

ROOT = Path(__file__).resolve().parents[2]
UTC = dt.timezone.utc


pytestmark = pytest.mark.usefixtures("zh_catalog", "fast_passwords")


def _text(response) -> str:
    return response.get_data(as_text=True)


def _flashes(html: str) -> list[str]:
    return re.findall(r'<div class="flash[^"]*" role="status">([^<]*)</div>', html)


# --- the PO fragment ----------------------------------------------------------------------------------

def test_the_po_fragment_translates_every_msgid_of_the_piece():
    assert_po_fragment_complete("projects", "Projects")  # with its navigation entry


# --- create, Beijing time, Chinese --------------------------------------------------------------------

def test_an_officer_creates_a_project_in_beijing_time(db, browser, make_user):
    officer = make_user("procurement_officer")
    client = browser(officer)
    page = client.get("/projects/new")
    assert page.status_code == 200 and "新建采购项目" in _text(page) and "北京时间" in _text(page)
    token = page_csrf_token(client, "/projects/new")
    response = client.post("/projects/new", data={
        "csrf_token": token, "code": "zj-2030-1", "name": "省际联盟集中带量采购", "kind": "alliance", "preset": "nvbp-10",
        "demand_due_at": "2030-01-03T17:00", "bid_deadline": "2030-01-17T12:00", "opening_at": "2030-01-17T14:00"})
    assert response.status_code == 302
    project = db.session.scalar(select(ProcurementProject).where(ProcurementProject.code == "ZJ-2030-1"))
    assert response.location == f"/projects/{project.id}"
    assert project.bid_deadline == dt.datetime(2030, 1, 17, 4, 0, tzinfo=UTC)  # 12:00 Beijing = 04:00 UTC
    assert project.demand_due_at == dt.datetime(2030, 1, 3, 9, 0, tzinfo=UTC)
    assert project.authority_org_id == officer.org_id and project.state == "draft"
    assert lifecycle.latest_ruleset(project).preset == "nvbp-10"

    html = _text(client.get(f"/projects/{project.id}"))
    assert "项目 ZJ-2030-1 已创建。" in _flashes(html)
    assert "2030-01-17 12:00" in html and "2030-01-17 14:00" in html  # shown in Beijing time again
    for zh in ("草稿", "时间线", "品种", "规则集", "状态历史", "第 1 版，预设 nvbp-10", "转到：需求填报", "项目尚无品种。"):
        assert zh in html, zh


def test_a_bad_project_is_refused_in_chinese(db, browser, make_user, make_org):
    build_project(make_user, make_org, code="DUP-1")
    client = browser(make_user("procurement_officer"))
    token = page_csrf_token(client, "/projects/new")
    response = client.post("/projects/new", data={"csrf_token": token, "code": "dup-1", "name": "重复", "kind": "national",
                                                  "preset": "nvbp-4"})
    assert response.status_code == 422 and "项目编号 DUP-1 已存在。" in _text(response)
    response = client.post("/projects/new", data={"csrf_token": token, "code": "X-2", "name": "时间倒置", "kind": "national",
                                                  "preset": "nvbp-4", "bid_deadline": "2030-01-17T12:00",
                                                  "opening_at": "2030-01-17T11:00"})
    assert response.status_code == 422 and "开标时间不能早于投标截止时间。" in _text(response)


def test_the_pages_are_english_on_request(db, browser, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    client = browser(officer)
    html = _text(client.get(f"/projects/{project.id}?lang=en"))
    assert "Timeline" in html and "Draft" in html and "Move to: Demand collection" in html
    assert "Procurement projects" in _text(client.get("/projects/"))


# --- CSRF ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/projects/new", "/projects/{id}/transition", "/projects/{id}/ruleset",
                                  "/projects/{id}/timeline", "/projects/{id}/lots/new", "/projects/{id}/institutions",
                                  "/projects/lots/{lot}", "/projects/lots/{lot}/products", "/projects/lots/{lot}/remove"])
def test_every_post_needs_the_csrf_token(db, browser, make_user, make_org, path):
    project, officer, _ = build_project(make_user, make_org)
    lot = services.project_lots(project)[0]
    client = browser(officer)
    data = {"to_state": "demand_collection", "preset": "nvbp-2", "confirm": "y", "code": "NO-CSRF", "name": "x",
            "lot_no": "5", "generic_name": "x", "form_group": "y", "representative_spec": "1mg", "kind": "national",
            "form_class": "oral_solid", "drug_class": "chemical"}
    response = client.post(path.format(id=project.id, lot=lot.id), data=data)
    assert response.status_code == 400
    assert "表单已过期" in _text(response)
    db.session.expire_all()
    assert project.state == "draft" and len(services.project_lots(project)) == 1
    assert lifecycle.latest_ruleset(project).version == 1


# --- moves --------------------------------------------------------------------------------------------

def test_the_officer_moves_the_project_with_the_buttons(db, browser, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    client = browser(officer)
    html = _text(client.get(f"/projects/{project.id}"))
    forms = re.findall(r'<form method="post" action="/projects/\d+/transition".*?</form>', html, re.S)
    assert len(forms) == 2 and all('name="csrf_token"' in f for f in forms)
    assert 'value="demand_collection"' in forms[0] and 'value="cancelled"' in forms[1] and 'name="reason"' in forms[1]
    token = page_csrf_token(client, f"/projects/{project.id}")
    response = client.post(f"/projects/{project.id}/transition", data={"csrf_token": token, "to_state": "demand_collection"})
    assert response.status_code == 302
    assert project.state == "demand_collection"
    html = _text(client.get(f"/projects/{project.id}"))
    assert "项目当前状态：需求填报。" in _flashes(html)
    assert officer.display_name in html  # in the history


def test_an_illegal_move_is_refused_naming_the_states_in_chinese(db, browser, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    client = browser(officer)
    token = page_csrf_token(client, f"/projects/{project.id}")
    client.post(f"/projects/{project.id}/transition", data={"csrf_token": token, "to_state": "closed"})
    html = _text(client.get(f"/projects/{project.id}"))
    assert "项目不能从“草稿”转到“已结束”。" in _flashes(html)
    client.post(f"/projects/{project.id}/transition", data={"csrf_token": token, "to_state": "cancelled"})
    assert "项目从“草稿”转到“已取消”须填写原因。" in _flashes(_text(client.get(f"/projects/{project.id}")))
    assert project.state == "draft"
    client.post(f"/projects/{project.id}/transition", data={"csrf_token": token, "to_state": "cancelled",
                                                             "reason": "采购需求变更"})
    db.session.expire_all()
    html = _text(client.get(f"/projects/{project.id}"))
    assert project.state == "cancelled" and "取消原因：采购需求变更" in html


def test_the_opening_is_not_a_button(db, browser, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    project.state = "bidding_closed"
    db.session.flush()
    client = browser(officer)
    html = _text(client.get(f"/projects/{project.id}"))
    assert 'value="opened"' not in html and "开标仪式" in html
    token = page_csrf_token(client, f"/projects/{project.id}")
    client.post(f"/projects/{project.id}/transition", data={"csrf_token": token, "to_state": "opened"})
    assert project.state == "bidding_closed"


@pytest.mark.parametrize("role", ["supervisor", "supplier_user", "institution_user"])
def test_only_officers_get_buttons_and_may_post_moves(db, browser, make_user, make_org, role):
    project, officer, (member,) = build_project(make_user, make_org)
    to_bidding_open(project, officer)  # visible to suppliers too
    user = make_user(role, org=member) if role == "institution_user" else make_user(role)
    client = browser(user)
    page = client.get(f"/projects/{project.id}")
    assert page.status_code == 200 and "/transition" not in _text(page)
    token = page_csrf_token(client, "/")
    response = client.post(f"/projects/{project.id}/transition", data={"csrf_token": token, "to_state": "cancelled",
                                                                        "reason": "越权"})
    assert response.status_code == 403
    assert project.state == "bidding_open"


def test_an_officer_of_another_authority_reads_but_cannot_change(db, browser, make_user, make_org):
    project, _, _ = build_project(make_user, make_org)
    client = browser(make_user("procurement_officer"))
    page = client.get(f"/projects/{project.id}")
    assert page.status_code == 200 and "/transition" not in _text(page) and "修改时间线" not in _text(page)
    assert client.get(f"/projects/{project.id}/timeline").status_code == 403
    token = page_csrf_token(client, "/")
    assert client.post(f"/projects/{project.id}/transition", data={"csrf_token": token,
                                                                    "to_state": "demand_collection"}).status_code == 403


def test_the_clock_closes_bidding_on_the_page(db, browser, make_user, make_org, monkeypatch):
    project, officer, _ = build_project(make_user, make_org)
    to_bidding_open(project, officer)
    monkeypatch.setattr("app.projects.views.utcnow", lambda: BID_DEADLINE + dt.timedelta(minutes=1))
    monkeypatch.setattr("app.projects.lifecycle.utcnow", lambda: BID_DEADLINE + dt.timedelta(minutes=1))
    html = _text(browser(officer).get(f"/projects/{project.id}"))
    assert "投标已截止（密封）" in html and "服务器时钟已过投标截止时间（2030-01-16 09:00）" in html
    assert project.state == "bidding_open"  # a read persists nothing


# --- timeline -----------------------------------------------------------------------------------------

def test_the_timeline_is_edited_in_beijing_time(db, browser, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    client = browser(officer)
    page = _text(client.get(f"/projects/{project.id}/timeline"))
    assert 'value="2030-01-16T09:00"' in page  # BID_DEADLINE is 01:00 UTC
    token = page_csrf_token(client, f"/projects/{project.id}/timeline")
    form = {"csrf_token": token, "demand_due_at": "2030-01-09T09:00", "bidding_opens_at": "2030-01-11T09:00",
            "bid_deadline": "2030-01-16T09:00", "opening_at": "2030-01-16T15:30", "cycle_start": "2030-05-01",
            "cycle_end": "2031-04-30"}
    response = client.post(f"/projects/{project.id}/timeline", data=form)
    assert response.status_code == 302
    assert project.opening_at == dt.datetime(2030, 1, 16, 7, 30, tzinfo=UTC)
    assert project.bid_deadline == BID_DEADLINE and project.cycle_start == dt.date(2030, 5, 1)
    response = client.post(f"/projects/{project.id}/timeline", data={**form, "opening_at": "2030-01-16T08:00"})
    assert response.status_code == 422 and "开标时间不能早于投标截止时间。" in _text(response)


# --- RuleSet page -------------------------------------------------------------------------------------

def test_the_ruleset_page_saves_a_new_version_per_change(db, browser, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    client = browser(officer)
    html = _text(client.get(f"/projects/{project.id}/ruleset"))
    for text in ("规则集", "第 1 版，预设 nvbp-4", "alliance-default", "nvbp-11", "生效值", "spread_multiplier"):
        assert text in html, text
    token = page_csrf_token(client, f"/projects/{project.id}/ruleset")
    response = client.post(f"/projects/{project.id}/ruleset", data={
        "csrf_token": token, "preset": "nvbp-2", "overrides": "spread_multiplier = 1.5\npublicity_days = 5\n"})
    assert response.status_code == 302
    version = lifecycle.latest_ruleset(project)
    assert (version.version, version.preset, version.overrides) == (2, "nvbp-2",
                                                                     {"spread_multiplier": "1.5", "publicity_days": 5})
    html = _text(client.get(f"/projects/{project.id}/ruleset"))
    assert "规则集第 2 版已保存。" in _flashes(html)
    assert "publicity_days = 5\nspread_multiplier = 1.5" in html  # the overrides, ready to edit
    assert "已覆盖" in html


def test_the_ruleset_page_reports_each_bad_field_with_its_path(db, browser, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    client = browser(officer)
    token = page_csrf_token(client, f"/projects/{project.id}/ruleset")
    response = client.post(f"/projects/{project.id}/ruleset", data={
        "csrf_token": token, "preset": "nvbp-4", "overrides": "spread_multiplier = abc\nno_such_field = 1"})
    html = _text(response)
    assert response.status_code == 422
    assert "ruleset.spread_multiplier: must be a positive decimal string" in html
    assert "ruleset.no_such_field: unknown RuleSet field" in html and "规则集有 2 个字段无效" in html
    response = client.post(f"/projects/{project.id}/ruleset", data={"csrf_token": token, "preset": "nvbp-4",
                                                                     "overrides": "just words"})
    assert response.status_code == 422 and "第 1 行不是“字段 = 值”的格式：just words" in _text(response)
    assert lifecycle.latest_ruleset(project).version == 1


def test_a_frozen_ruleset_is_read_only_on_the_page(db, browser, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    to_bidding_open(project, officer)
    client = browser(officer)
    html = _text(client.get(f"/projects/{project.id}/ruleset"))
    assert "规则集已在开始投标时固定" in html and 'name="overrides"' not in html and "冻结于" in html
    token = page_csrf_token(client, "/")
    client.post(f"/projects/{project.id}/ruleset", data={"csrf_token": token, "preset": "nvbp-2", "overrides": ""})
    assert "开始投标后规则集不可再修改（项目处于“投标中”阶段）。" in _flashes(_text(client.get(f"/projects/{project.id}")))
    assert lifecycle.latest_ruleset(project).version == 2


def test_supervisors_and_suppliers_read_the_ruleset_without_a_form(db, browser, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    to_bidding_open(project, officer)
    for role in ("supervisor", "supplier_user"):
        client = browser(make_user(role))
        page = client.get(f"/projects/{project.id}/ruleset")
        assert page.status_code == 200 and 'name="overrides"' not in _text(page)
        response = client.post(f"/projects/{project.id}/ruleset", data={"csrf_token": page_csrf_token(client, "/"),
                                                                         "preset": "nvbp-2"})
        assert response.status_code == 403


# --- lots ---------------------------------------------------------------------------------------------

def test_lots_are_added_edited_and_removed_through_the_pages(db, browser, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    client = browser(officer)
    page = _text(client.get(f"/projects/{project.id}/lots/new"))
    assert 'value="2"' in page  # the next free lot number
    token = page_csrf_token(client, f"/projects/{project.id}/lots/new")
    lot_form = {"csrf_token": token, "lot_no": "2", "generic_name": "阿比特龙", "form_group": "口服常释剂型",
                "form_class": "oral_solid", "drug_class": "chemical", "representative_spec": "250mg",
                "ceiling_ucp": "0"}
    response = client.post(f"/projects/{project.id}/lots/new", data=lot_form)
    assert response.status_code == 422 and "最小单位最高有效申报价须大于零，实际为 0。" in _text(response)
    response = client.post(f"/projects/{project.id}/lots/new", data={**lot_form, "ceiling_ucp": "101.67"})
    assert response.status_code == 302
    lot = db.session.scalar(select(Lot).where(Lot.project_id == project.id, Lot.lot_no == 2))
    assert lot.name == "阿比特龙口服常释剂型" and lot.ceiling_ucp == Decimal("101.67")
    assert lot.rep_strength_value == Decimal("250") and lot.rep_strength_unit == "mg"
    html = _text(client.get(f"/projects/{project.id}"))
    assert "101.670000" in html and "阿比特龙口服常释剂型" in html

    edit = _text(client.get(f"/projects/lots/{lot.id}"))
    assert 'value="101.67"' in edit
    response = client.post(f"/projects/lots/{lot.id}", data={**lot_form, "ceiling_ucp": "0.150714",
                                                              "representative_spec": "5ml:0.1g"})
    assert response.status_code == 302
    assert lot.ceiling_ucp == Decimal("0.150714") and lot.rep_fill_volume_ml == Decimal("5")

    client.post(f"/projects/lots/{lot.id}/remove", data={"csrf_token": token})  # not confirmed: nothing happens
    assert db.session.get(Lot, lot.id) is not None
    response = client.post(f"/projects/lots/{lot.id}/remove", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Lot, lot.id) is None


def test_frozen_lots_send_the_officer_back(db, browser, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org)
    to_bidding_open(project, officer)
    lot = services.project_lots(project)[0]
    client = browser(officer)
    for path in (f"/projects/{project.id}/lots/new", f"/projects/lots/{lot.id}", f"/projects/lots/{lot.id}/products"):
        response = client.get(path)
        assert response.status_code == 302 and response.location == f"/projects/{project.id}"
    html = _text(client.get(f"/projects/{project.id}"))
    assert "开始投标后品种的可投标产品不可再修改（项目处于“投标中”阶段）。" in _flashes(html)
    assert "新增品种" not in html and f"/projects/lots/{lot.id}" not in html
    token = page_csrf_token(client, "/")
    client.post(f"/projects/lots/{lot.id}", data={"csrf_token": token, "lot_no": "1", "generic_name": "x",
                                                   "form_group": "y", "form_class": "oral_solid", "drug_class": "chemical",
                                                   "representative_spec": "1mg", "ceiling_ucp": "99"})
    client.post(f"/projects/lots/{lot.id}/remove", data={"csrf_token": token, "confirm": "y"})
    db.session.expire_all()
    assert lot.ceiling_ucp == Decimal("1.5")


def test_eligible_products_are_ticked_on_a_page(db, browser, make_user, make_org):
    from app.catalog.models import Product

    project, officer, _ = build_project(make_user, make_org)
    lot = services.project_lots(project)[0]
    maker = make_org("supplier")
    products = [Product(generic_name="阿托伐他汀钙", dosage_form="片剂", spec=spec, pack_qty=7, min_unit="片",
                        manufacturer_id=maker.id) for spec in ("10mg", "20mg")]
    other = Product(generic_name="氨氯地平", dosage_form="片剂", spec="5mg", pack_qty=7, min_unit="片", manufacturer_id=maker.id)
    db.session.add_all([*products, other])
    db.session.flush()
    client = browser(officer)
    page = _text(client.get(f"/projects/lots/{lot.id}/products"))
    assert f'value="{products[0].id}"' in page and f'value="{other.id}"' not in page
    token = page_csrf_token(client, f"/projects/lots/{lot.id}/products")
    response = client.post(f"/projects/lots/{lot.id}/products",
                           data={"csrf_token": token, "product_id": [str(p.id) for p in products]})
    assert response.status_code == 302
    assert services.eligible_product_ids(lot) == sorted(p.id for p in products)


# --- institutions -------------------------------------------------------------------------------------

def test_institutions_are_added_on_a_page(db, browser, make_user, make_org):
    project, officer, _ = build_project(make_user, make_org, institutions=0)
    hospitals = [make_org("medical_institution", name=f"第{n}人民医院") for n in (1, 2)]
    client = browser(officer)
    page = _text(client.get(f"/projects/{project.id}/institutions?q=人民医院"))
    assert "第1人民医院" in page and "尚无医疗机构参加。" in page
    token = page_csrf_token(client, f"/projects/{project.id}/institutions")
    response = client.post(f"/projects/{project.id}/institutions",
                           data={"csrf_token": token, "institution_id": [str(h.id) for h in hospitals]})
    assert response.status_code == 302
    members = set(db.session.scalars(select(ProjectInstitution.institution_id).where(ProjectInstitution.project_id == project.id)))
    assert members == {h.id for h in hospitals}
    assert "已添加 2 家医疗机构。" in _flashes(_text(client.get(f"/projects/{project.id}/institutions")))


# --- scoping ------------------------------------------------------------------------------------------

def test_the_list_is_scoped_to_what_each_organisation_may_see(db, browser, make_user, make_org):
    draft, officer, (member,) = build_project(make_user, make_org, code="WEB-DRAFT")
    bidding, _, _ = build_project(make_user, make_org, officer, code="WEB-BID")
    to_bidding_open(bidding, officer)
    other, _, _ = build_project(make_user, make_org, officer, code="WEB-OTHER")

    def listed(user) -> set[str]:
        response = browser(user).get("/projects/")
        assert response.status_code == 200
        return set(re.findall(r"<code>(WEB-[A-Z]+)</code>", _text(response)))

    assert listed(officer) == {"WEB-DRAFT", "WEB-BID", "WEB-OTHER"}
    assert listed(make_user("supervisor")) == {"WEB-DRAFT", "WEB-BID", "WEB-OTHER"}
    assert listed(make_user("institution_user", org=member)) == {"WEB-DRAFT"}
    assert listed(make_user("supplier_user")) == {"WEB-BID"}
    institution = browser(make_user("institution_user", org=member))
    assert institution.get(f"/projects/{draft.id}").status_code == 200
    assert institution.get(f"/projects/{other.id}").status_code == 404  # not taking part: not revealed
    supplier = browser(make_user("supplier_user"))
    assert supplier.get(f"/projects/{draft.id}").status_code == 404
    assert supplier.get(f"/projects/{bidding.id}").status_code == 200
    for role in ("platform_admin", "price_officer", "distributor_user"):
        assert browser(make_user(role)).get("/projects/").status_code == 403


def test_the_navigation_shows_projects_to_the_roles_that_use_them(db, browser, make_user):
    for role, shown in (("procurement_officer", True), ("supervisor", True), ("institution_user", True),
                        ("supplier_user", True), ("platform_admin", False), ("price_officer", False),
                        ("distributor_user", False)):
        html = _text(browser(make_user(role)).get("/"))
        assert ('href="/projects/"' in html) is shown, role
        if shown:
            assert ">采购项目</a>" in html
