"""Error-report workbooks and exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from app.spreadsheets import error_report_workbook, export_csv, export_table, neutralise, read_table
from app.spreadsheets.report import ERRORS_SHEET, REPORT_FILL_RGB
from app.spreadsheets.specs import CATALOG, DEMAND, LISTED_PRICES, PURCHASES

from .conftest import load_xlsx


def marks(wb):
    out = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.fill is not None and c.fill.fill_type == "solid" and c.fill.fgColor.rgb == REPORT_FILL_RGB:
                    out[(ws.title, c.coordinate)] = c.comment.text if c.comment else None
    return out


def test_report_on_the_users_xlsx(data_file):
    data = data_file("demand_errors.xlsx")
    t = read_table(data, "demand_errors.xlsx", DEMAND)
    wb = load_xlsx(error_report_workbook(data, "demand_errors.xlsx", t.errors, notices=t.notices))
    assert wb.sheetnames == ["需求", ERRORS_SHEET]
    assert wb.active.title == ERRORS_SHEET
    m = marks(wb)
    assert set(m) == {("需求", c) for c in ("B3", "H4", "D5", "I5", "A6", "G7", "J7", "F8")}
    assert m[("需求", "H4")] == "The value must be at least 0.\n→ Correct the value."
    assert wb["需求"]["B3"].value == "一"                      # the user's own data kept
    es = wb[ERRORS_SHEET]
    rows = list(es.iter_rows(values_only=True))
    assert rows[0][:4] == ("工作表 Sheet", "单元格 Cell", "行 Row", "列 Column")
    assert rows[1][:7] == ("需求", "B3", 3, "B", "品种序号", "一", "not_an_integer")
    assert es["B2"].hyperlink.location == "'需求'!B3" or es["B2"].hyperlink.target == "#'需求'!B3"
    assert len(rows) == 1 + len(t.errors)
    # the corrected report can be uploaded again: the errors sheet is never taken for data
    again = read_table(error_report_workbook(data, "x.xlsx", t.errors), "r.xlsx", DEMAND)
    assert [(e.row, e.column, e.code) for e in again.errors] == [(e.row, e.column, e.code) for e in t.errors]


def test_report_formula_and_merged_cells(data_file):
    data = data_file("purchases_formulas.xlsx")
    t = read_table(data, "p.xlsx", PURCHASES)
    assert set(marks(load_xlsx(error_report_workbook(data, "p.xlsx", t.errors)))) == {("采购", "E3"), ("采购", "G5")}
    data = data_file("demand_merged.xlsx")
    t = read_table(data, "m.xlsx", DEMAND)
    assert set(marks(load_xlsx(error_report_workbook(data, "m.xlsx", t.errors)))) == {("需求", "C4")}


@pytest.mark.parametrize("name,spec,sheet", [("listed_prices_gb18030.csv", LISTED_PRICES, None),
                                             ("catalog_merged_formula.ods", CATALOG, None),
                                             ("catalog.xls", CATALOG, "合并")])
def test_report_converts_csv_ods_xls(data_file, name, spec, sheet):
    data = data_file(name)
    if name.endswith(".csv"):
        data = data.replace("1,234.567891".encode("gb18030"), "1.2.3".encode("gb18030"))
    t = read_table(data, name, spec, sheet=sheet)
    assert t.errors
    report = error_report_workbook(data, name, t.errors)
    wb = load_xlsx(report)
    assert wb.sheetnames[-1] == ERRORS_SHEET
    assert set(marks(wb)) == {(e.sheet, e.cell) for e in t.errors}
    first = t.errors[0]
    ws = wb[first.sheet]
    assert ws[first.cell].value == t.errors[0].value or first.code in ("merged_cells", "formula_no_value")
    if name.endswith(".csv"):
        assert ws["A1"].value == "医保代码" and ws["G2"].value == "1.2.3" and ws["G2"].data_type == "s"


def test_neutralise():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("+86 10 1234") == "'+86 10 1234"
    assert neutralise("-5") == "'-5"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("  =HYPERLINK(\"x\")") == "'  =HYPERLINK(\"x\")"
    assert neutralise("\t=1") == "'\t=1" and neutralise("\r=1") == "'\r=1"
    assert neutralise("＝1+1") == "'＝1+1"
    assert neutralise("阿托伐他汀") == "阿托伐他汀" and neutralise("a=b") == "a=b" and neutralise("") == ""


def test_export_table_xlsx():
    shanghai = dt.timezone(dt.timedelta(hours=8))
    rows = [
        ["=HYPERLINK(\"http://evil\",\"x\")", Decimal("0.150714"), dt.date(2025, 1, 2),
         dt.datetime(2025, 1, 2, 0, 30, tzinfo=dt.timezone.utc), True, None, 7],
        ["@cmd", Decimal("1234.5"), dt.date(2025, 1, 3), dt.datetime(2025, 1, 3, 9, 0), False,
         Decimal("123456789012.1234567"), -3],
    ]
    data = export_table([("名称", "name"), ("价格", "price"), ("日期", "date"), ("时间", "time"), ("原研", "orig"),
                         ("大数", "big"), ("数量", "qty")], rows, sheet_title="导出/export")
    wb = load_xlsx(data)
    ws = wb.active
    assert ws.title == "导出_export" and ws.freeze_panes == "A3"
    assert ws["A1"].value == "名称" and ws["A2"].value == "name" and ws["A1"].font.b
    assert ws["A3"].value == "'=HYPERLINK(\"http://evil\",\"x\")" and ws["A3"].data_type == "s"
    assert ws["A4"].value == "'@cmd"
    assert ws["B3"].value == 0.150714 and ws["B3"].number_format == "#,##0.000000"
    assert ws["B4"].value == 1234.5 and ws["B4"].number_format == "#,##0.0"
    assert ws["C3"].value == dt.datetime(2025, 1, 2) and ws["C3"].number_format == "yyyy-mm-dd"
    assert ws["D3"].value == dt.datetime(2025, 1, 2, 8, 30)      # shown in Asia/Shanghai
    assert ws["E3"].value == "是" and ws["E4"].value == "否" and ws["F3"].value is None
    assert ws["F4"].value == "123456789012.1234567" and ws["F4"].data_type == "s"   # > 15 digits: text
    assert ws["G4"].value == -3
    del shanghai
    formulas = [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []


def test_export_csv():
    data = export_csv(["名称", "价格", "日期"], [["=1+1", Decimal("0.150714"), dt.date(2025, 1, 2)],
                                             ["-2", Decimal("12.50"), None]])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["名称", "价格", "日期"], ["'=1+1", "0.150714", "2025-01-02"], ["'-2", "12.50", ""]]


def test_large_xlsx_report_is_a_converted_copy(data_file, monkeypatch):
    import app.spreadsheets.report as report

    monkeypatch.setattr(report, "INPLACE_MAX_UNCOMPRESSED", 0)
    data = data_file("demand_errors.xlsx")
    t = read_table(data, "demand_errors.xlsx", DEMAND)
    wb = load_xlsx(error_report_workbook(data, "demand_errors.xlsx", t.errors))
    assert wb.sheetnames == ["需求", ERRORS_SHEET]
    assert set(marks(wb)) == {("需求", e.cell) for e in t.errors}
    assert wb["需求"]["D4"].value == "甲医院" and wb["需求"]["H4"].value == -5


def test_optional_second_sheet_may_be_absent():
    from app.spreadsheets import read_tables
    from app.spreadsheets.specs import QUOTE_REGIONS, QUOTES

    from .conftest import xlsx

    data = xlsx([["项目编号", "品种序号", "企业统一社会信用代码", "医保代码", "包装报价(元)", "包装数量", "申报产能"],
                 ["P1", 1, "91110000600000000X", "XA1", "10.5", 7, 1000]])
    out = read_tables(data, "q.xlsx", [QUOTES, QUOTE_REGIONS], optional=["quote_regions"])
    assert list(out) == ["quotes"] and out["quotes"].rows[0]["pack_price"] == Decimal("10.5")
