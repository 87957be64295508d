"""Irreducible infeasible set of contract constraints, by elastic filtering then deletion filtering.

The feasibility model (``model.build_feasibility``) has every contract constraint as an explicit
named row group (single-sourcing as selector rows, so ``single_source:D`` can be named too) and
keeps the structural rows (variable bounds, winner links) always.

1. Elastic filter (Chinneck): every group gets non-negative slacks; minimise their (normalised)
   sum. Groups with positive slack are made hard and the model is solved again, until the hard
   groups alone are infeasible. That hard set contains a conflict.
2. Deletion filter: each hard group in turn (contract order) is dropped; if the rest is still
   infeasible it stays out, otherwise it is kept. What remains is irreducible: removing any one
   of its constraints makes the others feasible.

A feasibility run that ends without an answer (time limit) counts as "feasible", so the group is
kept: the result is then still a conflict, only possibly not irreducible (noted in the log).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from solver.award import backends
from solver.award.model import FAMILIES, build_feasibility
from solver.award.prepare import Prepared

SLACK_TOL = 1e-6


@dataclass
class Diagnosis:
    names: list[str] | None
    seconds: float = 0.0
    log: list[str] = field(default_factory=list)
    irreducible: bool = True


def _order(names) -> list[str]:
    rank = {f: i for i, f in enumerate(FAMILIES)}
    return sorted(names, key=lambda n: (rank[n.split(":", 1)[0]],))


def diagnose(prep: Prepared, *, backend: str, time_limit: float | None, threads: int | None,
             min_win_quantity: float, on_progress=None) -> Diagnosis:
    """Find an irreducible set of constraint names that cannot hold together."""
    out = Diagnosis(None)
    if prep.uncovered:
        out.names = [f"demand:{prep.units[prep.uncovered[0]].id}"]
        out.log.append(f"diagnosis: demand unit {prep.units[prep.uncovered[0]].id!r} has no bid covering it")
        return out
    t_start = time.perf_counter()
    deadline = None if time_limit is None else t_start + time_limit

    def remaining() -> float | None:
        if deadline is None:
            return None
        return max(1.0, deadline - time.perf_counter())

    def solve(model) -> str:
        res = backends.run(model.prob, backend=backend, time_limit=remaining(), gap=None, threads=threads,
                           on_progress=on_progress, label="diagnose")
        out.seconds += res.seconds
        return res.status

    everything = build_feasibility(prep, min_win_quantity=min_win_quantity)
    # list order of the groups as built = contract family order, input order within a family
    names = _order(list(everything.groups))
    # keep input order inside each family (sorted() above is stable on the built order)
    hard: set[str] = set()
    proven = False
    while True:
        model = build_feasibility(prep, elastic=frozenset(n for n in names if n not in hard),
                                  min_win_quantity=min_win_quantity)
        status = solve(model)
        if status == "infeasible":
            proven = True
            break
        if status not in ("optimal", "feasible"):
            out.log.append("diagnosis: elastic filter stopped without an answer")
            break
        positive = {n for n, slacks in model.slack.items()
                    if sum((v.varValue or 0.0) for v in slacks) > SLACK_TOL}
        if not positive:
            out.log.append("diagnosis: every constraint can hold together; no conflict found")
            out.names = None
            return out
        hard |= positive
        out.log.append(f"diagnosis: elastic filter made hard {sorted(positive)}")
    candidates = [n for n in names if n in hard] if proven else list(names)
    kept: list[str] = []
    for i, name in enumerate(candidates):
        rest = kept + candidates[i + 1:]
        status = solve(build_feasibility(prep, keep=frozenset(rest), min_win_quantity=min_win_quantity))
        if status == "infeasible":
            continue   # not needed for the conflict
        if status not in ("optimal", "feasible"):
            out.irreducible = False
        kept.append(name)
    out.names = kept
    if not out.irreducible or not proven:
        out.irreducible = False
        out.log.append("diagnosis: time ran out; the conflict may not be irreducible")
    out.log.append(f"diagnosis: irreducible conflict {kept}")
    return out
