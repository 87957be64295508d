"""Cell value conversion: raw values from python-calamine / csv → typed Python values.

python-calamine returns ``str``, ``float`` (every xlsx number, integers included), ``int`` (ods/xls), ``bool``,
``datetime.date``/``datetime``/``time``/``timedelta`` for date-formatted cells, and ``""`` for empty cells and
Excel error values.  Conversion rules (DOMAIN.md §0.2 P-2, §12):

* floats become ``Decimal(repr(x))`` (never ``Decimal(x)``); integral floats become exact ints;
* text is stripped (also full-width spaces and zero-width characters); codes and numbers are NFKC-folded
  (full-width digits and punctuation); numbers accept thousands separators ``1,234,567.5``;
* dates accept real dates, Excel serial numbers (1900 or 1904 system) and ``YYYY-MM-DD`` / ``YYYY/M/D`` /
  ``YYYY.M.D`` / ``YYYY年M月D日`` / ``YYYYMMDD`` text;
* a code stored as a float keeps its digits when it is below 10^15 and is rejected otherwise (Excel keeps 15).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from itertools import repeat
from typing import Any, Callable

from .errors import display_value
from .spec import Column, ColumnType, normalize_token

__all__ = ["bulk_converter", "MISSING", "Problem", "make_converter", "parse_decimal_text", "excel_serial_to_date", "WHITESPACE"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

WHITESPACE = (" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
              "\u2008\u2009\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff")


class Problem(Exception):
    """A conversion failure: message key ``code`` (see messages.M), hint key and parameters."""

    def __init__(self, code: str, hint: str | None = None, **params: Any) -> None:
        self.code = code
        self.hint = hint
        self.params = params
        super().__init__(code)


_DEC_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?")
_GROUPED_RE = re.compile(r"[+-]?\d{1,3}(?:([, ])\d{3})(?:\1\d{3})*(?:\.\d+)?")
_CURRENCY = "¥$€£"


def _fold(s: str) -> str:
    return s if s.isascii() else unicodedata.normalize("NFKC", s)


def parse_decimal_text(text: str, *, percent: bool = False) -> Decimal:
    """Parse number text: full-width digits folded, thousands separators removed, optional ``¥`` and ``%``."""
    s = _fold(text).strip(WHITESPACE)
    if s[:1] in _CURRENCY:
        s = s[1:].lstrip()
    elif s[-1:] == "元":
        s = s[:-1].rstrip()
    scale = 0
    if s.endswith("%"):
        if not percent:
            raise Problem("percent_not_allowed", "not_a_number_hint", value=text)
        s = s[:-1].rstrip()
        scale = 2
    if _DEC_RE.fullmatch(s) is None:
        if _GROUPED_RE.fullmatch(s) is None:
            raise Problem("not_a_number", "not_a_number_hint", value=text)
        s = s.replace(",", "").replace(" ", "")
    try:
        d = Decimal(s)
    except InvalidOperation:  # pragma: no cover - the regexes only let valid text through
        raise Problem("not_a_number", "not_a_number_hint", value=text) from None
    if scale:
        d = d.scaleb(-scale)
    return d


_EPOCH_1900 = _dt.date(1899, 12, 30)
_EPOCH_1904 = _dt.date(1904, 1, 1)
_MAX_SERIAL = 2958465  # 9999-12-31


def excel_serial_to_date(serial: float, *, date1904: bool = False) -> _dt.date:
    """Excel serial day number → date (1900 system with its phantom 1900-02-29, or the 1904 system)."""
    if serial != serial or serial < 1 or serial > _MAX_SERIAL:
        raise Problem("not_a_date", "not_a_date_hint", value=serial)
    days = int(serial)
    if date1904:
        return _EPOCH_1904 + _dt.timedelta(days=days)
    if days < 60:  # Excel counts 1900-02-29, which does not exist
        days += 1
    elif days == 60:
        raise Problem("not_a_date", "not_a_date_hint", value=serial)
    return _EPOCH_1900 + _dt.timedelta(days=days)


_DATE_RES = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})[日号]?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)


def parse_date_text(text: str, *, date1904: bool = False) -> _dt.date:
    s = _fold(text).strip(WHITESPACE)
    for rx in _DATE_RES:
        m = rx.fullmatch(s)
        if m:
            try:
                return _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                raise Problem("not_a_date", "not_a_date_hint", value=text) from None
    if s.isdigit() and len(s) == 5:  # an Excel serial stored as text
        return excel_serial_to_date(int(s), date1904=date1904)
    raise Problem("not_a_date", "not_a_date_hint", value=text)


_BOOL_WORDS = {
    "是": True, "否": False, "y": True, "n": False, "yes": True, "no": False, "true": True, "false": False,
    "t": True, "f": False, "1": True, "0": False, "√": True, "×": False, "✓": True, "✗": False, "有": True,
    "无": False,
}


def _kind_of(v: Any) -> Any:
    from .messages import msg

    if isinstance(v, bool):
        return msg("kind_boolean")
    if isinstance(v, (_dt.date, _dt.datetime)):
        return msg("kind_date")
    if isinstance(v, (_dt.time, _dt.timedelta)):
        return msg("kind_time")
    return msg("kind_number")


def _bound_checker(col: Column) -> Callable[[Any], None] | None:
    """A function raising Problem when a numeric value breaks the column's bounds / places."""
    gt = None if col.gt is None else Decimal(col.gt)
    ge = None if col.ge is None else Decimal(col.ge)
    lt = None if col.lt is None else Decimal(col.lt)
    le = None if col.le is None else Decimal(col.le)
    places = col.places
    if gt is None and ge is None and lt is None and le is None and places is None:
        return None

    def check(d: Any) -> None:
        if gt is not None and not d > gt:
            raise Problem("must_be_positive", "range_hint", limit=display_value(gt))
        if ge is not None and not d >= ge:
            raise Problem("too_small", "range_hint", limit=display_value(ge))
        if lt is not None and not d < lt:
            raise Problem("must_be_below", "range_hint", limit=display_value(lt))
        if le is not None and not d <= le:
            raise Problem("too_large", "range_hint", limit=display_value(le))
        if places is not None and type(d) is Decimal:
            sign, digits, exp = d.as_tuple()
            if isinstance(exp, int) and exp < -places:
                trailing = 0
                i = len(digits) - 1
                while i > 0 and digits[i] == 0:
                    trailing += 1
                    i -= 1
                if exp + trailing < -places:
                    raise Problem("too_many_decimals", "too_many_decimals_hint", value=d, places=places)

    return check


def make_converter(col: Column, *, date1904: bool = False) -> Callable[[Any], Any]:
    """A function ``raw -> typed value`` (``MISSING`` for a blank cell); raises ``Problem``."""
    t = col.type
    strip = str.strip
    ws = WHITESPACE
    check = _bound_checker(col)

    if t is ColumnType.TEXT:
        max_length = col.max_length

        def conv_text(v: Any) -> Any:
            tv = type(v)
            if tv is str:
                s = strip(v, ws)
                if not s:
                    return MISSING
            elif tv is float:
                s = display_value(v)
            elif tv is int:
                s = str(v)
            elif v is None:
                return MISSING
            else:
                raise Problem("not_text", "not_text_hint", value=display_value(v), kind=_kind_of(v))
            if max_length is not None and len(s) > max_length:
                raise Problem("too_long", "too_long_hint", limit=max_length)
            return s

        return conv_text

    if t is ColumnType.CODE:
        upper = col.upper
        max_length = col.max_length

        def conv_code(v: Any) -> Any:
            tv = type(v)
            if tv is str:
                s = v if v.isascii() else unicodedata.normalize("NFKC", v)
                s = strip(s, ws)
                if not s:
                    return MISSING
                if s[0] in "'=":  # csv tricks: '0123 and ="0123"
                    if s.startswith('="') and s.endswith('"') and len(s) >= 3:
                        s = s[2:-1].strip()
                    elif s[0] == "'":
                        s = s[1:].strip()
                    if not s:
                        return MISSING
                if " " in s or "\u3000" in s:
                    s = "".join(s.split())
            elif tv is float:
                if not v.is_integer():
                    raise Problem("not_a_code", "not_a_code_hint", value=display_value(v))
                if abs(v) >= 1e15:
                    raise Problem("code_precision_lost", "code_precision_lost_hint", value=display_value(v))
                s = str(int(v))
            elif tv is int:
                s = str(v)
            elif v is None:
                return MISSING
            else:
                raise Problem("not_a_code", "not_a_code_hint", value=display_value(v))
            if upper:
                s = s.upper()
            if max_length is not None and len(s) > max_length:
                raise Problem("too_long", "too_long_hint", limit=max_length)
            return s

        return conv_code

    if t is ColumnType.DECIMAL:
        percent = col.percent
        places = col.places
        gt = None if col.gt is None else Decimal(col.gt)
        ge = None if col.ge is None else Decimal(col.ge)
        simple_bounds = col.lt is None and col.le is None and (gt is None or ge is None)
        low = gt if gt is not None else ge
        low_code = "must_be_positive" if gt is not None else "too_small"

        def conv_dec(v: Any) -> Any:
            tv = type(v)
            if tv is float and simple_bounds:
                # fast path for the common case (numbers from xlsx): bounds and places checked inline
                if v.is_integer() and -1e15 < v < 1e15:
                    d = Decimal(int(v))
                else:
                    if v != v or v in (math.inf, -math.inf):
                        raise Problem("not_a_number", "not_a_number_hint", value=v)
                    r = repr(v)
                    d = Decimal(r)
                    if places is not None:
                        dot = r.find(".")
                        if "e" in r or (dot >= 0 and len(r) - dot - 1 > places):
                            check(d)
                if low is not None and (d <= low if gt is not None else d < low):
                    raise Problem(low_code, "range_hint", limit=display_value(low))
                return d
            if tv is float:
                if v.is_integer() and -1e15 < v < 1e15:
                    d = Decimal(int(v))
                elif v != v or v in (math.inf, -math.inf):
                    raise Problem("not_a_number", "not_a_number_hint", value=v)
                else:
                    d = Decimal(repr(v))
            elif tv is str:
                if not strip(v, ws):
                    return MISSING
                d = parse_decimal_text(v, percent=percent)
            elif tv is int:
                d = Decimal(v)
            elif tv is Decimal:
                if not v.is_finite():
                    raise Problem("not_a_number", "not_a_number_hint", value=v)
                d = v
            elif v is None:
                return MISSING
            else:
                raise Problem("not_a_number", "not_a_number_hint", value=display_value(v))
            if check is not None:
                check(d)
            return d

        return conv_dec

    if t is ColumnType.INT:
        int_low = None
        if col.lt is None and col.le is None and (col.gt is None or col.ge is None):
            if col.gt is not None and Decimal(col.gt) == int(col.gt):
                int_low = (int(col.gt), "must_be_positive", True)
            elif col.ge is not None and Decimal(col.ge) == int(col.ge):
                int_low = (int(col.ge), "too_small", False)
            if col.gt is None and col.ge is None:
                int_low = None
            if int_low is not None or (col.gt is None and col.ge is None):
                int_check = int_low

                def fast_check(n: int) -> None:
                    if int_check is not None:
                        lim, code, strict = int_check
                        if n <= lim if strict else n < lim:
                            raise Problem(code, "range_hint", limit=lim)

                check = fast_check if int_low is not None else None

        def conv_int(v: Any) -> Any:
            tv = type(v)
            if tv is float:
                if not v.is_integer():
                    raise Problem("not_an_integer", "not_an_integer_hint", value=display_value(v))
                if abs(v) >= 2**53:
                    raise Problem("not_an_integer", "not_an_integer_hint", value=display_value(v))
                n = int(v)
            elif tv is int:
                n = v
            elif tv is str:
                if not strip(v, ws):
                    return MISSING
                try:
                    d = parse_decimal_text(v)
                except Problem:
                    raise Problem("not_an_integer", "not_an_integer_hint", value=v) from None
                if d != d.to_integral_value():
                    raise Problem("not_an_integer", "not_an_integer_hint", value=v)
                n = int(d)
            elif v is None:
                return MISSING
            else:
                raise Problem("not_an_integer", "not_an_integer_hint", value=display_value(v))
            if check is not None:
                check(n)
            return n

        return conv_int

    if t is ColumnType.DATE:
        date_t = _dt.date
        datetime_t = _dt.datetime

        def conv_date(v: Any) -> Any:
            tv = type(v)
            if tv is date_t:
                return v
            if tv is datetime_t:
                return v.date()
            if tv is str:
                if not strip(v, ws):
                    return MISSING
                return parse_date_text(v, date1904=date1904)
            if tv is float or tv is int:
                return excel_serial_to_date(v, date1904=date1904)
            if v is None:
                return MISSING
            raise Problem("not_a_date", "not_a_date_hint", value=display_value(v))

        return conv_date

    if t is ColumnType.ENUM:
        table: dict[str, str] = {}
        for ch in col.choices:
            for label in ch.labels():
                table[normalize_token(label)] = ch.value
        choices_text = "、".join(f"{c.zh} ({c.value})" for c in col.choices)

        def conv_enum(v: Any) -> Any:
            if v is None or (type(v) is str and not strip(v, ws)):
                return MISSING
            key = normalize_token(display_value(v))
            try:
                return table[key]
            except KeyError:
                raise Problem("not_in_list", "not_in_list_hint", value=display_value(v),
                              choices=choices_text) from None

        return conv_enum

    if t is ColumnType.BOOL:

        def conv_bool(v: Any) -> Any:
            tv = type(v)
            if tv is bool:
                return v
            if tv is str:
                r = _BOOL_WORDS.get(v)
                if r is not None:
                    return r
                s = strip(v, ws)
                if not s:
                    return MISSING
                r = _BOOL_WORDS.get(normalize_token(s))
                if r is None:
                    raise Problem("not_a_boolean", "not_a_boolean_hint", value=v)
                return r
            if (tv is float or tv is int) and v in (0, 1):
                return bool(v)
            if v is None:
                return MISSING
            raise Problem("not_a_boolean", "not_a_boolean_hint", value=display_value(v))

        return conv_bool

    raise ValueError(f"unknown column type {t!r}")  # pragma: no cover


def bulk_converter(col: Column) -> Callable[[list[Any]], list[Any] | None] | None:
    """For text and code columns: a function converting a whole column of cells at C speed (str methods mapped
    over the list) when every cell is a non-blank string that needs nothing more than the whitespace trimmed
    (text) or folded (NFKC), trimmed and upper-cased (codes without quote tricks or inner spaces); it returns
    ``None`` for any other column, which ``make_converter``'s function then converts cell by cell, with the
    same results."""
    t = col.type
    max_length = col.max_length
    strip = str.strip
    ws = WHITESPACE
    if t is ColumnType.TEXT:

        def text_column(raw: list[Any]) -> list[Any] | None:
            if set(map(type, raw)) != {str}:
                return None
            out = list(map(strip, raw, repeat(ws)))
            if "" in out or (max_length is not None and max(map(len, out)) > max_length):
                return None
            return out

        return text_column
    if t is ColumnType.CODE:
        upper = col.upper

        def code_column(raw: list[Any]) -> list[Any] | None:
            if set(map(type, raw)) != {str}:
                return None
            joined = "\x00".join(raw)
            if not joined.isascii():
                # NFKC of the values joined by NUL (a starter that nothing composes with, which no character
                # decomposes to) is the values' NFKC forms joined by NUL
                parts = unicodedata.normalize("NFKC", joined).split("\x00")
                if len(parts) != len(raw):
                    return None
                raw = parts
            out = list(map(strip, raw, repeat(ws)))
            joined = "\x00" + "\x00".join(out)
            # "\x00'" / "\x00=": a value starting with a quote or '=' (csv tricks); a NUL inside a value only
            # sends the column down the cell-by-cell path
            if ("" in out or " " in joined or "\u3000" in joined or "\x00'" in joined or "\x00=" in joined
                    or joined.count("\x00") != len(out)):
                return None
            if upper:
                out = list(map(str.upper, out))
            if max_length is not None and max(map(len, out)) > max_length:
                return None
            return out

        return code_column
    return None

