"""File containers: format sniffing, zip-bomb and size checks, and XML scans python-calamine cannot do.

Everything here runs BEFORE python-calamine parses the file:

* the byte size, then for zip formats (xlsx, ods) the declared total uncompressed size and compression ratio, then
  a streaming inflate of every member that counts the real output (a member that unpacks to more than it declares,
  overlapping members, or a total above the limit stop the read) — nothing is ever fully unpacked into memory just
  to be measured;
* for the sheets that will be read: row count and the largest row/column referenced (python-calamine allocates a
  dense grid from the first to the last referenced cell, so a single cell at XFD1048576 would exhaust memory), and
  whether formulas or Excel error values occur; when they do, a second pass finds formulas without a cached value
  (python-calamine reads them as empty) and error cells (read as empty too);
* for ods, content.xml is scanned for repeated rows/columns, merged (spanned) cells and formulas without values.
"""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .errors import (
    EncryptedFileError,
    FileTooLargeError,
    Notice,
    TooManyColumnsError,
    TooManyRowsError,
    UnsupportedFormatError,
    ZipBombError,
    corrupt,
)
from .messages import msg
from .spec import Limits

__all__ = [
    "sniff_format",
    "check_size",
    "ZipArchive",
    "SheetInfo",
    "SheetFlags",
    "xlsx_sheets",
    "scan_ods_content",
    "column_letter",
    "column_index",
    "ROW_SLACK",
]

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"

# Row elements a sheet may hold beyond max_rows before the pre-check rejects it (header rows, blank/formatted rows);
# the exact count of data rows is checked again while reading.
ROW_SLACK = 1000


def human_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def column_letter(index0: int) -> str:
    """0-based column index → Excel letters (0 → A, 26 → AA)."""
    n = index0 + 1
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def column_index(letters: str | bytes) -> int:
    """Excel letters → 0-based index."""
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def check_size(data: bytes, limits: Limits) -> None:
    if len(data) > limits.max_bytes:
        raise FileTooLargeError(msg("file_too_large", size=human_size(len(data)), limit=human_size(limits.max_bytes)),
                                size=len(data), limit=limits.max_bytes)


def sniff_format(data: bytes, filename: str) -> str:
    """'xlsx', 'ods', 'xls' or 'csv', decided from the bytes (the file name only tells csv from garbage)."""
    name = (filename or "").lower()
    head = data[:8]
    if head[:4] in ZIP_MAGIC:
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            names = set(zf.namelist())
            if "mimetype" in names:
                info = zf.getinfo("mimetype")
                if info.file_size <= 200 and zf.read("mimetype").strip().startswith(ODS_MIME):
                    return "ods"
            if "xl/workbook.xml" in names or any(n.lower() == "xl/workbook.xml" for n in names):
                return "xlsx"
            if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
                return "xlsx"  # workbook part under another name: resolved through the relationships
        except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, NotImplementedError, OSError,
                EOFError):
            raise corrupt() from None
        raise UnsupportedFormatError(msg("unsupported_format", filename=filename))
    if head == OLE_MAGIC:
        if "EncryptedPackage".encode("utf-16-le") in data:  # an encrypted xlsx is an OLE container
            raise EncryptedFileError(msg("encrypted_file"))
        return "xls"
    if name.endswith((".csv", ".txt")):
        return "csv"
    if name.endswith((".xlsx", ".xlsm", ".xls", ".ods", ".et")):
        raise corrupt()
    raise UnsupportedFormatError(msg("unsupported_format", filename=filename))


# ---------------------------------------------------------------------------------------------------------------------
# zip archives
# ---------------------------------------------------------------------------------------------------------------------


class ZipArchive:
    """A zip held in memory, checked against the limits before anything is unpacked."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.data = data
        self.limits = limits
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            self.infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
            raise corrupt() from None
        self._by_name = {i.filename: i for i in self.infos}
        declared = sum(i.file_size for i in self.infos)
        compressed = max(1, sum(i.compress_size for i in self.infos))
        if declared > limits.max_uncompressed_bytes:
            raise ZipBombError(msg("too_big_unpacked", limit=human_size(limits.max_uncompressed_bytes)),
                               declared=declared)
        if declared > limits.ratio_floor_bytes and declared / compressed > limits.max_compression_ratio:
            raise ZipBombError(msg("suspicious_compression", ratio=f"{declared / compressed:.0f}"),
                               ratio=round(declared / compressed))
        for i in self.infos:
            if i.flag_bits & 0x1:
                raise EncryptedFileError(msg("encrypted_file"))
            if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise corrupt(member=i.filename)
        self.inflated_total = 0

    def names(self) -> list[str]:
        return [i.filename for i in self.infos]

    def has(self, name: str) -> bool:
        return name in self._by_name

    def _raw(self, info: zipfile.ZipInfo) -> memoryview:
        off = info.header_offset
        d = self.data
        if d[off:off + 4] != b"PK\x03\x04" or off + 30 > len(d):
            raise corrupt(member=info.filename)
        name_len, extra_len = struct.unpack("<HH", d[off + 26:off + 30])
        start = off + 30 + name_len + extra_len
        end = start + info.compress_size
        if end > len(d):
            raise corrupt(member=info.filename)
        return memoryview(d)[start:end]

    def stream(self, name: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        """Inflate member ``name`` chunk by chunk, counting the real output against the declared and total limits."""
        info = self._by_name[name]
        raw = self._raw(info)
        produced = 0
        declared = info.file_size
        limit = self.limits.max_uncompressed_bytes

        def account(n: int) -> None:
            nonlocal produced
            produced += n
            self.inflated_total += n
            if produced > declared:
                raise ZipBombError(msg("too_big_unpacked", limit=human_size(limit)), member=name,
                                   declared=declared)
            if self.inflated_total > limit:
                raise ZipBombError(msg("too_big_unpacked", limit=human_size(limit)), member=name)

        if info.compress_type == zipfile.ZIP_STORED:
            for i in range(0, len(raw), chunk):
                piece = bytes(raw[i:i + chunk])
                account(len(piece))
                yield piece
        else:
            dec = zlib.decompressobj(-15)
            out_max = 4 * chunk
            try:
                for i in range(0, len(raw), chunk):
                    buf = raw[i:i + chunk]
                    while buf:
                        out = dec.decompress(buf, out_max)
                        if out:
                            account(len(out))
                            yield out
                        buf = dec.unconsumed_tail
                        if dec.eof:
                            break
                    if dec.eof:
                        break
                tail = dec.flush()
                if tail:
                    account(len(tail))
                    yield tail
            except zlib.error:
                raise corrupt(member=name) from None
        if produced != declared:
            raise corrupt(member=name)

    def read(self, name: str, max_size: int | None = None) -> bytes:
        info = self._by_name.get(name)
        if info is None:
            raise KeyError(name)
        if max_size is not None and info.file_size > max_size:
            raise corrupt(member=name)
        return b"".join(self.stream(name))

    def inflate_all(self, scanners: dict[str, Callable[[bytes], None]] | None = None) -> None:
        """Inflate every member once (counting real sizes); feed the chunks of the members in ``scanners``."""
        scanners = scanners or {}
        for info in self.infos:
            if info.is_dir():
                continue
            feed = scanners.get(info.filename)
            for piece in self.stream(info.filename):
                if feed is not None:
                    feed(piece)


_DOCTYPE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)


def parse_small_xml(arc: ZipArchive, name: str, max_size: int = 16 << 20) -> ET.Element:
    data = arc.read(name, max_size=max_size)
    if _DOCTYPE.search(data):
        raise corrupt(member=name)
    try:
        return ET.fromstring(data)
    except ET.ParseError:
        raise corrupt(member=name) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(el: ET.Element, local: str) -> str | None:
    for k, v in el.attrib.items():
        if _local(k) == local:
            return v
    return None


@dataclass
class SheetInfo:
    name: str
    state: str = "visible"  # visible | hidden | veryHidden
    path: str | None = None  # zip member of an xlsx worksheet
    is_worksheet: bool = True


def _resolve(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = [p for p in base_dir.split("/") if p]
    for seg in target.split("/"):
        if seg == "..":
            if parts:
                parts.pop()
        elif seg and seg != ".":
            parts.append(seg)
    return "/".join(parts)


def xlsx_sheets(arc: ZipArchive) -> tuple[list[SheetInfo], bool, list[Notice]]:
    """Sheets of an xlsx in workbook order, whether it uses the 1904 date system, and notices."""
    notices: list[Notice] = []
    wb_path = "xl/workbook.xml"
    if arc.has("_rels/.rels"):
        root = parse_small_xml(arc, "_rels/.rels")
        for rel in root:
            if (rel.get("Type") or "").endswith("/officeDocument"):
                wb_path = _resolve("", rel.get("Target") or wb_path)
                break
    if not arc.has(wb_path):
        raise corrupt()
    wb_dir = wb_path.rsplit("/", 1)[0] if "/" in wb_path else ""
    rels_path = f"{wb_dir}/_rels/{wb_path.rsplit('/', 1)[-1]}.rels" if wb_dir else f"_rels/{wb_path}.rels"
    targets: dict[str, tuple[str, str]] = {}
    if arc.has(rels_path):
        for rel in parse_small_xml(arc, rels_path):
            rid = rel.get("Id")
            if rid:
                targets[rid] = (rel.get("Type") or "", _resolve(wb_dir, rel.get("Target") or ""))
    root = parse_small_xml(arc, wb_path)
    date1904 = False
    sheets: list[SheetInfo] = []
    for el in root.iter():
        tag = _local(el.tag)
        if tag == "workbookPr":
            date1904 = (el.get("date1904") or "").lower() in ("1", "true")
        elif tag == "sheet":
            rid = _attr(el, "id")
            typ, path = targets.get(rid or "", ("", None))
            sheets.append(SheetInfo(name=el.get("name") or "", state=el.get("state") or "visible", path=path,
                                    is_worksheet=typ.endswith("/worksheet") and path is not None and arc.has(path)))
    names = arc.names()
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        notices.append(Notice("macros_ignored", msg("macros_ignored")))
    if any("externallinks/" in n.lower() for n in names):
        notices.append(Notice("external_links_ignored", msg("external_links_ignored")))
    return sheets, date1904, notices


# ---------------------------------------------------------------------------------------------------------------------
# sheet XML scans
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class SheetFlags:
    """Problems python-calamine hides, by (Excel row number, 0-based column)."""

    formula_missing: set[tuple[int, int]] = field(default_factory=set)
    error_values: dict[tuple[int, int], str] = field(default_factory=dict)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # r1, c1, r2, c2 (rows 1-based, incl.)
    row_elements: int = 0


class XlsxSheetScanner:
    """Streaming pre-check of one worksheet part: rows, far-away cells, and whether a detailed scan is needed.

    Cost matters (it runs on every upload), so each chunk gets a handful of C-speed searches: a count of row
    elements, one regex for references to rows past the limit or columns past ZZ/the column limit (any attribute
    ending in ``r="`` is looked at, whatever separates it), and searches for formulas, error cells and cells without
    a reference (whose position only a full scan can tell).
    """

    def __init__(self, sheet_name: str, limits: Limits) -> None:
        self.sheet = sheet_name
        self.limits = limits
        self.max_rows = limits.max_rows + ROW_SLACK
        self.row_digits = len(str(self.max_rows))
        self.rows = 0
        self.prefix: bytes | None = None
        self.needs_detail = False   # formulas, error cells or cells without a reference
        self.bare_cells = False
        self._tail = b""
        self._pending = b""
        # columns beyond the limit: three letters, or two letters from the first "XA" at or past the limit
        # (a bound on memory, not a business rule: up to 25 columns past the limit may slip through here)
        first = next((ch for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if column_index(ch + "A") >= limits.max_columns), None)
        wide = rb"[A-Z]{3}" + (rb"|[%s-Z][A-Z]" % first.encode() if first else b"")
        self._refs = re.compile(rb'r="([A-Z]{0,3})(\d{%d,})"|r="(%s)\d' % (self.row_digits, wide))
        self._detail: re.Pattern[bytes] | None = None
        self._bare_cell = b"<c>"

    def __call__(self, chunk: bytes) -> None:
        if self.prefix is None:
            buf = self._pending + chunk
            m = re.search(rb"<(\w+:)?worksheet\b", buf)
            if m is None and len(buf) < 4096:
                self._pending = buf
                return
            self._pending = b""
            self.prefix = (m.group(1) or b"") if m else b""
            self._set_detail(self.prefix)
            tail_len = 0
        else:
            buf = self._tail + chunk
            tail_len = len(self._tail)
        p = self.prefix
        # counts: matches lying entirely in the tail were counted with the previous chunk
        self.rows += _count_new(buf, b"<" + p + b"row ", tail_len) + _count_new(buf, b"<" + p + b"row>", tail_len)
        if self.rows > self.max_rows:
            raise TooManyRowsError(msg("too_many_rows", sheet=self.sheet, limit=self.limits.max_rows),
                                   sheet=self.sheet, limit=self.limits.max_rows)
        for m in self._refs.finditer(buf):
            if m.group(2) is not None and int(m.group(2)) > self.max_rows:
                raise TooManyRowsError(msg("too_many_rows", sheet=self.sheet, limit=self.limits.max_rows),
                                       sheet=self.sheet, limit=self.limits.max_rows)
            letters = m.group(3) or m.group(1)
            if letters and column_index(letters) >= self.limits.max_columns:
                raise TooManyColumnsError(msg("too_many_columns", sheet=self.sheet, limit=self.limits.max_columns),
                                          sheet=self.sheet, limit=self.limits.max_columns)
        if self._detail is not None and not self.bare_cells and self._bare_cell in buf:
            self.bare_cells = True  # cells without reference: only the full scan can place them
            self.needs_detail = True
        if not self.needs_detail and self._detail is not None and (
                self._detail.search(buf) or b't="e"' in buf):
            self.needs_detail = True
        self._tail = buf[-48:]

    def _set_detail(self, prefix: bytes) -> None:
        # separate searches: a regex with a literal start is scanned fast, an alternation is not
        self._detail = re.compile(rb"<%sf[\s>/]" % re.escape(prefix))
        self._bare_cell = b"<" + prefix + b"c>"

    def finish(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, b""
            self.prefix = b""
            self._set_detail(b"")
            self._tail = b""
            self(pending)


def _count_new(buf: bytes, pat: bytes, tail_len: int) -> int:
    n = buf.count(pat)
    if tail_len >= len(pat):
        n -= buf[:tail_len].count(pat)
    return n


_CELL_OPEN = re.compile(rb"<(?:\w+:)?c(?=[\s/>])([^>]*?)(/?)>")
_ROW_OPEN = re.compile(rb"<(?:\w+:)?row(?=[\s/>])([^>]*?)(/?)>")
_R_ATTR = re.compile(rb'\sr\s*=\s*"([A-Z]{1,3})(\d+)"')
_ROW_R_ATTR = re.compile(rb'\sr\s*=\s*"(\d+)"')
_T_ATTR = re.compile(rb'\st\s*=\s*"(\w+)"')
_TOKENS = re.compile(rb"<(?:\w+:)?(row|c|f|v)(?=[\s/>])([^>]*?)(/?)>|</(?:\w+:)?(c|row|v)>")


def xlsx_targeted_scan(xml: bytes, limits: Limits, sheet: str, prefix: bytes = b"") -> SheetFlags | None:
    """Fast path of ``xlsx_detail_scan``: look only at the cells around each formula and error value.

    Returns None when a cell without an ``r`` reference is met (its position needs the full scan)."""
    flags = SheetFlags()
    p = re.escape(prefix)
    cell_open = re.compile(rb"<%sc(?=[\s/>])([^>]*?)(/?)>" % p)
    v_elem = re.compile(rb"<%sv(?:\s[^>]*)?(?:/>|>(.*?)</%sv>)" % (p, p), re.S)
    c_close = b"</" + prefix + b"c>"
    starts = (b"<" + prefix + b"c ", b"<" + prefix + b"c>")
    seen: set[int] = set()

    def cell_at(pos: int) -> tuple[int, int, bytes, bytes] | None | bool:
        lo = max(0, pos - 4096)  # the <f> or t="e" sits right after the cell's start tag
        cstart = max(xml.rfind(starts[0], lo, pos), xml.rfind(starts[1], lo, pos))
        if cstart < 0 or cstart in seen:
            return False
        seen.add(cstart)
        m = cell_open.match(xml, cstart)
        if m is None or m.group(2):
            return False
        rm = _R_ATTR.search(m.group(1))
        if rm is None:
            return None
        end = xml.find(c_close, m.end())
        if end < 0:
            return False
        tm = _T_ATTR.search(m.group(1))
        return int(rm.group(2)), column_index(rm.group(1)), (tm.group(1) if tm else b""), xml[m.end():end]

    for m in re.finditer(rb"<%sf[\s>/]" % p, xml):
        cell = cell_at(m.start())
        if cell is None:
            return None
        if cell is False:
            continue
        row, col, t, body = cell
        vm = v_elem.search(body)
        has_v = vm is not None and (bool(vm.group(1)) or t == b"str")
        if not has_v:
            flags.formula_missing.add((row, col))
        elif t == b"e":
            flags.error_values[(row, col)] = vm.group(1).decode("utf-8", "replace")
    for m in re.finditer(rb'\st\s*=\s*"e"', xml):
        cell = cell_at(m.start())
        if cell is None:
            return None
        if cell is False:
            continue
        row, col, t, body = cell
        vm = v_elem.search(body)
        if vm is not None and vm.group(1):
            flags.error_values[(row, col)] = vm.group(1).decode("utf-8", "replace")
    for (row, col) in list(flags.formula_missing) + list(flags.error_values):
        if row > limits.max_rows + ROW_SLACK:
            raise TooManyRowsError(msg("too_many_rows", sheet=sheet, limit=limits.max_rows), sheet=sheet,
                                   limit=limits.max_rows)
    return flags


def xlsx_detail_scan(xml: bytes, limits: Limits, sheet: str) -> SheetFlags:
    """Find formula cells without a cached value and Excel error cells; also checks far-away references when
    attributes are not separated by plain spaces.  Positions follow the implicit numbering of OOXML when ``r``
    attributes are missing."""
    flags = SheetFlags()
    row = 0
    col = -1
    in_cell = False
    cell_has_f = False
    cell_t = b""
    v_start = -1
    v_text = b""
    has_v = False
    max_rows = limits.max_rows + ROW_SLACK
    for m in _TOKENS.finditer(xml):
        name, attrs, selfclose, end = m.group(1), m.group(2), m.group(3), m.group(4)
        if name == b"row":
            rm = _ROW_R_ATTR.search(attrs or b"")
            row = int(rm.group(1)) if rm else row + 1
            if row > max_rows:
                raise TooManyRowsError(msg("too_many_rows", sheet=sheet, limit=limits.max_rows), sheet=sheet,
                                       limit=limits.max_rows)
            col = -1
        elif name == b"c":
            rm = _R_ATTR.search(attrs or b"")
            if rm:
                col = column_index(rm.group(1))
                row = int(rm.group(2))
                if row > max_rows:
                    raise TooManyRowsError(msg("too_many_rows", sheet=sheet, limit=limits.max_rows), sheet=sheet,
                                           limit=limits.max_rows)
            else:
                col += 1
            if col >= limits.max_columns:
                raise TooManyColumnsError(msg("too_many_columns", sheet=sheet, limit=limits.max_columns),
                                          sheet=sheet, limit=limits.max_columns)
            tm = _T_ATTR.search(attrs or b"")
            cell_t = tm.group(1) if tm else b""
            cell_has_f = False
            has_v = False
            v_text = b""
            in_cell = not selfclose
        elif name == b"f" and in_cell:
            cell_has_f = True
        elif name == b"v" and in_cell:
            if selfclose:
                has_v = cell_t == b"str"  # <v/> is a cached empty string only for string results
            else:
                v_start = m.end()
        elif end == b"v" and in_cell and v_start >= 0:
            v_text = xml[v_start:m.start()]
            has_v = bool(v_text) or cell_t == b"str"
            v_start = -1
        elif end == b"c" and in_cell:
            in_cell = False
            if cell_has_f and not has_v:
                flags.formula_missing.add((row, col))
            elif cell_t == b"e" and has_v:
                flags.error_values[(row, col)] = v_text.decode("utf-8", "replace")
    return flags


# ---------------------------------------------------------------------------------------------------------------------
# ods content.xml
# ---------------------------------------------------------------------------------------------------------------------

_ODS_TOKENS = re.compile(
    rb"<table:(table|table-row|table-cell|covered-table-cell)(?=[\s/>])([^>]*?)(/?)>|</table:(table|table-row)>")
_ODS_INT_ATTR = {
    name: re.compile(rb'table:%s\s*=\s*"(\d+)"' % name)
    for name in (b"number-rows-repeated", b"number-columns-repeated", b"number-columns-spanned",
                 b"number-rows-spanned")
}
_ODS_NAME = re.compile(rb'table:name\s*=\s*"([^"]*)"')


@dataclass
class OdsSheetScan:
    name: str
    data_rows: int = 0
    width: int = 0
    flags: SheetFlags = field(default_factory=SheetFlags)


def _int_attr(attrs: bytes, name: bytes, default: int = 1) -> int:
    m = _ODS_INT_ATTR[name].search(attrs)
    return int(m.group(1)) if m else default


def scan_ods_content(xml: bytes, limits: Limits) -> dict[str, OdsSheetScan]:
    """Rows, width, merged ranges and formulas without values of every table in an ods content.xml."""
    import html

    if _DOCTYPE.search(xml[:4096]):
        raise corrupt(member="content.xml")
    sheets: dict[str, OdsSheetScan] = {}
    cur: OdsSheetScan | None = None
    row = 0          # last Excel row number used
    row_start = 0
    row_rep = 1
    col = 0
    row_has_value = False
    row_width = 0
    max_rows = limits.max_rows + ROW_SLACK

    def finish_row() -> None:
        nonlocal row_has_value
        if cur is not None and row_has_value:
            cur.data_rows = row_start + row_rep - 1
            cur.width = max(cur.width, row_width)
            if cur.data_rows > max_rows:
                raise TooManyRowsError(msg("too_many_rows", sheet=cur.name, limit=limits.max_rows), sheet=cur.name,
                                       limit=limits.max_rows)
            if cur.width > limits.max_columns:
                raise TooManyColumnsError(msg("too_many_columns", sheet=cur.name, limit=limits.max_columns),
                                          sheet=cur.name, limit=limits.max_columns)
        row_has_value = False

    for m in _ODS_TOKENS.finditer(xml):
        name, attrs, selfclose, end = m.group(1), m.group(2) or b"", m.group(3), m.group(4)
        if name == b"table":
            nm = _ODS_NAME.search(attrs)
            sname = html.unescape(nm.group(1).decode("utf-8", "replace")) if nm else f"Sheet{len(sheets) + 1}"
            cur = OdsSheetScan(sname)
            sheets[sname] = cur
            row = 0
        elif end == b"table":
            cur = None
        elif name == b"table-row":
            row_start = row + 1
            row_rep = _int_attr(attrs, b"number-rows-repeated")
            row = row + row_rep
            col = 0
            row_width = 0
            row_has_value = False
            if selfclose:
                finish_row()
        elif end == b"table-row":
            finish_row()
        elif name in (b"table-cell", b"covered-table-cell"):
            rep = _int_attr(attrs, b"number-columns-repeated")
            if name == b"table-cell" and cur is not None:
                valued = b"office:value-type" in attrs
                if valued:
                    row_has_value = True
                    row_width = col + rep
                    if row_rep * rep > 1 and (row_rep * rep) > limits.max_cells:
                        raise TooManyColumnsError(msg("too_many_cells", sheet=cur.name, limit=limits.max_cells),
                                                  sheet=cur.name, limit=limits.max_cells)
                if b"table:formula" in attrs and not valued:
                    for k in range(rep):
                        cur.flags.formula_missing.add((row_start, col + k))
                    row_has_value = True
                    row_width = max(row_width, col + rep)
                cs = _int_attr(attrs, b"number-columns-spanned")
                rs = _int_attr(attrs, b"number-rows-spanned")
                if cs > 1 or rs > 1:
                    cur.flags.merged.append((row_start, col, row_start + rs - 1, col + cs - 1))
            col += rep
            if col > 1 << 20:
                raise corrupt(member="content.xml")
    return sheets
