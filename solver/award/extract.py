"""From solved shares to the contract's award lines, discounts, fixed costs and objective.

Everything returned is recomputed in ``Decimal`` from the returned quantities, never taken from
the solver's floats: the applicable tier of a bid is the highest one its total returned quantity
reaches, a line's ``cost`` is quantity x that price (6 decimals, half-up), a bundle is met when its
supplier has a returned quantity in every listed lot, a fixed cost is due when the supplier has
any returned quantity, and ``objective`` = sum of costs - discounts + fixed costs.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from solver.award.model import Model
from solver.award.prepare import Prepared

SIX = Decimal("0.000001")


def q6(value: Decimal) -> Decimal:
    """Round half-up to 6 decimals."""
    return value.quantize(SIX, rounding=ROUND_HALF_UP)


def money(value: Decimal) -> str:
    return str(q6(value))


def json_quantity(value: Decimal) -> int | float:
    """A quantity as a JSON number: an integer when whole, else a float."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


@dataclass
class Award:
    bid: int
    unit: int
    quantity: Decimal
    raw: object           # the JSON number to return


def volumes_from_model(prep: Prepared, model: Model) -> list[Award]:
    """Awarded quantities per (bid, unit), rounded as the contract says.

    A unit whose shares are binary in the model (single-source) goes wholly to the bid with the
    largest share, with the unit's quantity exactly as given. A split unit's volumes are rounded to
    6 decimals and the rounding remainder goes to the largest share (the earliest bid on a tie), so
    each unit sums exactly to its quantity.
    """
    out: list[Award] = []
    for unit in prep.units:
        if unit.q <= 0 or not unit.bids:
            continue
        shares = [(b, model.share(b, unit.index)) for b in unit.bids]
        if model_binary(model, unit.index):
            best = max(shares, key=lambda bs: bs[1])[0]
            out.append(Award(best, unit.index, unit.q_dec, unit.q_raw))
            continue
        parts = []
        for b, s in shares:
            v = q6(Decimal(repr(max(s, 0.0) * unit.q)))
            if v > 0:
                parts.append([b, v])
        if not parts:
            best = max(shares, key=lambda bs: bs[1])[0]
            parts = [[best, Decimal(0)]]
        rest = unit.q_dec - sum((v for _, v in parts), Decimal(0))
        largest = max(range(len(parts)), key=lambda i: (parts[i][1], -i))
        parts[largest][1] += rest
        for b, v in parts:
            if v > 0:
                out.append(Award(b, unit.index, v, json_quantity(v)))
    return out


def model_binary(model: Model, unit: int) -> bool:
    for b in model.prep.units[unit].bids:
        for k in model.levels.get(b, [0]):
            v = model.x.get((b, unit, k))
            if v is not None:
                return v.cat == "Integer"
    return False


def price_level(prep: Prepared, bid: int, total: Decimal) -> int:
    """The level that applies to a bid's total quantity: the highest tier it reaches."""
    levels = prep.bids[bid].levels
    k = 0
    for i, lv in enumerate(levels):
        if i and total >= lv.min_q_dec:
            k = i
    return k


def assemble(prep: Prepared, awards: list[Award]) -> tuple[list[dict], list[dict], list[dict], Decimal]:
    """Award lines, discounts, fixed costs and the objective for ``awards``."""
    totals: dict[int, Decimal] = {}
    for a in awards:
        totals[a.bid] = totals.get(a.bid, Decimal(0)) + a.quantity
    level = {b: price_level(prep, b, tot) for b, tot in totals.items()}
    lines = []
    cost_by_sup_lot: dict[tuple[int, int], Decimal] = {}
    winners: set[int] = set()
    wins: set[tuple[int, int]] = set()
    total_cost = Decimal(0)
    for a in sorted(awards, key=lambda a: (a.unit, a.bid)):
        bid = prep.bids[a.bid]
        unit = prep.units[a.unit]
        lv = bid.levels[level[a.bid]]
        cost = q6(a.quantity * lv.price)
        line = {"bid": bid.id, "supplier": prep.suppliers[bid.supplier].id, "lot": prep.lots[bid.lot].id,
                "demand": unit.id, "region": unit.region}
        if unit.institution is not None:
            line["institution"] = unit.institution
        line.update(quantity=a.raw, unit_price=lv.text, cost=str(cost))
        lines.append(line)
        total_cost += cost
        key = (bid.supplier, bid.lot)
        cost_by_sup_lot[key] = cost_by_sup_lot.get(key, Decimal(0)) + cost
        if a.quantity > 0:
            winners.add(bid.supplier)
            wins.add(key)
    discounts = []
    total_disc = Decimal(0)
    for g in prep.bundles:
        if all((g.supplier, lot) in wins for lot in g.lots):
            base = sum((cost_by_sup_lot.get((g.supplier, lot), Decimal(0)) for lot in g.lots), Decimal(0))
            amount = q6(base * g.discount)
            discounts.append({"bundle": g.id, "supplier": prep.suppliers[g.supplier].id, "amount": str(amount)})
            total_disc += amount
    fixed = []
    total_fixed = Decimal(0)
    for s in prep.suppliers:
        if s.index in winners and s.fixed > 0:
            fixed.append({"supplier": s.id, "amount": s.fixed_text})
            total_fixed += s.fixed
    objective = q6(total_cost - total_disc + total_fixed)
    return lines, discounts, fixed, objective


def inconsistent(prep: Prepared, model: Model, awards: list[Award]) -> bool:
    """True when returned volumes disagree with the solved winner indicators.

    Integrality tolerances let a split share of ~1e-7 sit next to a winner variable at ~0; such a
    volume would count as a win in the returned award without having been counted by the model.
    """
    has: set[tuple[int, int]] = set()
    sups: set[int] = set()
    for a in awards:
        if a.quantity > 0:
            bid = prep.bids[a.bid]
            has.add((bid.supplier, bid.lot))
            sups.add(bid.supplier)
    for key, z in model.z.items():
        if key in has and (z.varValue or 0.0) < 0.5:
            return True
    for s, y in model.used.items():
        if s in sups and (y.varValue or 0.0) < 0.5:
            return True
    return False
