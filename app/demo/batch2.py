"""The 2nd national batch (第二批国家组织药品集中采购, 2020) result tables, read for the demo.

Pure functions, no database: read ``data/nvbp-batch2-bids.csv`` and ``data/nvbp-batch2-volumes.csv``
(real published figures, see ``data/SOURCE.md``) and derive what the demo seed stores: the
varieties (lots), the supplier companies and one catalog product per (variety, company, strength).

Everything here that is not in the tables is **fictitious demo data**, generated deterministically
so every run gives the same rows: NHSA codes, 本位码, 批准文号, pack sizes, the 剂型 of each product
(tablet or capsule) and the classification segment of the NHSA code. Money and volumes are read as
:class:`~decimal.Decimal` from the cell text, never through ``float`` (DOMAIN.md P-2).
"""
from __future__ import annotations

import csv
import zlib
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from app.catalog.dosage_forms import default_dictionary, require
from app.catalog.pinyin import initials
from app.catalog.units import parse_spec
from app.regions.names import REGIONS, resolve_region

DATA_DIR = Path(__file__).with_name("data")
BIDS_CSV = DATA_DIR / "nvbp-batch2-bids.csv"
VOLUMES_CSV = DATA_DIR / "nvbp-batch2-volumes.csv"

#: Volumes are published in 万 (10,000) smallest units.
TEN_THOUSAND = Decimal(10000)

# ---------------------------------------------------------------------------------------------
# Demo assumptions (not in the tables)

#: 剂型 of a product by VBP dosage-form group (口服常释剂型 → 片剂 unless listed in CAPSULE_GENERICS).
FORM_BY_GROUP = {
    "口服常释剂型": "片剂",
    "缓释控释剂型": "缓释片",
    "咀嚼片": "咀嚼片",
    "口服散剂": "口服散剂",
    "颗粒剂": "颗粒剂",
    "注射剂": "注射用无菌粉末",
    "滴眼剂": "滴眼剂",
}
#: Varieties of 口服常释剂型 shown as capsules in the demo (commonly sold as capsules in China).
CAPSULE_GENERICS = frozenset({"阿莫西林", "克林霉素", "头孢氨苄", "头孢拉定", "替吉奥", "氟康唑", "阿德福韦酯"})
#: 最小制剂单位 of each 剂型 used by the demo.
MIN_UNIT_BY_FORM = {
    "片剂": "片",
    "缓释片": "片",
    "咀嚼片": "片",
    "胶囊剂": "粒",
    "口服散剂": "袋",
    "颗粒剂": "袋",
    "注射用无菌粉末": "支",
    "滴眼剂": "支",
}
#: Plausible pack sizes (smallest units per box) per 最小制剂单位; one is picked per product.
PACK_CHOICES = {"片": (7, 14, 28), "粒": (12, 24, 36), "袋": (10, 20), "支": (1,)}

#: ATC level-4 class (5 characters) of each generic name: the 2nd–6th characters of the NHSA code
#: (DOMAIN.md C1 "A01AB classification"), so the generated codes also pass the strict X regex.
ATC5 = {
    "阿比特龙": "L02BX", "阿德福韦酯": "J05AF", "阿卡波糖": "A10BF", "阿莫西林": "J01CA",
    "阿奇霉素": "J01FA", "安立生坦": "C02KX", "奥美沙坦酯": "C09CA", "比索洛尔": "C07AB",
    "对乙酰氨基酚": "N02BE", "多奈哌齐": "N06DA", "氟康唑": "J02AC", "福多司坦": "R05CB",
    "格列美脲": "A10BB", "甲硝唑": "P01AB", "聚乙二醇": "A06AD", "坎地沙坦酯": "C09CA",
    "克林霉素": "J01FF", "铝碳酸镁": "A02AD", "美洛昔康": "M01AC", "莫西沙星": "J01MA",
    "曲美他嗪": "C01EB", "索利那新": "G04BD", "他达拉非": "G04BE", "碳酸氢钠": "A02AH",
    "特拉唑嗪": "G04CA", "替吉奥": "L01BC", "头孢氨苄": "J01DB", "头孢拉定": "J01DB",
    "辛伐他汀": "C10AA", "异烟肼": "J04AC", "吲达帕胺": "C03BA", "紫杉醇（白蛋白结合型）": "L01CD",
    "左西替利嗪": "R06AE",
}
#: Dosage-form segment (11th–14th characters) of the generated NHSA codes; fictitious.
FORM_CODE = {
    "片剂": "A001", "缓释片": "A012", "咀嚼片": "A009", "胶囊剂": "B001", "口服散剂": "D003",
    "颗粒剂": "C001", "注射用无菌粉末": "R002", "滴眼剂": "M001",
}


def _stable(text: str) -> int:
    """A hash of ``text`` that is the same in every process (``hash()`` is salted)."""
    return zlib.crc32(text.encode("utf-8"))


def _dec(text: str) -> Decimal | None:
    text = (text or "").strip()
    return Decimal(text) if text else None


def _yes(text: str) -> bool:
    return (text or "").strip() == "是"


# ---------------------------------------------------------------------------------------------
# Rows of the published tables


@dataclass(frozen=True)
class BidRow:
    """One row of ``nvbp-batch2-bids.csv`` (one submitted bid)."""

    lot_no: int
    variety: str
    multi_spec: bool
    spec: str
    company: str
    company_short: str
    originator: bool
    foreign: bool
    won: bool
    ceiling_ucp: Decimal
    pre_median_ucp: Decimal | None
    bid_ucp: Decimal
    supply_provinces: tuple[str, ...]


@dataclass(frozen=True)
class VolumeRow:
    """One row of ``nvbp-batch2-volumes.csv``: committed first-year volume in 万 smallest units."""

    province: str
    region_code: str
    variety: str
    spec: str
    volume_10k: Decimal

    @property
    def units(self) -> Decimal:
        """The volume in smallest units, exact (the table has at most 4 decimals)."""
        return self.volume_10k * TEN_THOUSAND


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def bid_rows() -> tuple[BidRow, ...]:
    """Every bid of the bids table, in file order."""
    rows = []
    for r in _read(BIDS_CSV):
        rows.append(BidRow(
            lot_no=int(r["lot_no"]),
            variety=r["generic_name"].strip(),
            multi_spec=_yes(r["multi_spec"]),
            spec=r["spec"].strip(),
            company=r["company"].strip(),
            company_short=r["company_short"].strip(),
            originator=_yes(r["originator"]),
            foreign=_yes(r["foreign"]),
            won=_yes(r["won"]),
            ceiling_ucp=Decimal(r["ceiling_unit_price"].strip()),
            pre_median_ucp=_dec(r["pre_median_unit_price"]),
            bid_ucp=Decimal(r["bid_unit_price"].strip()),
            supply_provinces=tuple(p for p in (r["supply_provinces"] or "").split(";") if p.strip()),
        ))
    return tuple(rows)


@lru_cache(maxsize=1)
def volume_rows() -> tuple[VolumeRow, ...]:
    """Every row of the volumes table, in file order, with its region code (§11)."""
    return tuple(
        VolumeRow(
            province=r["province"].strip(),
            region_code=resolve_region(r["province"].strip()),
            variety=r["generic_name"].strip(),
            spec=r["spec"].strip(),
            volume_10k=Decimal(r["first_year_volume_10k_units"].strip()),
        )
        for r in _read(VOLUMES_CSV)
    )


# ---------------------------------------------------------------------------------------------
# Varieties (lots)


def split_variety(name: str) -> tuple[str, str]:
    """Split a 品种 name into (generic name, VBP dosage-form group) with the 剂型 dictionary.

    ``阿比特龙口服常释剂型`` → (阿比特龙, 口服常释剂型); ``安立生坦片`` → (安立生坦, 口服常释剂型);
    ``注射用紫杉醇（白蛋白结合型）`` → (紫杉醇（白蛋白结合型）, 注射剂).
    """
    d = default_dictionary()
    for group in sorted(d.groups, key=len, reverse=True):
        if name.endswith(group) and len(name) > len(group):
            return name[: -len(group)], group
    for prefix, group, _evidence in sorted(d.prefixes, key=lambda p: -len(p[0])):
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):], group
    for form in sorted(d.forms, key=len, reverse=True):
        if name.endswith(form) and len(name) > len(form):
            return name[: -len(form)], d.forms[form].form_group
    raise ValueError(f"no dosage-form group found in the variety name {name}")


def _strength_key(spec: str) -> tuple[str, Decimal]:
    parsed = parse_spec(spec)
    return (parsed.strength_unit or "", parsed.strength_value or Decimal(0))


def _median(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    values = sorted(values)
    mid = len(values) // 2
    if len(values) % 2:
        return values[mid]
    return ((values[mid - 1] + values[mid]) / 2).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Variety:
    """A lot of the batch: its name, generic name, form group and class, representative strength.

    ``ceiling_ucp`` is the published 最高有效申报价 (None for 碳酸氢钠, which had no bids);
    ``pre_procurement_ucp`` is the median of the bids' ``pre_median_unit_price`` at the
    representative strength (a demo summary: the table gives one pre-procurement median per bidder).
    """

    lot_no: int
    name: str
    generic_name: str
    form_group: str
    form_class: str
    dosage_form: str
    min_unit: str
    representative_spec: str
    specs: tuple[str, ...]
    ceiling_ucp: Decimal | None
    pre_procurement_ucp: Decimal | None
    atc5: str
    has_bids: bool

    @property
    def initials(self) -> str:
        return initials(self.generic_name)


@lru_cache(maxsize=1)
def varieties() -> tuple[Variety, ...]:
    """The 33 varieties: the 32 lots of the bids table (their lot numbers) and, after them, the
    varieties that only have volumes (碳酸氢钠, lot 33: no bid was submitted, 流标)."""
    bids_by_variety: dict[str, list[BidRow]] = defaultdict(list)
    lot_of: dict[str, int] = {}
    for b in bid_rows():
        bids_by_variety[b.variety].append(b)
        if lot_of.setdefault(b.variety, b.lot_no) != b.lot_no:
            raise ValueError(f"{b.variety} has two lot numbers in the bids table")
    specs_of: dict[str, list[str]] = defaultdict(list)
    for b in bid_rows():
        if b.spec not in specs_of[b.variety]:
            specs_of[b.variety].append(b.spec)
    for v in volume_rows():
        if v.spec not in specs_of[v.variety]:
            specs_of[v.variety].append(v.spec)
    next_lot = max(lot_of.values()) + 1
    for v in volume_rows():
        if v.variety not in lot_of:
            lot_of[v.variety] = next_lot
            next_lot += 1

    result = []
    for name, lot_no in sorted(lot_of.items(), key=lambda item: item[1]):
        generic, group = split_variety(name)
        bids = bids_by_variety.get(name, [])
        dosage_form = "胶囊剂" if generic in CAPSULE_GENERICS and group == "口服常释剂型" else FORM_BY_GROUP[group]
        entry = require(dosage_form)
        if entry.form_group != group:
            raise ValueError(f"demo 剂型 {dosage_form} is not in the group {group}")
        ceilings = {b.ceiling_ucp for b in bids}
        if len(ceilings) > 1:
            raise ValueError(f"{name} has several ceilings: {sorted(ceilings)}")
        if bids:
            # Representative strength: the one most bids were made at (the first on a tie).
            counts: dict[str, int] = {}
            for b in bids:
                counts[b.spec] = counts.get(b.spec, 0) + 1
            rep = max(counts, key=lambda s: (counts[s], -list(counts).index(s)))
        else:
            # No bids: the strength with the largest published volume.
            totals: dict[str, Decimal] = defaultdict(Decimal)
            for v in volume_rows():
                if v.variety == name:
                    totals[v.spec] += v.volume_10k
            rep = max(totals, key=lambda s: totals[s])
        result.append(Variety(
            lot_no=lot_no,
            name=name,
            generic_name=generic,
            form_group=group,
            form_class=default_dictionary().groups[group].form_class,
            dosage_form=dosage_form,
            min_unit=MIN_UNIT_BY_FORM[dosage_form],
            representative_spec=rep,
            specs=tuple(sorted(specs_of[name], key=_strength_key)),
            ceiling_ucp=next(iter(ceilings)) if ceilings else None,
            pre_procurement_ucp=_median([b.pre_median_ucp for b in bids if b.spec == rep and b.pre_median_ucp is not None]),
            atc5=ATC5[generic],
            has_bids=bool(bids),
        ))
    return tuple(result)


# ---------------------------------------------------------------------------------------------
# Companies


def _region_of_name(name: str) -> str | None:
    for region in REGIONS:
        if region.merged_into is None and (name.startswith(region.full_name) or name.startswith(region.name)):
            return region.code
    return None


@dataclass(frozen=True)
class Company:
    """A supplier company of the bids table (full name as published, short name).

    ``foreign_maker``: a multinational listed without a Chinese legal entity (强生, GSK,
    ``Bayer AG（…分包装）`` …), registered with a ``foreign_id`` and its agent's USCC (DOMAIN.md
    C5). A multinational's Chinese subsidiary (拜耳医药保健有限公司) is a domestic company.
    """

    serial: int
    name: str
    short_name: str
    foreign: bool
    foreign_maker: bool
    region_code: str | None


@lru_cache(maxsize=1)
def companies() -> tuple[Company, ...]:
    """Every distinct company (by full name) of the bids table, numbered in order of appearance."""
    seen: dict[str, Company] = {}
    for b in bid_rows():
        if b.company in seen:
            continue
        foreign_maker = b.foreign and not b.company.endswith("有限公司")
        seen[b.company] = Company(
            serial=len(seen) + 1,
            name=b.company,
            short_name=b.company_short,
            foreign=b.foreign,
            foreign_maker=foreign_maker,
            region_code=None if foreign_maker else _region_of_name(b.company),
        )
    return tuple(seen.values())


# ---------------------------------------------------------------------------------------------
# Products


def _benweima(enterprise5: str, product_serial: int) -> str:
    """A fictitious 本位码: 86 · 9 · enterprise (= the NHSA code's last 5 digits) · 5 digits · check.

    The check digit is EAN-13 style (DOMAIN.md C3 leaves the real algorithm open, checksum off).
    """
    body = f"869{enterprise5}{product_serial:05d}"
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class ProductPlan:
    """One catalog product of the demo: (variety, company, strength) of the bids table."""

    variety: Variety
    company: Company
    spec: str
    originator: bool
    nhsa_code: str
    benweima: str
    approval_no: str
    approval_no_type: str
    dosage_form: str
    min_unit: str
    pack_qty: int
    strength_value: Decimal | None
    strength_unit: str | None
    fill_volume_ml: Decimal | None
    quality_tier: str

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.variety.lot_no, self.company.name, self.spec)


@lru_cache(maxsize=1)
def products() -> tuple[ProductPlan, ...]:
    """One product per distinct (lot, company, spec) of the bids table, in file order.

    NHSA code (23 characters, DOMAIN.md C1, fictitious): ``X`` · ATC class (5) · generic-name
    segment (pinyin initial + lot number) · dosage-form segment · strength index within the
    variety (2) · package ``01`` · enterprise = the company's serial (5).
    """
    by_variety = {v.name: v for v in varieties()}
    by_company = {c.name: c for c in companies()}
    plans: dict[tuple[int, str, str], ProductPlan] = {}
    for b in bid_rows():
        key = (b.lot_no, b.company, b.spec)
        if key in plans:
            continue
        variety = by_variety[b.variety]
        company = by_company[b.company]
        serial = len(plans) + 1
        spec = parse_spec(b.spec)
        enterprise = f"{company.serial:05d}"
        name_segment = variety.initials[:1].upper() + f"{variety.lot_no:03d}"
        spec_index = variety.specs.index(b.spec) + 1
        code = f"X{variety.atc5}{name_segment}{FORM_CODE[variety.dosage_form]}{spec_index:02d}01{enterprise}"
        choices = PACK_CHOICES[variety.min_unit]
        pack_qty = choices[_stable(f"{b.lot_no}|{b.company}|{b.spec}") % len(choices)]
        approval_type = "import" if company.foreign_maker else "domestic"
        # 2099 marks the approval numbers as fictitious (国药准字 + letter + 8 digits, DOMAIN.md C4).
        approval_no = f"H2099{serial:04d}" if approval_type == "import" else f"国药准字H2099{serial:04d}"
        plans[key] = ProductPlan(
            variety=variety,
            company=company,
            spec=b.spec,
            originator=b.originator,
            nhsa_code=code,
            benweima=_benweima(enterprise, serial),
            approval_no=approval_no,
            approval_no_type=approval_type,
            dosage_form=variety.dosage_form,
            min_unit=variety.min_unit,
            pack_qty=pack_qty,
            strength_value=spec.strength_value,
            strength_unit=spec.strength_unit,
            fill_volume_ml=spec.fill_volume_ml,
            quality_tier="originator" if b.originator else "consistency_evaluated",
        )
    return tuple(plans.values())


def split_volume(units: Decimal, key: str) -> tuple[Decimal, Decimal]:
    """Split ``units`` between a province's two demo institutions, deterministically.

    The first gets 55–70 % (by a stable hash of ``key``) rounded half up to whole units, the second
    the rest, so the two always add up to ``units`` exactly.
    """
    share = Decimal(55 + _stable(key) % 16) / 100
    first = (units * share).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return first, units - first
