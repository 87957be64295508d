"""Validation of a ``jicai.award-problem/1`` document (``shared/contracts/award-problem.md``).

:func:`validate_problem` collects every bad field, by JSON path, and raises one
:class:`~solver.errors.ProblemError` carrying all of them; it returns ``None`` for valid input.
It checks structure and the contract's validity rules only: a demand unit that no bid covers is
valid input (the problem is then infeasible, ``demand:D``), and so are constraints that cannot all
hold at once (``min_winners`` above the number of bidders, ``max_winners`` below ``min_winners``).
"""
from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

from solver.errors import FieldError, ProblemError

SCHEMA = "jicai.award-problem/1"

_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


def got(value: Any) -> str:
    """The JSON text of ``value`` for a message (``"-3"``, ``3.5``, ``null``), shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_decimal(value: Any) -> Decimal | None:
    """``Decimal`` of a JSON decimal string (``"3.1415"``); ``None`` if it is not one."""
    if isinstance(value, str) and _DECIMAL.match(value):
        return Decimal(value)
    return None


def is_number(value: Any) -> bool:
    """A JSON number (not a boolean), finite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_count(value: Any) -> bool:
    """A non-negative JSON integer (``2`` or ``2.0``)."""
    return is_number(value) and value >= 0 and float(value).is_integer()


class _Checker:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def err(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    # -- field helpers -------------------------------------------------------------------------
    def obj_list(self, doc: dict, key: str, required: bool = True) -> list[tuple[int, dict]]:
        """The ``(index, object)`` pairs of a list of objects; reports a bad list or element."""
        if key not in doc:
            if required:
                self.err(key, "is required")
            return []
        items = doc[key]
        if not isinstance(items, list):
            self.err(key, f"must be a list, got {got(items)}")
            return []
        out = []
        for i, item in enumerate(items):
            if isinstance(item, dict):
                out.append((i, item))
            else:
                self.err(f"{key}[{i}]", f"must be an object, got {got(item)}")
        return out

    def ids(self, key: str, items: list[tuple[int, dict]]) -> dict[str, int]:
        """Map id -> list index; reports missing, non-string and duplicate ids."""
        seen: dict[str, int] = {}
        for i, item in items:
            path = f"{key}[{i}].id"
            value = item.get("id")
            if not isinstance(value, str) or not value:
                self.err(path, f"must be a non-empty string, got {got(value)}")
            elif value in seen:
                self.err(path, f"duplicate id {got(value)} (also {key}[{seen[value]}])")
            else:
                seen[value] = i
        return seen

    def ref(self, path: str, value: Any, known: dict[str, int], what: str) -> bool:
        if not isinstance(value, str):
            self.err(path, f"must be a {what} id, got {got(value)}")
            return False
        if value not in known:
            self.err(path, f"unknown {what} {got(value)}")
            return False
        return True

    def decimal(self, path: str, value: Any, kind: str) -> Decimal | None:
        """``kind``: ``positive``, ``non-negative`` or ``fraction`` (0 <= x <= 1)."""
        d = parse_decimal(value)
        ok = d is not None and (
            (kind == "positive" and d > 0)
            or (kind == "non-negative" and d >= 0)
            or (kind == "fraction" and 0 <= d <= 1)
        )
        if not ok:
            text = {"positive": "a positive decimal", "non-negative": "a non-negative decimal",
                    "fraction": "a decimal between 0 and 1"}[kind]
            self.err(path, f"must be {text}, got {got(value)}")
            return None
        return d

    def quantity(self, path: str, value: Any, nullable: bool) -> bool:
        if value is None and nullable:
            return True
        if not is_number(value) or value < 0:
            what = "null or a non-negative number" if nullable else "a non-negative number"
            self.err(path, f"must be {what}, got {got(value)}")
            return False
        return True

    def count(self, path: str, value: Any, nullable: bool) -> bool:
        if value is None and nullable:
            return True
        if not is_count(value):
            what = "null or a non-negative integer" if nullable else "a non-negative integer"
            self.err(path, f"must be {what}, got {got(value)}")
            return False
        return True


def validate_problem(problem: Any) -> None:
    """Raise :class:`ProblemError` listing every invalid field of ``problem``; else return ``None``."""
    c = _Checker()
    if not isinstance(problem, dict):
        raise ProblemError([FieldError("$", f"must be a JSON object, got {got(problem)}")])

    if problem.get("schema") != SCHEMA:
        c.err("schema", f"must be {got(SCHEMA)}, got {got(problem.get('schema'))}")
    for key in ("name", "currency"):
        if key in problem and not isinstance(problem[key], str):
            c.err(key, f"must be a string, got {got(problem[key])}")

    suppliers = c.obj_list(problem, "suppliers")
    lots = c.obj_list(problem, "lots")
    demand = c.obj_list(problem, "demand")
    bids = c.obj_list(problem, "bids")
    bundles = c.obj_list(problem, "bundles", required=False)
    sup_ids = c.ids("suppliers", suppliers)
    lot_ids = c.ids("lots", lots)
    dem_ids = c.ids("demand", demand)
    bid_ids = c.ids("bids", bids)
    c.ids("bundles", bundles)
    del dem_ids, bid_ids

    for i, s in suppliers:
        p = f"suppliers[{i}]"
        c.quantity(f"{p}.capacity", s.get("capacity"), nullable=True)
        if "fixed_cost" in s:
            c.decimal(f"{p}.fixed_cost", s["fixed_cost"], "non-negative")
        c.count(f"{p}.max_lots", s.get("max_lots"), nullable=True)

    for i, lot in lots:
        p = f"lots[{i}]"
        if "min_winners" in lot:
            c.count(f"{p}.min_winners", lot["min_winners"], nullable=False)
        c.count(f"{p}.max_winners", lot.get("max_winners"), nullable=True)
        if lot.get("max_share") is not None:
            c.decimal(f"{p}.max_share", lot["max_share"], "fraction")

    # regions with a demand unit, per lot; the units of each (lot, region)
    lot_regions: dict[str, set[str]] = {}
    for i, d in demand:
        p = f"demand[{i}]"
        lot_ok = c.ref(f"{p}.lot", d.get("lot"), lot_ids, "lot")
        region = d.get("region")
        if not isinstance(region, str) or not region:
            c.err(f"{p}.region", f"must be a non-empty string, got {got(region)}")
        elif lot_ok:
            lot_regions.setdefault(d["lot"], set()).add(region)
        if "institution" in d and (not isinstance(d["institution"], str) or not d["institution"]):
            c.err(f"{p}.institution", f"must be a non-empty string, got {got(d['institution'])}")
        c.quantity(f"{p}.quantity", d.get("quantity"), nullable=False)
        if not isinstance(d.get("single_source"), bool):
            c.err(f"{p}.single_source", f"must be true or false, got {got(d.get('single_source'))}")

    # coverage per (supplier, lot): bid index -> None (whole lot) or set of regions
    coverage: dict[tuple[str, str], list[tuple[int, str, set[str] | None]]] = {}
    for i, b in bids:
        p = f"bids[{i}]"
        sup_ok = c.ref(f"{p}.supplier", b.get("supplier"), sup_ids, "supplier")
        lot_ok = c.ref(f"{p}.lot", b.get("lot"), lot_ids, "lot")
        regions = b.get("regions")
        region_set: set[str] | None = None
        regions_ok = True
        if regions is not None:
            if not isinstance(regions, list) or not regions:
                c.err(f"{p}.regions", f"must be null or a non-empty list of regions, got {got(regions)}")
                regions_ok = False
            else:
                region_set = set()
                for j, r in enumerate(regions):
                    rp = f"{p}.regions[{j}]"
                    if not isinstance(r, str) or not r:
                        c.err(rp, f"must be a non-empty string, got {got(r)}")
                        regions_ok = False
                    elif r in region_set:
                        c.err(rp, f"region {got(r)} is listed twice")
                    else:
                        region_set.add(r)
                        if lot_ok and r not in lot_regions.get(b["lot"], set()):
                            c.err(rp, f"lot {got(b['lot'])} has no demand unit in region {got(r)}")
                            regions_ok = False
        base = c.decimal(f"{p}.unit_price", b.get("unit_price"), "positive")
        if "capacity_use" in b:
            c.quantity(f"{p}.capacity_use", b["capacity_use"], nullable=False)
        c.quantity(f"{p}.max_quantity", b.get("max_quantity"), nullable=True)
        tiers = b.get("tiers", [])
        if not isinstance(tiers, list):
            c.err(f"{p}.tiers", f"must be a list, got {got(tiers)}")
        else:
            prev_q: float | None = None
            prev_price, prev_path = base, "unit_price"
            for j, t in enumerate(tiers):
                tp = f"{p}.tiers[{j}]"
                if not isinstance(t, dict):
                    c.err(tp, f"must be an object, got {got(t)}")
                    prev_q, prev_price = None, None
                    continue
                q = t.get("min_quantity")
                if c.quantity(f"{tp}.min_quantity", q, nullable=False):
                    if prev_q is not None and not q > prev_q:
                        c.err(f"{tp}.min_quantity",
                              f"must be greater than tiers[{j - 1}].min_quantity ({got(prev_q)}), got {got(q)}")
                    prev_q = q
                else:
                    prev_q = None
                price = c.decimal(f"{tp}.unit_price", t.get("unit_price"), "positive")
                if price is not None and prev_price is not None and not price < prev_price:
                    c.err(f"{tp}.unit_price",
                          f"must be less than {prev_path} ({got(str(prev_price))}), got {got(t.get('unit_price'))}")
                prev_price, prev_path = price, f"tiers[{j}].unit_price"
        if sup_ok and lot_ok and regions_ok:
            coverage.setdefault((b["supplier"], b["lot"]), []).append((i, b.get("id"), region_set))

    # one bid per supplier covering any demand unit
    for (sup, lot), entries in coverage.items():
        for k, (i, _bid_id, regs) in enumerate(entries):
            for (_i2, other_id, other) in entries[:k]:
                if regs is not None and other is not None:
                    common = regs & other
                    if not common:
                        continue
                    where = f"region {got(min(common))} of lot {got(lot)}"
                elif other is None:
                    where = f"every region of lot {got(lot)} (regions null)"
                else:
                    where = f"regions of lot {got(lot)} that this bid (regions null) also covers"
                c.err(f"bids[{i}].regions", f"supplier {got(sup)} already has bid {got(other_id)} covering {where}")
                break

    bundle_lots: dict[str, dict[str, Any]] = {}
    for i, g in bundles:
        p = f"bundles[{i}]"
        sup_ok = c.ref(f"{p}.supplier", g.get("supplier"), sup_ids, "supplier")
        glots = g.get("lots")
        if not isinstance(glots, list) or not glots:
            c.err(f"{p}.lots", f"must be a non-empty list of lot ids, got {got(glots)}")
        else:
            seen: set[str] = set()
            for j, lot in enumerate(glots):
                lp = f"{p}.lots[{j}]"
                if not c.ref(lp, lot, lot_ids, "lot"):
                    continue
                if lot in seen:
                    c.err(lp, f"lot {got(lot)} is listed twice")
                    continue
                seen.add(lot)
                if sup_ok:
                    owner = bundle_lots.setdefault(g["supplier"], {})
                    if lot in owner:
                        c.err(lp, f"supplier {got(g['supplier'])} already has bundle {got(owner[lot])} "
                                  f"with lot {got(lot)}")
                    else:
                        owner[lot] = g.get("id")
        c.decimal(f"{p}.discount", g.get("discount"), "fraction")

    if c.errors:
        raise ProblemError(c.errors)
