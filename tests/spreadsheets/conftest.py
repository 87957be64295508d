"""Fixtures for the spreadsheet engine tests (pure functions: no Flask app or database needed)."""

from __future__ import annotations

import io
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `app` may not be an installed package while the application skeleton grows
    sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data" / "spreadsheets"


@pytest.fixture
def data_file():
    def read(name: str) -> bytes:
        return (DATA / name).read_bytes()

    return read


def load_xlsx(data: bytes, **kw):
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(io.BytesIO(data), **kw)


def save_xlsx(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx(rows, title: str = "Sheet1") -> bytes:
    """A one-sheet workbook holding ``rows`` (openpyxl)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(list(r))
    return save_xlsx(wb)
