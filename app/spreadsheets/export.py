"""Exports: any table as .xlsx or .csv, safe to open in a spreadsheet program.

Text cells that a spreadsheet could run as a formula (starting with ``= + - @``, a tab or a carriage return, also
after leading whitespace, and their full-width forms) are neutralised with a leading ``'``.  ``Decimal`` values are
written as numbers with a format showing their decimal places (as text when they have more than the 15 significant
digits Excel keeps), dates as dates; timezone-aware datetimes are shown in ``tz`` (Asia/Shanghai by default).
"""

from __future__ import annotations

import csv
import datetime as _dt
import enum
import io
import re
from decimal import Decimal
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

__all__ = ["neutralise", "export_table", "export_csv", "excel_safe_text", "number_format_for"]

_TRIGGERS = ("=", "+", "-", "@", "＝", "＋", "－", "＠")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
EXCEL_MAX_TEXT = 32767
DEFAULT_TZ = "Asia/Shanghai"


def neutralise(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would evaluate as a formula (CSV/formula injection)."""
    if not text:
        return text
    if text[0] in "\t\r\n":
        return "'" + text
    if text.lstrip()[:1] in _TRIGGERS:
        return "'" + text
    return text


def excel_safe_text(text: str) -> str:
    """Neutralised text without the control characters XML cannot hold, cut to Excel's cell limit."""
    text = neutralise(text)
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    if len(text) > EXCEL_MAX_TEXT:
        text = text[:EXCEL_MAX_TEXT]
    return text


def number_format_for(d: Decimal) -> str:
    exp = d.as_tuple().exponent
    places = -exp if isinstance(exp, int) and exp < 0 else 0
    return "#,##0" + ("." + "0" * places if places else "")


def _sig_digits(d: Decimal) -> int:
    digits = d.as_tuple().digits
    s = "".join(map(str, digits)).strip("0")
    return len(s)


def _to_local(v: _dt.datetime, tz: ZoneInfo) -> _dt.datetime:
    if v.tzinfo is not None:
        v = v.astimezone(tz).replace(tzinfo=None)
    return v


def _header_rows(headers: Sequence[Any]) -> list[list[str]]:
    if any(isinstance(h, tuple) for h in headers):
        first = [str(h[0]) if isinstance(h, tuple) else str(h) for h in headers]
        second = [str(h[1]) if isinstance(h, tuple) and len(h) > 1 else "" for h in headers]
        return [first, second]
    return [[str(h) for h in headers]]


def export_table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], *, sheet_title: str = "Sheet1",
                 tz: str = DEFAULT_TZ, column_widths: Sequence[int] | None = None) -> bytes:
    """An .xlsx with one sheet: a frozen, bold header (two rows when headers are ``(zh, en)`` tuples), then rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    zone = ZoneInfo(tz)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_safe_sheet_title(sheet_title))
    head = _header_rows(headers)
    ws.freeze_panes = f"A{len(head) + 1}"
    for j, h in enumerate(head[0]):
        width = column_widths[j] if column_widths and j < len(column_widths) else min(60, max(10, _display_len(h) + 2))
        ws.column_dimensions[get_column_letter(j + 1)].width = width
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FFDDEBF7")
    for r, hrow in enumerate(head):
        cells = []
        for h in hrow:
            c = WriteOnlyCell(ws, value=excel_safe_text(h))
            c.font = bold if r == 0 else Font(italic=True, color="FF595959")
            c.fill = fill
            c.alignment = Alignment(wrap_text=True, vertical="center")
            cells.append(c)
        ws.append(cells)
    date_fmt = "yyyy-mm-dd"
    dt_fmt = "yyyy-mm-dd hh:mm:ss"
    for row in rows:
        out = []
        for v in row:
            out.append(_xlsx_cell(ws, v, zone, date_fmt, dt_fmt, WriteOnlyCell))
        ws.append(out)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xlsx_cell(ws: Any, v: Any, zone: ZoneInfo, date_fmt: str, dt_fmt: str, cell_cls: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, enum.Enum):
        v = v.value
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, Decimal):
        if not v.is_finite() or _sig_digits(v) > 15:
            return excel_safe_text(format(v, "f"))
        c = cell_cls(ws, value=float(v))
        c.number_format = number_format_for(v)
        return c
    if isinstance(v, int):
        if abs(v) >= 10**15:
            return str(v)
        return v
    if isinstance(v, float):
        return v
    if isinstance(v, _dt.datetime):
        c = cell_cls(ws, value=_to_local(v, zone))
        c.number_format = dt_fmt
        return c
    if isinstance(v, _dt.date):
        c = cell_cls(ws, value=v)
        c.number_format = date_fmt
        return c
    return excel_safe_text(str(v))


def export_csv(headers: Sequence[Any], rows: Iterable[Sequence[Any]], *, tz: str = DEFAULT_TZ,
               bom: bool = True) -> bytes:
    """A UTF-8 csv (with BOM so Excel detects the encoding), formula-neutralised, CRLF line ends."""
    zone = ZoneInfo(tz)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for hrow in _header_rows(headers):
        w.writerow([neutralise(h) for h in hrow])
    for row in rows:
        w.writerow([_csv_value(v, zone) for v in row])
    data = buf.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def _csv_value(v: Any, zone: ZoneInfo) -> str:
    if v is None:
        return ""
    if isinstance(v, enum.Enum):
        v = v.value
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    if isinstance(v, _dt.datetime):
        return _to_local(v, zone).isoformat(sep=" ")
    if isinstance(v, _dt.date):
        return v.isoformat()
    return neutralise(str(v))


_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")


def _safe_sheet_title(title: str) -> str:
    t = _BAD_TITLE.sub("_", str(title)).strip("'") or "Sheet1"
    return t[:31]


def _display_len(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
