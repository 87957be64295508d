"""The VBP rule engine and region draft (带量采购中选规则与地区分配), contract ``selection-problem.md``.

:func:`select` takes a parsed ``jicai.selection-problem/1`` document and returns the
``jicai.selection-result/1`` document: per lot the winners under the RuleSet (W1-W9) and the region
draft (V1, V3), and every bid once with its outcome, reason, rank and flags. Pure and deterministic:
the same input always gives the same output; nothing here reads files, clocks or randomness.
"""
from __future__ import annotations

from decimal import localcontext

from solver.canonical import problem_sha256
from solver.errors import ProblemError
from solver.selection.draft import draft_regions
from solver.selection.rules import LotSelection, UnresolvedTie, select_lot, unresolved_tie_error
from solver.selection.validate import Problem, validate_problem

__all__ = ["RESULT_SCHEMA", "select", "validate_problem"]

RESULT_SCHEMA = "jicai.selection-result/1"


def _lot_result(sel: LotSelection, problem: Problem) -> dict:
    """The ``lots[]`` entry of one lot; a failed lot (流标) has no winners, ratio or allocation."""
    result = {
        "lot": sel.lot.id,
        "status": sel.status,
        "bidders": sel.bidders,
        "max_winners": sel.max_winners,
        "lowest_price": sel.lowest.price_text if sel.lowest is not None else None,
        "winners": [b.id for b in sel.winners],
        "committed_ratio": None,
        "allocation": [],
        "backups": [],
    }
    if sel.winners:
        draft = draft_regions(sel.lot, sel.winners, problem.regions, problem.ruleset)
        result["committed_ratio"] = draft.committed_ratio
        result["allocation"] = [
            {"bid": b.id, "primary_regions": draft.primary[b.id], "committed_quantity": draft.committed_quantity[b.id]}
            for b in sel.winners
        ]
        result["backups"] = [{"region": r, "bid": draft.backups[r]} for r in sorted(draft.backups)]
    return result


def select(problem: dict) -> dict:
    """Select winners and draft regions for every lot of a selection problem.

    Raises :class:`ProblemError` for invalid input (every bad field, by JSON path) and, at ``draw_seed``,
    when a tie reaches the officer's draw but no seed was given.
    """
    # Prices may carry any number of decimals: compute with ample precision so that products such as
    # 1.8 x lowest and the anchor mean are exact, whatever the caller's decimal context.
    with localcontext(prec=200):
        return _select(problem)


def _select(problem: dict) -> dict:
    parsed = validate_problem(problem)
    by_lot: dict[str, list] = {lot.id: [] for lot in parsed.lots}
    for bid in parsed.bids:
        by_lot[bid.lot].append(bid)

    selections: list[LotSelection] = []
    tie_errors = []
    for lot in parsed.lots:
        try:
            selections.append(select_lot(lot, by_lot[lot.id], parsed.ruleset, parsed.draw_seed))
        except UnresolvedTie as tie:
            tie_errors.extend(unresolved_tie_error(tie).errors)
    if tie_errors:
        raise ProblemError(tie_errors)

    rank: dict[str, int] = {}
    reason: dict[str, str] = {}
    flags: dict[str, list[str]] = {}
    for sel in selections:
        rank.update({b.id: i + 1 for i, b in enumerate(sel.ranked)})
        reason.update(sel.reasons)
        flags.update(sel.flags)

    return {
        "schema": RESULT_SCHEMA,
        "problem_sha256": problem_sha256(problem),
        "lots": [_lot_result(sel, parsed) for sel in selections],
        "bids": [
            {
                "bid": b.id,
                "outcome": "won" if reason[b.id] in ("won", "revived") else "lost",
                "reason": reason[b.id],
                "rank": rank.get(b.id),
                "flags": flags[b.id],
            }
            for b in parsed.bids
        ],
    }
