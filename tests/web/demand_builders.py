"""Builders shared by the demand and institution tests: institutions with master data, a project
collecting demand, real .xlsx files, and signed-in test clients."""
from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path


from tests.web.project_builders import BIDDING_OPENS, DEMAND_DUE, T0

ROOT = Path(__file__).resolve().parents[2]
H = dt.timedelta(hours=1)
IN_COLLECTION = T0 + H  # the project collects demand from T0 to DEMAND_DUE
AFTER_FREEZE = DEMAND_DUE + H
AFTER_BIDDING_OPENS = BIDDING_OPENS + H

# The §12 (c) columns with a single (Chinese) header row, as a hospital's own file has them.
DEMAND_HEADERS = ("项目编号", "品种序号", "医疗机构代码", "医疗机构名称", "省份代码", "医保代码", "规格", "意向品牌",
                  "历史年用量", "报送需求量", "年度")


def make_institution(make_org, code: str, region: str = "110000", *, name: str | None = None, level: str = "tertiary",
                     community: str | None = None, primary: bool = False):
    return make_org("medical_institution", name=name or f"医院{code}", institution_code=code, region_code=region,
                    institution_level=level, medical_community=community, is_primary_care=primary)


def demand_project(make_user, make_org, *, code: str = "D-1", institutions=(("H001", "110000"),), lots=None,
                   preset: str = "nvbp-4", officer=None, collect: bool = True, min_report_vs_history=None):
    """A project of ``officer``'s authority with lots and institutions (with codes and provinces), in
    ``demand_collection`` at T0 unless ``collect`` is false. Returns (project, officer, institutions, lots)."""
    from app.projects import lifecycle, services
    from tests.web.project_builders import BID_DEADLINE, OPENING

    officer = officer or make_user("procurement_officer")
    project = services.create_project(actor=officer, code=code, name=f"需求测试 {code}", kind="alliance", preset=preset,
                                      demand_due_at=DEMAND_DUE, bidding_opens_at=BIDDING_OPENS,
                                      bid_deadline=BID_DEADLINE, opening_at=OPENING)
    lots = lots or [dict(generic_name="阿托伐他汀", form_group="口服常释剂型", representative_spec="20mg")]
    made = [services.add_lot(project, actor=officer, lot_no=n, ceiling_ucp="1.5", now=T0, **spec)
            for n, spec in enumerate(lots, start=1)]
    orgs = [make_institution(make_org, c, r) for c, r in institutions]
    services.add_institutions(project, [o.id for o in orgs], actor=officer, now=T0)
    if min_report_vs_history is not None:
        project.min_report_vs_history = Decimal(min_report_vs_history)
    if collect:
        lifecycle.transition_project(project, "demand_collection", actor=officer, now=T0)
    return project, officer, orgs, made


def open_bidding(project, officer, now=AFTER_BIDDING_OPENS):
    """demand_frozen → bidding_open (with the opening key bidding needs); freezes the RuleSet."""
    from app.projects import lifecycle
    from tests.web.bidding_builders import give_opening_key

    give_opening_key(project, officer)
    lifecycle.transition_project(project, "bidding_open", actor=officer, now=now)
    return project


def demand_row(project, institution, lot_no: int = 1, *, spec: str | None = "20mg", nhsa_code: str | None = None,
               brand: str | None = None, history=1000, reported=900, year: int = 2030, **override):
    row = {"项目编号": project.code, "品种序号": lot_no, "医疗机构代码": institution.institution_code,
           "医疗机构名称": institution.name, "省份代码": institution.region_code, "医保代码": nhsa_code, "规格": spec,
           "意向品牌": brand, "历史年用量": history, "报送需求量": reported, "年度": year}
    row.update(override)
    return row


def xlsx(rows, headers=DEMAND_HEADERS, *, title: str = "需求报量") -> bytes:
    """A real workbook: one header row, then ``rows`` (dicts by header, or lists). Text stays text."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(headers))
    for row in rows:
        values = [row.get(h) for h in headers] if isinstance(row, dict) else list(row)
        ws.append(values)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def submit(project, user, *rows, now=IN_COLLECTION):
    """Upload ``rows`` (dicts from :func:`demand_row`) as ``user``; returns the Upload."""
    from app.demand.services import upload_demand_report

    return upload_demand_report(project, xlsx(rows), "demand.xlsx", actor=user, now=now)


def error_cells(errors) -> list[tuple]:
    return [(e.sheet, e.row, e.column, e.code) for e in errors]


def csrf(client, path: str) -> str:
    page = client.get(path)
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.data)
    assert match, f"no CSRF token on {path} (status {page.status_code})"
    return match.group(1).decode()


def flashes(html: str) -> list[str]:
    return re.findall(r'<div class="flash[^"]*" role="status">([^<]*)</div>', html)


def matrix_demand(world) -> None:
    """For the route × role matrix: in the bidding project, a frozen report of the matrix institution (with a
    pending amendment) and one of another institution; ``world.demand`` names them."""
    from app.orgs.services import create_organisation
    from app.orgs.uscc import make_uscc
    from app.projects.models import DemandAmendment, DemandLine, DemandReport, ProjectInstitution
    from app.extensions import db

    project, lot = world.projects["bidding"], world.lots["frozen"]
    own_user = world.users["institution_user"]
    other = create_organisation(kind="medical_institution", name="Matrix Hospital B", uscc=make_uscc("12110000777000001"),
                                institution_code="MATRIX-B", region_code="110000")
    db.session.add(ProjectInstitution(project_id=project.id, institution_id=other.id))
    reports = {}
    for key, org_id in (("own_report", own_user.org_id), ("other_report", other.id)):
        report = DemandReport(project_id=project.id, institution_id=org_id, version=1, status="frozen")
        db.session.add(report)
        db.session.flush()
        line = DemandLine(report_id=report.id, lot_id=lot.id, spec="20mg", region_code="110000", year=2030,
                          historical_usage=Decimal(100), reported_demand=Decimal(100))
        db.session.add(line)
        db.session.flush()
        reports[key] = report
        reports[key + "_line"] = line
    amendment = DemandAmendment(demand_line_id=reports["own_report_line"].id, new_reported_demand=Decimal(120),
                                reason="matrix", requested_by_id=own_user.id)
    db.session.add(amendment)
    db.session.flush()
    world.demand = {**reports, "amendment": amendment, "institution": own_user.org}
