"""Builds the small, hand-made nasty spreadsheets the tests read.  The outputs are committed.

    .venv/bin/python tests/data/spreadsheets/make_fixtures.py

``catalog.xls`` needs ``xlwt`` (not a project dependency): it is rebuilt only when xlwt is importable, e.g.
``python -m venv /tmp/x && /tmp/x/bin/pip install xlwt openpyxl`` and run this script with that interpreter plus
``PYTHONPATH=.``; otherwise the committed file is kept.  Everything else needs only openpyxl.

Each fixture's content is described where it is made; the tests assert exact locations and values.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIXED_TIME = (2025, 1, 2, 3, 4, 5)  # zip member times, so rebuilding gives identical bytes


def _save(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return _normalise_zip(buf.getvalue())


def _normalise_zip(data: bytes, edit: dict[str, callable] | None = None) -> bytes:
    """Rewrite a zip with fixed member times (and optional member edits)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if edit and info.filename in edit:
                body = edit[info.filename](body)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2025-01-02T03:04:05Z", body)
            zi = zipfile.ZipInfo(info.filename, FIXED_TIME)
            zi.compress_type = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            dst.writestr(zi, body)
    return out.getvalue()


def _props(wb) -> None:
    wb.properties.creator = "jicai tests"
    fixed = dt.datetime(2025, 1, 2, 3, 4, 5)
    wb.properties.created = fixed
    wb.properties.modified = fixed


# ---------------------------------------------------------------------------------------------------------------------


def catalog_nasty() -> bytes:
    """Catalog (§12a) with reordered columns, an unknown column, English and Chinese headers mixed, a title row
    above the header, full-width digits and spaces, thousands separators, numbers stored as text, a code stored as
    a number, Excel dates (real and serial), and blank rows.

    Header on row 2 (row 1 is a title).  Data rows 3, 4, (5 blank), 6.
    """
    import openpyxl

    wb = openpyxl.Workbook()
    _props(wb)
    ws = wb.active
    ws.title = "目录"
    ws["A1"] = "2025年第一批产品目录"
    headers = ["生产企业", "备注", "generic_name", "剂型", "规格", "包装数量", "最小制剂单位", "医保药品代码",
               "药品本位码", "批准文号", "装量", "是否原研"]
    ws.append(headers)
    ws.append(["  某某制药有限公司\u3000", "内部备注", "阿托伐他汀钙片", "片剂", "20mg", "１,０００",
               "片", "ＸＡ10AAA123A001010101234", 86900483000019, "国药准字H20051408", None, "是"])
    ws.append(["乙制药", None, "氨氯地平片", "片剂", "5mg", 7.0, "片", "xa10aaa123a001010109999",
               "86900483000026", " 国药准字H20000001 ", "2.5", "否"])
    ws.append([None] * len(headers))
    ws.append(["丙制药", "x", "注射用头孢曲松钠", "注射剂", "1g", "10", "支", None, None, "国药准字H20000002",
               "１０.５", None])
    return _save(wb)


def listed_prices_rows() -> list[list[object]]:
    return [
        ["医保代码", "通用名", "生产企业", "剂型", "规格", "省份代码", "挂网价(元/包装)", "包装数量", "执行日期",
         "价格类型", "是否参与联动", "来源文件"],
        ["XA10AAA123A001010101234", "", "", "", "", "110000", "1,234.567891", "7", "2025-01-01", "挂网价", "", "京医保〔2025〕1号"],
        ["", "阿托伐他汀钙片", "某某制药有限公司", "片剂", "20mg", "新疆（含兵团）", "０.１５０７１４", "14",
         "2025/3/1", "接续价", "", "https://example.org/a"],
        ["XA10AAA123A001010109999", "", "", "", "", "310000", "¥12.50", "7", "45658", "vbp_agreement", "是",
         "沪医保〔2025〕2号"],
    ]


def listed_prices_csv(encoding: str) -> bytes:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for r in listed_prices_rows():
        w.writerow(r)
    text = buf.getvalue()
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode(encoding)


def merged_cells() -> bytes:
    """Demand (§12c) with a merged title over the header area (allowed) and C4:C5 merged in the data (rejected)."""
    import openpyxl

    wb = openpyxl.Workbook()
    _props(wb)
    ws = wb.active
    ws.title = "需求"
    ws.append(["需求报量", None, None, None, None, None, None, None, None])
    ws.merge_cells("A1:I1")
    ws.append(["项目编号", "品种序号", "医疗机构代码", "医疗机构名称", "省份代码", "规格", "历史年用量", "报送需求量",
               "年度"])
    ws.append(["P2025-01", 1, "H001", "甲医院", "110000", "20mg", 1000, 1200, 2025])
    ws.append(["P2025-01", 2, "H002", "乙医院", "110000", "5mg", 500, 600, 2025])
    ws.append(["P2025-01", 3, None, "乙医院", "110000", "10mg", 500, 600, 2025])
    ws.merge_cells("C4:C5")
    return _save(wb)


def _add_cells(xml: bytes, row: int, cells: bytes) -> bytes:
    """Insert raw cell XML at the end of ``<row r="row">``."""
    pat = re.compile(rb'(<row r="%d"[^>]*>.*?)(</row>)' % row, re.S)
    out, n = pat.subn(lambda m: m.group(1) + cells + m.group(2), xml, count=1)
    assert n == 1
    return out


def formulas_no_cache() -> bytes:
    """Purchases (§12e): E3 holds a formula written without cached value (as openpyxl writes it), I4 a formula
    with a cached value (accepted), G5 a formula whose cached value is the Excel error #DIV/0!."""
    import openpyxl

    wb = openpyxl.Workbook()
    _props(wb)
    ws = wb.active
    ws.title = "采购"
    ws.append(["订单号", "医疗机构代码", "生产企业信用代码", "医保代码", "订购数量(包装)", "包装数量", "单价(元/包装)",
               "订单日期", "验收数量"])
    ws.append(["O-1", "H001", "91110000600000000X", "XA1", 10, 7, 12.5, dt.date(2025, 1, 3), 10])
    ws.append(["O-2", "H001", "91110000600000000X", "XA1", "=2*5", 7, 12.5, dt.date(2025, 1, 3), 5])
    ws.append(["O-3", "H001", "91110000600000000X", "XA1", 3, 7, 12.5, dt.date(2025, 1, 4), None])
    ws.append(["O-4", "H001", "91110000600000000X", "XA1", 4, 7, None, dt.date(2025, 1, 5), 4])
    data = _save(wb)

    def edit(xml: bytes) -> bytes:
        xml = _add_cells(xml, 4, b'<c r="I4"><f>E4*1</f><v>3</v></c>')
        # G5 (单价) becomes a formula with a cached error value, in its place between F5 and H5
        xml, n = re.subn(rb'(<c r="F5"[^>]*>.*?</c>)', lambda m: m.group(1) + b'<c r="G5" t="e"><f>1/0</f>'
                         b'<v>#DIV/0!</v></c>', xml, count=1, flags=re.S)
        assert n == 1
        return xml

    return _normalise_zip(data, {"xl/worksheets/sheet1.xml": edit})


def demand_errors() -> bytes:
    """Demand (§12c) with wrong types, a negative value, a blank required cell, a duplicate unique key, a date
    where text is expected and an integer with decimals."""
    import openpyxl

    wb = openpyxl.Workbook()
    _props(wb)
    ws = wb.active
    ws.title = "需求"
    ws.append(["项目编号", "品种序号", "医疗机构代码", "医疗机构名称", "省份代码", "医保代码", "规格", "历史年用量",
               "报送需求量", "年度"])
    ws.append(["P1", 1, "H001", "甲医院", "110000", "XA1", None, 1000, 1200, 2025])          # row 2 ok
    ws.append(["P1", "一", "H001", "甲医院", "110000", "XA2", None, 1000, 1200, 2025])       # row 3 B: not int
    ws.append(["P1", 2, "H001", "甲医院", "110000", "XA3", None, -5, 1200, 2025])           # row 4 H: negative
    ws.append(["P1", 3, "H001", None, "110000", "XA4", None, 10, "abc", 2025])             # row 5 D required, I nan
    ws.append(["P1", 1, "H001", "甲医院", "110000", "XA1", None, 1000, 1200, 2025])          # row 6: dup of row 2
    ws.append(["P1", 4, "H001", "甲医院", "110000", None, dt.date(2025, 1, 2), 1, 2, 2025.5])  # row 7 G date, J
    ws.append(["P1", 5, "H001", "甲医院", "110000", None, None, 1, 2, 2025])                # row 8: no code/spec
    return _save(wb)


# ---- ods (hand-built: openpyxl cannot write it) ---------------------------------------------------------------------

_ODS_MANIFEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""

_ODS_STYLES = b"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2"/>
"""

_ODS_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
             b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
             b'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
             b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
             b'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.2">'
             b"<office:body><office:spreadsheet>")
_ODS_TAIL = b"</office:spreadsheet></office:body></office:document-content>"


def ods_cell(v: object, *, attrs: str = "") -> str:
    from xml.sax.saxutils import escape

    if v is None:
        return f"<table:table-cell{attrs}/>"
    if isinstance(v, bool):
        return (f'<table:table-cell{attrs} office:value-type="boolean" office:boolean-value="{str(v).lower()}">'
                f"<text:p>{'TRUE' if v else 'FALSE'}</text:p></table:table-cell>")
    if isinstance(v, (int, float)):
        return (f'<table:table-cell{attrs} office:value-type="float" office:value="{v}">'
                f"<text:p>{v}</text:p></table:table-cell>")
    if isinstance(v, dt.date):
        return (f'<table:table-cell{attrs} office:value-type="date" office:date-value="{v.isoformat()}">'
                f"<text:p>{v.isoformat()}</text:p></table:table-cell>")
    return f'<table:table-cell{attrs} office:value-type="string"><text:p>{escape(str(v))}</text:p></table:table-cell>'


def build_ods(tables: list[tuple[str, str]]) -> bytes:
    """tables: (name, inner XML of table rows)."""
    from xml.sax.saxutils import quoteattr

    body = b"".join(f"<table:table table:name={quoteattr(name)}>{rows}</table:table>".encode("utf-8")
                    for name, rows in tables)
    content = _ODS_HEAD + body + _ODS_TAIL
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        zi = zipfile.ZipInfo("mimetype", FIXED_TIME)
        zi.compress_type = zipfile.ZIP_STORED
        z.writestr(zi, b"application/vnd.oasis.opendocument.spreadsheet")
        for name, data in (("META-INF/manifest.xml", _ODS_MANIFEST), ("styles.xml", _ODS_STYLES),
                           ("content.xml", content)):
            zi = zipfile.ZipInfo(name, FIXED_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return out.getvalue()


def ods_row(cells: list[object], *, attrs: str = "") -> str:
    return f"<table:table-row{attrs}>" + "".join(ods_cell(c) for c in cells) + "</table:table-row>"


def catalog_ods() -> bytes:
    """Catalog (§12a) as .ods: ints, floats, a date-free sheet, a repeated empty tail (as LibreOffice writes)."""
    rows = [
        ods_row(["医保药品代码", "通用名", "剂型", "规格", "包装数量", "最小制剂单位", "生产企业", "批准文号或注册证号",
                 "装量"]),
        ods_row(["XA10AAA123A001010101234", "阿托伐他汀钙片", "片剂", "20mg", 7, "片", "某某制药有限公司",
                 "国药准字H20051408", 2.5]),
        ods_row(["XA10AAA123A001010109999", "氨氯地平片", "片剂", "5mg", 14, "片", "乙制药", "国药准字H20000001",
                 None]),
        '<table:table-row table:number-rows-repeated="1048573"><table:table-cell '
        'table:number-columns-repeated="1024"/></table:table-row>',
    ]
    return build_ods([("目录", "".join(rows))])


def ods_merged_formula() -> bytes:
    """Catalog .ods with a cell spanning B3:C3 and a formula without value at E4."""
    head = ["医保药品代码", "通用名", "剂型", "规格", "包装数量", "最小制剂单位", "生产企业", "批准文号或注册证号"]
    r2 = ods_row(["XA1", "甲片", "片剂", "1mg", 7, "片", "甲厂", "国药准字H1"])
    r3 = ("<table:table-row>" + ods_cell("XA2") +
          ods_cell("乙片", attrs=' table:number-columns-spanned="2" table:number-rows-spanned="1"') +
          "<table:covered-table-cell/>" + "".join(ods_cell(v) for v in ["1mg", 7, "片", "乙厂", "国药准字H2"]) +
          "</table:table-row>")
    r4 = ("<table:table-row>" + "".join(ods_cell(v) for v in ["XA3", "丙片", "片剂", "1mg"]) +
          '<table:table-cell table:formula="of:=[.E2]*2"/>' +
          "".join(ods_cell(v) for v in ["片", "丙厂", "国药准字H3"]) + "</table:table-row>")
    return build_ods([("目录", ods_row(head) + r2 + r3 + r4)])


def catalog_xls() -> bytes | None:
    """Catalog (§12a) as BIFF8 .xls (xlwt), with C3:C4 merged in the data."""
    try:
        import xlwt  # type: ignore[import-not-found]
    except ImportError:
        return None
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("目录")
    head = ["医保药品代码", "通用名", "剂型", "规格", "包装数量", "最小制剂单位", "生产企业", "批准文号或注册证号", "装量"]
    for j, h in enumerate(head):
        ws.write(0, j, h)
    rows = [
        ["XA10AAA123A001010101234", "阿托伐他汀钙片", "片剂", "20mg", 7, "片", "某某制药有限公司", "国药准字H20051408", 2.5],
        ["XA10AAA123A001010109999", "氨氯地平片", "片剂", "5mg", 14, "片", "乙制药", "国药准字H20000001", 0.1],
    ]
    for i, r in enumerate(rows, 1):
        for j, v in enumerate(r):
            ws.write(i, j, v)
    ws2 = wb.add_sheet("合并")
    for j, h in enumerate(head):
        ws2.write(0, j, h)
    ws2.write(1, 0, "XA1")
    ws2.write_merge(1, 2, 1, 1, "甲片")  # B2:B3 merged
    for j, v in enumerate(["片剂", "1mg", 7, "片", "甲厂", "国药准字H1"], 2):
        ws2.write(1, j, v)
        ws2.write(2, j, v)
    ws2.write(2, 0, "XA2")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def stale_template() -> bytes:
    """A listed-price template of version 1 for project P-OLD, filled in with one valid row."""
    import openpyxl

    from app.spreadsheets import build_template
    from app.spreadsheets.specs import LISTED_PRICES

    data = build_template(LISTED_PRICES, kind="listed_prices", version=1, project_code="P-OLD",
                          issued_at=dt.datetime(2024, 6, 1, 8, 0, tzinfo=dt.timezone.utc))
    with_warnings_off = openpyxl.load_workbook(io.BytesIO(data))
    ws = with_warnings_off.worksheets[0]
    ws["A3"] = "XA10AAA123A001010101234"
    ws["F3"] = "110000"
    ws["G3"] = 12.5
    ws["H3"] = 7
    ws["I3"] = dt.date(2025, 1, 1)
    ws["L3"] = "京医保〔2025〕1号"
    _props(with_warnings_off)
    return _save(with_warnings_off)


FIXTURES = {
    "catalog_nasty.xlsx": catalog_nasty,
    "listed_prices_gb18030.csv": lambda: listed_prices_csv("gb18030"),
    "listed_prices_utf8_bom.csv": lambda: listed_prices_csv("utf-8-sig"),
    "demand_merged.xlsx": merged_cells,
    "purchases_formulas.xlsx": formulas_no_cache,
    "demand_errors.xlsx": demand_errors,
    "catalog.ods": catalog_ods,
    "catalog_merged_formula.ods": ods_merged_formula,
    "catalog.xls": catalog_xls,
    "listed_prices_stale_template.xlsx": stale_template,
}


def main(argv: list[str]) -> int:
    wanted = set(argv) or set(FIXTURES)
    for name, make in FIXTURES.items():
        if name not in wanted:
            continue
        data = make()
        path = HERE / name
        if data is None:
            print(f"kept {name} (generator dependency missing)")
            continue
        path.write_bytes(data)
        print(f"wrote {name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
