"""A bidding round end to end in a real browser.

The officer creates the project, adds a lot with its ceiling, chooses the RuleSet preset, adds the
institution and the eligible products, and walks it through demand; the key ceremony (officer and
supervisor type their secrets on the page) opens bidding; a supplier, in its own browser context,
downloads its quote template, fills it with openpyxl, uploads it and sees its receipt; the clock
passes the deadline and the opening time (a few seconds ahead); the officer and the supervisor open
the bids on the page and the officer runs the selection and sees the winners with their reasons, in
Chinese.

Set up through the services (what the browser need not show): organisations, users, catalog
products, the suppliers' approved qualifications, the demand reports, and two competing suppliers'
quotes (submitted through ``submit_quote`` with their own real templates).
"""
from __future__ import annotations

import datetime as dt
import io
import time

import pytest

from app.core.tx import transaction

pytestmark = pytest.mark.browser

UTC = dt.timezone.utc
BEIJING = dt.timezone(dt.timedelta(hours=8))
PASSWORD = "browser-pass-42"
OFFICER_SECRET = "amber walrus tiptoes 4 moons"
WITNESS_SECRET = "quiet lanterns over 9 rivers"
CODE = "E2E-BID-1"
GENERIC = "阿托伐他汀钙片"


def _local(moment: dt.datetime) -> str:
    """A datetime-local value in Beijing time, to the second."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M:%S")


def _fill_moment(page, selector: str, moment: dt.datetime) -> None:
    # The field shows minutes (step 60 s); the test's clock needs seconds: allow them on this input.
    page.eval_on_selector(selector, "e => e.step = 1")
    page.fill(selector, _local(moment))


def _fill_quote(template: bytes, price: str, capacity: int) -> bytes:
    import openpyxl

    from app.spreadsheets.specs import QUOTES
    from app.spreadsheets.template import template_columns

    wb = openpyxl.load_workbook(io.BytesIO(template))
    ws = wb[QUOTES.sheet_title]
    columns = {tc.column.key: i + 1 for i, tc in enumerate(template_columns(QUOTES)) if tc.number is None}
    for r in range(3, ws.max_row + 1):
        if ws.cell(r, columns["lot_no"]).value is not None:
            ws.cell(r, columns["pack_price"]).value = price
            ws.cell(r, columns["declared_capacity"]).value = capacity
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _world(live_app):
    """Organisations, users, catalog products and approved qualifications (services, committed)."""
    from app.auth.services import create_user
    from app.bidding.models import QualificationDocument
    from app.catalog.models import Product
    from app.documents.models import StoredDocument
    from app.extensions import db
    from app.orgs.services import create_organisation
    from app.orgs.uscc import make_uscc

    with live_app.app_context(), transaction():
        authority = create_organisation(kind="procurement_authority", name="省药品联合采购办公室",
                                        uscc=make_uscc("91330000000000771"))
        officer = create_user(actor=None, username="e2e_officer", display_name="王经办", password=PASSWORD,
                              role="procurement_officer", org=authority)
        supervisor = create_user(actor=None, username="e2e_supervisor", display_name="李监督", password=PASSWORD,
                                 role="supervisor", org=authority)
        hospital = create_organisation(kind="medical_institution", name="浙江省人民医院",
                                       uscc=make_uscc("12330000000000772"), region_code="330000")
        suppliers = {}
        for k, name in enumerate(("甲制药股份有限公司", "乙药业有限公司", "丙药业集团有限公司")):
            org = create_organisation(kind="supplier", name=name, short_name=name[:3],
                                      uscc=make_uscc(f"9133000000000{k:03d}8"))
            user = create_user(actor=None, username=f"e2e_supplier{k}", display_name=f"报价员{k}", password=PASSWORD,
                               role="supplier_user", org=org)
            db.session.add(Product(generic_name=GENERIC, dosage_form="片剂", spec="20mg", pack_qty=7, min_unit="片",
                                   manufacturer_id=org.id, nhsa_code=f"XC10AAA{k:03d}A001010{org.id:06d}"[:23]))
            doc = StoredDocument(sha256=f"{k:064x}", filename="licence.pdf", size=1, content=b"x", owner_org_id=org.id)
            db.session.add(doc)
            db.session.flush()
            db.session.add(QualificationDocument(supplier_org_id=org.id, kind="licence", title="药品生产许可证",
                                                 document_id=doc.id, status="approved",
                                                 expires_on=dt.date.today() + dt.timedelta(days=365)))
            suppliers[name] = user.username
        db.session.flush()
        return {"officer": officer.username, "supervisor": supervisor.username, "hospital": hospital.id,
                "suppliers": suppliers}


def _report_demand(live_app, project_id: int, hospital_id: int) -> None:
    """The hospital's demand report for the lot (services stand in for the institution's upload)."""
    from decimal import Decimal

    from sqlalchemy import select

    from app.core.db import utcnow
    from app.extensions import db
    from app.projects.models import DemandLine, DemandReport, Lot

    with live_app.app_context(), transaction():
        lot = db.session.scalar(select(Lot).where(Lot.project_id == project_id))
        report = DemandReport(project_id=project_id, institution_id=hospital_id, version=1, status="submitted",
                              submitted_at=utcnow())
        db.session.add(report)
        db.session.flush()
        db.session.add(DemandLine(report_id=report.id, lot_id=lot.id, region_code="330000", year=2027,
                                  historical_usage=Decimal(120000), reported_demand=Decimal(100000), spec="20mg"))


def _competitors_quote(live_app, project_id: int, usernames: list[str], prices: list[str]) -> None:
    """The other suppliers' quotes, each from its own real template, through ``submit_quote``."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.bidding import services
    from app.extensions import db
    from app.projects.models import ProcurementProject

    for username, price in zip(usernames, prices):
        with live_app.app_context(), transaction():
            project = db.session.get(ProcurementProject, project_id)
            user = db.session.scalar(select(User).where(User.username == username))
            _name, template = services.quote_template(project, actor=user)
            services.submit_quote(project, actor=user, file_bytes=_fill_quote(template, price, 500000),
                                  filename="quote.xlsx")


def _login(page, server: str, username: str) -> None:
    page.goto(f"{server}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server}/")


def _move(page, to_state: str) -> None:
    page.locator(f"form:has(input[name=to_state][value={to_state}]) button[type=submit]").click()
    page.wait_for_load_state()


def test_bidding_round_end_to_end(live_server, live_app, browser, page, tmp_path):
    started = time.monotonic()
    world = _world(live_app)
    server = live_server

    # --- the officer creates the project (the demand deadline a few seconds ahead) --------------------
    _login(page, server, world["officer"])
    page.goto(f"{server}/projects/new")
    page.fill("#code", CODE)
    page.fill("#name", "浙江省阿托伐他汀钙片带量采购")
    page.select_option("#kind", "alliance")
    page.select_option("#preset", "nvbp-4")
    demand_due = dt.datetime.now(UTC) + dt.timedelta(seconds=25)
    _fill_moment(page, "#demand_due_at", demand_due)
    page.locator("main form [type=submit]").last.click()
    page.wait_for_url(f"{server}/projects/*")
    project_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert CODE in page.locator("body").inner_text()

    # A lot with its ceiling; its eligible products; the institution.
    page.goto(f"{server}/projects/{project_id}/lots/new")
    page.fill("#generic_name", GENERIC)
    page.fill("#form_group", "口服常释剂型")
    page.fill("#representative_spec", "20mg")
    page.fill("#ceiling_ucp", "1.5")
    page.locator("main form [type=submit]").last.click()
    page.wait_for_url(f"{server}/projects/{project_id}")
    page.locator("main a[href*='/lots/'][href$='/products']").first.click()
    boxes = page.locator("input[name=product_id]")
    assert boxes.count() == 3
    for i in range(3):
        boxes.nth(i).check()
    page.locator("main form [type=submit]").last.click()
    page.wait_for_url(f"{server}/projects/{project_id}")
    page.goto(f"{server}/projects/{project_id}/institutions")
    page.check(f"#inst-{world['hospital']}")
    page.locator("main form:has(input[name=institution_id]) [type=submit]").click()
    page.wait_for_url(f"{server}/projects/{project_id}/institutions")
    page.goto(f"{server}/projects/{project_id}/ruleset")
    assert "nvbp-4" in page.locator("body").inner_text()

    # Through demand: collection (the hospital reports), then frozen.
    page.goto(f"{server}/projects/{project_id}")
    _move(page, "demand_collection")
    assert "需求" in page.locator("body").inner_text()
    _report_demand(live_app, project_id, world["hospital"])
    page.goto(f"{server}/projects/{project_id}")
    _move(page, "demand_frozen")

    # The timeline: the bid deadline and the opening a few seconds ahead.
    deadline = max(dt.datetime.now(UTC) + dt.timedelta(seconds=16), demand_due + dt.timedelta(seconds=1))
    opening_at = deadline + dt.timedelta(seconds=2)
    page.goto(f"{server}/projects/{project_id}/timeline")
    _fill_moment(page, "#bid_deadline", deadline)
    _fill_moment(page, "#opening_at", opening_at)
    page.locator("main form [type=submit]").last.click()
    page.wait_for_url(f"{server}/projects/{project_id}")

    # --- the key ceremony: both persons on the officer's page --------------------------------------
    page.goto(f"{server}/bidding/projects/{project_id}/key")
    page.fill("#officer_password", PASSWORD)
    page.fill("#witness_username", world["supervisor"])
    page.fill("#witness_password", PASSWORD)
    page.fill("#officer_secret", OFFICER_SECRET)
    page.fill("#officer_secret_confirm", OFFICER_SECRET)
    page.fill("#witness_secret", WITNESS_SECRET)
    page.fill("#witness_secret_confirm", WITNESS_SECRET)
    page.locator("main form [type=submit]").last.click()
    page.wait_for_url(f"{server}/bidding/projects/{project_id}")
    assert "开标密钥已生成，报价已开始" in page.locator(".flash").first.inner_text()

    names = list(world["suppliers"])
    _competitors_quote(live_app, project_id, [world["suppliers"][n] for n in names[1:]], ["9.10", "12.60"])

    # --- the supplier, in its own browser context --------------------------------------------------
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True)
    try:
        supplier = context.new_page()
        supplier.set_default_timeout(15000)
        _login(supplier, server, world["suppliers"][names[0]])
        supplier.goto(f"{server}/bidding/projects/{project_id}")
        with supplier.expect_download() as download_info:
            supplier.locator(f"a[href$='/bidding/projects/{project_id}/template']").first.click()
        download = download_info.value
        assert download.suggested_filename == f"quote-template-{CODE}.xlsx"
        template = (tmp_path / "template.xlsx")
        download.save_as(template)
        filled = tmp_path / "报价.xlsx"
        filled.write_bytes(_fill_quote(template.read_bytes(), "8.40", 600000))  # 1.2 per tablet: the cheapest
        supplier.goto(f"{server}/bidding/projects/{project_id}/quote")
        supplier.set_input_files("input[type=file]", str(filled))
        supplier.locator("main form [type=submit]").last.click()
        supplier.wait_for_load_state()
        receipt = supplier.locator("body").inner_text()
        assert "回执" in receipt and f"QR{project_id:05d}-" in receipt, receipt[:1500]
    finally:
        context.close()

    # --- the clock passes the deadline and the opening time ------------------------------------------
    time.sleep(max(0.0, (opening_at - dt.datetime.now(UTC)).total_seconds() + 0.5))

    page.goto(f"{server}/bidding/projects/{project_id}/opening")
    page.fill("#officer_password", PASSWORD)
    page.fill("#witness_username", world["supervisor"])
    page.fill("#witness_password", PASSWORD)
    page.fill("#officer_secret", OFFICER_SECRET)
    page.fill("#witness_secret", WITNESS_SECRET)
    page.locator("main form [type=submit]").last.click()
    page.wait_for_url(f"{server}/bidding/projects/{project_id}/opening-record")
    record = page.locator("body").inner_text()
    assert "已开标" in record and "开标记录" in record, record[:1500]

    # --- the selection: winners with their reasons, in Chinese ---------------------------------------
    page.goto(f"{server}/selection/projects/{project_id}/run")
    page.locator("main form [type=submit]").last.click()
    page.wait_for_url(f"{server}/selection/projects/{project_id}*")
    results = page.locator("body").inner_text()
    assert "甲制药" in results and "乙药业" in results and "丙药业" in results, results[:3000]
    assert "中选" in results, results[:3000]
    assert "排名第 1" in results and "通过价差规则" in results, results[:3000]
    assert time.monotonic() - started < 60
