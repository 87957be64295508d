"""Demo data: the 2nd national batch (第二批国家组织药品集中采购) and accounts for every role.

``seed_demo()`` builds, in the current transaction (it flushes, never commits; ``flask demo seed``
commits once), a realistic demo on top of a migrated database:

* organisations, through :func:`app.orgs.services.create_organisation` (USCC checked, audited):
  the platform operator, 国家组织药品联合采购办公室, a 医保局 price authority, every supplier
  company of the published bids table (multinationals listed without a Chinese entity are foreign
  makers with a ``foreign_id`` and an agent's USCC, DOMAIN.md C5), four distributors and two
  medical institutions in each of the 31 supply regions;
* one catalog product per (variety, company, strength) of the bids table (:mod:`app.demo.batch2`);
* project ``NVBP-2020-02`` in ``demand_frozen`` with its 2019/2020 timeline, RuleSet version 1
  from preset ``nvbp-2``, its 33 lots (the 32 with bids and 碳酸氢钠, which had volumes but no
  bid), the eligible products and the frozen demand of every institution;
* project ``ALLIANCE-2026-01`` (alliance, preset ``alliance-default``) collecting demand on 3 lots;
* one user per role (password :data:`DEMO_PASSWORD`), through
  :func:`app.auth.services.create_user`, and a few notifications.

**Fictitious data.** Every unified social credit code (USCC), foreign id, institution code, NHSA
code, 本位码 and 批准文号 is generated (valid formats, deterministic) and belongs to no real
organisation or product; the USCCs carry ``JC`` at the start of their organisation-code segment.
The distributors and the medical institutions (``…演示…``) are invented. Company names, lots,
ceilings, pre-procurement prices and volumes are the published figures (``data/SOURCE.md``).

**Demand lines are derived from the published committed volumes.** The tables give first-year
*committed* volumes per province, variety and strength in 万 smallest units, after the volume
ratio. The demo stores each as reported demand (``demand_basis = committed``): the province's
figure × 10,000 is split between its two demo institutions deterministically
(:func:`app.demo.batch2.split_volume`), so the lines of a province add up to the published figure
exactly. ``historical_usage`` is unknown and set equal to the reported demand.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.audit.services import record
from app.auth import roles as R
from app.auth.models import User
from app.auth.services import create_user
from app.catalog.dosage_forms import default_dictionary
from app.catalog.models import DosageForm, Product
from app.catalog.units import parse_spec
from app.core.db import utcnow
from app.core.errors import N_, DomainError
from app.demo import batch2
from app.extensions import db
from app.notifications.services import post_notification
from app.orgs.models import Organisation
from app.orgs.services import create_organisation
from app.orgs.uscc import make_uscc
from app.projects.models import (
    DemandLine,
    DemandReport,
    Lot,
    LotProduct,
    ProcurementProject,
    ProjectInstitution,
    ProjectStateChange,
    RuleSetVersion,
)
from app.regions.names import supply_regions
from solver.rulesets import resolve_ruleset

__all__ = ["DEMO_PASSWORD", "DEMO_PROJECT_CODES", "DEMO_USERNAMES", "DemoAlreadySeeded", "seed_demo"]

DEMO_PASSWORD = "jicai-demo-2026"
NVBP_CODE = "NVBP-2020-02"
ALLIANCE_CODE = "ALLIANCE-2026-01"
DEMO_PROJECT_CODES = (NVBP_CODE, ALLIANCE_CODE)

CST = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai has had no DST since 1991


def _cst(*args: int) -> dt.datetime:
    """An aware UTC datetime from a Beijing wall-clock time."""
    return dt.datetime(*args, tzinfo=CST).astimezone(dt.timezone.utc)


#: (username, role, organisation key, display name, org admin)
DEMO_USERS = (
    ("admin", R.PLATFORM_ADMIN, "platform", "平台管理员（演示）", True),
    ("officer", R.PROCUREMENT_OFFICER, "authority", "联采办经办人（演示）", False),
    ("supervisor", R.SUPERVISOR, "price_authority", "监督人员（演示）", False),
    ("hospital", R.INSTITUTION_USER, "hospital", "医疗机构采购员（演示）", False),
    ("supplier", R.SUPPLIER_USER, "supplier", "企业投标专员（演示）", True),
    ("distributor", R.DISTRIBUTOR_USER, "distributor", "配送企业专员（演示）", False),
    ("priceofficer", R.PRICE_OFFICER, "price_authority", "价格招采经办人（演示）", False),
)
DEMO_USERNAMES = tuple(u[0] for u in DEMO_USERS)
#: The supplier account's company (the lowest bidder of lot 1, abiraterone).
SUPPLIER_COMPANY = "正大天晴药业集团股份有限公司"

# The 2nd batch timeline (Beijing time). The bid deadline is the published one; the earlier dates
# are demo assumptions (demand was collected in December 2019, the documents were issued on
# 2019-12-29).
NVBP_DEMAND_OPENED = _cst(2019, 12, 2, 9, 0)
NVBP_DEMAND_DUE = _cst(2019, 12, 20, 17, 0)
NVBP_BIDDING_OPENS = _cst(2019, 12, 29, 9, 0)
NVBP_BID_DEADLINE = _cst(2020, 1, 17, 12, 0)
NVBP_OPENING = _cst(2020, 1, 17, 14, 0)

#: Regions of the alliance demo project (a 京津冀 "3+N"-style alliance) and its lots.
ALLIANCE_REGIONS = ("110000", "120000", "130000", "140000", "150000", "210000")
ALLIANCE_VARIETIES = ("阿莫西林口服常释剂型", "辛伐他汀口服常释剂型", "左西替利嗪口服常释剂型")

DISTRIBUTORS = (
    ("华北演示医药配送有限公司", "华北演示配送", "110000"),
    ("华东演示医药物流有限公司", "华东演示配送", "310000"),
    ("华南演示医药供应链有限公司", "华南演示配送", "440000"),
    ("西部演示医药配送有限公司", "西部演示配送", "510000"),
)


class DemoAlreadySeeded(DomainError):
    """The database already holds demo data: seeding again would duplicate or clash with it."""

    default_code = "DEMO_ALREADY_SEEDED"


# ---------------------------------------------------------------------------------------------
# Fictitious identifiers


def _uscc(authority: str, division: str | None, letter: str, serial: int) -> str:
    """A valid, fictitious USCC: registration authority and type (2), division (6), organisation
    code ``JC`` + letter + 6 digits (9), check character (GB 32100-2015)."""
    return make_uscc(f"{authority}{division or '000000'}JC{letter}{serial:06d}")


def _institution_code(region_code: str, n: int) -> str:
    """A fictitious NHSA-style 定点医疗机构 code: ``H`` + region (6) + 5 digits."""
    return f"H{region_code}{n:05d}"


def _org_plan() -> list[dict]:
    """Every demo organisation as keyword arguments of ``create_organisation`` (plus a ``key``)."""
    plan: list[dict] = [
        dict(key="platform", kind="platform", name="集采平台运营中心（演示）", short_name="平台运营",
             uscc=_uscc("91", "110000", "T", 1), region_code="110000"),
        dict(key="authority", kind="procurement_authority", name="国家组织药品联合采购办公室", short_name="联采办",
             uscc=_uscc("11", "310000", "C", 1), region_code="310000"),
        dict(key="price_authority", kind="price_authority", name="国家医疗保障局医药价格和招标采购司",
             short_name="医保局价格招采司", uscc=_uscc("11", "110000", "J", 1), region_code="110000"),
    ]
    for company in batch2.companies():
        entry = dict(key=("company", company.name), kind="supplier", name=company.name,
                     short_name=company.short_name)
        if company.foreign_maker:
            entry.update(foreign_id=f"DEMO-F{company.serial:04d}",
                         agent_uscc=_uscc("91", "310000", "A", company.serial))
        else:
            entry.update(uscc=_uscc("91", company.region_code, "G", company.serial))
        plan.append(entry)
    for n, (name, short, region) in enumerate(DISTRIBUTORS, start=1):
        plan.append(dict(key=("distributor", n), kind="distributor", name=name, short_name=short,
                         uscc=_uscc("91", region, "P", n), region_code=region))
    serial = 0
    for region in supply_regions():
        for n, (suffix, level) in enumerate((("演示中心医院", "tertiary"), ("演示第二人民医院", "secondary")), start=1):
            serial += 1
            plan.append(dict(key=("institution", region.code, n), kind="medical_institution",
                             name=f"{region.name}{suffix}", short_name=None,
                             uscc=_uscc("12", region.code, "Y", serial), region_code=region.code,
                             institution_code=_institution_code(region.code, n), institution_level=level))
    return plan


# ---------------------------------------------------------------------------------------------
# Refusal when already seeded


def _existing_demo_data(plan: list[dict]) -> list[str]:
    found: list[str] = []
    codes = db.session.scalars(
        select(ProcurementProject.code).where(ProcurementProject.code.in_(DEMO_PROJECT_CODES))
    ).all()
    found += [f"project {c}" for c in codes]
    users = db.session.scalars(select(User.username).where(User.username.in_(DEMO_USERNAMES))).all()
    found += [f"user {u}" for u in users]
    usccs = [p["uscc"] for p in plan if p.get("uscc")]
    foreign_ids = [p["foreign_id"] for p in plan if p.get("foreign_id")]
    institution_codes = [p["institution_code"] for p in plan if p.get("institution_code")]
    n_orgs = db.session.scalar(
        select(func.count()).select_from(Organisation).where(
            Organisation.uscc.in_(usccs) | Organisation.foreign_id.in_(foreign_ids)
            | Organisation.institution_code.in_(institution_codes)
        )
    )
    if n_orgs:
        found.append(f"{n_orgs} demo organisations")
    n_products = db.session.scalar(
        select(func.count()).select_from(Product).where(Product.nhsa_code.in_([p.nhsa_code for p in batch2.products()]))
    )
    if n_products:
        found.append(f"{n_products} demo products")
    return found


# ---------------------------------------------------------------------------------------------
# The seed


def seed_demo() -> list[dict]:
    """Load the demo into the current transaction and return the demo accounts.

    Returns ``[{"role", "username", "org", "password"}]``, one per role of DOMAIN.md L1. Refuses
    with :class:`DemoAlreadySeeded` (``DEMO_ALREADY_SEEDED``), before writing anything, when a
    demo project, account, organisation or product is already there. Flushes, never commits.
    """
    plan = _org_plan()
    existing = _existing_demo_data(plan)
    if existing:
        raise DemoAlreadySeeded(
            message=N_("The demo data is already loaded (found: %(found)s). Use a fresh database to seed it again."),
            params={"found": ", ".join(existing)},
        )

    _seed_dosage_forms()
    orgs = _seed_organisations(plan)
    users = _seed_users(orgs)
    products = _seed_products(orgs)
    nvbp = _seed_nvbp(orgs, users, products)
    alliance = _seed_alliance(orgs, users, products)
    _seed_notifications(users, alliance)

    counts = {
        "organisations": len(orgs),
        "suppliers": len(batch2.companies()),
        "institutions": sum(1 for k in orgs if isinstance(k, tuple) and k[0] == "institution"),
        "products": len(products),
        "projects": 2,
        "lots": {NVBP_CODE: len(nvbp["lots"]), ALLIANCE_CODE: len(alliance["lots"])},
        "demand_lines": nvbp["demand_lines"],
        "users": len(users),
    }
    record("demo.seed", summary={"counts": counts, "source": "nvbp-batch2 result tables (data/SOURCE.md)"})
    return [
        {"role": role, "username": username, "org": users[username].org.name, "password": DEMO_PASSWORD}
        for username, role, _org_key, _display, _admin in DEMO_USERS
    ]


def _seed_dosage_forms() -> None:
    """Fill the 剂型 dictionary table from the shipped dictionary when it is still empty."""
    if db.session.scalar(select(func.count()).select_from(DosageForm)):
        return
    db.session.add_all(
        DosageForm(name=entry.name, form_group=entry.form_group, form_class=entry.form_class, builtin=True)
        for entry in default_dictionary()
    )
    db.session.flush()


def _seed_organisations(plan: list[dict]) -> dict:
    orgs: dict = {}
    for entry in plan:
        fields = {k: v for k, v in entry.items() if k != "key"}
        orgs[entry["key"]] = create_organisation(**fields)
    return orgs


def _hospital_key() -> tuple:
    return ("institution", "110000", 1)


def _seed_users(orgs: dict) -> dict[str, User]:
    keys = {
        "platform": "platform",
        "authority": "authority",
        "price_authority": "price_authority",
        "hospital": _hospital_key(),
        "supplier": ("company", SUPPLIER_COMPANY),
        "distributor": ("distributor", 1),
    }
    users: dict[str, User] = {}
    for username, role, org_key, display, admin in DEMO_USERS:
        users[username] = create_user(actor=None, username=username, display_name=display, password=DEMO_PASSWORD,
                                      role=role, org=orgs[keys[org_key]], is_org_admin=admin)
    return users


def _seed_products(orgs: dict) -> dict[tuple[int, str, str], Product]:
    """The catalog: one product per (lot, company, spec) of the bids table, inserted in one batch."""
    products: dict[tuple[int, str, str], Product] = {}
    for p in batch2.products():
        products[p.key] = Product(
            nhsa_code=p.nhsa_code,
            code_kind="drug",
            benweima=p.benweima,
            approval_no=p.approval_no,
            approval_no_type=p.approval_no_type,
            generic_name=p.variety.generic_name,
            generic_name_initials=p.variety.initials,
            dosage_form=p.dosage_form,
            form_group=p.variety.form_group,
            spec=p.spec,
            strength_value=p.strength_value,
            strength_unit=p.strength_unit,
            fill_volume_ml=p.fill_volume_ml,
            pack_qty=p.pack_qty,
            min_unit=p.min_unit,
            manufacturer_id=orgs[("company", p.company.name)].id,
            mah_name=p.company.name,
            quality_tier=p.quality_tier,
        )
    db.session.add_all(products.values())
    db.session.flush()
    record("catalog.demo_import", summary={"products": len(products), "source": "nvbp-batch2-bids.csv"})
    return products


def _lot(project: ProcurementProject, lot_no: int, variety: batch2.Variety, *, with_prices: bool) -> Lot:
    rep = parse_spec(variety.representative_spec)
    return Lot(
        project_id=project.id,
        lot_no=lot_no,
        name=variety.name,
        generic_name=variety.generic_name,
        form_group=variety.form_group,
        form_class=variety.form_class,
        drug_class="chemical",
        kind="single",
        representative_spec=variety.representative_spec,
        rep_strength_value=rep.strength_value,
        rep_strength_unit=rep.strength_unit,
        rep_fill_volume_ml=rep.fill_volume_ml,
        ceiling_ucp=variety.ceiling_ucp if with_prices else None,
        pre_procurement_ucp=variety.pre_procurement_ucp if with_prices else None,
        status="open",
    )


def _project(*, code: str, name: str, kind: str, state: str, authority: Organisation, officer: User,
             preset: str, history: list[tuple[str, str, dt.datetime]], **timeline) -> ProcurementProject:
    project = ProcurementProject(code=code, name=name, kind=kind, state=state, authority_org_id=authority.id,
                                 created_by_id=officer.id, **timeline)
    db.session.add(project)
    db.session.flush()
    db.session.add(RuleSetVersion(project_id=project.id, version=1, preset=preset, overrides={},
                                  resolved=resolve_ruleset(preset), created_by_id=officer.id))
    db.session.add_all(
        ProjectStateChange(project_id=project.id, from_state=src, to_state=dst, user_id=officer.id, at=at,
                           reason="演示数据")
        for src, dst, at in history
    )
    db.session.flush()
    record("project.create", project, summary={"code": code, "kind": kind, "state": state, "preset": preset,
                                               "ruleset_version": 1, "demo": True})
    return project


def _seed_nvbp(orgs: dict, users: dict[str, User], products: dict) -> dict:
    officer = users["officer"]
    project = _project(
        code=NVBP_CODE, name="第二批国家组织药品集中采购", kind="national", state="demand_frozen",
        authority=orgs["authority"], officer=officer, preset="nvbp-2",
        history=[("draft", "demand_collection", NVBP_DEMAND_OPENED),
                 ("demand_collection", "demand_frozen", NVBP_DEMAND_DUE)],
        demand_due_at=NVBP_DEMAND_DUE, bidding_opens_at=NVBP_BIDDING_OPENS, bid_deadline=NVBP_BID_DEADLINE,
        opening_at=NVBP_OPENING,
    )
    varieties = batch2.varieties()
    lots = {v.name: _lot(project, v.lot_no, v, with_prices=True) for v in varieties}
    db.session.add_all(lots.values())
    db.session.flush()
    db.session.add_all(
        LotProduct(lot_id=lots[p.variety.name].id, product_id=products[p.key].id) for p in batch2.products()
    )

    institutions = {k: org for k, org in orgs.items() if isinstance(k, tuple) and k[0] == "institution"}
    db.session.add_all(ProjectInstitution(project_id=project.id, institution_id=org.id) for org in institutions.values())
    reports: dict[tuple, DemandReport] = {}
    for i, (key, org) in enumerate(sorted(institutions.items(), key=lambda item: item[1].id)):
        reports[key] = DemandReport(
            project_id=project.id, institution_id=org.id, version=1, status="frozen",
            submitted_by_id=users["hospital"].id if key == _hospital_key() else None,
            submitted_at=NVBP_DEMAND_DUE - dt.timedelta(days=3, minutes=7 * i),
        )
    db.session.add_all(reports.values())
    db.session.flush()

    lines = []
    for v in batch2.volume_rows():
        first, second = batch2.split_volume(v.units, f"{v.region_code}|{v.variety}|{v.spec}")
        for n, qty in ((1, first), (2, second)):
            lines.append(DemandLine(
                report_id=reports[("institution", v.region_code, n)].id, lot_id=lots[v.variety].id, spec=v.spec,
                region_code=v.region_code, year=2020, historical_usage=qty, reported_demand=qty,
            ))
    db.session.add_all(lines)
    db.session.flush()
    record("demand.demo_import", project, summary={"reports": len(reports), "lines": len(lines),
                                                   "basis": "committed", "source": "nvbp-batch2-volumes.csv"})
    return {"project": project, "lots": lots, "demand_lines": len(lines)}


def _seed_alliance(orgs: dict, users: dict[str, User], products: dict) -> dict:
    officer = users["officer"]
    now = utcnow()
    # Beijing-time dates relative to today, so the demand deadline is always ahead.
    today = now.astimezone(CST).date()

    def at(days: int, hour: int) -> dt.datetime:
        day = today + dt.timedelta(days=days)
        return _cst(day.year, day.month, day.day, hour, 0)

    project = _project(
        code=ALLIANCE_CODE, name="省际联盟药品集中带量采购（演示）", kind="alliance", state="demand_collection",
        authority=orgs["authority"], officer=officer, preset="alliance-default",
        history=[("draft", "demand_collection", now)],
        demand_due_at=at(14, 17), bidding_opens_at=at(30, 9), bid_deadline=at(45, 12), opening_at=at(45, 14),
    )
    by_name = {v.name: v for v in batch2.varieties()}
    lots = {name: _lot(project, n, by_name[name], with_prices=False)
            for n, name in enumerate(ALLIANCE_VARIETIES, start=1)}
    db.session.add_all(lots.values())
    db.session.flush()
    db.session.add_all(
        LotProduct(lot_id=lots[p.variety.name].id, product_id=products[p.key].id)
        for p in batch2.products() if p.variety.name in lots
    )
    members = [org for k, org in orgs.items()
               if isinstance(k, tuple) and k[0] == "institution" and k[1] in ALLIANCE_REGIONS]
    db.session.add_all(ProjectInstitution(project_id=project.id, institution_id=org.id) for org in members)
    db.session.flush()
    return {"project": project, "lots": lots, "institutions": members}


def _seed_notifications(users: dict[str, User], alliance: dict) -> None:
    for user in users.values():
        post_notification(user_id=user.id, kind="info", title="欢迎使用集采平台演示环境",
                          body=f"您好，{user.display_name}。这是演示数据：第二批国家组织药品集中采购（{NVBP_CODE}）"
                               f"和省际联盟采购（{ALLIANCE_CODE}）。所有演示账号的密码相同，请勿在生产环境使用。")
    project = alliance["project"]
    due = project.demand_due_at.astimezone(CST).strftime("%Y-%m-%d %H:%M")
    for org in alliance["institutions"]:
        post_notification(org_id=org.id, kind="deadline", title=f"{ALLIANCE_CODE} 需求报量截止提醒",
                          body=f"请于 {due}（北京时间）前提交{project.name}的需求报量"
                               f"（{len(alliance['lots'])} 个品种）。")
    post_notification(user_id=users["officer"].id, kind="task", title=f"{ALLIANCE_CODE} 正在收集需求",
                      body=f"{len(alliance['institutions'])} 家医疗机构参加；各品种的最高有效申报价尚未设置。"
                           f"{NVBP_CODE} 的需求已冻结，可审核后开始申报。")
