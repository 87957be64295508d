"""The credit gate (DOMAIN.md §10 R2, W2, W3): the default block matrix, and quotes it refuses."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.bidding import services
from app.bidding.models import QuoteSubmission
from app.core.tx import finish
from app.credit.models import CreditRating
from app.credit.services import DEFAULT_BLOCK_MATRIX, CreditBarred, supplier_block
from tests.web.bidding_builders import CHEAP_KDF, build_bidding_world, fill_quote

DAY = dt.date(2030, 3, 1)


@pytest.fixture(autouse=True)
def _cheap_opening_kdf(app, monkeypatch):
    monkeypatch.setitem(app.config, "OPENING_KDF_PARAMS", CHEAP_KDF)


@pytest.fixture()
def rate(db, make_user):
    recorder = make_user("price_officer")

    def add(org, level: str, *, scheme: str = "2025", province: str = "320000", products=(), start=DAY, end=None,
            **fields) -> CreditRating:
        rating = CreditRating(company_org_id=org.id, scheme=scheme, level=level, province_code=province,
                              effective_from=start, effective_to=end, case_ref="苏医保信〔2029〕7号",
                              involved_product_ids=list(products), recorded_by_id=recorder.id, **fields)
        db.session.add(rating)
        db.session.flush()
        return rating

    return add


def test_the_default_matrix_is_r2s(db, make_org, rate):
    supplier = make_org("supplier")
    assert supplier_block(supplier.id, product_ids=[1], on=DAY) is None
    rate(supplier, "dishonest")  # 2025 失信: a warning only
    rate(supplier, "general", scheme="2020")
    rate(supplier, "moderate", scheme="2020")
    assert supplier_block(supplier.id, product_ids=[1], on=DAY) is None

    serious = make_org("supplier")
    rate(serious, "seriously_dishonest", products=[7])  # involved products, in the rating province
    assert supplier_block(serious.id, product_ids=[8], on=DAY) is None
    block = supplier_block(serious.id, product_ids=[7, 8], on=DAY)
    assert (block.products, block.scope, block.province_code) == ("involved_products", "province", "320000")
    assert supplier_block(serious.id, product_ids=[7], province_code="320000", on=DAY) is not None
    assert supplier_block(serious.id, product_ids=[7], province_code="110000", on=DAY) is None

    worst = make_org("supplier")
    rate(worst, "particularly_seriously_dishonest", products=[9])
    # All products in the rating province …
    assert supplier_block(worst.id, product_ids=[1], province_code="320000", on=DAY).products == "all_products"
    assert supplier_block(worst.id, product_ids=[1], province_code="110000", on=DAY) is None
    # … and the involved products everywhere.
    block = supplier_block(worst.id, product_ids=[9], province_code="110000", on=DAY)
    assert (block.products, block.scope) == ("involved_products", "national")
    old = make_org("supplier")
    rate(old, "particularly_serious", scheme="2020", province="650000")
    assert supplier_block(old.id, product_ids=[1], province_code="660000", on=DAY) is not None  # 兵团 with 新疆
    assert set(DEFAULT_BLOCK_MATRIX) == {f"{s}:{lvl}" for s, lvl in (
        ("2025", "dishonest"), ("2025", "seriously_dishonest"), ("2025", "particularly_seriously_dishonest"),
        ("2020", "general"), ("2020", "moderate"), ("2020", "serious"), ("2020", "particularly_serious"))}


def test_only_ratings_in_force_count(db, make_org, rate):
    supplier = make_org("supplier")
    rate(supplier, "particularly_seriously_dishonest", start=DAY, end=DAY + dt.timedelta(days=30))
    assert supplier_block(supplier.id, product_ids=[1], on=DAY - dt.timedelta(days=1)) is None
    assert supplier_block(supplier.id, product_ids=[1], on=DAY) is not None
    assert supplier_block(supplier.id, product_ids=[1], on=DAY + dt.timedelta(days=30)) is not None  # last day
    assert supplier_block(supplier.id, product_ids=[1], on=DAY + dt.timedelta(days=31)) is None

    repaired = make_org("supplier")
    rate(repaired, "particularly_seriously_dishonest", repair_status="repaired", repaired_on=DAY + dt.timedelta(days=5))
    assert supplier_block(repaired.id, product_ids=[1], on=DAY + dt.timedelta(days=1)) is not None
    assert supplier_block(repaired.id, product_ids=[1], on=DAY + dt.timedelta(days=5)) is None

    changed = make_org("supplier")
    first = rate(changed, "particularly_seriously_dishonest")
    rate(changed, "dishonest", start=DAY + dt.timedelta(days=10), supersedes_id=first.id)  # downgraded later
    assert supplier_block(changed.id, product_ids=[1], on=DAY + dt.timedelta(days=9)) is not None
    assert supplier_block(changed.id, product_ids=[1], on=DAY + dt.timedelta(days=10)) is None


def test_a_projects_own_block_matrix_applies(db, make_org, rate):
    supplier = make_org("supplier")
    rate(supplier, "dishonest")
    strict = dict(DEFAULT_BLOCK_MATRIX, **{"2025:dishonest": [["all_products", "national"]]})
    assert supplier_block(supplier.id, product_ids=[1], on=DAY) is None
    assert supplier_block(supplier.id, product_ids=[1], on=DAY, block_matrix=strict).scope == "national"


def test_a_barred_supplier_is_refused_at_upload_with_the_reason_audited(app, db, make_user, make_org, rate):
    world = build_bidding_world(make_user, make_org, code="CREDIT-1")
    supplier = world.users["甲制药"]
    today = services.beijing_date(world.project.created_at)
    rate(world.suppliers["甲制药"], "particularly_seriously_dishonest", province="440000",
         start=today - dt.timedelta(days=1))
    rate(world.suppliers["乙制药"], "dishonest", start=today - dt.timedelta(days=1))  # a warning only
    db.session.commit()

    _name, template = services.quote_template(world.project, actor=supplier)
    data = fill_quote(template, {1: {"pack_price": "9.5", "declared_capacity": 1000}})
    with pytest.raises(CreditBarred) as refused:
        services.submit_quote(world.project, actor=supplier, file_bytes=data, filename="q.xlsx")
    assert "苏医保信〔2029〕7号" in refused.value.message and "440000" in refused.value.message
    assert (refused.value.block.products, refused.value.block.scope) == ("all_products", "province")
    finish(False)
    assert db.session.scalars(select(QuoteSubmission)).all() == []
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bidding.quote_refused"))
    assert event.summary["code"] == "CREDIT_BARRED" and event.summary["province"] == "440000"
    assert event.summary["sha256"] == hashlib.sha256(data).hexdigest()

    other = world.users["乙制药"]
    _name, template = services.quote_template(world.project, actor=other)
    receipt = services.submit_quote(world.project, actor=other, file_bytes=fill_quote(
        template, {1: {"pack_price": "9.6", "declared_capacity": 1000}}), filename="q.xlsx")
    assert receipt.submission.status == "submitted"


def test_a_provincial_project_is_blocked_only_by_its_provinces_ratings(app, db, make_user, make_org, rate):
    world = build_bidding_world(make_user, make_org, code="CREDIT-2", kind="provincial")
    world.officer.org.region_code = "320000"  # the authority of 江苏
    supplier, org = world.users["甲制药"], world.suppliers["甲制药"]
    today = services.beijing_date(world.project.created_at)
    rate(org, "particularly_seriously_dishonest", province="110000", start=today - dt.timedelta(days=1))
    db.session.commit()
    assert services.project_province(world.project) == "320000"
    _name, template = services.quote_template(world.project, actor=supplier)
    data = fill_quote(template, {1: {"pack_price": "9.5", "declared_capacity": 1000}})
    receipt = services.submit_quote(world.project, actor=supplier, file_bytes=data, filename="q.xlsx")
    assert receipt.submission.status == "submitted"  # a Beijing rating bars all products in Beijing only
