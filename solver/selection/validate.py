"""Validation of a ``jicai.selection-problem/1`` document (输入校验).

:func:`validate_problem` checks every field, collects every error with its JSON path (``bids[3].unit_price``)
and raises one :class:`ProblemError`; on success it returns the problem parsed into immutable records with
``Decimal`` prices, which the rule engine works on.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from solver.errors import FieldError, ProblemError
from solver.rulesets import resolve_ruleset

SCHEMA = "jicai.selection-problem/1"
FORM_CLASSES = ("oral_solid", "small_volume_injection", "large_volume_injection", "other")
DRUG_CLASSES = ("chemical", "special_anti_infective")
DEMAND_BASES = ("reported", "committed")
EXCLUSION_REASONS = ("credit_barred", "ineligible_product", "incomplete")

_TOP_FIELDS = {"schema", "ruleset", "draw_seed", "regions", "lots", "bids"}
_LOT_FIELDS = {"id", "name", "ceiling", "form_class", "drug_class", "demand_basis", "demand"}
_DEMAND_FIELDS = {"region", "quantity"}
# manufacturer, b_licence and revival_accepted are optional extensions used only by the W3 options
# (count_same_manufacturer_as_one, b_licence_slot_cut) and the W8 revival; see solver/README.md.
_BID_FIELDS = {
    "id", "lot", "supplier", "unit_price", "excluded", "tie_keys", "region_preferences",
    "manufacturer", "b_licence", "revival_accepted",
}
_POSITIVE_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_SIGNED_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


@dataclass(frozen=True)
class Lot:
    """One lot (品种): ceiling, classes and demand per region (absent regions have zero)."""

    index: int
    id: str
    name: str | None
    ceiling: Decimal | None
    form_class: str
    drug_class: str
    demand_basis: str
    demand: dict[str, Decimal]


@dataclass(frozen=True)
class Bid:
    """One submitted bid (报价) with its unit comparable price as an exact ``Decimal``."""

    index: int
    id: str
    lot: str
    supplier: str
    price: Decimal
    price_text: str
    excluded: str | None
    tie_keys: dict[str, Decimal]
    region_preferences: tuple[str, ...]
    manufacturer: str
    b_licence: bool
    revival_accepted: bool


@dataclass(frozen=True)
class Problem:
    """A validated selection problem: resolved RuleSet, draw seed, regions, lots and bids in input order."""

    ruleset: dict
    draw_seed: str | None
    regions: tuple[str, ...]
    lots: tuple[Lot, ...]
    bids: tuple[Bid, ...]


def _got(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _is_number(value: Any) -> bool:
    # bool is an int in Python but true/false are not quantities in JSON.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return not (isinstance(value, float) and not math.isfinite(value))


def number_to_decimal(value: int | float) -> Decimal:
    """Exact Decimal of a JSON number; floats go through ``repr`` so 0.1 stays 0.1 (DOMAIN.md P-2)."""
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def tie_key_names(ruleset: dict) -> dict[str, str]:
    """Tie-key name -> direction (``desc``/``asc``) for the RuleSet's ``tie_break_order``."""
    names = {}
    for key in ruleset["tie_break_order"]:
        if key not in ("ucp", "officer_lot_draw"):
            name, _, direction = key.rpartition("_")
            names[name] = direction
    return names


class _Collector:
    """Collects field errors while the document is walked."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def unknown_fields(self, obj: dict, allowed: set[str], path: str) -> None:
        # A misspelt optional field would otherwise be silently ignored.
        for key in sorted(set(obj) - allowed):
            self.add(f"{path}.{key}" if path else key, "unknown field")

    def string(self, obj: dict, key: str, path: str, required: bool = True) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.add(path, "is required" if key not in obj else "must be a non-empty string, got null")
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(path, f"must be a non-empty string, got {_got(value)}")
            return None
        return value

    def enum(self, obj: dict, key: str, path: str, choices: tuple[str, ...]) -> str | None:
        if key not in obj:
            self.add(path, "is required")
            return None
        value = obj[key]
        if value not in choices:
            self.add(path, f"must be one of {', '.join(_got(c) for c in choices)}, got {_got(value)}")
            return None
        return value

    def positive_decimal(self, obj: dict, key: str, path: str, nullable: bool = False) -> tuple[bool, Decimal | None]:
        """(ok, value) of a positive decimal string field; ``nullable`` accepts null (no ceiling)."""
        if key not in obj:
            self.add(path, "is required")
            return False, None
        value = obj[key]
        if value is None and nullable:
            return True, None
        if isinstance(value, str) and _POSITIVE_DECIMAL.match(value) and Decimal(value) > 0:
            return True, Decimal(value)
        self.add(path, f"must be a positive decimal string{' or null' if nullable else ''}, got {_got(value)}")
        return False, None


def _validate_regions(doc: dict, c: _Collector) -> list[str]:
    regions = doc.get("regions")
    if "regions" not in doc:
        c.add("regions", "is required")
        return []
    if not isinstance(regions, list) or not regions:
        c.add("regions", f"must be a non-empty list of region codes, got {_got(regions)}")
        return []
    seen: dict[str, int] = {}
    good = []
    for i, code in enumerate(regions):
        if not isinstance(code, str) or not code.strip():
            c.add(f"regions[{i}]", f"must be a non-empty string, got {_got(code)}")
        elif code in seen:
            c.add(f"regions[{i}]", f"duplicate region {_got(code)} (first at regions[{seen[code]}])")
        else:
            seen[code] = i
            good.append(code)
    return good


def _validate_demand(lot: dict, path: str, region_set: set[str], c: _Collector) -> dict[str, Decimal]:
    demand: dict[str, Decimal] = {}
    if "demand" not in lot:
        c.add(f"{path}.demand", "is required")
        return demand
    rows = lot["demand"]
    if not isinstance(rows, list):
        c.add(f"{path}.demand", f"must be a list of {{region, quantity}}, got {_got(rows)}")
        return demand
    first: dict[str, int] = {}
    for j, row in enumerate(rows):
        rpath = f"{path}.demand[{j}]"
        if not isinstance(row, dict):
            c.add(rpath, f"must be an object {{region, quantity}}, got {_got(row)}")
            continue
        c.unknown_fields(row, _DEMAND_FIELDS, rpath)
        region = c.string(row, "region", f"{rpath}.region")
        if region is not None:
            if region_set and region not in region_set:  # (no second error when `regions` itself is bad)
                c.add(f"{rpath}.region", f"region {_got(region)} is not in regions")
                region = None
            elif region in first:
                c.add(f"{rpath}.region", f"duplicate region {_got(region)} (first at {path}.demand[{first[region]}])")
                region = None
            else:
                first[region] = j
        if "quantity" not in row:
            c.add(f"{rpath}.quantity", "is required")
        elif not _is_number(row["quantity"]) or row["quantity"] < 0:
            c.add(f"{rpath}.quantity", f"must be a non-negative number, got {_got(row['quantity'])}")
        elif region is not None:
            demand[region] = number_to_decimal(row["quantity"])
    return demand


def _validate_lots(doc: dict, region_set: set[str], c: _Collector) -> list[Lot]:
    lots_doc = doc.get("lots")
    if "lots" not in doc:
        c.add("lots", "is required")
        return []
    if not isinstance(lots_doc, list) or not lots_doc:
        c.add("lots", f"must be a non-empty list of lots, got {_got(lots_doc)}")
        return []
    lots: list[Lot] = []
    first: dict[str, int] = {}
    for i, lot in enumerate(lots_doc):
        path = f"lots[{i}]"
        if not isinstance(lot, dict):
            c.add(path, f"must be an object, got {_got(lot)}")
            continue
        before = len(c.errors)
        c.unknown_fields(lot, _LOT_FIELDS, path)
        lot_id = c.string(lot, "id", f"{path}.id")
        if lot_id is not None and lot_id in first:
            c.add(f"{path}.id", f"duplicate id {_got(lot_id)} (first at lots[{first[lot_id]}])")
        elif lot_id is not None:
            first[lot_id] = i
        name = c.string(lot, "name", f"{path}.name", required=False)
        _, ceiling = c.positive_decimal(lot, "ceiling", f"{path}.ceiling", nullable=True)
        form_class = c.enum(lot, "form_class", f"{path}.form_class", FORM_CLASSES)
        drug_class = c.enum(lot, "drug_class", f"{path}.drug_class", DRUG_CLASSES)
        demand_basis = c.enum(lot, "demand_basis", f"{path}.demand_basis", DEMAND_BASES)
        demand = _validate_demand(lot, path, region_set, c)
        if len(c.errors) == before:
            lots.append(Lot(i, lot_id, name, ceiling, form_class, drug_class, demand_basis, demand))
    return lots


def _validate_tie_keys(bid: dict, path: str, key_names: dict[str, str] | None, c: _Collector) -> dict[str, Decimal]:
    value = bid.get("tie_keys")
    if value is None:
        return {}
    if not isinstance(value, dict):
        c.add(f"{path}.tie_keys", f"must be an object or null, got {_got(value)}")
        return {}
    keys: dict[str, Decimal] = {}
    for name in sorted(value):
        raw = value[name]
        kpath = f"{path}.tie_keys.{name}"
        if key_names is not None and name not in key_names:
            expected = ", ".join(_got(n) for n in key_names) or "none"
            c.add(kpath, f"not a tie-break key of the RuleSet (its keys: {expected})")
        elif _is_number(raw):
            keys[name] = number_to_decimal(raw)
        elif isinstance(raw, str) and _SIGNED_DECIMAL.match(raw):
            keys[name] = Decimal(raw)
        else:
            c.add(kpath, f"must be a number or a decimal string, got {_got(raw)}")
    return keys


def _validate_preferences(bid: dict, path: str, region_set: set[str], c: _Collector) -> tuple[str, ...]:
    value = bid.get("region_preferences")
    if value is None:
        return ()
    if not isinstance(value, list):
        c.add(f"{path}.region_preferences", f"must be a list of region codes or null, got {_got(value)}")
        return ()
    seen: set[str] = set()
    prefs = []
    for k, code in enumerate(value):
        ppath = f"{path}.region_preferences[{k}]"
        if not isinstance(code, str):
            c.add(ppath, f"must be a region code string, got {_got(code)}")
        elif region_set and code not in region_set:  # (no second error when `regions` itself is bad)
            c.add(ppath, f"region {_got(code)} is not in regions")
        elif code in seen:
            c.add(ppath, f"region {_got(code)} is listed twice")
        else:
            seen.add(code)
            prefs.append(code)
    return tuple(prefs)


def _optional_bool(bid: dict, key: str, path: str, c: _Collector) -> bool:
    value = bid.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        c.add(f"{path}.{key}", f"must be true, false or null, got {_got(value)}")
        return False
    return value


def _validate_bids(
    doc: dict, lot_ids: set[str], region_set: set[str], key_names: dict[str, str] | None, c: _Collector
) -> list[Bid]:
    bids_doc = doc.get("bids")
    if "bids" not in doc:
        c.add("bids", "is required")
        return []
    if not isinstance(bids_doc, list):
        c.add("bids", f"must be a list of bids, got {_got(bids_doc)}")
        return []
    bids: list[Bid] = []
    first_id: dict[str, int] = {}
    first_supplier: dict[tuple[str, str], int] = {}
    for i, bid in enumerate(bids_doc):
        path = f"bids[{i}]"
        if not isinstance(bid, dict):
            c.add(path, f"must be an object, got {_got(bid)}")
            continue
        before = len(c.errors)
        c.unknown_fields(bid, _BID_FIELDS, path)
        bid_id = c.string(bid, "id", f"{path}.id")
        if bid_id is not None and bid_id in first_id:
            c.add(f"{path}.id", f"duplicate id {_got(bid_id)} (first at bids[{first_id[bid_id]}])")
        elif bid_id is not None:
            first_id[bid_id] = i
        lot = c.string(bid, "lot", f"{path}.lot")
        if lot is not None and lot not in lot_ids:
            c.add(f"{path}.lot", f"unknown lot {_got(lot)}")
        supplier = c.string(bid, "supplier", f"{path}.supplier")
        if supplier is not None and lot is not None:
            # A supplier bids at most once per lot (selection contract).
            if (lot, supplier) in first_supplier:
                c.add(
                    f"{path}.supplier",
                    f"supplier {_got(supplier)} already bids in lot {_got(lot)} (bids[{first_supplier[(lot, supplier)]}])",
                )
            else:
                first_supplier[(lot, supplier)] = i
        ok_price, price = c.positive_decimal(bid, "unit_price", f"{path}.unit_price")
        excluded = bid.get("excluded")
        if excluded is not None and excluded not in EXCLUSION_REASONS:
            c.add(
                f"{path}.excluded",
                f"must be null or one of {', '.join(_got(r) for r in EXCLUSION_REASONS)}, got {_got(excluded)}",
            )
        tie_keys = _validate_tie_keys(bid, path, key_names, c)
        prefs = _validate_preferences(bid, path, region_set, c)
        manufacturer = c.string(bid, "manufacturer", f"{path}.manufacturer", required=False)
        b_licence = _optional_bool(bid, "b_licence", path, c)
        revival_accepted = _optional_bool(bid, "revival_accepted", path, c)
        if len(c.errors) == before and ok_price:
            bids.append(
                Bid(
                    index=i, id=bid_id, lot=lot, supplier=supplier, price=price, price_text=bid["unit_price"],
                    excluded=excluded, tie_keys=tie_keys, region_preferences=prefs,
                    # Without a named contract manufacturer, the supplier is its own manufacturer.
                    manufacturer=manufacturer or supplier, b_licence=b_licence, revival_accepted=revival_accepted,
                )
            )
    return bids


def validate_problem(problem: Any) -> Problem:
    """Check a selection problem and parse it; raise :class:`ProblemError` listing every bad field."""
    if not isinstance(problem, dict):
        raise ProblemError([FieldError("$", f"must be a JSON object, got {_got(problem)}")])
    c = _Collector()
    c.unknown_fields(problem, _TOP_FIELDS, "")
    if problem.get("schema") != SCHEMA:
        c.add("schema", f"must be {_got(SCHEMA)}, got {_got(problem.get('schema'))}")

    ruleset = None
    if "ruleset" not in problem:
        c.add("ruleset", "is required")
    else:
        try:
            ruleset = resolve_ruleset(problem["ruleset"], "ruleset")
        except ProblemError as err:
            c.errors.extend(err.errors)
    if ruleset is not None and ruleset["spread_rule"] == "dual_anchor":
        # W10 has weak evidence ([S, weak]) and is disabled in nvbp-12-draft: refuse rather than guess.
        if not ruleset["dual_anchor"]["enabled"]:
            c.add("ruleset.spread_rule", "the dual-anchor rule (W10) is disabled in this RuleSet "
                  "(dual_anchor.enabled = false): choose another spread_rule")
        else:
            c.add("ruleset.spread_rule", "the dual-anchor rule (W10) is not implemented by the selection engine "
                  "(evidence [S, weak]): choose another spread_rule")

    draw_seed = problem.get("draw_seed")
    if draw_seed is not None and (not isinstance(draw_seed, str) or not draw_seed):
        c.add("draw_seed", f"must be a non-empty string or null, got {_got(draw_seed)}")
        draw_seed = None

    regions = _validate_regions(problem, c)
    region_set = set(regions)
    lots = _validate_lots(problem, region_set, c)
    lot_ids = {
        lot["id"] for lot in problem.get("lots") or [] if isinstance(lot, dict) and isinstance(lot.get("id"), str)
    }
    key_names = tie_key_names(ruleset) if ruleset is not None else None
    bids = _validate_bids(problem, lot_ids, region_set, key_names, c)
    if c.errors:
        raise ProblemError(c.errors)
    return Problem(ruleset, draw_seed, tuple(regions), tuple(lots), tuple(bids))
