"""Catalog import (DOMAIN.md §12 (a)) with real .xlsx/.csv files: stored values, manufacturers by credit code,
foreign makers, every error located (sheet, row, column, header, code), all or nothing, dry runs, the page
and the error-report workbook, export round trip, and the command line's exit statuses."""
from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from app.audit.models import AuditEvent
from app.catalog import services
from app.catalog.models import Product
from app.orgs.models import Organisation
from app.spreadsheets import SpreadsheetError
from app.spreadsheets.specs import CATALOG
from tests.web.catalog_builders import (  # noqa: F401 - fixtures
    USCC_A,
    USCC_AGENT,
    USCC_B,
    USCC_BAD,
    csv_file,
    product_row,
    where,
    xlsx_file,
)
from tests.web.conftest import page_csrf_token


def _count(model, *where_) -> int:
    from app.extensions import db

    return db.session.scalar(select(func.count()).select_from(model).where(*where_))


def _imports() -> int:
    return _count(AuditEvent, AuditEvent.action == "catalog.import")


def _product(code: str) -> Product:
    from app.extensions import db

    return db.session.scalar(select(Product).where(Product.nhsa_code == code))


# --- a good file -----------------------------------------------------------------------------------------

def test_a_good_file_is_stored_with_exact_values_and_new_manufacturers(db):
    rows = [
        product_row(),
        product_row(nhsa_code="XA01ABD075A002010300483", spec="0.25mg×6片", pack_qty=6, consistency_evaluated=None,
                    originator="是"),
        product_row(nhsa_code="XN05AHA123B002010100012", benweima=None, generic_name="盐酸氨溴索注射液",
                    dosage_form="注射液", spec="2ml:15mg", fill_volume_ml=None, pack_qty=10, min_unit="支",
                    manufacturer="上海某药业有限公司", manufacturer_uscc=USCC_B, approval_no="国药准字H20051408",
                    consistency_evaluated=None),
        # no NHSA code: identified by (generic name, dosage form, spec, manufacturer)
        product_row(nhsa_code=None, benweima=None, generic_name="阿托伐他汀钙片", spec="20mg", pack_qty=7,
                    approval_no="国药准字H20000002"),
    ]
    result = services.import_catalog(xlsx_file(rows), "catalog.xlsx")
    assert result.ok and result.stored, [str(e) for e in result.errors]
    assert (result.rows, result.created, result.updated, result.manufacturers_created) == (4, 4, 0, 2)

    first = _product("XA01ABD075A002010100483")
    assert (first.code_kind, first.benweima, first.generic_name, first.generic_name_initials, first.dosage_form,
            first.form_group, first.spec, first.pack_qty, first.min_unit, first.approval_no, first.approval_no_type,
            first.quality_tier, first.status) == (
        "drug", "86900483000019", "地喹氯铵含片", "dklahp", "片剂", "口服常释剂型", "0.25mg", 24, "片",
        "国药准字H20000001", "domestic", "consistency_evaluated", "active")
    assert first.strength_value == Decimal("0.25") and first.strength_unit == "mg"
    assert isinstance(first.strength_value, Decimal) and first.fill_volume_ml is None
    assert _product("XA01ABD075A002010300483").quality_tier == "originator"

    injection = _product("XN05AHA123B002010100012")
    assert (injection.strength_value, injection.strength_unit, injection.fill_volume_ml, injection.form_group) == (
        Decimal("15"), "mg", Decimal("2"), "注射剂")

    makers = {o.uscc: o for o in db.session.scalars(select(Organisation).where(Organisation.uscc.in_([USCC_A, USCC_B])))}
    assert {u: (o.kind, o.name) for u, o in makers.items()} == {
        USCC_A: ("supplier", "汕头明治医药有限公司"), USCC_B: ("supplier", "上海某药业有限公司")}
    assert injection.manufacturer_id == makers[USCC_B].id
    codeless = db.session.scalar(select(Product).where(Product.generic_name == "阿托伐他汀钙片"))
    assert codeless.nhsa_code is None and codeless.manufacturer_id == makers[USCC_A].id

    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "catalog.import")).all()
    assert event.summary["created"] == 4 and event.summary["manufacturers_created"] == 2
    assert event.summary["sha256"] == result.sha256 and len(result.sha256) == 64
    # each new manufacturer went through create_organisation (its own audit event)
    assert _count(AuditEvent, AuditEvent.action == "org.create") >= 2


def test_an_existing_manufacturer_is_matched_by_credit_code_not_by_name(db, make_org):
    maker = make_org("supplier", name="汕头明治医药有限公司（注册名）", uscc=USCC_A)
    result = services.import_catalog(xlsx_file([product_row(manufacturer="另一个写法的名字")]), "c.xlsx")
    assert result.ok and result.manufacturers_created == 0
    assert _product("XA01ABD075A002010100483").manufacturer_id == maker.id
    assert db.session.get(Organisation, maker.id).name == "汕头明治医药有限公司（注册名）"


def test_a_foreign_maker_without_credit_code_is_registered_by_foreign_id_and_agent(db):
    row = product_row(nhsa_code="XC10AAA001A001010100001", benweima=None, generic_name="阿托伐他汀钙片",
                      spec="20mg", pack_qty=7, manufacturer="Pfizer Manufacturing Deutschland GmbH",
                      manufacturer_uscc=None, manufacturer_foreign_id="de-pfizer-01", agent_uscc=USCC_AGENT,
                      approval_no="H20130112", originator="是", consistency_evaluated=None)
    result = services.import_catalog(xlsx_file([row]), "c.xlsx")
    assert result.ok, [str(e) for e in result.errors]
    product = _product("XC10AAA001A001010100001")
    maker = db.session.get(Organisation, product.manufacturer_id)
    assert (maker.uscc, maker.foreign_id, maker.agent_uscc, maker.kind) == (None, "DE-PFIZER-01", USCC_AGENT, "supplier")
    assert (product.approval_no, product.approval_no_type, product.quality_tier) == ("H20130112", "import", "originator")
    # the same foreign maker in the next file is found again
    again = services.import_catalog(xlsx_file([row]), "c.xlsx")
    assert (again.created, again.updated, again.manufacturers_created) == (0, 1, 0)


def test_a_foreign_maker_needs_its_agents_credit_code(db):
    row = product_row(manufacturer_uscc=None, manufacturer_foreign_id="JP-0001", agent_uscc=None)
    result = services.import_catalog(xlsx_file([row]), "c.xlsx")
    assert where(result.errors) == [("产品目录", 2, "O", "代理人统一社会信用代码", "USCC_REQUIRED")]
    none_at_all = services.import_catalog(xlsx_file([product_row(manufacturer_uscc=None)]), "c.xlsx")
    assert where(none_at_all.errors) == [("产品目录", 2, "J", "统一社会信用代码", "USCC_REQUIRED")]


def test_a_consumable_code_and_its_registration_number(db):
    row = product_row(nhsa_code="C09100100000000211790000049", benweima=None, generic_name="冠状动脉支架",
                      dosage_form="支架", spec="3.0mm×18mm", pack_qty=1, min_unit="套",
                      approval_no="国械注准20173460001", consistency_evaluated=None)
    result = services.import_catalog(xlsx_file([row]), "c.xlsx")
    assert result.ok, [str(e) for e in result.errors]
    stent = _product("C09100100000000211790000049")
    assert (stent.code_kind, stent.strength_value, stent.form_group, stent.approval_no) == (
        "consumable", None, None, "国械注准20173460001")


def test_a_csv_in_gb18030_with_english_headers(db):
    english = ["nhsa_code", "generic_name", "dosage_form", "spec", "pack_qty", "min_unit", "manufacturer",
               "manufacturer_uscc", "approval_no"]
    data = csv_file([product_row(spec="0.25mg")], encoding="gb18030", headers=english, keys=english)
    result = services.import_catalog(data, "catalog.csv")
    assert result.ok and result.created == 1
    assert _product("XA01ABD075A002010100483").generic_name == "地喹氯铵含片"
    assert any(n.code == "csv_read_as" for n in result.notices)


# --- updates ---------------------------------------------------------------------------------------------

def test_existing_products_are_updated_by_code_and_by_the_four_part_key(db):
    services.import_catalog(xlsx_file([product_row(), product_row(nhsa_code=None, generic_name="阿托伐他汀钙片",
                                                                   spec="20mg", pack_qty=7)]), "c.xlsx")
    first_id = _product("XA01ABD075A002010100483").id
    second = db.session.scalar(select(Product).where(Product.generic_name == "阿托伐他汀钙片"))
    changed = [product_row(pack_qty=12, spec="0.25mg×12片"),
               # the codeless product gets its code: matched by generic name, form, spec and manufacturer
               product_row(nhsa_code="XC10AAA123A001010100483", generic_name="阿托伐他汀钙片", spec="20mg",
                           pack_qty=14)]
    result = services.import_catalog(xlsx_file(changed), "c.xlsx")
    assert (result.created, result.updated) == (0, 2)
    db.session.expire_all()
    assert _product("XA01ABD075A002010100483").id == first_id
    assert _product("XA01ABD075A002010100483").pack_qty == 12
    assert db.session.get(Product, second.id).nhsa_code == "XC10AAA123A001010100483"
    assert db.session.get(Product, second.id).pack_qty == 14
    assert _count(Product) == 2


def test_a_disabled_code_is_refused_and_points_to_its_replacement(db):
    services.import_catalog(xlsx_file([
        product_row(nhsa_code="C09100100000000211790000049", benweima=None, dosage_form="支架", spec="3.0mm×18mm",
                    pack_qty=1, min_unit="套", approval_no="国械注准20173460001"),
        product_row(nhsa_code="C09100100000000211790000050", benweima=None, dosage_form="支架", spec="3.0mm×18mm",
                    pack_qty=1, min_unit="套", approval_no="国械注准20173460002")]), "c.xlsx")
    services.disable_code(_product("C09100100000000211790000049"), _product("C09100100000000211790000050"),
                          __import__("datetime").date(2024, 7, 1), "医保办发〔2024〕转码")
    again = services.import_catalog(xlsx_file([
        product_row(nhsa_code="C09100100000000211790000049", benweima=None, dosage_form="支架", spec="3.0mm×18mm",
                    pack_qty=1, min_unit="套", approval_no="国械注准20173460001")]), "c.xlsx")
    assert where(again.errors) == [("产品目录", 2, "A", "医保药品代码", "CODE_DISABLED")]
    assert "C09100100000000211790000050" in str(again.errors[0].hint)


# --- errors: located, all or nothing ----------------------------------------------------------------------

def test_every_error_is_located_and_nothing_is_stored(db):
    before = (_count(Product), _count(Organisation), _imports())
    rows = [
        product_row(),                                                               # row 2: fine
        product_row(nhsa_code="XA01ABD075A00201010048"),                             # row 3: 22 characters
        product_row(nhsa_code="XA01ABD075A002010200594", dosage_form="含片"),         # row 4: not in the 剂型 dictionary
        product_row(nhsa_code="XA01ABD075A002010200595", spec="十片"),                # row 5: 规格 without strength
        product_row(nhsa_code="XA01ABD075A002010200596", manufacturer_uscc=USCC_BAD),  # row 6: USCC check character
        product_row(nhsa_code="XA01ABD075A002010200597", approval_no="国药准字X2000001"),  # row 7: C4
        product_row(nhsa_code="XA01ABD075A002010200598", benweima="8690048300001"),  # row 8: 13 digits
        product_row(nhsa_code="XA01ABD075A002010200599", pack_qty=0),                # row 9: engine bound
        product_row(nhsa_code="XA01ABD075A002010100483"),                            # row 10: repeats row 2
        product_row(nhsa_code="XA01ABD075A002010200600", spec="0.25mg×24片", pack_qty=12),  # row 11: pack mismatch
    ]
    result = services.import_catalog(xlsx_file(rows), "catalog.xlsx")
    assert not result.ok and not result.stored
    assert where(result.errors) == [
        ("产品目录", 3, "A", "医保药品代码", "NHSA_DRUG_CODE_LENGTH"),
        ("产品目录", 4, "D", "剂型", "UNKNOWN_DOSAGE_FORM"),
        ("产品目录", 5, "E", "规格", "SPEC_UNPARSEABLE"),
        ("产品目录", 6, "J", "统一社会信用代码", "USCC_CHECKSUM"),
        ("产品目录", 7, "K", "批准文号", "APPROVAL_NO_FORMAT"),
        ("产品目录", 8, "B", "药品本位码", "BENWEIMA_LENGTH"),
        ("产品目录", 9, "G", "包装数量", "must_be_positive"),
        ("产品目录", 10, "A", "医保药品代码", "duplicate"),
        ("产品目录", 11, "G", "包装数量", "PACK_QTY_MISMATCH"),
    ]
    assert [e.value for e in result.errors[:2]] == ["XA01ABD075A00201010048", "含片"]
    assert all(e.hint for e in result.errors)  # each says what to do
    assert (_count(Product), _count(Organisation), _imports()) == before


def test_one_bad_row_among_many_stores_nothing(db):
    rows = [product_row(nhsa_code=f"XC10AAA123A001010{n:06d}", generic_name="阿托伐他汀钙片", spec="20mg", pack_qty=7)
            for n in range(200)]
    rows[150] = dict(rows[150], manufacturer_uscc=USCC_BAD)
    result = services.import_catalog(xlsx_file(rows), "c.xlsx")
    assert where(result.errors) == [("产品目录", 152, "J", "统一社会信用代码", "USCC_CHECKSUM")]
    assert not result.stored
    assert (_count(Product), _imports()) == (0, 0)
    assert _count(Organisation, Organisation.uscc == USCC_A) == 0


def test_two_rows_of_one_codeless_product_and_an_ambiguous_key(db, make_org):
    twice = [product_row(nhsa_code=None, generic_name="阿托伐他汀钙片", spec="20mg", pack_qty=7)] * 2
    result = services.import_catalog(xlsx_file(twice), "c.xlsx")
    assert where(result.errors) == [("产品目录", 3, "C", "通用名", "DUPLICATE_PRODUCT")]
    assert "2" in str(result.errors[0].message)


def test_a_credit_code_of_a_hospital_is_no_manufacturer(db, make_org):
    make_org("medical_institution", name="某某人民医院", uscc=USCC_A)
    result = services.import_catalog(xlsx_file([product_row()]), "c.xlsx")
    assert where(result.errors) == [("产品目录", 2, "J", "统一社会信用代码", "NOT_A_SUPPLIER")]


def test_warnings_do_not_refuse_the_file(db):
    # enterprise segment 00483 vs 本位码 digits 4–8 00484: a warning (DOMAIN.md C1), stored all the same
    result = services.import_catalog(xlsx_file([product_row(benweima="86900484000019")]), "c.xlsx")
    assert result.ok and result.stored
    assert [(w.row, w.column, w.code) for w in result.warnings] == [(2, "A", "NHSA_CODE_ENTERPRISE_MISMATCH")]


def test_a_dry_run_checks_everything_and_stores_nothing(db):
    result = services.import_catalog(xlsx_file([product_row()]), "c.xlsx", dry_run=True)
    assert result.ok and not result.stored and result.dry_run
    assert (result.created, result.manufacturers_created) == (1, 1)
    assert (_count(Product), _count(Organisation, Organisation.uscc == USCC_A), _imports()) == (0, 0, 0)
    bad = services.import_catalog(xlsx_file([product_row(dosage_form="含片")]), "c.xlsx", dry_run=True)
    assert where(bad.errors) == [("产品目录", 2, "D", "剂型", "UNKNOWN_DOSAGE_FORM")]


@pytest.mark.parametrize("data, filename, code", [
    (b"", "empty.xlsx", "file_empty"),
    (b"PK\x03\x04 not really a zip", "broken.xlsx", "corrupt_file"),
    (b"%PDF-1.7 hello", "catalog.pdf", "unsupported_format"),
    ("通用名,规格\n阿托伐他汀钙片,20mg\n".encode(), "missing.csv", "missing_columns"),
])
def test_a_hostile_or_unreadable_file_is_rejected_whole(db, data, filename, code):
    with pytest.raises(SpreadsheetError) as caught:
        services.import_catalog(data, filename)
    assert caught.value.code == code and 400 <= caught.value.http_status < 500
    assert _count(Product) == 0


def test_a_file_from_another_template_is_refused(db):
    from app.core.db import utcnow
    from app.spreadsheets import build_template
    from app.spreadsheets.specs import LISTED_PRICES

    foreign = build_template(LISTED_PRICES, kind="listed_prices", version=1, issued_at=utcnow())
    with pytest.raises(SpreadsheetError) as caught:
        services.import_catalog(foreign, "prices.xlsx")
    assert caught.value.code in ("template_stamp", "stamp_kind", "missing_columns")


# --- template and export round trip ----------------------------------------------------------------------

def test_the_template_filled_in_imports(db):
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(services.catalog_template()))
    ws = wb["产品目录"]
    headers = {ws.cell(1, j).value.lstrip("*"): j for j in range(1, ws.max_column + 1)}
    row = product_row()
    for key, zh in (("nhsa_code", "医保药品代码"), ("generic_name", "通用名"), ("dosage_form", "剂型"), ("spec", "规格"),
                    ("pack_qty", "包装数量"), ("min_unit", "最小制剂单位"), ("manufacturer", "生产企业"),
                    ("manufacturer_uscc", "统一社会信用代码"), ("approval_no", "批准文号或注册证号")):
        ws.cell(3, headers[zh], row[key])
    buf = io.BytesIO()
    wb.save(buf)
    result = services.import_catalog(buf.getvalue(), "template.xlsx")
    assert result.ok and result.created == 1, [str(e) for e in result.errors]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_export_imports_again_unchanged(db, fmt):
    services.import_catalog(xlsx_file([
        product_row(),
        product_row(nhsa_code="XN05AHA123B002010100012", benweima=None, generic_name="盐酸氨溴索注射液",
                    dosage_form="注射液", spec="15mg", fill_volume_ml=2, pack_qty=10, min_unit="支",
                    manufacturer_uscc=USCC_B, manufacturer="上海某药业有限公司")]), "c.xlsx")
    exported = services.export_catalog(fmt)
    result = services.import_catalog(exported, f"export.{fmt}")
    assert result.ok, [str(e) for e in result.errors]
    assert (result.created, result.updated, result.manufacturers_created) == (0, 2, 0)
    injection = _product("XN05AHA123B002010100012")
    assert (injection.fill_volume_ml, injection.strength_value) == (Decimal("2"), Decimal("15"))
    assert any(n.code == "unknown_columns" for n in result.notices)  # the status column is reported, ignored


# --- the page ------------------------------------------------------------------------------------------

def _post_file(client, data: bytes, filename: str, *, dry_run: bool = False):
    token = page_csrf_token(client, "/catalog/import")
    form = {"csrf_token": token, "file": (io.BytesIO(data), filename)}
    if dry_run:
        form["dry_run"] = "y"
    return client.post("/catalog/import", data=form, content_type="multipart/form-data")


def test_uploading_a_bad_file_shows_the_errors_and_offers_the_report(db, browser, make_user, zh_catalog,
                                                                    fast_passwords):
    import openpyxl

    officer = make_user("procurement_officer")
    client = browser(officer)
    rows = [product_row(), product_row(nhsa_code="XA01ABD075A002010200594", dosage_form="含片")]
    response = _post_file(client, xlsx_file(rows), "我的目录.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "剂型不在剂型字典中：含片" in html and "D3" in html and "UNKNOWN_DOSAGE_FORM" in html
    assert "/catalog/import/report" in html
    assert _count(Product) == 0 and _imports() == 0

    report = client.get("/catalog/import/report")
    assert report.status_code == 200 and "attachment" in report.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(report.data))
    cell = wb["产品目录"]["D3"]
    assert cell.value == "含片" and cell.fill.fgColor.rgb == "FFFF8080" and "剂型" in cell.comment.text
    assert wb["产品目录"]["A2"].value == "XA01ABD075A002010100483"  # the user's own data, kept
    assert any(ws.title.startswith("错误") or "rror" in ws.title for ws in wb.worksheets)

    # another officer has no report in its session
    other = browser(make_user("procurement_officer"))
    assert other.get("/catalog/import/report").status_code == 404


def test_uploading_a_good_file_stores_it_and_a_dry_run_does_not(db, browser, make_user, zh_catalog, fast_passwords):
    client = browser(make_user("procurement_officer"))
    checked = _post_file(client, xlsx_file([product_row()]), "c.xlsx", dry_run=True)
    assert checked.status_code == 200 and "未保存" in checked.get_data(as_text=True)
    assert _count(Product) == 0
    stored = _post_file(client, xlsx_file([product_row()]), "c.xlsx")
    assert stored.status_code == 200
    assert _count(Product) == 1 and _imports() == 1


def test_a_hostile_upload_is_a_4xx_with_the_engines_message(db, browser, make_user, zh_catalog, fast_passwords):
    client = browser(make_user("procurement_officer"))
    response = _post_file(client, b"PK\x03\x04 garbage", "evil.xlsx")
    assert response.status_code == 422
    assert "文件" in response.get_data(as_text=True)
    response = _post_file(client, b"MZ\x90\x00 a program", "evil.exe")
    assert response.status_code == 415


def test_downloads_template_and_exports(db, browser, make_user):
    services.import_catalog(xlsx_file([product_row()]), "c.xlsx")
    client = browser(make_user("procurement_officer"))
    template = client.get("/catalog/template")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    exported = client.get("/catalog/export?format=csv")
    assert exported.status_code == 200 and "XA01ABD075A002010100483" in exported.data.decode("utf-8-sig")
    reader = browser(make_user("price_officer"))
    assert reader.get("/catalog/export?format=xlsx").data[:2] == b"PK"
    assert reader.get("/catalog/export?format=pdf").status_code == 404


# --- the command line -------------------------------------------------------------------------------------

def test_the_command_line_imports_and_exports_with_exit_statuses(tmp_path):
    from app.core.migrate import upgrade
    from tests.web.dedicated_db import run_flask

    url = "sqlite:///" + str(tmp_path / "cli.sqlite3")
    upgrade(url)
    instance = str(tmp_path / "instance")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx_file([product_row(), product_row(nhsa_code="XA01ABD075A00201010048")]))
    report = tmp_path / "report.xlsx"
    refused = run_flask(url, instance, "catalog", "import", str(bad), "--report", str(report))
    assert refused.returncode == 1
    assert re.search(r"产品目录!A3 .*\[NHSA_DRUG_CODE_LENGTH\]", refused.stderr), refused.stderr
    assert report.read_bytes()[:2] == b"PK"

    good = tmp_path / "good.csv"
    good.write_bytes(csv_file([product_row()]))
    dry = run_flask(url, instance, "catalog", "import", str(good), "--dry-run")
    assert dry.returncode == 0 and "1 products created" in dry.stdout
    stored = run_flask(url, instance, "catalog", "import", str(good))
    assert stored.returncode == 0, stored.stderr
    assert "1 rows stored: 1 products created" in stored.stdout

    unreadable = tmp_path / "broken.xlsx"
    unreadable.write_bytes(b"PK\x03\x04 nope")
    assert run_flask(url, instance, "catalog", "import", str(unreadable)).returncode == 1

    out = tmp_path / "export.xlsx"
    exported = run_flask(url, instance, "catalog", "export", str(out))
    assert exported.returncode == 0 and out.read_bytes()[:2] == b"PK"
    again = run_flask(url, instance, "catalog", "import", str(out))
    assert again.returncode == 0 and "0 products created, 1 updated" in again.stdout


# --- stored while read (services._ProductWriter) -----------------------------------------------------------------

def _many_rows(n: int) -> list[dict]:
    return [product_row(nhsa_code=f"XC10AAA123A001010{k:06d}", generic_name="阿托伐他汀钙片", spec="20mg", pack_qty=7,
                        manufacturer_uscc=USCC_A if k % 2 else USCC_B, manufacturer=f"厂{k % 2}")
            for k in range(n)]


def _small_batches(monkeypatch, size: int = 16) -> list[int]:
    """Batches of ``size`` rows, engine chunks of ``size`` rows; returns the sizes of the batches written."""
    from app.spreadsheets import reader

    monkeypatch.setattr(services, "_STORE_BATCH", size)
    monkeypatch.setattr(reader, "CHUNK_ROWS", size)
    written: list[int] = []
    insert = services._ProductWriter.insert

    def spy(self, batch):
        written.append(len(batch))
        return insert(self, batch)

    monkeypatch.setattr(services._ProductWriter, "insert", spy)
    return written


def test_a_file_stored_in_batches_keeps_file_order_and_exact_values(db, monkeypatch):
    written = _small_batches(monkeypatch)
    rows = _many_rows(100)
    result = services.import_catalog(xlsx_file(rows), "c.xlsx")
    assert result.ok and result.stored and result.created == 100 and result.manufacturers_created == 2
    assert sum(written) == 100 and len(written) > 2
    from app.extensions import db as handle

    stored = handle.session.execute(select(Product.nhsa_code, Product.pack_qty, Product.strength_value,
                                           Product.form_group, Product.status).order_by(Product.id)).all()
    assert [s[0] for s in stored] == [r["nhsa_code"] for r in rows]
    assert set(s[1:] for s in stored) == {(7, Decimal("20"), "口服常释剂型", "active")}
    assert _count(Organisation, Organisation.uscc.in_([USCC_A, USCC_B])) == 2
    assert _imports() == 1


def test_an_error_in_the_last_chunk_stores_nothing_though_earlier_chunks_were_written(db, monkeypatch):
    written = _small_batches(monkeypatch)
    rows = _many_rows(100)
    rows[-1] = dict(rows[-1], dosage_form="含片")
    before = (_count(Product), _count(Organisation), _count(AuditEvent))
    result = services.import_catalog(xlsx_file(rows), "c.xlsx")
    assert where(result.errors) == [("产品目录", 101, "D", "剂型", "UNKNOWN_DOSAGE_FORM")]
    assert sum(written) >= 64  # the first chunks had gone into the transaction ...
    assert not result.stored
    assert (_count(Product), _count(Organisation), _count(AuditEvent)) == before  # ... and were rolled back
    # the session is still usable, and a good file afterwards is stored whole
    again = services.import_catalog(xlsx_file(_many_rows(40)), "c.xlsx")
    assert again.stored and _count(Product) == 40


def test_an_engine_error_in_a_late_row_rolls_back_what_was_written(db, monkeypatch):
    written = _small_batches(monkeypatch)
    rows = _many_rows(80)
    rows[75] = dict(rows[75], pack_qty="many")
    result = services.import_catalog(xlsx_file(rows), "c.xlsx")
    assert [e.code for e in result.errors] == ["not_an_integer"]
    assert sum(written) >= 64 and not result.stored
    assert (_count(Product), _imports()) == (0, 0)


def test_a_failing_write_rolls_back_and_raises(db, monkeypatch):
    _small_batches(monkeypatch)
    from app.extensions import db as handle

    # A trigger refuses the 51st product, after earlier batches were already written.
    if handle.engine.dialect.name == "sqlite":
        handle.session.execute(text("CREATE TEMP TRIGGER refuse_late BEFORE INSERT ON products "
                                    "WHEN NEW.nhsa_code = 'XC10AAA123A001010000050' "
                                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"))
    else:  # created inside the test's outer transaction, so its rollback removes both
        handle.session.execute(text(
            "CREATE FUNCTION refuse_late() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.nhsa_code = 'XC10AAA123A001010000050' THEN RAISE EXCEPTION 'refused'; END IF; "
            "RETURN NEW; END $$"))
        handle.session.execute(text("CREATE TRIGGER refuse_late BEFORE INSERT ON products "
                                    "FOR EACH ROW EXECUTE FUNCTION refuse_late()"))
    with pytest.raises(Exception, match="refused"):
        services.import_catalog(xlsx_file(_many_rows(100)), "c.xlsx")
    assert (_count(Product), _imports()) == (0, 0)


def test_a_dry_run_never_writes(db, monkeypatch):
    written = _small_batches(monkeypatch)
    result = services.import_catalog(xlsx_file(_many_rows(100)), "c.xlsx", dry_run=True)
    assert result.ok and result.created == 100 and not result.stored
    assert written == [] and _count(Product) == 0


def test_a_nul_character_goes_through_the_driver(db, monkeypatch):
    # Files cannot carry NUL (csv refuses it, xlsx is XML), but the writer must not lose it: SQLite's JSON
    # functions would cut the text there, so such a batch is inserted by executemany. PostgreSQL cannot
    # store NUL in text at all: there the import fails as a whole and stores nothing.
    from app.extensions import db as handle
    from sqlalchemy.exc import DataError

    monkeypatch.setattr(services, "_STORE_BATCH", 8)
    job = services._CatalogImport(stream=True)
    keys = [c.key for c in CATALOG.columns]

    def feed_and_store():
        for k, row in enumerate(_many_rows(20)):
            values = {key: row.get(key) for key in keys}
            values.update(pack_qty=7, fill_volume_ml=None, mah="某\x00公司" if k == 3 else None,
                          consistency_evaluated=True, originator=None, reference_listed=None)
            assert job.validate(values, k + 2) == []
        job.store()

    if handle.engine.dialect.name == "postgresql":
        with pytest.raises(DataError):
            feed_and_store()
        handle.session.rollback()
        assert _count(Product) == 0
        return
    feed_and_store()
    assert _count(Product) == 20
    assert _product("XC10AAA123A001010000003").mah_name == "某\x00公司"
    assert _product("XC10AAA123A001010000004").mah_name is None