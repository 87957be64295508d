"""Spreadsheet engine: read, validate, report, template and export tables (pure functions, no Flask app or DB).

Main entry points::

    read_table(data, filename, spec, *, sheet=None, limits=DEFAULT_LIMITS, expect_stamp=None, require_stamp=False,
               row_validator=None, store=None, allow_empty=False) -> ParsedTable
    read_tables(data, filename, specs, ...) -> dict[str, ParsedTable]
    error_report_workbook(original, filename, errors, *, notices=()) -> bytes
    build_template(spec, *, kind, version, project_code=None, issued_at, prefilled_rows=(), readonly_columns=(),
                   extra_sheets=()) -> bytes
    export_table(headers, rows, *, sheet_title) -> bytes ;  export_csv(headers, rows) -> bytes

Canonical sheet kinds (DOMAIN.md §12) are in ``specs``.
"""

from .errors import (
    CellError,
    CorruptFileError,
    CsvEncodingError,
    DuplicateColumnError,
    EmptyFileError,
    EmptySheetError,
    EncryptedFileError,
    FileTooLargeError,
    HeaderNotFoundError,
    MissingColumnsError,
    Notice,
    SheetNotFoundError,
    SpreadsheetError,
    TemplateStampError,
    TooManyColumnsError,
    TooManyRowsError,
    UnsupportedFormatError,
    ZipBombError,
)
from .export import export_csv, export_table, neutralise
from .reader import ParsedTable, read_table, read_tables
from .report import error_report_workbook
from .spec import DEFAULT_LIMITS, Choice, Column, ColumnType, Limits, SheetSpec
from .stamp import TemplateStamp
from .template import build_template

__all__ = [
    "CellError", "Notice", "SpreadsheetError", "CorruptFileError", "CsvEncodingError", "DuplicateColumnError",
    "EmptyFileError", "EmptySheetError", "EncryptedFileError", "FileTooLargeError", "HeaderNotFoundError",
    "MissingColumnsError", "SheetNotFoundError", "TemplateStampError", "TooManyColumnsError", "TooManyRowsError",
    "UnsupportedFormatError", "ZipBombError", "ParsedTable", "read_table", "read_tables", "error_report_workbook",
    "build_template", "export_table", "export_csv", "neutralise", "Limits", "DEFAULT_LIMITS", "Column",
    "ColumnType", "Choice", "SheetSpec", "TemplateStamp",
]
