"""Rows are read, converted and checked in chunks (reader.CHUNK_ROWS) and text/code columns are converted a whole
column at a time (values.bulk_converter): the outcome must be exactly that of one pass over all rows, cell by cell."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

import pytest

from app.spreadsheets import Limits, read_table, reader
from app.spreadsheets.spec import ColumnType
from app.spreadsheets.specs import CATALOG, QUOTES
from app.spreadsheets.values import MISSING, Problem, bulk_converter, make_converter

from .conftest import xlsx

POOLS = {
    ColumnType.CODE: ["XA01", "xa01", " XB02 ", "", "'0123", "国药准字H1", "ＡＢ１２", "A B", 12345.0, "XA01"],
    ColumnType.TEXT: ["片剂", " 胶囊 ", "", "x" * 3, 7, 2.5],
    ColumnType.DECIMAL: [1.5, "2", "-1", "", "abc", 0.25, 3],
    ColumnType.INT: [1, 2, 0, "", 3.5, "7", 30],
    ColumnType.BOOL: ["是", "否", "", "maybe"],
    ColumnType.DATE: ["2024-01-02", "", "bad", 45000, dt.date(2024, 5, 6)],
}


def _value(col, rnd):
    if col.type is ColumnType.ENUM:
        return rnd.choice([c.zh for c in col.choices] + ["", "bad"])
    return rnd.choice(POOLS[col.type])


def _sheet(spec, rows, seed):
    rnd = random.Random(seed)
    out = [[c.zh for c in spec.columns]]
    for _ in range(rows):
        if rnd.random() < 0.05:
            out.append([None] * len(spec.columns))  # a blank row
            continue
        out.append([_value(c, rnd) for c in spec.columns])
    return xlsx(out)


def _outcome(table):
    return (table.rows, table.row_numbers, table.data_row_count, table.errors_truncated,
            [(e.row, e.column, e.code, e.value, str(e.message), str(e.hint)) for e in table.errors],
            [n.code for n in table.notices])


@pytest.mark.parametrize("spec, seed", [(CATALOG, 1), (CATALOG, 2), (QUOTES, 3), (QUOTES, 4)])
def test_chunks_give_the_outcome_of_one_pass(monkeypatch, spec, seed):
    data = _sheet(spec, 120, seed)
    calls_one: list[int] = []
    calls_chunked: list[int] = []

    def validator(calls):
        def check(row, rownum):
            calls.append(rownum)
            return []
        return check

    one = read_table(data, "f.xlsx", spec, row_validator=validator(calls_one))
    monkeypatch.setattr(reader, "CHUNK_ROWS", 7)
    chunked = read_table(data, "f.xlsx", spec, row_validator=validator(calls_chunked))
    assert _outcome(chunked) == _outcome(one)
    assert calls_chunked == calls_one


def test_duplicates_and_bundles_across_chunk_boundaries(monkeypatch):
    monkeypatch.setattr(reader, "CHUNK_ROWS", 2)
    rows = [["医保药品代码", "通用名", "剂型", "规格", "包装数量", "最小制剂单位", "生产企业", "批准文号"]]
    for code in ["X1", "X2", "X3", "X1", "X4", "X2"]:
        rows.append([code, "阿莫西林", "片剂", "5mg", 10, "片", "某厂", "H1"])
    table = read_table(xlsx(rows), "f.xlsx", CATALOG)
    assert [(e.row, e.code) for e in table.errors] == [(5, "duplicate"), (7, "duplicate")]
    assert table.data_row_count == 6


def test_a_sheet_longer_than_the_limit_is_refused_before_any_row_is_validated(monkeypatch):
    monkeypatch.setattr(reader, "CHUNK_ROWS", 2)
    rows = [["医保药品代码", "通用名", "剂型", "规格", "包装数量", "最小制剂单位", "生产企业", "批准文号"]]
    rows += [[f"X{n}", "阿莫西林", "片剂", "5mg", 10, "片", "某厂", "H1"] for n in range(8)]
    seen: list[int] = []
    from app.spreadsheets import TooManyRowsError

    with pytest.raises(TooManyRowsError):
        read_table(xlsx(rows), "f.xlsx", CATALOG, limits=Limits(max_rows=5),
                   row_validator=lambda row, n: seen.append(n) or [])
    assert seen == []


CODE_VALUES = ["xa01", " XA01 ", "ＸＡ０１", "国药准字h2000", "\u3000AB12\u3000", "A\u00a0B", "'0123", '="0456"', "=X",
               "A B", "A\u3000B", "a\x00b", "", "  ", "e\u0301", "ﬁ", "X" * 40]
TEXT_VALUES = ["片剂", " 胶囊 ", "", "\u200b注射液\ufeff", "a\x00b", "x" * 40, "\u3000"]


@pytest.mark.parametrize("column", [c for c in CATALOG.columns if c.type in (ColumnType.CODE, ColumnType.TEXT)]
                         + [dataclasses.replace(c, max_length=5) for c in CATALOG.columns[:3]],
                         ids=lambda c: f"{c.key}-{c.max_length}")
def test_bulk_conversion_is_cell_by_cell_conversion(column):
    bulk = bulk_converter(column)
    conv = make_converter(column)
    values = CODE_VALUES if column.type is ColumnType.CODE else TEXT_VALUES
    rnd = random.Random(column.key)
    for k in range(300):
        raw = rnd.sample(values, rnd.randint(1, 4))
        if k % 3 == 0:  # mostly well-formed columns, the case the bulk path is for
            raw = [v for v in raw if v.strip() and "\x00" not in v and "=" not in v and "'" not in v] or ["AB1"]
        got = bulk(raw)
        try:
            expected = [conv(v) for v in raw]
        except Problem:
            assert got is None, raw
            continue
        if got is not None:  # None: left to the cell-by-cell path
            assert got == expected, raw
            assert MISSING not in got


def test_bulk_conversion_leaves_other_columns_cell_by_cell():
    assert bulk_converter(CATALOG.column("pack_qty")) is None
    assert bulk_converter(CATALOG.column("fill_volume_ml")) is None
    text = bulk_converter(CATALOG.column("generic_name"))
    assert text(["a", 1]) is None and text(["a", Decimal(1)]) is None
