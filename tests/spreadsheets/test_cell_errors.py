"""Cell errors: exact locations, codes, messages (English outside a request, Chinese inside one)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.spreadsheets import CellError, Limits, read_table
from app.spreadsheets.messages import msg
from app.spreadsheets.specs import CATALOG, DEMAND, PURCHASES

from .conftest import xlsx


def where(t):
    return [(e.sheet, e.row, e.column, e.header, e.code) for e in t.errors]


def test_wrong_types_negative_required_duplicates(data_file):
    t = read_table(data_file("demand_errors.xlsx"), "demand_errors.xlsx", DEMAND)
    assert not t.ok and t.rows == []
    assert where(t) == [
        ("需求", 3, "B", "品种序号", "not_an_integer"),
        ("需求", 4, "H", "历史年用量", "too_small"),
        ("需求", 5, "D", "医疗机构名称", "required"),
        ("需求", 5, "I", "报送需求量", "not_a_number"),
        ("需求", 6, "A", "项目编号", "duplicate"),
        ("需求", 7, "G", "规格", "not_text"),
        ("需求", 7, "J", "年度", "not_an_integer"),
        ("需求", 8, "F", "医保代码", "one_of_required"),
    ]
    by = {(e.row, e.column): e for e in t.errors}
    assert by[(4, "H")].value == -5.0
    assert str(by[(4, "H")].message) == "The value must be at least 0."
    assert str(by[(6, "A")].message) == "This row repeats 项目编号、品种序号、医疗机构代码、年度、医保代码 of row 2."
    assert str(by[(7, "G")].message) == "Excel stored 2025-01-02 here as a date, not as text."
    assert by[(3, "B")].to_dict() == {
        "sheet": "需求", "row": 3, "column": "B", "header": "品种序号", "value": "一", "code": "not_an_integer",
        "message": "一 is not a whole number.", "hint": "Type a whole number such as 100.",
    }


def test_formulas_without_cached_value_and_error_cells(data_file):
    t = read_table(data_file("purchases_formulas.xlsx"), "purchases_formulas.xlsx", PURCHASES)
    assert where(t) == [("采购", 3, "E", "订购数量(包装)", "formula_no_value"),
                        ("采购", 5, "G", "单价(元/包装)", "excel_error")]
    assert str(t.errors[1].message) == "This cell holds an Excel error value (#DIV/0!)."


def test_formula_with_cached_value_is_accepted():
    import io
    import re
    import zipfile

    data = xlsx([["订单号", "医疗机构代码", "生产企业信用代码", "医保代码", "订购数量(包装)", "包装数量", "单价(元/包装)",
                  "订单日期"], ["O1", "H1", "91110000600000000X", "XA1", 2, 7, 1.5, "2025-01-01"]])
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i in zin.infolist():
            body = zin.read(i.filename)
            if i.filename == "xl/worksheets/sheet1.xml":
                body, n = re.subn(rb'<c r="E2"[^>]*><v>2</v></c>', b'<c r="E2"><f>1+1</f><v>2</v></c>', body)
                assert n == 1
            z.writestr(i, body)
    t = read_table(out.getvalue(), "f.xlsx", PURCHASES)
    assert t.ok and t.rows[0]["qty_packs"] == Decimal(2)


def test_merged_cells_in_data_area(data_file):
    t = read_table(data_file("demand_merged.xlsx"), "demand_merged.xlsx", DEMAND)
    # A1:I1 (a title over the header) is fine; C4:C5 among the data is not, reported once at its top-left cell
    assert where(t) == [("需求", 4, "C", "医疗机构代码", "merged_cells")]
    assert str(t.errors[0].message) == "Merged cells (C4:C5) are not allowed among the data rows."


def test_ods_merged_and_formula_without_value(data_file):
    t = read_table(data_file("catalog_merged_formula.ods"), "x.ods", CATALOG)
    assert where(t) == [("目录", 3, "B", "通用名", "merged_cells"), ("目录", 4, "E", "包装数量", "formula_no_value")]


def test_xls_merged(data_file):
    t = read_table(data_file("catalog.xls"), "catalog.xls", CATALOG, sheet="合并")
    assert where(t) == [("合并", 2, "B", "通用名", "merged_cells")]


def test_bounds_places_enum_bool():
    rows = [["生产企业", "通用名", "剂型", "规格", "包装数量", "最小制剂单位", "批准文号", "装量", "是否原研"],
            ["甲", "甲片", "片剂", "1mg", 0, "片", "H1", "0.0000001", "也许"],
            ["甲", "乙片", "片剂", "1mg", 7, "片", "H2", "1,23", "Y"]]
    t = read_table(xlsx(rows), "b.xlsx", CATALOG)
    assert where(t) == [("Sheet1", 2, "E", "包装数量", "must_be_positive"),
                        ("Sheet1", 2, "H", "装量", "too_many_decimals"),
                        ("Sheet1", 2, "I", "是否原研", "not_a_boolean"),
                        ("Sheet1", 3, "H", "装量", "not_a_number")]
    assert str(t.errors[0].message) == "The value must be greater than 0."
    assert str(t.errors[1].message) == "0.0000001 has more than 6 decimal places."


def test_row_validator_hook_gets_positions_filled_in(data_file):
    seen = []

    def validator(row, rownum):
        seen.append(rownum)
        if row["nhsa_code"] and row["nhsa_code"].endswith("9999"):
            return [CellError.for_key("nhsa_code", "nhsa_checksum", msg("not_a_code", value=row["nhsa_code"]))]
        return []

    t = read_table(data_file("catalog_nasty.xlsx"), "catalog_nasty.xlsx", CATALOG, row_validator=validator)
    assert seen == [3, 4, 6]
    assert where(t) == [("目录", 4, "H", "医保药品代码", "nhsa_checksum")]
    assert t.errors[0].value == "xa10aaa123a001010109999"  # the cell as the user typed it


def test_error_list_is_capped():
    rows = [["通用名", "剂型", "规格", "包装数量", "最小制剂单位", "生产企业", "批准文号"]]
    rows += [["甲片", "片剂", "1mg", "x", "片", "甲厂", f"H{i}"] for i in range(50)]
    t = read_table(xlsx(rows), "c.xlsx", CATALOG, limits=Limits(max_errors=10))
    assert len(t.errors) == 10 and t.errors_truncated
    assert [e.row for e in t.errors] == list(range(2, 12))
    assert t.notices[-1].code == "errors_truncated" and t.notices[-1].details == {"total": 50}


@pytest.fixture
def zh_app(tmp_path):
    """A minimal Flask app whose catalog is this package's PO fragment, compiled."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from flask import Flask
    from flask_babel import Babel

    from app.spreadsheets import messages

    po = __import__("pathlib").Path(messages.__file__).with_name("messages_zh_CN.po")
    with po.open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    from babel import Locale

    # Babel ≥ 2.15 parses "zh_CN" as zh_Hans_CN: the catalog folder must carry that name
    target = tmp_path / str(Locale.parse("zh_CN")) / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as f:
        write_mo(f, catalog)
    app = Flask("zh_test")
    Babel(app, locale_selector=lambda: "zh_CN", default_translation_directories=str(tmp_path))
    return app


def test_messages_render_in_request_language(zh_app, data_file):
    t = read_table(data_file("demand_errors.xlsx"), "demand_errors.xlsx", DEMAND)
    e = next(e for e in t.errors if e.code == "too_small")
    assert str(e.message) == "The value must be at least 0."
    with zh_app.test_request_context("/"):
        assert str(e.message) == "数值不能小于 0。"
        assert e.to_dict()["hint"] == "请更正该数值。"
        date_in_text = next(x for x in t.errors if x.code == "not_text")
        assert str(date_in_text.message) == "Excel 将此处的 2025-01-02 存成了日期，而不是文本。"
    assert str(e.message) == "The value must be at least 0."


def test_formula_positions_without_cell_references():
    """OOXML allows cells without r="..." (positions are implicit): the full scan places them."""
    from app.spreadsheets import Column, ColumnType as T, SheetSpec

    from .test_hostile import raw_xlsx

    spec = SheetSpec("s", "数", "n", (Column("a", "甲", "a", T.TEXT), Column("b", "乙", "b", T.DECIMAL),
                                     Column("c", "丙", "c", T.DECIMAL)))

    def rows(write):
        write(b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="inlineStr"><is><t>b</t></is></c>'
              b'<c r="C1" t="inlineStr"><is><t>c</t></is></c></row>')
        write(b'<row><c t="inlineStr"><is><t>x</t></is></c><c><v>1</v></c><c><f>B2*2</f><v>2</v></c></row>')
        write(b'<row><c t="inlineStr"><is><t>y</t></is></c><c><f>1/0</f><v/></c><c t="e"><f>1/0</f>'
              b'<v>#DIV/0!</v></c></row>')

    t = read_table(raw_xlsx(rows), "r.xlsx", spec)
    assert where(t) == [("S", 3, "B", "b", "formula_no_value"), ("S", 3, "C", "c", "excel_error")]


def test_many_formulas_with_cached_values_are_accepted():
    import openpyxl

    from .conftest import save_xlsx

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["甲", "乙"])
    for i in range(2, 2002):
        ws.append([f"x{i}", i])
    data = save_xlsx(wb)
    import io
    import re
    import zipfile

    from app.spreadsheets import Column, ColumnType as T, SheetSpec

    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i in zin.infolist():
            body = zin.read(i.filename)
            if i.filename == "xl/worksheets/sheet1.xml":
                body = re.sub(rb'(<c r="B(\d+)" t="n">)(<v>)', rb"\1<f>ROW()</f>\3", body)
                body = body.replace(b'<c r="B1500" t="n"><f>ROW()</f><v>1500</v></c>',
                                    b'<c r="B1500" t="n"><f>ROW()</f><v></v></c>')
            z.writestr(i, body)
    spec = SheetSpec("s", "数", "n", (Column("a", "甲", "a", T.TEXT), Column("b", "乙", "b", T.INT)))
    t = read_table(out.getvalue(), "f.xlsx", spec)
    assert where(t) == [("Sheet", 1500, "B", "乙", "formula_no_value")]
