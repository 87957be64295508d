"""The error report: the user's own workbook with every bad cell filled red and commented, plus an errors sheet.

An .xlsx is edited in place with openpyxl (its formatting kept) when it is small enough; csv, xls and ods files —
and xlsx files openpyxl cannot load or that are too large to edit in place — are converted to .xlsx from the values
the reader saw.  The errors sheet comes last (so the corrected file can be uploaded again as it is) but is the active
sheet when the file opens.  Texts are rendered in the current language (``str()`` of the lazy messages).
"""

from __future__ import annotations

import datetime as _dt
import io
import warnings
from collections import defaultdict
from typing import Any, Iterable, Sequence

from .containers import ZipArchive, check_size, column_index, sniff_format
from .errors import CellError, Notice, display_value
from .export import _CONTROL, EXCEL_MAX_TEXT, excel_safe_text
from .spec import DEFAULT_LIMITS, Limits
from .stamp import AUX_SHEETS, ERRORS_SHEET

__all__ = ["error_report_workbook", "ERRORS_SHEET", "REPORT_FILL_RGB", "INPLACE_MAX_UNCOMPRESSED"]

REPORT_FILL_RGB = "FFFF8080"
INPLACE_MAX_UNCOMPRESSED = 40 * 1024 * 1024
_HEADERS = ["工作表 Sheet", "单元格 Cell", "行 Row", "列 Column", "表头 Header", "值 Value", "代码 Code",
            "问题 Problem", "建议 Hint"]


def _comment_text(errs: list[CellError]) -> str:
    parts = []
    for e in errs:
        line = str(e.message)
        if e.hint is not None:
            line += "\n→ " + str(e.hint)
        parts.append(line)
    return "\n\n".join(parts)[:30000]


def _group(errors: Iterable[CellError]) -> dict[tuple[str | None, int, str], list[CellError]]:
    cells: dict[tuple[str | None, int, str], list[CellError]] = defaultdict(list)
    for e in errors:
        if e.row is None:
            continue
        cells[(e.sheet, e.row, e.column or "A")].append(e)
    return cells


def error_report_workbook(original: bytes, filename: str, errors: Sequence[CellError], *,
                          notices: Sequence[Notice] = (), limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The user's workbook as .xlsx with the bad cells filled red, a comment on each, and an errors sheet."""
    check_size(original, limits)
    fmt = sniff_format(original, filename)
    if fmt == "xlsx":
        arc = ZipArchive(original, limits)  # same bomb checks as the reader
        declared = sum(i.file_size for i in arc.infos)
        if declared <= INPLACE_MAX_UNCOMPRESSED:
            try:
                return _in_place(original, errors, notices)
            except Exception:  # openpyxl cannot load every valid file: fall back to the converted copy
                pass
    return _converted(original, filename, errors, notices, limits)


def _new_comment(text: str) -> Any:
    from openpyxl.comments import Comment

    c = Comment(text, "jicai")
    c.width = 320
    c.height = min(400, 60 + 18 * text.count("\n") + len(text) // 2)
    return c


def _in_place(original: bytes, errors: Sequence[CellError], notices: Sequence[Notice]) -> bytes:
    import openpyxl
    from openpyxl.cell.cell import MergedCell
    from openpyxl.styles import PatternFill

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(io.BytesIO(original), keep_vba=False, keep_links=False, rich_text=False)
    fill = PatternFill("solid", fgColor=REPORT_FILL_RGB)
    for (sheet, row, col), errs in _group(errors).items():
        if sheet not in wb.sheetnames:
            continue
        ws = wb[sheet]
        cell = ws[f"{col}{row}"]
        if isinstance(cell, MergedCell):
            for rng in ws.merged_cells.ranges:
                if cell.coordinate in rng:
                    cell = ws.cell(rng.min_row, rng.min_col)
                    break
        cell.fill = fill
        cell.comment = _new_comment(_comment_text(errs))
    _errors_sheet(wb, errors, notices, write_only=False)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb.save(buf)
    return buf.getvalue()


def _converted(original: bytes, filename: str, errors: Sequence[CellError], notices: Sequence[Notice],
               limits: Limits) -> bytes:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import PatternFill

    from .reader import Workbook

    # every worksheet gets the container pre-checks (rows, far cells) before python-calamine parses it
    wb_in = Workbook(original, filename, limits, lambda sheets: [s.name for s in sheets if s.is_worksheet])
    names = [n for n in wb_in.sheet_names() if n not in AUX_SHEETS]
    wanted_states = {s.name: s.state for s in wb_in.sheets}
    by_cell = _group(errors)
    bad_rows: dict[str, dict[int, dict[int, list[CellError]]]] = defaultdict(lambda: defaultdict(dict))
    for (sheet, row, col), errs in by_cell.items():
        bad_rows[sheet or ""][row][column_index(col)] = errs
    fill = PatternFill("solid", fgColor=REPORT_FILL_RGB)
    out = openpyxl.Workbook(write_only=True)
    for name in names:
        if wanted_states.get(name) == "veryHidden":
            continue
        grid = wb_in.grid(name)
        ws = out.create_sheet(title=name[:31])
        marks = bad_rows.get(name, {})
        next_row = 1
        for rownum, vals in grid.rows:
            while next_row < rownum:
                ws.append([])
                next_row += 1
            row_marks = marks.get(rownum, {})
            width = max([grid.offset + len(vals)] + [c + 1 for c in row_marks])
            cells: list[Any] = []
            for c in range(width):
                j = c - grid.offset
                v = vals[j] if 0 <= j < len(vals) else None
                cell = WriteOnlyCell(ws, value=_plain(v))
                if isinstance(v, str) and v:
                    cell.data_type = "s"
                elif isinstance(v, _dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm:ss"
                elif isinstance(v, _dt.date):
                    cell.number_format = "yyyy-mm-dd"
                if c in row_marks:
                    cell.fill = fill
                    cell.comment = _new_comment(_comment_text(row_marks[c]))
                cells.append(cell)
            ws.append(cells)
            next_row = rownum + 1
        # errors below the last row (e.g. an empty sheet) still get their marks
        for rownum in sorted(r for r in marks if r >= next_row):
            while next_row < rownum:
                ws.append([])
                next_row += 1
            row_marks = marks[rownum]
            cells = []
            for c in range(max(row_marks) + 1):
                cell = WriteOnlyCell(ws, value=None)
                if c in row_marks:
                    cell.fill = fill
                    cell.comment = _new_comment(_comment_text(row_marks[c]))
                cells.append(cell)
            ws.append(cells)
            next_row = rownum + 1
    _errors_sheet(out, errors, notices, write_only=True)
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


def _plain(v: Any) -> Any:
    if v is None or v == "":
        return None
    if isinstance(v, str):  # kept as text (data_type "s"), never turned into a formula
        return _CONTROL.sub("", v)[:EXCEL_MAX_TEXT]
    if isinstance(v, (_dt.time, _dt.timedelta)):
        return display_value(v) if isinstance(v, _dt.time) else str(v)
    return v


def _errors_sheet(wb: Any, errors: Sequence[CellError], notices: Sequence[Notice], *, write_only: bool) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill

    title = ERRORS_SHEET
    existing = set(wb.sheetnames)
    k = 2
    while title in existing:
        title = f"{ERRORS_SHEET} {k}"
        k += 1
    ws = wb.create_sheet(title=title)
    widths = [16, 10, 8, 8, 22, 22, 22, 60, 60]
    from openpyxl.utils import get_column_letter

    for j, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = "A2"
    bold = Font(bold=True, color="FFFFFFFF")
    head_fill = PatternFill("solid", fgColor="FFC00000")

    def cell(value: Any, **style: Any) -> Any:
        c = WriteOnlyCell(ws, value=value) if write_only else None
        if c is None:
            return value, style
        for k2, v2 in style.items():
            setattr(c, k2, v2)
        return c

    rows: list[list[Any]] = [[cell(h, font=bold, fill=head_fill) for h in _HEADERS]]
    for e in errors:
        ref = f"{e.column or ''}{e.row or ''}"
        link = f"#'{e.sheet}'!{ref}" if e.sheet and e.row and e.column else None
        rows.append([
            excel_safe_text(e.sheet or ""),
            cell(ref, hyperlink=link, font=Font(color="FF0563C1", underline="single")) if link else ref,
            e.row, e.column, excel_safe_text(e.header or ""), excel_safe_text(display_value(e.value)), e.code,
            excel_safe_text(str(e.message)), excel_safe_text(str(e.hint)) if e.hint is not None else "",
        ])
    if notices:
        rows.append([])
        for n in notices:
            rows.append(["", "", "", "", "", "", n.code, excel_safe_text(str(n.message)), ""])
    for r in rows:
        if write_only:
            ws.append(r)
        else:
            values = []
            styles = []
            for v in r:
                if isinstance(v, tuple):
                    values.append(v[0])
                    styles.append(v[1])
                else:
                    values.append(v)
                    styles.append({})
            ws.append(values)
            row_idx = ws.max_row
            for j, st in enumerate(styles, 1):
                for k2, v2 in st.items():
                    setattr(ws.cell(row_idx, j), k2, v2)
    if not write_only:
        wb.active = wb.sheetnames.index(title)
        for other in wb.worksheets:
            if other.title != title:
                other.sheet_view.tabSelected = False
    else:
        wb.active = len(wb.sheetnames) - 1
