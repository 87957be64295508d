"""Turn a validated award problem into indexed, typed data for the model.

Ids may be any Unicode, so nothing downstream uses them as solver names: entities are numbered in
input order and the model names its variables and rows from those numbers (see ``model.py``).
Money stays ``Decimal`` for the final figures; the model gets ``float`` copies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Supplier:
    index: int
    id: str
    capacity: float | None
    fixed: Decimal
    fixed_text: str
    max_lots: int | None
    lots: list[int] = field(default_factory=list)      # lots it bids in, in lot order


@dataclass
class Lot:
    index: int
    id: str
    min_winners: int
    max_winners: int | None
    share: Decimal | None
    units: list[int] = field(default_factory=list)
    suppliers: list[int] = field(default_factory=list)  # suppliers bidding, in supplier order
    total: float = 0.0                                    # total quantity of its units


@dataclass
class Unit:
    index: int
    id: str
    lot: int
    region: str
    institution: str | None
    q: float
    q_raw: object           # the JSON number as given (returned as is for single-source awards)
    q_dec: Decimal
    single: bool
    bids: list[int] = field(default_factory=list)       # bids covering it, in bid order


@dataclass
class Level:
    """A price level of a bid: level 0 is ``unit_price`` from 0, level k the k-th tier."""

    min_q: float
    min_q_dec: Decimal
    price: Decimal
    text: str


@dataclass
class Bid:
    index: int
    id: str
    supplier: int
    lot: int
    levels: list[Level]
    cap_use: float
    max_q: float | None
    units: list[int] = field(default_factory=list)      # demand units it covers
    cover: float = 0.0                                    # total quantity of those units
    upper: float = 0.0                                    # upper bound of its total volume


@dataclass
class Bundle:
    index: int
    id: str
    supplier: int
    lots: list[int]
    discount: Decimal
    discount_text: str


@dataclass
class Prepared:
    suppliers: list[Supplier]
    lots: list[Lot]
    units: list[Unit]
    bids: list[Bid]
    bundles: list[Bundle]
    by_sup_lot: dict[tuple[int, int], list[int]]   # (supplier, lot) -> its bids in that lot
    uncovered: list[int]                            # units no bid covers
    resolution: Decimal                             # smallest cost step between single-source awards
    doc: dict = field(default_factory=dict, repr=False)   # the problem document it was made from

    def sup_lot_cover(self, s: int, lot: int) -> float:
        """Largest volume supplier ``s`` could receive in ``lot`` (quantity of the units it covers)."""
        return sum(self.bids[b].cover for b in self.by_sup_lot.get((s, lot), []))


def _decimals(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def _qdec(value: float | int) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def prepare(problem: dict) -> Prepared:
    """Index a problem that :func:`~solver.award.validate.validate_problem` accepted."""
    suppliers = []
    sup_index: dict[str, int] = {}
    for i, s in enumerate(problem["suppliers"]):
        text = s.get("fixed_cost", "0")
        cap = s.get("capacity")
        ml = s.get("max_lots")
        suppliers.append(Supplier(i, s["id"], None if cap is None else float(cap), Decimal(text), text,
                                  None if ml is None else int(ml)))
        sup_index[s["id"]] = i

    lots = []
    lot_index: dict[str, int] = {}
    for i, lot in enumerate(problem["lots"]):
        mw = lot.get("max_winners")
        share = lot.get("max_share")
        lots.append(Lot(i, lot["id"], int(lot.get("min_winners", 1)), None if mw is None else int(mw),
                        None if share is None else Decimal(share)))
        lot_index[lot["id"]] = i

    units = []
    by_lot_region: dict[tuple[int, str], list[int]] = {}
    q_places = 0
    for i, d in enumerate(problem["demand"]):
        li = lot_index[d["lot"]]
        q = d["quantity"]
        qd = _qdec(q)
        q_places = max(q_places, _decimals(qd.normalize()) if qd else 0)
        units.append(Unit(i, d["id"], li, d["region"], d.get("institution"), float(q), q, qd,
                          bool(d["single_source"])))
        lots[li].units.append(i)
        lots[li].total += float(q)
        by_lot_region.setdefault((li, d["region"]), []).append(i)

    bids = []
    by_sup_lot: dict[tuple[int, int], list[int]] = {}
    price_places = 0
    for i, b in enumerate(problem["bids"]):
        si, li = sup_index[b["supplier"]], lot_index[b["lot"]]
        base = b["unit_price"]
        levels = [Level(0.0, Decimal(0), Decimal(base), base)]
        for t in b.get("tiers", []) or []:
            levels.append(Level(float(t["min_quantity"]), _qdec(t["min_quantity"]),
                                Decimal(t["unit_price"]), t["unit_price"]))
        for lv in levels:
            price_places = max(price_places, _decimals(lv.price))
        mq = b.get("max_quantity")
        bid = Bid(i, b["id"], si, li, levels, float(b.get("capacity_use", 1)), None if mq is None else float(mq))
        if b.get("regions") is None:
            bid.units = list(lots[li].units)
        else:
            wanted = set(b["regions"])
            bid.units = [u for u in lots[li].units if units[u].region in wanted]
        for u in bid.units:
            units[u].bids.append(i)
        bid.cover = sum(units[u].q for u in bid.units)
        bids.append(bid)
        by_sup_lot.setdefault((si, li), []).append(i)

    for (si, li) in sorted(by_sup_lot):
        suppliers[si].lots.append(li)
        lots[li].suppliers.append(si)
    for lot in lots:
        lot.suppliers.sort()
    for s in suppliers:
        s.lots.sort()

    # upper bound of each bid's total volume: units covered, max_quantity, capacity, max_share
    for bid in bids:
        ub = bid.cover
        if bid.max_q is not None:
            ub = min(ub, bid.max_q)
        cap = suppliers[bid.supplier].capacity
        if cap is not None and bid.cap_use > 0:
            ub = min(ub, cap / bid.cap_use)
        share = lots[bid.lot].share
        if share is not None:
            ub = min(ub, float(share) * lots[bid.lot].total)
        bid.upper = max(ub, 0.0)

    bundles = []
    disc_places = 0
    for i, g in enumerate(problem.get("bundles", []) or []):
        disc = Decimal(g["discount"])
        disc_places = max(disc_places, _decimals(disc))
        bundles.append(Bundle(i, g["id"], sup_index[g["supplier"]], [lot_index[x] for x in g["lots"]],
                              disc, g["discount"]))

    fixed_places = max([_decimals(s.fixed) for s in suppliers] or [0])
    places = max(price_places + q_places, fixed_places) + disc_places
    resolution = Decimal(1).scaleb(-min(places, 12))
    uncovered = [u.index for u in units if not u.bids]
    return Prepared(suppliers, lots, units, bids, bundles, by_sup_lot, uncovered, resolution, problem)


def implied_winners(lot: Lot, share_active: bool) -> int:
    """Winners every feasible award has in ``lot`` anyway (all of it awarded, shares capped)."""
    if lot.total <= 0:
        return 0
    if share_active and lot.share is not None and lot.share > 0:
        return max(1, math.ceil(1 / lot.share))
    return 1
