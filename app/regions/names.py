"""Provincial regions (省级医保区划): GB/T 2260 codes, names and aliases (DOMAIN.md §11).

31 provinces plus 660000 新疆生产建设兵团 (Xinjiang Production and Construction Corps), an NHSA
insurance region that is not a GB/T 2260 province (``is_nhsa_only``). Unless a project sets
``xpcc_separate``, 660000 is folded into 650000, giving 31 supply regions; batch-2 data writes the
merged region as ``新疆（含兵团）``. :data:`REGIONS` seeds the ``regions`` table.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from app.core.errors import UnknownRegion

__all__ = [
    "REGIONS",
    "REGIONS_BY_CODE",
    "XPCC_CODE",
    "XINJIANG_CODE",
    "Region",
    "UnknownRegion",
    "get_region",
    "resolve_region",
    "supply_regions",
]

XINJIANG_CODE = "650000"
XPCC_CODE = "660000"


@dataclass(frozen=True)
class Region:
    """A provincial region: ``name`` is the short name used in the data (北京), ``full_name`` the
    official one (北京市); ``merged_into`` is the region it folds into when not separate."""

    code: str
    name: str
    full_name: str
    name_en: str
    is_nhsa_only: bool = False
    merged_into: str | None = None
    aliases: tuple[str, ...] = ()


REGIONS: tuple[Region, ...] = (
    Region("110000", "北京", "北京市", "Beijing"),
    Region("120000", "天津", "天津市", "Tianjin"),
    Region("130000", "河北", "河北省", "Hebei"),
    Region("140000", "山西", "山西省", "Shanxi"),
    Region("150000", "内蒙古", "内蒙古自治区", "Inner Mongolia", aliases=("内蒙",)),
    Region("210000", "辽宁", "辽宁省", "Liaoning"),
    Region("220000", "吉林", "吉林省", "Jilin"),
    Region("230000", "黑龙江", "黑龙江省", "Heilongjiang"),
    Region("310000", "上海", "上海市", "Shanghai"),
    Region("320000", "江苏", "江苏省", "Jiangsu"),
    Region("330000", "浙江", "浙江省", "Zhejiang"),
    Region("340000", "安徽", "安徽省", "Anhui"),
    Region("350000", "福建", "福建省", "Fujian"),
    Region("360000", "江西", "江西省", "Jiangxi"),
    Region("370000", "山东", "山东省", "Shandong"),
    Region("410000", "河南", "河南省", "Henan"),
    Region("420000", "湖北", "湖北省", "Hubei"),
    Region("430000", "湖南", "湖南省", "Hunan"),
    Region("440000", "广东", "广东省", "Guangdong"),
    Region("450000", "广西", "广西壮族自治区", "Guangxi"),
    Region("460000", "海南", "海南省", "Hainan"),
    Region("500000", "重庆", "重庆市", "Chongqing"),
    Region("510000", "四川", "四川省", "Sichuan"),
    Region("520000", "贵州", "贵州省", "Guizhou"),
    Region("530000", "云南", "云南省", "Yunnan"),
    Region("540000", "西藏", "西藏自治区", "Xizang", aliases=("Tibet",)),
    Region("610000", "陕西", "陕西省", "Shaanxi"),
    Region("620000", "甘肃", "甘肃省", "Gansu"),
    Region("630000", "青海", "青海省", "Qinghai"),
    Region("640000", "宁夏", "宁夏回族自治区", "Ningxia"),
    Region(
        XINJIANG_CODE,
        "新疆",
        "新疆维吾尔自治区",
        "Xinjiang",
        # Batch-2 spelling of 650000 with the corps folded in, full- and half-width brackets.
        aliases=("新疆（含兵团）", "新疆(含兵团)"),
    ),
    Region(
        XPCC_CODE,
        "新疆生产建设兵团",
        "新疆生产建设兵团",
        "Xinjiang Production and Construction Corps",
        is_nhsa_only=True,
        merged_into=XINJIANG_CODE,
        aliases=("兵团", "新疆兵团", "XPCC"),
    ),
)

REGIONS_BY_CODE: dict[str, Region] = {r.code: r for r in REGIONS}


def _key(text: str) -> str:
    # NFKC folds full-width brackets and digits; spaces and case never distinguish two regions.
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def _build_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for region in REGIONS:
        names = (region.code, region.name, region.full_name, region.name_en, *region.aliases)
        for spelling in names:
            key = _key(spelling)
            if index.setdefault(key, region.code) != region.code:
                raise AssertionError(f"region spelling {spelling} is ambiguous")
    return index


_INDEX = _build_index()


def resolve_region(text: str | int, *, xpcc_separate: bool = False) -> str:
    """Return the region code of a code, short or full name, English name or alias.

    ``新疆（含兵团）``/``新疆(含兵团)`` give 650000 (the corps is folded in and cannot be split off).
    660000 and its names give 660000 with ``xpcc_separate``, else 650000. Raises
    :class:`UnknownRegion` (``UNKNOWN_REGION``, ``.text`` = the input) for anything else.
    """
    key = _key(str(text)) if isinstance(text, str | int) and not isinstance(text, bool) else ""
    code = _INDEX.get(key) if key else None
    if code is None:
        raise UnknownRegion(text)
    merged_into = REGIONS_BY_CODE[code].merged_into
    if merged_into is not None and not xpcc_separate:
        return merged_into
    return code


def get_region(code: str) -> Region:
    """Return the :class:`Region` of a 6-digit code; :class:`UnknownRegion` if there is none."""
    try:
        return REGIONS_BY_CODE[code]
    except KeyError:
        raise UnknownRegion(code) from None


def supply_regions(*, xpcc_separate: bool = False) -> tuple[Region, ...]:
    """The regions a project supplies: 31 (660000 folded into 650000), 32 with ``xpcc_separate``."""
    return tuple(r for r in REGIONS if xpcc_separate or r.merged_into is None)
