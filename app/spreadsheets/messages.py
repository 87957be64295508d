"""User-facing texts of the spreadsheet engine.

Every text is an English msgid wrapped with ``flask_babel.lazy_gettext`` so it renders in the user's language
inside a request and in English outside one.  Parameters use ``%(name)s``.  The Chinese translations live in
``messages_zh_CN.po`` next to this file (a PO fragment merged into the application catalog).

``M`` maps a stable message key to its msgid; ``msg(key, **params)`` returns the lazy string.  Keeping every msgid
in this one table lets a test check that the PO fragment translates all of them.
"""

from __future__ import annotations

from flask_babel import lazy_gettext

__all__ = ["M", "msg"]


def N_(text: str) -> str:
    """Marks a msgid for extraction (``pybabel extract`` knows ``N_``) without translating it."""
    return text


M: dict[str, str] = {
    # ---- file-level rejections -------------------------------------------------------------------
    "file_empty": N_("The file is empty."),
    "file_too_large": N_("The file is too large (%(size)s); the limit is %(limit)s."),
    "unsupported_format": N_("This file type is not supported (%(filename)s). Upload an .xlsx, .xls, .ods or .csv file."),
    "corrupt_file": N_("The file could not be read: it is damaged or is not a real spreadsheet."),
    "corrupt_file_hint": N_("Open it in Excel or WPS, save it again as .xlsx and upload the new copy."),
    "encrypted_file": N_("The file is password-protected. Remove the password and upload it again."),
    "too_big_unpacked": N_("The file unpacks to more than %(limit)s; it cannot be processed."),
    "suspicious_compression": N_("The file is compressed suspiciously strongly (%(ratio)s times); it cannot be processed."),
    "too_many_rows": N_("The sheet %(sheet)s has more than %(limit)s data rows. Split it into several files."),
    "too_many_columns": N_("The sheet %(sheet)s is wider than %(limit)s columns."),
    "too_many_cells": N_("The sheet %(sheet)s spans more than %(limit)s cells."),
    "sheet_not_found": N_("The workbook has no sheet named %(names)s."),
    "no_data_sheet": N_("The workbook has no visible worksheet."),
    "sheet_empty": N_("The sheet %(sheet)s is empty."),
    "header_not_found": N_("No header row was found in sheet %(sheet)s: one of the first rows must hold the column titles, for example %(examples)s."),
    "missing_columns": N_("Required columns are missing in sheet %(sheet)s: %(columns)s."),
    "missing_one_of": N_("Sheet %(sheet)s needs either %(options)s."),
    "duplicate_column": N_("Columns %(first)s and %(second)s of sheet %(sheet)s both hold %(header)s."),
    "no_data_rows": N_("The sheet %(sheet)s has no data rows under its header."),
    "csv_encoding": N_("The CSV file's text encoding is not recognised: save it as UTF-8 or GB18030 (GBK)."),
    "csv_malformed": N_("The CSV file is malformed near row %(row)s."),
    "stamp_required": N_("This upload must use the platform's template. Download the template and copy your data into it."),
    "stamp_kind": N_("This file is a template for %(found)s, not for %(expected)s. Download the right template."),
    "stamp_project": N_("This template belongs to project %(found)s, not to project %(expected)s. Download the template of this project."),
    "stamp_stale": N_("This template is out of date (version %(found)s; version %(expected)s or later is needed). Download a new template and copy your data into it."),
    "stamp_corrupt": N_("The template's version information is damaged. Download a new template and copy your data into it."),
    # ---- cell errors -----------------------------------------------------------------------------
    "required": N_("This value is required."),
    "required_hint": N_("Fill in the cell."),
    "one_of_required": N_("Fill in %(headers)s."),
    "one_of_required_hint": N_("A row needs at least one of these: %(options)s."),
    "not_a_number": N_("%(value)s is not a number."),
    "not_a_number_hint": N_("Type a plain number such as 1234.56: no units, a dot for decimals, commas only between thousands."),
    "not_an_integer": N_("%(value)s is not a whole number."),
    "not_an_integer_hint": N_("Type a whole number such as 100."),
    "not_a_date": N_("%(value)s is not a date."),
    "not_a_date_hint": N_("Use YYYY-MM-DD (for example 2024-03-01) or a real Excel date."),
    "not_a_boolean": N_("%(value)s is not 是 or 否 (yes or no)."),
    "not_a_boolean_hint": N_("Type 是 or 否."),
    "not_in_list": N_("%(value)s is not an accepted value."),
    "not_in_list_hint": N_("Use one of: %(choices)s."),
    "not_text": N_("Excel stored %(value)s here as %(kind)s, not as text."),
    "kind_date": N_("a date"),
    "kind_time": N_("a time"),
    "kind_number": N_("a number"),
    "kind_boolean": N_("a TRUE/FALSE value"),
    "not_text_hint": N_("Format the column as Text, type the value again and save."),
    "not_a_code": N_("%(value)s is not a valid code."),
    "not_a_code_hint": N_("Codes are text: format the column as Text and type the code again."),
    "code_precision_lost": N_("The code %(value)s was stored as a number and has lost digits."),
    "code_precision_lost_hint": N_("Excel keeps only 15 digits of a number: format the column as Text, type the code again and save."),
    "must_be_positive": N_("The value must be greater than %(limit)s."),
    "too_small": N_("The value must be at least %(limit)s."),
    "too_large": N_("The value must be at most %(limit)s."),
    "must_be_below": N_("The value must be less than %(limit)s."),
    "range_hint": N_("Correct the value."),
    "too_many_decimals": N_("%(value)s has more than %(places)s decimal places."),
    "too_many_decimals_hint": N_("Round it to %(places)s decimal places, for example with =ROUND(…, %(places)s), then paste values."),
    "too_long": N_("The text is longer than %(limit)s characters."),
    "too_long_hint": N_("Shorten the text."),
    "duplicate": N_("This row repeats %(headers)s of row %(first_row)s."),
    "duplicate_hint": N_("Each %(headers)s may appear only once in the file: remove or correct one of the rows."),
    "duplicate_in_row": N_("%(value)s appears more than once in this row."),
    "duplicate_in_row_hint": N_("List each value once."),
    "formula_no_value": N_("This cell holds a formula whose result was not saved in the file."),
    "formula_no_value_hint": N_("Open the file in Excel or WPS and save it again, or replace the formulas by their values (Paste Special, Values)."),
    "excel_error": N_("This cell holds an Excel error value (%(value)s)."),
    "excel_error_hint": N_("Correct the formula or type the value."),
    "merged_cells": N_("Merged cells (%(range)s) are not allowed among the data rows."),
    "merged_cells_hint": N_("Unmerge the cells and fill in every cell."),
    "together_required": N_("%(header)s is required when %(others)s is filled in."),
    "together_required_hint": N_("Fill in all of %(headers)s, or none of them."),
    "order_increasing": N_("%(header)s must be greater than %(previous)s (%(previous_value)s)."),
    "order_decreasing": N_("%(header)s must be less than %(previous)s (%(previous_value)s)."),
    "order_nondecreasing": N_("%(header)s must not be less than %(previous)s (%(previous_value)s)."),
    "order_hint": N_("Check the order of %(headers)s."),
    "inconsistent_within": N_("%(header)s differs from row %(first_row)s (%(first_value)s) for the same %(group)s %(group_value)s."),
    "inconsistent_within_hint": N_("Every row with the same %(group)s must carry the same %(header)s."),
    "percent_not_allowed": N_("%(value)s: a percentage is not accepted here."),
    # ---- notices ---------------------------------------------------------------------------------
    "unknown_columns": N_("These columns are not part of the format and were ignored: %(columns)s."),
    "macros_ignored": N_("The workbook contains macros; they were ignored."),
    "external_links_ignored": N_("The workbook links to other files; the links were ignored and the values saved in the file were used."),
    "csv_read_as": N_("The CSV file was read as %(encoding)s."),
    "errors_truncated": N_("Only the first %(limit)s problems are listed; correct them and upload again to see the rest."),
}


def msg(key: str, **params: object):
    """The lazy, translatable text of message ``key`` with ``params`` filled in on rendering."""
    return lazy_gettext(M[key], **params)
