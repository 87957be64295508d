"""Column specs: a sheet kind described as data.

A ``SheetSpec`` lists ``Column``s (key, Chinese header, English header, aliases, type, required, bounds, choices,
default) plus the row-level rules (unique keys, "one of these column sets" requirements).  The engine reads, checks,
builds templates and error reports from it; the canonical formats of DOMAIN.md §12 are in ``specs.py``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Callable

__all__ = ["ColumnType", "Choice", "Column", "SheetSpec", "Limits", "DEFAULT_LIMITS", "normalize_header",
           "normalize_token", "MiB"]

MiB = 1024 * 1024


class ColumnType(str, Enum):
    TEXT = "text"        # free text, stripped, not folded (names keep their full-width punctuation)
    CODE = "code"        # identifiers: NFKC-folded, no spaces, never a number
    DECIMAL = "decimal"  # exact Decimal
    INT = "int"          # exact int
    DATE = "date"        # datetime.date
    ENUM = "enum"        # one of Column.choices -> Choice.value
    BOOL = "bool"        # 是/否 -> True/False


@dataclass(frozen=True)
class Choice:
    """One value of an enum column: stored ``value``, Chinese label ``zh`` and further accepted ``aliases``."""

    value: str
    zh: str
    aliases: tuple[str, ...] = ()

    def labels(self) -> tuple[str, ...]:
        return (self.value, self.zh, *self.aliases)


_NUMBER = (int, float, Decimal)


@dataclass(frozen=True)
class Column:
    """One column of a sheet kind.

    * ``zh`` is the Chinese header a template writes; ``en`` the English one; ``aliases`` further accepted headers
      (each alternative of ``医保药品代码/医保耗材代码`` is one).  Headers match after NFKC folding, case folding and
      removal of spaces, ``_``, ``-``, ``*`` and a trailing ``(必填)``/``(required)``.
    * bounds: ``gt``/``ge`` (> / ≥), ``lt``/``le`` (< / ≤), compared as ``Decimal``; ``places``: most decimal
      places accepted; ``max_length`` for text.
    * ``default``: a value, or a callable ``(row) -> value`` evaluated once the row is converted, used when the cell
      is blank (the column stays optional).
    * ``repeat``: a numbered group of columns (``地区1``, ``地区2`` ... / ``region 1`` ...) read as a list, in
      number order, blanks skipped; ``repeat_count`` is how many a template writes.
    * ``percent``: a decimal column that also accepts ``3%`` (read as 0.03).
    * ``upper``: codes are upper-cased.
    """

    key: str
    zh: str
    en: str
    type: ColumnType = ColumnType.TEXT
    required: bool = False
    aliases: tuple[str, ...] = ()
    gt: Decimal | int | None = None
    ge: Decimal | int | None = None
    lt: Decimal | int | None = None
    le: Decimal | int | None = None
    places: int | None = None
    max_length: int | None = None
    choices: tuple[Choice, ...] = ()
    default: Any = None
    upper: bool = False
    percent: bool = False
    repeat: bool = False
    repeat_count: int = 0
    note_zh: str = ""
    note_en: str = ""
    example: Any = None
    width: int | None = None

    def __post_init__(self) -> None:
        if self.type is ColumnType.ENUM and not self.choices:
            raise ValueError(f"enum column {self.key!r} needs choices")
        for name in ("gt", "ge", "lt", "le"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, _NUMBER):
                raise TypeError(f"{self.key}.{name} must be a number")

    @property
    def headers(self) -> tuple[str, ...]:
        """Every accepted header (template header first)."""
        return (self.zh, self.en, *self.aliases)

    def display_header(self) -> str:
        return f"{self.zh} / {self.en}"

    def default_for(self, row: dict[str, Any]) -> Any:
        return self.default(row) if callable(self.default) else self.default


@dataclass(frozen=True)
class SheetSpec:
    """A sheet kind.

    * ``unique``: tuples of keys whose combined values may appear only once in a file (blank parts skip the test).
    * ``one_of``: groups of alternatives, e.g. ``((("nhsa_code",), ("generic_name", "manufacturer", "dosage_form",
      "spec")),)``: the file must have every column of at least one alternative, and each row must fill at least one
      alternative completely.
    * ``sheet_names``: names by which the sheet is found in a workbook (for a second sheet such as the quote
      template's region preferences); empty = the first visible worksheet.
    * ``together``: columns filled all or none (a price tier's quantity and price).
    * ``ordered``: ``(keys, mode)`` with mode ``increasing``, ``decreasing`` or ``nondecreasing``: the filled values
      of ``keys`` must follow that order (tier quantities ascending, delivery date not before order date).
    * ``same_within``: ``(group_key, value_key)``: rows with the same ``group_key`` value must carry the same
      ``value_key`` value (all rows of a bundle carry one discount).
    """

    name: str
    title_zh: str
    title_en: str
    columns: tuple[Column, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    one_of: tuple[tuple[tuple[str, ...], ...], ...] = ()
    sheet_names: tuple[str, ...] = ()
    together: tuple[tuple[str, ...], ...] = ()
    ordered: tuple[tuple[tuple[str, ...], str], ...] = ()
    same_within: tuple[tuple[str, str], ...] = ()
    note_zh: str = ""
    note_en: str = ""

    def __post_init__(self) -> None:
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.name}: duplicate column keys")
        seen: dict[str, str] = {}
        for c in self.columns:
            for h in c.headers:
                n = normalize_header(h)
                if c.repeat:
                    n = "#repeat#" + n
                if n in seen and seen[n] != c.key:
                    raise ValueError(f"{self.name}: header {h!r} used by {seen[n]!r} and {c.key!r}")
                seen[n] = c.key
        known = set(keys)
        for group in self.unique:
            if not set(group) <= known:
                raise ValueError(f"{self.name}: unique key {group} names unknown columns")
        for alternatives in self.one_of:
            for alt in alternatives:
                if not set(alt) <= known:
                    raise ValueError(f"{self.name}: one_of {alt} names unknown columns")
        for group in self.together:
            if not set(group) <= known:
                raise ValueError(f"{self.name}: together {group} names unknown columns")
        for group, mode in self.ordered:
            if not set(group) <= known or mode not in ("increasing", "decreasing", "nondecreasing"):
                raise ValueError(f"{self.name}: bad ordered rule {group} {mode}")
        for g, v in self.same_within:
            if g not in known or v not in known:
                raise ValueError(f"{self.name}: same_within ({g}, {v}) names unknown columns")

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    @property
    def sheet_title(self) -> str:
        """Worksheet name used by templates (Excel: at most 31 characters)."""
        return self.title_zh[:31]


@dataclass(frozen=True)
class Limits:
    """Limits for one upload.  Sizes in bytes.

    ``max_compression_ratio`` is checked on the whole archive (uncompressed ÷ compressed) once it unpacks to more
    than ``ratio_floor_bytes`` (tiny files legitimately have high ratios).  ``max_errors`` caps the list of cell
    errors returned (validation stops there).
    """

    max_bytes: int = 20 * MiB
    max_rows: int = 200_000
    max_uncompressed_bytes: int = 400 * MiB
    max_compression_ratio: float = 100.0
    max_columns: int = 256
    max_cells: int = 20_000_000
    max_errors: int = 1000
    ratio_floor_bytes: int = 8 * MiB


DEFAULT_LIMITS = Limits()

_STRIP_MARKS = re.compile(r"[\s_\-*＊·•]+")
_REQUIRED_SUFFIX = re.compile(r"\((?:必填|必须|required|选填|optional)\)$")


def normalize_token(text: Any) -> str:
    """Fold a header or enum label for comparison: NFKC, case-fold, no spaces/underscores/hyphens/asterisks."""
    s = unicodedata.normalize("NFKC", str(text)).casefold()
    s = _STRIP_MARKS.sub("", s)
    return s


def normalize_header(text: Any) -> str:
    s = normalize_token(text)
    s = _REQUIRED_SUFFIX.sub("", s)
    return s


RowValidator = Callable[[dict[str, Any], int], list]
