"""Provincial regions, names and aliases (DOMAIN.md §11)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.core.errors import UnknownRegion
from app.regions.names import (
    REGIONS,
    REGIONS_BY_CODE,
    XINJIANG_CODE,
    XPCC_CODE,
    Region,
    get_region,
    resolve_region,
    supply_regions,
)

DATA = Path(__file__).resolve().parents[2] / "app/demo/data"

# DOMAIN.md §11 table.
DOMAIN_TABLE = {
    "110000": "北京", "120000": "天津", "130000": "河北", "140000": "山西", "150000": "内蒙古",
    "210000": "辽宁", "220000": "吉林", "230000": "黑龙江", "310000": "上海", "320000": "江苏",
    "330000": "浙江", "340000": "安徽", "350000": "福建", "360000": "江西", "370000": "山东",
    "410000": "河南", "420000": "湖北", "430000": "湖南", "440000": "广东", "450000": "广西",
    "460000": "海南", "500000": "重庆", "510000": "四川", "520000": "贵州", "530000": "云南",
    "540000": "西藏", "610000": "陕西", "620000": "甘肃", "630000": "青海", "640000": "宁夏",
    "650000": "新疆", "660000": "新疆生产建设兵团",
}  # fmt: skip


def test_the_32_regions_of_the_domain_table():
    assert len(REGIONS) == 32
    assert {r.code: r.name for r in REGIONS} == DOMAIN_TABLE
    assert all(isinstance(r, Region) for r in REGIONS)
    assert len({r.name_en for r in REGIONS}) == 32
    assert len({r.full_name for r in REGIONS}) == 32
    assert [r.code for r in REGIONS] == sorted(r.code for r in REGIONS)


def test_only_the_corps_is_nhsa_only_and_merged():
    flagged = [r.code for r in REGIONS if r.is_nhsa_only]
    assert flagged == [XPCC_CODE]
    assert REGIONS_BY_CODE[XPCC_CODE].merged_into == XINJIANG_CODE
    assert [r.code for r in REGIONS if r.merged_into] == [XPCC_CODE]


@pytest.mark.parametrize(
    ("full_name", "code"),
    [
        ("北京市", "110000"),
        ("内蒙古自治区", "150000"),
        ("广西壮族自治区", "450000"),
        ("西藏自治区", "540000"),
        ("宁夏回族自治区", "640000"),
        ("新疆维吾尔自治区", "650000"),
        ("黑龙江省", "230000"),
        ("重庆市", "500000"),
    ],
)
def test_full_names(full_name, code):
    assert get_region(code).full_name == full_name
    assert resolve_region(full_name) == code


def test_every_spelling_of_every_region_resolves():
    for r in REGIONS:
        expected = r.code if r.code != XPCC_CODE else XINJIANG_CODE
        for spelling in (r.code, r.name, r.full_name, r.name_en, *r.aliases):
            assert resolve_region(spelling) == expected, spelling
            assert resolve_region(spelling, xpcc_separate=True) == r.code, spelling


def test_input_is_normalised():
    assert resolve_region(" 北京 ") == "110000"
    assert resolve_region("inner mongolia") == "150000"
    assert resolve_region("InnerMongolia") == "150000"
    assert resolve_region("１１００００") == "110000"  # full-width digits
    assert resolve_region(110000) == "110000"
    assert resolve_region("Tibet") == "540000"


@pytest.mark.parametrize("text", ["新疆（含兵团）", "新疆(含兵团)", "新疆 （含兵团）"])
def test_xinjiang_with_corps_alias(text):
    assert resolve_region(text) == XINJIANG_CODE
    # The merged spelling cannot be split, whatever the project setting.
    assert resolve_region(text, xpcc_separate=True) == XINJIANG_CODE


def test_corps_is_folded_unless_separate():
    for text in ("660000", "新疆生产建设兵团", "兵团"):
        assert resolve_region(text) == XINJIANG_CODE
        assert resolve_region(text, xpcc_separate=True) == XPCC_CODE


@pytest.mark.parametrize("text", ["", "   ", "香港", "台湾省", "110100", "11", "北京朝阳", None, True])
def test_unknown_region(text):
    with pytest.raises(UnknownRegion) as exc:
        resolve_region(text)  # type: ignore[arg-type]
    assert exc.value.code == "UNKNOWN_REGION"
    assert exc.value.text == text
    assert isinstance(exc.value, ValueError)


def test_get_region():
    assert get_region("440000").name_en == "Guangdong"
    with pytest.raises(UnknownRegion):
        get_region("999999")


def test_supply_regions():
    merged = supply_regions()
    assert len(merged) == 31
    assert XPCC_CODE not in {r.code for r in merged}
    assert len(supply_regions(xpcc_separate=True)) == 32


def _csv_rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_batch2_volume_provinces_resolve_to_exactly_31_codes():
    names = {row["province"] for row in _csv_rows("nvbp-batch2-volumes.csv")}
    codes = {resolve_region(name) for name in names}
    assert len(names) == 31
    assert len(codes) == 31
    assert codes == {r.code for r in supply_regions()}


def test_batch2_supply_provinces_resolve():
    names = {
        name
        for row in _csv_rows("nvbp-batch2-bids.csv")
        for name in row["supply_provinces"].split(";")
        if name.strip()
    }
    codes = {resolve_region(name) for name in names}
    assert codes <= {r.code for r in supply_regions()}
    assert XINJIANG_CODE in codes
