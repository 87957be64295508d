"""Templates: build → fill in with openpyxl → read back; the version stamp is checked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.spreadsheets import TemplateStampError, build_template, read_table, read_tables
from app.spreadsheets.specs import DEMAND, LISTED_PRICES, QUOTE_REGIONS, QUOTES
from app.spreadsheets.stamp import STAMP_SHEET

from .conftest import load_xlsx, save_xlsx, xlsx

ISSUED = dt.datetime(2025, 3, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def demand_template(**kw) -> bytes:
    rows = [
        {"project_code": "P2025-01", "lot_no": 1, "institution_code": "H001", "institution_name": "甲医院",
         "province_code": "110000", "spec": "20mg"},
        {"project_code": "P2025-01", "lot_no": 2, "institution_code": "H001", "institution_name": "甲医院",
         "province_code": "110000", "spec": "5mg"},
    ]
    return build_template(DEMAND, kind="demand", version=3, project_code="P2025-01", issued_at=ISSUED,
                          prefilled_rows=rows,
                          readonly_columns=("project_code", "lot_no", "institution_code", "institution_name",
                                            "province_code", "spec"), **kw)


def test_template_structure():
    wb = load_xlsx(demand_template())
    assert wb.sheetnames == ["需求报量", "说明 Instructions", STAMP_SHEET]
    ws = wb["需求报量"]
    assert wb.active.title == "需求报量"
    assert ws.freeze_panes == "A3"
    assert [c.value for c in ws[1]][:3] == ["*项目编号", "*品种序号", "*医疗机构代码"]
    assert [c.value for c in ws[2]][:3] == ["project_code", "lot_no", "institution_code"]
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb == "FF1F4E78"
    # stamp: very hidden, kind / version / project / UTC issue time
    st = wb[STAMP_SHEET]
    assert st.sheet_state == "veryHidden"
    assert {r[0].value: r[1].value for r in st.iter_rows()} == {
        "magic": "jicai-template", "kind": "demand", "version": "3", "project_code": "P2025-01",
        "issued_at": "2025-03-01T00:30:00Z"}
    # validation per type
    dvs = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    assert dvs["B3"].type == "whole" and dvs["B3"].operator == "greaterThan" and dvs["B3"].formula1 == "0"
    assert dvs["I3"].type == "decimal" and dvs["I3"].operator == "greaterThanOrEqual"
    assert dvs["K3"].type == "whole" and dvs["K3"].operator == "between"
    assert all(dv.showErrorMessage for dv in dvs.values())
    # protection: read-only columns locked, the rest of the data area editable
    assert ws.protection.sheet is True
    assert ws["A3"].protection.locked and ws["G3"].protection.locked and not ws["F3"].protection.locked
    assert not ws["I3"].protection.locked and not ws["J3"].protection.locked
    assert not ws.column_dimensions["I"].protection.locked
    assert ws["A3"].value == "P2025-01" and ws["B4"].value == 2
    assert ws.column_dimensions["C"].number_format == "@"    # codes as Text
    inst = wb["说明 Instructions"]
    texts = [c.value for row in inst.iter_rows() for c in row if c.value]
    assert "需求报量 / Demand report" in texts and "历史年用量" in texts


def test_enum_and_bool_lists():
    wb = load_xlsx(build_template(LISTED_PRICES, kind="listed_prices", version=1, issued_at=ISSUED))
    ws = wb.worksheets[0]
    dvs = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    assert dvs["J3"].type == "list" and dvs["J3"].formula1 == '"挂网价,集采协议价,接续价,谈判价,临时价"'
    assert dvs["K3"].formula1 == '"是,否"'
    assert dvs["G3"].operator == "greaterThan" and dvs["G3"].type == "decimal"
    assert ws.protection.sheet is False  # nothing read-only: no protection


def fill_demand(data: bytes) -> bytes:
    wb = load_xlsx(data)
    ws = wb.worksheets[0]
    ws["I3"], ws["J3"], ws["K3"] = 1000, "1,200", 2025
    ws["I4"], ws["J4"], ws["K4"] = 500.5, 600, 2025
    return save_xlsx(wb)


def test_round_trip_with_stamp():
    t = read_table(fill_demand(demand_template()), "d.xlsx", DEMAND, expect_stamp=("demand", 3, "P2025-01"))
    assert t.ok and t.row_numbers == [3, 4] and t.first_data_row == 3
    assert t.stamp.kind == "demand" and t.stamp.version == 3 and t.stamp.issued_at == "2025-03-01T00:30:00Z"
    assert [r["reported_demand"] for r in t.rows] == [Decimal(1200), Decimal(600)]
    assert [r["historical_usage"] for r in t.rows] == [Decimal(1000), Decimal("500.5")]
    assert t.rows[0]["institution_name"] == "甲医院" and t.rows[1]["spec"] == "5mg"


@pytest.mark.parametrize("expect,code", [(("demand", 4, "P2025-01"), "stamp_stale"),
                                         (("quotes", 1, "P2025-01"), "stamp_kind"),
                                         (("demand", 1, "P-OTHER"), "stamp_project")])
def test_stale_or_foreign_template_is_rejected(expect, code):
    with pytest.raises(TemplateStampError) as exc:
        read_table(fill_demand(demand_template()), "d.xlsx", DEMAND, expect_stamp=expect)
    assert exc.value.code == code and "template" in str(exc.value).lower()


def test_committed_stale_template(data_file):
    data = data_file("listed_prices_stale_template.xlsx")
    with pytest.raises(TemplateStampError) as exc:
        read_table(data, "old.xlsx", LISTED_PRICES, expect_stamp=("listed_prices", 2, "P-OLD"))
    assert str(exc.value) == ("This template is out of date (version 1; version 2 or later is needed). "
                              "Download a new template and copy your data into it.")
    t = read_table(data, "old.xlsx", LISTED_PRICES, expect_stamp=("listed_prices", 1, "P-OLD"))
    assert t.ok and t.rows[0]["listed_price_pack"] == Decimal("12.5")


def test_plain_file_without_stamp():
    plain = xlsx([["项目编号", "品种序号", "医疗机构代码", "医疗机构名称", "省份代码", "规格", "历史年用量", "报送需求量",
                   "年度"], ["P1", 1, "H1", "甲院", "110000", "1mg", 1, 2, 2025]])
    assert read_table(plain, "p.xlsx", DEMAND, expect_stamp=("demand", 3, "P1")).ok
    with pytest.raises(TemplateStampError) as exc:
        read_table(plain, "p.xlsx", DEMAND, expect_stamp=("demand", 3, "P1"), require_stamp=True)
    assert exc.value.code == "stamp_required"


def quote_workbook() -> object:
    data = build_template(QUOTES, kind="quotes", version=2, project_code="P9", issued_at=ISSUED,
                          extra_sheets=[QUOTE_REGIONS])
    wb = load_xlsx(data)
    assert wb.sheetnames[:2] == ["企业报价", "地区偏好"]
    ws = wb["企业报价"]
    head = [c.value.lstrip("*") for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(head)}

    def put(r, values):
        for k, v in values.items():
            ws.cell(r, col[k], v)

    base = {"项目编号": "P9", "企业统一社会信用代码": "91110000600000000X", "包装数量": 7, "申报产能(最小单位/年)": 100000}
    put(3, {**base, "品种序号": 1, "医保代码": "XA1", "包装报价(元)": 10, "阶梯1起量": 1000, "阶梯1包装价": 9.5,
            "阶梯2起量": 5000, "阶梯2包装价": 9, "组合包编号": "B1", "组合包折扣": "3%"})
    put(4, {**base, "品种序号": 2, "医保代码": "XA2", "包装报价(元)": 20, "组合包编号": "B1", "组合包折扣": 0.03})
    rg = wb["地区偏好"]
    rg["A3"], rg["B3"], rg["C3"], rg["D3"] = 1, "110000", "上海", "120000"
    rg["A4"], rg["B4"] = 2, "440000"
    return wb


def test_quote_template_with_region_sheet_round_trip():
    out = read_tables(save_xlsx(quote_workbook()), "q.xlsx", [QUOTES, QUOTE_REGIONS],
                      expect_stamp=("quotes", 2, "P9"))
    q, r = out["quotes"], out["quote_regions"]
    assert q.ok and r.ok, [str(e) for e in q.errors + r.errors]
    assert q.rows[0]["tier2_pack_price"] == Decimal(9) and q.rows[0]["bundle_discount"] == Decimal("0.03")
    assert q.rows[1]["capacity_use_per_unit"] == Decimal(1) and q.rows[1]["round_no"] == 1
    assert q.rows[0]["supplier_uscc"] == "91110000600000000X"
    assert r.rows == [{"lot_no": 1, "regions": ["110000", "上海", "120000"]}, {"lot_no": 2, "regions": ["440000"]}]


def test_quote_tiers_bundles_and_regions_errors():
    wb = quote_workbook()
    ws = wb["企业报价"]
    head = [c.value.lstrip("*") for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(head)}
    ws.cell(3, col["阶梯2包装价"], 9.8)      # price must go down
    ws.cell(4, col["组合包折扣"], 0.05)      # same bundle, other discount
    ws.cell(4, col["阶梯1起量"], 100)        # quantity without price
    wb["地区偏好"]["D3"] = "上海"             # twice in one row
    out = read_tables(save_xlsx(wb), "q.xlsx", [QUOTES, QUOTE_REGIONS])
    q, r = out["quotes"], out["quote_regions"]
    from openpyxl.utils import get_column_letter as L
    assert [(e.row, e.column, e.code) for e in q.errors] == [
        (3, L(col["阶梯2包装价"]), "order_decreasing"),
        (4, L(col["阶梯1包装价"]), "together_required"),
        (4, L(col["组合包折扣"]), "inconsistent_within"),
    ]
    assert str(q.errors[2].message) == "组合包折扣 differs from row 3 (0.03) for the same 组合包编号 B1."
    assert [(e.sheet, e.row, e.column, e.code) for e in r.errors] == [("地区偏好", 3, "D", "duplicate_in_row")]
