"""The demo seed (``app.demo.seed.seed_demo``, ``flask demo seed``): accounts, catalog, the 2nd national
batch as a project with its published ceilings and volumes, and refusal to seed twice.

Expected figures are read from the CSV files with the csv module here, independently of ``app.demo.batch2``.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import re
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.auth.roles import ROLES

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "app" / "demo" / "data"
NHSA_LENIENT = re.compile(r"^[XZ][A-Z0-9]{5}[A-Z]\d{3}[A-Z]\d{3}\d{9}$")
USERNAMES = ("admin", "officer", "supervisor", "hospital", "supplier", "distributor", "priceofficer")


def _csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


BIDS = _csv("nvbp-batch2-bids.csv")
VOLUMES = _csv("nvbp-batch2-volumes.csv")


@pytest.fixture()
def seeded(db):
    from app.demo.seed import seed_demo

    return seed_demo()


def _project(db, code):
    from app.projects.models import ProcurementProject

    return db.session.scalar(select(ProcurementProject).where(ProcurementProject.code == code))


def _lots(db, code):
    from app.projects.models import Lot

    return {lot.name: lot for lot in db.session.scalars(select(Lot).where(Lot.project_id == _project(db, code).id))}


def _log_in(app, username: str, password: str):
    """The ``login`` fixture's steps, on a client of its own per account."""
    client = app.test_client()
    page = client.get("/login")
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.data).group(1).decode()
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, (username, response.data[:500])
    return client


def test_seed_returns_one_account_per_role_and_each_logs_in(app, db, seeded):
    from app.auth.models import User

    assert len(seeded) == 7
    assert {a["role"] for a in seeded} == set(ROLES)
    assert tuple(a["username"] for a in seeded) == USERNAMES
    assert {a["password"] for a in seeded} == {"jicai-demo-2026"}
    users = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(USERNAMES)))}
    assert users["supplier"].org.name == "正大天晴药业集团股份有限公司" and users["supplier"].is_org_admin
    assert users["hospital"].org.region_code == "110000" and users["hospital"].org.kind == "medical_institution"
    for account in seeded:
        assert users[account["username"]].org.name == account["org"]
        assert users[account["username"]].role == account["role"]
        client = _log_in(app, account["username"], account["password"])
        page = client.get("/")
        assert page.status_code == 200
        assert users[account["username"]].display_name in page.get_data(as_text=True)


def test_seeding_twice_refuses_and_the_audit_chain_verifies(db, seeded):
    from app.audit.models import AuditEvent
    from app.audit.services import verify_chain
    from app.demo.seed import DemoAlreadySeeded, seed_demo

    result = verify_chain(db.session())
    assert result.ok, result.problem
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"org.create", "user.create", "project.create", "demo.seed"} <= actions
    with pytest.raises(DemoAlreadySeeded) as err:
        seed_demo()
    assert err.value.code == "DEMO_ALREADY_SEEDED"
    assert "NVBP-2020-02" in err.value.message
    assert verify_chain(db.session()).ok


def test_catalog_and_suppliers_match_the_bids_table(db, seeded):
    from app.catalog.models import Product
    from app.orgs.models import Organisation
    from app.orgs.uscc import is_valid_uscc
    from app.projects.models import LotProduct

    lots = _lots(db, "NVBP-2020-02")
    assert len(lots) == 33
    assert sorted(lot.lot_no for lot in lots.values()) == list(range(1, 34))
    assert lots["碳酸氢钠口服常释剂型"].lot_no == 33
    rows = db.session.execute(
        select(Product, Organisation, LotProduct.lot_id)
        .join(LotProduct, LotProduct.product_id == Product.id)
        .join(Organisation, Organisation.id == Product.manufacturer_id)
        .where(LotProduct.lot_id.in_([lot.id for lot in lots.values()]))
    ).all()
    lot_no = {lot.id: lot.lot_no for lot in lots.values()}
    assert {(lot_no[lot_id], org.name, p.spec) for p, org, lot_id in rows} == {
        (int(b["lot_no"]), b["company"].strip(), b["spec"]) for b in BIDS
    }
    assert len(rows) == len({(b["lot_no"], b["company"], b["spec"]) for b in BIDS}) == 158

    companies = {b["company"].strip() for b in BIDS}
    suppliers = db.session.scalars(select(Organisation).where(Organisation.name.in_(companies),
                                                              Organisation.kind == "supplier")).all()
    assert len(suppliers) == len(companies) == 115
    assert {org.id for _p, org, _l in rows} == {org.id for org in suppliers}
    by_name = {org.name: org for org in suppliers}
    jnj = by_name["强生"]
    assert jnj.uscc is None and jnj.foreign_id and is_valid_uscc(jnj.agent_uscc)
    assert is_valid_uscc(by_name["拜耳医药保健有限公司"].uscc)
    for org in suppliers:
        assert org.uscc is None or is_valid_uscc(org.uscc)
    assert db.session.scalar(select(func.count()).select_from(Organisation).where(
        Organisation.kind == "medical_institution", Organisation.institution_code.like("H%"))) >= 62

    originators = {(b["company"].strip(), b["lot_no"]) for b in BIDS if b["originator"] == "是"}
    for product, org, lot_id in rows:
        assert NHSA_LENIENT.match(product.nhsa_code), product.nhsa_code
        assert product.pack_qty > 0 and product.min_unit
        assert product.strength_value is not None and product.strength_unit == "mg"
        expected_tier = "originator" if (org.name, str(lot_no[lot_id])) in originators else "consistency_evaluated"
        assert product.quality_tier == expected_tier
        assert product.generic_name_initials
    abiraterone = next(p for p, org, _l in rows if p.generic_name == "阿比特龙" and org.name == "正大天晴药业集团股份有限公司")
    assert (abiraterone.dosage_form, abiraterone.form_group, abiraterone.generic_name_initials) == ("片剂", "口服常释剂型", "abtl")
    assert abiraterone.strength_value == Decimal("250")


def test_lots_carry_the_published_ceilings_and_the_ruleset(db, seeded):
    from solver.rulesets import resolve_ruleset

    lots = _lots(db, "NVBP-2020-02")
    ceilings = {b["generic_name"]: b["ceiling_unit_price"] for b in BIDS}
    for name, text in ceilings.items():
        assert isinstance(lots[name].ceiling_ucp, Decimal)
        assert lots[name].ceiling_ucp == Decimal(text), name
    assert lots["阿比特龙口服常释剂型"].ceiling_ucp == Decimal("101.67")
    assert lots["碳酸氢钠口服常释剂型"].ceiling_ucp is None
    assert lots["注射用紫杉醇（白蛋白结合型）"].form_class == "small_volume_injection"
    assert lots["注射用紫杉醇（白蛋白结合型）"].generic_name == "紫杉醇（白蛋白结合型）"
    assert lots["安立生坦片"].form_group == "口服常释剂型" and lots["安立生坦片"].generic_name == "安立生坦"
    assert lots["铝碳酸镁咀嚼片"].form_group == "咀嚼片"
    assert all(lot.drug_class == "chemical" and lot.status == "open" for lot in lots.values())

    project = _project(db, "NVBP-2020-02")
    assert (project.kind, project.state) == ("national", "demand_frozen")
    assert project.bid_deadline == dt.datetime(2020, 1, 17, 4, 0, tzinfo=dt.timezone.utc)
    assert project.demand_due_at < project.bidding_opens_at < project.bid_deadline <= project.opening_at
    [version] = project.ruleset_versions
    assert (version.version, version.preset) == (1, "nvbp-2")
    assert version.resolved == resolve_ruleset("nvbp-2")

    alliance = _project(db, "ALLIANCE-2026-01")
    assert (alliance.kind, alliance.state) == ("alliance", "demand_collection")
    assert alliance.ruleset_versions[0].preset == "alliance-default"
    assert alliance.demand_due_at > dt.datetime.now(dt.timezone.utc)
    assert len(_lots(db, "ALLIANCE-2026-01")) == 3


def test_demand_reproduces_the_published_volumes(db, seeded):
    from app.projects.models import DemandLine, DemandReport, Lot

    lots = _lots(db, "NVBP-2020-02")
    name_of = {lot.id: name for name, lot in lots.items()}
    lines = db.session.execute(
        select(DemandLine.lot_id, DemandLine.region_code, DemandLine.reported_demand, DemandReport.institution_id)
        .join(DemandReport, DemandReport.id == DemandLine.report_id)
        .join(Lot, Lot.id == DemandLine.lot_id)
        .where(Lot.project_id == _project(db, "NVBP-2020-02").id)
    ).all()
    assert len(lines) == 2 * len(VOLUMES)
    got: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    institutions: dict[str, set[int]] = defaultdict(set)
    for lot_id, region, qty, institution_id in lines:
        assert isinstance(qty, Decimal) and qty >= 0 and qty == qty.to_integral_value()
        got[(name_of[lot_id], region)] += qty
        institutions[region].add(institution_id)
    from app.regions.names import resolve_region

    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in VOLUMES:
        expected[(row["generic_name"], resolve_region(row["province"]))] += Decimal(row["first_year_volume_10k_units"]) * 10000
    assert got == expected
    assert len(institutions) == 31 and all(len(ids) == 2 for ids in institutions.values())

    abiraterone = lots["阿比特龙口服常释剂型"].id
    total = sum((qty for lot_id, _r, qty, _i in lines if lot_id == abiraterone), Decimal(0))
    assert total == Decimal("3324000")  # 332.40 万片


def test_flask_demo_seed_command_on_a_fresh_database(tmp_path):
    env = dict(os.environ, DATABASE_URL="sqlite:///" + str(tmp_path / "demo.sqlite3"),
               JICAI_INSTANCE_PATH=str(tmp_path / "instance"))
    env.pop("JICAI_TEST_DATABASE_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    upgrade = subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert upgrade.returncode == 0, upgrade.stderr
    seed = subprocess.run(flask + ["demo", "seed"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert seed.returncode == 0, seed.stderr
    for username in USERNAMES:
        assert re.search(rf"\s{username}\s", seed.stdout), seed.stdout
    assert "jicai-demo-2026" in seed.stdout
    again = subprocess.run(flask + ["demo", "seed"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode != 0
    assert "already loaded" in again.stderr
    verify = subprocess.run(flask + ["audit", "verify"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert verify.returncode == 0, verify.stderr
