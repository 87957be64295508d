"""The PO fragment translates every msgid; the canonical specs are well-formed data."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from app.spreadsheets import ColumnType
from app.spreadsheets.messages import M
from app.spreadsheets.spec import normalize_header
from app.spreadsheets.specs import CANONICAL_SPECS, CATALOG, LISTED_PRICES, QUOTES

PO = Path(__file__).resolve().parents[2] / "app" / "spreadsheets" / "messages_zh_CN.po"


def test_po_fragment_translates_every_msgid_with_the_same_placeholders():
    with PO.open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    for key, msgid in M.items():
        m = catalog.get(msgid)
        assert m is not None and m.string, key
        assert set(re.findall(r"%\((\w+)\)s", msgid)) == set(re.findall(r"%\((\w+)\)s", m.string)), key
    assert list(catalog.check()) == []


def test_canonical_formats_accept_each_header_alternative():
    # DOMAIN.md §12: 医保药品代码/医保耗材代码 — each alternative alone is a header
    idx = {normalize_header(h): c.key for c in CATALOG.columns for h in c.headers}
    assert idx["医保药品代码"] == idx["医保耗材代码"] == idx["nhsacode"] == "nhsa_code"
    assert {c.key for c in CATALOG.columns if c.required} == {
        "generic_name", "dosage_form", "spec", "pack_qty", "min_unit", "manufacturer", "approval_no"}
    assert LISTED_PRICES.column("listed_price_pack").gt == 0
    assert [c.value for c in LISTED_PRICES.column("price_type").choices] == [
        "listed", "vbp_agreement", "renewal", "negotiated", "temporary"]
    assert LISTED_PRICES.column("linkable").default({"price_type": "renewal"}) is False
    assert LISTED_PRICES.column("linkable").default({"price_type": None}) is True
    tiers = [c.key for c in QUOTES.columns if c.key.startswith("tier")]
    assert tiers == ["tier1_min_qty", "tier1_pack_price", "tier2_min_qty", "tier2_pack_price", "tier3_min_qty",
                     "tier3_pack_price"]
    for spec in CANONICAL_SPECS.values():
        for c in spec.columns:
            assert c.zh and c.en and isinstance(c.type, ColumnType)
            if c.type is ColumnType.DECIMAL:
                assert c.places == 6
