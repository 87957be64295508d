"""Make a solved model's award respect its limits exactly.

A MIP solver accepts a solution within tolerances: a binary at 1 - 1e-6 on a unit of 10 million
boxes leaves 10 boxes of "room" in a capacity or share row, and a row may be exceeded by ~1e-7 of
its limit. Once shares become the award, such a solution can exceed a capacity, ``max_quantity``
or ``max_share`` by a few units. :func:`solve_exact` checks the award exactly (``Decimal``) and,
if a limit is exceeded, lowers that row by twice the excess and solves again (at most 3 times).
"""
from __future__ import annotations

from typing import Callable

from solver.award.backends import RunResult
from solver.award.check import excess
from solver.award.extract import Award, volumes_from_model
from solver.award.model import Model, tighten
from solver.award.prepare import Prepared

ATTEMPTS = 3


def solve_exact(prep: Prepared, model: Model, run: Callable[[], RunResult],
                read: Callable[[], list[Award]] | None = None,
                log: list[str] | None = None) -> tuple[RunResult, list[Award] | None, float]:
    """Run ``run`` until the award read from ``model`` keeps every limit; returns the last result,
    its award (None without a solution) and the total solver seconds."""
    read = read or (lambda: volumes_from_model(prep, model))
    saved = {r: model.prob.get_constraint_by_name(r).constant for rows in model.groups.values() for r in rows}
    try:
        return _loop(prep, model, run, read, log)
    finally:   # the model keeps its own limits for later solves (and valid bounds)
        for r, c in saved.items():
            model.prob.get_constraint_by_name(r).constant = c


def _loop(prep, model, run, read, log):
    seconds = 0.0
    first: RunResult | None = None
    last: tuple[RunResult, list[Award]] | None = None
    for attempt in range(ATTEMPTS + 1):
        res = run()
        seconds += res.seconds
        if first is None:
            first = res
        elif res.bound is not None:
            res.bound = first.bound   # the tightened model's bound is not one of the original
        if res.status not in ("optimal", "feasible"):
            if last is not None:   # tightening cut every solution: keep the one within tolerance
                if log is not None:
                    log.append("guard: tightened model has no solution; the award stays within solver tolerance")
                return last[0], last[1], seconds
            return res, None, seconds
        awards = read()
        over = excess(prep, {(a.bid, a.unit): a.quantity for a in awards})
        if not over or attempt == ATTEMPTS:
            return res, awards, seconds
        last = (res, awards)
        for name, rel in over.items():
            tighten(model, name, 2 * rel + 1e-9)
        if log is not None:
            log.append(f"guard: {', '.join(sorted(over))} exceeded within solver tolerance; tightened and re-solved")
    raise AssertionError("unreachable")  # pragma: no cover
