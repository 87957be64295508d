"""Problems found in an uploaded spreadsheet.

* ``CellError``: one bad cell (sheet, Excel row number, column letter, header, value, code, message, hint).
* ``Notice``: something the user should know that does not reject the file (ignored columns, macros, ...).
* ``SpreadsheetError`` and its subclasses: the whole file is rejected (too large, corrupt, zip bomb, missing
  columns, stale template...).  Each carries a user message; the web layer turns them into 4xx answers.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from .messages import msg

__all__ = [
    "CellError",
    "Notice",
    "SpreadsheetError",
    "EmptyFileError",
    "FileTooLargeError",
    "UnsupportedFormatError",
    "CorruptFileError",
    "EncryptedFileError",
    "ZipBombError",
    "TooManyRowsError",
    "TooManyColumnsError",
    "SheetNotFoundError",
    "EmptySheetError",
    "HeaderNotFoundError",
    "MissingColumnsError",
    "DuplicateColumnError",
    "CsvEncodingError",
    "TemplateStampError",
    "display_value",
]


def display_value(value: Any) -> str:
    """How a cell value is shown back to the user in messages and reports."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


@dataclass
class CellError:
    """One problem at one cell.

    ``row`` is the row number as Excel shows it (the header is row 1 in a plain file), ``column`` the column
    letter.  ``message`` and ``hint`` are lazy strings (``flask_babel.lazy_gettext``): ``str()`` renders them in
    the language of the current request, or in English outside a request.

    A ``row_validator`` hook may return errors carrying only ``key``, ``code`` and ``message`` (see
    ``CellError.for_key``): the engine fills in sheet, row, column, header and value.
    """

    sheet: str | None
    row: int | None
    column: str | None
    header: str | None
    value: Any
    code: str
    message: Any
    hint: Any = None
    key: str | None = None

    @classmethod
    def for_key(cls, key: str, code: str, message: Any, hint: Any = None, *, value: Any = None) -> "CellError":
        """A partial error about the cell of column ``key`` in the row being validated (for ``row_validator``)."""
        return cls(sheet=None, row=None, column=None, header=None, value=value, code=code, message=message,
                   hint=hint, key=key)

    def completed(self, *, sheet: str, row: int, column: str | None, header: str | None, value: Any) -> "CellError":
        return replace(
            self,
            sheet=self.sheet if self.sheet is not None else sheet,
            row=self.row if self.row is not None else row,
            column=self.column if self.column is not None else column,
            header=self.header if self.header is not None else header,
            value=self.value if self.value is not None else value,
        )

    @property
    def cell(self) -> str:
        """The cell reference, e.g. ``C7``."""
        return f"{self.column or ''}{self.row or ''}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "header": self.header,
            "value": display_value(self.value),
            "code": self.code,
            "message": str(self.message),
            "hint": str(self.hint) if self.hint is not None else None,
        }

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.cell}" if self.sheet else self.cell
        return f"{where} [{self.code}] {self.message}"


@dataclass
class Notice:
    """Information about an accepted file (ignored columns, macros, ...)."""

    code: str
    message: Any
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self.message), "details": dict(self.details)}

    def __str__(self) -> str:
        return str(self.message)


class SpreadsheetError(Exception):
    """The whole file is rejected.  ``message`` (lazy) is meant for the user, ``code`` for programs.

    ``http_status`` is a suggestion for the web layer (413 for size problems, 422 otherwise).
    """

    code = "spreadsheet_error"
    http_status = 422

    def __init__(self, message: Any, *, hint: Any = None, code: str | None = None, **details: Any) -> None:
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code
        self.details = details
        super().__init__(str(message))

    def __str__(self) -> str:  # rendered lazily, in the current language
        return str(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": str(self.message),
            "hint": str(self.hint) if self.hint is not None else None,
            "details": {k: display_value(v) if not isinstance(v, (list, tuple, int)) else v
                        for k, v in self.details.items()},
        }


class EmptyFileError(SpreadsheetError):
    code = "file_empty"


class FileTooLargeError(SpreadsheetError):
    code = "file_too_large"
    http_status = 413


class UnsupportedFormatError(SpreadsheetError):
    code = "unsupported_format"
    http_status = 415


class CorruptFileError(SpreadsheetError):
    code = "corrupt_file"


class EncryptedFileError(SpreadsheetError):
    code = "encrypted_file"


class ZipBombError(SpreadsheetError):
    code = "zip_bomb"
    http_status = 413


class TooManyRowsError(SpreadsheetError):
    code = "too_many_rows"
    http_status = 413


class TooManyColumnsError(SpreadsheetError):
    code = "too_many_columns"
    http_status = 413


class SheetNotFoundError(SpreadsheetError):
    code = "sheet_not_found"


class EmptySheetError(SpreadsheetError):
    code = "sheet_empty"


class HeaderNotFoundError(SpreadsheetError):
    code = "header_not_found"


class MissingColumnsError(SpreadsheetError):
    code = "missing_columns"


class DuplicateColumnError(SpreadsheetError):
    code = "duplicate_column"


class CsvEncodingError(SpreadsheetError):
    code = "csv_encoding"


class TemplateStampError(SpreadsheetError):
    """Stale, foreign or missing template stamp: the user must download a new template."""

    code = "template_stamp"


def corrupt(**details: Any) -> CorruptFileError:
    return CorruptFileError(msg("corrupt_file"), hint=msg("corrupt_file_hint"), **details)
