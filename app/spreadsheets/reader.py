"""Reading an uploaded table: ``read_table`` / ``read_tables``.

Pipeline: size → format sniffing → container checks (zip bomb, rows, far cells, formulas without cached values,
error cells, merged cells; see ``containers``) → python-calamine (xlsx, xls, ods) or the csv module → header row
detection → per-cell conversion (``values``) → row rules (required, one-of, unique keys, the caller's
``row_validator``).  All-or-nothing: ``ParsedTable.rows`` is filled only when ``errors`` is empty.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from itertools import chain, islice, repeat
from operator import eq, itemgetter
from typing import Any, Callable, Iterable, Iterator, Sequence

from .containers import (
    ROW_SLACK,
    SheetFlags,
    SheetInfo,
    XlsxSheetScanner,
    ZipArchive,
    check_size,
    column_letter,
    scan_ods_content,
    sniff_format,
    xlsx_detail_scan,
    xlsx_targeted_scan,
    xlsx_sheets,
)
from .errors import (
    CellError,
    CsvEncodingError,
    DuplicateColumnError,
    EmptyFileError,
    EmptySheetError,
    EncryptedFileError,
    HeaderNotFoundError,
    MissingColumnsError,
    Notice,
    SheetNotFoundError,
    SpreadsheetError,
    TooManyColumnsError,
    TooManyRowsError,
    corrupt,
    display_value,
)
from .messages import msg
from .spec import DEFAULT_LIMITS, Column, Limits, SheetSpec, normalize_header
from .stamp import AUX_SHEETS, STAMP_SHEET, TemplateStamp, check_stamp
from .values import MISSING, Problem, bulk_converter, make_converter

__all__ = ["ParsedTable", "read_table", "read_tables", "open_workbook", "Workbook", "HEADER_SCAN_ROWS"]

HEADER_SCAN_ROWS = 30
CHUNK_ROWS = 4096  # data rows converted and checked at a time (see _read_sheet)

RowValidator = Callable[[dict[str, Any], int], Sequence[CellError]]


@dataclass
class ParsedTable:
    """The result of reading one sheet: typed ``rows`` (dicts keyed by column key) or ``errors``, never both."""

    spec: SheetSpec
    sheet: str
    format: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # key -> column letter as found in the file
    header_row: int = 0
    first_data_row: int = 0
    stamp: TemplateStamp | None = None
    encoding: str | None = None
    errors_truncated: bool = False
    data_row_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def numbered_rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        return zip(self.row_numbers, self.rows)


# ---------------------------------------------------------------------------------------------------------------------
# opening files
# ---------------------------------------------------------------------------------------------------------------------


def _calamine():
    import python_calamine

    return python_calamine


def _calamine_call(fn: Callable[[], Any]) -> Any:
    """Run a python-calamine call, turning its failures (and Rust panics) into user errors."""
    pc = _calamine()
    try:
        return fn()
    except pc.PasswordError:
        raise EncryptedFileError(msg("encrypted_file")) from None
    except (pc.CalamineError, ValueError, OSError, TypeError, OverflowError) as exc:
        if isinstance(exc, SpreadsheetError):
            raise
        raise corrupt() from None
    except BaseException as exc:  # pyo3 PanicException derives from BaseException
        if type(exc).__name__ == "PanicException":
            raise corrupt() from None
        raise


def _calamine_rows(sheet: Any) -> Iterator[list[Any]]:
    """The rows of a parsed sheet, one list at a time (``iter_rows``: as fast as ``to_python`` and lazy, so the
    first rows are converted and checked while later ones are still being turned into Python objects)."""
    rows = _calamine_call(sheet.iter_rows)
    try:
        yield from rows
    except Exception as exc:  # what _calamine_call turns into user errors, raised while iterating
        _calamine_call(lambda: _reraise(exc))
    except BaseException as exc:
        if type(exc).__name__ == "PanicException":
            raise corrupt() from None
        raise


def _reraise(exc: BaseException) -> None:
    raise exc


@dataclass
class _Grid:
    name: str
    offset: int                                   # column index of the first value of each row list
    rows: Iterator[tuple[int, list[Any]]]          # (Excel row number, values)
    flags: SheetFlags
    height: int | None = None                     # rows the sheet can yield at most, when known before reading


class Workbook:
    """An uploaded file, checked and opened; ``grid(name)`` gives the rows of one sheet."""

    def __init__(self, data: bytes, filename: str, limits: Limits, wanted: Callable[[list[SheetInfo]], list[str]]):
        if not data:
            raise EmptyFileError(msg("file_empty"))
        check_size(data, limits)
        self.data = data
        self.filename = filename
        self.limits = limits
        self.format = sniff_format(data, filename)
        self.notices: list[Notice] = []
        self.date1904 = False
        self.encoding: str | None = None
        self.flags: dict[str, SheetFlags] = {}
        self._cw = None
        self._csv_rows: list[list[str]] | None = None
        if self.format == "xlsx":
            self._open_xlsx(wanted)
        elif self.format == "ods":
            self._open_ods()
        elif self.format == "xls":
            self._open_calamine()
            self.sheets = self._calamine_sheets()
        else:
            self._open_csv()

    # -- formats -------------------------------------------------------------------------------------------------------

    def _open_xlsx(self, wanted: Callable[[list[SheetInfo]], list[str]]) -> None:
        arc = ZipArchive(self.data, self.limits)
        sheets, self.date1904, notices = xlsx_sheets(arc)
        self.notices.extend(notices)
        self.sheets = sheets
        targets = {s.name: s for s in sheets if s.is_worksheet}
        scanners: dict[str, XlsxSheetScanner] = {}
        for name in wanted(sheets):
            info = targets.get(name)
            if info is not None and info.path:
                scanners[info.path] = XlsxSheetScanner(name, self.limits)
        arc.inflate_all(scanners)  # type: ignore[arg-type]
        for path, sc in scanners.items():
            sc.finish()
            flags = SheetFlags(row_elements=sc.rows)
            if sc.needs_detail:
                xml = arc.read(path)
                found = None if sc.bare_cells else xlsx_targeted_scan(xml, self.limits, sc.sheet, sc.prefix or b"")
                flags = found if found is not None else xlsx_detail_scan(xml, self.limits, sc.sheet)
                flags.row_elements = sc.rows
            self.flags[sc.sheet] = flags
        self._open_calamine()

    def _open_ods(self) -> None:
        arc = ZipArchive(self.data, self.limits)
        parts: list[bytes] = []
        arc.inflate_all({"content.xml": parts.append})
        if not arc.has("content.xml"):
            raise corrupt()
        scans = scan_ods_content(b"".join(parts), self.limits)
        for name, sc in scans.items():
            self.flags[name] = sc.flags
            if sc.data_rows and sc.width and sc.data_rows * sc.width > self.limits.max_cells:
                raise TooManyColumnsError(msg("too_many_cells", sheet=name, limit=self.limits.max_cells),
                                          sheet=name, limit=self.limits.max_cells)
        self._open_calamine()
        self.sheets = self._calamine_sheets()

    def _open_calamine(self) -> None:
        pc = _calamine()
        self._cw = _calamine_call(lambda: pc.CalamineWorkbook.from_filelike(io.BytesIO(self.data)))

    def _calamine_sheets(self) -> list[SheetInfo]:
        out = []
        for meta in _calamine_call(lambda: self._cw.sheets_metadata):
            vis = str(meta.visible).rsplit(".", 1)[-1]
            state = {"Visible": "visible", "Hidden": "hidden", "VeryHidden": "veryHidden"}.get(vis, "visible")
            typ = str(meta.typ).rsplit(".", 1)[-1]
            out.append(SheetInfo(name=meta.name, state=state, is_worksheet=typ == "WorkSheet"))
        return out

    def _open_csv(self) -> None:
        text, self.encoding = decode_csv(self.data)
        self.sheets = [SheetInfo(name=_csv_sheet_name(self.filename))]
        self._csv_text = text

    # -- access --------------------------------------------------------------------------------------------------------

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets if s.is_worksheet]

    def grid(self, name: str) -> _Grid:
        if self.format == "csv":
            return _Grid(name, 0, _csv_rows(self._csv_text, self.limits), SheetFlags())
        sheet = _calamine_call(lambda: self._cw.get_sheet_by_name(name))
        flags = self.flags.get(name, SheetFlags())
        start = _calamine_call(lambda: sheet.start)
        if start is None:
            return _Grid(name, 0, iter(()), flags)
        height, width = sheet.height, sheet.width
        if width > self.limits.max_columns + start[1]:
            raise TooManyColumnsError(msg("too_many_columns", sheet=name, limit=self.limits.max_columns),
                                      sheet=name, limit=self.limits.max_columns)
        if height > self.limits.max_rows + ROW_SLACK + start[0]:
            raise TooManyRowsError(msg("too_many_rows", sheet=name, limit=self.limits.max_rows), sheet=name,
                                   limit=self.limits.max_rows)
        if height * width > self.limits.max_cells:
            raise TooManyColumnsError(msg("too_many_cells", sheet=name, limit=self.limits.max_cells), sheet=name,
                                      limit=self.limits.max_cells)
        if self.format in ("xlsx", "xls"):
            merged = _calamine_call(lambda: sheet.merged_cell_ranges) or []
            if merged:
                flags.merged = [(r1 + 1, c1, r2 + 1, c2) for (r1, c1), (r2, c2) in merged]
        # iter_rows() starts at the first used cell, like to_python(), and yields the rows lazily
        rows = enumerate(_calamine_rows(sheet), start[0] + 1)
        return _Grid(name, start[1], rows, flags, height)

    def read_stamp(self) -> TemplateStamp | None:
        if self.format == "csv" or STAMP_SHEET not in self.sheet_names():
            return None
        sheet = _calamine_call(lambda: self._cw.get_sheet_by_name(STAMP_SHEET))
        if sheet.start is None:
            return None
        return TemplateStamp.from_rows(_calamine_call(lambda: sheet.to_python(nrows=20)))

    def find_sheet(self, spec: SheetSpec, sheet: str | Sequence[str] | None) -> str:
        return _pick_sheet(self.sheets, spec, sheet)


def _csv_sheet_name(filename: str) -> str:
    base = (filename or "csv").replace("\\", "/").rsplit("/", 1)[-1]
    if "." in base:
        base = base.rsplit(".", 1)[0]
    return base[:31] or "csv"


def decode_csv(data: bytes) -> tuple[str, str]:
    """Decode csv bytes: UTF-8 with BOM, UTF-16 with BOM, UTF-8, then GB18030 (a superset of GBK/GB2312)."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "utf-16"
    except UnicodeDecodeError:
        raise CsvEncodingError(msg("csv_encoding")) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise CsvEncodingError(msg("csv_encoding")) from None


def _csv_rows(text: str, limits: Limits) -> Iterator[tuple[int, list[Any]]]:
    nul = text.find("\x00")
    if nul >= 0:  # binary data, or UTF-16 without BOM: nothing a database could store as text
        row = text.count("\n", 0, nul) + 1
        raise SpreadsheetError(msg("csv_malformed", row=row), code="csv_malformed", row=row)
    first = text[:4096].split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=lambda d: first.count(d)) if first else ","
    if first.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    n = 0
    limit = limits.max_rows + ROW_SLACK
    try:
        for n, row in enumerate(reader, 1):
            if n > limit:
                raise TooManyRowsError(msg("too_many_rows", sheet="csv", limit=limits.max_rows), limit=limits.max_rows)
            if len(row) > limits.max_columns:
                raise TooManyColumnsError(msg("too_many_columns", sheet="csv", limit=limits.max_columns),
                                          limit=limits.max_columns)
            yield n, row
    except csv.Error:
        raise SpreadsheetError(msg("csv_malformed", row=n + 1), code="csv_malformed", row=n + 1) from None


def _pick_sheet(sheets: list[SheetInfo], spec: SheetSpec, sheet: str | Sequence[str] | None) -> str:
    candidates = [s for s in sheets if s.is_worksheet]
    names: tuple[str, ...]
    if sheet is not None:
        names = (sheet,) if isinstance(sheet, str) else tuple(sheet)
    else:
        names = spec.sheet_names
    if names:
        for n in names:
            for s in candidates:
                if s.name == n:
                    return s.name
        wanted = {normalize_header(n) for n in names}
        for s in candidates:
            if normalize_header(s.name) in wanted:
                return s.name
        raise SheetNotFoundError(msg("sheet_not_found", names=" / ".join(names)), names=list(names))
    for s in candidates:
        if s.state == "visible" and s.name not in AUX_SHEETS:
            return s.name
    raise SheetNotFoundError(msg("no_data_sheet"), code="no_data_sheet")


def open_workbook(data: bytes, filename: str, specs: Sequence[tuple[SheetSpec, str | Sequence[str] | None]],
                  limits: Limits = DEFAULT_LIMITS) -> Workbook:
    """Open and check a file for reading the sheets of ``specs`` (pairs of spec and explicit sheet name or None)."""

    def wanted(sheets: list[SheetInfo]) -> list[str]:
        out = [STAMP_SHEET]
        for spec, sheet in specs:
            try:
                out.append(_pick_sheet(sheets, spec, sheet))
            except SheetNotFoundError:
                pass
        return out

    return Workbook(data, filename, limits, wanted)


# ---------------------------------------------------------------------------------------------------------------------
# headers
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class _HeaderMap:
    row: int                                   # Excel row number of the (Chinese) header row
    last_header_row: int                       # the same or the English row beneath
    single: dict[str, int]                     # key -> absolute column index
    repeat: dict[str, list[tuple[int, int]]]   # key -> [(number, column index)] sorted by number
    titles: dict[int, str]                     # column index -> header text in the file
    unknown: list[tuple[int, str]]             # (column index, header text)


class _HeaderIndex:
    def __init__(self, spec: SheetSpec) -> None:
        self.exact: dict[str, str] = {}
        self.repeat: list[tuple[str, str]] = []  # (normalized base, key)
        for c in spec.columns:
            for h in c.headers:
                n = normalize_header(h)
                if c.repeat:
                    self.repeat.append((n, c.key))
                else:
                    self.exact[n] = c.key
        self.repeat.sort(key=lambda t: -len(t[0]))

    def match(self, text: Any) -> tuple[str, int | None] | None:
        if text is None or text == "":
            return None
        n = normalize_header(display_value(text))
        if not n:
            return None
        key = self.exact.get(n)
        if key is not None:
            return key, None
        for base, rkey in self.repeat:
            if n.startswith(base):
                rest = n[len(base):]
                if rest.isdigit() and len(rest) <= 4:
                    return rkey, int(rest)
        return None


def _find_header(buffer: list[tuple[int, list[Any]]], offset: int, spec: SheetSpec, sheet: str) -> _HeaderMap:
    index = _HeaderIndex(spec)
    best: tuple[int, int] | None = None  # (score, position in buffer)
    for pos, (_, vals) in enumerate(buffer):
        keys = set()
        for v in vals:
            m = index.match(v)
            if m is not None:
                keys.add(m[0])
        if keys and (best is None or len(keys) > best[0]):
            best = (len(keys), pos)
    if best is None:
        cols = [c for c in spec.columns if c.required][:3] or list(spec.columns[:3])
        examples = "、".join(f"{c.zh} / {c.en}" for c in cols)
        raise HeaderNotFoundError(msg("header_not_found", sheet=sheet, examples=examples), sheet=sheet)
    pos = best[1]
    rownum, vals = buffer[pos]
    single: dict[str, int] = {}
    repeat: dict[str, list[tuple[int, int]]] = {}
    titles: dict[int, str] = {}
    unknown: list[tuple[int, str]] = []
    first_seen: dict[tuple[str, int | None], int] = {}
    for j, v in enumerate(vals):
        col = offset + j
        m = index.match(v)
        if m is None:
            if display_value(v).strip():
                unknown.append((col, display_value(v).strip()))
            continue
        key, number = m
        titles[col] = display_value(v).strip()
        if (key, number) in first_seen:
            prev = first_seen[(key, number)]
            raise DuplicateColumnError(
                msg("duplicate_column", first=column_letter(prev), second=column_letter(col), sheet=sheet,
                    header=titles[col]), sheet=sheet, columns=[column_letter(prev), column_letter(col)])
        first_seen[(key, number)] = col
        if number is None:
            single[key] = col
        else:
            repeat.setdefault(key, []).append((number, col))
    for lst in repeat.values():
        lst.sort()
    last = rownum
    # a template's English header row beneath the Chinese one
    if pos + 1 < len(buffer):
        nrow, nvals = buffer[pos + 1]
        mapped = {c: k for k, c in single.items()}
        for k, lst in repeat.items():
            for _, c in lst:
                mapped[c] = k
        hits = 0
        others = 0
        for j, v in enumerate(nvals):
            col = offset + j
            if col not in mapped or display_value(v).strip() == "":
                continue
            m = index.match(v)
            if m is not None and m[0] == mapped[col]:
                hits += 1
            else:
                others += 1
        if hits and not others:
            last = nrow
    return _HeaderMap(rownum, last, single, repeat, titles, unknown)


# ---------------------------------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------------------------------


def read_table(
    data: bytes,
    filename: str,
    spec: SheetSpec,
    *,
    sheet: str | Sequence[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    expect_stamp: tuple[str, int, str | None] | None = None,
    require_stamp: bool = False,
    row_validator: RowValidator | None = None,
    store: Callable[[list[dict[str, Any]]], Any] | None = None,
    allow_empty: bool = False,
) -> ParsedTable:
    """Read and validate one sheet of ``data`` (xlsx, xls, ods or csv) against ``spec``.

    * ``sheet``: a sheet name (or alternatives); default: ``spec.sheet_names``, else the first visible worksheet.
    * ``expect_stamp = (kind, min_version, project_code or None)``: a file made from a template of another kind or
      project, or older than ``min_version``, is rejected (``TemplateStampError``); a file without stamp is accepted
      unless ``require_stamp``.
    * ``row_validator(row, rownum) -> [CellError]`` runs on each row that converted cleanly (domain checks such as
      code checksums); ``CellError.for_key`` builds errors whose position the engine fills in.
    * ``store(rows)`` is called once with every row, only when there is no error.

    Raises a ``SpreadsheetError`` subclass when the file as a whole is rejected; cell problems come back in
    ``ParsedTable.errors`` (and then ``rows`` is empty).
    """
    wb = open_workbook(data, filename, [(spec, sheet)], limits)
    stamp = wb.read_stamp()
    check_stamp(stamp, expect_stamp, require=require_stamp)
    result = _read_sheet(wb, spec, wb.find_sheet(spec, sheet), limits, row_validator, allow_empty)
    result.stamp = stamp
    if store is not None and result.ok:
        store(result.rows)
    return result


def read_tables(
    data: bytes,
    filename: str,
    specs: Sequence[SheetSpec],
    *,
    limits: Limits = DEFAULT_LIMITS,
    expect_stamp: tuple[str, int, str | None] | None = None,
    require_stamp: bool = False,
    row_validators: dict[str, RowValidator] | None = None,
    optional: Iterable[str] = (),
) -> dict[str, ParsedTable]:
    """Read several sheets of one workbook (e.g. a quote and its region-preference sheet), opening it once.

    The first spec uses the first visible worksheet unless it names its sheets; the others are found by
    ``spec.sheet_names``.  Specs named in ``optional`` may be absent (and may be empty).
    """
    optional = set(optional)
    wb = open_workbook(data, filename, [(s, None) for s in specs], limits)
    stamp = wb.read_stamp()
    check_stamp(stamp, expect_stamp, require=require_stamp)
    out: dict[str, ParsedTable] = {}
    for spec in specs:
        try:
            name = wb.find_sheet(spec, None)
        except SheetNotFoundError:
            if spec.name in optional:
                continue
            raise
        res = _read_sheet(wb, spec, name, limits, (row_validators or {}).get(spec.name), spec.name in optional)
        res.stamp = stamp
        out[spec.name] = res
    return out


def _read_sheet(wb: Workbook, spec: SheetSpec, sheet_name: str, limits: Limits,
                row_validator: RowValidator | None, allow_empty: bool) -> ParsedTable:
    grid = wb.grid(sheet_name)
    result = ParsedTable(spec=spec, sheet=sheet_name, format=wb.format, notices=list(wb.notices),
                         encoding=wb.encoding)
    if wb.encoding is not None:
        result.notices.append(Notice("csv_read_as", msg("csv_read_as", encoding=wb.encoding),
                                     {"encoding": wb.encoding}))
    rows_iter = grid.rows
    buffer: list[tuple[int, list[Any]]] = []
    for item in rows_iter:
        if item[1].count("") != len(item[1]):
            buffer.append(item)
            if len(buffer) >= HEADER_SCAN_ROWS:
                break
    if not buffer:
        raise EmptySheetError(msg("sheet_empty", sheet=sheet_name), sheet=sheet_name)
    hm = _find_header(buffer, grid.offset, spec, sheet_name)
    result.header_row = hm.row
    result.first_data_row = hm.last_header_row + 1

    # ---- columns present / missing ----------------------------------------------------------------------------
    present = set(hm.single) | set(hm.repeat)
    missing = [c for c in spec.columns if c.required and not c.repeat and c.key not in present]
    if missing:
        cols = "、".join(f"{c.zh} / {c.en}" for c in missing)
        raise MissingColumnsError(msg("missing_columns", sheet=sheet_name, columns=cols), sheet=sheet_name,
                                  columns=[c.key for c in missing])
    for alternatives in spec.one_of:
        if not any(all(k in present for k in alt) for alt in alternatives):
            options = _alternatives_text(spec, alternatives)
            raise MissingColumnsError(msg("missing_one_of", sheet=sheet_name, options=options), sheet=sheet_name,
                                      columns=[list(a) for a in alternatives])
    if hm.unknown:
        text = "、".join(f"{t} ({column_letter(c)})" for c, t in hm.unknown)
        result.notices.append(Notice("unknown_columns", msg("unknown_columns", columns=text),
                                     {"columns": [t for _, t in hm.unknown]}))
    result.columns = {k: column_letter(c) for k, c in hm.single.items()}
    for k, lst in hm.repeat.items():
        result.columns[k] = column_letter(lst[0][1])

    # ---- plan -----------------------------------------------------------------------------------------------
    offset = grid.offset
    by_key = {c.key: c for c in spec.columns}
    plan: list[tuple[str, int, Callable[[Any], Any]]] = []
    for c in spec.columns:
        if c.key in hm.single:
            plan.append((c.key, hm.single[c.key] - offset, make_converter(c, date1904=wb.date1904)))
    keys = [p[0] for p in plan]
    need = max([p[1] for p in plan] + [c - offset for lst in hm.repeat.values() for _, c in lst] + [-1]) + 1
    repeat_plan = [(c.key, [(n, col - offset) for n, col in hm.repeat[c.key]], make_converter(c, date1904=wb.date1904))
                   for c in spec.columns if c.repeat and c.key in hm.repeat]
    col_of = dict(hm.single)
    for k, lst in hm.repeat.items():
        col_of[k] = lst[0][1]

    # ---- overlay: formulas without values, error values, merged cells in the data area --------------------
    overlay: dict[tuple[int, int], tuple[str, str | None, dict[str, Any]] | None] = {}
    mapped_cols = set(hm.single.values()) | {c for lst in hm.repeat.values() for _, c in lst}
    first_data = result.first_data_row
    for (r, c) in grid.flags.formula_missing:
        if r >= first_data and c in mapped_cols:
            overlay[(r, c)] = ("formula_no_value", "formula_no_value_hint", {})
    for (r, c), text in grid.flags.error_values.items():
        if r >= first_data and c in mapped_cols:
            overlay[(r, c)] = ("excel_error", "excel_error_hint", {"value": text})
    for (r1, c1, r2, c2) in grid.flags.merged:
        if r2 < first_data:
            continue
        cols = sorted(c for c in mapped_cols if c1 <= c <= c2)
        if not cols:
            continue
        top = max(r1, first_data)
        rng = f"{column_letter(c1)}{r1}:{column_letter(c2)}{r2}"
        for r in range(top, r2 + 1):
            for c in cols:
                overlay.setdefault((r, c), None)  # covered: no further error
        overlay[(top, cols[0])] = ("merged_cells", "merged_cells_hint", {"range": rng})
    overlay_cols = {c for _, c in overlay}

    # ---- the data rows, read, converted and checked chunk by chunk ------------------------------------------
    # A chunk goes through every step below (conversion, blank rows, required values, records, row rules, unique
    # keys, the caller's row_validator) before the next is read, so a row_validator sees the first rows while the
    # later ones are still being read (the catalog import stores them meanwhile).  Each step looks only at a row
    # and the rows before it, so the outcome is that of one pass over all rows.  When the sheet may hold more
    # rows than the limit, they are all collected first and checked in one piece, so that the limit is enforced
    # before any row reaches the row_validator.
    max_rows = limits.max_rows
    early_limit = max_rows + ROW_SLACK
    items = chain((it for it in buffer if it[0] > hm.last_header_row), rows_iter)
    if grid.height is not None and grid.height <= max_rows:
        chunks: Iterable[tuple[list[int], list[list[Any]]]] = _data_chunks(items, need, CHUNK_ROWS, early_limit,
                                                                            sheet_name, max_rows)
    else:
        all_nums, all_raw = next(_data_chunks(items, need, None, early_limit, sheet_name, max_rows), ([], []))
        size = CHUNK_ROWS if len(all_raw) <= max_rows else max(1, len(all_raw))
        chunks = ((all_nums[k:k + size], all_raw[k:k + size]) for k in range(0, len(all_raw), size))

    # problems: (row, absolute column, key, raw value, code, hint key, params)
    problems: list[tuple[int, int, str, Any, str, str | None, dict[str, Any]]] = []
    row_errors: list[CellError] = []
    records: list[dict[str, Any]] = []
    rownums: list[int] = []
    total_rows = 0
    n_cols = len(plan)
    defaults = [(j, by_key[key]) for j, (key, _, _) in enumerate(plan)]
    all_keys = list(keys) + [k for k, _, _ in repeat_plan]
    absent = [c for c in spec.columns if c.key not in hm.single and c.key not in hm.repeat]
    all_keys.extend(c.key for c in absent)
    absent_lists = [c.key for c in spec.columns if c.repeat and c.key not in hm.repeat]
    callable_defaults = [c for c in spec.columns if callable(c.default)]
    has_rules = bool(spec.one_of or spec.together or spec.ordered or spec.same_within)
    same_within: list[tuple[tuple[str, str], dict[Any, tuple[Any, int]]]] = [(p, {}) for p in spec.same_within]
    unique_seen: list[dict[Any, int]] = [{} for _ in spec.unique]
    titles = hm.titles
    bulk = [bulk_converter(by_key[key]) for key, _, _ in plan]

    for c_nums, c_raw in chunks:
        first_problem = len(problems)
        bad_idx: set[int] = set()
        conv_cols: list[list[Any]] = []
        for j, (key, i, conv) in enumerate(plan):
            col_abs = i + offset
            raw = list(map(itemgetter(i), c_raw))
            converted = None
            if col_abs not in overlay_cols:
                try:
                    # a whole column at C speed when every cell is plain (values.bulk_converter), else cell by cell
                    converted = bulk[j](raw) if bulk[j] is not None else None
                    if converted is None:
                        converted = list(map(conv, raw))
                except Problem:
                    converted = None
            if converted is None:
                converted = []
                append = converted.append
                for idx, v in enumerate(raw):
                    r = c_nums[idx]
                    if col_abs in overlay_cols and (r, col_abs) in overlay:
                        ov = overlay[(r, col_abs)]
                        if ov is not None:
                            problems.append((r, col_abs, key, v, ov[0], ov[1], ov[2]))
                        bad_idx.add(idx)
                        append(None)
                        continue
                    try:
                        append(conv(v))
                    except Problem as p:
                        problems.append((r, col_abs, key, v, p.code, p.hint, p.params))
                        bad_idx.add(idx)
                        append(None)
            conv_cols.append(converted)

        repeat_cols: list[list[list[Any]]] = []
        for key, rep_items, conv in repeat_plan:
            lists: list[list[Any]] = []
            for idx, vals in enumerate(c_raw):
                r = c_nums[idx]
                lst: list[Any] = []
                seen_in_row: set[Any] = set()
                for _, i in rep_items:
                    col_abs = i + offset
                    v = vals[i]
                    if (r, col_abs) in overlay:
                        ov = overlay[(r, col_abs)]
                        if ov is not None:
                            problems.append((r, col_abs, key, v, ov[0], ov[1], ov[2]))
                        bad_idx.add(idx)
                        continue
                    try:
                        x = conv(v)
                    except Problem as p:
                        problems.append((r, col_abs, key, v, p.code, p.hint, p.params))
                        bad_idx.add(idx)
                        continue
                    if x is MISSING:
                        continue
                    if x in seen_in_row:
                        problems.append((r, col_abs, key, v, "duplicate_in_row", "duplicate_in_row_hint",
                                         {"value": display_value(x)}))
                        bad_idx.add(idx)
                        continue
                    seen_in_row.add(x)
                    lst.append(x)
                lists.append(lst)
            repeat_cols.append(lists)

        # ---- rows blank as far as this format is concerned (values only in ignored columns) ---------------
        n = len(c_raw)
        if n and all(MISSING in c for c in conv_cols):
            blank = [idx for idx, tup in enumerate(zip(*conv_cols)) if tup.count(MISSING) == n_cols
                     and idx not in bad_idx and not any(rc[idx] for rc in repeat_cols)]
            if blank:
                drop = set(blank)
                keep = [idx for idx in range(n) if idx not in drop]
                c_nums = [c_nums[idx] for idx in keep]
                c_raw = [c_raw[idx] for idx in keep]
                conv_cols = [[c[idx] for idx in keep] for c in conv_cols]
                repeat_cols = [[rc[idx] for idx in keep] for rc in repeat_cols]
                remap = {old: new for new, old in enumerate(keep)}
                bad_idx = {remap[b] for b in bad_idx if b in remap}
                n = len(c_raw)
        total_rows += n
        if total_rows > max_rows:
            raise TooManyRowsError(msg("too_many_rows", sheet=sheet_name, limit=max_rows), sheet=sheet_name,
                                   limit=max_rows)

        # ---- required values and defaults -----------------------------------------------------------------
        for j, c in defaults:
            col = conv_cols[j]
            if MISSING not in col:
                continue
            if c.required:
                i = plan[j][1]
                for idx, x in enumerate(col):
                    if x is MISSING:
                        problems.append((c_nums[idx], i + offset, c.key, "", "required", "required_hint", {}))
                        bad_idx.add(idx)
                        col[idx] = None
            else:
                d = None if callable(c.default) else c.default
                conv_cols[j] = [d if x is MISSING else x for x in col]

        columns: list[Any] = list(conv_cols) + list(repeat_cols)
        for c in absent:
            columns.append(repeat([] if c.repeat else (None if callable(c.default) else c.default)))
        c_records = [dict(zip(all_keys, t)) for t in zip(*columns)] if n else []
        if absent_lists:
            for rec in c_records:
                for k in absent_lists:
                    rec[k] = []
        if callable_defaults:
            for rec in c_records:
                for c in callable_defaults:
                    if rec.get(c.key) is None:
                        rec[c.key] = c.default(rec)

        # ---- row rules ------------------------------------------------------------------------------------
        if has_rules:
            _row_rules(spec, c_records, c_nums, c_raw, bad_idx, problems, col_of, offset, by_key, present,
                       same_within, first_problem)
        for group, seen in zip(spec.unique, unique_seen):
            _unique_rule(spec, group, c_records, c_nums, c_raw, bad_idx, problems, col_of, offset, by_key, seen)
        if row_validator is not None:
            for idx, rec in enumerate(c_records):
                if idx in bad_idx:
                    continue
                rownum = c_nums[idx]
                for e in row_validator(rec, rownum) or ():
                    key = e.key
                    col_abs = col_of.get(key) if key else None
                    raw_v = c_raw[idx][col_abs - offset] if col_abs is not None else None
                    row_errors.append(e.completed(sheet=sheet_name, row=rownum,
                                                  column=column_letter(col_abs) if col_abs is not None else None,
                                                  header=titles.get(col_abs) if col_abs is not None else None,
                                                  value=raw_v))
                    bad_idx.add(idx)
        if not problems and not row_errors:
            records.extend(c_records)
            rownums.extend(c_nums)
    result.data_row_count = total_rows

    # ---- errors or rows ---------------------------------------------------------------------------------------
    if problems or row_errors:
        total = len(problems) + len(row_errors)
        problems.sort(key=lambda p: (p[0], p[1]))
        errors = [
            CellError(sheet=sheet_name, row=r, column=column_letter(c), header=titles.get(c), value=v, code=code,
                      message=msg(code, **_display_params(params)),
                      hint=msg(hint, **_display_params(params)) if hint else None, key=key)
            for (r, c, key, v, code, hint, params) in problems[:limits.max_errors]
        ]
        errors.extend(row_errors)
        errors.sort(key=lambda e: (e.row or 0, len(e.column or ""), e.column or ""))
        if total > limits.max_errors:
            del errors[limits.max_errors:]
            result.errors_truncated = True
            result.notices.append(Notice("errors_truncated", msg("errors_truncated", limit=limits.max_errors),
                                         {"total": total}))
        result.errors = errors
        return result
    if total_rows == 0 and not allow_empty:
        raise EmptySheetError(msg("no_data_rows", sheet=sheet_name), code="no_data_rows", sheet=sheet_name)
    result.rows = records
    result.row_numbers = rownums
    return result


def _data_chunks(items: Iterable[tuple[int, list[Any]]], need: int, size: int | None, early_limit: int,
                 sheet_name: str, max_rows: int) -> Iterator[tuple[list[int], list[list[Any]]]]:
    """The non-empty rows of ``items`` (padded to ``need`` values) in chunks of ``size`` rows (None: one chunk)."""
    items = iter(items)
    count = 0
    all_nums: list[int] = []
    all_rows: list[list[Any]] = []
    while True:
        block = list(islice(items, size or CHUNK_ROWS))
        if not block:
            break
        rownums = list(map(itemgetter(0), block))
        raw_rows = list(map(itemgetter(1), block))
        lens = list(map(len, raw_rows))
        if any(map(eq, map(list.count, raw_rows, repeat("")), lens)):  # blank rows (every value "")
            keep = [k for k, vals in enumerate(raw_rows) if vals.count("") != lens[k]]
            rownums = [rownums[k] for k in keep]
            raw_rows = [raw_rows[k] for k in keep]
            lens = [lens[k] for k in keep]
        if lens and min(lens) < need:
            raw_rows = [vals if len(vals) >= need else list(vals) + [""] * (need - len(vals)) for vals in raw_rows]
        count += len(raw_rows)
        if count > early_limit:
            raise TooManyRowsError(msg("too_many_rows", sheet=sheet_name, limit=max_rows), sheet=sheet_name,
                                   limit=max_rows)
        if size is None:
            all_nums.extend(rownums)
            all_rows.extend(raw_rows)
        elif raw_rows:
            yield rownums, raw_rows
    if size is None:
        yield all_nums, all_rows


def _display_params(params: dict[str, Any]) -> dict[str, Any]:
    if "value" in params and not isinstance(params["value"], str):
        params = dict(params)
        params["value"] = display_value(params["value"])
    return params


def _row_rules(spec: SheetSpec, records: list[dict[str, Any]], rownums: list[int], raw_rows: list[list[Any]],
               bad_idx: set[int], problems: list[Any], col_of: dict[str, int], offset: int,
               by_key: dict[str, Column], present: set[str],
               same_within: list[tuple[tuple[str, str], dict[Any, tuple[Any, int]]]], first_problem: int) -> None:
    """The row rules on one chunk of rows; ``same_within`` holds the first value per group seen so far and
    ``problems[first_problem:]`` are those of this chunk's rows."""
    one_of = [([alt for alt in alts if all(k in present for k in alt)], alts) for alts in spec.one_of]
    if records and one_of and not (spec.together or spec.ordered or spec.same_within):
        # the common case: an alternative filled in on every row of the chunk (e.g. every row has its code)
        def filled(alt: Sequence[str]) -> bool:
            return all(None not in [rec.get(k) for rec in records] for k in alt)

        if all(any(filled(alt) for alt in alts) for _, alts in one_of):
            return
    bad_cells = {(p[0], p[2]) for p in problems[first_problem:]}
    for idx, rec in enumerate(records):
        rownum = rownums[idx]
        vals = raw_rows[idx]

        def add(key: str, code: str, hint: str | None, params: dict[str, Any], raw: Any = "") -> None:
            problems.append((rownum, col_of[key], key, raw, code, hint, params))
            bad_idx.add(idx)

        for present_alts, alts in one_of:
            if not any(all(rec.get(k) is not None for k in alt) for alt in alts):
                first_alt = present_alts[0] if present_alts else alts[0]
                missing_keys = [k for k in first_alt if rec.get(k) is None and k in col_of]
                if not missing_keys or any((rownum, k) in bad_cells for alt in alts for k in alt):
                    continue  # an alternative is there but wrong: that error is already reported
                headers = "、".join(by_key[k].zh for k in missing_keys)
                add(missing_keys[0], "one_of_required", "one_of_required_hint",
                    {"headers": headers, "options": _alternatives_text(spec, alts)})
        for group in spec.together:
            filled = [k for k in group if rec.get(k) is not None]
            if filled and len(filled) != len(group):
                for k in group:
                    if rec.get(k) is None and k in col_of:
                        add(k, "together_required", "together_required_hint",
                            {"header": by_key[k].zh, "others": "、".join(by_key[x].zh for x in filled),
                             "headers": "、".join(by_key[x].zh for x in group)})
        for group, mode in spec.ordered:
            prev_key = None
            for k in group:
                v = rec.get(k)
                if v is None:
                    continue
                if prev_key is not None:
                    pv = rec[prev_key]
                    wrong = (mode == "increasing" and not v > pv) or (mode == "decreasing" and not v < pv) or \
                        (mode == "nondecreasing" and v < pv)
                    if wrong and k in col_of:
                        add(k, f"order_{mode}", "order_hint",
                            {"header": by_key[k].zh, "previous": by_key[prev_key].zh,
                             "previous_value": display_value(pv), "headers": "、".join(by_key[x].zh for x in group)},
                            vals[col_of[k] - offset])
                prev_key = k
        for (gk, vk), firsts in same_within:
            g = rec.get(gk)
            if g is None:
                continue
            v = rec.get(vk)
            first = firsts.get(g)
            if first is None:
                firsts[g] = (v, rownum)
            elif first[0] != v and vk in col_of:
                add(vk, "inconsistent_within", "inconsistent_within_hint",
                    {"header": by_key[vk].zh, "first_row": first[1], "first_value": display_value(first[0]),
                     "group": by_key[gk].zh, "group_value": display_value(g)}, vals[col_of[vk] - offset])


def _unique_rule(spec: SheetSpec, group: tuple[str, ...], records: list[dict[str, Any]], rownums: list[int],
                 raw_rows: list[list[Any]], bad_idx: set[int], problems: list[Any], col_of: dict[str, int],
                 offset: int, by_key: dict[str, Column], seen: dict[Any, int]) -> None:
    """The unique rule on one chunk of rows; ``seen`` maps each key value of the rows before to its first row."""
    if not records or group[0] not in col_of:
        return
    if len(group) == 1:
        k = group[0]
        values: list[Any] = [rec[k] for rec in records]
    else:
        get = itemgetter(*group)
        values = [get(rec) for rec in records]
    distinct = set(values)
    if len(distinct) == len(values) and seen.keys().isdisjoint(distinct):
        # no two rows alike (blank parts included): nothing to report, only the first rows to remember
        if len(group) == 1:
            seen.update(zip(values, rownums))
            seen.pop(None, None)
        else:
            seen.update((v, r) for v, r in zip(values, rownums) if None not in v)
        return
    k0 = group[0]
    headers = "、".join(by_key[k].zh for k in group)
    for idx, v in enumerate(values):
        if v is None or (type(v) is tuple and None in v):
            continue
        first = seen.get(v)
        if first is None:
            seen[v] = rownums[idx]
            continue
        problems.append((rownums[idx], col_of[k0], k0, raw_rows[idx][col_of[k0] - offset], "duplicate",
                         "duplicate_hint", {"headers": headers, "first_row": first}))
        bad_idx.add(idx)


def _alternatives_text(spec: SheetSpec, alternatives: Sequence[Sequence[str]]) -> str:
    parts = []
    for alt in alternatives:
        parts.append(" + ".join(spec.column(k).zh for k in alt))
    return " | ".join(parts)
