"""Catalog products: create/edit/retire, disabling a code with its history, code checks (C1–C5), search by
Chinese, pinyin initials, code and manufacturer on SQLite and PostgreSQL, supplier proposals, the pages and
the zh_CN PO fragment."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.catalog import services
from app.catalog.models import Product, ProductCodeChange, ProductProposal
from tests.web.catalog_builders import (  # noqa: F401 - fixtures
    USCC_A,
    USCC_AGENT,
)
from tests.web.conftest import assert_po_fragment_complete, page_csrf_token


def values(**overrides) -> dict:
    base = {"nhsa_code": "XA01ABD075A002010100483", "benweima": "86900483000019", "generic_name": "地喹氯铵含片",
            "dosage_form": "片剂", "spec": "0.25mg", "pack_qty": 24, "min_unit": "片",
            "approval_no": "国药准字H20000001", "quality_tier": "consistency_evaluated"}
    base.update(overrides)
    return base


@pytest.fixture()
def maker(make_org):
    return make_org("supplier", name="汕头明治医药有限公司", uscc=USCC_A)


def _codes(err: services.ProductInvalid) -> list[tuple[str, str]]:
    return [(i.key, i.code) for i in err.issues]


# --- services -------------------------------------------------------------------------------------------------

def test_create_product_checks_every_code(db, maker):
    product = services.create_product(values(), manufacturer=maker)
    assert (product.code_kind, product.form_group, product.strength_value, product.strength_unit, product.status) == (
        "drug", "口服常释剂型", Decimal("0.25"), "mg", "active")
    with pytest.raises(services.ProductInvalid) as bad:
        services.create_product(values(nhsa_code="XA01ABD075A0020101004", benweima="96900483000019",
                                       approval_no="国药准字Q12345678", dosage_form="含片", spec="二十毫克"),
                                manufacturer=maker)
    assert _codes(bad.value) == [("benweima", "BENWEIMA_FORMAT"), ("nhsa_code", "NHSA_DRUG_CODE_LENGTH"),
                                 ("dosage_form", "UNKNOWN_DOSAGE_FORM"), ("spec", "SPEC_UNPARSEABLE"),
                                 ("approval_no", "APPROVAL_NO_FORMAT")]
    with pytest.raises(services.ProductInvalid) as taken:
        services.create_product(values(), manufacturer=maker)
    assert _codes(taken.value) == [("nhsa_code", "NHSA_CODE_TAKEN")]
    services.create_product(values(nhsa_code=None, benweima=None, generic_name="阿托伐他汀钙片", spec="20mg"),
                            manufacturer=maker)
    with pytest.raises(services.ProductInvalid) as same_key:
        services.create_product(values(nhsa_code=None, benweima=None, generic_name="阿托伐他汀钙片", spec="20 mg"),
                                manufacturer=maker)
    assert _codes(same_key.value) == [("generic_name", "PRODUCT_EXISTS")]


def test_the_consumable_codes_of_c2(db, maker):
    for code in ("C09100100000000211790000049", "C0910010000000021179", "C09100100000000"):
        product = services.create_product(values(nhsa_code=code, benweima=None, dosage_form="支架", spec="3.0mm×18mm",
                                                 pack_qty=1, min_unit="套", approval_no="国械注准20173460001"),
                                          manufacturer=maker)
        assert product.code_kind == "consumable"
    with pytest.raises(services.ProductInvalid) as bad:
        services.create_product(values(nhsa_code="C0910010000000021179000004", benweima=None, dosage_form="支架",
                                       spec="3.0mm×18mm", approval_no="国械注准20173460001"), manufacturer=maker)
    assert _codes(bad.value) == [("nhsa_code", "NHSA_CONSUMABLE_CODE_LENGTH")]


def test_a_foreign_makers_import_number_is_not_checked_as_domestic(db, make_org):
    foreign = make_org("supplier", name="Pfizer", foreign_id="US-PFE", agent_uscc=USCC_AGENT)
    product = services.create_product(values(approval_no="H20130112"), manufacturer=foreign)
    assert product.approval_no_type == "import"


def test_update_keeps_a_changed_code_in_the_history_and_retire_keeps_the_product(db, maker):
    product = services.create_product(values(), manufacturer=maker)
    services.update_product(product, values(nhsa_code="XA01ABD075A002010100484", pack_qty=12, spec="0.25mg×12片"))
    assert (product.nhsa_code, product.pack_qty) == ("XA01ABD075A002010100484", 12)
    (change,) = services.code_history(product)
    assert (change.kind, change.old_code, change.new_code) == ("transcoded", "XA01ABD075A002010100483",
                                                             "XA01ABD075A002010100484")
    services.retire_product(product)
    assert db.session.get(Product, product.id).status == "retired"
    with pytest.raises(services.CatalogError):
        services.retire_product(product)
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(product.id),
                                                                 AuditEvent.object_type == "Product")).all()
    assert {"catalog.product_create", "catalog.product_update", "catalog.product_retire"} <= set(actions)


def test_a_disabled_consumable_code_stays_with_its_history_and_points_to_its_replacement(db, maker):
    def stent(code):
        return services.create_product(values(nhsa_code=code, benweima=None, dosage_form="支架", spec="3.0mm×18mm",
                                              pack_qty=1, min_unit="套", approval_no="国械注准20173460001"),
                                       manufacturer=maker)

    old, new = stent("C09100100000000211790000049"), stent("C09100100000000211790000050")
    services.disable_code(old, new, dt.date(2024, 7, 1), "转码 notice 2024-18")
    assert (old.status, old.nhsa_code, old.replaced_by_id) == ("disabled", "C09100100000000211790000049", new.id)
    assert [(c.kind, c.old_code, c.new_code, c.effective_date) for c in services.code_history(old)] == [
        ("disabled", "C09100100000000211790000049", "C09100100000000211790000050", dt.date(2024, 7, 1))]
    assert [c.kind for c in services.code_history(new)] == ["transcoded"]
    assert services.replaced_products(new) == [old]
    with pytest.raises(services.CatalogError) as again:
        services.disable_code(old, new, dt.date(2024, 8, 1))
    assert again.value.code == "NOT_ACTIVE"
    with pytest.raises(services.CatalogError) as itself:
        services.disable_code(new, new, dt.date(2024, 8, 1))
    assert itself.value.code == "BAD_REPLACEMENT"
    with pytest.raises(services.CatalogError):
        services.update_product(old, values())


# --- search on SQLite and PostgreSQL -------------------------------------------------------------------------

@pytest.fixture()
def catalog(db, make_org):
    pfizer = make_org("supplier", name="辉瑞制药有限公司")
    lipitor = services.create_product(values(nhsa_code="XC10AAA123A001010100001", benweima=None,
                                             generic_name="阿托伐他汀钙片", spec="20mg", pack_qty=7), manufacturer=pfizer)
    qilu = make_org("supplier", name="齐鲁制药有限公司")
    generic = services.create_product(values(nhsa_code="XC10AAA123A001010200002", benweima=None,
                                             generic_name="阿托伐他汀钙片", spec="10mg", pack_qty=14), manufacturer=qilu)
    metformin = services.create_product(values(nhsa_code="XA10BAE055A001010100003", benweima=None,
                                               generic_name="盐酸二甲双胍片", spec="0.5g", pack_qty=20), manufacturer=qilu)
    return {"lipitor": lipitor, "generic": generic, "metformin": metformin}


def _found(q, **kw) -> list[str]:
    return [p.nhsa_code for p in services.search_products(q, **kw).items]


def test_search_by_chinese_pinyin_initials_code_and_manufacturer(catalog):
    assert set(_found("阿托伐他汀")) == {"XC10AAA123A001010100001", "XC10AAA123A001010200002"}
    assert set(_found("他汀")) == {"XC10AAA123A001010100001", "XC10AAA123A001010200002"}
    assert _found("atftt") == ["XC10AAA123A001010200002", "XC10AAA123A001010100001"]  # name, then spec order
    assert _found("EJSG") == ["XA10BAE055A001010100003"]  # initials inside the name, any case
    assert _found("XC10AAA123A00101010") == ["XC10AAA123A001010100001"]  # code prefix
    assert _found("xa10bae") == ["XA10BAE055A001010100003"]
    assert _found("辉瑞") == ["XC10AAA123A001010100001"]
    assert set(_found("齐鲁")) == {"XC10AAA123A001010200002", "XA10BAE055A001010100003"}
    assert _found("齐鲁 二甲双胍") == ["XA10BAE055A001010100003"]  # every word must match
    assert _found("XC10AAA123A001010200002") == ["XC10AAA123A001010200002"]
    assert _found("50%_") == []  # LIKE wildcards are searched for literally
    assert _found("不存在的药") == []


def test_search_pages_and_status(catalog):
    first = services.search_products("", page=1, per_page=2)
    second = services.search_products("", page=2, per_page=2)
    assert (first.total, first.pages, len(first.items), len(second.items)) == (3, 2, 2, 1)
    assert first.has_next and not second.has_next and second.has_prev
    services.retire_product(catalog["metformin"])
    assert _found("", status="retired") == ["XA10BAE055A001010100003"]
    assert len(_found("", status="active")) == 2


def test_trigram_search_on_postgresql_finds_similar_names(catalog, db):
    if db.engine.dialect.name != "postgresql":
        assert services.trigram_search_available() is False
        return
    assert services.trigram_search_available() is True
    # a character wrong (法 for 伐): no substring match, a trigram one
    assert set(_found("阿托法他汀钙片")) == {"XC10AAA123A001010100001", "XC10AAA123A001010200002"}
    ctype = db.session.execute(select(__import__("sqlalchemy").text("datctype")).select_from(
        __import__("sqlalchemy").text("pg_database")).where(
        __import__("sqlalchemy").text("datname = current_database()"))).scalar()
    assert "UTF-8" in ctype.upper() or "UTF8" in ctype.upper()


# --- proposals ------------------------------------------------------------------------------------------------

def test_a_supplier_proposes_and_an_officer_approves_or_rejects(db, make_org, make_user, fast_passwords):
    supplier_org = make_org("supplier", name="某某药业")
    supplier = make_user("supplier_user", org=supplier_org)
    officer = make_user("procurement_officer")
    proposal = services.propose_product(supplier_org, values(nhsa_code="XC10AAA123A001010100009", benweima=None,
                                                             generic_name="阿托伐他汀钙片", spec="20mg",
                                                             fill_volume_ml=None, pack_qty=7), supplier)
    assert proposal.status == "pending" and proposal.payload["spec"] == "20mg"
    assert services.search_products("XC10AAA123A001010100009").total == 0
    services.review_proposal(proposal, True, officer, "ok")
    product = db.session.get(Product, proposal.product_id)
    assert (proposal.status, product.manufacturer_id, product.nhsa_code, proposal.reviewed_by_id) == (
        "approved", supplier_org.id, "XC10AAA123A001010100009", officer.id)
    with pytest.raises(services.CatalogError):
        services.review_proposal(proposal, False, officer, "again")

    second = services.propose_product(supplier_org, values(nhsa_code=None, benweima=None, spec="0.5mg"), supplier)
    with pytest.raises(services.CatalogError) as no_reason:
        services.review_proposal(second, False, officer, "")
    assert no_reason.value.code == "REJECT_NEEDS_NOTE"
    services.review_proposal(second, False, officer, "规格与批准文号不符")
    assert (second.status, second.product_id, second.review_note) == ("rejected", None, "规格与批准文号不符")

    with pytest.raises(services.ProductInvalid):
        services.propose_product(supplier_org, values(nhsa_code="XA01"), supplier)
    other = make_org("supplier", name="别家")
    with pytest.raises(services.CatalogError):
        services.propose_product(other, values(), supplier)  # only for its own organisation
    assert services.list_proposals(supplier) == [second, proposal]
    assert services.list_proposals(make_user("supplier_user", org=other)) == []
    assert len(services.list_proposals(officer, status="pending")) == 0


# --- pages ----------------------------------------------------------------------------------------------------

def test_the_catalog_page_searches_in_chinese(catalog, browser, make_user, zh_catalog, fast_passwords):
    client = browser(make_user("institution_user"))
    page = client.get("/catalog/?q=atftt")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "产品目录" in html and "阿托伐他汀钙片" in html and "盐酸二甲双胍片" not in html
    assert "新增产品" not in html  # read only
    detail = client.get(f"/catalog/{catalog['lipitor'].id}")
    assert "X C10AA A123 A001 01 01 00001" in detail.get_data(as_text=True)  # segmented code


def test_an_officer_creates_edits_retires_and_disables_through_the_pages(db, browser, make_user, maker, zh_catalog,
                                                                       fast_passwords):
    client = browser(make_user("procurement_officer"))
    token = page_csrf_token(client, "/catalog/new")
    form = {"csrf_token": token, "nhsa_code": "XA01ABD075A002010100483", "benweima": "86900483000019",
            "generic_name": "地喹氯铵含片", "dosage_form": "片剂", "spec": "0.25mg", "fill_volume_ml": "",
            "pack_qty": "24", "min_unit": "片", "approval_no": "国药准字H20000001", "mah": "", "quality_tier": "other",
            "manufacturer_id": str(maker.id)}
    bad = client.post("/catalog/new", data=dict(form, nhsa_code="XA01", dosage_form="含片"))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "剂型不在剂型字典中：含片" in html and "医保药品代码应为 23 位" in html
    created = client.post("/catalog/new", data=form)
    assert created.status_code == 302
    product = db.session.scalar(select(Product).where(Product.nhsa_code == "XA01ABD075A002010100483"))
    edit = client.post(f"/catalog/{product.id}/edit", data=dict(form, pack_qty="12", spec="0.25mg×12片"))
    assert edit.status_code == 302 and db.session.get(Product, product.id).pack_qty == 12

    successor = services.create_product(values(nhsa_code="XA01ABD075A002010100484"), manufacturer=maker)
    db.session.commit()
    unknown = client.post(f"/catalog/{product.id}/disable-code", data={
        "csrf_token": token, "replacement_code": "XA01ABD075A002010199999", "effective_date": "2024-07-01"})
    assert unknown.status_code == 422
    disabled = client.post(f"/catalog/{product.id}/disable-code", data={
        "csrf_token": token, "replacement_code": " xa01abd075a002010100484 ", "effective_date": "2024-07-01",
        "note": "医保局公告"})
    assert disabled.status_code == 302
    page = client.get(f"/catalog/{product.id}").get_data(as_text=True)
    assert "XA01ABD075A002010100484" in page and "医保局公告" in page and "2024-07-01" in page
    assert db.session.get(Product, product.id).replaced_by_id == successor.id

    not_confirmed = client.post(f"/catalog/{successor.id}/retire", data={"csrf_token": token})
    assert not_confirmed.status_code == 302 and db.session.get(Product, successor.id).status == "active"
    client.post(f"/catalog/{successor.id}/retire", data={"csrf_token": token, "confirm": "yes"})
    assert db.session.get(Product, successor.id).status == "retired"


def test_the_proposal_pages(db, browser, make_org, make_user, zh_catalog, fast_passwords):
    supplier_org = make_org("supplier", name="某某药业")
    supplier = make_user("supplier_user", org=supplier_org)
    client = browser(supplier)
    token = page_csrf_token(client, "/catalog/proposals/new")
    response = client.post("/catalog/proposals/new", data={
        "csrf_token": token, "generic_name": "阿托伐他汀钙片", "dosage_form": "片剂", "spec": "20mg", "pack_qty": "7",
        "min_unit": "片", "approval_no": "国药准字H20000009", "quality_tier": "consistency_evaluated"})
    assert response.status_code == 302
    proposal = db.session.scalar(select(ProductProposal).where(ProductProposal.supplier_org_id == supplier_org.id))
    assert "阿托伐他汀钙片" in client.get("/catalog/proposals").get_data(as_text=True)

    officer = browser(make_user("procurement_officer"))
    page = officer.get(f"/catalog/proposals/{proposal.id}").get_data(as_text=True)
    assert "某某药业" in page and "批准" in page
    token = page_csrf_token(officer, f"/catalog/proposals/{proposal.id}")
    reviewed = officer.post(f"/catalog/proposals/{proposal.id}/review", data={"csrf_token": token, "approve": "y"})
    assert reviewed.status_code == 302 and reviewed.location.startswith("/catalog/")
    db.session.expire_all()
    proposal = db.session.get(ProductProposal, proposal.id)
    assert proposal.status == "approved"
    assert db.session.get(Product, proposal.product_id).manufacturer_id == supplier_org.id


def test_code_history_rows_are_never_deleted(db, maker):
    # P-3 spirit for codes (DOMAIN.md C2): a disabled code keeps its row and its history.
    product = services.create_product(values(), manufacturer=maker)
    services.disable_code(product, None, dt.date(2025, 1, 1), "停用")
    assert db.session.scalar(select(ProductCodeChange.kind).where(ProductCodeChange.product_id == product.id)) == "disabled"
    assert db.session.get(Product, product.id).nhsa_code == "XA01ABD075A002010100483"


# --- the PO fragment ------------------------------------------------------------------------------------------

def test_the_po_fragment_translates_every_msgid_of_the_catalog():
    assert_po_fragment_complete("catalog", "Catalog")  # with its navigation entry
