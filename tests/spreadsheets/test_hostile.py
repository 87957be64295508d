"""Limits and hostile files: every rejection is a SpreadsheetError with a user message, checked before parsing."""

from __future__ import annotations

import io
import struct
import time
import zipfile

import pytest

import python_calamine
from app.spreadsheets import (
    CorruptFileError,
    CsvEncodingError,
    EmptyFileError,
    EncryptedFileError,
    FileTooLargeError,
    Limits,
    SpreadsheetError,
    TooManyColumnsError,
    TooManyRowsError,
    UnsupportedFormatError,
    ZipBombError,
    read_table,
)
from app.spreadsheets.specs import CATALOG

from .conftest import xlsx

MiB = 1024 * 1024
CT = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
      b'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')
WB = (b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
      b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
      b'<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
WB_RELS = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
           b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
           b'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
ROOT_RELS = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
             b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
             b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
SHEET_HEAD = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
SHEET_TAIL = b"</sheetData></worksheet>"


def raw_xlsx(sheet_writer, *, workbook: bytes = WB) -> bytes:
    """A minimal xlsx whose sheet XML is streamed by ``sheet_writer(write)``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CT)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", WB_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(SHEET_HEAD)
            sheet_writer(f.write)
            f.write(SHEET_TAIL)
    return out.getvalue()


@pytest.fixture
def no_calamine(monkeypatch):
    """Fails the test if python-calamine is asked to parse anything."""

    def boom(*a, **k):
        raise AssertionError("python-calamine must not be reached")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", boom)


def header_row(write) -> None:
    write(b'<row r="1"><c r="A1" t="inlineStr"><is><t>generic_name</t></is></c></row>')


def test_size_is_checked_first(no_calamine):
    data = xlsx([["通用名"], ["x"]])
    with pytest.raises(FileTooLargeError) as exc:
        read_table(data, "a.xlsx", CATALOG, limits=Limits(max_bytes=len(data) - 1))
    assert exc.value.http_status == 413
    assert str(exc.value).startswith("The file is too large (")


@pytest.mark.parametrize("data,name,cls", [
    (b"", "a.xlsx", EmptyFileError),
    (b"%PDF-1.4 hello", "a.pdf", UnsupportedFormatError),
    (b"not a spreadsheet at all", "a.xlsx", CorruptFileError),
    (b"PK\x03\x04" + b"\x00" * 40, "a.xlsx", CorruptFileError),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "EncryptedPackage".encode("utf-16-le"), "a.xlsx",
     EncryptedFileError),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "a.xls", CorruptFileError),
    (b"\x80\x81\xff\xfe\x00", "a.csv", CsvEncodingError),
])
def test_garbage_is_a_clean_rejection(data, name, cls):
    with pytest.raises(cls) as exc:
        read_table(data, name, CATALOG)
    assert isinstance(exc.value, SpreadsheetError) and str(exc.value)
    assert exc.value.to_dict()["message"] == str(exc.value)


def test_truncated_xlsx_is_corrupt():
    data = xlsx([["通用名"], ["x"]])
    with pytest.raises(CorruptFileError):
        read_table(data[: len(data) // 2], "a.xlsx", CATALOG)


def test_csv_with_nul_bytes_is_rejected():
    with pytest.raises(SpreadsheetError) as exc:
        read_table("通用名,剂型\n甲\x00片,片剂\n".encode("utf-8"), "a.csv", CATALOG)
    assert exc.value.code == "csv_malformed"


def test_zip_bomb_declared_size(no_calamine):
    zeros = b"0" * (60 * MiB)
    data = raw_xlsx(lambda w: w(zeros))
    assert len(data) < 200_000  # small on disk
    with pytest.raises(ZipBombError) as exc:
        read_table(data, "bomb.xlsx", CATALOG, limits=Limits(max_uncompressed_bytes=50 * MiB))
    assert exc.value.code == "zip_bomb" and "unpacks to more than 50.0 MiB" in str(exc.value)


def test_zip_bomb_compression_ratio(no_calamine):
    data = raw_xlsx(lambda w: w(b" " * (20 * MiB)))
    with pytest.raises(ZipBombError) as exc:
        read_table(data, "bomb.xlsx", CATALOG)
    assert "compressed suspiciously strongly" in str(exc.value)


def test_zip_bomb_lying_about_its_size(no_calamine):
    data = bytearray(raw_xlsx(lambda w: w(b" " * (5 * MiB))))
    name = b"xl/worksheets/sheet1.xml"
    # patch the declared uncompressed size (local header and central directory) down to 1 KiB
    local = data.find(b"PK\x03\x04")
    pos = 0
    patched = 0
    while True:
        pos = data.find(b"PK\x03\x04", pos)
        if pos < 0:
            break
        n_len = struct.unpack("<H", data[pos + 26:pos + 28])[0]
        if data[pos + 30:pos + 30 + n_len] == name:
            size = struct.unpack("<I", data[pos + 22:pos + 26])[0]
            if size == 0xFFFFFFFF:  # zip64: the real size is in the extra field
                ext = pos + 30 + n_len
                data[ext + 4:ext + 12] = struct.pack("<Q", 1024)
            else:
                data[pos + 22:pos + 26] = struct.pack("<I", 1024)
            patched += 1
        pos += 4
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        n_len, x_len = struct.unpack("<HH", data[pos + 28:pos + 32])
        if data[pos + 46:pos + 46 + n_len] == name:
            size = struct.unpack("<I", data[pos + 24:pos + 28])[0]
            if size == 0xFFFFFFFF:
                ext = pos + 46 + n_len
                data[ext + 4:ext + 12] = struct.pack("<Q", 1024)
            else:
                data[pos + 24:pos + 28] = struct.pack("<I", 1024)
            patched += 1
        pos += 4
    assert patched == 2 and local >= 0
    with pytest.raises((ZipBombError, CorruptFileError)) as exc:
        read_table(bytes(data), "liar.xlsx", CATALOG)
    assert isinstance(exc.value, ZipBombError)


def test_a_million_rows_are_rejected_fast_without_parsing(no_calamine):
    def rows(write):
        header_row(write)
        chunk = []
        for i in range(2, 1_000_002):
            chunk.append(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>' % (i, i))
            if len(chunk) == 50_000:
                write(b"".join(chunk))
                chunk = []
        write(b"".join(chunk))

    data = raw_xlsx(rows)
    t0 = time.perf_counter()
    with pytest.raises(TooManyRowsError) as exc:
        read_table(data, "big.xlsx", CATALOG)  # default limit: 200,000 rows
    assert time.perf_counter() - t0 < 10
    assert str(exc.value) == "The sheet S has more than 200000 data rows. Split it into several files."
    assert exc.value.http_status == 413


@pytest.mark.parametrize("ref,cls", [(b"XFD1048576", TooManyRowsError), (b"XFD5", TooManyColumnsError),
                                     (b"ZZ5", TooManyColumnsError)])
def test_far_away_cell_is_rejected_before_calamine_allocates_the_grid(no_calamine, ref, cls):
    def rows(write):
        header_row(write)
        write(b'<row r="%s"><c r="%s"><v>1</v></c></row>' % (ref.lstrip(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"), ref))

    with pytest.raises(cls):
        read_table(raw_xlsx(rows), "far.xlsx", CATALOG)


def test_doctype_in_workbook_part_is_refused(no_calamine):
    evil = WB.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaa">]>')
    with pytest.raises(CorruptFileError):
        read_table(raw_xlsx(header_row, workbook=evil), "e.xlsx", CATALOG)


def test_ods_repeated_rows_bomb(no_calamine):
    from tests.data.spreadsheets.make_fixtures import build_ods, ods_cell, ods_row

    rows = ods_row(["通用名"]) + ('<table:table-row table:number-rows-repeated="1000000">' + ods_cell("x") +
                                 "</table:table-row>")
    with pytest.raises(TooManyRowsError):
        read_table(build_ods([("S", rows)]), "bomb.ods", CATALOG)


def test_macros_and_external_links_are_ignored_and_noted(data_file):
    src = zipfile.ZipFile(io.BytesIO(data_file("catalog_nasty.xlsx")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i in src.infolist():
            z.writestr(i, src.read(i.filename))
        z.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 fake vba")
        z.writestr("xl/externalLinks/externalLink1.xml", b'<?xml version="1.0"?><externalLink/>')
    t = read_table(out.getvalue(), "m.xlsm", CATALOG)
    assert t.ok and len(t.rows) == 3
    assert {"macros_ignored", "external_links_ignored"} <= {n.code for n in t.notices}
