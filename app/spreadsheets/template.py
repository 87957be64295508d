"""Downloadable templates (openpyxl).

Each data sheet: a styled, frozen two-row header (Chinese, English beneath; required columns marked ``*``), column
formats (codes and text as Text so Excel keeps leading zeros and long digits), data validation per type (lists for
enums and 是/否, decimal/whole-number ranges, dates), optional pre-filled rows whose read-only columns are locked
(sheet protection on, every other cell of the data area left editable), an instructions sheet (说明 / Instructions)
and a very hidden stamp sheet (template kind, version, project, issue time in UTC) checked on upload.
"""

from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping, Sequence

from .errors import display_value
from .export import excel_safe_text
from .spec import Column, ColumnType, SheetSpec
from .stamp import INSTRUCTIONS_SHEET, LISTS_SHEET, STAMP_SHEET, TemplateStamp, utc_iso

__all__ = ["build_template", "TemplateSheet", "template_columns", "DV_ROWS"]

DV_ROWS = 10_000  # data rows covered by validation and editable formats below the header
HEADER_FILL = "FF1F4E78"
SUBHEADER_FILL = "FFDDEBF7"
READONLY_FILL = "FFE7E6E6"


@dataclass(frozen=True)
class TemplateSheet:
    """A further data sheet of a template (e.g. the quote template's region preferences)."""

    spec: SheetSpec
    prefilled_rows: Sequence[Mapping[str, Any]] = ()
    readonly_columns: Sequence[str] = ()


@dataclass(frozen=True)
class _TCol:
    column: Column
    zh: str
    en: str
    number: int | None  # for repeat columns


def template_columns(spec: SheetSpec) -> list[_TCol]:
    out: list[_TCol] = []
    for c in spec.columns:
        if c.repeat:
            for n in range(1, max(1, c.repeat_count) + 1):
                out.append(_TCol(c, f"{c.zh}{n}", f"{c.en} {n}", n))
        else:
            out.append(_TCol(c, ("*" if c.required else "") + c.zh, c.en, None))
    return out


def _type_text(c: Column) -> tuple[str, str]:
    t = c.type
    zh = {ColumnType.TEXT: "文本", ColumnType.CODE: "代码(文本)", ColumnType.DECIMAL: "数字",
          ColumnType.INT: "整数", ColumnType.DATE: "日期 YYYY-MM-DD", ColumnType.ENUM: "选项",
          ColumnType.BOOL: "是/否"}[t]
    en = {ColumnType.TEXT: "text", ColumnType.CODE: "code (text)", ColumnType.DECIMAL: "number",
          ColumnType.INT: "whole number", ColumnType.DATE: "date YYYY-MM-DD", ColumnType.ENUM: "choice",
          ColumnType.BOOL: "yes/no (是/否)"}[t]
    return zh, en


def _rule_text(c: Column) -> str:
    parts = []
    if c.gt is not None:
        parts.append(f"> {display_value(Decimal(c.gt))}")
    if c.ge is not None:
        parts.append(f"≥ {display_value(Decimal(c.ge))}")
    if c.lt is not None:
        parts.append(f"< {display_value(Decimal(c.lt))}")
    if c.le is not None:
        parts.append(f"≤ {display_value(Decimal(c.le))}")
    if c.places is not None:
        parts.append(f"≤ {c.places} 位小数 / decimals")
    if c.max_length is not None:
        parts.append(f"≤ {c.max_length} 字符 / characters")
    if c.choices:
        parts.append("、".join(f"{ch.zh} ({ch.value})" for ch in c.choices))
    if c.default is not None and not callable(c.default):
        parts.append(f"默认 / default: {display_value(c.default) if not isinstance(c.default, bool) else ('是' if c.default else '否')}")
    return "; ".join(parts)


def _validation(c: Column, list_ref: str | None) -> Any:
    from openpyxl.worksheet.datavalidation import DataValidation

    t = c.type
    zh_t, en_t = _type_text(c)
    rule = _rule_text(c)
    err = f"请输入{zh_t}{(' ' + rule) if rule else ''}\nEnter a {en_t}{(' ' + rule) if rule else ''}"
    dv = None
    if t is ColumnType.ENUM:
        labels = ",".join(ch.zh for ch in c.choices)
        formula = f'"{labels}"' if list_ref is None else list_ref
        dv = DataValidation(type="list", formula1=formula, allow_blank=True)
    elif t is ColumnType.BOOL:
        dv = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    elif t in (ColumnType.DECIMAL, ColumnType.INT):
        kind = "decimal" if t is ColumnType.DECIMAL else "whole"
        lo = c.gt if c.gt is not None else c.ge
        hi = c.lt if c.lt is not None else c.le
        if lo is not None and hi is not None:
            dv = DataValidation(type=kind, operator="between", formula1=str(lo), formula2=str(hi), allow_blank=True)
        elif lo is not None:
            op = "greaterThan" if c.gt is not None else "greaterThanOrEqual"
            dv = DataValidation(type=kind, operator=op, formula1=str(lo), allow_blank=True)
        elif hi is not None:
            op = "lessThan" if c.lt is not None else "lessThanOrEqual"
            dv = DataValidation(type=kind, operator=op, formula1=str(hi), allow_blank=True)
        else:
            dv = DataValidation(type=kind, operator="between", formula1="-1000000000000000",
                                formula2="1000000000000000", allow_blank=True)
    elif t is ColumnType.DATE:
        dv = DataValidation(type="date", operator="between", formula1="1", formula2="2958465", allow_blank=True)
    elif c.max_length is not None:
        dv = DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(c.max_length),
                            allow_blank=True)
    if dv is None:
        return None
    dv.showErrorMessage = True
    dv.errorStyle = "stop"
    dv.errorTitle = "输入有误 / Invalid value"
    dv.error = err[:255]
    note = " / ".join(x for x in (c.note_zh, c.note_en) if x)
    if note:
        dv.showInputMessage = True
        dv.promptTitle = c.zh[:32]
        dv.prompt = note[:255]
    return dv


def _number_format(c: Column) -> str:
    return {ColumnType.TEXT: "@", ColumnType.CODE: "@", ColumnType.DATE: "yyyy-mm-dd", ColumnType.INT: "0",
            ColumnType.DECIMAL: "General", ColumnType.ENUM: "@", ColumnType.BOOL: "@"}[c.type]


def _cell_value(c: Column, v: Any) -> Any:
    if v is None:
        return None
    if c.type is ColumnType.BOOL and isinstance(v, bool):
        return "是" if v else "否"
    if c.type is ColumnType.ENUM:
        for ch in c.choices:
            if v == ch.value:
                return ch.zh
    if isinstance(v, Decimal):
        return float(v) if len(v.as_tuple().digits) <= 15 else format(v, "f")
    if isinstance(v, str):
        return excel_safe_text(v)
    return v


def _add_data_sheet(wb: Any, ts: TemplateSheet, first: bool, lists: dict[str, str]) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.utils import get_column_letter

    spec = ts.spec
    ws = wb.active if first else wb.create_sheet()
    ws.title = spec.sheet_title
    cols = template_columns(spec)
    readonly = set(ts.readonly_columns)
    unknown = readonly - {c.key for c in spec.columns}
    if unknown:
        raise ValueError(f"readonly_columns not in spec {spec.name}: {sorted(unknown)}")
    thin = Side(style="thin", color="FF8EA9C1")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_font = Font(bold=True, color="FFFFFFFF")
    head_fill = PatternFill("solid", fgColor=HEADER_FILL)
    sub_font = Font(italic=True, color="FF1F4E78")
    sub_fill = PatternFill("solid", fgColor=SUBHEADER_FILL)
    ro_fill = PatternFill("solid", fgColor=READONLY_FILL)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    last_row = 2 + max(DV_ROWS, len(ts.prefilled_rows))
    for j, tc in enumerate(cols, 1):
        letter = get_column_letter(j)
        h1 = ws.cell(1, j, tc.zh)
        h1.font, h1.fill, h1.alignment, h1.border = head_font, head_fill, center, border
        h2 = ws.cell(2, j, tc.en)
        h2.font, h2.fill, h2.alignment, h2.border = sub_font, sub_fill, center, border
        c = tc.column
        width = c.width or min(40, max(12, 2 * len(c.zh) + 4, len(tc.en) + 4))
        dim = ws.column_dimensions[letter]
        dim.width = width
        dim.number_format = _number_format(c)
        if c.key not in readonly:
            dim.protection = Protection(locked=False)
        list_ref = None
        if c.type is ColumnType.ENUM and len(",".join(ch.zh for ch in c.choices)) > 250:
            list_ref = lists.get(c.key)
        dv = _validation(c, list_ref)
        if dv is not None:
            dv.add(f"{letter}3:{letter}{last_row}")
            ws.add_data_validation(dv)
    ws.row_dimensions[1].height = 30
    ws.freeze_panes = "A3"
    for i, row in enumerate(ts.prefilled_rows):
        r = 3 + i
        for j, tc in enumerate(cols, 1):
            c = tc.column
            v = row.get(c.key)
            if tc.number is not None:
                seq = list(v or ())
                v = seq[tc.number - 1] if tc.number - 1 < len(seq) else None
            cell = ws.cell(r, j, _cell_value(c, v))
            if isinstance(cell.value, str):
                cell.data_type = "s"
            cell.number_format = _number_format(c)
            if c.key in readonly:
                cell.fill = ro_fill
                cell.protection = Protection(locked=True)
            else:
                cell.protection = Protection(locked=False)
    if readonly:
        p = ws.protection
        p.sheet = True
        p.formatColumns = False   # False = allowed: users may widen columns and rows
        p.formatRows = False
        p.formatCells = True
        p.selectLockedCells = False
        p.selectUnlockedCells = False
        p.sort = True
        p.autoFilter = True


def _add_lists_sheet(wb: Any, specs: Sequence[SheetSpec]) -> dict[str, str]:
    """Long enum lists (over Excel's 255-character inline limit) go to a very hidden sheet."""
    from openpyxl.utils import get_column_letter

    refs: dict[str, str] = {}
    ws = None
    j = 0
    for spec in specs:
        for c in spec.columns:
            if c.type is ColumnType.ENUM and len(",".join(ch.zh for ch in c.choices)) > 250 and c.key not in refs:
                if ws is None:
                    ws = wb.create_sheet(LISTS_SHEET)
                    ws.sheet_state = "veryHidden"
                j += 1
                letter = get_column_letter(j)
                for i, ch in enumerate(c.choices, 1):
                    ws.cell(i, j, ch.zh)
                refs[c.key] = f"'{LISTS_SHEET}'!${letter}$1:${letter}${len(c.choices)}"
    return refs


def _add_instructions(wb: Any, sheets: Sequence[TemplateSheet], stamp: TemplateStamp) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    ws = wb.create_sheet(INSTRUCTIONS_SHEET)
    wrap = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 26
    ws.column_dimensions["C"].width = 16
    ws.column_dimensions["D"].width = 10
    ws.column_dimensions["E"].width = 48
    ws.column_dimensions["F"].width = 40
    ws.append(["说明 / Instructions"])
    ws["A1"].font = Font(bold=True, size=14)
    lines = [
        ("模板 / Template", f"{stamp.kind}  v{stamp.version}"),
        ("项目 / Project", stamp.project_code or "—"),
        ("下载时间 (UTC) / Issued (UTC)", stamp.issued_at),
        ("", ""),
        ("填写 / Filling in",
         "从第3行开始填写，每行一条记录；第1行为中文表头，第2行为英文表头，请勿修改表头。带 * 的列必填。\n"
         "Fill in from row 3, one record per row. Row 1 holds the Chinese headers, row 2 the English ones: do not "
         "change them. Columns marked * are required."),
        ("数字 / Numbers",
         "金额和数量填写数字，不带单位；可用千分位逗号；最多6位小数。\n"
         "Amounts and quantities are plain numbers without units; thousands separators are accepted; at most 6 "
         "decimals."),
        ("日期 / Dates", "YYYY-MM-DD，例如 2025-03-01 / for example 2025-03-01."),
        ("代码 / Codes",
         "代码列为文本格式，请勿转换为数字（否则会丢失前导零或末尾数字）。\n"
         "Code columns are Text: do not turn them into numbers (leading zeros or trailing digits would be lost)."),
        ("公式 / Formulas",
         "上传前请保存文件，使公式结果写入文件；不要合并单元格。\n"
         "Save the file before uploading so formula results are stored in it; do not merge cells."),
        ("版本 / Version",
         "模板过期时系统会拒绝上传，请重新下载模板。\n"
         "An outdated template is refused on upload: download a new one."),
    ]
    for a, b in lines:
        ws.append([a, b])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        ws.cell(ws.max_row, 2).alignment = wrap
        ws.merge_cells(start_row=ws.max_row, start_column=2, end_row=ws.max_row, end_column=6)
        if "\n" in b:
            ws.row_dimensions[ws.max_row].height = 48
    head_fill = PatternFill("solid", fgColor=SUBHEADER_FILL)
    for ts in sheets:
        spec = ts.spec
        ws.append([])
        ws.append([f"{spec.title_zh} / {spec.title_en}"])
        ws.cell(ws.max_row, 1).font = Font(bold=True, size=12)
        if spec.note_zh or spec.note_en:
            ws.append(["", "\n".join(x for x in (spec.note_zh, spec.note_en) if x)])
            ws.cell(ws.max_row, 2).alignment = wrap
        ws.append(["中文表头 Chinese header", "English header", "类型 Type", "必填 Required",
                   "规则 Rules", "说明 Notes"])
        for j in range(1, 7):
            ws.cell(ws.max_row, j).font = Font(bold=True)
            ws.cell(ws.max_row, j).fill = head_fill
        for c in spec.columns:
            zh_t, en_t = _type_text(c)
            header_zh = " / ".join((c.zh,) + tuple(a for a in c.aliases if not a.isascii()))
            en = c.en + (" 1, 2, …" if c.repeat else "")
            if c.repeat:
                header_zh = f"{c.zh}1, {c.zh}2, …"
            note = "\n".join(x for x in (c.note_zh, c.note_en) if x)
            ws.append([header_zh, en, f"{zh_t} / {en_t}", "是 yes" if c.required else "否 no", _rule_text(c), note])
            for j in range(1, 7):
                ws.cell(ws.max_row, j).alignment = wrap


def build_template(
    spec: SheetSpec,
    *,
    kind: str,
    version: int,
    project_code: str | None = None,
    issued_at: _dt.datetime,
    prefilled_rows: Sequence[Mapping[str, Any]] = (),
    readonly_columns: Sequence[str] = (),
    extra_sheets: Sequence[TemplateSheet | SheetSpec] = (),
) -> bytes:
    """An .xlsx template for ``spec`` (first sheet) plus ``extra_sheets``, stamped with kind/version/project/time.

    ``prefilled_rows`` are dicts keyed by column key (lists for repeat columns); ``readonly_columns`` are locked
    (sheet protection on, every other cell of the data area editable).  ``issued_at`` must be timezone-aware.
    """
    import openpyxl

    if not isinstance(version, int) or version < 0:
        raise ValueError("version must be a non-negative int")
    stamp = TemplateStamp(kind=kind, version=version, project_code=project_code, issued_at=utc_iso(issued_at))
    sheets = [TemplateSheet(spec, tuple(prefilled_rows), tuple(readonly_columns))]
    for ex in extra_sheets:
        sheets.append(ex if isinstance(ex, TemplateSheet) else TemplateSheet(ex))
    names = [s.spec.sheet_title for s in sheets]
    if len(set(names)) != len(names):
        raise ValueError("template sheets need distinct titles")
    wb = openpyxl.Workbook()
    lists = _add_lists_sheet(wb, [s.spec for s in sheets])
    for i, ts in enumerate(sheets):
        _add_data_sheet(wb, ts, i == 0, lists)
    _add_instructions(wb, sheets, stamp)
    st = wb.create_sheet(STAMP_SHEET)
    for k, v in stamp.rows():
        st.append([k, v])
        st.cell(st.max_row, 2).data_type = "s"
    st.sheet_state = "veryHidden"
    st.protection.sheet = True
    # data sheets first, instructions, then the hidden sheets; the first data sheet is active
    order = [wb[n] for n in names] + [wb[INSTRUCTIONS_SHEET]] + \
        [ws for ws in wb.worksheets if ws.title in (LISTS_SHEET, STAMP_SHEET)]
    wb._sheets = order
    wb.active = 0
    wb.properties.creator = "jicai"
    wb.properties.title = f"{spec.title_zh} {spec.title_en} ({kind} v{version})"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
