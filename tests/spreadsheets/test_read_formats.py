"""Reading real workbooks of every accepted format, with the nasty details users produce."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.spreadsheets import (
    Column,
    ColumnType as T,
    DuplicateColumnError,
    HeaderNotFoundError,
    MissingColumnsError,
    SheetNotFoundError,
    SheetSpec,
    read_table,
)
from app.spreadsheets.specs import CATALOG, DEMAND, LISTED_PRICES

from .conftest import xlsx


def test_catalog_xlsx_full_width_thousands_text_numbers_codes_blank_rows(data_file):
    t = read_table(data_file("catalog_nasty.xlsx"), "catalog_nasty.xlsx", CATALOG)
    assert t.ok and t.format == "xlsx" and t.sheet == "目录"
    assert t.header_row == 2 and t.first_data_row == 3          # a title row above the header
    assert t.row_numbers == [3, 4, 6]                            # row 5 is blank
    first, second, third = t.rows
    assert first["manufacturer"] == "某某制药有限公司"              # spaces and a full-width space stripped
    assert first["pack_qty"] == 1000                              # "１,０００": full-width digits + thousands sep
    assert first["nhsa_code"] == "XA10AAA123A001010101234"        # full-width letters folded
    assert first["benweima"] == "86900483000019"                  # stored as a number: digits kept, as text
    assert first["fill_volume_ml"] is None and first["originator"] is True
    assert second["pack_qty"] == 7 and type(second["pack_qty"]) is int
    assert second["nhsa_code"] == "XA10AAA123A001010109999"       # upper-cased
    assert second["approval_no"] == "国药准字H20000001"
    assert second["fill_volume_ml"] == Decimal("2.5") and second["originator"] is False
    assert third["fill_volume_ml"] == Decimal("10.5") and third["nhsa_code"] is None
    assert t.columns["generic_name"] == "C" and t.columns["nhsa_code"] == "H"   # reordered columns
    codes = [n.code for n in t.notices]
    assert codes == ["unknown_columns"] and t.notices[0].details == {"columns": ["备注"]}


@pytest.mark.parametrize("name,encoding", [("listed_prices_gb18030.csv", "gb18030"),
                                           ("listed_prices_utf8_bom.csv", "utf-8-sig")])
def test_listed_prices_csv_encodings(data_file, name, encoding):
    t = read_table(data_file(name), name, LISTED_PRICES)
    assert t.ok and t.format == "csv" and t.encoding == encoding
    assert [r["listed_price_pack"] for r in t.rows] == [Decimal("1234.567891"), Decimal("0.150714"),
                                                       Decimal("12.50")]
    assert [r["effective_date"] for r in t.rows] == [dt.date(2025, 1, 1), dt.date(2025, 3, 1), dt.date(2025, 1, 1)]
    assert [r["price_type"] for r in t.rows] == ["listed", "renewal", "vbp_agreement"]
    assert [r["linkable"] for r in t.rows] == [True, False, True]   # default 是, 否 for renewal
    assert t.rows[1]["generic_name"] == "阿托伐他汀钙片" and t.rows[1]["nhsa_code"] is None
    assert t.rows[1]["province_code"] == "新疆(含兵团)"
    assert t.rows[0]["source_document"] == "京医保〔2025〕1号"       # free text is not folded
    assert "csv_read_as" in [n.code for n in t.notices]


def test_gb18030_is_not_mistaken_for_utf8():
    data = "通用名,剂型,规格,包装数量,最小制剂单位,生产企业,批准文号\n阿莫西林胶囊,胶囊剂,0.25g,24,粒,甲厂,国药准字H1\n"
    t = read_table(data.encode("gbk"), "c.csv", CATALOG)
    assert t.encoding == "gb18030" and t.rows[0]["generic_name"] == "阿莫西林胶囊"


def test_ods(data_file):
    t = read_table(data_file("catalog.ods"), "catalog.ods", CATALOG)
    assert t.ok and t.format == "ods" and t.row_numbers == [2, 3]
    assert t.rows[0]["pack_qty"] == 7 and t.rows[0]["fill_volume_ml"] == Decimal("2.5")
    assert t.rows[1]["fill_volume_ml"] is None and t.rows[1]["nhsa_code"] == "XA10AAA123A001010109999"


def test_xls(data_file):
    t = read_table(data_file("catalog.xls"), "catalog.xls", CATALOG)
    assert t.ok and t.format == "xls" and t.sheet == "目录"
    assert [r["pack_qty"] for r in t.rows] == [7, 14]
    assert [r["fill_volume_ml"] for r in t.rows] == [Decimal("2.5"), Decimal("0.1")]


def test_english_headers_any_order_and_case():
    rows = [["Pack Qty", "MANUFACTURER", "generic_name", "dosage form", "spec", "min_unit", "approval_no"],
            [10, "甲厂", "甲片", "片剂", "1mg", "片", "国药准字H1"]]
    t = read_table(xlsx(rows), "e.xlsx", CATALOG)
    assert t.ok and t.rows[0]["pack_qty"] == 10 and t.rows[0]["manufacturer"] == "甲厂"


def test_floats_become_exact_decimals_and_integers_stay_exact():
    spec = SheetSpec("s", "数", "nums", (
        Column("price", "价格", "price", T.DECIMAL, places=6),
        Column("qty", "数量", "qty", T.INT),
        Column("code", "代码", "code", T.CODE),
        Column("when", "日期", "when", T.DATE),
    ))
    rows = [["价格", "数量", "代码", "日期"],
            [0.1, 3.0, 86900483000019.0, dt.date(2024, 2, 29)],
            [568.638979, "12", "０８６９", 45352],
            [0.150714, "1,000,000", " AB 12 ", "2024年3月1日"],
            [1e-06, 2**53 - 1, 123, "20240301"]]
    t = read_table(xlsx(rows), "n.xlsx", spec)
    assert t.ok, [str(e) for e in t.errors]
    assert [r["price"] for r in t.rows] == [Decimal("0.1"), Decimal("568.638979"), Decimal("0.150714"),
                                            Decimal("0.000001")]
    assert Decimal(0.1) != Decimal("0.1")  # what Decimal(x) would have stored
    assert [r["qty"] for r in t.rows] == [3, 12, 1_000_000, 2**53 - 1]
    assert [r["code"] for r in t.rows] == ["86900483000019", "0869", "AB12", "123"]
    assert [r["when"] for r in t.rows] == [dt.date(2024, 2, 29), dt.date(2024, 3, 1), dt.date(2024, 3, 1),
                                           dt.date(2024, 3, 1)]


def test_code_stored_as_long_number_is_rejected():
    spec = SheetSpec("s", "码", "codes", (Column("uscc", "统一社会信用代码", "uscc", T.CODE, required=True),))
    t = read_table(xlsx([["统一社会信用代码"], [911100006000000000]]), "c.xlsx", spec)
    (e,) = t.errors
    assert (e.sheet, e.row, e.column, e.header, e.code) == ("Sheet1", 2, "A", "统一社会信用代码", "code_precision_lost")
    assert str(e.message) == "The code 911100006000000000 was stored as a number and has lost digits."


def test_template_english_row_beneath_is_skipped():
    rows = [["*项目编号", "品种序号", "医疗机构代码", "医疗机构名称", "省份代码", "规格", "历史年用量", "报送需求量", "年度"],
            ["project_code", "lot_no", "institution_code", "institution_name", "province_code", "spec",
             "historical_usage", "reported_demand", "year"],
            ["P1", 1, "H1", "甲院", "110000", "1mg", 10, 12, 2025]]
    t = read_table(xlsx(rows), "d.xlsx", DEMAND)
    assert t.ok and t.header_row == 1 and t.first_data_row == 3 and t.row_numbers == [3]
    assert t.rows[0]["reported_demand"] == Decimal(12)


def test_missing_required_column_rejects_the_file():
    rows = [["通用名", "剂型", "规格", "包装数量", "最小制剂单位", "生产企业"], ["甲片", "片剂", "1mg", 7, "片", "甲厂"]]
    with pytest.raises(MissingColumnsError) as exc:
        read_table(xlsx(rows), "m.xlsx", CATALOG)
    assert exc.value.details["columns"] == ["approval_no"]
    assert "批准文号或注册证号 / approval_no" in str(exc.value)


def test_missing_one_of_columns_rejects_the_file():
    rows = [["项目编号", "品种序号", "医疗机构代码", "医疗机构名称", "省份代码", "历史年用量", "报送需求量", "年度"],
            ["P1", 1, "H1", "甲院", "110000", 10, 12, 2025]]
    with pytest.raises(MissingColumnsError) as exc:
        read_table(xlsx(rows), "m.xlsx", DEMAND)
    assert str(exc.value) == "Sheet Sheet1 needs either 医保代码 | 规格."


def test_duplicate_column_and_no_header():
    rows = [["通用名", "generic_name", "剂型"], ["a", "b", "c"]]
    with pytest.raises(DuplicateColumnError) as exc:
        read_table(xlsx(rows), "d.xlsx", CATALOG)
    assert exc.value.details["columns"] == ["A", "B"]
    with pytest.raises(HeaderNotFoundError):
        read_table(xlsx([["x", "y"], [1, 2]]), "h.xlsx", CATALOG)


def test_sheet_by_name_and_missing_sheet(data_file):
    t = read_table(data_file("catalog.xls"), "catalog.xls", CATALOG, sheet="合并")
    assert t.sheet == "合并"
    with pytest.raises(SheetNotFoundError):
        read_table(data_file("catalog.xls"), "catalog.xls", CATALOG, sheet="不存在")


def test_store_callback_only_on_success(data_file):
    stored = []
    read_table(data_file("catalog.ods"), "catalog.ods", CATALOG, store=stored.append)
    assert len(stored) == 1 and len(stored[0]) == 2
    stored.clear()
    t = read_table(data_file("demand_errors.xlsx"), "demand_errors.xlsx", DEMAND, store=stored.append)
    assert not t.ok and t.rows == [] and stored == []
