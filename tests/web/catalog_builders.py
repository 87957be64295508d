"""Builders for the catalog tests: real .xlsx/.csv files in the canonical format, valid codes, signed-in clients."""
from __future__ import annotations

import csv
import io
from pathlib import Path


from app.orgs.uscc import make_uscc

ROOT = Path(__file__).resolve().parents[2]

# DOMAIN.md C5 examples: a valid code, and the same code with a wrong check character.
USCC_A = "91350100M000100Y43"
USCC_BAD = "91350100M000100Y45"
USCC_B = make_uscc("91440500MA4UQ0001")
USCC_AGENT = make_uscc("91310000MA1FL0002")

HEADERS_ZH = ["医保药品代码", "药品本位码", "通用名", "剂型", "规格", "装量", "包装数量", "最小制剂单位", "生产企业",
              "统一社会信用代码", "批准文号", "是否原研", "是否过评", "境外企业编号", "代理人统一社会信用代码"]
KEYS = ["nhsa_code", "benweima", "generic_name", "dosage_form", "spec", "fill_volume_ml", "pack_qty", "min_unit",
        "manufacturer", "manufacturer_uscc", "approval_no", "originator", "consistency_evaluated",
        "manufacturer_foreign_id", "agent_uscc"]


def product_row(**overrides) -> dict:
    """One valid catalog row (DOMAIN.md C1 example: 地喹氯铵, 汕头明治) keyed by English column key."""
    row = {"nhsa_code": "XA01ABD075A002010100483", "benweima": "86900483000019", "generic_name": "地喹氯铵含片",
           "dosage_form": "片剂", "spec": "0.25mg", "fill_volume_ml": None, "pack_qty": 24, "min_unit": "片",
           "manufacturer": "汕头明治医药有限公司", "manufacturer_uscc": USCC_A, "approval_no": "国药准字H20000001",
           "originator": None, "consistency_evaluated": "是", "manufacturer_foreign_id": None, "agent_uscc": None}
    row.update(overrides)
    return row


def xlsx_file(rows: list[dict], *, headers: list[str] = HEADERS_ZH, keys: list[str] = KEYS,
              sheet: str = "产品目录") -> bytes:
    """A real workbook: one header row, then ``rows`` (codes as text cells, numbers as numbers)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(headers)
    for row in rows:
        ws.append([row.get(k) for k in keys])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_file(rows: list[dict], *, encoding: str = "utf-8-sig", headers: list[str] = HEADERS_ZH,
             keys: list[str] = KEYS) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if row.get(k) is None else row.get(k) for k in keys])
    return buf.getvalue().encode(encoding)


def where(errors) -> list[tuple]:
    """(sheet, row, column, header, code) of each error: the location a user is told."""
    return [(e.sheet, e.row, e.column, e.header, e.code) for e in errors]



