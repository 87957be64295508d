"""Cost of each constraint family: the objective with it minus the objective with it relaxed."""
from __future__ import annotations

from decimal import Decimal

from solver.award.extract import money
from solver.award.model import FAMILIES, build_feasibility
from solver.award.options import parse_options
from solver.award.pipeline import solve_prepared
from solver.award.prepare import prepare
from solver.award.validate import validate_problem


def _implied_min_winners(prep, name: str) -> bool:
    """``min_winners:L`` of 1 (or 0) on a lot with demand: full awarding already gives a winner."""
    if not name.startswith("min_winners:"):
        return False
    lot = next(lot for lot in prep.lots if lot.id == name.split(":", 1)[1])
    return lot.min_winners <= 1 and lot.total > 0


def rule_costs(problem: dict, options: dict | None = None) -> dict[str, str]:
    """Cost of each constraint family present in ``problem``: objective with it - objective without it.

    Families are those of the contract except ``demand`` (without it nothing need be awarded);
    only families with at least one constraint that can bind are listed. A binding family costs a
    positive amount, a slack one ``"0.000000"``. Each relaxed run starts from the full problem's
    award (feasible for it). Figures from runs that end ``feasible`` are within their gaps.
    Raises ``ValueError`` when the problem itself has no solution.
    """
    opts = parse_options(options)
    validate_problem(problem)
    prep = prepare(problem)
    base, awards = solve_prepared(prep, opts)
    if base["status"] not in ("optimal", "feasible"):
        raise ValueError(f"rule_costs needs a solvable problem; status is {base['status']}")
    start = {(a.bid, a.unit): float(a.quantity) for a in awards}
    present = {name.split(":", 1)[0] for name in build_feasibility(prep).groups
               if not _implied_min_winners(prep, name)}
    out: dict[str, str] = {}
    for family in FAMILIES:
        if family == "demand" or family not in present:
            continue
        relaxed, _ = solve_prepared(prep, opts, relax=frozenset({family}), start=start)
        if relaxed["status"] not in ("optimal", "feasible"):
            raise ValueError(f"relaxing {family} ended {relaxed['status']}")
        out[family] = money(Decimal(base["objective"]) - Decimal(relaxed["objective"]))
    return out
