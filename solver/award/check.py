"""Which contract constraints an award breaks (for O3: "constraints the draft violates").

:func:`check_awards` takes a problem and award lines (``{"bid", "demand", "quantity"}``, e.g. the
rule-based draft or a solution's ``awards``) and returns the names of the violated constraints
(``capacity:S1``, ``min_winners:L2``, ...) in the contract's family order. It works in ``Decimal``.
"""
from __future__ import annotations

from decimal import Decimal

from solver.award.model import FAMILIES
from solver.award.prepare import Prepared, prepare
from solver.award.validate import got, is_number, validate_problem
from solver.errors import FieldError, ProblemError

ABS_TOL = Decimal("0.00001")
REL_TOL = Decimal("1e-9")


def _over(value: Decimal, limit: Decimal) -> bool:
    return value > limit + ABS_TOL + abs(limit) * REL_TOL


def parse_awards(prep: Prepared, awards: object, path: str = "awards") -> dict[tuple[int, int], Decimal]:
    """(bid, unit) -> quantity for award lines; raises ProblemError on unknown or bad lines."""
    bid_ix = {b.id: b.index for b in prep.bids}
    unit_ix = {u.id: u.index for u in prep.units}
    errors: list[FieldError] = []
    out: dict[tuple[int, int], Decimal] = {}
    if isinstance(awards, dict) and "awards" in awards:
        awards = awards["awards"]
    if not isinstance(awards, list):
        raise ProblemError([FieldError(path, f"must be a list of award lines, got {got(awards)}")])
    for i, line in enumerate(awards):
        p = f"{path}[{i}]"
        if not isinstance(line, dict):
            errors.append(FieldError(p, f"must be an object, got {got(line)}"))
            continue
        b, u, q = line.get("bid"), line.get("demand"), line.get("quantity")
        ok = True
        if b not in bid_ix:
            errors.append(FieldError(f"{p}.bid", f"unknown bid {got(b)}"))
            ok = False
        if u not in unit_ix:
            errors.append(FieldError(f"{p}.demand", f"unknown demand unit {got(u)}"))
            ok = False
        if not is_number(q) or q < 0:
            errors.append(FieldError(f"{p}.quantity", f"must be a non-negative number, got {got(q)}"))
            ok = False
        if not ok:
            continue
        bi, ui = bid_ix[b], unit_ix[u]
        if ui not in prep.bids[bi].units:
            errors.append(FieldError(p, f"bid {got(b)} does not cover demand unit {got(u)}"))
            continue
        qd = Decimal(repr(q)) if isinstance(q, float) else Decimal(q)
        out[bi, ui] = out.get((bi, ui), Decimal(0)) + qd
    if errors:
        raise ProblemError(errors)
    return out


def violations(prep: Prepared, volumes: dict[tuple[int, int], Decimal]) -> list[str]:
    found: list[str] = []
    by_unit: dict[int, list[tuple[int, Decimal]]] = {}
    for (b, u), q in volumes.items():
        by_unit.setdefault(u, []).append((b, q))
    for unit in prep.units:
        got_q = sum((q for _, q in by_unit.get(unit.index, [])), Decimal(0))
        if abs(got_q - unit.q_dec) > ABS_TOL + abs(unit.q_dec) * REL_TOL:
            found.append(f"demand:{unit.id}")
    for unit in prep.units:
        if unit.single and sum(1 for _, q in by_unit.get(unit.index, []) if q > 0) > 1:
            found.append(f"single_source:{unit.id}")
    bid_total: dict[int, Decimal] = {}
    sup_lot: dict[tuple[int, int], Decimal] = {}
    for (b, _u), q in volumes.items():
        bid = prep.bids[b]
        bid_total[b] = bid_total.get(b, Decimal(0)) + q
        sup_lot[bid.supplier, bid.lot] = sup_lot.get((bid.supplier, bid.lot), Decimal(0)) + q
    for s in prep.suppliers:
        if s.capacity is None:
            continue
        use = sum((q * Decimal(repr(prep.bids[b].cap_use)) for b, q in bid_total.items()
                   if prep.bids[b].supplier == s.index), Decimal(0))
        if _over(use, Decimal(repr(s.capacity))):
            found.append(f"capacity:{s.id}")
    for bid in prep.bids:
        if bid.max_q is not None and _over(bid_total.get(bid.index, Decimal(0)), Decimal(repr(bid.max_q))):
            found.append(f"max_quantity:{bid.id}")
    winners: dict[int, set[int]] = {}
    lots_won: dict[int, set[int]] = {}
    for (s, lot), q in sup_lot.items():
        if q > 0:
            winners.setdefault(lot, set()).add(s)
            lots_won.setdefault(s, set()).add(lot)
    for lot in prep.lots:
        if len(winners.get(lot.index, ())) < lot.min_winners:
            found.append(f"min_winners:{lot.id}")
    for lot in prep.lots:
        if lot.max_winners is not None and len(winners.get(lot.index, ())) > lot.max_winners:
            found.append(f"max_winners:{lot.id}")
    for lot in prep.lots:
        if lot.share is None:
            continue
        total = sum((u.q_dec for u in (prep.units[i] for i in lot.units)), Decimal(0))
        for s in lot.suppliers:
            if _over(sup_lot.get((s, lot.index), Decimal(0)), lot.share * total):
                found.append(f"max_share:{prep.suppliers[s].id}:{lot.id}")
    for s in prep.suppliers:
        if s.max_lots is not None and len(lots_won.get(s.index, ())) > s.max_lots:
            found.append(f"max_lots:{s.id}")
    order = {f: i for i, f in enumerate(FAMILIES)}
    return sorted(found, key=lambda n: order[n.split(":", 1)[0]])  # stable: input order within a family


def check_awards(problem: dict, awards: object) -> list[str]:
    """Names of the contract constraints ``awards`` violate on ``problem`` (empty: a valid award).

    ``awards`` is a list of lines with ``bid``, ``demand`` and ``quantity`` (or a solution dict).
    Raises :class:`ProblemError` for an invalid problem or award line.
    """
    validate_problem(problem)
    prep = prepare(problem)
    return violations(prep, parse_awards(prep, awards))


GUARDED = ("capacity", "max_quantity", "max_share")


def excess(prep: Prepared, volumes: dict[tuple[int, int], Decimal]) -> dict[str, float]:
    """Relative excess over its limit of each violated capacity, max_quantity and max_share constraint."""
    out: dict[str, float] = {}
    bid_total: dict[int, Decimal] = {}
    for (b, _u), q in volumes.items():
        bid_total[b] = bid_total.get(b, Decimal(0)) + q
    for name in violations(prep, volumes):
        family, _, key = name.partition(":")
        if family not in GUARDED:
            continue
        if family == "capacity":
            s = next(x for x in prep.suppliers if x.id == key)
            got_q = sum((q * Decimal(repr(prep.bids[b].cap_use)) for b, q in bid_total.items()
                         if prep.bids[b].supplier == s.index), Decimal(0))
            limit = Decimal(repr(s.capacity))
        elif family == "max_quantity":
            bid = next(x for x in prep.bids if x.id == key)
            got_q, limit = bid_total.get(bid.index, Decimal(0)), Decimal(repr(bid.max_q))
        else:
            sid, _, lid = key.partition(":")
            s = next(x for x in prep.suppliers if x.id == sid)
            lot = next(x for x in prep.lots if x.id == lid)
            got_q = sum((q for b, q in bid_total.items()
                         if prep.bids[b].supplier == s.index and prep.bids[b].lot == lot.index), Decimal(0))
            limit = lot.share * sum((prep.units[u].q_dec for u in lot.units), Decimal(0))
        out[name] = float((got_q - limit) / limit) if limit > 0 else 1.0
    return out
